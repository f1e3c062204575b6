/* mc_mapping.h - one named mapping: its bytes, views, flush and resize.
 *
 * A struct mc_mapping is obtained from the catalog (mc_catalog.h) as a new
 * reference and given back with mc_mapping_unref(). All functions here are
 * safe to call from many threads on the same mapping.
 *
 * Caveats:
 * - A pointer obtained from mc_view_acquire() is valid only until the view is
 *   released. Never keep it longer, never hand it to another mapping.
 * - Bounds are checked against the size at the time of the call. A concurrent
 *   shrink never makes a pinned view touch pages past the end of the file: the
 *   truncation of the backing file waits for the last pin of that mapping to
 *   go (memory backings are hole-punched instead, see mc_mapping_resize).
 * - Handles are not valid after fork().
 */
#ifndef MAPCORE_MC_MAPPING_H
#define MAPCORE_MC_MAPPING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mapcore/mc_error.h"
#include "mapcore/mc_names.h"

struct mc_mapping; /* opaque, reference-counted */
struct mc_view;    /* opaque, a pinned view */

enum mc_backing { MC_BACKING_FILE, MC_BACKING_MEMORY };
enum mc_protection { MC_PROT_READONLY, MC_PROT_READWRITE, MC_PROT_WRITECOPY };
enum mc_allocation { MC_ALLOC_COMMIT, MC_ALLOC_SPARSE };

/* Lower-case wire names ("file", "readwrite", "commit", ...); never NULL. */
const char *mc_backing_name(enum mc_backing b);
const char *mc_protection_name(enum mc_protection p);
const char *mc_allocation_name(enum mc_allocation a);

/* A mapping's content type: the media type its bytes are served as
 * (README "Content type"). mapcore checks only what keeps it a safe header
 * value (1..MC_CONTENT_TYPE_MAX bytes of printable ASCII); the API checks
 * the media type syntax (api_media_type_valid). */
#define MC_CONTENT_TYPE_MAX 127
#define MC_CONTENT_TYPE_DEFAULT "application/octet-stream"
bool mc_content_type_valid(const char *s);

/* A snapshot's source_etag: the ETag its source had at the instant taken
 * (README "Snapshots"), an HTTP entity-tag kept as text: a quoted string of
 * at most MC_ETAG_MAX bytes, the quotes included, of printable ASCII
 * without '"' or '\\' inside. */
#define MC_ETAG_MAX 63
bool mc_etag_valid(const char *s, size_t len);

/* A snapshot of a mapping's metadata and live figures. */
struct mc_info {
    char name[MC_NAME_MAX + 1];
    char file[MC_PATH_MAX + 1]; /* relative to the data dir; "" for memory */
    enum mc_backing backing;
    enum mc_protection protection;
    enum mc_allocation allocation;
    bool writethrough;
    bool damaged;          /* backing found truncated or unreadable */
    uint64_t size;
    uint64_t generation;   /* bumped by every write and resize (ETag source) */
    int64_t created_at_ms; /* Unix epoch milliseconds */
    int64_t modified_at_ms;
    uint64_t views_cached; /* views of this mapping in the cache now */
    uint64_t bytes_read;
    uint64_t bytes_written;
    char content_type[MC_CONTENT_TYPE_MAX + 1];
    /* A snapshot (mc_snapshot.h) names the mapping it was taken of and that
     * mapping's ETag then; both "" for every other mapping. The name may no
     * longer exist, or name a newer mapping: they describe the instant. */
    char source[MC_NAME_MAX + 1];
    char source_etag[MC_ETAG_MAX + 1];
};

/* Take another reference (this function can't fail). */
void mc_mapping_ref(struct mc_mapping *m);
/* Drop a reference. The last one of a mapping removed from the catalog
 * unmaps its views and closes its backing. m may be NULL. */
void mc_mapping_unref(struct mc_mapping *m);

/* Fill *out with a snapshot. Can't fail. */
void mc_mapping_info(struct mc_mapping *m, struct mc_info *out);

/* The part of mc_mapping_info a read of the bytes needs, without the locks
 * the rest costs (the view count takes the cache's): for the hot path. Size,
 * generation and resize_seq are of one moment between resizes: a resize in
 * flight is waited for (it is short; the range lock orders the wait). */
struct mc_state {
    uint64_t size;
    uint64_t generation;
    uint64_t resize_seq; /* see mc_mapping_resize_seq; read first */
    bool damaged;
};
void mc_mapping_state(struct mc_mapping *m, struct mc_state *out);

