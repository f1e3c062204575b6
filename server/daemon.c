/* daemon.c - libmicrohttpd glue: requests in, api exchanges, responses out.
 *
 * Life of a request, as libmicrohttpd drives it:
 *  1. on_uri(): the request line is parsed. We allocate the per-request
 *     state here (its return value becomes *req_cls) because this is the
 *     only place that sees the raw, still percent-encoded URI, which the
 *     api needs to tell "a%2Fb" from "a/b".
 *  2. on_request(), first call: headers are complete. Start the exchange;
 *     when it wants no body although the client sends one (an early
 *     error), answer at once: this also answers before the body when the
 *     client sent "Expect: 100-continue".
 *  3. on_request() with upload data: feed the exchange.
 *  4. on_request(), final call: end the exchange and queue its response.
 *  5. on_completed(): the one place that frees the per-request state, writes
 *     the access log line and records metrics, however the request ended.
 *
 * Connections come from our own acceptor (acceptor.h), which spreads them
 * evenly over the workers; libmicrohttpd runs without a listen socket. The
 * connection table (conns.h) admits them and follows each through its
 * phases (request line, headers, body, served) so that the acceptor can
 * drop those that stall; on_uri, on_request and on_completed report the
 * phases, and on_connection reports the close. So
 * shutdown does not need MHD_quiesce_daemon(), which in 0.9.75 races its
 * epoll workers and can abort the process ("Failed to remove listen FD from
 * epoll set"): the acceptor closes the socket, and responses on the open
 * connections ask the client to close.
 *
 * Watch (README "Watch"): a GET that prefers to wait for a change is
 * parked in the waiter registry (waiters.h) with its connection suspended
 * (MHD_suspend_connection), so it holds no worker thread. What 0.9.75's
 * source (daemon.c, connection.c) makes us do:
 *  - Resume from another thread (a writer, the registry's timer) works in
 *    our epoll thread-pool mode only through the worker's inter-thread
 *    channel: MHD_ALLOW_SUSPEND_RESUME (which implies MHD_USE_ITC) is set,
 *    and MHD_resume_connection() marks the connection and wakes the
 *    worker that owns it, which moves it back to its ready list and calls
 *    on_request() again in the "final call" state.
 *  - A resume that lands before the suspend cancels it
 *    (internal_suspend_connection_ sees "resuming" and returns): the
 *    connection would then sit with no response and no event to process
 *    it. So the connection is suspended first and the waiter armed after
 *    (waiters.h).
 *  - Suspended connections are off libmicrohttpd's timeout lists (its idle
 *    timer restarts on resume), and our own deadlines (conns.h) leave a
 *    BUSY connection alone, so a legitimate wait is never reaped; the cost
 *    is that a client that hangs up while waiting is noticed only when
 *    its wait ends.
 *  - MHD_stop_daemon() with a connection still suspended and not marked
 *    for resume aborts the process (MHD_PANIC "called while we have
 *    suspended connections"). Shutdown therefore wakes every waiter first
 *    (srv_daemon_quiesce, and srv_daemon_stop again): each gets its 503,
 *    and any resume still pending is taken over by the daemon's own final
 *    pass, which resumes marked connections before that check.
 *
 * libmicrohttpd 0.9.75 refuses MHD_queue_response() while the body is being
 * received, so when the api stops wanting body half-way (an early error) we
 * discard the rest of the body and queue the error at the final call; past
 * DISCARD_MAX bytes we close the connection instead of reading on.
 */
#include "daemon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "acceptor.h"
#include "api/api.h"
#include "api/api_status.h"
#include "config.h"
#include "conns.h"
#include "framing.h"
#include "log.h"
#include "secretfile.h"
#include "viewbody.h"
#include "waiters.h"

#define READER_BLOCK (64u * 1024u)
#define DISCARD_MAX (16ull << 20)
/* Largest certificate chain or key file we read. */
#define TLS_FILE_MAX ((size_t)1 << 20)

struct srv_daemon {
    struct MHD_Daemon *mhd;
    struct srv_acceptor *acceptor; /* NULL once quiesced */
    struct srv_conns *conns;
    struct srv_waiters *waiters; /* requests parked until a change */
    /* The 500 answered when the api cannot even start an exchange (out of
     * memory): made from the status table at start, so it needs nothing
     * then. */
    char internal_body[256];
    size_t internal_len;
    struct api *api;
    uint16_t port;
    uint64_t max_header_bytes; /* our limit; libmicrohttpd's pool is larger */
    atomic_uint inflight; /* requests between on_uri and on_completed */
    atomic_bool draining; /* set once by srv_daemon_quiesce() */
    atomic_uint streams;  /* event streams open (bounded by max_waiters) */
    unsigned max_waiters;
    /* PEM text of the certificate chain and the key, kept for the daemon's
     * life because libmicrohttpd is not documented to copy them. */
    char *tls_cert, *tls_key;
    size_t tls_cert_len, tls_key_len;
};

