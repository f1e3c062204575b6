/* data_put.c - PUT /v1/maps/{name}/data: write a body at an offset.
 *
 * Everything that can be decided from the headers is decided in
 * api__data_put_start, before a byte of body is read, so the server can
 * answer an "Expect: 100-continue" request without receiving the body:
 * 415 for an encoded body, 400 for a malformed Content-Range or ?offset,
 * 413 past max_body, 400 when Content-Length disagrees with the range, 416
 * past the end, 403 for a read-only mapping and 412 for a stale If-Match.
 *
 * Bodies up to the atomic-write limit are held (in a buffer no larger than
 * that limit, charged to the request-body budget of bodymem.h: 503 when it
 * is spent) and applied with one write at the end, so a request that
 * breaks off changes nothing; a matched If-Match is checked again atomically
 * with that write (api__write_checked), and for streamed bodies with the
 * first chunk only. Longer bodies stream into the mapping
 * chunk by chunk at the running offset and are never held whole; if such a
 * request breaks off, a prefix may have been written, and it is reported as
 * an unacknowledged write in the metrics.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The state of one PUT, between the headers and the end. */
struct put_state {
    uint64_t first; /* where the body goes */
    uint64_t end;   /* one past the last byte it may touch */
    bool end_exact; /* end comes from Content-Range/Length: the body
                     * must fill it; else end is the mapping's end */
    uint64_t received; /* body bytes so far */
    char *buf;         /* small bodies, held to be applied at once */
    size_t buf_len;
    size_t buf_cap;
    bool streaming; /* gave up buffering: written as it arrives */
    struct api_write_track track;
};

/* Where the body goes: Content-Range, or ?offset, or offset 0. Fills
 * first, end and end_exact of p, and the total the client gave (if any);
 * false after answering. */
static bool put_where(struct api_exchange *ex, const struct api_request *req,
                      bool has_cl, uint64_t cl, struct put_state *p,
                      bool *total_given, uint64_t *total)
{
    const char *cr_hdr = req->header(req->conn, "Content-Range");
    const char *qo = req->query(req->conn, "offset");

    *total_given = false;
    if (cr_hdr != NULL && qo != NULL) {
        api__fail(ex, API_ERANGEHDR,
                  "give either Content-Range or ?offset, not both");
        return false;
    }
    if (cr_hdr != NULL) {
        struct api_content_range cr;

        if (!api_content_range_parse(cr_hdr, &cr)) {
            api__fail(ex, API_ERANGEHDR,
                      "Content-Range must be bytes FIRST-LAST/* or "
                      "bytes FIRST-LAST/SIZE");
            return false;
        }
        p->first = cr.first;
        /* end = last + 1 overflows only for last = 2^64-1, which is past
         * the end of any mapping: saturate and let the bounds check say so
         * (416). The saturated length is one short, so no Content-Length
         * can be compared with it: skip that check rather than answer a
         * misleading 400. */
        bool saturated = __builtin_add_overflow(cr.last, 1, &p->end);
        if (saturated)
            p->end = UINT64_MAX;
        p->end_exact = true;
        *total_given = cr.has_total;
        *total = cr.total;
        if (has_cl && !saturated && cl != p->end - p->first) {
            api__fail(ex, API_ELENGTH,
                      "Content-Length %" PRIu64 " differs from the %" PRIu64
                      " bytes of Content-Range",
                      cl, p->end - p->first);
            return false;
        }
        return true;
    }
    p->first = 0;
    if (qo != NULL && !api_parse_u64(qo, &p->first)) {
        api__fail(ex, API_EQUERY, "offset must be a decimal integer");
        return false;
    }
    if (has_cl) {
        if (__builtin_add_overflow(p->first, cl, &p->end))
            p->end = UINT64_MAX;
        p->end_exact = true;
    } else {
        p->end = UINT64_MAX; /* resolved against the size by the caller */
        p->end_exact = false;
    }
    return true;
}

