/* internal.h - what the files of mapcore share and nobody else may use.
 *
 * Functions here take the mc__ prefix: they are module-internal, not API.
 *
 * Lock order (take them in this order, release in reverse, never backwards):
 *
 *   mapping resize_lock  serialises resizes of one mapping, held across the
 *                        catalog persist that makes a resize durable.
 *   catalog check_lock   serialises the first check of a mapping's backing
 *                        (catalog.c: loading reads records only; each file
 *                        is opened and checked at its first use, or by the
 *                        background walk). Held across that open and
 *                        fstat; taken with no other mapcore lock held.
 *   catalog create_lock  serialises create and remove (the only table writers
 *                        that do file I/O), so two creates of one name cannot
 *                        race on the backing file; resizes of file mappings
 *                        take it too, so mappings sharing a file never
 *                        change its size at once (resize.c).
 *   catalog persist_lock serialises catalog saves with the reserve.
 *   store lock           (store.c) the store's one connection. A leaf.
 *   catalog table lock   (rwlock) the name -> mapping table. Held only to look
 *                        up, insert, remove or snapshot; never across I/O.
 *   mapping range lock   (rangelock.c) byte ranges held shared by readers
 *                        and exclusive by writers for the length of one
 *                        copy. Its own mutex is held only to edit the table.
 *   mapping lock         size, pin count and deferred truncation of one
 *                        mapping. Held across that mapping's ftruncate and
 *                        fallocate, because a grow racing a deferred shrink
 *                        would otherwise truncate freshly grown bytes. Resizes
 *                        are rare admin operations, so readers of the same
 *                        mapping waiting for a fallocate is an accepted cost.
 *   cache lock           the shared view cache. Never held across mmap,
 *                        munmap, msync or any file I/O; and nothing that can
 *                        take another lock is called under it.
 *   files lock           (sharing.c) the registry of backing files in use
 *                        and each user's need. A leaf like the cache lock:
 *                        nothing is taken under it.
 *   mapping lease_lock   (lease.c) the write lease of one mapping. A leaf:
 *                        held to read or change the lease, nothing else.
 *
 * Reference rules: the catalog table holds one reference per mapping; a
 * pinned view holds one reference to its mapping (taken in mapping.c), so a
 * mapping with pinned views cannot be destroyed. Cached but unpinned views
 * hold none: destroying a mapping drops its views from the cache first.
 */
#ifndef MAPCORE_INTERNAL_H
#define MAPCORE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "mapcore/mc_catalog.h"
#include "mapcore/mc_error.h"
#include "mapcore/mc_lease.h"
#include "mapcore/mc_mapping.h"
#include "mapcore/mc_memory.h"
#include "mapcore/mc_viewcache.h"

/* ---- error.c ---------------------------------------------------------- */

/* Remember the errno behind a translated error for mc_last_errno(). */
void mc__set_last_errno(int err);

/* ---- sys.c: every system call that touches files or mappings ----------- */

/* Translate err (an errno value) to a library code once, and remember it for
 * mc_last_errno(). Path errors (EXDEV/ELOOP from RESOLVE_BENEATH, ENOTDIR,
 * EISDIR) become MC_EPATH; ENOENT MC_ENOFILE; ENOSPC/EDQUOT MC_ENOSPC;
 * ENOMEM/EAGAIN MC_ENOMEM; EFBIG MC_ETOOBIG; EMFILE/ENFILE MC_ENOFD; EISDIR
 * and ENXIO (a socket or driverless device) MC_ENOTREG; anything else
 * MC_EIO. */
enum mc_err mc__sys_err(int err);

/* Open (creating one level, 0750, if missing) the data directory. */
enum mc_err mc__sys_open_datadir(const char *path, int *dirfd);

/* Take the data directory dirfd for this process (flock, exclusive, not
 * waiting): MC_EINUSE while another process (another mmapd) has it. Held
 * until dirfd is closed; two users of one data directory would each
 * believe their own catalog. */
enum mc_err mc__sys_lock_dir(int dirfd);

/* Open the directory `name` (one component) under dirfd, creating it 0750
 * when create is set. *created tells whether this call made it. */
enum mc_err mc__sys_open_subdir(int dirfd, const char *name, bool create,
                                int *fd, bool *created);

/* Open the relative path beneath dirfd. With may_create, a missing file is
 * created 0640 (and missing parent directories 0750), and *created says so;
 * the file is opened with O_EXCL then, so *created is exact even when two
 * callers race. A symlink leading outside dirfd (or any symlink when openat2
 * is unavailable) gives MC_EPATH; a missing file MC_ENOFILE. Anything but a
 * regular file (FIFO, device, socket, directory) is refused with MC_ENOTREG,
 * and never blocks: the open is O_NONBLOCK. out_st (may be NULL) gets the
 * opened file's fstat, taken anyway for that check. */
