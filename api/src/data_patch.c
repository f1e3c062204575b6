/* data_patch.c - PATCH /v1/maps/{name}/data: byte-range patches.
 *
 * The body is message/byterange (one range: a header block with
 * Content-Range, a blank line, the bytes) or multipart/byteranges (several
 * such parts). Every PATCH is all-or-nothing: the body is held whole, every
 * part is parsed and checked against the mapping first, and then all parts
 * are written with one mc_mapping_writev, which holds all their ranges
 * exclusively at once. So a reader sees all parts or none, and a request
 * that breaks off or fails a check changes nothing.
 *
 * Holding the body bounds it: at most the atomic-write limit plus
 * API_PATCH_OVERHEAD for the part headers (and never more than max_body),
 * charged to the request-body budget (bodymem.h: 503 when it is spent);
 * past that the answer is 413 and writes that large go through PUT, which
 * streams. Parts may overlap; they are applied in order, so a later part
 * wins. At most max(max_ranges, 1) parts are accepted (413 past that).
 *
 * As for PUT, what the headers decide is decided before the body is read,
 * so an "Expect: 100-continue" client learns about 415, 413, 404, 403 and
 * 412 without sending the body.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Room for the part headers of a multipart body beyond its bytes. */
#define API_PATCH_OVERHEAD ((uint64_t)64 * 1024)

/* The state of one PATCH: the body, held whole. */
struct patch_state {
    char *buf;
    size_t buf_len;
    size_t buf_cap;
    bool multipart; /* else message/byterange */
    char boundary[72];
    struct api_write_track track;
};

static uint64_t patch_cap(const struct api *api)
{
    uint64_t cap = api->atomic_write_max + API_PATCH_OVERHEAD;

    return cap < api->max_body ? cap : api->max_body;
}

static void patch_start(struct api_exchange *ex,
                        const struct api_request *req)
{
    struct patch_state *p = api__state(ex);
    const char *cl_hdr = req->header(req->conn, "Content-Length");
    enum api_patch_type type;
    uint64_t cl = 0;

    if (req->header(req->conn, "Content-Encoding") != NULL) {
        api__fail(ex, API_EMEDIA, "mapping data is written unencoded");
        return;
    }
    type = api_patch_type_parse(req->header(req->conn, "Content-Type"),
                                p->boundary, sizeof(p->boundary));
    if (type == API_PATCH_TYPE_UNKNOWN) {
        api__fail(ex, API_EMEDIA,
                  "PATCH takes message/byterange or multipart/byteranges "
                  "with a boundary");
        return;
    }
    p->multipart = type == API_PATCH_TYPE_MULTIPART;
    if (cl_hdr != NULL && !api_parse_u64(cl_hdr, &cl)) {
        api__fail_mc(ex, MC_EINVAL);
        return;
    }
    if (!api__write_need_map(ex))
        return;
    if (cl > patch_cap(ex->api)) {
        api__fail(ex, API_EBODYTOOBIG,
                  "PATCH bodies are at most %" PRIu64
                  " bytes (use PUT for larger writes)",
                  patch_cap(ex->api));
        return;
    }
    if (!api__write_allowed(ex))
        return;
    /* A known length is charged before the body is read (bodymem.h). */
    if (cl > 0 && !api__bodymem_reserve(ex, cl))
        return;
    ex->wants_body = true;
}

static void patch_body(struct api_exchange *ex, const void *data, size_t len)
{
    struct patch_state *p = api__state(ex);
    uint64_t cap = patch_cap(ex->api);
    size_t need;

    if (len > cap || p->buf_len > cap - len) {
        api__fail(ex, API_EBODYTOOBIG,
                  "PATCH bodies are at most %" PRIu64
                  " bytes (use PUT for larger writes)",
                  cap);
        return;
    }
    need = p->buf_len + len;
    if (need > p->buf_cap) {
        /* Doubling, capped at the limit: client input never grows the
         * buffer past it. */
        size_t ncap = p->buf_cap ? p->buf_cap * 2 : 64 * 1024;
        char *grown;

        if (ncap < need)
            ncap = need;
        if (ncap > cap)
            ncap = (size_t)cap;
        if (!api__bodymem_reserve(ex, ncap))
            return;
        grown = realloc(p->buf, ncap);
        if (grown == NULL) {
            api__fail(ex, API_EINTERNAL, "out of memory");
            return;
        }
        p->buf = grown;
        p->buf_cap = ncap;
    }
    memcpy(p->buf + p->buf_len, data, len);
    p->buf_len = need;
}