static void put_start(struct api_exchange *ex, const struct api_request *req)
{
    struct put_state *p = api__state(ex);
    const char *cl_hdr = req->header(req->conn, "Content-Length");
    uint64_t cl = 0;
    bool has_cl = false;
    bool total_given = false;
    uint64_t total = 0;
    uint64_t size;

    if (req->header(req->conn, "Content-Encoding") != NULL) {
        api__fail(ex, API_EMEDIA, "mapping data is written unencoded");
        return;
    }
    /* Some clients (lftp's "put -c") resume an upload with Range, a header
     * of requests for bytes, where Content-Range belongs. Guessing would be
     * a silent overwrite; writing it at offset 0 was one. */
    if (req->header(req->conn, "Range") != NULL) {
        api__fail(ex, API_ERANGEONPUT,
                  "a PUT says where its bytes go with Content-Range (or "
                  "?offset=), not Range; nothing was written");
        return;
    }
    if (cl_hdr != NULL) {
        if (!api_parse_u64(cl_hdr, &cl)) {
            api__fail_mc(ex, MC_EINVAL);
            return;
        }
        has_cl = true;
    }
    if (!api__write_need_map(ex))
        return;
    if (!put_where(ex, req, has_cl, cl, p, &total_given, &total))
        return;
    if ((has_cl && cl > ex->api->max_body) ||
        (p->end_exact && p->end - p->first > ex->api->max_body)) {
        api__fail(ex, API_EBODYTOOBIG,
                  "request bodies are at most %" PRIu64 " bytes",
                  ex->api->max_body);
        return;
    }
    size = mc_mapping_size(ex->map);
    if (!p->end_exact)
        p->end = size;
    if (total_given && total != size) {
        api__fail(ex, API_ERR_MC(MC_ERANGE),
                  "Content-Range gives the size %" PRIu64
                  " but the mapping has %" PRIu64 " bytes",
                  total, size);
        api__header(ex, "Content-Range", "bytes */%" PRIu64, size);
        return;
    }
    if (p->first > size || p->end > size) {
        api__fail(ex, API_ERR_MC(MC_ERANGE),
                  "the write lies outside the mapping's %" PRIu64
                  " bytes (resize it with PATCH first)",
                  size);
        api__header_keep(ex, "Content-Range", "bytes */%" PRIu64, size);
        return;
    }
    if (!api__write_allowed(ex))
        return;
    /* A body known to be longer than the atomic limit streams from its
     * first byte: holding part of it would buy nothing. */
    p->streaming =
        p->end_exact && p->end - p->first > ex->api->atomic_write_max;
    /* A body to be held is charged before a byte of it is read, so a
     * client learns of a spent budget without sending it (bodymem.h). */
    if (!p->streaming && p->end_exact &&
        !api__bodymem_reserve(ex, p->end - p->first))
        return;
    ex->wants_body = true;
}

/* One write of the body at off; the first honours a remembered If-Match
 * atomically (api__write_checked). *gen may be NULL. */
static enum mc_err put_write(struct api_exchange *ex, uint64_t off,
                             const void *data, size_t len, uint64_t *gen)
{
    struct mc_range r = {off, len};
    const void *src[1] = {data};

    return api__write_checked(ex, &r, 1, src, gen);
}

enum hold_result {
    HOLD_OK,     /* held */
    HOLD_FULL,   /* past the atomic limit, or no memory: stream instead */
    HOLD_REFUSED /* the body budget is spent: answered 503 */
};

