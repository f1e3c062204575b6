/* resize.c - growing and shrinking a mapping without ever raising SIGBUS.
 *
 * Touching a mapped page past the end of its file raises SIGBUS, so a shrink
 * must not truncate the file while someone may be copying from the part it
 * cuts off. Every access is counted in m->pins (mapping.c) under the mapping
 * lock; a shrink sets the new logical size under that lock at once (new
 * accesses see it) and truncates the file only when no pin is left, either
 * right away or when the last pin goes (mc__mapping_unpin).
 *
 * Memory backings are sealed against shrinking, so their tail is hole-punched
 * instead: the pages read as zeros and give their memory back, and the memfd
 * keeps its size. Their size is charged to the catalog's memory budget: a
 * grow past it fails with MC_EMEMLIMIT before a page is reserved.
 *
 * Bytes that come back by growing again must read as zeros. A truncation
 * zeroes them for free; when one is still pending, the stale bytes between
 * the old size and the file's end are punched (or overwritten with zeros)
 * before the size grows over them. A resize holds the whole mapping's range
 * lock exclusively, so no copy is in flight meanwhile: a write that checked
 * its range against the old size cannot land in the zeroed bytes after a
 * regrow, and no atomic read sees half a resize. (Pinned bodies hold no
 * range lock; they only read, and the deferred truncation keeps their pages
 * mapped. A regrow still zeroes bytes under them, and memory shrinks punch
 * at once, so m->resize_seq, odd while a resize runs, tells them to stop:
 * see mc_mapping_resize_seq.)
 *
 * Crash safety: the catalog must never record more bytes than the file has,
 * or the mapping loads as damaged. A file longer than recorded is harmless.
 * So a shrink sets the size, persists the catalog, and only then truncates
 * (trunc_hold keeps mc__mapping_unpin from cutting the file meanwhile); a
 * grow extends the file and fdatasyncs it before persisting. When the
 * persist fails the old logical size comes back, and a failed shrink leaves
 * the file untouched.
 *
 * Shared files (sharing.c): other mappings of the same file need their own
 * sizes. A shrink below the largest of them is MC_ESHARED; a truncation
 * cuts the file to the largest size any user needs, never below; a grow
 * raises this mapping's need before it extends the file, and zeroes only
 * stale bytes, never those another user still holds (the grown mapping
 * shows those, as the file has them). File resizes hold the catalog's
 * create_lock, so no other resize, create or remove of the same file
 * changes the users or the file's size meanwhile; a deferred truncation
 * (pins still out at the shrink) that fires while a create sizes the file
 * for a user not registered yet counts that create's held need.
 *
 * A shrink's catalog save may use the space reserve (reserve.c), so
 * shrinking works on a full disk; the reserve is refilled once the file
 * has been cut.
 */
#include "mapcore/mc_watch.h"

#include "internal.h"

/* Cut the file to m->size, or to the largest size another user of the file
 * needs if that is more, once nothing can reach past m->size: a new access
 * checks the size under the mapping lock first, which is held. The file is
 * never grown here. On failure the truncation stays pending, so the next
 * grow still zeroes the stale bytes and the next unpin tries again. Once
 * the file is no longer than the users need, nothing is pending: the bytes
 * past m->size then belong to another user. */
static void truncate_if_idle(struct mc_mapping *m)
{
    uint64_t keep, cur;

    if (m->pins != 0 || !m->trunc_pending || m->trunc_hold)
        return;
    keep = mc__files_others_need(m);
    if (keep < m->size)
        keep = m->size;
    int fd;
    if (mc__fd_get(m, &fd) != MC_OK)
        return;
    bool ok = mc__sys_file_size(fd, &cur) == MC_OK &&
              (cur <= keep || mc__sys_truncate(fd, keep) == MC_OK);
    mc__fd_put(m);
    if (ok)
        m->trunc_pending = false;
}

void mc__mapping_unpin(struct mc_mapping *m)
{
    pthread_mutex_lock(&m->lock);
    m->pins--;
    truncate_if_idle(m);
    pthread_mutex_unlock(&m->lock);
}

/* The first byte past `old` that no other user of the file holds: bytes
 * from here to the file's end are stale when a truncation is pending. */
static uint64_t stale_from(struct mc_mapping *m, uint64_t old)
{
    uint64_t others = mc__files_others_need(m);

    return others > old ? others : old;
}

/* Grow a file backing; the mapping lock is held. The new bytes reach the
 * disk (fdatasync) before the caller persists the larger size. */