enum mc_err mc__sys_open_beneath(int dirfd, const char *path, bool writable,
                                 bool may_create, int *fd, bool *created,
                                 struct stat *out_st);
/* Tell the kernel reads of fd are random (POSIX_FADV_RANDOM): no readahead
 * around a pread miss. It holds for this open file only, so a reopen needs
 * it again. Callers that know the file's size skip it for files no larger
 * than MC__HINT_RANDOM_MIN (what readahead could add to a read of them is
 * the rest of the file, less than the syscall costs: fdcache.c). */
void mc__sys_hint_random(int fd);
#define MC__HINT_RANDOM_MIN (128u * 1024) /* the default read_ahead_kb */

/* fsync every directory on the way to the relative path beneath dirfd: its
 * parent, that one's parent, ... and dirfd itself, so a file (and any parent
 * directories) just created there stay named after a crash. */
enum mc_err mc__sys_sync_parents(int dirfd, const char *path);

/* Unlink the relative path beneath dirfd (its parent resolved beneath). */
enum mc_err mc__sys_unlink_beneath(int dirfd, const char *path);

/* Turn openat2 off (tests use it to exercise the component-walk fallback). */
void mc__sys_disable_openat2(bool off);

/* fstat(fd): what the file is (st_dev, st_ino), whatever path led to it. */
enum mc_err mc__sys_identify(int fd, struct stat *st);
/* Size of the file `name` directly under dirfd (symlinks not followed). */
enum mc_err mc__sys_size_at(int dirfd, const char *name, uint64_t *size);

/* Size of an open file. */
enum mc_err mc__sys_file_size(int fd, uint64_t *size);
/* Modification time of an open file, Unix epoch milliseconds (floor). */
enum mc_err mc__sys_file_mtime_ms(int fd, int64_t *ms);
/* Set the file's modification time to now (futimens UTIME_NOW). Best
 * effort; errors are ignored. */
void mc__sys_stamp(int fd);
/* Set the file size (ftruncate). */
enum mc_err mc__sys_truncate(int fd, uint64_t size);
/* Reserve blocks for [off, off+len) (posix_fallocate); may extend the file. */
enum mc_err mc__sys_reserve(int fd, uint64_t off, uint64_t len);
/* Make [off, off+len) read as zeros without changing the size: punch a hole,
 * or write zeros where the filesystem cannot punch. */
enum mc_err mc__sys_zero_range(int fd, uint64_t off, uint64_t len);
/* Punch a hole over [off, off+len), size kept; MC_EUNSUPPORTED where the
 * filesystem cannot (nothing changed then). */
enum mc_err mc__sys_punch(int fd, uint64_t off, uint64_t len);
/* Make [off, off+len) read as zeros with its blocks still allocated
 * (ZERO_RANGE; else punch or write zeros, then reserve again). */
enum mc_err mc__sys_zero_keep(int fd, uint64_t off, uint64_t len);
/* The first data at or after off (SEEK_DATA) and the hole that ends it
 * (SEEK_HOLE): *found false when there is none before the end of file. */
enum mc_err mc__sys_next_data(int fd, uint64_t off, bool *found,
                              uint64_t *data, uint64_t *hole);
/* Make dst share src's blocks (ioctl FICLONE, a reflink): MC_EUNSUPPORTED
 * where the file systems cannot (nothing changed then). */
enum mc_err mc__sys_clone(int dst, int src);
/* Copy [off, off+len) of src to the same offsets of dst in the kernel
 * (copy_file_range, which may share blocks itself): MC_EUNSUPPORTED when
 * it cannot between these files (another file system, a memfd) before any
 * byte moved; the caller copies through memory then. */
enum mc_err mc__sys_copy_range(int src, int dst, uint64_t off, uint64_t len);
/* Write exactly len bytes at off. */
enum mc_err mc__sys_pwrite(int fd, const void *buf, size_t len, uint64_t off);
/* fdatasync / fsync. */
/* Read exactly len bytes at off: MC_ETRUNCATED when the file ends first. */
enum mc_err mc__sys_pread(int fd, void *buf, size_t len, uint64_t off);
enum mc_err mc__sys_datasync(int fd);
enum mc_err mc__sys_fsync(int fd);
/* fdatasync, fsync and msync calls made by this process so far (tests
 * count what a shutdown flushes). */
uint64_t mc__sys_sync_count(void);
/* close(fd) when fd >= 0; errors are ignored (nothing useful to do). */
void mc__sys_close(int fd);