/* Hold len more bytes in a buffer charged to the body budget. */
static enum hold_result put_hold(struct api_exchange *ex, const void *data,
                                 size_t len)
{
    struct put_state *p = api__state(ex);
    uint64_t limit = ex->api->atomic_write_max;
    size_t need;

    if (len > limit || p->buf_len > limit - len)
        return HOLD_FULL;
    need = p->buf_len + len;
    if (need > p->buf_cap) {
        /* Exact when the length is known; otherwise doubling, capped at the
         * limit, so client input never grows the buffer past it. */
        size_t cap = p->end_exact ? (size_t)(p->end - p->first)
                                  : (p->buf_cap ? p->buf_cap * 2 : 64 * 1024);
        char *grown;

        if (cap < need)
            cap = need;
        if (cap > limit)
            cap = (size_t)limit;
        if (!api__bodymem_reserve(ex, cap))
            return HOLD_REFUSED;
        grown = realloc(p->buf, cap);
        if (grown == NULL)
            return HOLD_FULL;
        p->buf = grown;
        p->buf_cap = cap;
    }
    memcpy(p->buf + p->buf_len, data, len);
    p->buf_len = need;
    return HOLD_OK;
}

static void put_body(struct api_exchange *ex, const void *data, size_t len)
{
    struct put_state *p = api__state(ex);
    uint64_t received;
    uint64_t pos;
    enum mc_err rc;

    if (__builtin_add_overflow(p->received, (uint64_t)len, &received) ||
        __builtin_add_overflow(p->first, received, &pos) || pos > p->end) {
        if (p->end_exact) {
            api__fail(ex, API_ELENGTH, "the body is longer than its range");
        } else {
            api__fail(ex, API_ERR_MC(MC_ERANGE),
                      "the body runs past the end of the mapping");
            api__header_keep(ex, "Content-Range", "bytes */%" PRIu64,
                             p->end);
        }
        return;
    }
    if (received > ex->api->max_body) {
        api__fail(ex, API_EBODYTOOBIG,
                  "request bodies are at most %" PRIu64 " bytes",
                  ex->api->max_body);
        return;
    }
    if (!p->streaming) {
        enum hold_result held = put_hold(ex, data, len);

        if (held == HOLD_REFUSED)
            return;
        if (held == HOLD_OK) {
            p->received = received;
            return;
        }
    }
    if (!p->streaming) {
        /* Past the atomic limit (or out of memory for the buffer): write
         * what is held and stream from here on. */
        p->streaming = true;
        if (p->buf_len > 0) {
            rc = put_write(ex, p->first, p->buf, p->buf_len, NULL);
            if (rc != MC_OK) {
                api__fail_write(ex, rc);
                return;
            }
            p->track.written = true;
        }
        free(p->buf);
        p->buf = NULL;
        p->buf_len = 0;
        p->buf_cap = 0;
        api__bodymem_release(ex);
    }
    rc = put_write(ex, p->first + p->received, data, len, NULL);
    if (rc != MC_OK) {
        api__fail_write(ex, rc);
        return;
    }
    p->track.written = true;
    p->received = received;
}

static void put_end(struct api_exchange *ex)
{
    struct put_state *p = api__state(ex);
    uint64_t gen = 0;
    enum mc_err rc;

    if (p->end_exact && p->first + p->received != p->end) {
        api__fail(ex, API_ELENGTH,
                  "the body has %" PRIu64 " bytes, its range %" PRIu64,
                  p->received, p->end - p->first);
        return;
    }
    if (p->streaming) {
        /* Streamed: other writes may have landed between the chunks, so the
         * generation now is the best the ETag can name. */
        gen = mc_mapping_generation(ex->map);
    } else {
        /* Held (empty bodies too, so If-Match is checked again for them):
         * one write, atomic with the If-Match check, naming its own
         * generation. */
        rc = put_write(ex, p->first, p->buf, p->buf_len, &gen);
        if (rc != MC_OK) {
            api__fail_write(ex, rc);
            return;
        }
        if (p->buf_len > 0)
            p->track.written = true;
    }
    api__write_acknowledge(ex, &p->track, p->first, p->received, gen);
}

static void put_free(struct api_exchange *ex, bool completed)
{
    struct put_state *p = api__state(ex);

    api__write_track_free(ex, &p->track, completed);
    free(p->buf);
    p->buf = NULL;
}

const struct api_handler api__op_data_put = {
    sizeof(struct put_state), put_start, put_body, put_end, put_free,
};
