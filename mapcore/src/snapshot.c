/* snapshot.c - a point-in-time copy of a mapping as a new read-only file
 * mapping (mc_snapshot.h, which says what writers wait for).
 *
 * The range lock is the whole design: copies of reads and writes take
 * their ranges in it (mapping.c), atomic words and zeroing too, and a
 * resize takes everything exclusively. Holding [0, 2^64) shared therefore
 * waits for every write in flight to finish and keeps new ones out until
 * the copy is made, while reads, which take their ranges shared too, go on.
 * The generation read under the lock is the one every copied byte belongs
 * to.
 *
 * The catalog entry is made after the lock is dropped: the range lock
 * comes after the catalog's create_lock in the lock order (internal.h), so
 * creating under it would invert the order.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mapcore/mc_snapshot.h"

#include "internal.h"

/* The block of a copy through memory. */
#define CHUNK ((size_t)1 << 20)

bool mc_etag_valid(const char *s, size_t len)
{
    if (len < 2 || len > MC_ETAG_MAX || s[0] != '"' || s[len - 1] != '"')
        return false;
    /* RFC 9110 etagc without obs-text: the tag goes back out in JSON and
     * is compared as bytes, so plain printable ASCII only. */
    for (size_t i = 1; i + 1 < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x21 || c > 0x7e || c == '"' || c == '\\')
            return false;
    }
    return true;
}

const char *mc_snapshot_method_name(enum mc_snapshot_method m)
{
    switch (m) {
    case MC_SNAPSHOT_REFLINK:
        return "reflink";
    case MC_SNAPSHOT_KERNEL:
        return "copy_file_range";
    case MC_SNAPSHOT_MEMORY:
    default:
        return "copy";
    }
}

static uint64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != 0)
            return false;
    }
    return true;
}

/* Write the non-zero blocks of buf[0..n) to dst at off (dst was sized
 * first, so what is skipped reads as zeros). */
static enum mc_err write_sparse(int dst, const uint8_t *buf, size_t n,
                                uint64_t off)
{
    enum { BLOCK = 4096 };

    for (size_t at = 0; at < n; at += BLOCK) {
        size_t k = n - at < BLOCK ? n - at : BLOCK;
        enum mc_err rc;

        if (all_zero(buf + at, k))
            continue;
        rc = mc__sys_pwrite(dst, buf + at, k, off + at);
        if (rc != MC_OK)
            return rc;
    }
    return MC_OK;
}

/* [off, off+len) of src through memory: from the descriptor sfd of a
 * shared backing (its page cache is what every shared view shows), or with
 * sfd -1 from src's own views (a writecopy mapping's written pages exist
 * only there). The caller holds src's range. */
static enum mc_err copy_through_memory(struct mc_mapping *src, int sfd, int dst,
                                       uint64_t off, uint64_t len, uint8_t *buf)
{
    while (len > 0) {
        size_t n = len < CHUNK ? (size_t)len : CHUNK;
        enum mc_err rc = sfd < 0 ? mc__mapping_read_locked(src, off, buf, n)
                                 : mc__sys_pread(sfd, buf, n, off);

        if (rc == MC_OK)
            rc = write_sparse(dst, buf, n, off);
        if (rc != MC_OK)
            return rc;
        off += n;
        len -= n;
    }
    return MC_OK;
}

/* The data extents of a shared backing, in the kernel where it can. */
static enum mc_err copy_extents(struct mc_mapping *src, int sfd, int dst,
                                uint64_t size, enum mc_snapshot_method *method,
                                uint8_t **buf)
{
    uint64_t pos = 0;
    enum mc_err rc = MC_OK;

    *method = MC_SNAPSHOT_KERNEL;
    while (pos < size) {
        uint64_t data, hole;
        bool found;

        rc = mc__sys_next_data(sfd, pos, &found, &data, &hole);
        if (rc != MC_OK || !found || data >= size)
            break;
        if (hole > size)
            hole = size;
        if (*method == MC_SNAPSHOT_KERNEL) {
            rc = mc__sys_copy_range(sfd, dst, data, hole - data);
            if (rc == MC_EUNSUPPORTED)
                *method = MC_SNAPSHOT_MEMORY;
            else if (rc != MC_OK)
                break;
        }
        if (*method == MC_SNAPSHOT_MEMORY) {
            if (*buf == NULL && (*buf = malloc(CHUNK)) == NULL)
                return MC_ENOMEM;
            rc = copy_through_memory(src, sfd, dst, data, hole - data, *buf);
            if (rc != MC_OK)
                break;
        }
        pos = hole;
    }
    return rc;
}

