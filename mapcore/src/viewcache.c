/* viewcache.c - the one cache of mapped views shared by every mapping.
 *
 * Modelled on LMDB's mdb_rpage_get and lwan's cache: views are view_size
 * windows of a mapping, aligned to view_size, found through a hash table
 * keyed by (mapping id, view index). Unpinned views sit on an LRU list and
 * stay mapped for reuse until the byte budget needs their room. One mutex
 * guards everything; it is never held across mmap or munmap, so a slow page
 * table operation on one view never stalls lookups of the others.
 *
 * A view maps view_size bytes, except where the mapping ends inside its
 * window: then only up to the end, rounded up to pages, so a 64 KiB mapping
 * costs 64 KiB of the budget, not a whole view (with 2 MiB views a 256 MiB
 * budget would otherwise hold 128 small mappings). The budget counts bytes
 * mapped. A mapping that grows past such a short view gets a new, longer
 * one at its next acquisition; the short one goes at once when idle, or
 * leaves the table and is unmapped at its last release when pinned (an
 * "orphan"), so no reader ever loses the bytes it holds. Private
 * (writecopy) mappings always get whole views: their written views are
 * sticky and must never be replaced.
 *
 * When the budget is reached and every view is pinned (or sticky), an
 * acquisition fails with MC_EBUSY instead of growing: the budget is an upper
 * bound the operator chose to protect the address space.
 *
 * Admission: once the cache is full, every miss costs an mmap, an munmap
 * and the TLB shootdown that goes with it, and random reads over far more
 * bytes than the budget (a 64 GiB mapping, thousands of small ones) would
 * pay that on nearly every request while evicting views that were hot. So a
 * miss that would have to evict, from a caller that can do without a view
 * (a copying read), is declined unless its view missed recently: a
 * direct-mapped table remembers the last declined view per slot, the
 * "doorkeeper" of TinyLFU. It has about as many slots as the cache has
 * views, so a view gets in when it is asked for again within roughly the
 * number of misses the cache could keep it for; under uniform random reads
 * over far more views than fit, admissions then happen about as often as
 * the cache could turn them into hits. A declined read is served by pread.
 */
#include <assert.h>
#include <stdlib.h>

#include "internal.h"

struct mc_viewcache {
    uint64_t view_size;
    uint64_t budget;

    pthread_mutex_t lock; /* protects everything below and each view's
                           * pins/sticky/links and each mapping's view list */
    struct mc_view **buckets;
    size_t nbuckets;          /* a power of two */
    struct mc_view *lru_head; /* least recently used first */
    struct mc_view *lru_tail;
    uint64_t lru_count;
    uint64_t views;
    uint64_t bytes;     /* mapped by every view, orphans included */
    uint64_t lru_bytes; /* mapped by the views on the LRU */
    uint64_t pinned;
    uint64_t hits;
    uint64_t misses;
    uint64_t evictions;
    uint64_t declined;
    uint64_t *door; /* recently declined views, by key; 0 is empty */
    size_t ndoor;   /* a power of two */
};

#define MC_VC_INITIAL_BUCKETS 64u
#define MC_VC_DOOR_MIN 16u
#define MC_VC_DOOR_MAX (1u << 16)
#define MC_VC_MAX_BUCKETS (1u << 24)