/* Per-request state; allocated in on_uri, freed in on_completed only. */
struct srv_request {
    struct srv_daemon *d;
    struct api_exchange *ex; /* NULL until the headers are complete */
    char *path;              /* raw path without the query string */
    const char *target;      /* raw target in libmicrohttpd's buffer */
    size_t target_len;       /* up to a NUL, as on_uri saw it */
    bool target_clean;       /* srv_framing_target_clean() in on_uri */
    bool close;              /* answer with Connection: close */
    char method[16];
    const char *route;
    int fd; /* the connection's socket: its name in d->conns */
    uint64_t start_ns;
    uint64_t bytes_in;
    uint64_t body_len; /* length of the queued response body */
    /* A streamed body's reader, and the bytes it handed to libmicrohttpd:
     * what the access log counts for a response broken off half-way. The
     * reader and the request each clear the other's pointer when they go
     * (both on the connection's thread), whichever goes first. */
    struct reader *reader;
    uint64_t produced;
    uint64_t discarded;
    unsigned status;
    bool started;
    bool queued;
    bool head;
    /* Watch: parked in d->waiters (the exchange counts as a watcher of its
     * mapping meanwhile), for wait_s seconds. */
    bool waiting;
    unsigned wait_s;
    struct srv_waiter waiter;
    bool stream; /* an event stream: its length is what was produced */
};

/* A streamed body (API_BODY_READER or API_BODY_STREAM) handed to
 * libmicrohttpd. */
struct reader {
    struct api_body body;
    struct srv_request *req; /* NULL once the request is logged */
    /* API_BODY_STREAM: counted in d->streams; parked in d->waiters while
     * it has nothing to send (its connection suspended meanwhile). */
    struct srv_daemon *d;
    bool waiting;
    struct srv_waiter waiter;
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Route libmicrohttpd's own messages into our log, one line each. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char buf[512];
    size_t n;

    vsnprintf(buf, sizeof(buf), fmt, ap);
    n = strlen(buf);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    srv_log(SRV_LOG_WARN, "libmicrohttpd: %s", buf);
}

/* The client's address in text into buf; buf is left as it is when
 * libmicrohttpd does not know the address. */
static void client_address(struct MHD_Connection *conn, char *buf, size_t len)
{
    const union MHD_ConnectionInfo *ci;
    const struct sockaddr *sa;

    ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return;
    sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
                  buf, (socklen_t)len);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6,
                  &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                  buf, (socklen_t)len);
}

static int connection_fd(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);

    return ci ? ci->connect_fd : -1;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct srv_daemon *d = cls;
    struct srv_request *r;
    size_t plen = strcspn(uri, "?");
    int fd = connection_fd(conn);

    srv_conns_phase(d->conns, fd, SRV_CONN_HEAD);

    r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->path = strndup(uri, plen);
    if (!r->path) {
        free(r);
        return NULL;
    }
    r->d = d;
    r->fd = fd;
    r->target = uri;
    r->target_len = strlen(uri);
    r->target_clean = srv_framing_target_clean(uri, r->target_len);
    r->start_ns = now_ns();
    atomic_fetch_add(&d->inflight, 1);
    return r;
}

