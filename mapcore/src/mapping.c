/* mapping.c - one named mapping: references, bounds, reads, writes, flush.
 *
 * A mapping is its backing fd plus a logical size; its bytes are reached only
 * through views of the shared cache (viewcache.c). Every access is checked
 * against the logical size under the mapping lock while the access is
 * counted in m->pins, so a shrink can tell whether someone may still be
 * touching the pages it would cut off (see resize.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static atomic_uint_fast64_t next_mapping_id = 1;

const char *mc_backing_name(enum mc_backing b)
{
    switch (b) {
    case MC_BACKING_FILE:
        return "file";
    case MC_BACKING_MEMORY:
        return "memory";
    }
    return "unknown";
}

const char *mc_protection_name(enum mc_protection p)
{
    switch (p) {
    case MC_PROT_READONLY:
        return "readonly";
    case MC_PROT_READWRITE:
        return "readwrite";
    case MC_PROT_WRITECOPY:
        return "writecopy";
    }
    return "unknown";
}

const char *mc_allocation_name(enum mc_allocation a)
{
    switch (a) {
    case MC_ALLOC_COMMIT:
        return "commit";
    case MC_ALLOC_SPARSE:
        return "sparse";
    }
    return "unknown";
}

/* ---- lifetime ----------------------------------------------------------- */

enum mc_err mc__mapping_new(struct mc_catalog *cat, struct mc_viewcache *vc,
                            uint64_t max_size, const struct mc_info *meta,
                            int fd, bool damaged, struct mc__slab *slab,
                            struct mc_mapping **out)
{
    size_t nlen = strnlen(meta->name, MC_NAME_MAX);
    size_t flen = strnlen(meta->file, MC_PATH_MAX);
    size_t slen = strnlen(meta->source, MC_NAME_MAX);
    size_t elen = slen ? strnlen(meta->source_etag, MC_ETAG_MAX) : 0;
    const char *ctype = mc_content_type_valid(meta->content_type) &&
                                strcmp(meta->content_type,
                                       MC_CONTENT_TYPE_DEFAULT) != 0
                            ? meta->content_type
                            : NULL; /* NULL: the default */
    size_t clen = ctype ? strlen(ctype) : 0;
    /* strs: name, file, [source, source_etag], [content type] */
    size_t ct_at = nlen + 1 + flen + 1 + (slen ? slen + 1 + elen + 1 : 0);
    size_t bytes = sizeof(struct mc_mapping) + ct_at + (ctype ? clen + 1 : 0);
    struct mc_mapping *m = slab ? mc__slab_alloc(slab, bytes)
                                : calloc(1, bytes);

    if (!m) {
        mc__sys_close(fd);
        return MC_ENOMEM;
    }
    m->in_slab = slab != NULL;
    atomic_init(&m->refs, 1);
    m->id = atomic_fetch_add(&next_mapping_id, 1);
    m->cat = cat;
    m->vc = vc;
    m->max_size = max_size;
    m->fd = fd;
    m->writable_map = meta->protection != MC_PROT_READONLY;
    m->private_map = meta->protection == MC_PROT_WRITECOPY;
    memcpy(m->strs, meta->name, nlen); /* calloc'ed: NUL-terminated */
    memcpy(m->strs + nlen + 1, meta->file, flen);
    m->name = m->strs;
    m->file = m->strs + nlen + 1;
    if (slen) {
        char *src = m->strs + nlen + 1 + flen + 1;

        memcpy(src, meta->source, slen);
        memcpy(src + slen + 1, meta->source_etag, elen);
        m->source = src;
    }
    m->content_type = MC_CONTENT_TYPE_DEFAULT;
    if (ctype) {
        memcpy(m->strs + ct_at, ctype, clen); /* zeroed: NUL-terminated */
        m->content_type = m->strs + ct_at;
    }
    m->backing = meta->backing;
    m->protection = meta->protection;
    m->allocation = meta->allocation;
    m->writethrough = meta->writethrough;
    atomic_init(&m->damaged, damaged);
    atomic_init(&m->checked, true);
    m->created_at_ms = meta->created_at_ms;
    pthread_mutex_init(&m->lock, NULL);
    pthread_mutex_init(&m->resize_lock, NULL);
    mc__rangelock_init(&m->ranges);
    pthread_mutex_init(&m->lease_lock, NULL);
    m->size = meta->size;
    atomic_init(&m->generation, 1);
    atomic_init(&m->watchers, 0);
    atomic_init(&m->removed, false);
    atomic_init(&m->events, NULL);
    atomic_init(&m->resize_seq, 0);
    atomic_init(&m->modified_at_ms, meta->modified_at_ms);
    atomic_init(&m->saved_modified_ms, meta->modified_at_ms);
    atomic_init(&m->stamped_ms, 0);
    atomic_init(&m->unflushed, false);
    atomic_init(&m->bytes_read, 0);
    atomic_init(&m->bytes_written, 0);
    *out = m;
    return MC_OK;
}

