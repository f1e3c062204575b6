/* catalog.c - the table of named mappings of one data directory.
 *
 * The table is an array sorted by name under a rwlock: lookups (the hot path
 * of every data request) share it, and it is held only to look up, insert,
 * remove or snapshot, never across file I/O. Creates and removes do file I/O
 * (open, fallocate, unlink, persisting), so they are serialised by
 * create_lock instead; this keeps two creates of one name from racing on the
 * backing file, and they are rare admin operations. Persisting writes the
 * one record that changed to the store (store.c), so its cost does not grow
 * with the number of mappings; persist_lock orders saves with the reserve
 * (reserve.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "mapcore/mc_watch.h"

#include "internal.h"

struct mc_catalog {
    struct mc_catalog_options opt; /* defaults filled in; data_dir borrowed */
    int datafd;
    struct mc_viewcache *vc;
    struct mc__store *store;
    struct mc__membudget memory; /* sizes of the memory-backed mappings */
    pthread_mutex_t create_lock;
    pthread_mutex_t persist_lock;
    pthread_rwlock_t table_lock; /* protects items, count, cap, names */
    struct mc_mapping **items;   /* sorted by name; one reference each */
    size_t count;
    size_t cap;
    struct mc__nameindex names;  /* items by exact name (nameindex.c) */
    struct mc__files *files;     /* backing files in use (sharing.c) */
    struct mc__fdcache *fdc;     /* their open descriptors (fdcache.c) */
    atomic_size_t damaged;       /* damaged mappings loaded (never falls) */
    struct mc__slab slab;        /* the mappings loaded (slab.c) */
    pthread_mutex_t check_lock;  /* first checks of backings; walk_done */
    pthread_cond_t walk_cv;      /* signalled when walk_done is set */
    bool walk_done;              /* every loaded mapping was walked */
    atomic_bool walk_stop;       /* close asks the walk to end early */
    bool walker;                 /* the walk thread runs (join it) */
    pthread_t walk_thread;
    /* The watch callback (mc_watch.h): set before serving, then only read. */
    mc_watch_fn *watch_fn;
    void *watch_cls;
};

static size_t first_after(const struct mc_catalog *cat, const char *after);
static void wait_walk(struct mc_catalog *cat);
static void know_users(struct mc_catalog *cat, struct mc_mapping *m);

int mc__catalog_datafd(const struct mc_catalog *cat)
{
    return cat->datafd;
}

/* ---- the table (callers hold table_lock) -------------------------------- */

/* Index of name, or of where it would go; *found tells which. */
static size_t find(const struct mc_catalog *cat, const char *name, bool *found)
{
    size_t lo = 0, hi = cat->count;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(cat->items[mid]->name, name);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

/* Make room for one more item; the table lock is held for writing. */
static enum mc_err reserve_one(struct mc_catalog *cat)
{
    enum mc_err rc = mc__nameindex_reserve(&cat->names, cat->count + 1);

    if (rc != MC_OK)
        return rc;
    if (cat->count == cat->cap) {
        size_t cap = cat->cap ? cat->cap * 2 : 16;
        struct mc_mapping **items = realloc(cat->items, cap * sizeof *items);
        if (!items)
            return MC_ENOMEM;
        cat->items = items;
        cat->cap = cap;
    }
    return MC_OK;
}

/* Insert m (stealing its reference) at pos. */
static enum mc_err insert_at(struct mc_catalog *cat, size_t pos,
                             struct mc_mapping *m)
{
    enum mc_err rc = reserve_one(cat);

    if (rc != MC_OK)
        return rc;
    memmove(&cat->items[pos + 1], &cat->items[pos],
            (cat->count - pos) * sizeof *cat->items);
    cat->items[pos] = m;
    cat->count++;
    mc__nameindex_add(&cat->names, m);
    return MC_OK;
}

static void remove_at(struct mc_catalog *cat, size_t pos)
{
    mc__nameindex_remove(&cat->names, cat->items[pos]);
    memmove(&cat->items[pos], &cat->items[pos + 1],
            (cat->count - pos - 1) * sizeof *cat->items);
    cat->count--;
}

/* New references to every mapping, for work done without the lock. */
static enum mc_err snapshot(struct mc_catalog *cat, struct mc_mapping ***out,
                            size_t *count)
{
    enum mc_err rc = MC_OK;

    *out = NULL;
    *count = 0;
    pthread_rwlock_rdlock(&cat->table_lock);
    if (cat->count > 0) {
        struct mc_mapping **arr = malloc(cat->count * sizeof *arr);
        if (!arr) {
            rc = MC_ENOMEM;
        } else {
            for (size_t i = 0; i < cat->count; i++) {
                arr[i] = cat->items[i];
                mc_mapping_ref(arr[i]);
            }
            *out = arr;
            *count = cat->count;
        }
    }
    pthread_rwlock_unlock(&cat->table_lock);
    return rc;
}

static void unref_all(struct mc_mapping **arr, size_t count)
{
    for (size_t i = 0; i < count; i++)
        mc_mapping_unref(arr[i]);
    free(arr);
}

/* ---- persisting --------------------------------------------------------- */

/* Write one change to the store: m's record, or with del the deletion of
 * m's. With frees_space, a save that finds the disk full gives up the
 * reserve and tries again (reserve.c); every successful save refills it. */
static enum mc_err save(struct mc_catalog *cat, struct mc_mapping *m, bool del,
                        bool frees_space)
{
    struct mc_info info;
    enum mc_err rc;

    mc_mapping_info(m, &info);
    pthread_mutex_lock(&cat->persist_lock);
    rc = del ? mc__store_del(cat->store, m->name)
             : mc__store_put(cat->store, &info, 1);
    if (rc == MC_ENOSPC && frees_space) {
        mc__reserve_release(cat->datafd);
        rc = del ? mc__store_del(cat->store, m->name)
                 : mc__store_put(cat->store, &info, 1);
    }
    if (rc == MC_OK) {
        mc__reserve_fill(cat->datafd);
        if (!del)
            atomic_store(&m->saved_modified_ms, info.modified_at_ms);
    }
    pthread_mutex_unlock(&cat->persist_lock);
    return rc;
}

enum mc_err mc__catalog_persist(struct mc_catalog *cat, struct mc_mapping *m,
                                bool frees_space)
{
    return cat ? save(cat, m, false, frees_space) : MC_OK;
}

void mc__catalog_files_lock(struct mc_catalog *cat, struct mc_mapping *m,
                            bool lock)
{
    if (!cat)
        return;
    if (lock) {
        pthread_mutex_lock(&cat->create_lock);
        know_users(cat, m);
    } else
        pthread_mutex_unlock(&cat->create_lock);
}

void mc__catalog_refill_reserve(struct mc_catalog *cat)
{
    if (!cat)
        return;
    /* Under persist_lock: a refill racing a save that just gave the
     * reserve up would take its room back. */
    pthread_mutex_lock(&cat->persist_lock);
    mc__reserve_fill(cat->datafd);
    pthread_mutex_unlock(&cat->persist_lock);
}

/* ---- open and close ----------------------------------------------------- */

uint64_t mc_catalog_default_open_files(uint64_t other_fds)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 16;
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= (1u << 21))
        return 1u << 20;
    /* Below 128 the rest of the process (listener, connections, the
     * store, threads' pipes) needs most of what there is. */
    if (rl.rlim_cur < 128)
        return rl.rlim_cur / 8 > 4 ? (uint64_t)rl.rlim_cur / 8 : 4;
    uint64_t limit = (uint64_t)rl.rlim_cur, half = limit / 2;
    uint64_t others = other_fds > limit ? limit : other_fds + 256;
    return limit > others && limit - others > half ? limit - others : half;
}

