/* api.h - the REST API of mmapd, independent of any HTTP library.
 *
 * The server hands each HTTP request to the API as a struct api_request (a
 * method, a raw path, and callbacks that look up headers and query arguments)
 * and feeds the request body in chunks. The API answers with a struct
 * api_response: a status, headers, and a body that is one of
 *  - nothing,
 *  - an iovec of memory that stays valid until the body's release callback
 *    runs (memory the body owns: a copy of mapped bytes, or JSON), or
 *  - a reader callback that produces bytes at a position (streamed; bytes
 *    served from mapped views come this way, so the API can stop a body
 *    between blocks, see api/src/body.c).
 * server/daemon.c translates these to and from libmicrohttpd.
 *
 * Life of an exchange:
 *   ex = api_exchange_start(api, &req);          headers are here
 *   while (api_exchange_wants_body(ex)) api_exchange_body(ex, chunk, n);
 *   api_exchange_end(ex);                        the body is complete
 *   resp = api_exchange_response(ex);            borrowed, until _free
 *   ... send resp; the body's release callback runs when the server is done
 *   api_exchange_free(ex, completed);
 * A response may be ready before the body is (an early error): then
 * api_exchange_wants_body() returns false and api_exchange_end() is a no-op.
 *
 * Caveats:
 * - The request callbacks are only called during api_exchange_start(); the
 *   exchange copies what it needs.
 * - The response body's release callback is owned by whoever sends it: the
 *   server calls it exactly once (or api_exchange_free does, if the response
 *   was never handed over, see api_response_take_body).
 * - An exchange is used by one thread at a time; the struct api is shared by
 *   all threads.
 */
#ifndef API_API_H
#define API_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "api/api_status.h"

struct mc_catalog;
struct api_tokens;

enum api_method {
    API_METHOD_GET,
    API_METHOD_HEAD,
    API_METHOD_PUT,
    API_METHOD_PATCH,
    API_METHOD_POST,
    API_METHOD_DELETE,
    API_METHOD_OPTIONS,
    API_METHOD_OTHER,
};

/* Map a method token ("GET") to its enum; API_METHOD_OTHER if unknown. */
enum api_method api_method_parse(const char *token);

struct api_request {
    enum api_method method;
    const char *path; /* raw path, still percent-encoded, no query string */
    /* Header value by case-insensitive name, or NULL when absent. */
    const char *(*header)(void *conn, const char *name);
    /* Decoded query argument value ("" when given without a value), or
     * NULL when absent. */
    const char *(*query)(void *conn, const char *key);
    void *conn; /* passed back to the callbacks */
    /* The request is asked again after it waited waited_s seconds for a
     * change (README "Watch"): it does not wait again, and its answer
     * carries Preference-Applied: wait=<waited_s>. */
    bool waited;
    unsigned waited_s;
};

struct api_iov {
    const void *base;
    size_t len;
};

enum api_body_kind {
    API_BODY_NONE,
    API_BODY_IOV,    /* iov[0..iovcnt) valid until release(release_cls) */
    API_BODY_READER, /* read(cls, pos, buf, max) until length bytes given */
    /* An endless stream (text/event-stream), length unknown: read returns
     * bytes (> 0), 0 when it has nothing now, -1 when the stream ends.
     * After a 0 the server waits, holding no thread, until key changes
     * (the watch callback names it), ready(cls) turns true, or
     * API_STREAM_IDLE_MS pass, then reads again. */
    API_BODY_STREAM,
};

/* The longest a stream stays silent: it then sends a comment line, which
 * keeps proxies from closing it (README "Events"). */
#define API_STREAM_IDLE_MS 15000u

/* Where a reader copying an iovec out in order stands. Zero it to start. */
struct api_iov_cursor {
    size_t idx;      /* the piece holding the last position copied */
    uint64_t at;     /* body position where piece idx starts */
};

/* Copy the body bytes from position pos of the pieces iov[0..n) into buf
 * (at most max bytes), resuming at *cur: positions normally come in order,
 * and an earlier one restarts the walk. Each piece is copied with
 * mc_view_copy, so a piece pointing into a mapped view whose backing file
 * was truncated behind the server fails the copy instead of raising SIGBUS.
 * Returns the bytes copied (0 at or past the end), or -1 when a copy
 * faulted. Thread-compatible (one cursor per thread). */
ssize_t api_iov_copy(const struct api_iov *iov, size_t n,
                     struct api_iov_cursor *cur, uint64_t pos, char *buf,
                     size_t max);

struct api_body {
    enum api_body_kind kind;
    uint64_t length; /* Content-Length of the body */
    /* API_BODY_IOV */
    const struct api_iov *iov;
    unsigned iovcnt;
    /* API_BODY_READER: returns bytes written to buf (> 0), or -1 on error
     * (the server then aborts the connection: the length was promised). */
    ssize_t (*read)(void *cls, uint64_t pos, char *buf, size_t max);
    /* API_BODY_STREAM: true when a read now would give bytes or end the
     * stream; the key it waits on. */
    bool (*ready)(void *cls);
    const void *key;
    /* Every kind: called exactly once when the body is no longer needed. */
    void (*release)(void *cls);
    void *cls;
};

#define API_MAX_HEADERS 20

struct api_header {
    const char *name; /* static string */
    char value[256];
};

struct api_response {
    unsigned status;
    /* A static string, or a string the exchange holds (a mapping's own
     * content type), or NULL for none; valid until the exchange is freed. */
    const char *content_type;
    unsigned nheaders;
    struct api_header headers[API_MAX_HEADERS];
    struct api_body body;
};

