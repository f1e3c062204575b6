/* mc_watch.h - being told when a mapping changes.
 *
 * A watch (README "Watch") waits for a mapping's ETag to move: a write of
 * its bytes, an atomic word store, a resize, or its removal from the
 * catalog. mapcore does not keep the waiters: the server does, and
 * installs one callback on the catalog (mc_catalog_set_watch) that every
 * such change of a watched mapping calls.
 *
 * Cost for writers: a change of a mapping nobody watches costs one atomic
 * load (the mapping's watcher count); only watched mappings reach the
 * callback.
 *
 * No lost wake-up: a change bumps the generation (or sets the removed
 * flag) and then loads the watcher count; a watcher counts itself
 * (mc_mapping_watch) and then reads the generation. Both are sequentially
 * consistent, so either the changer sees the watcher and calls the
 * callback, or the watcher sees the change. A watcher must therefore be
 * findable by the callback before it counts itself, and must look at the
 * generation after (mc_mapping_changed).
 *
 * The callback runs on the changer's thread after the change is visible
 * and after mapcore's locks are released; it must be quick and must not
 * call back into a write of the mapping.
 */
#ifndef MAPCORE_MC_WATCH_H
#define MAPCORE_MC_WATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "mapcore/mc_catalog.h"
#include "mapcore/mc_mapping.h"

enum mc_change_kind {
    MC_CHANGE_WRITE,  /* bytes written (bytes or atomic words) */
    MC_CHANGE_RESIZE, /* the size changed */
    MC_CHANGE_DELETE, /* removed from the catalog */
};

/* What changed: [offset, offset + length) of the bytes for a write, the
 * new size as length for a resize (offset 0), nothing for a delete; and the
 * generation the change produced (the last one for a delete). */
struct mc_change {
    enum mc_change_kind kind;
    uint64_t offset;
    uint64_t length;
    uint64_t generation;
};

typedef void mc_watch_fn(void *cls, struct mc_mapping *m,
                         const struct mc_change *c);

/* Install the callback of cat's watched mappings (NULL: none). Call it
 * before requests are served; it is read without a lock afterwards. */
void mc_catalog_set_watch(struct mc_catalog *cat, mc_watch_fn *fn, void *cls);

/* Count (on) or uncount a watcher of m. */
void mc_mapping_watch(struct mc_mapping *m, bool on);

/* Watchers of m now. */
unsigned mc_mapping_watchers(struct mc_mapping *m);

/* True when m's generation is no longer gen, or m has left the catalog. */
bool mc_mapping_changed(struct mc_mapping *m, uint64_t gen);

/* True once m has been removed from its catalog (it lives on for those who
 * hold a reference). */
bool mc_mapping_removed(struct mc_mapping *m);

#endif
