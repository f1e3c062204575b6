/* membudget.c - the byte budget of memory-backed mappings (mc_memory.h).
 *
 * One counter of bytes charged, changed only by compare-and-swap so that
 * two creates racing for the last bytes of the budget cannot both pass
 * the check: a charge either fits whole or changes nothing. Charges are
 * taken before any memory is allocated and given back when the memory is
 * (mapping.c, resize.c, catalog.c say where).
 */
#include "internal.h"

void mc__membudget_init(struct mc__membudget *b, uint64_t limit)
{
    b->limit = limit;
    atomic_init(&b->used, 0);
    atomic_init(&b->refused, 0);
}

enum mc_err mc__membudget_charge(struct mc__membudget *b, uint64_t bytes)
{
    uint_fast64_t cur = atomic_load(&b->used);

    do {
        if (cur > b->limit || bytes > b->limit - cur) {
            atomic_fetch_add_explicit(&b->refused, 1, memory_order_relaxed);
            return MC_EMEMLIMIT;
        }
    } while (!atomic_compare_exchange_weak(&b->used, &cur, cur + bytes));
    return MC_OK;
}

void mc__membudget_release(struct mc__membudget *b, uint64_t bytes)
{
    if (b != NULL && bytes > 0)
        atomic_fetch_sub(&b->used, bytes);
}

void mc__membudget_stats(struct mc__membudget *b, struct mc_memory_stats *out)
{
    out->budget_bytes = b->limit;
    out->used_bytes = atomic_load(&b->used);
    out->refused = atomic_load_explicit(&b->refused, memory_order_relaxed);
}
