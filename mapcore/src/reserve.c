/* reserve.c - room for the catalog on a full disk.
 *
 * The catalog is replaced atomically: a new file is written beside the old
 * one, synced and renamed over it (store.c). That needs free space for a
 * whole copy before anything is given back, so on a full file system even
 * the changes that free space - DELETE, DELETE ?unlink=true, shrinking -
 * failed with 507, and a full disk could not be cleaned up through the API.
 *
 * Doing the freeing step first is not sound: unlinking or truncating a
 * backing file before the catalog stops naming it (or names its smaller
 * size) would, after a crash in between, leave an entry whose file is
 * missing or short, which loads as damaged. So the order stays "catalog
 * first, then free", and the space for that catalog write is kept ready
 * instead: <data>/.mmapd/reserve is a file with blocks allocated for one
 * catalog of the current size plus a margin. A save of a change that only
 * frees space (catalog.c) that fails with ENOSPC gives the reserve's blocks
 * back and tries once more; after every successful save, and after the
 * freeing step, the reserve is filled again as far as the disk allows. A
 * catalog save never grows by more than the margin in one space-freeing
 * change (it loses an entry or shortens a number), so the blocks given up
 * are enough.
 *
 * The reserve plays no part in crash recovery: nothing reads it, a crash
 * may leave it at any size, and the next start refills it. Ordinary saves
 * (creates, grows) never touch it, so they cannot eat the room a later
 * cleanup needs. MC_RESERVED_DIR cannot be named by a mapping (names.c).
 */
#include "internal.h"

#define RESERVE_FILE "reserve"
/* Room for a catalog a little larger than the last one, in whole blocks. */
#define RESERVE_MARGIN (64u << 10)
#define RESERVE_ALIGN 4096u

/* Open the reserve (creating it when create), or -1. */
static int open_reserve(int datafd, bool create)
{
    int metafd = -1, fd = -1;
    bool created = false;

    if (mc__sys_open_subdir(datafd, MC_RESERVED_DIR, false, &metafd,
                            &created) != MC_OK)
        return -1;
    if (mc__sys_open_beneath(metafd, RESERVE_FILE, true, create, &fd,
                             &created) != MC_OK)
        fd = -1;
    mc__sys_close(metafd);
    return fd;
}

void mc__reserve_fill(int datafd)
{
    uint64_t catalog = 0, have = 0, want;
    int metafd = -1;
    bool created = false;
    int fd;

    /* .mmapd exists only once a catalog was saved: nothing to keep room
     * for before (and creating it here would skip store.c's fsync of its
     * entry). */
    if (mc__sys_open_subdir(datafd, MC_RESERVED_DIR, false, &metafd,
                            &created) != MC_OK)
        return;
    (void)mc__sys_size_at(metafd, MC_CATALOG_FILE, &catalog);
    mc__sys_close(metafd);
    want = (catalog + RESERVE_MARGIN + RESERVE_ALIGN - 1) /
           RESERVE_ALIGN * RESERVE_ALIGN;
    fd = open_reserve(datafd, true);
    if (fd < 0)
        return;
    if (mc__sys_file_size(fd, &have) == MC_OK && have < want)
        (void)mc__sys_reserve(fd, 0, want);
    mc__sys_close(fd);
}

void mc__reserve_release(int datafd)
{
    int fd = open_reserve(datafd, false);

    if (fd < 0)
        return;
    (void)mc__sys_truncate(fd, 0);
    mc__sys_close(fd);
}
