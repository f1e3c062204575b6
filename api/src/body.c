/* body.c - response bodies made of mapping bytes.
 *
 * A plan describes the body as an ordered list of segments: generated text
 * (multipart headers) and slices of the mapping. It is turned into one of
 * three body kinds:
 *  - pinned: every view the slices span is pinned with mc_view_acquire, and
 *    a reader copies text pieces and slices of those views out block by
 *    block (guarded against SIGBUS), with no lock or cache lookup per
 *    block. The pins are dropped by the body's release callback. Not handed
 *    to the socket as an iovec: the kernel would send whatever the views
 *    hold by then, and a resize (a regrow zeroes stale bytes, a memory
 *    shrink punches at once) must be able to stop the body between blocks
 *    instead. Taken only when the whole
 *    views pinned (not just the bytes sent) fit the pin limit, and left
 *    for a reader when the cache has no room for them (MC_EBUSY).
 *  - snapshot: bodies with at most the atomic-write limit of mapping bytes
 *    are copied at once under the range lock (body_snapshot.c), so they
 *    never show half of a concurrent atomic write. Pinned and reader bodies
 *    are for larger answers, where API.md promises no such thing.
 *  - reader: nothing is pinned between calls; each call copies the next
 *    piece with mc_mapping_read. Used for bodies too large to pin without
 *    starving other requests of cache, and for HEAD, which sends no body.
 * Every block of a pinned or reader body checks the mapping's resize
 * sequence against the one the plan was made with (mc_mapping_resize_seq):
 * when a resize ran since, or a read finds the mapping shrunk, the block
 * fails (-1) and the server breaks the connection before Content-Length.
 * So a body is all bytes of the size its headers name, or cut short; never
 * old bytes, then zeros, then new ones (api/openapi.yaml, getData).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "internal.h"

void api__plan_free(struct api_plan *plan)
{
    free(plan->seg);
    free(plan->text);
    memset(plan, 0, sizeof(*plan));
}

struct pinned_body {
    struct mc_mapping *map; /* held so the views' mapping outlives them */
    struct mc_view **views;
    size_t nviews;
    struct api_iov *iov;
    size_t niov;
    struct api_plan plan; /* owns the text the iov points into */
    uint64_t seq;         /* the resize sequence the plan was made with */
    struct api_iov_cursor cur;
};

static void pinned_release(void *cls)
{
    struct pinned_body *pb = cls;

    for (size_t i = 0; i < pb->nviews; i++)
        mc_view_release(pb->views[i]);
    mc_mapping_unref(pb->map);
    api__plan_free(&pb->plan);
    free(pb->views);
    free(pb->iov);
    free(pb);
}

/* Bytes of cache the plan's slices pin as a pinned body: every view a slice
 * touches is mapped whole (view_size bytes, tail views included), however
 * few of its bytes are sent. Views shared by two slices count twice, which
 * only errs towards the reader. UINT64_MAX on overflow. */
static uint64_t pinned_footprint(const struct api_plan *plan,
                                 uint64_t view_size)
{
    uint64_t sum = 0;

    for (size_t i = 0; i < plan->nseg; i++) {
        const struct api_plan_seg *s = &plan->seg[i];
        uint64_t first, last, bytes;

        if (s->text != NULL || s->len == 0)
            continue;
        if (s->off > UINT64_MAX - (s->len - 1))
            return UINT64_MAX;
        first = s->off / view_size;
        last = (s->off + (s->len - 1)) / view_size;
        if (last - first + 1 > UINT64_MAX / view_size)
            return UINT64_MAX;
        bytes = (last - first + 1) * view_size;
        if (bytes > UINT64_MAX - sum)
            return UINT64_MAX;
        sum += bytes;
    }
    return sum;
}

/* Pin every view of the plan's slices. On failure everything pinned so far
 * is released, which pinned_release does given the partial state. */
static enum mc_err pinned_build(struct pinned_body *pb, uint64_t view_size)
{
    size_t max_views = 0;
    size_t niov = 0;
    uint64_t served = 0;

