/* backing.c - opening and sizing the backing of a new mapping.
 *
 * This is CreateFileMapping's disk side: find or create the file beneath the
 * data directory, settle the size (default: the file's), and grow and
 * reserve it as asked. The rule that matters most is that a failure leaves
 * nothing behind: a file this call created is unlinked, a file it grew is
 * cut back, so a full disk never leaves a half-made mapping.
 */
#include <stdio.h>

#include "internal.h"

static enum mc_err open_memory(const struct mc__backing_req *req, int *fd,
                               uint64_t *size)
{
    char label[sizeof "mmapd:" + MC_NAME_MAX];

    if (!req->size_given || req->size == 0)
        return MC_EZEROSIZE;
    if (req->size > req->max_size)
        return MC_ETOOBIG;
    /* The label shows in /proc/PID/maps and fd listings; it names nothing. */
    snprintf(label, sizeof label, "mmapd:%s", req->name);
    *size = req->size;
    return mc__sys_memfd(label, req->size, req->allocation == MC_ALLOC_COMMIT,
                         fd);
}

/* Grow (or reserve) a readwrite file to size. On failure the file is cut
 * back to cur, its size before. */
static enum mc_err size_file(int fd, uint64_t cur, uint64_t size,
                             enum mc_allocation allocation)
{
    enum mc_err rc = MC_OK;

    if (allocation == MC_ALLOC_COMMIT) {
        rc = mc__sys_reserve(fd, 0, size);
        if (rc != MC_OK) {
            uint64_t now;
            if (mc__sys_file_size(fd, &now) == MC_OK && now > cur)
                (void)mc__sys_truncate(fd, cur);
        }
    } else if (size > cur) {
        rc = mc__sys_truncate(fd, size);
    }
    return rc;
}

enum mc_err mc__backing_open(int datafd, const struct mc__backing_req *req,
                             int *out_fd, uint64_t *out_size,
                             bool *created_file)
{
    bool writable = req->protection == MC_PROT_READWRITE;
    bool sized = req->size_given && req->size > 0;
    bool created = false;
    uint64_t cur = 0;
    uint64_t size;
    int fd = -1;
    enum mc_err rc;

    *created_file = false;
    if (req->backing == MC_BACKING_MEMORY)
        return open_memory(req, out_fd, out_size);
    /* Check what can be checked before touching the disk. */
    if (req->size_given && req->size > req->max_size)
        return MC_ETOOBIG;
    /* Only a readwrite request with a size may create the file: a file we'd
     * create without one would be empty, which is MC_EZEROSIZE anyway. */
    rc = mc__sys_open_beneath(datafd, req->file, writable, writable && sized,
                              &fd, &created, NULL);
    if (rc == MC_ENOFILE && writable && !sized)
        return MC_EZEROSIZE;
    if (rc != MC_OK)
        return rc;
    mc__sys_hint_random(fd);
    /* A file this call created is new to everyone; an existing one may be
     * refused before it is grown or reserved. */
    if (!created && req->check)
        rc = req->check(req->check_cls, fd);
    if (rc == MC_OK)
        rc = mc__sys_file_size(fd, &cur);
    if (rc != MC_OK)
        goto cleanup;
    size = req->size_given ? req->size : cur;
    if (size == 0) {
        rc = MC_EZEROSIZE;
        goto cleanup;
    }
    if (size > req->max_size) {
        rc = MC_ETOOBIG;
        goto cleanup;
    }
    if (!writable) {
        /* We may not grow a file we only read; mapping past its end would
         * fault on the first read of the missing part. */
        if (size > cur)
            rc = MC_ECONFLICT;
    } else {
        rc = size_file(fd, cur, size, req->allocation);
        /* The catalog will name this file with this size: both must be on
         * disk first, or a crash leaves an entry whose file is missing or
         * short (damaged). A new file's name lives in its parent directory,
         * and any directory created on the way in its own parent. */
        if (rc == MC_OK) {
            rc = mc__sys_fsync(fd);
            if (rc == MC_OK && created)
                rc = mc__sys_sync_parents(datafd, req->file);
            if (rc != MC_OK && !created && size > cur)
                (void)mc__sys_truncate(fd, cur); /* cut back what we grew */
        }
    }
    if (rc != MC_OK)
        goto cleanup;
    *out_fd = fd;
    *out_size = size;
    *created_file = created;
    return MC_OK;
cleanup:
    mc__sys_close(fd);
    if (created)
        (void)mc__sys_unlink_beneath(datafd, req->file);
    return rc;
}