/* Records read from the store at a time while loading (a page of struct
 * mc_info is 1.5 KiB a record: small pages reuse the same heap memory). */
#define LOAD_PAGE 512

static bool power_of_two(uint64_t x)
{
    return x != 0 && (x & (x - 1)) == 0;
}

/* A mapping for a persisted entry, its backing not yet checked: no system
 * call, so a start costs the same per mapping whatever the files are. The
 * backing is opened and checked by settle() below, at the mapping's first
 * use or by the walk, whichever comes first. */
static enum mc_err load_entry(struct mc_catalog *cat, const struct mc_info *e,
                              struct mc_mapping **out)
{
    enum mc_err rc = mc__mapping_new(cat, cat->vc, cat->opt.max_map_size, e,
                                     -1, false, &cat->slab, out);

    if (rc == MC_OK)
        atomic_store(&(*out)->checked, false);
    return rc;
}

/* Open and check the backing of a loaded mapping (check_lock held; m
 * unchecked, so nobody else touches its fd). A file that is missing,
 * shorter than recorded, not a regular file or now unreachable makes the
 * mapping damaged (a longer one is fine: see below): it stays listed (so
 * the operator sees it and the entry is not lost at the next persist) but
 * serves no data. Out of descriptors or memory says nothing about the
 * file: the mapping stays unchecked and the error is returned, rather than
 * marking a sound mapping damaged. */
static enum mc_err check_backing(struct mc_catalog *cat, struct mc_mapping *m)
{
    int fd = -1;
    bool created = false;
    uint64_t size = 0, recorded = mc_mapping_size(m);
    int64_t mtime = 0;
    enum mc_err rc = mc__sys_open_beneath(
        cat->datafd, m->file, m->protection == MC_PROT_READWRITE, false, &fd,
        &created, NULL);

    if (rc == MC_ENOMEM || rc == MC_ENOFD)
        return rc;
    if (rc != MC_OK || mc__sys_file_size(fd, &size) != MC_OK ||
        size < recorded) {
        mc__sys_close(fd);
        atomic_store(&m->damaged, true);
        atomic_fetch_add(&cat->damaged, 1);
        return MC_OK;
    }
    /* The catalog is saved on create, resize and close, not per write: a
     * write since the last save is dated by the file's mtime, which every
     * write stamps (mc__mapping_touch). The later of the two never goes
     * backwards, kill -9 included. A write after the record was saved
     * also means a run that ended without its shutdown flush (kill -9)
     * may have left pages the kernel has not written yet: this run's
     * shutdown flushes them. */
    if (mc__sys_file_mtime_ms(fd, &mtime) == MC_OK &&
        mtime > atomic_load(&m->modified_at_ms)) {
        atomic_store(&m->modified_at_ms, mtime);
        atomic_store(&m->unflushed, true);
    }
    /* A file longer than recorded (a shrink that crashed before its
     * truncation, a grow before its persist, or another mapping of the
     * same file that is longer) is fine. The part no user needs is stale
     * and goes at the first chance; resize.c zeroes it if a mapping grows
     * over it first. */
    if (size > recorded) {
        pthread_mutex_lock(&m->lock);
        m->trunc_pending = true;
        pthread_mutex_unlock(&m->lock);
    }
    if (size > MC__HINT_RANDOM_MIN)
        mc__sys_hint_random(fd);
    m->fd = fd;
    mc__fdcache_adopt(cat->fdc, m);
    rc = mc__files_join(cat->files, m);
    if (rc != MC_OK) {
        /* Unchecked again: the next use tries afresh. */
        mc__fd_forget(m);
        m->fdc = NULL;
    }
    return rc;
}

