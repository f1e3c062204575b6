/* precond.c - ETags and the conditional request headers (RFC 9110 s. 13).
 *
 * A mapping's ETag is "<boot nonce>-<mapping id>-<generation>", all hex. The
 * core bumps the generation on every write and resize; the mapping id tells
 * apart a mapping deleted and created again under the same name (whose
 * generation restarts); the boot nonce, drawn at random by api_create, does
 * the same across restarts, when ids restart too. So equal ETags mean equal
 * bytes, which is what makes them strong.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

void api__etag(const struct api *api, uint64_t mapping_id, uint64_t generation,
               char out[API_ETAG_MAX])
{
    snprintf(out, API_ETAG_MAX, "\"%08" PRIx32 "-%" PRIx64 "-%" PRIx64 "\"",
             api->boot_nonce, mapping_id, generation);
}

static const char *skip_ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

bool api__etag_list_match(const char *header, const char *etag, bool weak)
{
    const char *p;
    size_t etag_len = strlen(etag);

    if (header == NULL)
        return false;
    p = skip_ows(header);
    if (*p == '*')
        return *skip_ows(p + 1) == '\0';

    /* 1#entity-tag: [ "W/" ] DQUOTE *etagc DQUOTE, comma-separated. */
    for (;;) {
        bool is_weak = false;
        const char *q;

        p = skip_ows(p);
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == '\0')
            return false;
        if (p[0] == 'W' && p[1] == '/') {
            is_weak = true;
            p += 2;
        }
        if (*p != '"')
            return false; /* malformed: matches nothing */
        q = strchr(p + 1, '"');
        if (q == NULL)
            return false;
        /* Weak comparison ignores the W/ prefix; strong comparison needs
         * both tags strong, and ours always are. */
        if (weak || !is_weak) {
            size_t len = (size_t)(q + 1 - p);

            if (len == etag_len && memcmp(p, etag, len) == 0)
                return true;
        }
        p = skip_ows(q + 1);
        if (*p == ',')
            p++;
        else if (*p != '\0')
            return false;
    }
}