static const char *header_cb(void *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

/* libmicrohttpd stores "?unlink" (no '=') with a NULL value, which plain
 * MHD_lookup_connection_value can't tell from absence; the _n variant can. */
static const char *query_cb(void *conn, const char *key)
{
    const char *val = NULL;
    size_t vlen = 0;

    if (MHD_lookup_connection_value_n(conn, MHD_GET_ARGUMENT_KIND, key,
                                      strlen(key), &val, &vlen) != MHD_YES)
        return NULL;
    return val ? val : "";
}

static ssize_t reader_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct reader *rd = cls;
    ssize_t n = rd->body.read(rd->body.cls, pos, buf, max);

    /* The length was promised in Content-Length, so a short body can only
     * end the connection; 0 would make libmicrohttpd poll again forever. */
    if (n <= 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (rd->req)
        rd->req->produced += (uint64_t)n;
    return n;
}

/* An event stream's reader (API_BODY_STREAM): bytes when it has some;
 * otherwise park until its mapping changes, it turns ready or its idle
 * time passes (waiters.h; the same steps as start_wait), and return 0:
 * libmicrohttpd calls again once the connection is resumed. The stream
 * ends at shutdown. Called from the connection's worker, the only place
 * (with the access handler) that may suspend it. */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct reader *rd = cls;
    struct srv_daemon *d = rd->d;
    ssize_t n;

    if (rd->waiting) {
        rd->waiting = false;
        if (srv_waiter_why(&rd->waiter) == SRV_WAKE_SHUTDOWN)
            return MHD_CONTENT_READER_END_OF_STREAM;
    }
    n = rd->body.read(rd->body.cls, pos, buf, max);
    if (n < 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (n > 0) {
        if (rd->req)
            rd->req->produced += (uint64_t)n;
        return n;
    }
    if (srv_waiters_add(d->waiters, &rd->waiter, rd->body.key,
                        srv_waiters_now_ms() + API_STREAM_IDLE_MS) !=
        SRV_WAIT_ADDED)
        return MHD_CONTENT_READER_END_OF_STREAM; /* shutting down */
    rd->waiting = true;
    MHD_suspend_connection(rd->waiter.conn);
    if (rd->body.ready(rd->body.cls))
        srv_waiters_wake_one(d->waiters, &rd->waiter, SRV_WAKE_CHANGED);
    srv_waiters_arm(d->waiters, &rd->waiter);
    return 0;
}

static void reader_free(void *cls)
{
    struct reader *rd = cls;

    if (rd->body.kind == API_BODY_STREAM) {
        if (rd->waiting) /* only at a daemon stop */
            srv_waiters_remove(rd->d->waiters, &rd->waiter);
        atomic_fetch_sub(&rd->d->streams, 1);
    }
    if (rd->req)
        rd->req->reader = NULL;
    if (rd->body.release)
        rd->body.release(rd->body.cls);
    free(rd);
}

/* A reader that must never be asked for bytes: used for a HEAD response
 * that has a length but no body (libmicrohttpd never reads it for HEAD). */
static ssize_t never_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    return MHD_CONTENT_READER_END_WITH_ERROR;
}

static void body_release(struct api_body *body)
{
    if (body->release)
        body->release(body->cls);
}

/* Turn the api's body into a libmicrohttpd response. The body's release
 * callback runs exactly once: handed to libmicrohttpd on success, called
 * here on failure. Returns NULL when out of memory. */
static struct MHD_Response *response_from_body(struct srv_request *r,
                                               struct MHD_Connection *conn,
                                               struct api_body *body,
                                               bool head, bool copy_views)
{
    struct MHD_Response *mr = NULL;

    switch (body->kind) {
    case API_BODY_NONE:
        if (head && body->length > 0)
            mr = MHD_create_response_from_callback(body->length, READER_BLOCK,
                                                   never_read, NULL, NULL);
        else
            mr = MHD_create_response_from_buffer(0, NULL,
                                                 MHD_RESPMEM_PERSISTENT);
        body_release(body);
        return mr;
    case API_BODY_IOV: {
        /* TLS reads the views in user space, where a truncated backing
         * file raises SIGBUS: copy them under the guard (viewbody.h). */
        if (copy_views)
            return srv_viewbody_response(body, READER_BLOCK);
        /* libmicrohttpd copies the array (not the bytes it points to). */
        struct MHD_IoVec small[8];
        struct MHD_IoVec *iov = small;

        if (body->iovcnt > 8) {
            iov = calloc(body->iovcnt, sizeof(*iov));
            if (!iov) {
                body_release(body);
                return NULL;
            }
        }
        for (unsigned i = 0; i < body->iovcnt; i++) {
            iov[i].iov_base = body->iov[i].base;
            iov[i].iov_len = body->iov[i].len;
        }
        mr = MHD_create_response_from_iovec(iov, body->iovcnt, body->release,
                                            body->cls);
        if (iov != small)
            free(iov);
        if (!mr)
            body_release(body);
        return mr;
    }
    case API_BODY_READER:
    case API_BODY_STREAM: {
        struct reader *rd = calloc(1, sizeof(*rd));
        bool stream = body->kind == API_BODY_STREAM;

        if (!rd) {
            body_release(body);
            return NULL;
        }
        rd->body = *body;
        rd->req = NULL;
        rd->d = r->d;
        rd->waiter.conn = conn;
        if (stream)
            atomic_fetch_add(&r->d->streams, 1);
        mr = MHD_create_response_from_callback(
            stream ? MHD_SIZE_UNKNOWN : body->length, READER_BLOCK,
            stream ? stream_read : reader_read, rd, reader_free);
        if (!mr) {
            reader_free(rd);
            return NULL;
        }
        rd->req = r;
        r->reader = rd;
        return mr;
    }
    }
    body_release(body);
    return NULL;
}