void mc_mapping_ref(struct mc_mapping *m)
{
    atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
}

void mc_mapping_unref(struct mc_mapping *m)
{
    if (!m)
        return;
    /* acq_rel: whoever frees must see every write made under other refs. */
    if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1)
        return;
    /* No pins can exist (each holds a reference), so every view of m is
     * idle and goes now; the cache must not keep a pointer to freed m. */
    mc__viewcache_drop(m->vc, m, 0);
    mc__files_leave(m);
    mc__fd_forget(m);
    /* The memfd is gone with its last descriptor and views: its bytes
     * leave the budget only now, so memory still held by a reader of a
     * deleted mapping keeps counting (mc_memory.h). */
    mc__membudget_release(m->budget, m->charged);
    mc__rangelock_destroy(&m->ranges);
    pthread_mutex_destroy(&m->lease_lock);
    pthread_mutex_destroy(&m->resize_lock);
    pthread_mutex_destroy(&m->lock);
    mc__events_free(m);
    if (m->content_type_heap)
        free((char *)m->content_type);
    if (!m->in_slab)
        free(m);
}

/* ---- figures ------------------------------------------------------------ */

void mc_mapping_info(struct mc_mapping *m, struct mc_info *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->name, m->name, strlen(m->name)); /* zeroed above */
    memcpy(out->file, m->file, strlen(m->file));
    out->backing = m->backing;
    out->protection = m->protection;
    out->allocation = m->allocation;
    out->writethrough = m->writethrough;
    out->damaged = m->damaged;
    out->size = mc_mapping_size(m);
    out->generation = atomic_load(&m->generation);
    out->created_at_ms = m->created_at_ms;
    out->modified_at_ms = atomic_load(&m->modified_at_ms);
    out->views_cached = mc__viewcache_count(m->vc, m);
    out->bytes_read = atomic_load(&m->bytes_read);
    out->bytes_written = atomic_load(&m->bytes_written);
    mc_mapping_content_type(m, out->content_type);
    if (m->source) {
        size_t slen = strlen(m->source);

        memcpy(out->source, m->source, slen);
        memcpy(out->source_etag, m->source + slen + 1,
               strlen(m->source + slen + 1));
    }
}

/* Wait for the resize in flight to end: it holds the whole mapping's range
 * lock exclusively, so a shared hold of any range waits for it. */
static void wait_resize(struct mc_mapping *m)
{
    struct mc_range first = {0, 1};
    uint64_t ticket;

    if (mc__rangelock_lock(&m->ranges, &first, 1, false, &ticket) == MC_OK)
        mc__rangelock_unlock(&m->ranges, ticket);
}