struct api_config {
    struct mc_catalog *catalog; /* borrowed; outlives the api */
    uint64_t max_body;          /* largest request body accepted (413 past it) */
    unsigned max_ranges;        /* ranges per Range header before it's ignored */
    const char *version;        /* reported by /v1/info */
    /* Configured limits echoed by /v1/info (informational). */
    unsigned threads;
    unsigned max_connections;
    /* PUT bodies up to this many bytes are applied all at once (API.md:
     * at least 1 MiB); longer ones stream. 0 means 1 MiB. */
    uint64_t atomic_write_max;
    /* Total bytes held for request bodies by all connections (bodymem.h,
     * README "Memory budgets"); 0 means 64 MiB. */
    uint64_t max_body_memory;
    /* Bearer tokens (api_auth.h): borrowed, the api takes its own
     * reference. NULL: anonymous, every request is allowed (the server only
     * permits that on loopback or with --allow-anonymous). */
    struct api_tokens *tokens;
    /* Origins allowed by CORS (README "CORS"), each "scheme://host[:port]"
     * or "*" (api_origin_parse); api_create fails on a malformed one. None:
     * CORS is off. Borrowed; the api keeps its own copy. */
    const char *const *cors_origins;
    size_t cors_count;
    /* The cap of Prefer: wait in seconds (README "Watch"); 0: requests
     * never wait. */
    unsigned max_wait_s;
};

struct api; /* opaque, shared by all threads */
struct api_exchange;

/* Create the API over a catalog. *out is new; NULL-safe destroy. */
int api_create(const struct api_config *cfg, struct api **out);
void api_destroy(struct api *api);

/* Replace the token table (NULL: anonymous) while requests run: the api
 * takes a new reference to tokens and drops its reference to the old table;
 * exchanges already started finish with the table they started with, and
 * the old table is freed when the last of them ends. Safe from any thread. */
void api_set_tokens(struct api *api, struct api_tokens *tokens);

/* Start an exchange for req. Returns a new exchange, or NULL when out of
 * memory (the server then answers 500 itself). */
/* An exchange that is already answered with err's problem and detail: for
 * requests the server refuses before the API sees them (server/framing.h).
 * NULL when out of memory. */
struct api_exchange *api_exchange_refuse(struct api *api, enum api_err err,
                                         const char *detail);
struct api_exchange *api_exchange_start(struct api *api,
                                        const struct api_request *req);

/* True while the exchange wants more request body. */
bool api_exchange_wants_body(const struct api_exchange *ex);

/* Feed len bytes of request body. After an error the exchange stops wanting
 * body and its response is the error. */
void api_exchange_body(struct api_exchange *ex, const void *data, size_t len);

/* The request body is complete: produce the response if not yet done. */
void api_exchange_end(struct api_exchange *ex);

/* The response, once ready (after _start when !wants_body, else after
 * _end). Borrowed until api_exchange_free(). */
struct api_response *api_exchange_response(struct api_exchange *ex);

/* Hand the body's ownership to the caller: after this, api_exchange_free()
 * will not call its release callback; the caller must (exactly once). */
void api_response_take_body(struct api_exchange *ex, struct api_body *out);

/* A label of the route the exchange matched ("data", "maps", "healthz",
 * ...) for metrics and logs; static string. */
const char *api_exchange_route(const struct api_exchange *ex);

/* The 0-based position in the token file of the token the request was
 * authenticated with, or -1 (no token file, no token, or refused): for the
 * access log, which must say who acted without revealing the secret. */
long api_exchange_token(const struct api_exchange *ex);

/* End the exchange. completed is false when the connection broke off before
 * the response was sent; a write that was not acknowledged is then reported
 * as such in the metrics. ex may be NULL. */
void api_exchange_free(struct api_exchange *ex, bool completed);

/* Watch (README "Watch"). A GET or HEAD of a mapping's data or metadata
 * whose If-None-Match still matches, sent with Prefer: wait=N, is answered
 * 304 but may wait instead, for the mapping's ETag to change:
 *   api_exchange_wait(ex, &s)   after _end: true when it wants to wait s
 *                               seconds (N after the cap) rather than
 *                               answer now;
 *   api_exchange_wait_key(ex)   what it waits on (the mapping, held by the
 *                               exchange until it is freed): the key that
 *                               the watch callback names on a change;
 *   api_exchange_watch(ex, on)  count (and uncount) it as a watcher: only
 *                               watched mappings reach the callback;
 *   api_exchange_changed(ex)    the ETag moved, or the mapping was deleted,
 *                               since the answer was made.
 * When the wait ends the server frees the exchange and starts a new one
 * with req.waited set, which answers as if asked afresh (no second wait). */
bool api_exchange_wait(const struct api_exchange *ex, unsigned *seconds);
const void *api_exchange_wait_key(const struct api_exchange *ex);
void api_exchange_watch(struct api_exchange *ex, bool on);
bool api_exchange_changed(const struct api_exchange *ex);

/* Called, on the writer's thread, after every change of a watched mapping
 * (a write, an atomic store, a resize, a delete), with the key
 * api_exchange_wait_key gives. It must be quick (mapcore/mc_watch.h).
 * Install it before serving. */
typedef void api_watch_fn(void *cls, const void *key);
void api_set_watch(struct api *api, api_watch_fn *fn, void *cls);

/* Record a finished request in the metrics (called by the server). */
void api_metrics_record(struct api *api, const char *route, unsigned status,
                        uint64_t bytes_in, uint64_t bytes_out,
                        uint64_t duration_us);

#endif
