/* nameindex.c - the catalog's lookup of a mapping by its exact name.
 *
 * The catalog keeps its mappings in an array sorted by name, which listing
 * pages walk in order; finding one name there is a binary search of
 * log2(n) string compares, each one a cache miss once the catalog is large
 * (17 of them at 100,000 mappings: 7 % of a data request's CPU in W6,
 * bench/RESULTS.md). Every data request looks its mapping up, so this
 * index finds a name in one or two probes whatever the count.
 *
 * Open addressing with linear probing over a power-of-two table kept at
 * most half full; each slot holds the name's hash (compared before the
 * string, so a probe rarely touches a mapping) and the mapping. Removal
 * shifts the rest of the probe run back instead of leaving tombstones, so
 * lookups do not slow down after many deletes. The hash is seeded per
 * index from getrandom(2), so names chosen in advance cannot be made to
 * pile up in one run.
 *
 * Not thread-safe: the catalog's table_lock covers it as it covers the
 * array.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "internal.h"

struct mc__nameslot {
    uint64_t hash;
    struct mc_mapping *m; /* NULL: empty */
};

void mc__nameindex_init(struct mc__nameindex *ix)
{
    uint64_t seed = 0;

    memset(ix, 0, sizeof *ix);
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed)
        seed = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)ix;
    ix->seed = seed | 1;
}

void mc__nameindex_destroy(struct mc__nameindex *ix)
{
    free(ix->slots);
    memset(ix, 0, sizeof *ix);
}

/* FNV-1a from the seed, then a 64-bit finaliser (MurmurHash3's fmix64) so
 * the low bits the table uses depend on every byte. */
static uint64_t hash_name(const struct mc__nameindex *ix, const char *name)
{
    uint64_t h = ix->seed;

    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

/* Put m in the first empty slot of its run; there is one (half full). */
static void place(struct mc__nameslot *slots, size_t mask, uint64_t hash,
                  struct mc_mapping *m)
{
    size_t i = (size_t)hash & mask;

    while (slots[i].m)
        i = (i + 1) & mask;
    slots[i].hash = hash;
    slots[i].m = m;
}

enum mc_err mc__nameindex_reserve(struct mc__nameindex *ix, size_t count)
{
    size_t cap = ix->mask ? ix->mask + 1 : 0;

    if (count <= cap / 2)
        return MC_OK;
    size_t ncap = cap ? cap : 64;
    while (count > ncap / 2) {
        if (ncap > SIZE_MAX / 2 / sizeof(struct mc__nameslot))
            return MC_ENOMEM;
        ncap *= 2;
    }
    struct mc__nameslot *slots = calloc(ncap, sizeof *slots);
    if (!slots)
        return MC_ENOMEM;
    for (size_t i = 0; i < cap; i++)
        if (ix->slots[i].m)
            place(slots, ncap - 1, ix->slots[i].hash, ix->slots[i].m);
    free(ix->slots);
    ix->slots = slots;
    ix->mask = ncap - 1;
    return MC_OK;
}

void mc__nameindex_add(struct mc__nameindex *ix, struct mc_mapping *m)
{
    place(ix->slots, ix->mask, hash_name(ix, m->name), m);
    ix->count++;
}

struct mc_mapping *mc__nameindex_find(const struct mc__nameindex *ix,
                                      const char *name)
{
    if (!ix->slots)
        return NULL;
    uint64_t hash = hash_name(ix, name);
    for (size_t i = (size_t)hash & ix->mask; ix->slots[i].m;
         i = (i + 1) & ix->mask)
        if (ix->slots[i].hash == hash && strcmp(ix->slots[i].m->name, name) == 0)
            return ix->slots[i].m;
    return NULL;
}

void mc__nameindex_remove(struct mc__nameindex *ix,
                          const struct mc_mapping *m)
{
    if (!ix->slots)
        return;
    size_t mask = ix->mask;
    size_t i = (size_t)hash_name(ix, m->name) & mask;

    while (ix->slots[i].m && ix->slots[i].m != m)
        i = (i + 1) & mask;
    if (!ix->slots[i].m)
        return; /* not indexed */
    /* Backward shift: move each later member of the run whose home slot is
     * not in (i, j] into the hole, so every member stays reachable from its
     * home without crossing an empty slot. */
    for (size_t j = (i + 1) & mask; ix->slots[j].m; j = (j + 1) & mask) {
        size_t home = (size_t)ix->slots[j].hash & mask;
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (stays)
            continue;
        ix->slots[i] = ix->slots[j];
        i = j;
    }
    ix->slots[i].m = NULL;
    ix->slots[i].hash = 0;
    ix->count--;
}
