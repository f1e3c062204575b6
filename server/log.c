/* log.c - leveled log lines and JSON access lines on stderr.
 *
 * Each line is built in a local buffer. A leveled line is written at once
 * with one fwrite under flockfile; an access line goes through the calling
 * thread's buffer (logbuf.c), which writes whole lines under the same lock,
 * so lines from the worker threads never interleave. Lines longer than the
 * buffer are cut rather than allocated: logging must not fail or block on
 * memory.
 */
#include "log.h"

#include "logbuf.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum srv_log_level log_level = SRV_LOG_INFO;
static bool log_access = true;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void srv_log_init(enum srv_log_level level, bool access_log)
{
    log_level = level;
    log_access = access_log;
}

bool srv_log_level_parse(const char *s, enum srv_log_level *out)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum srv_log_level)i;
            return true;
        }
    }
    return false;
}

static void write_line(const char *buf, size_t len)
{
    flockfile(stderr);
    fwrite(buf, 1, len, stderr);
    funlockfile(stderr);
}

/* UTC time with milliseconds, RFC 3339: "2024-05-01T12:00:00.123Z" (24
 * bytes and a NUL; len must be at least 25). gmtime_r and snprintf run once
 * a second per thread: gmtime_r takes glibc's time-zone lock, and every
 * access line needs a timestamp. */
static void timestamp(char *buf, size_t len)
{
    static _Thread_local time_t cached_sec = -1;
    static _Thread_local char cached[64]; /* "2024-05-01T12:00:00." */
    static _Thread_local size_t cached_len;
    struct timespec ts;
    unsigned ms;

    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != cached_sec) {
        struct tm tm;

        gmtime_r(&ts.tv_sec, &tm);
        snprintf(cached, sizeof(cached), "%04d-%02d-%02dT%02d:%02d:%02d.",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec);
        cached_sec = ts.tv_sec;
        cached_len = strlen(cached);
    }
    if (len < cached_len + 5) {
        buf[0] = '\0';
        return;
    }
    ms = (unsigned)(ts.tv_nsec / 1000000);
    memcpy(buf, cached, cached_len);
    buf += cached_len;
    *buf++ = (char)('0' + ms / 100);
    *buf++ = (char)('0' + ms / 10 % 10);
    *buf++ = (char)('0' + ms % 10);
    *buf++ = 'Z';
    *buf = '\0';
}

void srv_log(enum srv_log_level level, const char *fmt, ...)
{
    char buf[1024];
    char ts[64];
    va_list ap;
    int n, m;

    if (level > log_level)
        return;
    timestamp(ts, sizeof(ts));
    n = snprintf(buf, sizeof(buf), "%s mmapd %s: ", ts, level_names[level]);
    va_start(ap, fmt);
    m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    n += m;
    if ((size_t)n > sizeof(buf) - 2)
        n = (int)sizeof(buf) - 2; /* cut: keep room for the newline */
    buf[n++] = '\n';
    write_line(buf, (size_t)n);
}

/* Append s as a JSON string (with quotes) to buf at *pos. Control bytes and
 * bytes >= 0x80 become \u00XX escapes: paths are raw client bytes and need
 * not be valid UTF-8, while the access log must stay valid JSON. Stops
 * quietly when buf is full. */
static void json_string(char *buf, size_t size, size_t *pos, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t p = *pos;

    if (p + 2 >= size)
        return;
    buf[p++] = '"';
    for (; s && *s && p + 8 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[p++] = '\\';
            buf[p++] = (char)c;
        } else if (c < 0x20 || c >= 0x7f) {
            memcpy(buf + p, "\\u00", 4);
            buf[p + 4] = hex[c >> 4];
            buf[p + 5] = hex[c & 15];
            p += 6;
        } else {
            buf[p++] = (char)c;
        }
    }
    buf[p++] = '"';
    *pos = p;
}

/* Append the literal s (its length known at compile time) at *pos. */
#define PUT_LIT(buf, size, pos, s) put_bytes(buf, size, pos, s, sizeof(s) - 1)

static void put_bytes(char *buf, size_t size, size_t *pos, const char *s,
                      size_t n)
{
    if (*pos + n >= size)
        return;
    memcpy(buf + *pos, s, n);
    *pos += n;
}

/* Decimal digits of v at *pos: the access line's numbers, without the
 * cost of vsnprintf's format parsing on every request. */
static void put_u64(char *buf, size_t size, size_t *pos, uint64_t v)
{
    char tmp[20];
    size_t n = 0;

    do {
        tmp[sizeof(tmp) - ++n] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    put_bytes(buf, size, pos, tmp + sizeof(tmp) - n, n);
}

bool srv_log_access_on(void)
{
    return log_access;
}

void srv_log_access(const struct srv_access *a)
{
    char buf[2048];
    char ts[64];
    size_t p = 0;
    /* Room for the fixed tail: numbers, the client and "}\n". */
    const size_t path_room = sizeof(buf) - 256;

    if (!log_access)
        return;
    timestamp(ts, sizeof(ts));
    PUT_LIT(buf, sizeof(buf), &p, "{\"ts\":\"");
    put_bytes(buf, sizeof(buf), &p, ts, strlen(ts));
    PUT_LIT(buf, sizeof(buf), &p, "\",\"method\":");
    json_string(buf, sizeof(buf), &p, a->method);
    PUT_LIT(buf, sizeof(buf), &p, ",\"path\":");
    json_string(buf, path_room, &p, a->path);
    PUT_LIT(buf, sizeof(buf), &p, ",\"status\":");
    put_u64(buf, sizeof(buf), &p, a->status);
    PUT_LIT(buf, sizeof(buf), &p, ",\"bytes_in\":");
    put_u64(buf, sizeof(buf), &p, a->bytes_in);
    PUT_LIT(buf, sizeof(buf), &p, ",\"bytes_out\":");
    put_u64(buf, sizeof(buf), &p, a->bytes_out);
    PUT_LIT(buf, sizeof(buf), &p, ",\"duration_us\":");
    put_u64(buf, sizeof(buf), &p, a->duration_us);
    PUT_LIT(buf, sizeof(buf), &p, ",\"client\":");
    json_string(buf, sizeof(buf) - 32, &p, a->client);
    if (a->token >= 0) {
        PUT_LIT(buf, sizeof(buf), &p, ",\"token\":");
        put_u64(buf, sizeof(buf), &p, (uint64_t)a->token);
    }
    PUT_LIT(buf, sizeof(buf), &p, "}\n");
    srv_logbuf_append(buf, p);
}