void mc_mapping_state(struct mc_mapping *m, struct mc_state *out)
{
    /* A seqlock read: size and generation between two equal, even reads of
     * resize_seq belong to one size. A few rounds; a caller that still
     * gets an odd or stale sequence finds out when it compares. */
    for (int round = 0;; round++) {
        uint64_t seq = atomic_load(&m->resize_seq);

        if (seq % 2 != 0 && round < 4) {
            wait_resize(m);
            continue;
        }
        out->resize_seq = seq;
        out->size = mc_mapping_size(m);
        out->generation = atomic_load(&m->generation);
        if (atomic_load(&m->resize_seq) == seq || round >= 4)
            break;
    }
    out->damaged = m->damaged;
}

uint64_t mc_mapping_resize_seq(struct mc_mapping *m)
{
    /* Seqlock reader side: the bytes copied before this call are ordered
     * before the load, so a resize that changed any of them is seen. */
    atomic_thread_fence(memory_order_seq_cst);
    return atomic_load(&m->resize_seq);
}

/* *v = max(*v, t); never lowers it. */
static void raise_to(atomic_int_fast64_t *v, int64_t t)
{
    int64_t cur = atomic_load(v);

    while (cur < t && !atomic_compare_exchange_weak(v, &cur, t))
        ;
}

void mc__mapping_touch(struct mc_mapping *m)
{
    /* Read the clock before stamping: the kernel stamps with the same
     * coarse clock (or a finer time above it), so the file's mtime ends up
     * at least t, and a restart after kill -9 loads at least t. A stamp
     * already made at t or later covers t too, so a busy mapping pays one
     * futimens per tick of that clock (1-4 ms), not one per write. Private
     * (writecopy) pages never reach the file, so it is left alone. */
    int64_t t = mc__now_coarse_ms();

    int fd;

    if (m->backing == MC_BACKING_FILE && !m->private_map && !m->damaged &&
        atomic_load(&m->stamped_ms) < t && mc__fd_get(m, &fd) == MC_OK) {
        mc__sys_stamp(fd);
        mc__fd_put(m);
        raise_to(&m->stamped_ms, t);
    }
    raise_to(&m->modified_at_ms, t);
    atomic_store(&m->unflushed, true);
}

uint64_t mc_mapping_size(struct mc_mapping *m)
{
    pthread_mutex_lock(&m->lock);
    uint64_t size = m->size;
    pthread_mutex_unlock(&m->lock);
    return size;
}

uint64_t mc_mapping_generation(struct mc_mapping *m)
{
    return atomic_load(&m->generation);
}

int64_t mc_mapping_modified_ms(struct mc_mapping *m)
{
    return atomic_load(&m->modified_at_ms);
}

enum mc_protection mc_mapping_protection(struct mc_mapping *m)
{
    return m->protection;
}

uint64_t mc_mapping_id(struct mc_mapping *m)
{
    return m->id;
}

/* ---- pinned access ------------------------------------------------------ */

/* Pin the view holding byte off. *data points at off and *len is what may be
 * touched from there: up to the end of the view and of the logical size.
 * With check_file, also of the file as it is now: a file truncated behind
 * our back would raise SIGBUS past its end, so that part is refused with
 * MC_ETRUNCATED. That costs an fstat per view, so only pinned views ask
 * for it: the kernel sends them outside the SIGBUS guard, where a fault
 * would cut the answer short instead of failing it cleanly. Guarded copies
 * learn of a truncation from the fault itself. (The one thing the fstat
 * could add for a write is refusing bytes in the partial page past a new
 * end, which a truncation between the fstat and the copy loses anyway.)
 *
 * The pin is counted in m->pins before the size is read, under the same
 * lock a shrink takes, so a shrink either happens before (and we see the
 * new size) or sees our pin and defers the truncation.
 *
 * With may_decline the cache may decline to map the view (see viewcache.c):
 * then *out and *data are NULL, *len is still what the view would have
 * allowed, and m stays pinned; the caller reads the backing directly and
 * calls release(NULL, m). */
