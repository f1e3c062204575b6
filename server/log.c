/* log.c - leveled log lines and JSON access lines on stderr.
 *
 * Each line is built in a local buffer and written with one fwrite under
 * flockfile, so that lines from the worker threads never interleave. Lines
 * longer than the buffer are cut rather than allocated: logging must not
 * fail or block on memory.
 */
#include "log.h"

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

/* UTC time with milliseconds, RFC 3339: "2024-05-01T12:00:00.123Z". */
static void timestamp(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
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

static void append(char *buf, size_t size, size_t *pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t size, size_t *pos, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (*pos >= size)
        return;
    va_start(ap, fmt);
    n = vsnprintf(buf + *pos, size - *pos, fmt, ap);
    va_end(ap);
    if (n > 0)
        *pos += (size_t)n < size - *pos ? (size_t)n : size - *pos - 1;
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
    append(buf, sizeof(buf), &p, "{\"ts\":\"%s\",\"method\":", ts);
    json_string(buf, sizeof(buf), &p, a->method);
    append(buf, sizeof(buf), &p, ",\"path\":");
    json_string(buf, path_room, &p, a->path);
    append(buf, sizeof(buf), &p,
           ",\"status\":%u,\"bytes_in\":%" PRIu64 ",\"bytes_out\":%" PRIu64
           ",\"duration_us\":%" PRIu64 ",\"client\":",
           a->status, a->bytes_in, a->bytes_out, a->duration_us);
    json_string(buf, sizeof(buf) - 32, &p, a->client);
    if (a->token >= 0)
        append(buf, sizeof(buf), &p, ",\"token\":%ld", a->token);
    append(buf, sizeof(buf), &p, "}\n");
    write_line(buf, p);
}
