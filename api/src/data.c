/* data.c - GET and HEAD of /v1/maps/{name}/data: whole, ?offset&length,
 * and Range (single part or multipart/byteranges).
 *
 * Precedence: the conditions in RFC 9110 section 13.2.2's order
 * (If-Unmodified-Since 412; If-None-Match, or without it If-Modified-Since,
 * 304), then, where API.md leaves it open, the query form, which wins over a Range header because a client that
 * spells out ?offset= asked for exactly those bytes, then Range (subject to
 * If-Range). A malformed Range, or one with more parts than max_ranges, is
 * ignored and the whole mapping is sent, as RFC 9110 allows and nginx does.
 *
 * An answer is planned against one state of the mapping (size, ETag); a
 * resize between that state and the bytes makes the plan stale, and it is
 * made again, so a GET is never 416 for a size it did not see. A resize
 * later, while the body streams, cuts the connection (body.c).
 *
 * Want-Content-Digest: sha-256 (or sha-512) adds Content-Digest of the
 * bytes sent (digest.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"


/* Room for one part header: the fixed text plus a 16-digit boundary and
 * three 20-digit numbers, with slack. */
#define PART_HEADER_MAX (160 + MC_CONTENT_TYPE_MAX)

/* How many times a GET plans again when a resize made its plan stale. */
#define GET_ROUNDS 8

static bool plan_single(struct api_plan *plan, uint64_t off, uint64_t len)
{
    plan->seg = calloc(1, sizeof(*plan->seg));
    if (plan->seg == NULL)
        return false;
    plan->nseg = 1;
    plan->seg[0].off = off;
    plan->seg[0].len = len;
    plan->total = len;
    return true;
}

/* The multipart/byteranges body of RFC 9110 section 14.6: each part is
 * "\r\n--B\r\n" + its headers + "\r\n\r\n" + bytes, and "\r\n--B--\r\n"
 * closes it. The text lives in one buffer; the bytes stay in the mapping. */
static bool plan_multipart(struct api_plan *plan, const struct api_range *r,
                           size_t n, uint64_t size, const char *boundary,
                           const char *type)
{
    size_t cap = n * PART_HEADER_MAX + PART_HEADER_MAX;
    size_t used = 0;
    size_t k = 0;
    uint64_t pos = 0;

    plan->seg = calloc(2 * n + 1, sizeof(*plan->seg));
    plan->text = malloc(cap);
    if (plan->seg == NULL || plan->text == NULL)
        return false;
    for (size_t i = 0; i <= n; i++) {
        char *t = plan->text + used;
        int w;
        uint64_t len;

        if (i < n)
            w = snprintf(t, cap - used,
                         "\r\n--%s\r\nContent-Type: %s"
                         "\r\nContent-Range: bytes %" PRIu64 "-%" PRIu64
                         "/%" PRIu64 "\r\n\r\n",
                         boundary, type, r[i].first, r[i].last, size);
        else
            w = snprintf(t, cap - used, "\r\n--%s--\r\n", boundary);
        if (w < 0 || (size_t)w >= cap - used)
            return false;
        used += (size_t)w;
        plan->seg[k].text = t;
        plan->seg[k].len = (uint64_t)w;
        plan->seg[k].pos = pos;
        pos += (uint64_t)w;
        k++;
        if (i == n)
            break;
        /* last < size <= 2^64-1, so last - first + 1 cannot overflow; the
         * running total can, in principle, and is checked. */
        len = r[i].last - r[i].first + 1;
        plan->seg[k].off = r[i].first;
        plan->seg[k].len = len;
        plan->seg[k].pos = pos;
        if (__builtin_add_overflow(pos, len, &pos))
            return false;
        k++;
    }
    plan->nseg = k;
    plan->total = pos;
    return true;
}

/* Parse ?offset= and ?length= into [*off, *off + *len). Returns false after
 * answering 400 or 416. */