static enum mc_err acquire(struct mc_mapping *m, uint64_t off, bool check_file,
                           bool may_decline, struct mc_view **out,
                           uint8_t **data, size_t *len)
{
    uint64_t vs = mc__viewcache_view_size(m->vc);
    uint64_t limit, size;
    struct mc_view *v = NULL;
    enum mc_err rc = MC_OK;

    if (m->damaged)
        return MC_EDAMAGED;
    pthread_mutex_lock(&m->lock);
    limit = size = m->size;
    if (off >= limit) {
        pthread_mutex_unlock(&m->lock);
        return MC_ERANGE;
    }
    m->pins++;
    pthread_mutex_unlock(&m->lock);

    if (check_file && m->backing == MC_BACKING_FILE) {
        uint64_t file_size;
        int fd;
        rc = mc__fd_get(m, &fd);
        if (rc != MC_OK)
            goto fail;
        rc = mc__sys_file_size(fd, &file_size);
        mc__fd_put(m);
        if (rc != MC_OK)
            goto fail;
        if (file_size <= off) {
            rc = MC_ETRUNCATED;
            goto fail;
        }
        if (file_size < limit)
            limit = file_size;
    }
    rc = mc__viewcache_acquire(m->vc, m, off / vs, size, may_decline, &v);
    if (rc != MC_OK)
        goto fail;
    uint64_t within = off % vs;
    /* A view is as long as the mapping was (viewcache.c): at least up to
     * limit, which is at most that size. */
    uint64_t n = (v ? v->len : vs) - within;
    if (n > limit - off)
        n = limit - off;
    *out = v;
    *data = v ? v->base + within : NULL;
    *len = (size_t)n;
    if (v)
        mc_mapping_ref(m);
    return MC_OK;
fail:
    mc__mapping_unpin(m);
    return rc;
}

/* Undo acquire(): v may be NULL (a declined view), m is what was pinned. */
static void release(struct mc_view *v, struct mc_mapping *m)
{
    if (v == NULL) {
        mc__mapping_unpin(m);
        return;
    }
    /* Unpin the view before m: once unpinned, v may be evicted and freed. */
    mc__viewcache_release(m->vc, v);
    mc__mapping_unpin(m);
    mc_mapping_unref(m);
}

enum mc_err mc__mapping_pin(struct mc_mapping *m, uint64_t off,
                            struct mc_view **out, uint8_t **data, size_t *len)
{
    return acquire(m, off, false, false, out, data, len);
}

enum mc_err mc_view_acquire(struct mc_mapping *m, uint64_t off,
                            struct mc_view **out, const uint8_t **data,
                            size_t *len)
{
    uint8_t *p = NULL;
    enum mc_err rc = acquire(m, off, true, false, out, &p, len);

    if (rc == MC_OK)
        *data = p;
    return rc;
}

void mc_mapping_count_read(struct mc_mapping *m, uint64_t bytes)
{
    atomic_fetch_add_explicit(&m->bytes_read, bytes, memory_order_relaxed);
}

void mc_view_release(struct mc_view *v)
{
    if (v)
        release(v, v->m);
}

/* ---- reads and writes --------------------------------------------------- */

/* MC_ERANGE unless every range lies inside the current size; *total gets
 * the sum of their lengths (MC_ERANGE when even that overflows size_t). */
static enum mc_err check_ranges(struct mc_mapping *m, const struct mc_range *r,
                                size_t n, size_t *total)
{
    uint64_t size = mc_mapping_size(m);
    uint64_t sum = 0;

    for (size_t i = 0; i < n; i++) {
        uint64_t end;

        if (__builtin_add_overflow(r[i].off, r[i].len, &end) || end > size)
            return MC_ERANGE;
        if (__builtin_add_overflow(sum, r[i].len, &sum))
            return MC_ERANGE;
    }
    if (sum > SIZE_MAX)
        return MC_ERANGE;
    *total = (size_t)sum;
    return MC_OK;
}

/* Name the cause of a SIGBUS at mapping offset `at` (guard.c caught it).
 * A file that now ends at or before `at` was truncated behind our back;
 * otherwise a write fault on a page the file system could not back means the
 * disk is full (a sparse hole); anything else is an I/O error reading the
 * page in. */
