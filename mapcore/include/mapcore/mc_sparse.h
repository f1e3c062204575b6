/* mc_sparse.h - what a mapping's storage holds: its allocated extents, and
 * zeroing a range with or without giving its storage back.
 *
 * The Azure page-blob pair "Get Page Ranges" and "Put Page (clear)" over a
 * mapping: extents come from SEEK_DATA/SEEK_HOLE on the backing (a file or
 * the memfd of a memory mapping), and zeroing from fallocate.
 *
 * Caveats:
 * - Extents are what may hold non-zero bytes, page-granular: data blocks of
 *   the backing, rounded out to whole pages and clipped to the range asked.
 *   Blocks reserved but never written (commit allocation) may show as
 *   holes; a writecopy mapping's written pages live outside its file, so it
 *   is reported as one extent over the whole range asked (a superset).
 * - An extent list is a snapshot of one moment; writes after it may add
 *   extents.
 * - Shared backing files: zeroing changes the bytes every mapping of the
 *   file shows, as any write to it does.
 */
#ifndef MAPCORE_MC_SPARSE_H
#define MAPCORE_MC_SPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mapcore/mc_error.h"
#include "mapcore/mc_mapping.h"

/* The extents of [off, off+len) of m, in order, at most max of them into
 * out[0..*n). *next is where a following call should start (pass it as
 * off, with the same end) when more may follow, else UINT64_MAX. len 0
 * means "to the end". MC_ERANGE when off is past the size; MC_EDAMAGED,
 * MC_EIO as for reads. */
enum mc_err mc_mapping_extents(struct mc_mapping *m, uint64_t off, uint64_t len,
                               struct mc_range *out, size_t max, size_t *n,
                               uint64_t *next);

/* Make [off, off+len) read as zeros, atomically with every read and write
 * (the range is held exclusively in the range lock meanwhile), and bump the
 * generation (*new_generation, may be NULL). With deallocate, a sparse
 * mapping (file or memory) gives the storage back (hole punched; where the
 * file system cannot, zeros are written and *deallocated is false); a
 * commit mapping keeps its blocks reserved either way (ZERO_RANGE), so
 * in-range writes still cannot fail for space; a writecopy mapping has its
 * private pages written with zeros, its file untouched. *deallocated (may
 * be NULL) says whether storage was given back. MC_ERDONLY, MC_ERANGE,
 * MC_EDAMAGED; MC_ENOSPC when blocks cannot be reserved again. */
enum mc_err mc_mapping_zero(struct mc_mapping *m, uint64_t off, uint64_t len,
                            bool deallocate, bool *deallocated,
                            uint64_t *new_generation);

#endif