/* Check m's backing unless that was done: MC_OK once it was (damaged or
 * not), else the reason it could not be (MC_ENOFD, MC_ENOMEM). Called
 * with no mapcore lock held. */
static enum mc_err settle(struct mc_catalog *cat, struct mc_mapping *m)
{
    enum mc_err rc = MC_OK;

    if (atomic_load_explicit(&m->checked, memory_order_acquire))
        return MC_OK;
    pthread_mutex_lock(&cat->check_lock);
    if (!atomic_load_explicit(&m->checked, memory_order_relaxed)) {
        rc = check_backing(cat, m);
        if (rc == MC_OK)
            atomic_store_explicit(&m->checked, true, memory_order_release);
    }
    pthread_mutex_unlock(&cat->check_lock);
    return rc;
}

/* Tests hold the walk back to see what a first use does alone. */
static atomic_bool walk_held;

void mc__catalog_hold_walk(bool on)
{
    atomic_store(&walk_held, on);
}

/* Mappings checked by the walk per pass over the table lock. */
#define WALK_BATCH 256

/* The walk: check every loaded mapping's backing once, in name order, in
 * the background, so damaged mappings are reported within a bounded time of
 * a start and the registry of shared files (sharing.c) becomes complete.
 * Decisions that need every user of a file (a create on an existing file,
 * a shrink, a remove that unlinks) wait for it: wait_walk(). A mapping the
 * walk could not check (out of descriptors) is checked at its first use. */
static void *walk(void *arg)
{
    struct mc_catalog *cat = arg;
    char after[MC_NAME_MAX + 1] = "";
    bool end = false;

    while (atomic_load(&walk_held) && !atomic_load(&cat->walk_stop))
        usleep(1000);
    while (!end && !atomic_load(&cat->walk_stop)) {
        struct mc_mapping *batch[WALK_BATCH];
        size_t k = 0;

        pthread_rwlock_rdlock(&cat->table_lock);
        size_t pos = first_after(cat, after);
        for (; pos < cat->count && k < WALK_BATCH; pos++) {
            struct mc_mapping *m = cat->items[pos];
            if (!atomic_load(&m->checked)) {
                mc_mapping_ref(m);
                batch[k++] = m;
            }
        }
        end = pos >= cat->count;
        if (pos > 0)
            snprintf(after, sizeof after, "%s", cat->items[pos - 1]->name);
        pthread_rwlock_unlock(&cat->table_lock);
        for (size_t i = 0; i < k; i++) {
            if (!atomic_load(&cat->walk_stop))
                (void)settle(cat, batch[i]);
            mc_mapping_unref(batch[i]);
        }
    }
    pthread_mutex_lock(&cat->check_lock);
    cat->walk_done = true;
    pthread_cond_broadcast(&cat->walk_cv);
    pthread_mutex_unlock(&cat->check_lock);
    return NULL;
}

/* Wait until the walk has been over every mapping loaded at the start. */
static void wait_walk(struct mc_catalog *cat)
{
    pthread_mutex_lock(&cat->check_lock);
    while (!cat->walk_done)
        pthread_cond_wait(&cat->walk_cv, &cat->check_lock);
    pthread_mutex_unlock(&cat->check_lock);
}

static bool walk_finished(struct mc_catalog *cat)
{
    pthread_mutex_lock(&cat->check_lock);
    bool done = cat->walk_done;
    pthread_mutex_unlock(&cat->check_lock);
    return done;
}

/* True when m's file has more than one name (hard links). */
static bool hard_linked(struct mc_mapping *m)
{
    struct stat st;
    int fd;
    bool linked = true; /* when unsure, say so: the caller then waits */

    if (mc__fd_get(m, &fd) == MC_OK) {
        if (mc__sys_identify(fd, &st) == MC_OK)
            linked = st.st_nlink > 1;
        mc__fd_put(m);
    }
    return linked;
}

/* Make every other user of m's file known to the registry (sharing.c)
 * before a resize or an unlinking remove of m decides on it (create_lock
 * held). After the walk they all are. Before, waiting for the walk (a
 * minute at a million mappings) would stall every resize and delete after
 * a start, so the users are found by recorded path instead: the unchecked
 * mappings naming m's path are checked now. That is exact for a file with
 * one name; a file with hard links waits for the walk. (A user reaching
 * the file through a symlink inside the data directory, under another
 * recorded path, is seen once the walk reaches it.) */
static void know_users(struct mc_catalog *cat, struct mc_mapping *m)
{
    struct mc_mapping **same = NULL;
    size_t n = 0, cap = 0;
    bool complete = true;

    if (walk_finished(cat))
        return;
    if (settle(cat, m) != MC_OK || m->damaged || hard_linked(m)) {
        wait_walk(cat);
        return;
    }
    pthread_rwlock_rdlock(&cat->table_lock);
    for (size_t i = 0; i < cat->count; i++) {
        struct mc_mapping *o = cat->items[i];

        if (atomic_load(&o->checked) || strcmp(o->file, m->file) != 0)
            continue;
        if (n == cap) {
            size_t c = cap ? cap * 2 : 8;
            struct mc_mapping **g = realloc(same, c * sizeof *g);
            if (!g) {
                complete = false;
                break;
            }
            same = g;
            cap = c;
        }
        mc_mapping_ref(o);
        same[n++] = o;
    }
    pthread_rwlock_unlock(&cat->table_lock);
    for (size_t i = 0; i < n; i++) {
        if (settle(cat, same[i]) != MC_OK)
            complete = false;
        mc_mapping_unref(same[i]);
    }
    free(same);
    if (!complete)
        wait_walk(cat);
}

