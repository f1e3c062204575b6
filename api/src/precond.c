/* precond.c - ETags and the conditional request headers (RFC 9110 s. 13).
 *
 * A mapping's ETag is "<boot nonce>-<mapping id>-<generation>", all hex. The
 * core bumps the generation on every write and resize; the mapping id tells
 * apart a mapping deleted and created again under the same name (whose
 * generation restarts); the boot nonce, drawn at random by api_create, does
 * the same across restarts, when ids restart too. So equal ETags mean equal
 * bytes, which is what makes them strong.
 *
 * If-Match, If-None-Match, If-Range, If-Modified-Since and
 * If-Unmodified-Since are parsed once, when the headers arrive and before
 * any lock is taken (api__conditions_parse, with the parsers of etag.c and
 * httpdate.c), into the (id, generation) pairs of ours they name and into
 * seconds.
 * What runs later under a mapping's exclusive lock (conditions_hold) only
 * compares integers, so a long header list never stalls that mapping's
 * readers.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* v in lowercase hex at p, at least width digits (zero-padded); returns
 * the end. */
static char *hex(char *p, uint64_t v, int width)
{
    static const char digit[] = "0123456789abcdef";
    int n = 1;

    while (n < 16 && (v >> (4 * n)) != 0)
        n++;
    if (n < width)
        n = width;
    for (int i = n - 1; i >= 0; i--)
        *p++ = digit[(v >> (4 * i)) & 15];
    return p;
}

/* Formatted by hand, not with snprintf: every GET sends one (see
 * bench/RESULTS.md, "Issue 15, step by step"). What the format
 * "\"%08x-%llx-%llx\"" gives; at most 2 + 8 + 2 * 17 + 1 bytes, within
 * API_ETAG_MAX. */
void api__etag(const struct api *api, uint64_t mapping_id, uint64_t generation,
               char out[API_ETAG_MAX])
{
    char *p = out;

    _Static_assert(API_ETAG_MAX >= 2 + 8 + 2 * 17 + 1, "ETag buffer too small");
    *p++ = '"';
    p = hex(p, api->boot_nonce, 8);
    *p++ = '-';
    p = hex(p, mapping_id, 1);
    *p++ = '-';
    p = hex(p, generation, 1);
    *p++ = '"';
    *p = '\0';
}

/* Parse one list header into l; false when out of memory. */
static bool etags_parse(struct api_etags *l, const char *header,
                        uint32_t nonce, bool weak)
{
    size_t cap = sizeof(l->small) / sizeof(l->small[0]);

    l->v = l->small;
    l->present = header != NULL;
    if (header == NULL)
        return true;
    l->any = api_etag_list_parse(header, nonce, weak, l->v, cap, &l->n);
    if (l->n <= cap)
        return true;
    /* More of our tags than fit inline (a client's choice): count, then
     * parse again into room for all of them. */
    l->v = malloc(l->n * sizeof(*l->v));
    if (l->v == NULL) {
        l->v = l->small;
        l->n = 0;
        return false;
    }
    cap = l->n;
    (void)api_etag_list_parse(header, nonce, weak, l->v, cap, &l->n);
    return true;
}

/* Last-Modified has whole seconds: the second a change fell in. */
static int64_t modified_s(int64_t modified_ms)
{
    return modified_ms >= 0 ? modified_ms / 1000 : (modified_ms - 999) / 1000;
}

/* A conditional date header of req, parsed; false when absent, malformed
 * or later than now (section 13.1.3 and 13.1.4 ignore those). */
static bool condition_date(const struct api_request *req, const char *name,
                           int64_t *out)
{
    const char *v = req->header(req->conn, name);

    return v != NULL && api_parse_http_date(v, out) && *out <= time(NULL);
}

bool api__conditions_parse(struct api_exchange *ex,
                           const struct api_request *req)
{
    struct api_cond *c = &ex->cond;
    uint32_t nonce = ex->api->boot_nonce;
    bool safe = ex->method == API_METHOD_GET || ex->method == API_METHOD_HEAD;
    /* If-Range and If-Modified-Since apply to GET and HEAD only (RFC 9110
     * sections 13.1.3 and 13.1.5); a write need not look for them. */
    const char *ir = safe ? req->header(req->conn, "If-Range") : NULL;

    c->has_ims = safe && condition_date(req, "If-Modified-Since", &c->ims);
    c->has_ius = condition_date(req, "If-Unmodified-Since", &c->ius);

    if (!etags_parse(&c->if_match, req->header(req->conn, "If-Match"), nonce,
                     false) ||
        !etags_parse(&c->if_none_match,
                     req->header(req->conn, "If-None-Match"), nonce, true)) {
        api__fail(ex, API_EINTERNAL, "out of memory");
        return false;
    }
    c->has_if_range = ir != NULL;
    c->if_range_ours = api_if_range_parse(ir, nonce, &c->if_range);
    return true;
}

bool api__etags_match(const struct api_etags *l, uint64_t id, uint64_t gen)
{
    if (l->any)
        return true;
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i].id == id && l->v[i].gen == gen)
            return true;
    }
    return false;
}

void api__validators(struct api_exchange *ex, const char *etag,
                     int64_t modified_ms)
{
    char date[API_HTTP_DATE_LEN];

    if (etag != NULL)
        api__header(ex, "ETag", "%s", etag);
    api_format_http_date(modified_s(modified_ms), date);
    api__header(ex, "Last-Modified", "%s", date);
    api__header(ex, "Cache-Control", "no-cache");
}

bool api__not_modified_since(const struct api_exchange *ex,
                             int64_t modified_ms)
{
    const struct api_cond *c = &ex->cond;

    return !c->if_none_match.present && c->has_ims &&
           modified_s(modified_ms) <= c->ims;
}