/* Answer 500 with a problem body; used when the api could not even start
 * an exchange (out of memory) or a response could not be built. */
static enum MHD_Result queue_internal_error(struct srv_request *r,
                                            struct MHD_Connection *conn)
{
    struct srv_daemon *d = r->d;
    struct MHD_Response *mr;
    enum MHD_Result ok;

    mr = MHD_create_response_from_buffer(d->internal_len, d->internal_body,
                                         MHD_RESPMEM_PERSISTENT);
    if (!mr)
        return MHD_NO;
    MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "application/problem+json");
    ok = MHD_queue_response(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, mr);
    MHD_destroy_response(mr);
    if (ok == MHD_YES) {
        r->queued = true;
        r->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        r->body_len = d->internal_len;
    }
    return ok;
}

/* Queue the exchange's response. */
static enum MHD_Result queue_response(struct srv_request *r,
                                      struct MHD_Connection *conn)
{
    struct api_response *resp = api_exchange_response(r->ex);
    struct api_body body;
    struct MHD_Response *mr;
    enum MHD_Result ok;

    if (!resp)
        return queue_internal_error(r, conn);
    api_response_take_body(r->ex, &body);
    r->body_len = body.length;
    /* Event streams are bounded like waiters (README "Events"). */
    if (body.kind == API_BODY_STREAM &&
        atomic_load(&r->d->streams) >= r->d->max_waiters) {
        body_release(&body);
        api_exchange_free(r->ex, true);
        r->ex = api_exchange_refuse(r->d->api, API_ETOOMANYWAITERS,
                                    "too many event streams are open "
                                    "(--max-waiters)");
        if (!r->ex)
            return queue_internal_error(r, conn);
        return queue_response(r, conn);
    }
    r->stream = body.kind == API_BODY_STREAM;
    mr = response_from_body(r, conn, &body, r->head, r->d->tls_cert != NULL);
    if (!mr)
        return queue_internal_error(r, conn);
    for (unsigned i = 0; i < resp->nheaders && i < API_MAX_HEADERS; i++) {
        if (MHD_add_response_header(mr, resp->headers[i].name,
                                    resp->headers[i].value) != MHD_YES)
            srv_log(SRV_LOG_WARN, "could not add header %s to a response",
                    resp->headers[i].name);
    }
    if (resp->content_type)
        MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE,
                                resp->content_type);
    /* A keep-alive client must not keep the drain going request after
     * request. */
    if (r->close || atomic_load(&r->d->draining))
        MHD_add_response_header(mr, MHD_HTTP_HEADER_CONNECTION, "close");
    ok = MHD_queue_response(conn, resp->status, mr);
    MHD_destroy_response(mr); /* libmicrohttpd holds its own reference */
    if (ok == MHD_YES) {
        r->queued = true;
        r->status = resp->status;
    }
    return ok;
}

/* True when the request announces a body (a non-zero Content-Length or any
 * Transfer-Encoding); libmicrohttpd has already refused malformed framing. */
static bool has_body(struct MHD_Connection *conn)
{
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *te = MHD_lookup_connection_value(
        conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);

    if (te)
        return true;
    return cl && strspn(cl, "0") != strlen(cl);
}

struct field_list {
    struct srv_field f[SRV_FRAMING_MAX_LINES + 1];
    size_t n;
    size_t more;     /* lines past the array */
    const char *end; /* where the previous line's value ended */
};

static enum MHD_Result collect_field(void *cls, enum MHD_ValueKind kind,
                                     const char *key, size_t key_size,
                                     const char *value, size_t value_size)
{
    struct field_list *l = cls;

    (void)kind;
    if (l->n == SRV_FRAMING_MAX_LINES + 1) {
        l->more++;
        return MHD_YES;
    }
    /* libmicrohttpd parses in place: a CRLF-ended line is followed by the
     * next name two bytes on (the CR and LF it overwrote with NULs). */
    l->f[l->n++] = (struct srv_field){
        .name = key, .name_len = key_size, .value = value,
        .value_len = value_size,
        .gap = (size_t)((uintptr_t)key - (uintptr_t)l->end)};
    l->end = value + value_size;
    return MHD_YES;
}