static bool query_window(struct api_exchange *ex, const char *qo,
                         const char *ql, uint64_t size, uint64_t *off,
                         uint64_t *len)
{
    uint64_t end;

    *off = 0;
    if (qo != NULL && !api_parse_u64(qo, off)) {
        api__fail(ex, API_EQUERY, "offset must be a decimal integer");
        return false;
    }
    if (ql != NULL && !api_parse_u64(ql, len)) {
        api__fail(ex, API_EQUERY, "length must be a decimal integer");
        return false;
    }
    if (*off > size)
        goto out_of_bounds;
    if (ql == NULL)
        *len = size - *off;
    if (__builtin_add_overflow(*off, *len, &end) || end > size)
        goto out_of_bounds;
    return true;

out_of_bounds:
    api__fail(ex, API_ERR_MC(MC_ERANGE),
              "the window lies outside the mapping's %" PRIu64 " bytes", size);
    api__header_keep(ex, "Content-Range", "bytes */%" PRIu64, size);
    return false;
}

/* Decide what the Range header asks for. Returns false after answering
 * 416 or 500; otherwise *n is 0 for "send everything". */
static bool range_window(struct api_exchange *ex, const char *range,
                         uint64_t size, struct api_range **out, size_t *n)
{
    size_t max = ex->api->max_ranges;
    struct api_range *r;
    enum api_range_result res;

    *n = 0;
    *out = NULL;
    r = calloc(max > 0 ? max : 1, sizeof(*r));
    if (r == NULL) {
        api__fail(ex, API_EINTERNAL, "out of memory");
        return false;
    }
    res = api_range_parse(range, size, r, max, n);
    if (res == API_RANGE_UNSATISFIABLE) {
        free(r);
        api__fail(ex, API_ERR_MC(MC_ERANGE),
                  "no range lies inside the mapping's %" PRIu64 " bytes", size);
        api__header_keep(ex, "Content-Range", "bytes */%" PRIu64, size);
        return false;
    }
    if (res != API_RANGE_OK) {
        free(r);
        *n = 0;
        return true;
    }
    *n = api_ranges_coalesce(r, *n);
    *out = r;
    return true;
}

/* "Content-Range: bytes FIRST-LAST/SIZE" of a single-range answer, built
 * without printf: every ranged GET sends it (bench/RESULTS.md, "Issue 15,
 * step by step"). */
static void content_range(struct api_exchange *ex, uint64_t first,
                          uint64_t last, uint64_t size)
{
    char v[6 + 3 * API_U64_DEC_MAX];
    size_t n = 6;

    memcpy(v, "bytes ", 6);
    n += api_format_u64(first, v + n);
    v[n++] = '-';
    n += api_format_u64(last, v + n);
    v[n++] = '/';
    api_format_u64(size, v + n);
    api__header(ex, "Content-Range", "%s", v);
}

/* Plan and build one answer from one state of m. Returns true when a
 * resize ran between the state and the bytes (the answer installed then is
 * stale, and the caller plans again); false once ex holds the answer. */
static bool get_once(struct api_exchange *ex, const struct api_request *req,
                     struct mc_mapping *m)
{
    struct mc_state info;
    char etag[API_ETAG_MAX];
    struct api_plan plan = {0};
    struct api_range *ranges = NULL;
    size_t nranges = 0;
    const char *qo = req->query(req->conn, "offset");
    const char *ql = req->query(req->conn, "length");
    const char *range = req->header(req->conn, "Range");
    const char *want = req->header(req->conn, "Want-Content-Digest");
    enum api_digest_alg alg;
    enum api_success status = API_S_OK;
    int64_t modified;
    bool stale = false;
    enum mc_err rc;
    bool ok;

    /* One snapshot, so the ETag names the size we resolve ranges against.
     * The time is read after it: a change in between only makes the date
     * later, so a date condition errs towards sending the bytes. */
    mc_mapping_state(m, &info);
    modified = mc_mapping_modified_ms(m);
    if (info.damaged) {
        api__fail_mc(ex, MC_EDAMAGED);
        goto out;
    }
    api__etag(ex->api, mc_mapping_id(m), info.generation, etag);