enum mc_err mc__mapping_fault_cause(struct mc_mapping *m, uint64_t at,
                                    bool write)
{
    uint64_t file_size = 0;
    int fd;

    if (m->backing == MC_BACKING_FILE && mc__fd_get(m, &fd) == MC_OK) {
        enum mc_err rc = mc__sys_file_size(fd, &file_size);
        mc__fd_put(m);
        if (rc == MC_OK && file_size <= at)
            return MC_ETRUNCATED;
    }
    if (write)
        return MC_ENOSPC;
    return MC_EIO;
}

/* Copy the ranges view by view, one pin at a time, so a copy never needs
 * more than one view of the cache at once (a small cache budget must still
 * serve big writes). The caller holds the ranges locked, which is what makes
 * the copy atomic to other readers and writers; pinning everything first
 * would buy all-or-nothing also against a failure inside the server (cache
 * exhausted, file truncated behind our back), at the price of pinning up to
 * a whole body's views at once. *done gets the bytes copied. */
static enum mc_err copy_locked(struct mc_mapping *m, const struct mc_range *r,
                               size_t n, uint8_t *const *buf, bool write,
                               size_t *done)
{
    enum mc_err rc = MC_OK;

    *done = 0;
    for (size_t i = 0; i < n && rc == MC_OK; i++) {
        uint64_t at = 0;

        while (at < r[i].len) {
            struct mc_view *v;
            uint8_t *p;
            size_t len;
            uintptr_t fault = 0;
            bool ok;

            /* A shrink racing the copy makes acquire fail with MC_ERANGE:
             * the caller gets the error, never bytes past the new end.
             * Reads of shared mappings may go without a view: the file's
             * page cache is what every shared view shows. */
            rc = acquire(m, r[i].off + at, false, !write && !m->private_map,
                         &v, &p, &len);
            if (rc != MC_OK)
                break;
            if (len > r[i].len - at)
                len = (size_t)(r[i].len - at);
            if (v == NULL) {
                int fd;
                rc = mc__fd_get(m, &fd);
                if (rc == MC_OK) {
                    rc = mc__sys_pread(fd, buf[i] + at, len, r[i].off + at);
                    mc__fd_put(m);
                }
                release(NULL, m);
                if (rc != MC_OK)
                    break;
                *done += len;
                at += len;
                continue;
            }
            if (write) {
                /* Written copy-on-write pages exist only in this view: it
                 * must never be evicted, or the write would disappear. */
                if (m->private_map)
                    mc__viewcache_set_sticky(m->vc, v);
                ok = mc__guard_copy(p, buf[i] + at, len, p, &fault);
            } else {
                ok = mc__guard_copy(buf[i] + at, p, len, p, &fault);
            }
            release(v, m);
            if (!ok) {
                rc = mc__mapping_fault_cause(
                    m, r[i].off + at + (fault - (uintptr_t)p), write);
                break;
            }
            *done += len;
            at += len;
        }
    }
    return rc;
}

enum mc_err mc__mapping_write_locked(struct mc_mapping *m, uint64_t off,
                                     const void *buf, size_t len,
                                     size_t *done)
{
    struct mc_range r = {off, len};
    uint8_t *src = (uint8_t *)(uintptr_t)buf;

    return copy_locked(m, &r, 1, &src, true, done);
}

enum mc_err mc__mapping_read_locked(struct mc_mapping *m, uint64_t off,
                                    void *buf, size_t len)
{
    struct mc_range r = {off, len};
    uint8_t *dst = buf;
    size_t done = 0;

    return copy_locked(m, &r, 1, &dst, false, &done);
}

/* The one copy path of reads and writes: check the bounds, lock the ranges
 * (shared to read, exclusive to write), copy, unlock. A conditional write
 * (test != NULL) locks the whole mapping exclusively instead, so no
 * disjoint write can bump the generation between the test and the copy,
 * and writes nothing (MC_EPRECONDITION) when test(cls, generation) fails.
 * *gen_out (may be NULL) gets the generation a write produced. */