/* The resize sequence: odd while a resize runs, bumped when one starts and
 * when it ends. A reader that copies bytes without the range lock (from
 * pinned views, or across several calls) and finds the value it started
 * with, even, after the copy knows no resize touched what it copied; a
 * state whose resize_seq is odd, or differs by the time the bytes are
 * read, may mix sizes. Can't fail. */
uint64_t mc_mapping_resize_seq(struct mc_mapping *m);
uint64_t mc_mapping_size(struct mc_mapping *m);
uint64_t mc_mapping_generation(struct mc_mapping *m);
/* When the bytes or the size last changed, Unix epoch milliseconds (the
 * modified_at of mc_info; never goes backwards). */
int64_t mc_mapping_modified_ms(struct mc_mapping *m);
enum mc_protection mc_mapping_protection(struct mc_mapping *m);
/* A stable number unique to this mapping within the process lifetime. */
uint64_t mc_mapping_id(struct mc_mapping *m);

/* A byte range [off, off + len) of a mapping. */
struct mc_range {
    uint64_t off;
    uint64_t len;
};

/* Atomicity of reads and writes: every call below that copies bytes holds
 * its ranges in the mapping's range lock for the whole copy (shared to read,
 * exclusive to write). So one write call is all-or-nothing to every read
 * call: a reader sees all old or all new bytes, never a mix; overlapping
 * writers are serialised, disjoint ones run in parallel. Bounds are checked
 * before anything is copied; a failure inside the copy (view cache full of
 * pinned views, backing truncated behind the server) may leave a write
 * partly applied or a read buffer partly filled. Bytes served straight from
 * pinned views (mc_view_acquire) carry no guarantee at all. */

/* Copy len bytes at off into buf. MC_ERANGE when [off, off+len) is not inside
 * the mapping (overflow included); nothing is copied then. Like every data
 * call here it may also fail with MC_EDAMAGED (mapping loaded damaged),
 * MC_ETRUNCATED (backing file cut short behind the server's back), MC_EBUSY
 * (view cache full of pinned views) or MC_ENOMEM; a failure after the first
 * view leaves buf partly filled. */
enum mc_err mc_mapping_read(struct mc_mapping *m, uint64_t off, void *buf,
                            size_t len);

/* Copy len bytes from buf into the mapping at off, spanning views as needed.
 * MC_ERDONLY for readonly mappings, MC_ERANGE as for read. Bumps the
 * generation and the modified time (which never goes backwards, and for a
 * shared file survives kill -9 through the file's mtime). Does not flush, even for writethrough
 * mappings: a caller writing one request in several chunks calls
 * mc_mapping_write_done() once at the end. */
enum mc_err mc_mapping_write(struct mc_mapping *m, uint64_t off,
                             const void *buf, size_t len);

/* Copy each of the n ranges r[i] into dst[i] (r[i].len bytes), as one
 * consistent snapshot: all ranges are locked shared at once. MC_ERANGE when
 * any range is outside the mapping (nothing copied). */
enum mc_err mc_mapping_readv(struct mc_mapping *m, const struct mc_range *r,
                             size_t n, void *const dst[]);

/* Write each of the n ranges r[i] from src[i] (r[i].len bytes), as one
 * atomic write: every bound is checked before the first byte is
 * copied (MC_ERANGE writes nothing), and all ranges are locked exclusively at
 * once, so readers see all of it or none. Bumps the generation once. Errors
 * as for mc_mapping_write. */
enum mc_err mc_mapping_writev(struct mc_mapping *m, const struct mc_range *r,
                              size_t n, const void *const src[]);

/* As mc_mapping_writev; *new_generation (may be NULL) gets the generation
 * this write produced (the current one when nothing was written), which is
 * what an ETag for the write must name even if later writes follow. */
enum mc_err mc_mapping_writev_gen(struct mc_mapping *m,
                                  const struct mc_range *r, size_t n,
                                  const void *const src[],
                                  uint64_t *new_generation);

/* A precondition on a mapping's generation (If-Match, If-None-Match): true
 * lets a conditional write proceed. It runs under the write's lock, so it
 * must be quick and must not call into the mapping. */
typedef bool mc_generation_test(const void *cls, uint64_t generation);

/* Conditional mc_mapping_writev: locks the whole mapping exclusively, then
 * writes only when test(cls, generation) holds; otherwise MC_EPRECONDITION
 * and nothing is written. Test and write are atomic against every other
 * write of the mapping. *new_generation (may be NULL) as for
 * mc_mapping_writev_gen. */