void mc_catalog_wait_checked(struct mc_catalog *cat)
{
    if (cat)
        wait_walk(cat);
}

enum mc_err mc_catalog_open(const struct mc_catalog_options *opt,
                            struct mc_catalog **out)
{
    struct mc_catalog *cat = NULL;
    struct mc_info *entries = NULL;
    size_t n = 0;
    enum mc_err rc = MC_OK;

    if (!opt || !opt->data_dir || !out)
        return MC_EINVAL;
    cat = calloc(1, sizeof *cat);
    if (!cat)
        return MC_ENOMEM;
    cat->datafd = -1;
    pthread_mutex_init(&cat->create_lock, NULL);
    pthread_mutex_init(&cat->persist_lock, NULL);
    pthread_rwlock_init(&cat->table_lock, NULL);
    mc__nameindex_init(&cat->names);
    pthread_mutex_init(&cat->check_lock, NULL);
    pthread_cond_init(&cat->walk_cv, NULL);
    cat->walk_done = true; /* until there is a walk */
    cat->opt = *opt;
    if (cat->opt.view_size == 0)
        cat->opt.view_size = MC_DEFAULT_VIEW_SIZE;
    if (cat->opt.cache_bytes == 0)
        cat->opt.cache_bytes = MC_DEFAULT_CACHE_BYTES;
    if (cat->opt.max_map_size == 0)
        cat->opt.max_map_size = MC_DEFAULT_MAX_MAP_SIZE;
    if (cat->opt.max_memory == 0)
        cat->opt.max_memory = mc_memory_default();
    if (cat->opt.max_open_files == 0)
        cat->opt.max_open_files =
            mc_catalog_default_open_files(cat->opt.other_fds);
    mc__membudget_init(&cat->memory, cat->opt.max_memory);
    /* A budget below one view could never map anything. */
    if (!power_of_two(cat->opt.view_size) ||
        cat->opt.view_size < mc__page_size() ||
        cat->opt.view_size > SIZE_MAX / 2 ||
        cat->opt.cache_bytes < cat->opt.view_size) {
        rc = MC_EINVAL;
        goto cleanup;
    }
    /* Views of file mappings can raise SIGBUS (guard.c); the handler must
     * be in place before the first one is mapped. */
    mc__guard_install();
    rc = mc__sys_open_datadir(opt->data_dir, &cat->datafd);
    if (rc == MC_OK)
        rc = mc__sys_lock_dir(cat->datafd);
    if (rc != MC_OK)
        goto cleanup;
    rc = mc__viewcache_create(cat->opt.view_size, cat->opt.cache_bytes,
                              &cat->vc);
    if (rc != MC_OK)
        goto cleanup;
    rc = mc__files_create(&cat->files);
    if (rc != MC_OK)
        goto cleanup;
    rc = mc__fdcache_create(cat->datafd, (size_t)cat->opt.max_open_files,
                            &cat->fdc);
    if (rc != MC_OK)
        goto cleanup;
    rc = mc__store_open(cat->datafd, opt->data_dir, &cat->store);
    if (rc != MC_OK)
        goto cleanup;
    /* Pages come sorted and unique, so appending keeps the table sorted. */
    do {
        const char *after = cat->count ? cat->items[cat->count - 1]->name : "";
        free(entries);
        entries = NULL;
        rc = mc__store_page(cat->store, NULL, after, LOAD_PAGE, &entries, &n);
        for (size_t i = 0; rc == MC_OK && i < n; i++) {
            struct mc_mapping *m = NULL;
            rc = load_entry(cat, &entries[i], &m);
            if (rc == MC_OK) {
                rc = insert_at(cat, cat->count, m);
                if (rc != MC_OK)
                    mc_mapping_unref(m);
            }
        }
        if (rc != MC_OK)
            goto cleanup;
    } while (n == LOAD_PAGE);
    /* Room to clean up a disk that filled while we were down (or that the
     * last run could not refill). */
    mc__reserve_fill(cat->datafd);
    if (cat->count > 0) {
        cat->walk_done = false;
        cat->walker = pthread_create(&cat->walk_thread, NULL, walk, cat) == 0;
        if (!cat->walker)
            (void)walk(cat); /* no thread: walk now, as loading used to */
    }
    *out = cat;
    cat = NULL;
cleanup:
    free(entries);
    if (cat) {
        /* Nothing was persisted yet: close only frees. */
        for (size_t i = 0; i < cat->count; i++)
            mc_mapping_unref(cat->items[i]);
        cat->count = 0;
        mc_catalog_close(cat);
    }
    return rc;
}

/* Flush every healthy file mapping written since its last whole flush; the
 * first error wins. The others have nothing to make durable, and flushing
 * them would cost an fdatasync (and with lazy backings an open) each: with
 * many mappings, seconds at every shutdown. */
static enum mc_err flush_all(struct mc_catalog *cat)
{
    struct mc_mapping **arr = NULL;
    size_t n = 0;
    enum mc_err rc = snapshot(cat, &arr, &n);

    for (size_t i = 0; i < n; i++) {
        struct mc_mapping *m = arr[i];
        if (m->backing != MC_BACKING_FILE || !atomic_load(&m->checked) ||
            m->damaged || !atomic_load(&m->unflushed))
            continue;
        enum mc_err r = mc_mapping_flush(m, 0, 0, NULL);
        if (r != MC_OK && rc == MC_OK)
            rc = r;
    }
    unref_all(arr, n);
    return rc;
}

