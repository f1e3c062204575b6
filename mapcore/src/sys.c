/* sys.c - the only file that makes system calls on files and mappings.
 *
 * Keeping mmap, msync, fallocate, ftruncate, openat and friends here keeps the
 * platform surface small and greppable, and gives errno exactly one place
 * where it is turned into a library code (mc__sys_err).
 *
 * Every descriptor is opened O_CLOEXEC, and every path is resolved relative
 * to the data directory's fd: absolute paths are never built by joining
 * strings. Paths are resolved with openat2(RESOLVE_BENEATH) so symlinks that
 * stay inside the data directory work and ones that lead out fail with EXDEV.
 * Where openat2 is missing or filtered by a container's seccomp profile, a
 * component walk with O_NOFOLLOW takes over; it refuses every symlink, which
 * is stricter but never unsafe.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h> /* renameat */
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h> /* FICLONE */
#include <sys/ioctl.h>
#include <sys/file.h> /* flock */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

enum mc_err mc__sys_err(int err)
{
    mc__set_last_errno(err);
    switch (err) {
    case 0:
        return MC_EIO; /* a caller lost errno; still a failure */
    case ENOSPC:
    case EDQUOT:
        return MC_ENOSPC;
    case ENOMEM:
    case EAGAIN:
        return MC_ENOMEM;
    case EXDEV: /* RESOLVE_BENEATH: the path left the data directory */
    case ELOOP: /* a symlink where the fallback walk allows none */
    case ENOTDIR:
    case ENAMETOOLONG:
        return MC_EPATH;
    case EISDIR: /* a directory where a file was expected */
    case ENXIO:  /* a socket, or a device without a driver */
        return MC_ENOTREG;
    case ENOENT:
        return MC_ENOFILE;
    case EFBIG:
        return MC_ETOOBIG;
    case EMFILE: /* this process's open-file limit */
    case ENFILE: /* the system's */
        return MC_ENOFD;
    default:
        return MC_EIO;
    }
}

/* ---- path resolution --------------------------------------------------- */

static atomic_bool openat2_disabled;

void mc__sys_disable_openat2(bool off)
{
    atomic_store(&openat2_disabled, off);
}

static void close_keep_errno(int fd)
{
    int saved = errno;

    if (fd >= 0)
        close(fd);
    errno = saved;
}

/* The fallback: open each directory component with O_NOFOLLOW|O_DIRECTORY,
 * then the last one with O_NOFOLLOW. The path was validated by mc_path_valid,
 * so no component is "." or "..". Returns an fd or -1 with errno set. */
static int open_walk(int dirfd, const char *path, int flags, mode_t mode)
{
    char buf[MC_PATH_MAX + 1];
    size_t len = strlen(path);
    int cur = dirfd;
    int fd = -1;
    char *comp = buf;

    if (len > MC_PATH_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, len + 1);
    for (;;) {
        char *slash = strchr(comp, '/');
        if (!slash)
            break;
        *slash = '\0';
        int next =
            openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (cur != dirfd)
            close_keep_errno(cur);
        if (next < 0)
            return -1;
        cur = next;
        comp = slash + 1;
    }
    fd = openat(cur, comp, flags | O_NOFOLLOW | O_CLOEXEC, mode);
    if (cur != dirfd)
        close_keep_errno(cur);
    return fd;
}

/* Open path beneath dirfd; returns an fd or -1 with errno set. */
static int open_beneath(int dirfd, const char *path, int flags, mode_t mode)
{
    if (!atomic_load(&openat2_disabled)) {
        struct open_how how = {
            .flags = (uint64_t)(flags | O_CLOEXEC),
            .mode = (flags & O_CREAT) ? mode : 0,
            .resolve = RESOLVE_BENEATH,
        };
        long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
        if (fd >= 0)
            return (int)fd;
        /* ENOSYS: an old kernel, for good. EPERM: most likely a seccomp
         * filter; a genuine EPERM will simply happen again in the walk. */
        if (errno == ENOSYS)
            atomic_store(&openat2_disabled, true);
        else if (errno != EPERM)
            return -1;
    }
    return open_walk(dirfd, path, flags, mode);
}

/* Create the missing parent directories of path (0750), each one made by
 * mkdirat relative to its parent opened beneath dirfd, so a symlinked
 * component can't make us create directories outside. */
