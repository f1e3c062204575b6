/* mc_catalog.h - the catalog of named mappings in a data directory.
 *
 * The catalog owns the data directory: it creates it if missing, loads the
 * persisted catalog (<data>/.mmapd/catalog.db, an SQLite store; a
 * catalog.json of version 1 is imported first) at open, and writes the one
 * record that changed, durably, at every create, resize and remove, at a
 * cost independent of the number of mappings. Memory-backed mappings are
 * never persisted.
 * It also owns the one view cache shared by all of its mappings.
 *
 * Thread safety: every function may be called from many threads at once,
 * except mc_catalog_open/close, which must not race with anything else.
 *
 * Caveats: mappings handed out are new references; the caller unrefs them.
 * A mapping removed from the catalog stays usable through references already
 * held (its views stay valid), as a Win32 view outlives CloseHandle.
 */
#ifndef MAPCORE_MC_CATALOG_H
#define MAPCORE_MC_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mapcore/mc_error.h"
#include "mapcore/mc_mapping.h"
#include "mapcore/mc_memory.h"
#include "mapcore/mc_viewcache.h"

struct mc_catalog; /* opaque */

struct mc_catalog_options {
    const char *data_dir;  /* created (one level) if missing */
    uint64_t view_size;    /* 0: MC_DEFAULT_VIEW_SIZE; else power of two >= page */
    uint64_t cache_bytes;  /* 0: MC_DEFAULT_CACHE_BYTES */
    uint64_t max_map_size; /* 0: MC_DEFAULT_MAX_MAP_SIZE */
    uint64_t max_memory;   /* total size of memory-backed mappings;
                            * 0: mc_memory_default() (mc_memory.h) */
    uint64_t max_open_files; /* backing files kept open while idle;
                              * 0: mc_catalog_default_open_files(other_fds) */
    uint64_t other_fds; /* descriptors the rest of the process may hold at
                         * once (its connections): what the default of
                         * max_open_files leaves them */
};

/* The default of max_open_files: the process's open-file limit
 * (RLIMIT_NOFILE, soft) as it is now, less other_fds and 256 more for the
 * rest of the process (listeners, the store, logs), but never less than
 * half the limit (below a limit of 128: an eighth, at least 4). A file
 * mapping holds a descriptor only while in use or among the max_open_files
 * most recently used, so the number of mappings is not bounded by the
 * limit; but every request to a mapping outside that set opens and closes
 * its file, so the more of them fit, the cheaper a large catalog is to
 * serve. */
uint64_t mc_catalog_default_open_files(uint64_t other_fds);

#define MC_DEFAULT_VIEW_SIZE (2ull << 20)       /* 2 MiB */
#define MC_DEFAULT_CACHE_BYTES (1ull << 30)     /* 1 GiB */
#define MC_DEFAULT_MAX_MAP_SIZE (1ull << 40)    /* 1 TiB */

/* What a create-or-open request asks for. A field counts only when its bit is
 * set in `given`; the rest take defaults (file, derived file path = the name,
 * current file size, readwrite, commit, not writethrough). */
enum {
    MC_SPEC_BACKING = 1u << 0,
    MC_SPEC_FILE = 1u << 1,
    MC_SPEC_SIZE = 1u << 2,
    MC_SPEC_PROTECTION = 1u << 3,
    MC_SPEC_ALLOCATION = 1u << 4,
    MC_SPEC_WRITETHROUGH = 1u << 5,
    MC_SPEC_CONTENT_TYPE = 1u << 6,
};
struct mc_spec {
    unsigned given;
    enum mc_backing backing;
    const char *file; /* borrowed; relative path */
    uint64_t size;
    enum mc_protection protection;
    enum mc_allocation allocation;
    bool writethrough;
    /* Default MC_CONTENT_TYPE_DEFAULT; an open with a different one is
     * MC_ECONFLICT, like every other given field. Borrowed. */
    const char *content_type;
    /* Optional (NULL: anyone may). Who may share the backing file with the
     * caller: a create (not an open) whose file (explicit or by default;
     * judged by the file itself, so links name the same file) is used by
     * another mapping whose name may_share(share_cls, name) refuses fails
     * with MC_EDENIED, nothing changed. Called under an internal lock: it must
     * not call into mapcore. */
    bool (*may_share)(void *cls, const char *name);
    void *share_cls;
    /* Optional (NULL: not a snapshot): the source and source_etag the new
     * mapping records (mc_info; mc_catalog_snapshot sets them). Borrowed;
     * ignored by an open. */
    const char *source;
    const char *source_etag;
};