/* The check of server/framing.h over this request's head; on a refusal the
 * exchange is a problem answer and the connection closes after it, so no
 * byte after this head is read as another request. */
static enum api_err check_framing(struct srv_request *r,
                                  struct MHD_Connection *conn,
                                  const char *version, const char **why)
{
    struct field_list *l = malloc(sizeof(*l));
    unsigned st;

    if (!l)
        return API_EINTERNAL;
    /* Only the counts: the 5 KiB of lines are written as they are found
     * (this runs for every request). */
    l->n = l->more = 0;
    /* The target ends one SP before the version; a NUL inside it ends the
     * C string early. */
    l->end = version + strlen(version);
    MHD_get_connection_values_n(conn, MHD_HEADER_KIND, collect_field, l);
    st = srv_framing_check(
        &(struct srv_head){
            .target_len = r->target_len,
            .target_bad = !r->target_clean ||
                          (*version && r->target + r->target_len + 1 != version),
            /* The head ends with an empty line, so the byte after the
             * last line's CR (now a NUL) is still in the buffer: its LF,
             * also a NUL, unless a NUL cut the line's value short. */
            .last_cut = (l->n > 0 || *version) &&
                        (l->end[0] != '\0' || l->end[1] != '\0'),
            .http11 = strcmp(version, "HTTP/1.1") == 0,
            .fields = l->f,
            .nfields = l->n + l->more,
            .max_head_bytes = r->d->max_header_bytes},
        why);
    free(l);
    switch (st) {
    case 0:
        return API_OK;
    case 414:
        return API_EURITOOLONG;
    case 431:
        return API_EHEADTOOLARGE;
    case 501:
        return API_ECODING;
    default:
        return API_EFRAMING;
    }
}

/* The method for the access line, cut as snprintf would cut it; copied,
 * not formatted: this runs for every request. */
static void keep_method(struct srv_request *r, const char *method)
{
    size_t n = strnlen(method, sizeof(r->method) - 1);

    memcpy(r->method, method, n);
    r->method[n] = '\0';
}

static enum MHD_Result start_exchange(struct srv_request *r,
                                      struct MHD_Connection *conn,
                                      const char *method, const char *version)
{
    const char *why = NULL;
    enum api_err bad = check_framing(r, conn, version, &why);

    if (bad != API_OK) {
        srv_conns_phase(r->d->conns, r->fd, SRV_CONN_BUSY);
        r->started = true;
        r->close = true;
        keep_method(r, method);
        r->ex = api_exchange_refuse(r->d->api, bad, why);
        if (!r->ex)
            return queue_internal_error(r, conn);
        /* Queued on the first call: libmicrohttpd then reads no body and
         * closes the connection after the answer. */
        return queue_response(r, conn);
    }

    struct api_request req = {
        .method = api_method_parse(method),
        .path = r->path,
        .header = header_cb,
        .query = query_cb,
        .conn = conn,
    };
    bool body;

    r->started = true;
    keep_method(r, method);
    r->head = req.method == API_METHOD_HEAD;
    r->ex = api_exchange_start(r->d->api, &req);
    if (!r->ex)
        return queue_internal_error(r, conn);
    r->route = api_exchange_route(r->ex);
    body = has_body(conn);
    srv_conns_phase(r->d->conns, r->fd, body ? SRV_CONN_BODY : SRV_CONN_BUSY);
    /* An answer ready before an unread body goes out now: libmicrohttpd
     * then skips the body (and "100 Continue") and closes the connection
     * after the response. Without a body we wait for the next call, which
     * follows at once: a response queued on this first call would make
     * libmicrohttpd 0.9.75 close the connection and lose keep-alive. */
    if (body && !api_exchange_wants_body(r->ex))
        return queue_response(r, conn);
    return MHD_YES;
}

/* Park the request until its mapping changes, wait_s seconds pass or the
 * server stops (waiters.h has the order of the steps and why). */
static enum MHD_Result start_wait(struct srv_request *r,
                                  struct MHD_Connection *conn, unsigned wait_s)
{
    struct srv_daemon *d = r->d;
    enum srv_wait_add added;