bool api__unmodified_since_fails(const struct api_exchange *ex,
                                 int64_t modified_ms)
{
    const struct api_cond *c = &ex->cond;

    return !c->if_match.present && c->has_ius &&
           modified_s(modified_ms) > c->ius;
}

bool api__if_range_holds(const struct api_exchange *ex, uint64_t id,
                         uint64_t gen)
{
    /* An HTTP-date never matches: we keep no Last-Modified validator that
     * is strong enough (RFC 9110 section 13.1.5 asks for a strong one). A
     * weak tag never matches either, since If-Range compares strongly. */
    return ex->cond.if_range_ours && ex->cond.if_range.id == id &&
           ex->cond.if_range.gen == gen;
}

/* Section 13.2.2: If-Match first (strong), then If-None-Match (weak),
 * which on a method other than GET and HEAD fails when it matches, "*"
 * matching any current representation. */
static bool conditions_hold_for(const struct api_cond *c, uint64_t id,
                                uint64_t gen)
{
    if (c->if_match.present && !api__etags_match(&c->if_match, id, gen))
        return false;
    return !c->if_none_match.present ||
           !api__etags_match(&c->if_none_match, id, gen);
}

bool api__check_if_match(struct api_exchange *ex)
{
    struct api_cond *c = &ex->cond;
    /* Section 13.1.4: If-Unmodified-Since is ignored when If-Match is
     * present (or when it was malformed: then has_ius is false). */
    bool ius = !c->if_match.present && c->has_ius;
    char etag[API_ETAG_MAX];
    int64_t modified;
    uint64_t id;
    uint64_t gen;

    if (!c->if_match.present && !c->if_none_match.present && !ius)
        return true;
    if (ex->map_rc == MC_ENOTFOUND) {
        /* RFC 9110 section 13.1.1: If-Match fails without a current
         * representation, even for "*". If-None-Match alone holds then,
         * and the handler answers 404 for the missing mapping itself; so
         * does a date, which has nothing to compare with. */
        if (!c->if_match.present)
            return true;
        api__fail(ex, API_EPRECONDITION, "If-Match: no such mapping");
        return false;
    }
    if (!api__need_map(ex))
        return false;
    id = mc_mapping_id(ex->map);
    gen = mc_mapping_generation(ex->map);
    modified = mc_mapping_modified_ms(ex->map);
    api__etag(ex->api, id, gen, etag);
    if (ius && modified_s(modified) > c->ius) {
        char date[API_HTTP_DATE_LEN];

        api_format_http_date(modified_s(modified), date);
        api__fail(ex, API_EPRECONDITION,
                  "If-Unmodified-Since: the mapping changed at %s", date);
        api__validators(ex, etag, modified);
        return false;
    }
    /* A date that held is armed as If-Match on this generation, so the
     * write tests it atomically too: a change between now and the write
     * fails it (stricter than the date by at most that change, which
     * happened after the client looked). */
    if (ius) {
        c->if_match.present = true;
        c->if_match.any = false;
        c->if_match.v = c->if_match.small;
        c->if_match.v[0].id = id;
        c->if_match.v[0].gen = gen;
        c->if_match.n = 1;
    }
    if (c->if_match.present && !api__etags_match(&c->if_match, id, gen)) {
        api__fail(ex, API_EPRECONDITION, "If-Match: the ETag is now %s", etag);
        api__header_keep(ex, "ETag", "%s", etag);
        return false;
    }
    if (c->if_none_match.present &&
        api__etags_match(&c->if_none_match, id, gen)) {
        api__fail(ex, API_EPRECONDITION, "If-None-Match: the ETag is %s",
                  etag);
        api__header_keep(ex, "ETag", "%s", etag);
        return false;
    }
    /* All held for this generation; the write tests If-Match and
     * If-None-Match again against the generation it finds under its lock.
     * Two clients holding one ETag both pass here; only the first write
     * may land. */
    c->armed = true;
    return true;
}

/* mc_generation_test for api__write_checked, under the mapping's lock:
 * integer comparisons only. */
static bool conditions_hold(const void *cls, uint64_t generation)
{
    const struct api_exchange *ex = cls;

    return conditions_hold_for(&ex->cond, mc_mapping_id(ex->map), generation);
}

enum mc_err api__write_checked(struct api_exchange *ex,
                               const struct mc_range *r, size_t n,
                               const void *const src[], uint64_t *gen)
{
    enum mc_err rc;

    if (!ex->cond.armed)
        return mc_mapping_writev_gen(ex->map, r, n, src, gen);
    rc = mc_mapping_writev_if(ex->map, r, n, src, conditions_hold, ex, gen);
    if (rc == MC_OK)
        ex->cond.armed = false;
    return rc;
}

enum mc_err api__words_checked(struct api_exchange *ex, struct mc_word *w,
                               size_t n, struct mc_words_result *res)
{
    return mc_mapping_words(ex->map, w, n,
                            ex->cond.armed ? conditions_hold : NULL, ex, res);
}

void api__conditions_free(struct api_exchange *ex)
{
    struct api_cond *c = &ex->cond;

    if (c->if_match.v != c->if_match.small)
        free(c->if_match.v);
    if (c->if_none_match.v != c->if_none_match.small)
        free(c->if_none_match.v);
    c->if_match.v = c->if_none_match.v = NULL;
}

void api__fail_write(struct api_exchange *ex, enum mc_err err)
{
    char etag[API_ETAG_MAX];

    api__fail_mc(ex, err);
    if (err == MC_EPRECONDITION) {
        api__etag(ex->api, mc_mapping_id(ex->map),
                  mc_mapping_generation(ex->map), etag);
        api__header_keep(ex, "ETag", "%s", etag);
    }
}