/* A memfd of size bytes, sealed against shrinking (F_SEAL_SHRINK|SEAL_SEAL)
 * so nobody can cause SIGBUS by truncating it; commit reserves the pages. */
enum mc_err mc__sys_memfd(const char *name, uint64_t size, bool commit,
                          int *fd);

/* mmap len bytes of fd at off; writable views are PROT_READ|PROT_WRITE,
 * private ones MAP_PRIVATE (copy-on-write). */
enum mc_err mc__sys_map(int fd, uint64_t off, size_t len, bool writable,
                        bool private_copy, void **out);
void mc__sys_unmap(void *addr, size_t len);
/* Start reading [addr, addr+len) of a mapping in (MADV_WILLNEED). */
void mc__sys_will_need(const void *addr, size_t len);
/* msync(MS_SYNC) of [addr, addr+len); addr must be page aligned. */
enum mc_err mc__sys_msync(void *addr, size_t len);

/* Read a whole small file (at most max bytes) under dirfd into a new
 * NUL-terminated buffer. MC_ENOFILE when missing; MC_ETOOBIG above max;
 * MC_ENOTREG (without blocking) when it is not a regular file. */
enum mc_err mc__sys_read_file(int dirfd, const char *name, size_t max,
                              char **buf, size_t *len);
/* renameat(from, to) within dirfd, then fsync dirfd. */
enum mc_err mc__sys_rename_sync(int dirfd, const char *from, const char *to);
/* True when dirfd's directory is writable for us right now. */
bool mc__sys_dir_writable(int dirfd);

/* Wall-clock time in Unix epoch milliseconds. */
int64_t mc__now_ms(void);
/* The same from the coarse clock the kernel stamps files with, so a file
 * stamped after this call has an mtime (floored to ms) at least this. */
int64_t mc__now_coarse_ms(void);
/* The system page size. */
uint64_t mc__page_size(void);

/* ---- viewcache.c -------------------------------------------------------- */

struct mc_viewcache;

/* A cached view. The public struct mc_view * handed out by mc_view_acquire
 * is this entry itself; it stays valid while pinned. */
struct mc_view {
    struct mc_mapping *m; /* borrowed: views are dropped before m dies */
    uint64_t mapping_id;
    uint64_t index; /* which view_size-aligned window of the mapping */
    uint8_t *base;  /* len bytes mapped */
    size_t len;     /* view_size, or less for the end of a small mapping */
    bool orphan;    /* replaced by a longer view while pinned: out of the
                     * table, unmapped at its last release */
    /* Everything below is protected by the cache lock. */
    unsigned pins;
    bool sticky; /* a written writecopy view: never evicted */
    struct mc_view *hash_next;
    struct mc_view *lru_prev, *lru_next; /* linked iff pins == 0 && !sticky */
    struct mc_view *m_prev, *m_next;     /* all views of m */
};

enum mc_err mc__viewcache_create(uint64_t view_size, uint64_t budget,
                                 struct mc_viewcache **out);
/* Unmap every view and free. No view may be pinned. vc may be NULL. */
void mc__viewcache_destroy(struct mc_viewcache *vc);
uint64_t mc__viewcache_view_size(const struct mc_viewcache *vc);

/* Pin the view `index` of m, mapping it on a miss; size is m's size now:
 * a view reaching past its end maps only up to the end, rounded up to
 * pages (not for private mappings, whose written views must stay). A
 * cached view shorter than that (m grew since) is replaced. MC_EBUSY when the budget
 * is reached and nothing can be evicted. With may_decline, a miss that would
 * have to evict is declined the first time its view is asked for (MC_OK
 * with *out NULL: read the backing directly) and admitted only when asked
 * again soon after, so a stream of cold reads cannot churn the cache. */
enum mc_err mc__viewcache_acquire(struct mc_viewcache *vc, struct mc_mapping *m,
                                  uint64_t index, uint64_t size,
                                  bool may_decline, struct mc_view **out);
/* Unpin v (it becomes evictable at zero pins unless sticky). */
void mc__viewcache_release(struct mc_viewcache *vc, struct mc_view *v);
/* Keep v mapped until its mapping dies (v must be pinned). */
void mc__viewcache_set_sticky(struct mc_viewcache *vc, struct mc_view *v);
/* Unmap the unpinned views of m with index >= first. Pinned ones stay. */
void mc__viewcache_drop(struct mc_viewcache *vc, struct mc_mapping *m,
                        uint64_t first);
/* Pin the views of m currently mapped with first <= index <= last; *out gets
 * a new malloc'ed array (NULL when none). Release each, then free. */