static enum mc_err grow_file_fd(struct mc_mapping *m, int fd, uint64_t old,
                                uint64_t new_size)
{
    uint64_t cur;
    enum mc_err rc = mc__sys_file_size(fd, &cur);

    if (rc != MC_OK)
        return rc;
    uint64_t from = stale_from(m, old);
    uint64_t to = cur < new_size ? cur : new_size;
    if (m->trunc_pending && to > from) {
        rc = mc__sys_zero_range(fd, from, to - from);
        if (rc != MC_OK)
            return rc;
    }
    if (m->allocation == MC_ALLOC_COMMIT) {
        /* Reserve first: on a full disk nothing changes, where a plain
         * ftruncate would have promised blocks we don't have. (create_lock
         * is held: no other user grew the file since cur was read.) */
        rc = mc__sys_reserve(fd, 0, new_size);
        if (rc != MC_OK) {
            uint64_t now;
            if (mc__sys_file_size(fd, &now) == MC_OK && now > cur)
                (void)mc__sys_truncate(fd, cur);
            return rc;
        }
    } else if (new_size > cur) {
        rc = mc__sys_truncate(fd, new_size);
        if (rc != MC_OK)
            return rc;
    }
    /* The catalog may name the new size only once the file has it on disk;
     * a longer file than recorded is harmless if the persist never comes. */
    rc = mc__sys_datasync(fd);
    if (rc != MC_OK)
        return rc;
    if (new_size >= cur)
        m->trunc_pending = false;
    /* Opened while too small for the random-access hint (fdcache.c). */
    if (old <= MC__HINT_RANDOM_MIN && new_size > MC__HINT_RANDOM_MIN)
        mc__sys_hint_random(fd);
    return MC_OK;
}

static enum mc_err grow_file(struct mc_mapping *m, uint64_t old,
                             uint64_t new_size)
{
    int fd;
    enum mc_err rc = mc__fd_get(m, &fd);

    if (rc != MC_OK)
        return rc;
    rc = grow_file_fd(m, fd, old, new_size);
    mc__fd_put(m);
    return rc;
}

/* Memory backing; the mapping lock is held. */
static enum mc_err resize_memory(struct mc_mapping *m, uint64_t old,
                                 uint64_t new_size)
{
    uint64_t cur;
    enum mc_err rc = mc__sys_file_size(m->fd, &cur);

    if (rc != MC_OK)
        return rc;
    if (new_size < old)
        return mc__sys_zero_range(m->fd, new_size, cur - new_size);
    if (new_size > cur) {
        rc = mc__sys_truncate(m->fd, new_size);
        if (rc != MC_OK)
            return rc;
    }
    if (m->allocation == MC_ALLOC_COMMIT) {
        rc = mc__sys_reserve(m->fd, old, new_size - old);
        if (rc != MC_OK) {
            /* Give back what the failed reservation took; the memfd can't
             * shrink (sealed) but the pages can go. */
            (void)mc__sys_zero_range(m->fd, old, new_size - old);
            return rc;
        }
    }
    return MC_OK;
}

/* Memory backing, kept within the memory budget (mc_memory.h); the
 * mapping lock and resize_lock are held, so m->charged is ours to change.
 * A grow is charged before a page is reserved, and given back if the
 * resize fails; a shrink gives its bytes back once they are punched. */
static enum mc_err resize_memory_charged(struct mc_mapping *m, uint64_t old,
                                         uint64_t new_size)
{
    uint64_t grow = new_size > old ? new_size - old : 0;
    enum mc_err rc;

    if (m->budget != NULL && grow > 0) {
        rc = mc__membudget_charge(m->budget, grow);
        if (rc != MC_OK)
            return rc;
    }
    rc = resize_memory(m, old, new_size);
    if (m->budget == NULL)
        return rc;
    if (rc != MC_OK) {
        mc__membudget_release(m->budget, grow);
        return rc;
    }
    if (grow > 0) {
        m->charged += grow;
    } else {
        mc__membudget_release(m->budget, old - new_size);
        m->charged -= old - new_size;
    }
    return MC_OK;
}

/* Zero [from, from+len) of m's file; false when that failed. */
static bool zero_file(struct mc_mapping *m, uint64_t from, uint64_t len)
{
    int fd;
    bool ok = mc__fd_get(m, &fd) == MC_OK;

    if (ok) {
        ok = mc__sys_zero_range(fd, from, len) == MC_OK;
        mc__fd_put(m);
    }
    return ok;
}

/* The size is set; persist it, undoing the resize (back to old) on failure.
 * resize_lock is held, the mapping lock is not. */