/* Open (or create) the catalog in opt->data_dir and load its mappings.
 * Loading reads the store only, so its cost per mapping is the same however
 * many there are and involves no system call: each backing file is opened
 * and checked at the mapping's first use (mc_catalog_get, or a create that
 * opens it) or by a background walk over every mapping that starts here,
 * whichever comes first. Mappings whose backing file is missing, shorter
 * than recorded or not a regular file become damaged then (reported in
 * mc_info) rather than dropped: a listing reports `damaged` once the check
 * has been made (mc_catalog_wait_checked). MC_EINUSE while another process
 * has the data directory open as a catalog (it is locked, flock, for as long
 * as the catalog is open). MC_ECORRUPT when the store or a
 * catalog.json to import exists but cannot be read: the file is left
 * untouched. On success *out is a new catalog. */
enum mc_err mc_catalog_open(const struct mc_catalog_options *opt,
                            struct mc_catalog **out);

/* Wait until the walk begun by mc_catalog_open has checked the backing of
 * every mapping loaded (a mapping it could not check for want of
 * descriptors is checked at its first use instead). */
void mc_catalog_wait_checked(struct mc_catalog *cat);

/* Flush every file-backed mapping, persist, unmap everything, free. Must not
 * race with other calls; references still held elsewhere become invalid.
 * cat may be NULL. */
void mc_catalog_close(struct mc_catalog *cat);

/* CreateFileMapping: create `name` from spec, or open it when it exists and
 * spec is compatible (every given field equal, content type included, size at most the current
 * size). *created tells which. create_only turns an existing name into
 * MC_EEXIST. Errors: MC_ENAME, MC_EPATH, MC_EUNSUPPORTED, MC_EZEROSIZE,
 * MC_ETOOBIG, MC_ENOFILE (readonly/writecopy of a missing file), MC_ENOSPC,
 * MC_ECONFLICT, MC_EDENIED (spec->may_share refused a user of the file),
 * MC_EIO, and MC_EMEMLIMIT when a new memory-backed mapping does not fit
 * the memory budget (checked before anything is allocated). On failure
 * nothing is left behind: no catalog entry, and no file that this call
 * created. On success *out is a new reference. */
enum mc_err mc_catalog_create(struct mc_catalog *cat, const char *name,
                              const struct mc_spec *spec, bool create_only,
                              struct mc_mapping **out, bool *created);

/* OpenFileMapping: *out is a new reference to `name`, or MC_ENOTFOUND. */
enum mc_err mc_catalog_get(struct mc_catalog *cat, const char *name,
                           struct mc_mapping **out);

/* Remove `name` from the catalog and persist. With unlink_file the backing
 * file is unlinked too (memory backings have none); MC_ESHARED, nothing
 * changed, while other mappings use that file. References still held keep
 * working until dropped. MC_ENOTFOUND when absent. Works on a full file
 * system: the catalog save may use the reserve (see reserve.c). */
enum mc_err mc_catalog_remove(struct mc_catalog *cat, const char *name,
                              bool unlink_file);

/* Snapshot of every mapping, sorted by name. *out is a new malloc'ed array of
 * *count entries for the caller to free(); NULL when count is 0. */
enum mc_err mc_catalog_list(struct mc_catalog *cat, struct mc_info **out,
                            size_t *count);

/* One page of the listing: at most limit mappings (file and memory) whose
 * names start with prefix (NULL or "": any) and sort after `after` (NULL or
 * "": from the first), in byte order of their names. *more tells whether
 * such names exist past the page. *out is a new malloc'ed array of *count
 * entries for the caller to free(); NULL when count is 0. The cost grows
 * with limit and the log of the number of mappings, not with the number. */
enum mc_err mc_catalog_list_page(struct mc_catalog *cat, const char *prefix,
                                 const char *after, size_t limit,
                                 struct mc_info **out, size_t *count,
                                 bool *more);

/* Number of mappings in the catalog. */
size_t mc_catalog_count(struct mc_catalog *cat);

/* Flush every file-backed mapping to stable storage and persist. */
enum mc_err mc_catalog_sync(struct mc_catalog *cat);

/* Figures of the memory budget (mc_memory.h). Can't fail. */
void mc_catalog_memory(struct mc_catalog *cat, struct mc_memory_stats *out);

/* Figures of the shared view cache. Can't fail. */
void mc_catalog_cache_stats(struct mc_catalog *cat, struct mc_cache_stats *out);

/* The effective options (defaults filled in). */
void mc_catalog_options_get(struct mc_catalog *cat,
                            struct mc_catalog_options *out);

/* True when the data directory is writable right now (readyz probe). */
bool mc_catalog_writable(struct mc_catalog *cat);

#endif
