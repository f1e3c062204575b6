/* mc_snapshot.h - a point-in-time copy of a mapping as a new read-only
 * file mapping.
 *
 * The copy is made while the source's whole range is held shared in its
 * range lock: reads of the source go on meanwhile, and every write, atomic
 * word store, zeroing and resize of the source waits until the bytes are
 * copied (not for the copy's fdatasync, which follows the unlock). So the
 * snapshot holds the bytes of exactly one generation of the source: every
 * write is in it whole or not at all. How long writers waited is reported.
 *
 * How the bytes are copied, fastest first:
 *  - reflink (ioctl FICLONE) of the backing file, where its file system
 *    shares blocks (XFS with reflink, btrfs): no data moves;
 *  - copy_file_range over the source's data extents (SEEK_DATA/SEEK_HOLE),
 *    so holes stay holes; the kernel may share blocks itself;
 *  - through memory: writecopy mappings (whose written pages exist only in
 *    their views) are read from their own pages, and memfds or backings on
 *    another file system from their descriptor; all-zero blocks are left as
 *    holes.
 */
#ifndef MAPCORE_MC_SNAPSHOT_H
#define MAPCORE_MC_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>

#include "mapcore/mc_catalog.h"
#include "mapcore/mc_error.h"
#include "mapcore/mc_mapping.h"

enum mc_snapshot_method {
    MC_SNAPSHOT_REFLINK, /* FICLONE */
    MC_SNAPSHOT_KERNEL,  /* copy_file_range */
    MC_SNAPSHOT_MEMORY,  /* read and pwrite */
};

/* "reflink", "copy_file_range", "copy". */
const char *mc_snapshot_method_name(enum mc_snapshot_method m);

struct mc_snapshot_report {
    uint64_t source_generation; /* the generation the copy holds */
    uint64_t size;
    enum mc_snapshot_method method;
    uint64_t writers_held_us; /* how long the source's writers were held */
};

/* The ETag the caller gives src's bytes at generation, written into out as
 * a NUL-terminated quoted string (mc_etag_valid; anything else fails the
 * snapshot with MC_EINVAL). mapcore stores it as text in the snapshot's
 * record: the caller's tags may change meaning across restarts, the
 * recorded one names the instant. */
typedef void (*mc_snapshot_etag_fn)(void *cls, struct mc_mapping *src,
                                    uint64_t generation,
                                    char out[MC_ETAG_MAX + 1]);

/* Copy src, as it is at one instant, into a new file `file` (relative to
 * the data directory; NULL: the name `as`), then create the read-only file
 * mapping `as` over it with src's content type. The file must not exist:
 * MC_ECONFLICT (it is never overwritten). MC_EEXIST when `as` exists;
 * MC_ENAME, MC_EPATH; MC_EDAMAGED for a damaged source; MC_ENOSPC and the
 * I/O errors of the copy; the errors of mc_catalog_create. The new
 * mapping's source is src's name and its source_etag etag's answer for the
 * generation copied (mc_info). On failure the
 * file made is removed and nothing is left in the catalog. *out is a new
 * reference; *rep says how the copy went. */
enum mc_err mc_catalog_snapshot(struct mc_catalog *cat, struct mc_mapping *src,
                                const char *as, const char *file,
                                mc_snapshot_etag_fn etag, void *etag_cls,
                                struct mc_snapshot_report *rep,
                                struct mc_mapping **out);

#endif