enum mc_err mc__viewcache_pin_range(struct mc_viewcache *vc,
                                    struct mc_mapping *m, uint64_t first,
                                    uint64_t last, struct mc_view ***out,
                                    size_t *count);
/* Number of views of m mapped now. */
uint64_t mc__viewcache_count(struct mc_viewcache *vc, struct mc_mapping *m);
void mc__viewcache_stats(struct mc_viewcache *vc, struct mc_cache_stats *out);

/* ---- rangelock.c -------------------------------------------------------- */

/* One granted or waiting range of a request; see rangelock.c. */
struct mc__range_ent {
    uint64_t first;
    uint64_t end; /* one past the last byte */
    uint64_t ticket;
    bool exclusive;
};

/* Byte-range locks of one mapping. mu guards the table only; a range "held"
 * is a logical lock, so taking the mapping lock or the cache lock while
 * holding ranges is fine (the range lock comes first in the lock order). */
struct mc__rangelock {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct mc__range_ent *ent; /* granted and waiting entries */
    size_t n;
    size_t cap;
    uint64_t next_ticket;
};

void mc__rangelock_init(struct mc__rangelock *rl);
/* No range may be held. */
void mc__rangelock_destroy(struct mc__rangelock *rl);
/* Take all n ranges (bounds already checked) at once, shared or exclusive,
 * waiting for earlier conflicting requests. *ticket names the hold for
 * unlock. MC_ENOMEM when the table cannot grow (nothing is held then). */
enum mc_err mc__rangelock_lock(struct mc__rangelock *rl,
                               const struct mc_range *r, size_t n,
                               bool exclusive, uint64_t *ticket);
void mc__rangelock_unlock(struct mc__rangelock *rl, uint64_t ticket);

/* ---- guard.c: copies that survive SIGBUS -------------------------------- */

/* Install the process-wide SIGBUS handler once (mc_catalog_open does). Safe
 * to call from any thread, any number of times. */
void mc__guard_install(void);
/* True once the handler is in place. */
bool mc__guard_installed(void);
/* memcpy(dst, src, n) where `mapped` (dst or src) points into a view. True
 * when the copy completed; false when touching mapped raised SIGBUS, with
 * the faulting address in *fault (the bytes before it may have moved). */
bool mc__guard_copy(void *dst, const void *src, size_t n, const void *mapped,
                    uintptr_t *fault);
/* Call fn(arg) under the same guard, for short code that touches
 * [mapped, mapped + n) of a view and nothing but its own locals (no locks,
 * no allocation): true when it returned, false when touching the range
 * raised SIGBUS (fn stopped there; *fault as above). */
bool mc__guard_call(void (*fn)(void *arg), void *arg, const void *mapped,
                    size_t n, uintptr_t *fault);

/* ---- membudget.c: the budget of memory-backed mappings ----------------- */

struct mc__membudget {
    uint64_t limit;            /* constant after init */
    atomic_uint_fast64_t used; /* bytes charged; changed by CAS only */
    atomic_uint_fast64_t refused;
};

void mc__membudget_init(struct mc__membudget *b, uint64_t limit);
/* Charge bytes when they fit whole (MC_OK), else change nothing, count a
 * refusal and return MC_EMEMLIMIT. Safe from any thread. */
enum mc_err mc__membudget_charge(struct mc__membudget *b, uint64_t bytes);
/* Give back bytes charged before. b may be NULL (nothing to do). */
void mc__membudget_release(struct mc__membudget *b, uint64_t bytes);
void mc__membudget_stats(struct mc__membudget *b, struct mc_memory_stats *out);

/* ---- lease.c ------------------------------------------------------------ */

/* A mapping's lease as kept (mc_lease.h); expired and broken are derived
 * from the clock. Guarded by the mapping's lease_lock, a leaf lock. */
struct mc__lease {
    enum mc_lease_state state; /* available, leased or breaking */
    char id[MC_LEASE_ID_MAX + 1];
    int32_t duration_s;
    int64_t ends_ms; /* leased: expiry (INT64_MAX: infinite); breaking: end */
    uint64_t epoch;
};

/* ---- slab.c: memory for the mappings a start loads --------------------- */

/* Zero-initialised: no blocks. Not thread-safe: one user at a time. */
struct mc__slab {
    struct block *head;
};

/* n zeroed bytes, 16-byte aligned, or NULL when out of memory. */
void *mc__slab_alloc(struct mc__slab *s, size_t n);
/* Unmap every block; nothing allocated from s may be used after. */
void mc__slab_free_all(struct mc__slab *s);

/* ---- mapping.c ---------------------------------------------------------- */

struct mc__events;

