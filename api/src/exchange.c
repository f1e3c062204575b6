/* exchange.c - the life of one request/response exchange, and the helpers
 * every handler uses to build its response.
 *
 * The exchange is the only per-request allocation the API itself keeps; the
 * response body, once built, owns its own memory (see internal.h), so the
 * server is free to send it after api_exchange_free().
 */
#include <stdarg.h>
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
    ex->resp.content_type = NULL;
    ex->resp.status = 0;
}

void api__respond(struct api_exchange *ex, enum api_success status)
{
    ex->resp.status = (unsigned)status;
    ex->ready = true;
    ex->wants_body = false;
}

bool api__header(struct api_exchange *ex, const char *name, const char *fmt,
                 ...)
{
    struct api_header *h;
    va_list ap;

    if (ex->resp.nheaders >= API_MAX_HEADERS)
        return false;
    h = &ex->resp.headers[ex->resp.nheaders++];
    h->name = name;
    va_start(ap, fmt);
    vsnprintf(h->value, sizeof(h->value), fmt, ap);
    va_end(ap);
    return true;
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
    ex->resp.content_type = content_type;
    return true;
}

struct api_exchange *api_exchange_start(struct api *api,
                                        const struct api_request *req)
{
    struct api_exchange *ex = calloc(1, sizeof(*ex));

    if (ex == NULL)
        return NULL;
    ex->api = api;
    ex->method = req->method;
    ex->resp.body.kind = API_BODY_NONE;
    api__route(ex, req);
    if (ex->ready || !api__authorize(ex))
        return ex;

    switch (ex->op) {
    case API_OP_HEALTHZ:
        api__healthz(ex);
        break;
    case API_OP_READYZ:
        api__readyz(ex);
        break;
    case API_OP_METRICS:
        api__metrics_get(ex);
        break;
    case API_OP_INFO:
        api__info(ex);
        break;
    case API_OP_MAPS_LIST:
        api__maps_list(ex, req);
        break;
    case API_OP_MAP_GET:
        api__map_get(ex, req);
        break;
    case API_OP_MAP_DELETE:
        api__map_delete(ex, req);
        break;
    case API_OP_DATA_GET:
        api__data_get(ex, req);
        break;
    case API_OP_MAP_PUT:
        api__map_put_start(ex, req);
        break;
    case API_OP_MAP_PATCH:
    case API_OP_FLUSH:
        if (api__json_start(ex, req) && api__check_if_match(ex, req))
            ex->wants_body = true;
        break;
    case API_OP_DATA_PUT:
        api__data_put_start(ex, req);
        break;
    case API_OP_DATA_PATCH:
        api__data_patch_start(ex, req);
        break;
    case API_OP_OBJECT_GET:
        api__object_get(ex);
        break;
    case API_OP_OBJECT_PUT:
        api__object_put_start(ex, req);
        break;
    case API_OP_NONE:
        break;
    }
    /* A handler that neither answered nor asked for the body has a bug;
     * answer rather than leave the server waiting. */
    if (!ex->ready && !ex->wants_body)
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
    if (ex->op == API_OP_DATA_PUT)
        api__data_put_body(ex, data, len);
    else if (ex->op == API_OP_DATA_PATCH)
        api__data_patch_body(ex, data, len);
    else
        api__json_feed(ex, data, len);
}

void api_exchange_end(struct api_exchange *ex)
{
    if (ex == NULL || ex->ready)
        return;
    switch (ex->op) {
    case API_OP_MAP_PUT:
        api__map_put_end(ex);
        break;
    case API_OP_MAP_PATCH:
        api__map_patch_end(ex);
        break;
    case API_OP_FLUSH:
        api__flush_end(ex);
        break;
    case API_OP_DATA_PUT:
        api__data_put_end(ex);
        break;
    case API_OP_DATA_PATCH:
        api__data_patch_end(ex);
        break;
    case API_OP_OBJECT_PUT:
        api__object_put_end(ex);
        break;
    default:
        break;
    }
    if (!ex->ready)
        api__fail(ex, API_EINTERNAL, "handler produced no response");
    ex->wants_body = false;
}

struct api_response *api_exchange_response(struct api_exchange *ex)
{
    if (ex == NULL || !ex->ready)
        return NULL;
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
    api__data_put_free(ex, completed);
    api__auth_release(ex);
    api__conditions_free(ex);
    body_release(&ex->resp.body);
    free(ex->json);
    api__bodymem_release(ex); /* after the buffers it covered are freed */
    free(ex);
}
