/* itest.h - the integration harness: the real mmapd, driven over HTTP.
 *
 * itest_start() forks and execs $MMAPD_BIN on 127.0.0.1:0 with a fresh
 * temporary data directory, reads its stdout until the "mmapd listening on
 * http://127.0.0.1:PORT" line, and keeps the PID; itest_stop() sends SIGTERM
 * and checks that the server exits 0 in time. A stopped server can be
 * started again on the same data directory. itest_cleanup() removes it.
 *
 * Requests go through libcurl (one fresh handle each, so nothing leaks
 * between cases) or, for requests libcurl won't send, a raw socket.
 *
 * Caveats: every helper fails the test case (exit 1) when the harness itself
 * cannot do its job; a status code or body the server gets wrong is for the
 * test to check, never hidden here.
 */
#ifndef ITEST_H
#define ITEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "check.h"

#define ITEST_MAX_ARGS 24

struct itest_server {
    pid_t pid;        /* 0 when not running */
    int out_fd;       /* read end of the server's stdout */
    uint16_t port;
    char dir[256];    /* the data directory */
    char base[64];    /* "http://127.0.0.1:PORT" */
    /* Set before itest_start for a server given --tls-cert: the CA file
     * that signs its certificate. The harness then expects an https://
     * listening line and verifies the server with this file. */
    const char *cainfo;
};

/* Start mmapd with extra arguments (NULL-terminated, may be NULL). The
 * first start creates s->dir (s must be zeroed before); later starts reuse
 * it. */
void itest_start(struct itest_server *s, const char *const extra[]);

/* itest_start with the server's stderr (its log) going to a new file, whose
 * name goes into path (a "/tmp/mmapd-it-log-XXXXXX" template). */
void itest_start_logged(struct itest_server *s, const char *const extra[],
                        char *path);

/* The contents of the file at path (malloc'ed, NUL-terminated): now, for
 * itest_read_file; itest_take_file removes the file after reading it. */
char *itest_read_file(const char *path);
char *itest_take_file(const char *path);

/* SIGTERM, wait at most 15 s, and require exit status 0. */
void itest_stop(struct itest_server *s);

/* Stop if running, then remove the data directory. */
void itest_cleanup(struct itest_server *s);

/* Run mmapd with args (NULL-terminated, program name not included) until it
 * exits, at most timeout_s seconds (then SIGKILL and fail). Its stdout and
 * stderr are collected into out (NUL-terminated, cut at outlen). Returns the
 * exit status; fails the test when it died of a signal. */
int itest_run(const char *const args[], unsigned timeout_s, char *out,
              size_t outlen);

struct itest_resp {
    long status;
    char *headers; /* the final response's header block, NUL-terminated */
    char *body;    /* NUL-terminated for convenience; len excludes it */
    size_t len;
};

/* Send method path (relative to s->base, e.g. "/v1/maps/a") with extra
 * header lines ("Name: value", NULL-terminated, may be NULL) and a body
 * (NULL: none; a non-NULL body of length 0 sends Content-Length: 0).
 * HEAD is sent as a real HEAD. Fills *r; free with itest_resp_free. */
void itest_request(const struct itest_server *s, const char *method,
                   const char *path, const char *const headers[],
                   const void *body, size_t len, struct itest_resp *r);
void itest_resp_free(struct itest_resp *r);

/* The value of header `name` (case-insensitive) in r, copied into buf and
 * returned; NULL when absent. */
const char *itest_header(const struct itest_resp *r, const char *name,
                         char *buf, size_t len);

/* Parse r's body as JSON; fails the test when it is not. New reference. */
json_t *itest_json(const struct itest_resp *r);

/* Require status and an application/problem+json body with this "code"
 * and a matching "status" member. */
void itest_expect_problem_at(const char *file, int line,
                             const struct itest_resp *r, long status,
                             const char *code);
#define itest_expect_problem(r, status, code)                                \
    itest_expect_problem_at(__FILE__, __LINE__, (r), (status), (code))

/* Shorthand: send a request (body a C string, or NULL) and require its
 * status; fails the test with the body otherwise. */
void itest_expect_status(const struct itest_server *s, const char *method,
                         const char *path, const char *const headers[],
                         const char *body, long status);

/* A write of every kind on mapping "m" (of 4 KiB or more: every offset is
 * below 4096): data PUT and PATCH, object PUT, atomic
 * add, flush and resize. `changes` tells whether it moves the ETag (a
 * flush does not). */
struct itest_write {
    const char *what;
    const char *method;
    const char *path;
    const char *type; /* a Content-Type header line, or NULL */
    const char *body;
    long ok; /* its status when allowed */
    bool changes;
};
extern const struct itest_write itest_writes[];
extern const size_t itest_nwrites;

/* Shorthand: request, expect `status` and problem `code`, free. */
#define ITEST_PROBLEM(s, method, path, hdrs, body, len, status, code)        \
    do {                                                                     \
        struct itest_resp itest_r_;                                          \
        itest_request((s), (method), (path), (hdrs), (body), (len), &itest_r_); \
        itest_expect_problem(&itest_r_, (status), (code));                   \
        itest_resp_free(&itest_r_);                                          \
    } while (0)

/* Send raw bytes to the server and read its reply until it closes the
 * connection or timeout_ms passes without data. Returns the reply length;
 * out is NUL-terminated. */
/* A TCP connection to 127.0.0.1:port; with rcvbuf > 0 its receive buffer
 * is set that small first (a slow reader keeps the server sending).
 * Returns the socket, or -1 with errno set: the caller decides whether
 * that fails the test (safe to call from client threads). */
int itest_connect(uint16_t port, int rcvbuf);

/* The current ETag of mapping name's bytes (HEAD .../data must be 200),
 * copied into buf; returns buf. */
char *itest_etag(const struct itest_server *s, const char *name, char *buf,
                 size_t len);

size_t itest_raw(const struct itest_server *s, const void *req, size_t len,
                 char *out, size_t outlen, unsigned timeout_ms);

/* A field of /proc/PID/status in KiB ("VmRSS", "RssAnon"); 0 when the
 * field is absent. Fails the test when the file cannot be read. */
uint64_t itest_status_kib(pid_t pid, const char *field);

/* Mount a tmpfs of `size` ("8m") on a new directory made from the mkdtemp
 * template dir. If the test ends first, the mount is detached and the
 * directory removed at exit. False, with the reason on stderr and no
 * directory left, when this process may not mount (not root, no
 * CAP_SYS_ADMIN). One mount at a time. */
bool itest_mount_tmpfs(char *dir, const char *size);

/* Unmount and remove the directory itest_mount_tmpfs made; require it. */
void itest_unmount_tmpfs(const char *dir);

/* Fill buf with a reproducible pseudo-random pattern (xorshift from seed). */
void itest_pattern(void *buf, size_t len, uint64_t seed);

/* Create mapping `name` with a JSON body; require 201. */
void itest_create(const struct itest_server *s, const char *name,
                  const char *json);

/* The whole data of `name` via GET; require 200. *len gets its length.
 * Returns a malloc'ed buffer. */
char *itest_get_data(const struct itest_server *s, const char *name,
                     size_t *len);

/* Create mapping `name` of len bytes and write the pattern of seed over all
 * of it; pat receives the same len bytes. Requires 201, then 204. */
void itest_create_filled(const struct itest_server *s, const char *name,
                         char *pat, size_t len, uint64_t seed);

/* Require the whole data of `name` to be exactly want[0..len). */
void itest_expect_data(const struct itest_server *s, const char *name,
                       const void *want, size_t len);

#endif