static int make_parents(int dirfd, const char *path)
{
    char buf[MC_PATH_MAX + 1];
    size_t len = strlen(path);

    if (len > MC_PATH_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, len + 1);
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != '/')
            continue;
        buf[i] = '\0';
        char *last = strrchr(buf, '/');
        int pfd = dirfd;
        const char *comp = buf;
        if (last) {
            *last = '\0';
            pfd = open_beneath(dirfd, buf, O_RDONLY | O_DIRECTORY, 0);
            *last = '/';
            if (pfd < 0)
                return -1;
            comp = last + 1;
        }
        int rc = mkdirat(pfd, comp, 0750);
        if (pfd != dirfd)
            close_keep_errno(pfd);
        if (rc < 0 && errno != EEXIST)
            return -1;
        buf[i] = '/';
    }
    return 0;
}

enum mc_err mc__sys_open_beneath(int dirfd, const char *path, bool writable,
                                 bool may_create, int *out, bool *created,
                                 struct stat *out_st)
{
    /* O_NONBLOCK so a FIFO planted at the path can't hang the open; it is
     * refused below as not a regular file (O_NONBLOCK means nothing to a
     * regular file). */
    int flags = (writable ? O_RDWR : O_RDONLY) | O_NONBLOCK | O_NOCTTY;
    int fd = -1;
    struct stat st;

    *created = false;
    /* Open first, create with O_EXCL second: that way *created is exact even
     * when another process creates the file between the two. A few rounds
     * cover an unlink racing us; more would mean someone is playing games. */
    for (int round = 0; round < 4 && fd < 0; round++) {
        fd = open_beneath(dirfd, path, flags, 0);
        if (fd >= 0 || errno != ENOENT || !may_create)
            break;
        fd = open_beneath(dirfd, path, flags | O_CREAT | O_EXCL, 0640);
        if (fd >= 0) {
            *created = true;
            break;
        }
        if (errno == EEXIST)
            continue; /* created meanwhile: open it */
        if (errno != ENOENT || make_parents(dirfd, path) < 0)
            break;
    }
    if (fd < 0)
        return mc__sys_err(errno);
    if (fstat(fd, &st) < 0) {
        int err = errno;
        close(fd);
        return mc__sys_err(err);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return MC_ENOTREG;
    }
    if (out_st)
        *out_st = st;
    *out = fd;
    return MC_OK;
}

void mc__sys_hint_random(int fd)
{
    /* Requests are random ranges: the kernel's readahead for a pread miss
     * would read (or, in a sparse file, zero-fill) far more than asked. A
     * hint; a file system that ignores it is fine. */
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
}

enum mc_err mc__sys_identify(int fd, struct stat *st)
{
    return fstat(fd, st) == 0 ? MC_OK : mc__sys_err(errno);
}

enum mc_err mc__sys_size_at(int dirfd, const char *name, uint64_t *size)
{
    struct stat st;

    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return mc__sys_err(errno);
    *size = (uint64_t)st.st_size;
    return MC_OK;
}

enum mc_err mc__sys_sync_parents(int dirfd, const char *path)
{
    char buf[MC_PATH_MAX + 1];
    size_t len = strlen(path);

    if (len > MC_PATH_MAX)
        return MC_EPATH;
    memcpy(buf, path, len + 1);
    /* Deepest first: each directory's entry lives in the next one up. */
    for (char *last = strrchr(buf, '/'); last; last = strrchr(buf, '/')) {
        *last = '\0';
        int fd = open_beneath(dirfd, buf, O_RDONLY | O_DIRECTORY, 0);
        if (fd < 0)
            return mc__sys_err(errno);
        enum mc_err rc = mc__sys_fsync(fd);
        close(fd);
        if (rc != MC_OK)
            return rc;
    }
    return mc__sys_fsync(dirfd);
}

enum mc_err mc__sys_unlink_beneath(int dirfd, const char *path)
{
    char buf[MC_PATH_MAX + 1];
    size_t len = strlen(path);
    const char *comp = buf;
    int pfd = dirfd;
    enum mc_err rc = MC_OK;

    if (len > MC_PATH_MAX)
        return MC_EPATH;
    memcpy(buf, path, len + 1);
    char *last = strrchr(buf, '/');
    if (last) {
        *last = '\0';
        pfd = open_beneath(dirfd, buf, O_RDONLY | O_DIRECTORY, 0);
        if (pfd < 0)
            return mc__sys_err(errno);
        comp = last + 1;
    }
    if (unlinkat(pfd, comp, 0) < 0)
        rc = mc__sys_err(errno);
    if (pfd != dirfd)
        close(pfd);
    return rc;
}