struct mc_mapping {
    atomic_uint_fast64_t refs;
    uint64_t id;
    struct mc_catalog *cat;  /* borrowed back pointer, to persist on resize */
    struct mc_viewcache *vc; /* borrowed: the catalog's shared cache */
    uint64_t max_size;       /* the catalog's max_map_size */
    /* Owned; -1 for a damaged mapping. A file mapping in the catalog's
     * open-file cache (fdc set) may have it closed while idle: use it only
     * between mc__fd_get and mc__fd_put (fdcache.c). */
    int fd;
    struct mc__fdcache *fdc; /* borrowed; NULL: fd is open for life */
    bool in_slab; /* memory from the catalog's slab: not freed alone */
    /* Protected by the fdcache lock. */
    unsigned fd_users;
    bool fd_idle;
    struct mc_mapping *fd_prev, *fd_next;
    dev_t fd_dev; /* what the file is: checked at every reopen */
    ino_t fd_ino;
    bool writable_map;       /* views mapped PROT_WRITE */
    bool private_map;        /* views mapped MAP_PRIVATE (writecopy) */
    /* Constant after creation. name and file point into strs below (one
     * allocation of their own lengths: a catalog of a million mappings
     * holds every one of these in memory). */
    const char *name;
    const char *file; /* "" for memory mappings */
    enum mc_backing backing;
    enum mc_protection protection;
    enum mc_allocation allocation;
    bool writethrough;
    /* Found missing, short or not a regular file by the check of its
     * backing (catalog.c); set once, before `checked`, never cleared. */
    atomic_bool damaged;
    /* The backing was checked (always, for a mapping made by a create):
     * until then fd is -1 and fdc NULL, and only the catalog's check may
     * touch them. Set with release once the check is done. */
    atomic_bool checked;
    int64_t created_at_ms;
    /* The catalog's budget this memory mapping is charged to (borrowed;
     * NULL: charged nowhere, as for file mappings), and the bytes charged:
     * its size. Set before the mapping is shared, then changed only under
     * resize_lock; given back when the mapping is destroyed. */
    struct mc__membudget *budget;
    uint64_t charged;

    pthread_mutex_t lock; /* protects the fields up to the next comment */
    uint64_t size;        /* logical size: every bound is checked against it */
    /* Changed only under resize_lock too (content_type.c), so a failed
     * persist restores the value it replaced. Points to the literal
     * MC_CONTENT_TYPE_DEFAULT (most mappings), into strs (a type given at
     * creation) or, with content_type_heap, to a string of its own (a type
     * set later): 128 bytes inline were a sixth of a mapping's memory. */
    const char *content_type;
    bool content_type_heap;
    unsigned pins;        /* acquisitions in flight or views pinned */
    bool trunc_pending;   /* a shrink waits for pins to reach zero */
    bool trunc_hold;      /* a shrink waits for its catalog persist: the
                           * file must not be cut before the catalog says
                           * the smaller size (resize.c) */

    /* Serialises resizes of this mapping, held across the catalog persist
     * that ends one. Taken before the catalog persist_lock. */
    pthread_mutex_t resize_lock;

    /* Taken around every copy into or out of the mapping (mapping.c). */
    struct mc__rangelock ranges;

    /* The write lease (lease.c), in memory only. */
    pthread_mutex_t lease_lock;
    struct mc__lease lease;

    atomic_uint_fast64_t generation;
    /* Watchers counted by mc_mapping_watch, and whether the mapping has
     * left its catalog (watch.c). */
    atomic_uint watchers;
    atomic_bool removed;
    /* The history of changes, NULL until the first subscriber (events.c). */
    _Atomic(struct mc__events *) events;
    /* Odd while a resize runs: bumped when it starts (before any byte
     * changes) and when it ends, as a seqlock's sequence. */
    atomic_uint_fast64_t resize_seq;
    /* Never goes backwards; a file backing's mtime is stamped at least as
     * late before a new value shows (mc__mapping_touch). */
    atomic_int_fast64_t modified_at_ms;
    atomic_int_fast64_t stamped_ms; /* the file's mtime is at least this */
    /* modified_at_ms as the store last recorded it: close saves only the
     * records that moved (catalog.c). */
    atomic_int_fast64_t saved_modified_ms;
    /* Written (or resized) since the last whole flush: a shutdown flushes
     * only these (catalog.c). */
    atomic_bool unflushed;
    atomic_uint_fast64_t bytes_read;
    atomic_uint_fast64_t bytes_written;

    /* Protected by the cache lock (owned by viewcache.c). */
    struct mc_view *views;
    uint64_t views_cached;