static enum mc_err copy_ranges(struct mc_mapping *m, const struct mc_range *r,
                               size_t n, uint8_t *const *buf, bool write,
                               mc_generation_test *test, const void *cls,
                               uint64_t *gen_out)
{
    size_t total = 0;
    size_t done = 0;
    uint64_t ticket;
    enum mc_err rc;

    if (write && m->protection == MC_PROT_READONLY)
        return MC_ERDONLY;
    if (m->damaged)
        return MC_EDAMAGED;
    rc = check_ranges(m, r, n, &total);
    if (rc != MC_OK)
        return rc;
    if (test != NULL) {
        /* [0, UINT64_MAX) rather than [0, size): a grow racing the lock
         * cannot leave bytes outside it. Bounds are checked again under the
         * lock because a shrink may have run in between. */
        struct mc_range all = {0, UINT64_MAX};

        rc = mc__rangelock_lock(&m->ranges, &all, 1, true, &ticket);
        if (rc != MC_OK)
            return rc;
        if (!test(cls, atomic_load(&m->generation))) {
            mc__rangelock_unlock(&m->ranges, ticket);
            return MC_EPRECONDITION;
        }
        rc = check_ranges(m, r, n, &total);
        if (rc != MC_OK || total == 0) {
            if (rc == MC_OK && gen_out != NULL)
                *gen_out = atomic_load(&m->generation);
            mc__rangelock_unlock(&m->ranges, ticket);
            return rc;
        }
    } else {
        if (total == 0) {
            if (write && gen_out != NULL)
                *gen_out = atomic_load(&m->generation);
            return MC_OK;
        }
        rc = mc__rangelock_lock(&m->ranges, r, n, write, &ticket);
        if (rc != MC_OK)
            return rc;
    }
    rc = copy_locked(m, r, n, buf, write, &done);
    uint64_t gen = 0;

    if (write && done > 0) {
        /* Bumped before the ranges unlock, so whoever reads the new bytes
         * afterwards also sees the new generation. */
        gen = atomic_fetch_add(&m->generation, 1) + 1;
        if (gen_out != NULL)
            *gen_out = gen;
        mc__mapping_touch(m);
    } else if (write && gen_out != NULL) {
        *gen_out = atomic_load(&m->generation);
    }
    mc__rangelock_unlock(&m->ranges, ticket);
    atomic_fetch_add_explicit(write ? &m->bytes_written : &m->bytes_read, done,
                              memory_order_relaxed);
    if (gen != 0)
        mc__watch_ranges(m, r, n, gen);
    return rc;
}

enum mc_err mc_mapping_read(struct mc_mapping *m, uint64_t off, void *buf,
                            size_t len)
{
    struct mc_range r = {off, len};
    uint8_t *dst = buf;

    return copy_ranges(m, &r, 1, &dst, false, NULL, NULL, NULL);
}

enum mc_err mc_mapping_readv(struct mc_mapping *m, const struct mc_range *r,
                             size_t n, void *const dst[])
{
    /* void * and uint8_t * share their representation; the array is only
     * read. */
    return copy_ranges(m, r, n, (uint8_t *const *)dst, false, NULL, NULL,
                       NULL);
}

enum mc_err mc_mapping_write(struct mc_mapping *m, uint64_t off,
                             const void *buf, size_t len)
{
    struct mc_range r = {off, len};
    /* copy_ranges never writes through buf when it writes the mapping; the
     * cast only lets one function serve both directions. */
    uint8_t *src = (uint8_t *)(uintptr_t)buf;

    return copy_ranges(m, &r, 1, &src, true, NULL, NULL, NULL);
}

enum mc_err mc_mapping_writev(struct mc_mapping *m, const struct mc_range *r,
                              size_t n, const void *const src[])
{
    return copy_ranges(m, r, n, (uint8_t *const *)(uintptr_t)src, true, NULL,
                       NULL, NULL);
}