/* Save the records whose modification time moved since they were saved,
 * in one transaction. (Not needed for safety: loading takes the later of
 * the record and the file's mtime. It keeps the store close to the truth.) */
static enum mc_err save_changed(struct mc_catalog *cat)
{
    struct mc_mapping **arr = NULL;
    struct mc_info *infos = NULL;
    size_t n = 0, k = 0, saved;
    enum mc_err rc = snapshot(cat, &arr, &n);

    if (rc == MC_OK && n > 0) {
        infos = malloc(n * sizeof *infos);
        if (!infos)
            rc = MC_ENOMEM;
    }
    for (size_t i = 0; infos && i < n; i++) {
        struct mc_mapping *m = arr[i];
        if (m->backing != MC_BACKING_FILE || !atomic_load(&m->checked) ||
            m->damaged ||
            atomic_load(&m->modified_at_ms) ==
                atomic_load(&m->saved_modified_ms))
            continue;
        mc_mapping_info(m, &infos[k++]);
    }
    if (rc == MC_OK && k > 0) {
        pthread_mutex_lock(&cat->persist_lock);
        rc = mc__store_put(cat->store, infos, k);
        pthread_mutex_unlock(&cat->persist_lock);
    }
    saved = k;
    k = 0;
    for (size_t i = 0; rc == MC_OK && infos && i < n; i++) {
        struct mc_mapping *m = arr[i];
        if (k < saved && strcmp(infos[k].name, m->name) == 0)
            atomic_store(&m->saved_modified_ms, infos[k++].modified_at_ms);
    }
    free(infos);
    unref_all(arr, n);
    return rc;
}

void mc_catalog_close(struct mc_catalog *cat)
{
    if (!cat)
        return;
    /* Mappings the walk has not reached yet have nothing to flush or
     * save; it need not finish. */
    if (cat->walker) {
        atomic_store(&cat->walk_stop, true);
        pthread_join(cat->walk_thread, NULL);
        cat->walker = false;
    }
    if (cat->count > 0) {
        (void)flush_all(cat);
        (void)save_changed(cat);
    }
    /* Mappings still referenced elsewhere are the caller's bug (see the
     * header); ours go, and with them their views. */
    for (size_t i = 0; i < cat->count; i++)
        mc_mapping_unref(cat->items[i]);
    free(cat->items);
    mc__slab_free_all(&cat->slab); /* the loaded mappings went above */
    mc__files_destroy(cat->files);
    mc__fdcache_destroy(cat->fdc);
    mc__viewcache_destroy(cat->vc);
    mc__store_close(cat->store);
    mc__sys_close(cat->datafd);
    pthread_rwlock_destroy(&cat->table_lock);
    mc__nameindex_destroy(&cat->names);
    pthread_cond_destroy(&cat->walk_cv);
    pthread_mutex_destroy(&cat->check_lock);
    pthread_mutex_destroy(&cat->persist_lock);
    pthread_mutex_destroy(&cat->create_lock);
    free(cat);
}

/* ---- create, get, remove ------------------------------------------------ */

/* The request with defaults filled in and checked, before any I/O. */
static enum mc_err resolve_spec(const struct mc_catalog *cat, const char *name,
                                const struct mc_spec *spec,
                                struct mc__backing_req *req, bool *writethrough)
{
    unsigned g = spec->given;

    memset(req, 0, sizeof *req);
    req->name = name;
    req->backing = (g & MC_SPEC_BACKING) ? spec->backing : MC_BACKING_FILE;
    req->protection =
        (g & MC_SPEC_PROTECTION) ? spec->protection : MC_PROT_READWRITE;
    req->allocation =
        (g & MC_SPEC_ALLOCATION) ? spec->allocation : MC_ALLOC_COMMIT;
    req->size_given = (g & MC_SPEC_SIZE) != 0;
    req->size = req->size_given ? spec->size : 0;
    req->max_size = cat->opt.max_map_size;
    *writethrough = (g & MC_SPEC_WRITETHROUGH) ? spec->writethrough : false;

    if ((g & MC_SPEC_CONTENT_TYPE) && !mc_content_type_valid(spec->content_type))
        return MC_EINVAL;
    if ((unsigned)req->backing > MC_BACKING_MEMORY ||
        (unsigned)req->protection > MC_PROT_WRITECOPY ||
        (unsigned)req->allocation > MC_ALLOC_SPARSE)
        return MC_EINVAL;
    if (req->backing == MC_BACKING_MEMORY) {
        if (g & MC_SPEC_FILE)
            return MC_EINVAL;
        /* There is no stable storage to write through to; accepting the
         * flag would promise durability the bytes never get. */
        if (*writethrough)
            return MC_EUNSUPPORTED;
        /* Private copies of anonymous memory nobody else can see are just
         * readwrite memory; refusing says so instead of pretending. */
        if (req->protection == MC_PROT_WRITECOPY)
            return MC_EUNSUPPORTED;
        return MC_OK;
    }
    req->file = (g & MC_SPEC_FILE) ? spec->file : name;
    if (!req->file || !mc_path_valid(req->file, strlen(req->file)))
        return MC_EPATH;
    return MC_OK;
}