enum mc_err mc__sys_open_datadir(const char *path, int *dirfd)
{
    if (mkdirat(AT_FDCWD, path, 0750) < 0 && errno != EEXIST)
        return mc__sys_err(errno);
    int fd = openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return mc__sys_err(errno);
    *dirfd = fd;
    return MC_OK;
}

enum mc_err mc__sys_lock_dir(int dirfd)
{
    if (flock(dirfd, LOCK_EX | LOCK_NB) == 0)
        return MC_OK;
    return errno == EWOULDBLOCK ? MC_EINUSE : mc__sys_err(errno);
}

enum mc_err mc__sys_open_subdir(int dirfd, const char *name, bool create,
                                int *out, bool *created)
{
    *created = false;
    if (create) {
        if (mkdirat(dirfd, name, 0750) == 0)
            *created = true;
        else if (errno != EEXIST)
            return mc__sys_err(errno);
    }
    int fd =
        openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return mc__sys_err(errno);
    *out = fd;
    return MC_OK;
}

/* ---- file size and blocks ---------------------------------------------- */

enum mc_err mc__sys_file_size(int fd, uint64_t *size)
{
    struct stat st;

    if (fstat(fd, &st) < 0)
        return mc__sys_err(errno);
    *size = (uint64_t)st.st_size;
    return MC_OK;
}

enum mc_err mc__sys_file_mtime_ms(int fd, int64_t *ms)
{
    struct stat st;

    if (fstat(fd, &st) < 0)
        return mc__sys_err(errno);
    /* Floor, as mc__now_coarse_ms does: a stamp taken at t reads back as
     * at least t. */
    *ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    return MC_OK;
}

void mc__sys_stamp(int fd)
{
    /* UTIME_NOW needs only write access, where an explicit time would need
     * us to own the file. Best effort: the time is a figure, not data. */
    const struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT},
                                   {.tv_nsec = UTIME_NOW}};

    (void)futimens(fd, ts);
}

enum mc_err mc__sys_truncate(int fd, uint64_t size)
{
    if (size > INT64_MAX)
        return MC_ETOOBIG;
    if (ftruncate(fd, (off_t)size) < 0)
        return mc__sys_err(errno);
    return MC_OK;
}

enum mc_err mc__sys_reserve(int fd, uint64_t off, uint64_t len)
{
    int err;

    if (off > INT64_MAX || len > (uint64_t)INT64_MAX - off)
        return MC_ETOOBIG;
    /* posix_fallocate returns the error instead of setting errno. */
    do {
        err = posix_fallocate(fd, (off_t)off, (off_t)len);
    } while (err == EINTR);
    if (err != 0)
        return mc__sys_err(err);
    return MC_OK;
}

enum mc_err mc__sys_zero_range(int fd, uint64_t off, uint64_t len)
{
    static const uint8_t zeros[64 * 1024];
    enum mc_err rc = mc__sys_punch(fd, off, len);

    if (rc != MC_EUNSUPPORTED)
        return rc;
    /* This filesystem can't punch holes: write the zeros instead. */
    while (len > 0) {
        size_t n = len < sizeof zeros ? (size_t)len : sizeof zeros;
        ssize_t w = pwrite(fd, zeros, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return mc__sys_err(w < 0 ? errno : EIO);
        off += (uint64_t)w;
        len -= (uint64_t)w;
    }
    return MC_OK;
}

enum mc_err mc__sys_punch(int fd, uint64_t off, uint64_t len)
{
    if (len == 0)
        return MC_OK;
    if (off > INT64_MAX || len > (uint64_t)INT64_MAX - off)
        return MC_ETOOBIG;
    if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
                  (off_t)len) == 0)
        return MC_OK;
    if (errno == EOPNOTSUPP)
        return MC_EUNSUPPORTED;
    return mc__sys_err(errno);
}

enum mc_err mc__sys_zero_keep(int fd, uint64_t off, uint64_t len)
{
    enum mc_err rc;

