/* sparse.c - the extents of a mapping's storage, and zeroing a range with
 * or without giving its storage back (mc_sparse.h).
 *
 * Extents are read off the backing with SEEK_DATA/SEEK_HOLE (sys.c), which
 * files and memfds (tmpfs) both answer, and rounded out to pages: a page is
 * the unit a mapping's bytes live in, and a block smaller than a page
 * cannot hold data the page around it does not. Zeroing holds its range
 * exclusively in the range lock, like a write, so a read sees the old bytes
 * or the zeros, never a mix; fallocate changes the page cache every shared
 * view maps, so views show the zeros at once. Writecopy mappings keep
 * their written pages privately, outside the file: they are zeroed by
 * writing zeros through the views, and their extents cannot be read off
 * the file at all.
 */
#include "mapcore/mc_sparse.h"

#include "internal.h"

/* SEEK_DATA calls one extents call may make beyond one per extent
 * returned: sub-page holes merge extents without adding any, and this
 * bounds how long such a pattern can keep one call busy. */
#define MERGE_SLACK 64

static uint64_t round_down(uint64_t v, uint64_t page)
{
    return v - v % page;
}

/* v rounded up to a page, saturating. */
static uint64_t round_up(uint64_t v, uint64_t page)
{
    uint64_t r = round_down(v, page);

    if (r == v)
        return v;
    return r > UINT64_MAX - page ? UINT64_MAX : r + page;
}

/* The end of [off, off+len) against size (len 0: to the end); false when
 * it lies outside. */
static bool range_end(uint64_t off, uint64_t len, uint64_t size, uint64_t *end)
{
    if (off > size)
        return false;
    if (len == 0) {
        *end = size;
        return true;
    }
    return !__builtin_add_overflow(off, len, end) && *end <= size;
}

enum mc_err mc_mapping_extents(struct mc_mapping *m, uint64_t off, uint64_t len,
                               struct mc_range *out, size_t max, size_t *n,
                               uint64_t *next)
{
    uint64_t page = mc__page_size();
    uint64_t end;
    uint64_t pos = off;
    size_t rounds = 0;
    int fd;
    enum mc_err rc;

    *n = 0;
    *next = UINT64_MAX;
    if (m->damaged)
        return MC_EDAMAGED;
    if (!range_end(off, len, mc_mapping_size(m), &end))
        return MC_ERANGE;
    if (m->private_map) {
        if (off < end && max > 0) {
            out[0].off = off;
            out[0].len = end - off;
            *n = 1;
        }
        return MC_OK;
    }
    rc = mc__fd_get(m, &fd);
    if (rc != MC_OK)
        return rc;
    while (pos < end) {
        uint64_t data, hole, start, stop;
        bool found;

        if (rounds++ == max + MERGE_SLACK) {
            *next = pos;
            break;
        }
        rc = mc__sys_next_data(fd, pos, &found, &data, &hole);
        if (rc != MC_OK || !found || data >= end)
            break;
        start = round_down(data, page);
        if (start < pos)
            start = pos;
        stop = round_up(hole, page);
        if (stop > end)
            stop = end;
        if (*n > 0 && out[*n - 1].off + out[*n - 1].len >= start) {
            out[*n - 1].len = stop - out[*n - 1].off;
        } else if (*n == max) {
            *next = start;
            break;
        } else {
            out[*n].off = start;
            out[*n].len = stop - start;
            (*n)++;
        }
        pos = stop;
    }
    mc__fd_put(m);
    return rc;
}

/* Write zeros over [off, off+len) of a writecopy mapping's private pages;
 * the caller holds the range. */
static enum mc_err zero_private(struct mc_mapping *m, uint64_t off,
                                uint64_t len)
{
    static const uint8_t zeros[64 * 1024];

    while (len > 0) {
        size_t k = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
        size_t done = 0;
        enum mc_err rc = mc__mapping_write_locked(m, off, zeros, k, &done);

        if (rc != MC_OK)
            return rc;
        off += k;
        len -= k;
    }
    return MC_OK;
}

/* Zero [off, off+len) of a shared backing; the caller holds the range. */
static enum mc_err zero_backing(struct mc_mapping *m, uint64_t off,
                                uint64_t len, bool deallocate,
                                bool *deallocated)
{
    int fd;
    enum mc_err rc = mc__fd_get(m, &fd);

    if (rc != MC_OK)
        return rc;
    if (deallocate && m->allocation == MC_ALLOC_SPARSE) {
        rc = mc__sys_punch(fd, off, len);
        if (rc == MC_OK)
            *deallocated = true;
        else if (rc == MC_EUNSUPPORTED)
            rc = mc__sys_zero_range(fd, off, len); /* writes the zeros */
    } else {
        /* A commit mapping's promise is that in-range writes cannot fail
         * for space; without deallocate the caller asked to keep (and so
         * reserve) the range's blocks too. */
        rc = mc__sys_zero_keep(fd, off, len);
    }
    if (rc == MC_OK && m->writethrough)
        rc = mc__sys_datasync(fd);
    mc__fd_put(m);
    return rc;
}

enum mc_err mc_mapping_zero(struct mc_mapping *m, uint64_t off, uint64_t len,
                            bool deallocate, bool *deallocated,
                            uint64_t *new_generation)
{
    struct mc_range r = {off, len};
    bool dealloc = false;
    uint64_t end;
    uint64_t ticket;
    enum mc_err rc;

    if (deallocated != NULL)
        *deallocated = false;
    if (m->protection == MC_PROT_READONLY)
        return MC_ERDONLY;
    if (m->damaged)
        return MC_EDAMAGED;
    if (len == 0 || !range_end(off, len, mc_mapping_size(m), &end)) {
        if (len == 0 && off <= mc_mapping_size(m)) {
            if (new_generation != NULL)
                *new_generation = atomic_load(&m->generation);
            return MC_OK;
        }
        return MC_ERANGE;
    }
    rc = mc__rangelock_lock(&m->ranges, &r, 1, true, &ticket);
    if (rc != MC_OK)
        return rc;
    /* A shrink may have run before the lock was granted. */
    if (!range_end(off, len, mc_mapping_size(m), &end)) {
        mc__rangelock_unlock(&m->ranges, ticket);
        return MC_ERANGE;
    }
    if (m->private_map)
        rc = zero_private(m, off, len);
    else
        rc = zero_backing(m, off, len, deallocate, &dealloc);
    {
        /* Bumped before the range unlocks, as for a write: whoever reads
         * the zeros sees the new generation. Also after a failure, which
         * may have zeroed a part. */
        uint64_t gen = atomic_fetch_add(&m->generation, 1) + 1;

        if (new_generation != NULL)
            *new_generation = gen;
        mc__mapping_touch(m);
    }
    mc__rangelock_unlock(&m->ranges, ticket);
    if (deallocated != NULL)
        *deallocated = dealloc;
    return rc;
}