/* The OpenFileMapping half of create: every given field must match. */
static bool compatible(struct mc_mapping *m, const struct mc_spec *spec,
                       const struct mc__backing_req *req, bool writethrough)
{
    unsigned g = spec->given;

    if ((g & MC_SPEC_BACKING) && req->backing != m->backing)
        return false;
    if ((g & MC_SPEC_FILE) &&
        (m->backing != MC_BACKING_FILE || strcmp(req->file, m->file) != 0))
        return false;
    if ((g & MC_SPEC_SIZE) && req->size > mc_mapping_size(m))
        return false;
    if ((g & MC_SPEC_PROTECTION) && req->protection != m->protection)
        return false;
    if ((g & MC_SPEC_ALLOCATION) && req->allocation != m->allocation)
        return false;
    if ((g & MC_SPEC_WRITETHROUGH) && writethrough != m->writethrough)
        return false;
    if (g & MC_SPEC_CONTENT_TYPE) {
        char now[MC_CONTENT_TYPE_MAX + 1];

        mc_mapping_content_type(m, now);
        if (strcmp(now, spec->content_type) != 0)
            return false;
    }
    return true;
}

/* Open an existing mapping as create does; steals the reference to m.
 * Opening grants nothing the opener's scopes on m's name do not already
 * grant (its bytes are reachable through that name without opening), and
 * m's file was chosen by whoever created m: so the rule on who else uses
 * the file (file_users_allow) applies to creates only, where the caller
 * chooses the file. */
static enum mc_err open_existing(struct mc_catalog *cat, struct mc_mapping *m,
                                 const struct mc_spec *spec,
                                 const struct mc__backing_req *req,
                                 bool writethrough, bool create_only,
                                 struct mc_mapping **out)
{
    enum mc_err rc = MC_OK;

    if (create_only)
        rc = MC_EEXIST;
    if (rc == MC_OK)
        rc = settle(cat, m);
    if (rc == MC_OK && !compatible(m, spec, req, writethrough))
        rc = MC_ECONFLICT;
    if (rc != MC_OK) {
        mc_mapping_unref(m);
        return rc;
    }
    *out = m;
    return MC_OK;
}

/* Who may name a file: with spec->may_share set (a caller limited to some
 * names), the file a create resolves to must not be used by a mapping whose
 * name the caller may not write, or naming the file by default (the
 * mapping's own name) or through a link would reach that mapping's bytes.
 * Users are matched by what the file is (sharing.c); damaged mappings have
 * no descriptor, so their recorded path is compared instead. create_lock
 * is held, so no create or remove changes the users meanwhile. A create
 * that may grow the file holds its size as a need of the file until its
 * mapping joins (sharing.c). */
struct file_users {
    struct mc_catalog *cat;
    const struct mc_spec *spec;
    const char *file;
    uint64_t size; /* 0: the file's own size, no growth */
};

static enum mc_err file_users_allow(void *cls, int fd)
{
    const struct file_users *u = cls;
    struct mc_catalog *cat = u->cat;
    enum mc_err rc;

    wait_walk(cat); /* every user of the file known */
    rc = mc__files_check(cat->files, fd, NULL, u->spec->may_share,
                                     u->spec->share_cls);

    if (rc == MC_OK && u->size > 0)
        mc__files_hold(cat->files, fd, u->size);
    if (rc != MC_OK || !u->spec->may_share || atomic_load(&cat->damaged) == 0)
        return rc;
    pthread_rwlock_rdlock(&cat->table_lock);
    for (size_t i = 0; i < cat->count && rc == MC_OK; i++) {
        const struct mc_mapping *m = cat->items[i];

        if (m->damaged && strcmp(m->file, u->file) == 0 &&
            !u->spec->may_share(u->spec->share_cls, m->name))
            rc = MC_EDENIED;
    }
    pthread_rwlock_unlock(&cat->table_lock);
    return rc;
}

enum mc_err mc_catalog_create(struct mc_catalog *cat, const char *name,
                              const struct mc_spec *spec, bool create_only,
                              struct mc_mapping **out, bool *created)
{
    struct mc__backing_req req;
    struct mc_info meta;
    struct mc_mapping *m = NULL;
    bool writethrough = false;
    bool created_file = false;
    bool found = false;
    int fd = -1;
    uint64_t size = 0;
    uint64_t charged = 0; /* budget bytes this call holds, until m does */
    size_t pos;
    enum mc_err rc;

    if (!cat || !name || !spec || !out)
        return MC_EINVAL;
    if (created)
        *created = false;
    if (!mc_name_valid(name, strlen(name)))
        return MC_ENAME;
    rc = resolve_spec(cat, name, spec, &req, &writethrough);
    if (rc != MC_OK)
        return rc;

    pthread_mutex_lock(&cat->create_lock);
    pthread_rwlock_rdlock(&cat->table_lock);
    pos = find(cat, name, &found);
    if (found) {
        m = cat->items[pos];
        mc_mapping_ref(m);
    }
    pthread_rwlock_unlock(&cat->table_lock);
    if (found) {
        pthread_mutex_unlock(&cat->create_lock);
        return open_existing(cat, m, spec, &req, writethrough, create_only,
                             out);
    }

    /* A memory mapping's bytes are charged before its memfd exists, so a
     * request past the budget allocates nothing. Sizes the backing will
     * refuse anyway (zero, past max_map_size) are left to it, so they keep
     * their own errors. */
    if (req.backing == MC_BACKING_MEMORY && req.size_given && req.size > 0 &&
        req.size <= req.max_size) {
        rc = mc__membudget_charge(&cat->memory, req.size);
        if (rc != MC_OK)
            goto cleanup;
        charged = req.size;
    }