    /* Set by mc__files_join, cleared by mc__files_leave; NULL for memory
     * and damaged mappings. file_need and file_slot are protected by the
     * files lock (sharing.c). */
    struct mc__files *files;
    struct mc__file *file_rec;
    uint64_t file_need; /* bytes of the file this mapping needs kept */
    size_t file_slot;

    /* A snapshot's source then its source_etag (mc_info), each
     * NUL-terminated, after file in strs; NULL for every other mapping, so
     * they cost the others one pointer. */
    const char *source;

    /* name, file (and source, source_etag; and a content type other than
     * the default, given at creation), NUL-terminated */
    char strs[];
};

/* Build a mapping from meta (name, file, backing, protection, allocation,
 * writethrough, size, times). Steals fd (also on failure); fd -1 with
 * damaged. With slab, its memory comes from there (and goes with the
 * slab, not at the last unref). *out is a new reference. */
enum mc_err mc__mapping_new(struct mc_catalog *cat, struct mc_viewcache *vc,
                            uint64_t max_size, const struct mc_info *meta,
                            int fd, bool damaged, struct mc__slab *slab,
                            struct mc_mapping **out);

/* Copy buf into [off, off+len) of m, whose range the caller holds
 * exclusively in m->ranges (bounds checked by the caller); *done gets the
 * bytes copied. Bumps nothing: the caller owns the generation. */
enum mc_err mc__mapping_write_locked(struct mc_mapping *m, uint64_t off,
                                     const void *buf, size_t len,
                                     size_t *done);

/* Copy [off, off+len) of m into buf; the caller holds the range (shared
 * or exclusive) in m->ranges and checked the bounds. */
enum mc_err mc__mapping_read_locked(struct mc_mapping *m, uint64_t off,
                                    void *buf, size_t len);

/* Record a change of m's bytes or size now: stamp a shared file backing's
 * mtime (so the time survives kill -9: the catalog loads the later of its
 * record and the file's mtime), then raise modified_at_ms to now, never
 * lowering it. */
void mc__mapping_touch(struct mc_mapping *m);

/* Pin the view holding byte off for an access made in place (words.c):
 * *data points at off, writable when the mapping's views are, and *len is
 * what may be touched from there. The view is never declined. Undo with
 * mc_view_release. Errors as for mc_view_acquire. */
enum mc_err mc__mapping_pin(struct mc_mapping *m, uint64_t off,
                            struct mc_view **out, uint8_t **data, size_t *len);

/* Name the cause of a SIGBUS at mapping offset `at` that a guarded access
 * caught: MC_ETRUNCATED when the file now ends at or before it, else
 * MC_ENOSPC for a write (a sparse hole on a full disk), MC_EIO for a read. */
enum mc_err mc__mapping_fault_cause(struct mc_mapping *m, uint64_t at,
                                    bool write);

/* ---- watch.c ------------------------------------------------------------ */

/* A change of m is visible and mapcore's locks are released: call the
 * catalog's watch callback when m has watchers (mc_watch.h). One atomic
 * load when it has none. */
enum mc_change_kind;
struct mc_change;
void mc__watch_changed(struct mc_mapping *m, enum mc_change_kind kind,
                       uint64_t offset, uint64_t length, uint64_t gen);
/* mc__watch_changed for a write of the ranges r[0..n): one change from
 * the first byte written to the last. */
void mc__watch_ranges(struct mc_mapping *m, const struct mc_range *r,
                      size_t n, uint64_t gen);
/* events.c: append a change to m's history, if it keeps one; free it
 * with m. */
void mc__events_append(struct mc_mapping *m, const struct mc_change *c);
void mc__events_free(struct mc_mapping *m);
/* catalog.c: call cat's watch callback, if one is installed. */
struct mc_change;
void mc__catalog_notify(struct mc_catalog *cat, struct mc_mapping *m,
                        const struct mc_change *c);

/* ---- resize.c ----------------------------------------------------------- */

/* Drop one pin counted by acquire (mapping.c). The last pin of a mapping
 * carries out a truncation that a shrink deferred. Takes the mapping lock. */
void mc__mapping_unpin(struct mc_mapping *m);

/* ---- backing.c ---------------------------------------------------------- */

/* The effective request after defaults: what a new mapping will be. */
struct mc__backing_req {
    const char *name;
    const char *file; /* NULL for memory */
    enum mc_backing backing;
    bool size_given;
    uint64_t size;
    enum mc_protection protection;
    enum mc_allocation allocation;
    uint64_t max_size;
    /* Optional: called with an existing file's descriptor once it is open
     * and before anything changes it; an error refuses the file. */
    enum mc_err (*check)(void *cls, int fd);
    void *check_cls;
};