    if (len == 0)
        return MC_OK;
    if (off > INT64_MAX || len > (uint64_t)INT64_MAX - off)
        return MC_ETOOBIG;
    if (fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off,
                  (off_t)len) == 0)
        return MC_OK;
    if (errno != EOPNOTSUPP)
        return mc__sys_err(errno);
    /* No ZERO_RANGE here (tmpfs, which backs memfds, has none): punch (or
     * write zeros), then reserve the blocks again. */
    rc = mc__sys_zero_range(fd, off, len);
    return rc == MC_OK ? mc__sys_reserve(fd, off, len) : rc;
}

enum mc_err mc__sys_next_data(int fd, uint64_t off, bool *found,
                              uint64_t *data, uint64_t *hole)
{
    off_t d;
    off_t h;

    *found = false;
    if (off > INT64_MAX)
        return MC_OK;
    d = lseek(fd, (off_t)off, SEEK_DATA);
    if (d < 0)
        return errno == ENXIO ? MC_OK : mc__sys_err(errno);
    h = lseek(fd, d, SEEK_HOLE);
    if (h < 0)
        return errno == ENXIO ? MC_OK : mc__sys_err(errno);
    *found = true;
    *data = (uint64_t)d;
    *hole = (uint64_t)h;
    return MC_OK;
}

enum mc_err mc__sys_clone(int dst, int src)
{
    if (ioctl(dst, FICLONE, src) == 0)
        return MC_OK;
    /* EXDEV: two file systems; EOPNOTSUPP/EINVAL/ENOTTY: one that shares
     * no blocks (ext4, tmpfs). */
    if (errno == EXDEV || errno == EOPNOTSUPP || errno == EINVAL ||
        errno == ENOTTY || errno == EPERM)
        return MC_EUNSUPPORTED;
    return mc__sys_err(errno);
}

enum mc_err mc__sys_copy_range(int src, int dst, uint64_t off, uint64_t len)
{
    loff_t in = (loff_t)off;
    loff_t out = (loff_t)off;
    uint64_t done = 0;

    while (done < len) {
        uint64_t left = len - done;
        ssize_t n = copy_file_range(src, &in, dst, &out,
                                    left < (1u << 30) ? (size_t)left
                                                      : (size_t)1 << 30,
                                    0);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && done == 0 &&
            (errno == EXDEV || errno == EOPNOTSUPP || errno == EINVAL ||
             errno == ENOSYS))
            return MC_EUNSUPPORTED;
        if (n < 0)
            return mc__sys_err(errno);
        if (n == 0)
            return MC_ETRUNCATED; /* the source ended first */
        done += (uint64_t)n;
    }
    return MC_OK;
}

enum mc_err mc__sys_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
    const uint8_t *p = buf;

    while (len > 0) {
        ssize_t w = pwrite(fd, p, len, (off_t)off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return mc__sys_err(w < 0 ? errno : EIO);
        p += w;
        off += (uint64_t)w;
        len -= (size_t)w;
    }
    return MC_OK;
}

enum mc_err mc__sys_pread(int fd, void *buf, size_t len, uint64_t off)
{
    uint8_t *p = buf;

    if (off > INT64_MAX || len > (uint64_t)INT64_MAX - off)
        return MC_ETOOBIG;
    while (len > 0) {
        ssize_t r = pread(fd, p, len, (off_t)off);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return mc__sys_err(errno);
        if (r == 0)
            return MC_ETRUNCATED;
        p += r;
        off += (uint64_t)r;
        len -= (size_t)r;
    }
    return MC_OK;
}

/* fdatasync, fsync and msync calls made (tests: mc__sys_sync_count). */
static atomic_uint_fast64_t syncs;

uint64_t mc__sys_sync_count(void)
{
    return atomic_load(&syncs);
}

enum mc_err mc__sys_datasync(int fd)
{
    atomic_fetch_add(&syncs, 1);
    if (fdatasync(fd) < 0)
        return mc__sys_err(errno);
    return MC_OK;
}

enum mc_err mc__sys_fsync(int fd)
{
    atomic_fetch_add(&syncs, 1);
    if (fsync(fd) < 0)
        return mc__sys_err(errno);
    return MC_OK;
}

void mc__sys_close(int fd)
{
    if (fd >= 0)
        close(fd);
}