    for (size_t i = 0; i < pb->plan.nseg; i++) {
        const struct api_plan_seg *s = &pb->plan.seg[i];

        /* A slice starting mid-view spans at most len/view_size + 2 views;
         * the bound is loose but cheap, and slices here are small. */
        max_views += s->text != NULL ? 0 : (size_t)(s->len / view_size) + 2;
    }
    pb->views = calloc(max_views ? max_views : 1, sizeof(*pb->views));
    pb->iov = calloc(max_views + pb->plan.nseg, sizeof(*pb->iov));
    if (pb->views == NULL || pb->iov == NULL)
        return MC_ENOMEM;

    for (size_t i = 0; i < pb->plan.nseg; i++) {
        const struct api_plan_seg *s = &pb->plan.seg[i];
        uint64_t off = s->off;
        uint64_t left = s->len;

        if (s->text != NULL) {
            pb->iov[niov].base = s->text;
            pb->iov[niov].len = (size_t)s->len;
            niov++;
            continue;
        }
        while (left > 0) {
            struct mc_view *v = NULL;
            const uint8_t *data = NULL;
            size_t len = 0;
            enum mc_err rc;

            if (pb->nviews == max_views)
                return MC_ERANGE; /* the view size changed under us */
            rc = mc_view_acquire(pb->map, off, &v, &data, &len);
            if (rc != MC_OK)
                return rc;
            pb->views[pb->nviews++] = v;
            if (len == 0)
                return MC_ERANGE; /* promised >= 1; never spin on it */
            if (len > left)
                len = (size_t)left;
            mc_view_will_need(data, len);
            served += len;
            pb->iov[niov].base = data;
            pb->iov[niov].len = len;
            niov++;
            off += len;
            left -= len;
        }
    }
    pb->niov = niov;
    /* Counted only once the body will be served: a failed build falls back
     * to a reader, which counts through mc_mapping_read. */
    mc_mapping_count_read(pb->map, served);
    return MC_OK;
}

ssize_t api_iov_copy(const struct api_iov *iov, size_t n,
                     struct api_iov_cursor *cur, uint64_t pos, char *buf,
                     size_t max)
{
    size_t done = 0;

    if (pos < cur->at) {
        cur->idx = 0;
        cur->at = 0;
    }
    if (max > (size_t)SSIZE_MAX)
        max = (size_t)SSIZE_MAX;
    /* Bounded by the number of pieces: each round moves to the next one or
     * fills buf. */
    while (done < max && cur->idx < n) {
        const struct api_iov *v = &iov[cur->idx];
        uint64_t within = pos + done - cur->at;
        size_t k;

        if (within >= v->len) {
            cur->at += v->len;
            cur->idx++;
            continue;
        }
        k = v->len - (size_t)within;
        if (k > max - done)
            k = max - done;
        if (!mc_view_copy(buf + done, (const char *)v->base + within, k))
            return -1;
        done += k;
    }
    return (ssize_t)done;
}

/* The next block of a pinned body; stops once a resize ran since the plan
 * (checked after the copy: a resize that began before it changed nothing
 * we keep). */
static ssize_t pinned_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct pinned_body *pb = cls;
    ssize_t n = api_iov_copy(pb->iov, pb->niov, &pb->cur, pos, buf, max);

    if (n <= 0 || mc_mapping_resize_seq(pb->map) != pb->seq)
        return -1;
    return n;
}

struct reader_body {
    struct mc_mapping *map;
    uint64_t seq; /* the resize sequence the plan was made with */
    struct api_plan plan;
    size_t cur; /* segment of the last read: reads are nearly always in
                 * order, so the search starts there */
};

static void reader_release(void *cls)
{
    struct reader_body *rb = cls;

    mc_mapping_unref(rb->map);
    api__plan_free(&rb->plan);
    free(rb);
}