    /* The slow part, with only create_lock held: lookups go on. */
    struct file_users users = {cat, spec, req.file, req.size};
    req.check = file_users_allow;
    req.check_cls = &users;
    rc = mc__backing_open(cat->datafd, &req, &fd, &size, &created_file);
    if (rc != MC_OK)
        goto cleanup;
    memset(&meta, 0, sizeof meta);
    memcpy(meta.name, name, strlen(name));
    if (req.file)
        memcpy(meta.file, req.file, strlen(req.file));
    meta.backing = req.backing;
    meta.protection = req.protection;
    meta.allocation = req.allocation;
    meta.writethrough = writethrough;
    snprintf(meta.content_type, sizeof meta.content_type, "%s",
             (spec->given & MC_SPEC_CONTENT_TYPE) ? spec->content_type
                                                  : MC_CONTENT_TYPE_DEFAULT);
    if (spec->source != NULL && spec->source_etag != NULL) {
        snprintf(meta.source, sizeof meta.source, "%s", spec->source);
        snprintf(meta.source_etag, sizeof meta.source_etag, "%s",
                 spec->source_etag);
    }
    meta.size = size;
    meta.created_at_ms = meta.modified_at_ms = mc__now_ms();
    rc = mc__mapping_new(cat, cat->vc, cat->opt.max_map_size, &meta, fd, false,
                         NULL, &m);
    fd = -1; /* stolen */
    if (rc == MC_OK && req.backing == MC_BACKING_FILE) {
        mc__fdcache_adopt(cat->fdc, m);
        rc = mc__files_join(cat->files, m);
    }
    mc__files_unhold(cat->files);
    if (rc != MC_OK)
        goto cleanup;
    if (charged > 0) {
        /* Not shared yet: no lock. From here m gives the bytes back. */
        m->budget = &cat->memory;
        m->charged = charged;
        charged = 0;
    }

    /* create_lock keeps the table's names as they were at the lookup
     * above (removes take it too), so pos stays right. Room first, so the
     * insert after a successful save cannot fail; then the save, while
     * nobody can find the mapping yet: if it fails, nobody has used it and
     * the new file can go. */
    pthread_rwlock_wrlock(&cat->table_lock);
    pos = find(cat, name, &found);
    rc = reserve_one(cat);
    pthread_rwlock_unlock(&cat->table_lock);
    if (rc != MC_OK)
        goto cleanup;
    if (req.backing == MC_BACKING_FILE) {
        rc = save(cat, m, false, false);
        if (rc != MC_OK)
            goto cleanup;
    }
    pthread_rwlock_wrlock(&cat->table_lock);
    rc = insert_at(cat, pos, m);
    pthread_rwlock_unlock(&cat->table_lock);
    if (rc != MC_OK)
        goto cleanup; /* cannot happen: room was reserved */
    pthread_mutex_unlock(&cat->create_lock);
    if (created)
        *created = true;
    mc_mapping_ref(m);
    *out = m;
    return MC_OK;
cleanup:
    mc__files_unhold(cat->files);
    /* Drop the mapping (unmapping anything it mapped) before unlinking. */
    mc_mapping_unref(m);
    mc__sys_close(fd);
    mc__membudget_release(&cat->memory, charged);
    if (created_file)
        (void)mc__sys_unlink_beneath(cat->datafd, req.file);
    pthread_mutex_unlock(&cat->create_lock);
    return rc;
}

enum mc_err mc_catalog_get(struct mc_catalog *cat, const char *name,
                           struct mc_mapping **out)
{
    if (!cat || !name || !out)
        return MC_EINVAL;
    pthread_rwlock_rdlock(&cat->table_lock);
    *out = mc__nameindex_find(&cat->names, name);
    if (*out)
        mc_mapping_ref(*out);
    pthread_rwlock_unlock(&cat->table_lock);
    if (!*out)
        return MC_ENOTFOUND;
    /* The first use of a loaded mapping checks its backing, so whoever
     * gets it sees whether it is damaged. */
    enum mc_err rc = settle(cat, *out);
    if (rc != MC_OK) {
        mc_mapping_unref(*out);
        *out = NULL;
    }
    return rc;
}

enum mc_err mc_catalog_remove(struct mc_catalog *cat, const char *name,
                              bool unlink_file)
{
    struct mc_mapping *m = NULL;
    bool found = false;
    enum mc_err rc = MC_OK;

    if (!cat || !name)
        return MC_EINVAL;
    pthread_mutex_lock(&cat->create_lock);
    if (unlink_file) {
        /* create_lock: nobody else removes it meanwhile. */
        pthread_rwlock_rdlock(&cat->table_lock);
        size_t at = find(cat, name, &found);
        if (found) {
            m = cat->items[at];
            mc_mapping_ref(m);
        }
        pthread_rwlock_unlock(&cat->table_lock);
        if (m)
            know_users(cat, m);
        mc_mapping_unref(m);
        m = NULL;
    }
    pthread_rwlock_wrlock(&cat->table_lock);
    size_t pos = find(cat, name, &found);
    /* Unlinking a file other mappings use would leave them damaged at the
     * next start; they must go first. (create_lock: no new user joins.) */
    if (found && unlink_file && mc__files_shared(cat->items[pos])) {
        pthread_rwlock_unlock(&cat->table_lock);
        rc = MC_ESHARED;
        goto cleanup;
    }
    if (found) {
        m = cat->items[pos];
        remove_at(cat, pos);
    }
    pthread_rwlock_unlock(&cat->table_lock);
    if (!found) {
        rc = MC_ENOTFOUND;
        goto cleanup;
    }
    if (m->backing == MC_BACKING_FILE) {
        rc = save(cat, m, true, true);
        if (rc != MC_OK) {
            /* Still on disk: keep it, so memory and disk agree and the
             * caller can retry. create_lock kept the slot free. */
            pthread_rwlock_wrlock(&cat->table_lock);
            pos = find(cat, name, &found);
            if (insert_at(cat, pos, m) == MC_OK)
                m = NULL;
            pthread_rwlock_unlock(&cat->table_lock);
            goto cleanup;
        }
        if (unlink_file) {
            rc = mc__sys_unlink_beneath(cat->datafd, m->file);
            if (rc == MC_ENOFILE)
                rc = MC_OK; /* gone already is what was asked for */
            mc__catalog_refill_reserve(cat);
        }
    }
cleanup:
    pthread_mutex_unlock(&cat->create_lock);
    if (rc == MC_OK && m != NULL) {
        /* Set before the watchers are counted (mc_watch.h): a watch that
         * misses the callback sees the flag. */
        atomic_store(&m->removed, true);
        mc__watch_changed(m, MC_CHANGE_DELETE, 0, 0,
                          mc_mapping_generation(m));
    }
    mc_mapping_unref(m);
    return rc;
}