    added = srv_waiters_add(d->waiters, &r->waiter,
                            api_exchange_wait_key(r->ex),
                            srv_waiters_now_ms() + (uint64_t)wait_s * 1000u);
    if (added != SRV_WAIT_ADDED) {
        api_exchange_free(r->ex, true);
        r->ex = added == SRV_WAIT_FULL
                    ? api_exchange_refuse(d->api, API_ETOOMANYWAITERS,
                                          "too many requests wait for a "
                                          "change already (--max-waiters)")
                    : api_exchange_refuse(d->api, API_ESHUTTINGDOWN,
                                          "the server is shutting down");
        if (!r->ex)
            return queue_internal_error(r, conn);
        return queue_response(r, conn);
    }
    r->waiting = true;
    r->wait_s = wait_s;
    r->waiter.conn = conn;
    MHD_suspend_connection(conn);
    /* Counted after it is listed, then the ETag looked at again: a change
     * in between either finds it listed or shows here (mc_watch.h). */
    api_exchange_watch(r->ex, true);
    if (api_exchange_changed(r->ex))
        srv_waiters_wake_one(d->waiters, &r->waiter, SRV_WAKE_CHANGED);
    srv_waiters_arm(d->waiters, &r->waiter);
    return MHD_YES;
}

/* The request was resumed: answer it afresh (README "Watch"), or 503 when
 * the server is stopping. */
static enum MHD_Result answer_after_wait(struct srv_request *r,
                                         struct MHD_Connection *conn)
{
    struct srv_daemon *d = r->d;
    enum srv_wake why = srv_waiter_why(&r->waiter);

    r->waiting = false;
    api_exchange_free(r->ex, true);
    if (why == SRV_WAKE_SHUTDOWN) {
        r->ex = api_exchange_refuse(d->api, API_ESHUTTINGDOWN,
                                    "the server is shutting down");
    } else {
        struct api_request req = {
            .method = api_method_parse(r->method),
            .path = r->path,
            .header = header_cb,
            .query = query_cb,
            .conn = conn,
            .waited = true,
            .waited_s = r->wait_s,
        };

        r->ex = api_exchange_start(d->api, &req);
        if (r->ex)
            api_exchange_end(r->ex);
    }
    if (!r->ex)
        return queue_internal_error(r, conn);
    return queue_response(r, conn);
}

/* The registry's resume callback (under its lock): hand the connection
 * back to its worker. */
static void resume_waiter(void *cls, struct srv_waiter *w)
{
    (void)cls;
    MHD_resume_connection(w->conn);
}

/* mapcore's watch callback, through the api: key's mapping changed. */
static void on_watch(void *cls, const void *key)
{
    struct srv_daemon *d = cls;

    srv_waiters_wake(d->waiters, key);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    struct srv_request *r = *req_cls;

    if (!r)
        return MHD_NO; /* on_uri ran out of memory: drop the connection */
    if (!r->started)
        return start_exchange(r, conn, method, version);

    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;

        *upload_data_size = 0;
        r->bytes_in += n;
        srv_conns_received(r->d->conns, r->fd, n);
        if (r->queued)
            return MHD_YES;
        if (r->ex && api_exchange_wants_body(r->ex)) {
            api_exchange_body(r->ex, upload_data, n);
            return MHD_YES;
        }
        r->discarded += n;
        return r->discarded > DISCARD_MAX ? MHD_NO : MHD_YES;
    }

    srv_conns_phase(r->d->conns, r->fd, SRV_CONN_BUSY);
    if (r->queued)
        return MHD_YES;
    if (!r->ex)
        return queue_internal_error(r, conn);
    if (r->waiting)
        return answer_after_wait(r, conn);
    api_exchange_end(r->ex);
    unsigned wait_s;

    if (api_exchange_wait(r->ex, &wait_s))
        return start_wait(r, conn, wait_s);
    return queue_response(r, conn);
}