/* Open or create the backing of a new mapping and size it. On success *fd is
 * open, *size the final logical size and *created_file whether this call
 * created the file (the caller unlinks it if it fails later). On failure
 * nothing is left behind. */
enum mc_err mc__backing_open(int datafd, const struct mc__backing_req *req,
                             int *fd, uint64_t *size, bool *created_file);

/* ---- fdcache.c: the bounded cache of open backing files ---------------- */

struct mc__fdcache;

/* A cache keeping at most max (>= 1) idle descriptors open. */
enum mc_err mc__fdcache_create(int datafd, size_t max,
                               struct mc__fdcache **out);
/* Every member has been forgotten. c may be NULL. */
void mc__fdcache_destroy(struct mc__fdcache *c);
/* Descriptors of members open now. */
size_t mc__fdcache_open_count(struct mc__fdcache *c);
/* Make m (healthy, file-backed, its fd open, being made or having its
 * backing checked: nobody else uses its fd yet) a member: its fd may be
 * closed while idle from now on. */
void mc__fdcache_adopt(struct mc__fdcache *c, struct mc_mapping *m);
/* m's descriptor in *fd, reopened (and checked to be the same file) when
 * the cache closed it; held open until mc__fd_put. MC_EDAMAGED when the
 * file is gone or replaced (or m is damaged), MC_ENOFD when out of
 * descriptors. Mappings outside a cache get their own fd. */
enum mc_err mc__fd_get(struct mc_mapping *m, int *fd);
void mc__fd_put(struct mc_mapping *m);
/* Close m's descriptor for good (the last unref). */
void mc__fd_forget(struct mc_mapping *m);

/* ---- sharing.c: backing files several mappings use ---------------------- */

struct mc__files; /* the registry of one catalog */
struct mc__file;  /* one file in use */

enum mc_err mc__files_create(struct mc__files **out);
/* Free the registry; every user has left. f may be NULL. */
void mc__files_destroy(struct mc__files *f);
/* Register m (healthy, file-backed, being made or having its backing
 * checked: catalog.c) as a user of the file its fd is open on, needing its
 * size of it. */
enum mc_err mc__files_join(struct mc__files *f, struct mc_mapping *m);
/* Unregister m; a no-op when it never joined. The last unref calls it. */
void mc__files_leave(struct mc_mapping *m);
/* The largest need of the other users of m's file (0: none). */
uint64_t mc__files_others_need(struct mc_mapping *m);
/* Set how many bytes of the file m needs. */
void mc__files_set_need(struct mc_mapping *m, uint64_t need);
/* True when another mapping uses m's file. */
bool mc__files_shared(struct mc_mapping *m);
/* While a create sizes the existing file fd is open on, before its mapping
 * can join, count need as a need of that file; mc__files_unhold ends it.
 * Creates hold the catalog's create_lock, so there is one hold at a time. */
void mc__files_hold(struct mc__files *f, int fd, uint64_t need);
void mc__files_unhold(struct mc__files *f);
/* MC_EDENIED when the file fd is open on is used by a mapping other than
 * self (may be NULL) whose name may(cls, name) refuses; MC_OK when may is
 * NULL. may runs under the files lock and must not call into mapcore. */
enum mc_err mc__files_check(struct mc__files *f, int fd,
                            const struct mc_mapping *self,
                            bool (*may)(void *cls, const char *name),
                            void *cls);

/* ---- reserve.c: room for the catalog on a full disk --------------------- */

/* Make <data>/.mmapd/reserve hold blocks for the next catalog save (the
 * current catalog's size plus a margin). Best effort: on a full disk it
 * stays as it is. Does nothing before .mmapd exists. Callers serialise
 * reserve calls with catalog saves (the persist_lock). */
void mc__reserve_fill(int datafd);
/* Give the reserve's blocks back to the file system. */
void mc__reserve_release(int datafd);

/* ---- nameindex.c: the catalog's lookup by exact name -------------------- */

/* A hash index of mappings by name (not thread-safe: the catalog's
 * table_lock covers it). Members are borrowed: the catalog's array holds
 * their references. */
struct mc__nameindex {
    struct mc__nameslot *slots;
    size_t mask;   /* slots - 1; 0 before the first reserve */
    size_t count;
    uint64_t seed; /* of the hash, random per index */
};
void mc__nameindex_init(struct mc__nameindex *ix);
void mc__nameindex_destroy(struct mc__nameindex *ix);
/* Make room for count members, so the next adds up to count cannot fail.
 * MC_ENOMEM leaves the index as it was. */
enum mc_err mc__nameindex_reserve(struct mc__nameindex *ix, size_t count);
/* Add m (its name not indexed yet; room reserved). */
void mc__nameindex_add(struct mc__nameindex *ix, struct mc_mapping *m);
/* The member named name, or NULL. */
struct mc_mapping *mc__nameindex_find(const struct mc__nameindex *ix,
                                      const char *name);
