/* cors.c - Cross-Origin Resource Sharing for browsers (README "CORS").
 *
 * Off unless the operator lists origins (--cors-origin). Two hooks:
 * api__cors_start runs first in the router, before authentication, because
 * a browser's preflight (OPTIONS with Access-Control-Request-Method) never
 * carries the Authorization header: it asks whether the real request may be
 * sent, and answering it reveals nothing but this fixed policy (no name is
 * looked up). api__cors_finish runs when the response is handed to the
 * server, so the headers reach every answer, errors included (api__fail
 * resets the headers set before it; this runs after).
 *
 * An Origin that is not listed gets no CORS header at all: the browser then
 * refuses the page the answer. No Access-Control-Allow-Credentials: tokens
 * travel in Authorization, which a page sets itself, never as cookies, so
 * the browser's credentials mode is never needed.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

/* Every method and request header the API uses (api/openapi.yaml). */
#define CORS_METHODS "GET, HEAD, PUT, PATCH, POST, DELETE, OPTIONS"
#define CORS_REQUEST_HEADERS                                                   \
    "Authorization, Content-Type, Content-Range, Range, If-Match, "            \
    "If-None-Match, If-Range, If-Modified-Since, If-Unmodified-Since, "        \
    "Content-Digest, Want-Content-Digest, Prefer, Lease-Id, Last-Event-ID"
/* The response headers a page's script may read besides the safelisted. */
#define CORS_EXPOSE_HEADERS                                                    \
    "ETag, Content-Range, Accept-Ranges, Content-Length, Last-Modified, "      \
    "Location, Content-Digest, Preference-Applied, Lease-Id"
/* Seconds a browser may reuse a preflight's answer (Chromium caps it at
 * 7200); short, so a changed policy reaches browsers soon. */
#define CORS_MAX_AGE 600

int api__cors_init(struct api_cors *c, const char *const *origins, size_t n)
{
    memset(c, 0, sizeof(*c));
    if (n == 0)
        return 0;
    c->origins = calloc(n, sizeof(*c->origins));
    if (c->origins == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!api_origin_parse(origins[i], c->origins[c->count],
                              sizeof(c->origins[0]))) {
            free(c->origins);
            c->origins = NULL;
            return -1;
        }
        if (strcmp(c->origins[c->count], "*") == 0)
            c->any = true;
        else
            c->count++;
    }
    return 0;
}

void api__cors_free(struct api_cors *c)
{
    free(c->origins);
    c->origins = NULL;
    c->count = 0;
}

/* The value of Access-Control-Allow-Origin for this Origin, or NULL. */
static const char *allowed(const struct api_cors *c, const char *origin)
{
    if (origin == NULL)
        return NULL;
    if (c->any)
        return "*";
    for (size_t i = 0; i < c->count; i++) {
        if (strcasecmp(c->origins[i], origin) == 0)
            return c->origins[i];
    }
    return NULL;
}

bool api__cors_start(struct api_exchange *ex, const struct api_request *req)
{
    const char *origin = req->header(req->conn, "Origin");

    ex->cors_allow = allowed(&ex->api->cors, origin);
    if (ex->cors_allow == NULL || req->method != API_METHOD_OPTIONS ||
        req->header(req->conn, "Access-Control-Request-Method") == NULL)
        return false;
    api__respond(ex, API_S_NO_CONTENT);
    api__header(ex, "Access-Control-Allow-Methods", "%s", CORS_METHODS);
    api__header(ex, "Access-Control-Allow-Headers", "%s",
                CORS_REQUEST_HEADERS);
    api__header(ex, "Access-Control-Max-Age", "%d", CORS_MAX_AGE);
    return true;
}

void api__cors_finish(struct api_exchange *ex)
{
    const struct api_cors *c = &ex->api->cors;

    if (ex->cors_done)
        return;
    ex->cors_done = true;
    /* With a list of origins every answer depends on Origin, also one
     * without CORS headers (another origin, or none): a shared cache must
     * not hand it to a page of a listed origin, nor the reverse. With "*"
     * (or CORS off) it never does. */
    if (!c->any && c->count > 0)
        api__header(ex, "Vary", "Origin");
    if (ex->cors_allow == NULL)
        return;
    api__header(ex, "Access-Control-Allow-Origin", "%s", ex->cors_allow);
    api__header(ex, "Access-Control-Expose-Headers", "%s",
                CORS_EXPOSE_HEADERS);
}