enum mc_err mc_mapping_writev_if(struct mc_mapping *m,
                                 const struct mc_range *r, size_t n,
                                 const void *const src[],
                                 mc_generation_test *test, const void *cls,
                                 uint64_t *new_generation);

/* Finish a write of [off, off+len): for writethrough mappings flush it to
 * stable storage (msync + fdatasync) before returning; otherwise MC_OK at
 * once. */
enum mc_err mc_mapping_write_done(struct mc_mapping *m, uint64_t off,
                                  uint64_t len);

/* Flush [off, off+len) to stable storage: msync(MS_SYNC) of the views that
 * are mapped over the page-aligned range, then fdatasync. len 0 means "to the
 * end". *flushed (may be NULL) receives the bytes covered, clamped to the
 * size. Writecopy mappings have nothing to flush (their pages are private
 * by request): MC_OK, 0 bytes. Memory mappings have no stable storage at
 * all: MC_EUNSUPPORTED, so nobody mistakes their bytes for durable ones. */
enum mc_err mc_mapping_flush(struct mc_mapping *m, uint64_t off, uint64_t len,
                             uint64_t *flushed);

/* Grow or shrink to new_size and persist the catalog. Growing a commit
 * mapping reserves the blocks first (MC_ENOSPC and no change when the disk is
 * full). Shrinking truncates the file once no view of the mapping is pinned
 * (at once when none is); new requests see the new size immediately. Bytes
 * that come back by growing again read as zero. MC_ECONFLICT for readonly and
 * writecopy mappings; MC_EZEROSIZE for 0; MC_ETOOBIG above the maximum;
 * MC_EMEMLIMIT when growing a memory mapping would pass the catalog's memory
 * budget (mc_memory.h; nothing changes). */
enum mc_err mc_mapping_resize(struct mc_mapping *m, uint64_t new_size);

/* Copy m's content type into buf (MC_CONTENT_TYPE_MAX + 1 bytes). Can't
 * fail; takes only the mapping lock (for the read path). */
void mc_mapping_content_type(struct mc_mapping *m,
                             char buf[MC_CONTENT_TYPE_MAX + 1]);

/* Change m's content type and persist the catalog (file backings); on a
 * failed persist the old type comes back. Neither the bytes, nor the
 * generation, nor modified_at change: it is metadata. MC_EINVAL when
 * !mc_content_type_valid(type). */
enum mc_err mc_mapping_set_content_type(struct mc_mapping *m,
                                        const char *type);

/* Pin the view that holds byte off. On success *data points at byte off and
 * *len is the number of bytes from there to the end of the view or of the
 * mapping, whichever comes first (always >= 1). The memory is readable; it is
 * writable only through mc_mapping_write(). MC_ERANGE when off >= size;
 * MC_EBUSY when the cache is full of pinned views; MC_EDAMAGED and
 * MC_ETRUNCATED as for mc_mapping_read(). */
enum mc_err mc_view_acquire(struct mc_mapping *m, uint64_t off,
                            struct mc_view **out, const uint8_t **data,
                            size_t *len);

/* Add bytes to the mapping's bytes_read figure. mc_mapping_read counts by
 * itself; a caller serving straight from pinned views counts here what it
 * actually served, since a view pins more than one response uses. Can't
 * fail. */
void mc_mapping_count_read(struct mc_mapping *m, uint64_t bytes);

/* Unpin a view. Can't fail; v may be NULL. Safe from any thread, including
 * libmicrohttpd's response-free callbacks. */
void mc_view_release(struct mc_view *v);

/* memcpy(dst, src, n) for src pointing into a pinned view, surviving the
 * SIGBUS that touching it raises when the backing file was truncated behind
 * the server's back (or a page cannot be read in). True when every byte was
 * copied; false otherwise (dst then holds an unspecified prefix). For code
 * outside mapcore that must read view memory itself, such as a TLS layer
 * encrypting a zero-copy body in user space: the kernel's send() turns such
 * a fault into EFAULT, but a user-space reader would be killed. Safe from any
 * thread once a catalog has been opened (which installs the handler). */
bool mc_view_copy(void *dst, const void *src, size_t n);

/* Ask the kernel to read [data, data+n) of a pinned view in ahead of use.
 * Views are mapped for random access (no read-around), so a caller about to
 * send a large slice says so; the reads then overlap the sending. */
void mc_view_will_need(const void *data, size_t n);

/* How many SIGBUS faults copies into or out of views have caught since the
 * process started (truncated backing files, sparse pages on a full disk).
 * Each one failed a request instead of killing the server. Can't fail. */
uint64_t mc_faults_total(void);

#endif
