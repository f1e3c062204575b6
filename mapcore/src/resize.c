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
 * keeps its size.
 *
 * Bytes that come back by growing again must read as zeros. A truncation
 * zeroes them for free; when one is still pending, the stale bytes between
 * the old size and the file's end are punched (or overwritten with zeros)
 * before the size grows over them.
 */
#include "internal.h"

void mc__mapping_unpin(struct mc_mapping *m)
{
    pthread_mutex_lock(&m->lock);
    m->pins--;
    if (m->pins == 0 && m->trunc_pending) {
        /* Nobody can reach past m->size now: a new access checks the size
         * under this lock first. On failure the truncation stays pending, so
         * the next grow still zeroes the stale bytes and the next unpin
         * tries again. */
        if (mc__sys_truncate(m->fd, m->size) == MC_OK)
            m->trunc_pending = false;
    }
    pthread_mutex_unlock(&m->lock);
}

/* File backing; the mapping lock is held. */
static enum mc_err resize_file(struct mc_mapping *m, uint64_t old,
                               uint64_t new_size)
{
    uint64_t cur;
    enum mc_err rc = mc__sys_file_size(m->fd, &cur);

    if (rc != MC_OK)
        return rc;
    if (new_size < old) {
        if (m->pins > 0) {
            m->trunc_pending = true;
            return MC_OK;
        }
        rc = mc__sys_truncate(m->fd, new_size);
        if (rc == MC_OK)
            m->trunc_pending = false;
        return rc;
    }
    if (m->trunc_pending && cur > old) {
        rc = mc__sys_zero_range(m->fd, old,
                                (cur < new_size ? cur : new_size) - old);
        if (rc != MC_OK)
            return rc;
    }
    if (m->allocation == MC_ALLOC_COMMIT) {
        /* Reserve first: on a full disk nothing changes, where a plain
         * ftruncate would have promised blocks we don't have. */
        rc = mc__sys_reserve(m->fd, 0, new_size);
        if (rc != MC_OK) {
            uint64_t now;
            if (mc__sys_file_size(m->fd, &now) == MC_OK && now > cur)
                (void)mc__sys_truncate(m->fd, cur);
            return rc;
        }
    } else if (new_size > cur) {
        rc = mc__sys_truncate(m->fd, new_size);
        if (rc != MC_OK)
            return rc;
    }
    if (new_size >= cur)
        m->trunc_pending = false;
    return MC_OK;
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

enum mc_err mc_mapping_resize(struct mc_mapping *m, uint64_t new_size)
{
    uint64_t vs = mc__viewcache_view_size(m->vc);
    uint64_t old;
    enum mc_err rc;

    if (m->damaged)
        return MC_EDAMAGED;
    if (m->protection != MC_PROT_READWRITE)
        return MC_ECONFLICT;
    if (new_size == 0)
        return MC_EZEROSIZE;
    if (new_size > m->max_size)
        return MC_ETOOBIG;

    pthread_mutex_lock(&m->lock);
    old = m->size;
    if (new_size == old) {
        pthread_mutex_unlock(&m->lock);
        return MC_OK;
    }
    if (m->backing == MC_BACKING_MEMORY)
        rc = resize_memory(m, old, new_size);
    else
        rc = resize_file(m, old, new_size);
    if (rc == MC_OK)
        m->size = new_size;
    pthread_mutex_unlock(&m->lock);
    if (rc != MC_OK)
        return rc;

    atomic_fetch_add(&m->generation, 1);
    atomic_store(&m->modified_at_ms, mc__now_ms());
    /* Views wholly past the new end only hold address space now. */
    if (new_size < old)
        mc__viewcache_drop(m->vc, m, (new_size + vs - 1) / vs);
    if (m->backing == MC_BACKING_FILE)
        return mc__catalog_persist(m->cat);
    return MC_OK;
}