static uint64_t view_key(uint64_t id, uint64_t index)
{
    /* splitmix64's finaliser: mapping ids and view indexes are both small
     * consecutive numbers, so they need mixing before masking. */
    uint64_t x = id * 0x9e3779b97f4a7c15ull ^ index;

    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static size_t bucket_of(const struct mc_viewcache *vc, uint64_t id,
                        uint64_t index)
{
    return (size_t)view_key(id, index) & (vc->nbuckets - 1);
}

/* True when view (id, index) missed recently enough to deserve a place in a
 * full cache; otherwise it is remembered for next time. vc->lock is held. */
static bool admit(struct mc_viewcache *vc, uint64_t id, uint64_t index)
{
    uint64_t key = view_key(id, index) | 1u; /* never 0, the empty slot */
    uint64_t *slot = &vc->door[(key >> 1) & (vc->ndoor - 1)];

    if (*slot == key) {
        *slot = 0;
        return true;
    }
    *slot = key;
    return false;
}

enum mc_err mc__viewcache_create(uint64_t view_size, uint64_t budget,
                                 struct mc_viewcache **out)
{
    struct mc_viewcache *vc = calloc(1, sizeof *vc);

    if (!vc)
        return MC_ENOMEM;
    /* As many doorkeeper slots as views fit in the budget (see the top). */
    vc->ndoor = MC_VC_DOOR_MIN;
    while (vc->ndoor < MC_VC_DOOR_MAX && vc->ndoor < budget / view_size)
        vc->ndoor *= 2;
    vc->buckets = calloc(MC_VC_INITIAL_BUCKETS, sizeof *vc->buckets);
    vc->door = calloc(vc->ndoor, sizeof *vc->door);
    if (!vc->buckets || !vc->door) {
        free(vc->buckets);
        free(vc->door);
        free(vc);
        return MC_ENOMEM;
    }
    vc->nbuckets = MC_VC_INITIAL_BUCKETS;
    vc->view_size = view_size;
    vc->budget = budget;
    pthread_mutex_init(&vc->lock, NULL);
    *out = vc;
    return MC_OK;
}

void mc__viewcache_destroy(struct mc_viewcache *vc)
{
    if (!vc)
        return;
    assert(vc->pinned == 0);
    for (size_t b = 0; b < vc->nbuckets; b++) {
        struct mc_view *v = vc->buckets[b];
        while (v) {
            struct mc_view *next = v->hash_next;
            mc__sys_unmap(v->base, v->len);
            free(v);
            v = next;
        }
    }
    pthread_mutex_destroy(&vc->lock);
    free(vc->buckets);
    free(vc->door);
    free(vc);
}

uint64_t mc__viewcache_view_size(const struct mc_viewcache *vc)
{
    return vc->view_size;
}

/* ---- list and table helpers; the cache lock is held in all of them ----- */

static struct mc_view *lookup(struct mc_viewcache *vc, uint64_t id,
                              uint64_t index)
{
    struct mc_view *v = vc->buckets[bucket_of(vc, id, index)];

    while (v && (v->mapping_id != id || v->index != index))
        v = v->hash_next;
    return v;
}

static void lru_unlink(struct mc_viewcache *vc, struct mc_view *v)
{
    if (v->lru_prev)
        v->lru_prev->lru_next = v->lru_next;
    else
        vc->lru_head = v->lru_next;
    if (v->lru_next)
        v->lru_next->lru_prev = v->lru_prev;
    else
        vc->lru_tail = v->lru_prev;
    v->lru_prev = v->lru_next = NULL;
    vc->lru_count--;
    vc->lru_bytes -= v->len;
}

static void lru_append(struct mc_viewcache *vc, struct mc_view *v)
{
    v->lru_next = NULL;
    v->lru_prev = vc->lru_tail;
    if (vc->lru_tail)
        vc->lru_tail->lru_next = v;
    else
        vc->lru_head = v;
    vc->lru_tail = v;
    vc->lru_count++;
    vc->lru_bytes += v->len;
}

static void pin(struct mc_viewcache *vc, struct mc_view *v)
{
    if (v->pins == 0) {
        if (!v->sticky)
            lru_unlink(vc, v);
        vc->pinned++;
    }
    v->pins++;
}

/* Double the table once it holds as many views as buckets. Allocating under
 * the lock is fine (it is not I/O); failing to grow only costs speed. */
static void maybe_grow(struct mc_viewcache *vc)
{
    size_t old_n = vc->nbuckets;
    struct mc_view **old = vc->buckets;

    if (vc->views <= old_n || old_n >= MC_VC_MAX_BUCKETS)
        return;
    struct mc_view **nb = calloc(old_n * 2, sizeof *nb);
    if (!nb)
        return;
    vc->buckets = nb;
    vc->nbuckets = old_n * 2;
    for (size_t b = 0; b < old_n; b++) {
        struct mc_view *v = old[b];
        while (v) {
            struct mc_view *next = v->hash_next;
            size_t nbk = bucket_of(vc, v->mapping_id, v->index);
            v->hash_next = nb[nbk];
            nb[nbk] = v;
            v = next;
        }
    }
    free(old);
}

static void insert(struct mc_viewcache *vc, struct mc_view *v)
{
    size_t b = bucket_of(vc, v->mapping_id, v->index);
    struct mc_mapping *m = v->m;

    v->hash_next = vc->buckets[b];
    vc->buckets[b] = v;
    v->m_prev = NULL;
    v->m_next = m->views;
    if (m->views)
        m->views->m_prev = v;
    m->views = v;
    m->views_cached++;
    vc->views++;
    vc->bytes += v->len;
    maybe_grow(vc);
}

/* Take v out of the table and its mapping's list (not the LRU). */
static void detach(struct mc_viewcache *vc, struct mc_view *v)
{
    struct mc_view **pp = &vc->buckets[bucket_of(vc, v->mapping_id, v->index)];
    struct mc_mapping *m = v->m;

    while (*pp != v)
        pp = &(*pp)->hash_next;
    *pp = v->hash_next;
    if (v->m_prev)
        v->m_prev->m_next = v->m_next;
    else
        m->views = v->m_next;
    if (v->m_next)
        v->m_next->m_prev = v->m_prev;
    m->views_cached--;
    vc->views--;
}

/* Take an unpinned view out of the table, the LRU and its mapping's list.
 * The caller unmaps and frees it after dropping the lock. */
static void remove_view(struct mc_viewcache *vc, struct mc_view *v)
{
    if (!v->sticky)
        lru_unlink(vc, v);
    detach(vc, v);
    vc->bytes -= v->len;
}

/* Unmap and free a chain of removed views linked through hash_next. Called
 * without the lock. */
static void free_chain(struct mc_viewcache *vc, struct mc_view *v)
{
    while (v) {
        struct mc_view *next = v->hash_next;
        mc__sys_unmap(v->base, v->len);
        free(v);
        v = next;
    }
}

/* ---- the operations ----------------------------------------------------- */

/* How much of window `index` to map for a mapping of size bytes. */
static size_t view_len(const struct mc_viewcache *vc,
                       const struct mc_mapping *m, uint64_t index,
                       uint64_t size)
{
    uint64_t start = index * vc->view_size;
    uint64_t ps = mc__page_size();
    uint64_t want;

    if (m->private_map || size <= start || size - start >= vc->view_size)
        return (size_t)vc->view_size;
    want = (size - start + ps - 1) / ps * ps;
    return (size_t)(want < vc->view_size ? want : vc->view_size);
}

/* A cached view too short for what is wanted now (its mapping grew): out
 * of the table, unmapped now (into *victims) or, when pinned, at its last
 * release. Lock held. */
static void replace_short(struct mc_viewcache *vc, struct mc_view *v,
                          struct mc_view **victims)
{
    if (v->pins == 0) {
        remove_view(vc, v);
        v->hash_next = *victims;
        *victims = v;
        return;
    }
    detach(vc, v);
    v->orphan = true;
}

enum mc_err mc__viewcache_acquire(struct mc_viewcache *vc, struct mc_mapping *m,
                                  uint64_t index, uint64_t size,
                                  bool may_decline, struct mc_view **out)
{
    struct mc_view *v = NULL;
    struct mc_view *fresh = NULL;
    struct mc_view *victims = NULL;
    void *base = NULL;
    enum mc_err rc = MC_OK;
    size_t len = view_len(vc, m, index, size);

    pthread_mutex_lock(&vc->lock);
    v = lookup(vc, m->id, index);
    if (v && v->len < len) {
        replace_short(vc, v, &victims);
        v = NULL;
    }
    if (v) {
        pin(vc, v);
        vc->hits++;
        pthread_mutex_unlock(&vc->lock);
        *out = v;
        return MC_OK;
    }
    vc->misses++;
    if (may_decline && vc->bytes + len > vc->budget &&
        !admit(vc, m->id, index)) {
        vc->declined++;
        pthread_mutex_unlock(&vc->lock);
        free_chain(vc, victims);
        *out = NULL;
        return MC_OK;
    }
    pthread_mutex_unlock(&vc->lock);
    free_chain(vc, victims);
    victims = NULL;

    /* Map outside the lock: mmap takes the process's mmap lock and may be
     * slow; other threads keep hitting their views meanwhile. */
    int fd;
    rc = mc__fd_get(m, &fd);
    if (rc != MC_OK)
        return rc;
    rc = mc__sys_map(fd, index * vc->view_size, len, m->writable_map,
                     m->private_map, &base);
    mc__fd_put(m); /* the view keeps the file; the descriptor may go */
    if (rc != MC_OK)
        return rc;
    fresh = calloc(1, sizeof *fresh);
    if (!fresh) {
        rc = MC_ENOMEM;
        goto cleanup;
    }
    fresh->m = m;
    fresh->mapping_id = m->id;
    fresh->index = index;
    fresh->base = base;
    fresh->len = len;

    pthread_mutex_lock(&vc->lock);
    /* Another thread may have mapped the same view while we were unlocked:
     * use theirs and throw ours away (lwan does the same). */
    v = lookup(vc, m->id, index);
    if (v && v->len < len) {
        replace_short(vc, v, &victims);
        v = NULL;
    }
    if (v) {
        pin(vc, v);
        pthread_mutex_unlock(&vc->lock);
        *out = v;
        goto cleanup;
    }
    /* Make room before inserting. If evicting every idle view would still
     * not be enough, evict nothing and refuse. */
    if (vc->bytes + len > vc->budget &&
        vc->bytes - vc->lru_bytes + len > vc->budget) {
        /* A caller that can read directly does so rather than fail. */
        if (may_decline)
            vc->declined++;
        pthread_mutex_unlock(&vc->lock);
        rc = may_decline ? MC_OK : MC_EBUSY;
        *out = NULL;
        goto cleanup;
    }
    while (vc->bytes + len > vc->budget) {
        struct mc_view *victim = vc->lru_head;
        remove_view(vc, victim);
        victim->hash_next = victims;
        victims = victim;
        vc->evictions++;
    }
    /* Born pinned: it never was on the LRU, so pin() must not unlink it. */
    fresh->pins = 1;
    vc->pinned++;
    insert(vc, fresh);
    pthread_mutex_unlock(&vc->lock);
    *out = fresh;
    fresh = NULL;
    base = NULL;
cleanup:
    free_chain(vc, victims);
    free(fresh);
    mc__sys_unmap(base, len);
    return rc;
}

void mc__viewcache_release(struct mc_viewcache *vc, struct mc_view *v)
{
    bool gone = false;

    pthread_mutex_lock(&vc->lock);
    assert(v->pins > 0);
    v->pins--;
    if (v->pins == 0) {
        vc->pinned--;
        if (v->orphan) {
            vc->bytes -= v->len;
            gone = true;
        } else if (!v->sticky) {
            lru_append(vc, v);
        }
    }
    pthread_mutex_unlock(&vc->lock);
    if (gone) {
        mc__sys_unmap(v->base, v->len);
        free(v);
    }
}

void mc__viewcache_set_sticky(struct mc_viewcache *vc, struct mc_view *v)
{
    pthread_mutex_lock(&vc->lock);
    /* v is pinned, so it is not on the LRU; release will keep it off. */
    assert(v->pins > 0);
    v->sticky = true;
    pthread_mutex_unlock(&vc->lock);
}

void mc__viewcache_drop(struct mc_viewcache *vc, struct mc_mapping *m,
                        uint64_t first)
{
    struct mc_view *victims = NULL;

    pthread_mutex_lock(&vc->lock);
    struct mc_view *v = m->views;
    while (v) {
        struct mc_view *next = v->m_next;
        if (v->index >= first && v->pins == 0) {
            remove_view(vc, v);
            v->hash_next = victims;
            victims = v;
        }
        v = next;
    }
    pthread_mutex_unlock(&vc->lock);
    free_chain(vc, victims);
}

enum mc_err mc__viewcache_pin_range(struct mc_viewcache *vc,
                                    struct mc_mapping *m, uint64_t first,
                                    uint64_t last, struct mc_view ***out,
                                    size_t *count)
{
    struct mc_view **arr = NULL;
    size_t n = 0;

    *out = NULL;
    *count = 0;
    pthread_mutex_lock(&vc->lock);
    if (m->views_cached == 0)
        goto unlock;
    arr = malloc((size_t)m->views_cached * sizeof *arr);
    if (!arr) {
        pthread_mutex_unlock(&vc->lock);
        return MC_ENOMEM;
    }
    for (struct mc_view *v = m->views; v; v = v->m_next) {
        if (v->index >= first && v->index <= last) {
            pin(vc, v);
            arr[n++] = v;
        }
    }
unlock:
    pthread_mutex_unlock(&vc->lock);
    if (n == 0) {
        free(arr);
        arr = NULL;
    }
    *out = arr;
    *count = n;
    return MC_OK;
}

uint64_t mc__viewcache_count(struct mc_viewcache *vc, struct mc_mapping *m)
{
    pthread_mutex_lock(&vc->lock);
    uint64_t n = m->views_cached;
    pthread_mutex_unlock(&vc->lock);
    return n;
}

void mc__viewcache_stats(struct mc_viewcache *vc, struct mc_cache_stats *out)
{
    pthread_mutex_lock(&vc->lock);
    out->view_size = vc->view_size;
    out->budget_bytes = vc->budget;
    out->views = vc->views;
    out->pinned = vc->pinned;
    out->bytes_mapped = vc->bytes;
    out->hits = vc->hits;
    out->misses = vc->misses;
    out->evictions = vc->evictions;
    out->declined = vc->declined;
    pthread_mutex_unlock(&vc->lock);
}