    /* RFC 9110 section 13.2.2's order: If-Unmodified-Since (no If-Match is
     * honoured on reads), then If-None-Match, else If-Modified-Since. */
    if (api__unmodified_since_fails(ex, modified)) {
        api__fail(ex, API_EPRECONDITION,
                  "If-Unmodified-Since: the mapping changed since");
        api__validators(ex, etag, modified);
        goto out;
    }
    if (api__etags_match(&ex->cond.if_none_match, mc_mapping_id(m),
                         info.generation)) {
        api__respond(ex, API_S_NOT_MODIFIED);
        api__validators(ex, etag, modified);
        api__watch_offer(ex, req, info.generation);
        goto out;
    }
    if (api__not_modified_since(ex, modified)) {
        api__respond(ex, API_S_NOT_MODIFIED);
        api__validators(ex, etag, modified);
        goto out;
    }

    if (qo != NULL || ql != NULL) {
        uint64_t off = 0;
        uint64_t len = 0;

        if (!query_window(ex, qo, ql, info.size, &off, &len))
            goto out;
        ok = plan_single(&plan, off, len);
    } else {
        if (range != NULL && ex->cond.has_if_range &&
            !api__if_range_holds(ex, mc_mapping_id(m), info.generation))
            range = NULL;
        if (range != NULL &&
            !range_window(ex, range, info.size, &ranges, &nranges))
            goto out;
        if (nranges == 0) {
            ok = plan_single(&plan, 0, info.size);
        } else if (nranges == 1) {
            status = API_S_PARTIAL;
            content_range(ex, ranges[0].first, ranges[0].last, info.size);
            ok = plan_single(&plan, ranges[0].first,
                             ranges[0].last - ranges[0].first + 1);
        } else {
            unsigned char rnd[8];
            char boundary[17];

            /* A fresh boundary per response: the bytes of a mapping are
             * arbitrary, and a fixed boundary could occur inside them. */
            api__random(rnd, sizeof(rnd));
            for (size_t i = 0; i < sizeof(rnd); i++)
                snprintf(boundary + 2 * i, 3, "%02x", rnd[i]);
            status = API_S_PARTIAL;
            api__content_type(ex, "multipart/byteranges; boundary=%s",
                              boundary);
            /* Each part says what its bytes are, as a whole answer would
             * (RFC 9110 section 14.6). */
            char type[MC_CONTENT_TYPE_MAX + 1];

            mc_mapping_content_type(m, type);
            ok = plan_multipart(&plan, ranges, nranges, info.size, boundary,
                                type);
        }
    }
    if (!ok) {
        api__plan_free(&plan);
        api__fail(ex, API_EINTERNAL, "out of memory");
        goto out;
    }

    api__validators(ex, etag, modified);
    api__header(ex, "Accept-Ranges", "bytes");
    rc = api__body_from_plan(ex, m, &plan, info.resize_seq);
    /* Want-Content-Digest (RFC 9530 section 4): the digest of the bytes
     * this answer sends, whole, one range or multipart alike. HEAD sends
     * none, so it is not read twice for a digest of nothing. */
    if (rc == MC_OK && ex->method == API_METHOD_GET && want != NULL &&
        api_want_digest_parse(want, &alg))
        rc = api__digest_response(ex, alg);
    /* The plan's size is the state's; bytes read (or views pinned) after a
     * resize began belong to another. Then plan again, rather than answer
     * 416 for a size the client never asked about or send a mix. */
    if (mc_mapping_resize_seq(m) != info.resize_seq) {
        stale = true;
        goto out;
    }
    if (rc != MC_OK) {
        api__fail_mc(ex, rc);
        goto out;
    }
    if (nranges <= 1)
        api__bytes_content_type(ex, m);
    api__respond(ex, status);
out:
    free(ranges);
    return stale;
}

static void data_get(struct api_exchange *ex, const struct api_request *req)
{
    struct mc_mapping *m;

    if (!api__need_map(ex))
        return;
    m = ex->map;
    /* Each round waits for the resize that made the last one stale (see
     * mc_mapping_state), so only resizes that keep starting in the few
     * microseconds of planning exhaust the rounds. */
    for (unsigned round = 0;; round++) {
        if (!get_once(ex, req, m))
            break;
        if (round + 1 == GET_ROUNDS) {
            api__fail(ex, API_ENOTREADY,
                      "the mapping was resized %u times while this answer "
                      "was made; retry",
                      GET_ROUNDS);
            break;
        }
        api__response_reset(ex);
    }
    api__bytes_guard(ex);
}

const struct api_handler api__op_data_get = {0, data_get, NULL, NULL, NULL};