static void on_completed(void *cls, struct MHD_Connection *conn,
                         void **req_cls, enum MHD_RequestTerminationCode toe)
{
    struct srv_daemon *d = cls;
    struct srv_request *r = *req_cls;
    bool completed = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK;
    uint64_t duration_us;
    uint64_t bytes_out = 0;
    long token;
    char client[64] = "-";

    if (!r)
        return;
    *req_cls = NULL;
    /* Only at a daemon stop that overtook a wake-up: forget the waiter. */
    if (r->waiting)
        srv_waiters_remove(d->waiters, &r->waiter);
    /* A keep-alive connection now waits for its next request line. */
    srv_conns_phase(d->conns, r->fd, SRV_CONN_WAIT);
    duration_us = (now_ns() - r->start_ns) / 1000u;
    if (r->reader)
        r->reader->req = NULL;
    /* A response broken off counts what was handed over of it (at most a
     * block more than the client got); a whole one, its length. */
    if (completed && !r->head && !r->stream)
        bytes_out = r->body_len;
    else if (!r->head)
        bytes_out = r->produced;
    token = api_exchange_token(r->ex);
    api_exchange_free(r->ex, completed);
    if (r->started)
        api_metrics_record(d->api, r->route ? r->route : "none", r->status,
                           r->bytes_in, bytes_out, duration_us);
    /* Only the access line needs the address in text (inet_ntop formats
     * with sprintf): not done when the log is off. */
    if (srv_log_access_on())
        client_address(conn, client, sizeof(client));
    srv_log_access(&(struct srv_access){
        .method = r->started ? r->method : "-",
        .path = r->path,
        .client = client,
        .status = r->status,
        .bytes_in = r->bytes_in,
        .bytes_out = bytes_out,
        .duration_us = duration_us,
        .token = token,
    });
    free(r->path);
    free(r);
    atomic_fetch_sub(&d->inflight, 1);
}

/* libmicrohttpd reports the close before it closes the socket: the slot
 * is free before the number can be given out again (conns.h). */
static void on_connection(void *cls, struct MHD_Connection *conn,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct srv_daemon *d = cls;

    (void)socket_context;
    if (code == MHD_CONNECTION_NOTIFY_CLOSED)
        srv_conns_closed(d->conns, connection_fd(conn));
}

static void daemon_free(struct srv_daemon *d)
{
    srv_waiters_destroy(d->waiters);
    srv_conns_destroy(d->conns);
    srv_secretfile_free(d->tls_cert, d->tls_cert_len);
    srv_secretfile_free(d->tls_key, d->tls_key_len);
    free(d);
}

/* Read the certificate and key named in cfg into d and fill opts with the
 * options that hand them to libmicrohttpd. Without TLS opts is just the
 * end marker. Returns 0, or -1 with a reason in errbuf. */
static int tls_setup(const struct srv_config *cfg, struct srv_daemon *d,
                     struct MHD_OptionItem opts[3], char *errbuf,
                     size_t errlen)
{
    opts[0] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    if (!cfg->tls_cert)
        return 0;
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        snprintf(errbuf, errlen,
                 "--tls-cert: this libmicrohttpd was built without TLS "
                 "(GnuTLS) support");
        return -1;
    }
    if (srv_secretfile_read(cfg->tls_cert, "TLS certificate", false,
                            TLS_FILE_MAX,
                            &d->tls_cert, &d->tls_cert_len, errbuf,
                            errlen) != 0 ||
        srv_secretfile_read(cfg->tls_key, "TLS key", true, TLS_FILE_MAX,
                            &d->tls_key, &d->tls_key_len, errbuf,
                            errlen) != 0)
        return -1;
    opts[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0,
                                      d->tls_cert};
    opts[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0,
                                      d->tls_key};
    opts[2] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    return 0;
}

/* Socket numbers stay below the descriptor limit: the table's size. */
static unsigned descriptor_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
        rl.rlim_cur > (1u << 22))
        return 1u << 22;
    return (unsigned)rl.rlim_cur;
}

int srv_daemon_start(const struct srv_config *cfg, struct api *api,
                     struct srv_daemon **out, char *errbuf, size_t errlen)
{
    struct MHD_OptionItem tls_opts[3];
    struct srv_daemon *d;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG |
                     MHD_USE_TURBO | MHD_USE_NO_LISTEN_SOCKET |
                     MHD_USE_ITC | /* how added connections reach a worker */
                     MHD_ALLOW_SUSPEND_RESUME; /* watch: parked requests */
    const struct srv_conns_limits limits = {
        .max_connections = cfg->max_connections,
        .idle_s = cfg->timeout_s,
        .head_s = cfg->header_timeout_s,
        .min_rate = cfg->min_receive_rate,
    };
    char where[96];
    int fd;

