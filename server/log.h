/* log.h - leveled logging and the JSON access log, both on stderr.
 *
 * One line per call; lines of concurrent threads never interleave. A
 * leveled line is written at once. An access line is buffered per thread
 * (logbuf.h) and reaches stderr within SRV_LOGBUF_FLUSH_MS while the
 * server runs, at the latest when srv_logbuf_flush() runs (main.c: before
 * it acts on SIGHUP, SIGTERM or SIGINT, and at exit). Safe from any thread
 * once srv_log_init() has run (before any thread starts).
 */
#ifndef SERVER_LOG_H
#define SERVER_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum srv_log_level {
    SRV_LOG_ERROR,
    SRV_LOG_WARN,
    SRV_LOG_INFO,
    SRV_LOG_DEBUG,
};

/* Set the most verbose level printed and whether access lines are written.
 * Call once before starting threads. */
void srv_log_init(enum srv_log_level level, bool access_log);

/* Parse "error" | "warn" | "info" | "debug"; false for anything else. */
bool srv_log_level_parse(const char *s, enum srv_log_level *out);

/* Print one line "mmapd LEVEL: message" when level is enabled. */
void srv_log(enum srv_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One finished request, as the access log records it. Strings are borrowed
 * and may hold any bytes: they are JSON-escaped. */
struct srv_access {
    const char *method;
    const char *path;
    const char *client;
    unsigned status;
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t duration_us;
    long token; /* position in the token file, -1 when none */
};

/* Write one JSON line {"ts","method","path","status","bytes_in",
 * "bytes_out","duration_us","client"[,"token"]} unless the access log is
 * off; "token" (the 0-based position of the token in the token file, never
 * the token) only when the request was authenticated with one. */
void srv_log_access(const struct srv_access *a);

/* Whether access lines are written (srv_log_init), so that work only the
 * line needs (formatting the client's address) is skipped when it is off. */
bool srv_log_access_on(void);

#endif
