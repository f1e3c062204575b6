/* mc_viewcache.h - figures of the shared view cache.
 *
 * One cache serves every mapping of a catalog. It maps views of view_size
 * bytes, aligned to view_size within the mapping, on demand; keeps them in LRU
 * order; and unmaps idle ones once the mapped bytes exceed the budget. A view
 * is never unmapped while it is pinned (see mc_view_acquire in mc_mapping.h).
 *
 * Caveats: when every view is pinned and the budget is reached, acquiring a
 * new view fails with MC_EBUSY rather than growing past the budget.
 * Views of writecopy mappings that were written to hold private pages that
 * exist nowhere else; they are kept mapped (and counted) until the mapping is
 * closed.
 */
#ifndef MAPCORE_MC_VIEWCACHE_H
#define MAPCORE_MC_VIEWCACHE_H

#include <stdint.h>

struct mc_cache_stats {
    uint64_t view_size;    /* granularity in bytes, a power of two >= page size */
    uint64_t budget_bytes; /* upper bound on bytes mapped by idle views */
    uint64_t views;        /* views currently mapped */
    uint64_t pinned;       /* of which pinned right now */
    uint64_t bytes_mapped; /* by the views: a view past the end of a small
                            * mapping maps only up to it (page-rounded) */
    uint64_t hits;         /* acquisitions served by a mapped view */
    uint64_t misses;       /* acquisitions that had to mmap */
    uint64_t evictions;    /* views unmapped to stay within the budget */
    uint64_t declined;     /* misses read from the backing without a view,
                            * to keep a full cache from churning */
};

#endif