void mc_catalog_set_watch(struct mc_catalog *cat, mc_watch_fn *fn, void *cls)
{
    cat->watch_fn = fn;
    cat->watch_cls = cls;
}

void mc__catalog_notify(struct mc_catalog *cat, struct mc_mapping *m,
                        const struct mc_change *c)
{
    if (cat->watch_fn != NULL)
        cat->watch_fn(cat->watch_cls, m, c);
}

/* ---- listing and figures ------------------------------------------------ */

enum mc_err mc_catalog_list(struct mc_catalog *cat, struct mc_info **out,
                            size_t *count)
{
    struct mc_info *infos = NULL;
    enum mc_err rc = MC_OK;

    if (!cat || !out || !count)
        return MC_EINVAL;
    *out = NULL;
    *count = 0;
    pthread_rwlock_rdlock(&cat->table_lock);
    if (cat->count > 0) {
        infos = malloc(cat->count * sizeof *infos);
        if (!infos) {
            rc = MC_ENOMEM;
        } else {
            for (size_t i = 0; i < cat->count; i++)
                mc_mapping_info(cat->items[i], &infos[i]);
            *out = infos;
            *count = cat->count;
        }
    }
    pthread_rwlock_unlock(&cat->table_lock);
    return rc;
}

/* Index of the first name greater than after (the table lock is held). */
static size_t first_after(const struct mc_catalog *cat, const char *after)
{
    bool found = false;
    size_t pos = find(cat, after, &found);

    return found ? pos + 1 : pos;
}

enum mc_err mc_catalog_list_page(struct mc_catalog *cat, const char *prefix,
                                 const char *after, size_t limit,
                                 struct mc_info **out, size_t *count,
                                 bool *more)
{
    size_t plen, n = 0;
    struct mc_info *infos = NULL;

    if (!cat || !out || !count || !more)
        return MC_EINVAL;
    *out = NULL;
    *count = 0;
    *more = false;
    prefix = prefix ? prefix : "";
    after = after ? after : "";
    plen = strlen(prefix);
    if (limit > 0) {
        infos = malloc(limit * sizeof *infos);
        if (!infos)
            return MC_ENOMEM;
    }
    /* The table mirrors the store (and adds the memory mappings) in the
     * same byte order, so a page is a binary search and a run: names with
     * a prefix are contiguous, starting at the first name >= prefix. */
    pthread_rwlock_rdlock(&cat->table_lock);
    size_t pos = first_after(cat, after);
    if (plen > 0 && strcmp(after, prefix) < 0) {
        bool found = false;
        pos = find(cat, prefix, &found);
    }
    for (; pos < cat->count; pos++) {
        const struct mc_mapping *m = cat->items[pos];
        if (strncmp(m->name, prefix, plen) != 0)
            break;
        if (n == limit) {
            *more = true;
            break;
        }
        mc_mapping_info(cat->items[pos], &infos[n++]);
    }
    pthread_rwlock_unlock(&cat->table_lock);
    if (n == 0) {
        free(infos);
        infos = NULL;
    }
    *out = infos;
    *count = n;
    return MC_OK;
}

size_t mc_catalog_count(struct mc_catalog *cat)
{
    pthread_rwlock_rdlock(&cat->table_lock);
    size_t n = cat->count;
    pthread_rwlock_unlock(&cat->table_lock);
    return n;
}

enum mc_err mc_catalog_sync(struct mc_catalog *cat)
{
    enum mc_err rc = flush_all(cat);
    enum mc_err r = save_changed(cat);

    return rc != MC_OK ? rc : r;
}

void mc_catalog_memory(struct mc_catalog *cat, struct mc_memory_stats *out)
{
    mc__membudget_stats(&cat->memory, out);
}

void mc_catalog_cache_stats(struct mc_catalog *cat, struct mc_cache_stats *out)
{
    mc__viewcache_stats(cat->vc, out);
}

void mc_catalog_options_get(struct mc_catalog *cat,
                            struct mc_catalog_options *out)
{
    *out = cat->opt;
}

bool mc_catalog_writable(struct mc_catalog *cat)
{
    int metafd = -1;
    bool created = false;
    bool ok = mc__sys_dir_writable(cat->datafd);

    /* The catalog is written inside .mmapd, so that must be writable too
     * once it exists. */
    if (ok && mc__sys_open_subdir(cat->datafd, MC_RESERVED_DIR, false, &metafd,
                                  &created) == MC_OK) {
        ok = mc__sys_dir_writable(metafd);
        mc__sys_close(metafd);
    }
    return ok;
}