static enum mc_err persist_file_resize(struct mc_mapping *m, uint64_t old,
                                       uint64_t new_size, bool old_pending)
{
    uint64_t vs = mc__viewcache_view_size(m->vc);
    enum mc_err rc = mc__catalog_persist(m->cat, m, new_size < old);
    uint64_t from;

    pthread_mutex_lock(&m->lock);
    /* The smaller need counts once the catalog says so; a failed grow no
     * longer needs its new bytes. */
    if ((rc == MC_OK) == (new_size < old))
        mc__files_set_need(m, new_size < old ? new_size : old);
    if (rc != MC_OK) {
        m->size = old;
        from = stale_from(m, old);
        if (new_size < old) {
            /* The file was never cut, so [new_size, old) still holds its
             * bytes (nobody could write there meanwhile). */
            m->trunc_pending = old_pending;
        } else if ((new_size > from && !zero_file(m, from, new_size - from)) ||
                   m->pins > 0) {
            /* The file stays longer than the recorded size (harmless: the
             * catalog may even have reached the disk), but bytes written
             * past old meanwhile must not come back. Punching failed, or a
             * copy still in flight may write there after it: let the
             * truncation (or the next grow) zero them. */
            m->trunc_pending = true;
        }
    }
    if (new_size < old)
        m->trunc_hold = false;
    truncate_if_idle(m);
    pthread_mutex_unlock(&m->lock);
    if (rc != MC_OK && new_size > old)
        mc__viewcache_drop(m->vc, m, (old + vs - 1) / vs);
    if (rc == MC_OK && new_size < old)
        mc__catalog_refill_reserve(m->cat);
    return rc;
}

enum mc_err mc_mapping_resize(struct mc_mapping *m, uint64_t new_size)
{
    uint64_t vs = mc__viewcache_view_size(m->vc);
    struct mc_range all = {0, UINT64_MAX};
    uint64_t ticket;
    uint64_t old;
    bool old_pending = false;
    bool file = m->backing == MC_BACKING_FILE;
    enum mc_err rc = MC_OK;

    if (m->damaged)
        return MC_EDAMAGED;
    if (m->protection != MC_PROT_READWRITE)
        return MC_ECONFLICT;
    if (new_size == 0)
        return MC_EZEROSIZE;
    if (new_size > m->max_size)
        return MC_ETOOBIG;

    /* Order: range lock, resize_lock, mapping lock, as copies take the
     * range lock before the mapping lock. */
    rc = mc__rangelock_lock(&m->ranges, &all, 1, true, &ticket);
    if (rc != MC_OK)
        return rc;
    pthread_mutex_lock(&m->resize_lock);
    if (file)
        mc__catalog_files_lock(m->cat, m, true);
    pthread_mutex_lock(&m->lock);
    old = m->size;
    if (new_size == old ||
        (file && new_size < old && new_size < mc__files_others_need(m))) {
        rc = new_size == old ? MC_OK : MC_ESHARED;
        pthread_mutex_unlock(&m->lock);
        if (file)
            mc__catalog_files_lock(m->cat, m, false);
        pthread_mutex_unlock(&m->resize_lock);
        mc__rangelock_unlock(&m->ranges, ticket);
        return rc;
    }
    /* Odd from here until the end: bodies served from pinned views stop
     * rather than mix bytes from both sides of this resize. Before any
     * byte changes, as a seqlock writer does. */
    atomic_fetch_add(&m->resize_seq, 1);
    if (m->backing == MC_BACKING_MEMORY) {
        rc = resize_memory_charged(m, old, new_size);
    } else if (new_size > old) {
        /* Raised first: a truncation by another user of the file must not
         * cut the bytes this grow adds. */
        mc__files_set_need(m, new_size);
        rc = grow_file(m, old, new_size);
        if (rc != MC_OK)
            mc__files_set_need(m, old);
    } else {
        /* New accesses see the smaller size at once; the file is cut only
         * after the catalog records it (persist_file_resize). */
        old_pending = m->trunc_pending;
        m->trunc_pending = true;
        m->trunc_hold = true;
    }
    if (rc == MC_OK)
        m->size = new_size;
    pthread_mutex_unlock(&m->lock);
    if (rc == MC_OK && file)
        rc = persist_file_resize(m, old, new_size, old_pending);
    if (file)
        mc__catalog_files_lock(m->cat, m, false);
    pthread_mutex_unlock(&m->resize_lock);
    if (rc != MC_OK) {
        /* Undone, but bytes may have been zeroed and restored meanwhile:
         * readers of pinned views must still see that a resize ran. */
        atomic_fetch_add(&m->resize_seq, 1);
        mc__rangelock_unlock(&m->ranges, ticket);
        return rc;
    }
    /* Bumped before the range lock goes, as writes do: whoever sees the
     * new size also sees the new generation. */
    uint64_t gen = atomic_fetch_add(&m->generation, 1) + 1;

    atomic_fetch_add(&m->resize_seq, 1); /* even again: the resize is over */
    mc__mapping_touch(m);
    mc__rangelock_unlock(&m->ranges, ticket);
    /* Views wholly past the new end only hold address space now. */
    if (new_size < old)
        mc__viewcache_drop(m->vc, m, (new_size + vs - 1) / vs);
    mc__watch_changed(m, MC_CHANGE_RESIZE, 0, new_size, gen);
    return MC_OK;
}