enum mc_err mc__sys_memfd(const char *name, uint64_t size, bool commit,
                          int *out)
{
    enum mc_err rc = MC_OK;
    int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);

    if (fd < 0)
        return mc__sys_err(errno);
    rc = mc__sys_truncate(fd, size);
    if (rc != MC_OK)
        goto cleanup;
    if (commit) {
        rc = mc__sys_reserve(fd, 0, size);
        if (rc != MC_OK)
            goto cleanup;
    }
    /* Nobody (not even a bug of ours) can shrink it under a view now, so
     * views of it can never raise SIGBUS. Growing stays allowed. */
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
        rc = mc__sys_err(errno);
        goto cleanup;
    }
    *out = fd;
    fd = -1;
cleanup:
    mc__sys_close(fd);
    return rc;
}

/* ---- mappings ----------------------------------------------------------- */

enum mc_err mc__sys_map(int fd, uint64_t off, size_t len, bool writable,
                        bool private_copy, void **out)
{
    int prot = PROT_READ | (writable ? PROT_WRITE : 0);
    int flags = private_copy ? MAP_PRIVATE : MAP_SHARED;

    if (off > INT64_MAX)
        return MC_ERANGE;
    void *p = mmap(NULL, len, prot, flags, fd, (off_t)off);
    if (p == MAP_FAILED)
        return mc__sys_err(errno);
    /* A fault in a view is a random access: without this the kernel reads
     * around it (read_ahead_kb, often megabytes), which in a sparse file
     * means zero-filling megabytes per 4 KiB read. Large answers ask for
     * their bytes ahead explicitly (mc_view_will_need). A hint: ignored if
     * refused. */
    (void)madvise(p, len, MADV_RANDOM);
    *out = p;
    return MC_OK;
}

void mc__sys_will_need(const void *addr, size_t len)
{
    uintptr_t page = (uintptr_t)mc__page_size();
    uintptr_t lo = (uintptr_t)addr & ~(page - 1);
    uintptr_t hi = (uintptr_t)addr + len;

    if (len > 0)
        (void)madvise((void *)lo, hi - lo, MADV_WILLNEED);
}

void mc__sys_unmap(void *addr, size_t len)
{
    /* munmap of a range we mapped can't fail but for a bug; nothing to do. */
    if (addr)
        munmap(addr, len);
}

enum mc_err mc__sys_msync(void *addr, size_t len)
{
    if (len == 0)
        return MC_OK;
    atomic_fetch_add(&syncs, 1);
    if (msync(addr, len, MS_SYNC) < 0)
        return mc__sys_err(errno);
    return MC_OK;
}

/* ---- small whole files (the catalog) ------------------------------------ */

enum mc_err mc__sys_read_file(int dirfd, const char *name, size_t max,
                              char **out, size_t *out_len)
{
    enum mc_err rc = MC_OK;
    char *buf = NULL;
    size_t len = 0;
    struct stat st;
    /* O_NONBLOCK: a FIFO put in the file's place must not hang the start;
     * it is refused below. */
    int fd = openat(dirfd, name,
                    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

    if (fd < 0)
        return mc__sys_err(errno);
    if (fstat(fd, &st) < 0) {
        rc = mc__sys_err(errno);
        goto cleanup;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = MC_ENOTREG;
        goto cleanup;
    }
    if ((uint64_t)st.st_size > max) {
        rc = MC_ETOOBIG;
        goto cleanup;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        rc = MC_ENOMEM;
        goto cleanup;
    }
    /* Read to EOF but never past the size seen: a file growing under us is
     * read as it was. */
    while (len < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + len, (size_t)st.st_size - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = mc__sys_err(errno);
            goto cleanup;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    buf = NULL;
cleanup:
    free(buf);
    mc__sys_close(fd);
    return rc;
}

enum mc_err mc__sys_rename_sync(int dirfd, const char *from, const char *to)
{
    if (renameat(dirfd, from, dirfd, to) < 0)
        return mc__sys_err(errno);
    /* The rename itself must reach the disk. */
    return mc__sys_fsync(dirfd);
}

bool mc__sys_dir_writable(int dirfd)
{
    return faccessat(dirfd, ".", W_OK, AT_EACCESS) == 0;
}

/* ---- time and page size ------------------------------------------------- */

int64_t mc__now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mc__now_coarse_ms(void)
{
    struct timespec ts;

    /* The clock the kernel stamps files with (current_time() is the coarse
     * wall clock, or a finer time never below it). */
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t mc__page_size(void)
{
    long ps = sysconf(_SC_PAGESIZE);

    return ps > 0 ? (uint64_t)ps : 4096;
}
