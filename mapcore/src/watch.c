/* watch.c - telling the server when a watched mapping changes
 * (mc_watch.h).
 *
 * The writers (mapping.c, words.c, resize.c, catalog.c) call
 * mc__watch_changed() once a change is visible and their locks are gone.
 * It is on every write's path, so it costs one load when nobody watches.
 */
#include "mapcore/mc_watch.h"

#include "internal.h"

void mc_mapping_watch(struct mc_mapping *m, bool on)
{
    if (on)
        atomic_fetch_add(&m->watchers, 1);
    else
        atomic_fetch_sub(&m->watchers, 1);
}

unsigned mc_mapping_watchers(struct mc_mapping *m)
{
    return atomic_load(&m->watchers);
}

bool mc_mapping_removed(struct mc_mapping *m)
{
    return atomic_load(&m->removed);
}

bool mc_mapping_changed(struct mc_mapping *m, uint64_t gen)
{
    return atomic_load(&m->generation) != gen || atomic_load(&m->removed);
}

void mc__watch_changed(struct mc_mapping *m, enum mc_change_kind kind,
                       uint64_t offset, uint64_t length, uint64_t gen)
{
    /* Sequentially consistent, after the change's own store (mc_watch.h). */
    struct mc_change c = {kind, offset, length, gen};

    if (atomic_load(&m->watchers) == 0)
        return;
    mc__events_append(m, &c); /* before the wake-up: readers find it */
    if (m->cat != NULL)
        mc__catalog_notify(m->cat, m, &c);
}

void mc__watch_ranges(struct mc_mapping *m, const struct mc_range *r,
                      size_t n, uint64_t gen)
{
    uint64_t lo = UINT64_MAX;
    uint64_t hi = 0;

    if (atomic_load(&m->watchers) == 0)
        return; /* the cheap path: nobody waits */
    for (size_t i = 0; i < n; i++) {
        if (r[i].len == 0)
            continue;
        if (r[i].off < lo)
            lo = r[i].off;
        if (r[i].off + r[i].len > hi)
            hi = r[i].off + r[i].len;
    }
    if (lo > hi)
        lo = hi = 0;
    mc__watch_changed(m, MC_CHANGE_WRITE, lo, hi - lo, gen);
}