/* Remove m if it is a member. */
void mc__nameindex_remove(struct mc__nameindex *ix,
                          const struct mc_mapping *m);

/* ---- catalog.c ---------------------------------------------------------- */

/* Persist m's record (file mappings only). Safe from any thread holding no
 * mapcore lock but m's resize_lock. frees_space says the change only gives
 * space back (a shrink): such a save may use the reserve (reserve.c) when
 * the disk is full. */
enum mc_err mc__catalog_persist(struct mc_catalog *cat, struct mc_mapping *m,
                                bool frees_space);
/* Take the reserve back after a change freed space (best effort). */
void mc__catalog_refill_reserve(struct mc_catalog *cat);
/* Take (lock) or drop the catalog's create_lock around the resize of the
 * file mapping m, so no create, remove or other resize changes the users of
 * its file or the file's size meanwhile (resize.c, sharing.c). Taking it
 * also makes every other user of m's file known (catalog.c, know_users). */
void mc__catalog_files_lock(struct mc_catalog *cat, struct mc_mapping *m,
                            bool lock);
/* Keep the walk of catalogs opened from now on from starting until called
 * with false (tests: what a first use checks alone). */
void mc__catalog_hold_walk(bool on);
/* The data directory's descriptor (constant while the catalog is open). */
int mc__catalog_datafd(const struct mc_catalog *cat);

/* ---- store.c: the durable catalog (SQLite) ------------------------------ */

/* The store, inside MC_RESERVED_DIR; and the catalog file of version 1. */
#define MC_STORE_FILE "catalog.db"
#define MC_CATALOG_V1_FILE "catalog.json"

struct mc__store;

/* Open the store of the data directory datafd (whose path is data_dir),
 * first importing a version 1 catalog.json when one exists (store.c tells
 * how that stays atomic). A data directory with neither gets nothing on
 * disk until the first put. MC_ECORRUPT when the store or catalog.json
 * cannot be read (left untouched). Thread-safe once open. */
enum mc_err mc__store_open(int datafd, const char *data_dir,
                           struct mc__store **out);
/* s may be NULL. */
void mc__store_close(struct mc__store *s);
/* Insert or update the records of e[0..count) in one durable transaction
 * (on stable storage when this returns MC_OK). Members of a stored record
 * this version does not know are kept. MC_ENOSPC on a full disk. */
enum mc_err mc__store_put(struct mc__store *s, const struct mc_info *e,
                          size_t count);
/* Delete name's record durably (no record: MC_OK). */
enum mc_err mc__store_del(struct mc__store *s, const char *name);
/* The record of name (persisted fields only), or MC_ENOTFOUND. */
enum mc_err mc__store_get(struct mc__store *s, const char *name,
                          struct mc_info *out);
/* Up to limit records, in name byte order, with names starting with prefix
 * (NULL or "": any) and greater than after (NULL or "": from the start).
 * *out: a new malloc'ed array (NULL when *count is 0). MC_ECORRUPT when a
 * record cannot be read. */
enum mc_err mc__store_page(struct mc__store *s, const char *prefix,
                           const char *after, size_t limit,
                           struct mc_info **out, size_t *count);

/* Make every put and delete fail with MC_EIO (tests of failed persists). */
void mc__store_fail_writes(bool on);

/* Set out's persisted fields but the name from the JSON object e (a
 * record); with strict, e may hold nothing else. false when malformed. */
struct json_t;
bool mc__store_parse_fields(struct json_t *e, bool strict,
                            struct mc_info *out);

/* Read one record's text into out's persisted fields but the name. The
 * fast reader takes only records in the form this code writes them
 * (compact, known members once each, ASCII strings without escapes): 1
 * with *ok the verdict, or 0 when the text is not in that form and the
 * JSON reader (jansson, every rule of JSON) must decide. For text the fast
 * reader takes, both give the same verdict and fields (fuzz_record). */
int mc__store_fast_record(const char *text, size_t len, struct mc_info *out,
                          bool *ok);
bool mc__store_json_record(const char *text, size_t len, struct mc_info *out);

/* ---- migrate.c: the catalog of version 1 -------------------------------- */

/* Load <data>/.mmapd/catalog.json into a new sorted array of entries
 * (persisted fields only; *out NULL when count is 0). MC_ENOFILE when there
 * is none; anything malformed is MC_ECORRUPT, the file untouched. */
enum mc_err mc__migrate_load_v1(int datafd, struct mc_info **out,
                                size_t *count);

#endif
