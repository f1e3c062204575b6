/* problem.c - error responses as RFC 9457 problem details.
 *
 * Every error answer goes through api__fail, which looks the error up in the
 * status table and writes
 *   {"type":"about:blank","title":...,"status":...,"detail":...,"code":...}
 * with the media type application/problem+json. "about:blank" says the
 * status code and our own `code` member carry the meaning; there are no
 * per-problem documentation URIs to dereference.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "internal.h"

static void drop_unkept(struct api_exchange *ex)
{
    struct api_response *r = &ex->resp;
    unsigned n = 0;
    uint32_t keep = ex->keep;

    api__response_reset(ex);
    for (unsigned i = 0; i < API_MAX_HEADERS; i++) {
        if ((keep & (1u << i)) == 0)
            continue;
        if (n != i)
            r->headers[n] = r->headers[i];
        n++;
    }
    r->nheaders = n;
    ex->keep = n > 0 ? (1u << n) - 1 : 0;
}

static void fail_v(struct api_exchange *ex, enum api_err err, json_t *extra,
                   const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static void fail_v(struct api_exchange *ex, enum api_err err, json_t *extra,
                   const char *fmt, va_list ap)
{
    const struct api_status_entry *e = api_status_lookup(err);
    char detail[512];
    json_t *obj;

    if (fmt != NULL) {
        vsnprintf(detail, sizeof(detail), fmt, ap);
    } else if ((int)err > 0 && (int)err < MC_ERR_COUNT) {
        snprintf(detail, sizeof(detail), "%s", mc_strerror((enum mc_err)err));
    } else {
        snprintf(detail, sizeof(detail), "%s", e->title);
    }

    /* An error replaces whatever the handler had prepared for success:
     * its headers and any pinned body. Headers set with api__header_keep
     * (Allow, an ETag for a 412, ...) hold for the error too and stay. */
    drop_unkept(ex);
    ex->resp.status = e->status;
    ex->ready = true;
    ex->wants_body = false;

    /* json_pack's "s" would refuse a detail that is not valid UTF-8 (a
     * client's bytes echoed back), so the detail goes through "s?" with a
     * checked string, falling back to the title. */
    json_t *d = json_string(detail);
    if (d == NULL)
        d = json_string(e->title);
    obj = json_pack("{s:s, s:s, s:I, s:o?, s:s}", "type", "about:blank",
                    "title", e->title, "status", (json_int_t)e->status,
                    "detail", d, "code", e->code);
    /* Descriptors come back as connections close and mappings go: worth
     * retrying soon (api/openapi.yaml, out_of_descriptors). */
    if (err == API_ERR_MC(MC_ENOFD))
        api__header(ex, "Retry-After", "1");
    /* Waiters leave as their mappings change or their waits end; a client
     * that retries after shutdown reaches the next server (README
     * "Watch"). */
    if (err == API_ETOOMANYWAITERS || err == API_ESHUTTINGDOWN)
        api__header(ex, "Retry-After", "1");
    /* The standard members come first and win over extra's. */
    if (obj != NULL && extra != NULL)
        json_object_update_missing(obj, extra);
    json_decref(extra);
    if (obj == NULL)
        return; /* out of memory: the status alone still tells the story */
    api__body_json(ex, "application/problem+json", obj);
}

void api__fail(struct api_exchange *ex, enum api_err err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fail_v(ex, err, NULL, fmt, ap);
    va_end(ap);
}

void api__fail_extra(struct api_exchange *ex, enum api_err err,
                     struct json_t *extra, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fail_v(ex, err, extra, fmt, ap);
    va_end(ap);
}

void api__fail_mc(struct api_exchange *ex, enum mc_err err)
{
    api__fail(ex, API_ERR_MC(err), NULL);
}