static ssize_t reader_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct reader_body *rb = cls;
    const struct api_plan_seg *s;
    uint64_t within;
    size_t n;

    if (rb->cur >= rb->plan.nseg || pos < rb->plan.seg[rb->cur].pos)
        rb->cur = 0;
    while (rb->cur < rb->plan.nseg &&
           pos - rb->plan.seg[rb->cur].pos >= rb->plan.seg[rb->cur].len)
        rb->cur++;
    if (rb->cur >= rb->plan.nseg || max == 0)
        return -1;
    s = &rb->plan.seg[rb->cur];
    within = pos - s->pos;
    n = s->len - within < max ? (size_t)(s->len - within) : max;
    /* ssize_t must be able to say how much was copied. */
    if (n > (size_t)SSIZE_MAX)
        n = (size_t)SSIZE_MAX;
    if (s->text != NULL) {
        memcpy(buf, s->text + within, n);
        return (ssize_t)n;
    }
    if (mc_mapping_read(rb->map, s->off + within, buf, n) != MC_OK ||
        mc_mapping_resize_seq(rb->map) != rb->seq)
        return -1;
    return (ssize_t)n;
}

static enum mc_err reader_set(struct api_exchange *ex, struct mc_mapping *m,
                              struct api_plan *plan, uint64_t seq)
{
    struct api_body body = {0};
    struct reader_body *rb = calloc(1, sizeof(*rb));

    if (rb == NULL) {
        api__plan_free(plan);
        return MC_ENOMEM;
    }
    mc_mapping_ref(m);
    rb->map = m;
    rb->seq = seq;
    rb->plan = *plan;
    memset(plan, 0, sizeof(*plan));
    body.kind = API_BODY_READER;
    body.length = rb->plan.total;
    body.read = reader_read;
    body.release = reader_release;
    body.cls = rb;
    api__body_set(ex, &body);
    return MC_OK;
}

enum mc_err api__body_from_plan(struct api_exchange *ex, struct mc_mapping *m,
                                struct api_plan *plan, uint64_t seq)
{
    uint64_t pin_limit;
    struct api_body body = {0};
    struct pinned_body *pb;
    enum mc_err rc;

    if (plan->total == 0) {
        api__plan_free(plan);
        body.kind = API_BODY_NONE;
        api__body_set(ex, &body);
        return MC_OK;
    }
    pin_limit = ex->api->pin_limit;

    /* Small bodies are copied under the range lock: only they are
     * consistent with concurrent atomic writes (body_snapshot.c). */
    if (ex->method != API_METHOD_HEAD &&
        api__plan_mapping_bytes(plan) <= ex->api->atomic_write_max)
        return api__body_snapshot(ex, m, plan);
    /* The limit bounds what the body holds pinned, not what it sends: a
     * few bytes on each side of many view boundaries pin two whole views
     * per range, and idle clients would hold them until they time out. */
    if (ex->method == API_METHOD_HEAD || plan->total > pin_limit ||
        ex->api->view_size == 0 ||
        pinned_footprint(plan, ex->api->view_size) > pin_limit)
        return reader_set(ex, m, plan, seq);

    pb = calloc(1, sizeof(*pb));
    if (pb == NULL) {
        api__plan_free(plan);
        return MC_ENOMEM;
    }
    mc_mapping_ref(m);
    pb->map = m;
    pb->seq = seq;
    pb->plan = *plan;
    memset(plan, 0, sizeof(*plan));
    rc = pinned_build(pb, ex->api->view_size);
    if (rc == MC_EBUSY) {
        /* The cache is full of other requests' pins: the reader needs a
         * view only for the length of one copy, so it may still get one.
         * The plan is moved out first; pinned_release drops the pins. */
        struct api_plan keep = pb->plan;

        memset(&pb->plan, 0, sizeof(pb->plan));
        pinned_release(pb);
        return reader_set(ex, m, &keep, seq);
    }
    if (rc != MC_OK) {
        pinned_release(pb);
        return rc;
    }
    body.kind = API_BODY_READER;
    body.length = pb->plan.total;
    body.read = pinned_read;
    body.release = pinned_release;
    body.cls = pb;
    api__body_set(ex, &body);
    return MC_OK;
}