bool api__if_range_match(const char *header, const char *etag)
{
    const char *p;
    size_t etag_len = strlen(etag);
    size_t len;

    if (header == NULL)
        return false;
    /* An HTTP-date never matches: we keep no Last-Modified validator that
     * is strong enough (RFC 9110 section 13.1.5 asks for a strong one). A
     * weak tag never matches either, since If-Range compares strongly. */
    p = skip_ows(header);
    len = strlen(p);
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
        len--;
    return len == etag_len && memcmp(p, etag, len) == 0;
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

bool api__not_modified_since(const struct api_request *req,
                             int64_t modified_ms)
{
    int64_t since;

    if (req->header(req->conn, "If-None-Match") != NULL)
        return false;
    return condition_date(req, "If-Modified-Since", &since) &&
           modified_s(modified_ms) <= since;
}

bool api__unmodified_since_fails(const struct api_request *req,
                                 int64_t modified_ms)
{
    int64_t since;

    if (req->header(req->conn, "If-Match") != NULL)
        return false;
    return condition_date(req, "If-Unmodified-Since", &since) &&
           modified_s(modified_ms) > since;
}

bool api__check_if_match(struct api_exchange *ex, const struct api_request *req)
{
    const char *hdr = req->header(req->conn, "If-Match");
    const char *inm = req->header(req->conn, "If-None-Match");
    /* Section 13.1.4: ignored when If-Match is present, or malformed. */
    int64_t since = 0;
    bool ius = hdr == NULL &&
               condition_date(req, "If-Unmodified-Since", &since);
    struct mc_mapping *m = NULL;
    char etag[API_ETAG_MAX];
    int64_t modified;
    uint64_t id;
    uint64_t gen;
    enum mc_err rc;

    if (hdr == NULL && inm == NULL && !ius)
        return true;
    rc = mc_catalog_get(ex->api->cat, ex->name, &m);
    if (rc == MC_ENOTFOUND) {
        /* RFC 9110 section 13.1.1: If-Match fails without a current
         * representation, even for "*". If-None-Match alone holds then,
         * and the handler answers 404 for the missing mapping itself; so
         * does a date, which has nothing to compare with. */
        if (hdr == NULL)
            return true;
        api__fail(ex, API_EPRECONDITION, "If-Match: no such mapping");
        return false;
    }
    if (rc != MC_OK) {
        api__fail_mc(ex, rc);
        return false;
    }
    id = mc_mapping_id(m);
    gen = mc_mapping_generation(m);
    modified = mc_mapping_modified_ms(m);
    api__etag(ex->api, id, gen, etag);
    mc_mapping_unref(m);
    if (ius && modified_s(modified) > since) {
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
    if (ius)
        hdr = etag;
    /* Section 13.2.2: If-Match first (strong), then If-None-Match (weak),
     * which on a method other than GET and HEAD fails with 412 when it
     * matches, "*" matching any current representation. */
    if (hdr != NULL && !api__etag_list_match(hdr, etag, false)) {
        api__fail(ex, API_EPRECONDITION, "If-Match: the ETag is now %s", etag);
        api__header(ex, "ETag", "%s", etag);
        return false;
    }
    if (inm != NULL && api__etag_list_match(inm, etag, true)) {
        api__fail(ex, API_EPRECONDITION, "If-None-Match: the ETag is %s",
                  etag);
        api__header(ex, "ETag", "%s", etag);
        return false;
    }
    /* Both held for this generation; the write tests them again against
     * the generation it finds under its lock. Two clients holding one ETag
     * both pass here; only the first write may land. */
    ex->cond_armed = true;
    ex->cond_id = id;
    if ((hdr != NULL && (ex->cond_if_match = strdup(hdr)) == NULL) ||
        (inm != NULL && (ex->cond_if_none_match = strdup(inm)) == NULL)) {
        api__fail(ex, API_EINTERNAL, "out of memory");
        return false;
    }
    return true;
}

/* mc_generation_test for api__write_checked: the conditions of the
 * exchange, evaluated as api__check_if_match did, for generation. */
static bool conditions_hold(const void *cls, uint64_t generation)
{
    const struct api_exchange *ex = cls;
    char etag[API_ETAG_MAX];

    api__etag(ex->api, ex->cond_id, generation, etag);
    if (ex->cond_if_match != NULL &&
        !api__etag_list_match(ex->cond_if_match, etag, false))
        return false;
    return ex->cond_if_none_match == NULL ||
           !api__etag_list_match(ex->cond_if_none_match, etag, true);
}

enum mc_err api__write_checked(struct api_exchange *ex, struct mc_mapping *m,
                               const struct mc_range *r, size_t n,
                               const void *const src[], uint64_t *gen)
{
    enum mc_err rc;

    if (!ex->cond_armed)
        return mc_mapping_writev_gen(m, r, n, src, gen);
    /* Deleted and created again since the headers: another mapping. */
    if (mc_mapping_id(m) != ex->cond_id)
        return MC_EPRECONDITION;
    rc = mc_mapping_writev_if(m, r, n, src, conditions_hold, ex, gen);
    if (rc == MC_OK)
        ex->cond_armed = false;
    return rc;
}

void api__conditions_free(struct api_exchange *ex)
{
    free(ex->cond_if_match);
    free(ex->cond_if_none_match);
    ex->cond_if_match = ex->cond_if_none_match = NULL;
}

void api__fail_write(struct api_exchange *ex, struct mc_mapping *m,
                     enum mc_err err)
{
    char etag[API_ETAG_MAX];

    api__fail_mc(ex, err);
    if (err == MC_EPRECONDITION) {
        api__etag(ex->api, mc_mapping_id(m), mc_mapping_generation(m), etag);
        api__header(ex, "ETag", "%s", etag);
    }
}