enum mc_err mc_mapping_writev_gen(struct mc_mapping *m,
                                  const struct mc_range *r, size_t n,
                                  const void *const src[],
                                  uint64_t *new_generation)
{
    return copy_ranges(m, r, n, (uint8_t *const *)(uintptr_t)src, true, NULL,
                       NULL, new_generation);
}

enum mc_err mc_mapping_writev_if(struct mc_mapping *m,
                                 const struct mc_range *r, size_t n,
                                 const void *const src[],
                                 mc_generation_test *test, const void *cls,
                                 uint64_t *new_generation)
{
    return copy_ranges(m, r, n, (uint8_t *const *)(uintptr_t)src, true, test,
                       cls, new_generation);
}

enum mc_err mc_mapping_write_done(struct mc_mapping *m, uint64_t off,
                                  uint64_t len)
{
    if (!m->writethrough)
        return MC_OK;
    return mc_mapping_flush(m, off, len, NULL);
}

/* ---- flush -------------------------------------------------------------- */

enum mc_err mc_mapping_flush(struct mc_mapping *m, uint64_t off, uint64_t len,
                             uint64_t *flushed)
{
    uint64_t vs = mc__viewcache_view_size(m->vc);
    uint64_t ps = mc__page_size();
    uint64_t size = mc_mapping_size(m);
    uint64_t end;
    struct mc_view **views = NULL;
    size_t count = 0;
    enum mc_err rc = MC_OK;

    if (flushed)
        *flushed = 0;
    if (m->damaged)
        return MC_EDAMAGED;
    if (off > size)
        return MC_ERANGE;
    if (len == 0 || __builtin_add_overflow(off, len, &end) || end > size)
        end = size;
    /* A memfd has no stable storage to reach; saying MC_OK would promise
     * durability the bytes don't have. */
    if (m->backing == MC_BACKING_MEMORY)
        return MC_EUNSUPPORTED;
    /* Private pages never reach a file: nothing to do. */
    if (m->private_map || end == off)
        return MC_OK;

    /* A whole flush makes everything written so far durable: cleared
     * before the msync, so a write racing it marks the mapping again. */
    bool whole = off == 0 && end == size;
    bool was = whole && atomic_exchange(&m->unflushed, false);

    /* Only views mapped now can hold dirty pages we wrote; mapping the others
     * just to msync them would only cost address space. */
    uint64_t first = off - off % ps;
    uint64_t last = end + (ps - end % ps) % ps;
    rc = mc__viewcache_pin_range(m->vc, m, first / vs, (last - 1) / vs, &views,
                                 &count);
    if (rc != MC_OK)
        goto out;
    for (size_t i = 0; i < count; i++) {
        uint64_t vstart = views[i]->index * vs;
        uint64_t s = first > vstart ? first : vstart;
        uint64_t vend = vstart + views[i]->len;
        uint64_t e = last < vend ? last : vend;
        /* A short view of a mapping that grew since may end before the
         * range starts; fdatasync below covers its pages anyway. */
        enum mc_err r =
            e <= s ? MC_OK
                   : mc__sys_msync(views[i]->base + (s - vstart),
                                   (size_t)(e - s));
        if (r != MC_OK && rc == MC_OK)
            rc = r;
        mc__viewcache_release(m->vc, views[i]);
    }
    free(views);
    if (rc != MC_OK)
        goto out;
    /* msync wrote the pages; fdatasync makes the file's size and block map
     * durable too (and covers pages written through views since evicted). */
    int fd;
    rc = mc__fd_get(m, &fd);
    if (rc == MC_OK) {
        rc = mc__sys_datasync(fd);
        mc__fd_put(m);
    }
    if (rc == MC_OK && flushed)
        *flushed = end - off;
out:
    if (rc != MC_OK && was)
        atomic_store(&m->unflushed, true);
    return rc;
}