    *out = NULL;
    d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(errbuf, errlen, "out of memory");
        return -1;
    }
    d->api = api;
    d->internal_len = api_status_problem(API_EINTERNAL, "out of memory",
                                         d->internal_body,
                                         sizeof(d->internal_body));
    d->conns = srv_conns_create(&limits, descriptor_limit());
    if (!d->conns) {
        snprintf(errbuf, errlen, "out of memory");
        daemon_free(d);
        return -1;
    }
    if (srv_waiters_create(cfg->max_waiters, resume_waiter, d,
                           &d->waiters) != 0) {
        snprintf(errbuf, errlen, "cannot start the waiters' timer");
        daemon_free(d);
        return -1;
    }
    d->max_header_bytes = cfg->max_header_bytes;
    d->max_waiters = cfg->max_waiters;
    atomic_init(&d->streams, 0);
    atomic_init(&d->inflight, 0);
    atomic_init(&d->draining, false);
    if (tls_setup(cfg, d, tls_opts, errbuf, errlen) != 0) {
        daemon_free(d);
        return -1;
    }
    if (cfg->tls_cert)
        flags |= MHD_USE_TLS;
    srv_config_authority(cfg, cfg->listen_port, where, sizeof(where));
    fd = srv_acceptor_listen((const struct sockaddr *)&cfg->listen_addr,
                             cfg->listen_addr_len);
    if (fd < 0) {
        snprintf(errbuf, errlen, "cannot listen on %s: %s", where,
                 strerror(errno));
        daemon_free(d);
        return -1;
    }
    d->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, d,
        /* First, so that every message goes through our log. */
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
        MHD_OPTION_THREAD_POOL_SIZE, cfg->threads,
        /* The real limit is the table's; libmicrohttpd's must never be
         * reached (conns.h). */
        MHD_OPTION_CONNECTION_LIMIT,
        srv_conns_mhd_limit(&limits, cfg->threads),
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, d,
        /* One client must not take every connection: the ones past this
         * limit are closed as soon as they are accepted. */
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->max_connections_per_client,
        MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout_s,
        /* The pool holds the request line, the headers and the response
         * head. It is larger than --max-header-bytes so that heads past
         * our limits reach server/framing.c and get a problem+json 414 or
         * 431; libmicrohttpd's own answers for heads past the pool are
         * HTML. */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)cfg->max_header_bytes * SRV_FRAMING_POOL_FACTOR,
        /* Not MHD_OPTION_STRICT_FOR_CLIENT: in 0.9.75 level 1 refuses a
         * missing Host with an HTML page, and the whitespace-before-colon
         * check runs only at level -1 (inverted); server/framing.c does
         * both, and the rest, with problem+json answers. */
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, d,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, d,
        MHD_OPTION_ARRAY, tls_opts,
        MHD_OPTION_END);
    if (!d->mhd) {
        snprintf(errbuf, errlen, "cannot serve on %s%s", where,
                 cfg->tls_cert ? ": the TLS certificate and key are not a "
                                 "valid matching PEM pair"
                               : "");
        close(fd);
        daemon_free(d);
        return -1;
    }
    d->port = srv_acceptor_port(fd);
    api_set_watch(api, on_watch, d);
    if (srv_acceptor_start(fd, d->mhd, d->conns, &d->acceptor) != 0) {
        snprintf(errbuf, errlen, "cannot start the acceptor: %s",
                 strerror(errno));
        api_set_watch(api, NULL, NULL);
        MHD_stop_daemon(d->mhd);
        daemon_free(d);
        return -1;
    }
    *out = d;
    return 0;
}

uint16_t srv_daemon_port(const struct srv_daemon *d)
{
    return d->port;
}

void srv_daemon_quiesce(struct srv_daemon *d)
{
    atomic_store(&d->draining, true);
    srv_waiters_shutdown(d->waiters); /* each waiter gets its 503 */
    srv_acceptor_stop(d->acceptor);
    d->acceptor = NULL;
}

bool srv_daemon_drain(struct srv_daemon *d, unsigned timeout_ms)
{
    const struct timespec tick = {0, 10 * 1000 * 1000};

    for (unsigned waited = 0; atomic_load(&d->inflight) > 0; waited += 10) {
        if (waited >= timeout_ms)
            return false;
        nanosleep(&tick, NULL);
    }
    return true;
}

void srv_daemon_stop(struct srv_daemon *d)
{
    if (!d)
        return;
    srv_acceptor_stop(d->acceptor);
    /* No connection may stay suspended into MHD_stop_daemon (see above). */
    srv_waiters_shutdown(d->waiters);
    MHD_stop_daemon(d->mhd);
    api_set_watch(d->api, NULL, NULL);
    daemon_free(d);
}