/* Copy size bytes of src into the empty file dst; the caller holds src's
 * whole range. */
static enum mc_err copy_bytes(struct mc_mapping *src, int dst, uint64_t size,
                              enum mc_snapshot_method *method)
{
    uint8_t *buf = NULL;
    int sfd;
    enum mc_err rc;

    if (src->private_map) {
        *method = MC_SNAPSHOT_MEMORY;
        buf = malloc(CHUNK);
        rc = buf == NULL ? MC_ENOMEM : mc__sys_truncate(dst, size);
        if (rc == MC_OK)
            rc = copy_through_memory(src, -1, dst, 0, size, buf);
        free(buf);
        return rc;
    }
    rc = mc__fd_get(src, &sfd);
    if (rc != MC_OK)
        return rc;
    /* A reflink clones the whole file, which may be longer than the
     * mapping (a shared file); the size is set after. */
    rc = src->backing == MC_BACKING_FILE ? mc__sys_clone(dst, sfd)
                                         : MC_EUNSUPPORTED;
    if (rc == MC_OK) {
        *method = MC_SNAPSHOT_REFLINK;
        rc = mc__sys_truncate(dst, size);
    } else if (rc == MC_EUNSUPPORTED) {
        rc = mc__sys_truncate(dst, size);
        if (rc == MC_OK)
            rc = copy_extents(src, sfd, dst, size, method, &buf);
    }
    mc__fd_put(src);
    free(buf);
    return rc;
}

enum mc_err mc_catalog_snapshot(struct mc_catalog *cat, struct mc_mapping *src,
                                const char *as, const char *file,
                                mc_snapshot_etag_fn etag, void *etag_cls,
                                struct mc_snapshot_report *rep,
                                struct mc_mapping **out)
{
    char source_etag[MC_ETAG_MAX + 1];
    const char *path = file != NULL ? file : as;
    struct mc_range all = {0, UINT64_MAX};
    struct mc_mapping *other = NULL;
    char type[MC_CONTENT_TYPE_MAX + 1];
    struct mc_spec spec = {0};
    int dirfd = mc__catalog_datafd(cat);
    int dst = -1;
    bool created = false;
    uint64_t ticket, t0;
    enum mc_err rc;

    memset(rep, 0, sizeof(*rep));
    *out = NULL;
    if (!mc_name_valid(as, strlen(as)))
        return MC_ENAME;
    if (!mc_path_valid(path, strlen(path)))
        return MC_EPATH;
    if (src->damaged)
        return MC_EDAMAGED;
    if (mc_catalog_get(cat, as, &other) == MC_OK) {
        mc_mapping_unref(other);
        return MC_EEXIST;
    }
    rc = mc__sys_open_beneath(dirfd, path, true, true, &dst, &created, NULL);
    if (rc != MC_OK)
        return rc;
    if (!created) {
        mc__sys_close(dst);
        return MC_ECONFLICT;
    }

    rc = mc__rangelock_lock(&src->ranges, &all, 1, false, &ticket);
    if (rc == MC_OK) {
        t0 = now_us();
        rep->size = mc_mapping_size(src);
        rep->source_generation = atomic_load(&src->generation);
        rc = copy_bytes(src, dst, rep->size, &rep->method);
        mc__rangelock_unlock(&src->ranges, ticket);
        rep->writers_held_us = now_us() - t0;
    }
    /* The bytes are fixed once copied: making them durable need not hold
     * the source's writers. */
    if (rc == MC_OK)
        rc = mc__sys_datasync(dst);
    if (rc == MC_OK)
        rc = mc__sys_sync_parents(dirfd, path);
    mc__sys_close(dst);
    if (rc != MC_OK)
        goto fail;

    mc_mapping_content_type(src, type);
    spec.given = MC_SPEC_FILE | MC_SPEC_PROTECTION | MC_SPEC_CONTENT_TYPE;
    spec.file = path;
    spec.protection = MC_PROT_READONLY;
    spec.content_type = type;
    /* The record names the source and its ETag at the instant copied, so
     * the snapshot's metadata says so after any restart (README
     * "Snapshots"). */
    etag(etag_cls, src, rep->source_generation, source_etag);
    if (!mc_etag_valid(source_etag, strlen(source_etag))) {
        rc = MC_EINVAL;
        goto fail;
    }
    spec.source = src->name;
    spec.source_etag = source_etag;
    rc = mc_catalog_create(cat, as, &spec, true, out, &created);
    if (rc == MC_OK)
        return MC_OK;
fail:
    mc__sys_unlink_beneath(dirfd, path);
    return rc;
}