/* Parse the held body into parts (a new array in *out); false after
 * answering. */
static bool patch_parts(struct api_exchange *ex, struct api_patch_part **out,
                        size_t *n)
{
    struct patch_state *p = api__state(ex);
    size_t max = ex->api->max_ranges > 0 ? ex->api->max_ranges : 1;
    const char *body = p->buf != NULL ? p->buf : "";
    enum api_patch_result res;

    *out = calloc(max, sizeof(**out));
    if (*out == NULL) {
        api__fail(ex, API_EINTERNAL, "out of memory");
        return false;
    }
    if (p->multipart) {
        res = api_multipart_parse(body, p->buf_len, p->boundary, *out, max, n);
    } else {
        res = api_byterange_parse(body, p->buf_len, *out);
        *n = 1;
    }
    switch (res) {
    case API_PATCH_OK:
        return true;
    case API_PATCH_LENGTH:
        api__fail(ex, API_ELENGTH,
                  "a part's bytes differ in length from its Content-Range");
        break;
    case API_PATCH_TOO_MANY:
        api__fail(ex, API_EBODYTOOBIG, "at most %zu parts per PATCH", max);
        break;
    case API_PATCH_MALFORMED:
    default:
        api__fail(ex, API_ERANGEHDR,
                  "each part needs one Content-Range: bytes FIRST-LAST/* "
                  "(or /SIZE), optionally Content-Type and Content-Length, "
                  "a blank line, then the bytes");
        break;
    }
    free(*out);
    *out = NULL;
    return false;
}

static void patch_end(struct api_exchange *ex)
{
    struct patch_state *p = api__state(ex);
    struct api_patch_part *parts = NULL;
    struct mc_range *r = NULL;
    const void **src = NULL;
    size_t n = 0;
    uint64_t size;
    uint64_t lo = UINT64_MAX;
    uint64_t hi = 0;
    uint64_t gen = 0;
    enum mc_err rc;

    if (!patch_parts(ex, &parts, &n))
        return;
    r = calloc(n, sizeof(*r));
    src = calloc(n, sizeof(*src));
    if (r == NULL || src == NULL) {
        api__fail(ex, API_EINTERNAL, "out of memory");
        goto out;
    }
    /* Every part is checked before anything is written. */
    size = mc_mapping_size(ex->map);
    for (size_t i = 0; i < n; i++) {
        if (parts[i].has_total && parts[i].total != size) {
            api__fail(ex, API_ERR_MC(MC_ERANGE),
                      "part %zu: Content-Range gives the size %" PRIu64
                      " but the mapping has %" PRIu64 " bytes",
                      i + 1, parts[i].total, size);
            api__header(ex, "Content-Range", "bytes */%" PRIu64, size);
            goto out;
        }
        if (parts[i].last >= size) {
            api__fail(ex, API_ERR_MC(MC_ERANGE),
                      "part %zu lies outside the mapping's %" PRIu64
                      " bytes (resize it with PATCH first)",
                      i + 1, size);
            api__header_keep(ex, "Content-Range", "bytes */%" PRIu64, size);
            goto out;
        }
        r[i].off = parts[i].first;
        r[i].len = parts[i].data_len;
        src[i] = parts[i].data;
        lo = parts[i].first < lo ? parts[i].first : lo;
        hi = parts[i].last > hi ? parts[i].last : hi;
    }
    /* A shrink since the check makes this MC_ERANGE, writing nothing. */
    rc = api__write_checked(ex, r, n, src, &gen);
    if (rc != MC_OK) {
        api__fail_write(ex, rc);
        goto out;
    }
    p->track.written = true;
    api__write_acknowledge(ex, &p->track, lo, hi - lo + 1, gen);
out:
    free(parts);
    free(r);
    free(src);
}

static void patch_free(struct api_exchange *ex, bool completed)
{
    struct patch_state *p = api__state(ex);

    api__write_track_free(ex, &p->track, completed);
    free(p->buf);
    p->buf = NULL;
}

const struct api_handler api__op_data_patch = {
    sizeof(struct patch_state), patch_start, patch_body, patch_end,
    patch_free,
};
