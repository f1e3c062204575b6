/* body_snapshot.c - response bodies copied out of the mapping at once.
 *
 * A body whose mapping bytes total at most the atomic-write limit is copied
 * into memory the response owns, with one mc_mapping_readv that holds every
 * range of the body shared in the mapping's range lock. So it is a snapshot
 * consistent with every atomic write: each PUT or PATCH of at most the limit
 * is in it entirely or not at all, across all the parts of a multipart
 * answer too. Serving these bytes from pinned views instead would let a
 * write land while the socket is still sending them.
 *
 * The copy is cheap next to the request it answers (a few hundred
 * microseconds for 1 MiB), and no lock is held while a slow client reads:
 * the lock covers the memcpy only. The cost is memory: at most the limit per
 * response in flight.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct snapshot_body {
    struct api_iov iov;
    char data[];
};

static void snapshot_release(void *cls)
{
    free(cls);
}

uint64_t api__plan_mapping_bytes(const struct api_plan *plan)
{
    uint64_t sum = 0;

    for (size_t i = 0; i < plan->nseg; i++) {
        if (plan->seg[i].text == NULL &&
            __builtin_add_overflow(sum, plan->seg[i].len, &sum))
            return UINT64_MAX;
    }
    return sum;
}

enum mc_err api__body_snapshot(struct api_exchange *ex, struct mc_mapping *m,
                               struct api_plan *plan)
{
    struct snapshot_body *sb = NULL;
    struct mc_range *r = NULL;
    void **dst = NULL;
    size_t nr = 0;
    struct api_body body = {0};
    enum mc_err rc = MC_ENOMEM;

    /* The caller bounded plan->total by the atomic limit plus part
     * headers, so it fits in memory and in size_t. */
    sb = malloc(sizeof(*sb) + (size_t)plan->total);
    r = calloc(plan->nseg ? plan->nseg : 1, sizeof(*r));
    dst = calloc(plan->nseg ? plan->nseg : 1, sizeof(*dst));
    if (sb == NULL || r == NULL || dst == NULL)
        goto out;
    for (size_t i = 0; i < plan->nseg; i++) {
        const struct api_plan_seg *s = &plan->seg[i];
        char *at = sb->data + s->pos;

        if (s->text != NULL) {
            memcpy(at, s->text, (size_t)s->len);
            continue;
        }
        r[nr].off = s->off;
        r[nr].len = s->len;
        dst[nr] = at;
        nr++;
    }
    rc = mc_mapping_readv(m, r, nr, dst);
    if (rc != MC_OK)
        goto out;
    sb->iov.base = sb->data;
    sb->iov.len = (size_t)plan->total;
    body.kind = API_BODY_IOV;
    body.length = plan->total;
    body.iov = &sb->iov;
    body.iovcnt = 1;
    body.release = snapshot_release;
    body.cls = sb;
    api__body_set(ex, &body);
    sb = NULL;
out:
    free(sb);
    free(r);
    free(dst);
    api__plan_free(plan);
    return rc;
}
