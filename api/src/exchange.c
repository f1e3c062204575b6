/* exchange.c - the life of one request/response exchange, and the helpers
 * every handler uses to build its response.
 *
 * The exchange runs every operation row (ops.c) the same way: the router
 * picks the row, the exchange is allocated with the row's handler state,
 * the row's scope is checked, the {name} mapping is looked up once and the
 * conditional headers parsed once, a write is held to the mapping's lease,
 * then the handler's start, body, end and free run. No operation is named
 * here.
 *
 * The exchange is the only per-request allocation the API itself keeps; the
 * response body, once built, owns its own memory (see internal.h), so the
 * server is free to send it after api_exchange_free().
 */
#include <assert.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

static const struct {
    const char *token;
    enum api_method method;
} methods[] = {
    {"GET", API_METHOD_GET},         {"HEAD", API_METHOD_HEAD},
    {"PUT", API_METHOD_PUT},         {"PATCH", API_METHOD_PATCH},
    {"POST", API_METHOD_POST},       {"DELETE", API_METHOD_DELETE},
    {"OPTIONS", API_METHOD_OPTIONS},
};

enum api_method api_method_parse(const char *token)
{
    if (token == NULL)
        return API_METHOD_OTHER;
    /* Methods are case-sensitive (RFC 9110 section 9.1): "get" is not GET. */
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (strcmp(token, methods[i].token) == 0)
            return methods[i].method;
    }
    return API_METHOD_OTHER;
}

static void body_release(struct api_body *b)
{
    if (b->release != NULL)
        b->release(b->cls);
    memset(b, 0, sizeof(*b));
    b->kind = API_BODY_NONE;
}

void api__response_reset(struct api_exchange *ex)
{
    body_release(&ex->resp.body);
    ex->resp.nheaders = 0;
    ex->keep = 0;
    ex->resp.content_type = NULL;
    ex->resp.status = 0;
}

void api__respond(struct api_exchange *ex, enum api_success status)
{
    ex->resp.status = (unsigned)status;
    ex->ready = true;
    ex->wants_body = false;
}

/* src into dst of cap bytes, cut to cap - 1 and always terminated. */
static void copy_value(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);

    memcpy(dst, src, n);
    dst[n] = '\0';
}

static bool header_add(struct api_exchange *ex, bool keep, const char *name,
                       const char *fmt, va_list ap)
{
    struct api_header *h;

    /* Content-Type has one way in, api__content_type: a second copy in the
     * header array would go out as a second header. Caught by the tests
     * (assert is on in the Debug build of the asan preset). */
    assert(strcasecmp(name, "Content-Type") != 0);
    if (ex->resp.nheaders >= API_MAX_HEADERS)
        return false;
    if (keep)
        ex->keep |= 1u << ex->resp.nheaders;
    h = &ex->resp.headers[ex->resp.nheaders++];
    h->name = name;
    /* Most values are a literal or one string ("%s"): copied as they are,
     * without vsnprintf, which was a visible share of a ranged GET
     * (bench/RESULTS.md, "Issue 15, step by step"). Cut to the same length
     * vsnprintf would cut them to. */
    if (strchr(fmt, '%') == NULL)
        copy_value(h->value, sizeof(h->value), fmt);
    else if (strcmp(fmt, "%s") == 0)
        copy_value(h->value, sizeof(h->value), va_arg(ap, const char *));
    else
        vsnprintf(h->value, sizeof(h->value), fmt, ap);
    return true;
}

bool api__header(struct api_exchange *ex, const char *name, const char *fmt,
                 ...)
{
    va_list ap;
    bool ok;

    va_start(ap, fmt);
    ok = header_add(ex, false, name, fmt, ap);
    va_end(ap);
    return ok;
}

bool api__header_keep(struct api_exchange *ex, const char *name,
                      const char *fmt, ...)
{
    va_list ap;
    bool ok;

    va_start(ap, fmt);
    ok = header_add(ex, true, name, fmt, ap);
    va_end(ap);
    return ok;
}

void api__content_type(struct api_exchange *ex, const char *fmt, ...)
{
    va_list ap;

    /* A plain type (every caller's literal but multipart's) is used as
     * is: no copy on the hot path of a ranged GET. */
    if (strchr(fmt, '%') == NULL) {
        ex->resp.content_type = fmt;
        return;
    }
    va_start(ap, fmt);
    /* A mapping's own type ("%s", every ranged GET): copied, not formatted. */
    if (strcmp(fmt, "%s") == 0)
        copy_value(ex->content_type, sizeof(ex->content_type),
                   va_arg(ap, const char *));
    else
        vsnprintf(ex->content_type, sizeof(ex->content_type), fmt, ap);
    va_end(ap);
    ex->resp.content_type = ex->content_type;
}

void api__body_set(struct api_exchange *ex, const struct api_body *body)
{
    body_release(&ex->resp.body);
    ex->resp.body = *body;
}

/* A small generated body: the iov and the bytes live in one allocation that
 * its release callback frees. */
struct copied_body {
    struct api_iov iov;
    char data[];
};

static void copied_body_release(void *cls)
{
    free(cls);
}

bool api__body_copy(struct api_exchange *ex, const char *content_type,
                    const char *data, size_t len)
{
    struct copied_body *cb;
    struct api_body body = {0};

    cb = malloc(sizeof(*cb) + len);
    if (cb == NULL)
        return false;
    memcpy(cb->data, data, len);
    cb->iov.base = cb->data;
    cb->iov.len = len;
    body.kind = API_BODY_IOV;
    body.length = len;
    body.iov = &cb->iov;
    body.iovcnt = 1;
    body.release = copied_body_release;
    body.cls = cb;
    api__body_set(ex, &body);
    ex->resp.content_type = content_type; /* static, as api__content_type */
    return true;
}

