/* reserve.c - room for the catalog on a full disk.
 *
 * Even a change that frees space needs a little first: removing a record
 * from the store (store.c) appends the changed B-tree pages to its write-
 * ahead log before anything is given back, so on a full file system the
 * changes that free space - DELETE, DELETE ?unlink=true, shrinking - would
 * fail with 507, and a full disk could not be cleaned up through the API.
 *
 * Doing the freeing step first is not sound: unlinking or truncating a
 * backing file before the catalog stops naming it (or names its smaller
 * size) would, after a crash in between, leave an entry whose file is
 * missing or short, which loads as damaged. So the order stays "catalog
 * first, then free", and the space for that catalog write is kept ready
 * instead: <data>/.mmapd/reserve is a file with blocks allocated for one
 * such change. A save of a change that only frees space (catalog.c) that
 * fails with ENOSPC gives the reserve's blocks back and tries once more;
 * after every successful save, and after the freeing step, the reserve is
 * filled again as far as the disk allows. One change touches a root-to-leaf
 * path of the B-tree (a handful of pages; the depth grows with the log of
 * the count) plus the log's frame headers, far below the margin, whatever
 * the number of mappings.
 *
 * The reserve plays no part in crash recovery: nothing reads it, a crash
 * may leave it at any size, and the next start refills it. Ordinary saves
 * (creates, grows) never touch it, so they cannot eat the room a later
 * cleanup needs. MC_RESERVED_DIR cannot be named by a mapping (names.c).
 */
#include "internal.h"

#define RESERVE_FILE "reserve"
/* Room for many space-freeing changes of the store, filled in steps so a
 * nearly full disk still gets what fits. */
#define RESERVE_SIZE (256u << 10)
#define RESERVE_STEP (16u << 10)

/* Open the reserve (creating it when create), or -1. */
static int open_reserve(int datafd, bool create)
{
    int metafd = -1, fd = -1;
    bool created = false;

    if (mc__sys_open_subdir(datafd, MC_RESERVED_DIR, false, &metafd,
                            &created) != MC_OK)
        return -1;
    if (mc__sys_open_beneath(metafd, RESERVE_FILE, true, create, &fd,
                             &created, NULL) != MC_OK)
        fd = -1;
    mc__sys_close(metafd);
    return fd;
}

void mc__reserve_fill(int datafd)
{
    uint64_t have = 0;
    int metafd = -1;
    bool created = false;
    int fd;

    /* .mmapd exists only once a catalog was saved: nothing to keep room
     * for before (and creating it here would skip store.c's fsync of its
     * entry). */
    if (mc__sys_open_subdir(datafd, MC_RESERVED_DIR, false, &metafd,
                            &created) != MC_OK)
        return;
    mc__sys_close(metafd);
    fd = open_reserve(datafd, true);
    if (fd < 0)
        return;
    /* Step by step: a change that used part of the room (the store's log
     * grew) leaves less than a whole reserve free, and what fits of it must
     * still be held for the next change. */
    if (mc__sys_file_size(fd, &have) == MC_OK) {
        have -= have % RESERVE_STEP;
        while (have < RESERVE_SIZE &&
               mc__sys_reserve(fd, have, RESERVE_STEP) == MC_OK)
            have += RESERVE_STEP;
    }
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
