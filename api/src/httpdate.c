/* httpdate.c - HTTP-dates (RFC 9110 section 5.6.7), without the C library.
 *
 * strptime() and strftime() follow the locale, and timegm() is not
 * standard C; the three formats are fixed, so they are matched by hand and
 * the calendar arithmetic is Howard Hinnant's days_from_civil.
 */
#include <stdio.h>
#include <string.h>

#include "api/api_parse.h"

static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed",
                                "Thu", "Fri", "Sat"};
static const char *const long_days[7] = {"Sunday",   "Monday", "Tuesday",
                                         "Wednesday", "Thursday", "Friday",
                                         "Saturday"};
static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + (int64_t)doe - 719468;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned char n[12] = {31, 28, 31, 30, 31, 30,
                                        31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : n[m - 1];
}

/* Exactly n digits at *p; advances past them. */
static bool digits(const char **p, unsigned n, unsigned *out)
{
    unsigned v = 0;

    for (unsigned i = 0; i < n; i++) {
        char c = (*p)[i];

        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (unsigned)(c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool lit(const char **p, const char *s)
{
    size_t n = strlen(s);

    if (strncmp(*p, s, n) != 0)
        return false;
    *p += n;
    return true;
}

static bool month(const char **p, unsigned *out)
{
    for (unsigned i = 0; i < 12; i++) {
        if (strncmp(*p, months[i], 3) == 0) {
            *p += 3;
            *out = i + 1;
            return true;
        }
    }
    return false;
}

/* "HH:MM:SS" */
static bool clock_time(const char **p, unsigned *h, unsigned *m, unsigned *s)
{
    return digits(p, 2, h) && lit(p, ":") && digits(p, 2, m) && lit(p, ":") &&
           digits(p, 2, s) && *h < 24 && *m < 60 && *s < 61;
}

static bool finish(int64_t y, unsigned mon, unsigned d, unsigned h,
                   unsigned mi, unsigned s, int64_t *out)
{
    if (d < 1 || d > days_in_month(y, mon))
        return false;
    if (s == 60) /* a leap second: the instant before the next minute */
        s = 59;
    *out = days_from_civil(y, mon, d) * 86400 + h * 3600 + mi * 60 + s;
    return true;
}

bool api_parse_http_date(const char *s, int64_t *out)
{
    const char *p = s;
    unsigned d, mon, y, h, mi, sec;

    if (s == NULL)
        return false;
    /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
    for (unsigned i = 0; i < 7; i++) {
        p = s;
        if (lit(&p, days[i]) && lit(&p, ", ")) {
            return digits(&p, 2, &d) && lit(&p, " ") && month(&p, &mon) &&
                   lit(&p, " ") && digits(&p, 4, &y) && lit(&p, " ") &&
                   clock_time(&p, &h, &mi, &sec) && lit(&p, " GMT") &&
                   *p == '\0' && finish(y, mon, d, h, mi, sec, out);
        }
    }
    /* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"; a two-digit year is read
     * as the nearest one not more than 50 years ahead (section 5.6.7). */
    for (unsigned i = 0; i < 7; i++) {
        p = s;
        if (lit(&p, long_days[i]) && lit(&p, ", ")) {
            if (!(digits(&p, 2, &d) && lit(&p, "-") && month(&p, &mon) &&
                  lit(&p, "-") && digits(&p, 2, &y) && lit(&p, " ") &&
                  clock_time(&p, &h, &mi, &sec) && lit(&p, " GMT") &&
                  *p == '\0'))
                return false;
            return finish(y < 70 ? 2000 + y : 1900 + y, mon, d, h, mi, sec,
                          out);
        }
    }
    /* asctime: "Sun Nov  6 08:49:37 1994" */
    for (unsigned i = 0; i < 7; i++) {
        p = s;
        if (lit(&p, days[i]) && lit(&p, " ")) {
            if (!month(&p, &mon) || !lit(&p, " "))
                return false;
            if (*p == ' ') {
                p++;
                if (!digits(&p, 1, &d))
                    return false;
            } else if (!digits(&p, 2, &d)) {
                return false;
            }
            return lit(&p, " ") && clock_time(&p, &h, &mi, &sec) &&
                   lit(&p, " ") && digits(&p, 4, &y) && *p == '\0' &&
                   finish(y, mon, d, h, mi, sec, out);
        }
    }
    return false;
}

/* v (0-99) as two ASCII digits at p. */
static void two_digits(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

void api_format_http_date(int64_t t, char out[API_HTTP_DATE_LEN])
{
    int64_t z = (t >= 0 ? t : t - 86399) / 86400; /* floor division */
    int64_t secs = t - z * 86400;
    /* civil_from_days, the inverse of days_from_civil above. */
    int64_t zz = z + 719468;
    int64_t era = (zz >= 0 ? zz : zz - 146096) / 146097;
    unsigned doe = (unsigned)(zz - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = (int64_t)yoe + era * 400 + (m <= 2);
    unsigned wday = (unsigned)(((z % 7) + 7 + 4) % 7); /* 1970-01-01: Thu */

    /* Written digit by digit: this runs for the Last-Modified of every
     * GET, and snprintf was a visible share of a request (bench/RESULTS.md,
     * "Issue 15, step by step"). Years outside 0-9999 are outside the
     * contract; they still come out as the old snprintf wrote them. */
    if (y < 0 || y > 9999) {
        char text[96];

        snprintf(text, sizeof(text), "%s, %02u %s %04lld %02u:%02u:%02u GMT",
                 days[wday], d, months[m - 1], (long long)y,
                 (unsigned)(secs / 3600), (unsigned)(secs / 60 % 60),
                 (unsigned)(secs % 60));
        snprintf(out, API_HTTP_DATE_LEN, "%.29s", text);
        return;
    }
    memcpy(out, days[wday], 3);
    out[3] = ',';
    out[4] = ' ';
    two_digits(out + 5, d);
    out[7] = ' ';
    memcpy(out + 8, months[m - 1], 3);
    out[11] = ' ';
    two_digits(out + 12, (unsigned)(y / 100));
    two_digits(out + 14, (unsigned)(y % 100));
    out[16] = ' ';
    two_digits(out + 17, (unsigned)(secs / 3600));
    out[19] = ':';
    two_digits(out + 20, (unsigned)(secs / 60 % 60));
    out[22] = ':';
    two_digits(out + 23, (unsigned)(secs % 60));
    memcpy(out + 25, " GMT", 5); /* with the NUL: 30 bytes in all */
}