bool api__need_map(struct api_exchange *ex)
{
    if (ex->map != NULL)
        return true;
    api__fail_mc(ex, ex->map_rc);
    return false;
}

/* Everything between the route and the handler, the same for every row:
 * the access check, then the one lookup of the mapping, the one parse of
 * the conditional headers and, for a row that writes, the lease. False
 * after answering. */
static bool prepare(struct api_exchange *ex, const struct api_request *req)
{
    if (!api__authorize(ex))
        return false;
    if (!ex->op->map)
        return true;
    ex->map_rc = mc_catalog_get(ex->api->cat, ex->name, &ex->map);
    api__lease_header(ex, req);
    if (!api__conditions_parse(ex, req))
        return false;
    return !ex->op->lease || api__lease_admit(ex);
}

struct api_exchange *api_exchange_refuse(struct api *api, enum api_err err,
                                         const char *detail)
{
    struct api_exchange *ex = calloc(1, sizeof(*ex));

    if (ex == NULL)
        return NULL;
    ex->api = api;
    ex->resp.body.kind = API_BODY_NONE;
    api__fail(ex, err, "%s", detail ? detail : api_status_lookup(err)->title);
    return ex;
}

/* A zeroed exchange with state_size bytes of handler state after it, but
 * for its response's header slots: a slot is written before it is read
 * (resp.nheaders counts them), and zeroing those 5 KiB on every request was
 * most of what calloc cost a ranged GET (bench/RESULTS.md, issue 15). */
static struct api_exchange *exchange_new(size_t state_size)
{
    size_t size = sizeof(struct api_exchange) + state_size;
    size_t slots = offsetof(struct api_exchange, resp.headers);
    size_t after = offsetof(struct api_exchange, resp.body);
    unsigned char *p = malloc(size);

    if (p == NULL)
        return NULL;
    memset(p, 0, slots);
    memset(p + after, 0, size - after);
    return (struct api_exchange *)(void *)p;
}

struct api_exchange *api_exchange_start(struct api *api,
                                        const struct api_request *req)
{
    struct api_match m;
    struct api_exchange *ex;

    api__route_match(req, &m);
    ex = exchange_new(m.op != NULL ? m.op->handler->state_size : 0);
    if (ex == NULL)
        return NULL;
    ex->api = api;
    ex->method = req->method;
    ex->resp.body.kind = API_BODY_NONE;
    ex->waited = req->waited;
    ex->waited_s = req->waited_s;
    if (!api__route_admit(ex, req, &m) || !prepare(ex, req))
        return ex;
    /* Before the handler, so that its first look at the body is after the
     * digest of it is known to be checkable. */
    if (ex->op->handler->body != NULL && !api__digest_request_start(ex, req))
        return ex;
    ex->op->handler->start(ex, req);
    /* A handler that neither answered nor asked for the body has a bug;
     * answer rather than leave the server waiting. */
    if (!ex->ready && (!ex->wants_body || ex->op->handler->end == NULL))
        api__fail(ex, API_EINTERNAL, "handler produced no response");
    return ex;
}

bool api_exchange_wants_body(const struct api_exchange *ex)
{
    return ex != NULL && ex->wants_body;
}

void api_exchange_body(struct api_exchange *ex, const void *data, size_t len)
{
    if (ex == NULL || !ex->wants_body || len == 0)
        return;
    if (ex->op->handler->body != NULL) {
        api__digest_request_feed(ex, data, len);
        ex->op->handler->body(ex, data, len);
    }
    else
        api__fail(ex, API_EINTERNAL, "handler takes no body");
}

void api_exchange_end(struct api_exchange *ex)
{
    if (ex == NULL || ex->ready)
        return;
    /* The digest is checked before the handler applies a held body. */
    if (ex->op != NULL && ex->op->handler->end != NULL &&
        api__digest_request_check(ex))
        ex->op->handler->end(ex);
    if (!ex->ready)
        api__fail(ex, API_EINTERNAL, "handler produced no response");
    ex->wants_body = false;
}

struct api_response *api_exchange_response(struct api_exchange *ex)
{
    if (ex == NULL || !ex->ready)
        return NULL;
    api__cors_finish(ex); /* every answer, errors included */
    api__watch_applied(ex);
    return &ex->resp;
}

void api_response_take_body(struct api_exchange *ex, struct api_body *out)
{
    *out = ex->resp.body;
    /* The length stays visible in resp.body for logging; only the release
     * duty moves to the caller. */
    ex->resp.body.release = NULL;
    ex->resp.body.cls = NULL;
}

const char *api_exchange_route(const struct api_exchange *ex)
{
    return api__route_label(ex != NULL ? ex->route : API_ROUTE_NONE);
}

long api_exchange_token(const struct api_exchange *ex)
{
    if (ex == NULL || ex->auth_token == NULL)
        return -1;
    return (long)api_token_index(ex->auth_token);
}

void api_exchange_free(struct api_exchange *ex, bool completed)
{
    if (ex == NULL)
        return;
    if (ex->op != NULL && ex->op->handler->free != NULL)
        ex->op->handler->free(ex, completed);
    api_exchange_watch(ex, false); /* a watcher no more */
    mc_mapping_unref(ex->map);
    api__auth_release(ex);
    api__conditions_free(ex);
    api__digest_free(ex);
    body_release(&ex->resp.body);
    free(ex->json);
    api__bodymem_release(ex); /* after the buffers it covered are freed */
    free(ex);
}
