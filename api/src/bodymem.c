/* bodymem.c - the budget of memory held for request bodies (bodymem.h). */
#include <inttypes.h>

#include "internal.h"

void api__bodymem_init(struct api_bodymem *b, uint64_t limit)
{
    b->limit = limit != 0 ? limit : API_BODY_MEMORY_DEFAULT;
    atomic_init(&b->used, 0);
    atomic_init(&b->refused, 0);
}

bool api__bodymem_reserve(struct api_exchange *ex, uint64_t bytes)
{
    struct api_bodymem *b = &ex->api->bodymem;
    uint64_t more;
    uint_least64_t cur;

    if (bytes <= ex->body_reserved)
        return true;
    more = bytes - ex->body_reserved;
    cur = atomic_load(&b->used);
    do {
        if (cur > b->limit || more > b->limit - cur) {
            atomic_fetch_add_explicit(&b->refused, 1, memory_order_relaxed);
            api__fail(ex, API_EBODYMEM,
                      "request bodies held in memory may take %" PRIu64
                      " bytes in total (--max-body-memory) and %" PRIu64
                      " are in use; this body needs %" PRIu64
                      ": retry later",
                      b->limit, (uint64_t)cur, more);
            api__header(ex, "Retry-After", "1");
            return false;
        }
    } while (!atomic_compare_exchange_weak(&b->used, &cur, cur + more));
    ex->body_reserved = bytes;
    return true;
}

void api__bodymem_release(struct api_exchange *ex)
{
    if (ex->body_reserved == 0)
        return;
    atomic_fetch_sub(&ex->api->bodymem.used, ex->body_reserved);
    ex->body_reserved = 0;
}

void api__bodymem_stats(struct api_bodymem *b, uint64_t *limit,
                        uint64_t *used, uint64_t *refused)
{
    *limit = b->limit;
    *used = atomic_load(&b->used);
    *refused = atomic_load_explicit(&b->refused, memory_order_relaxed);
}
