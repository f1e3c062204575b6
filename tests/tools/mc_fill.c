/* mc_fill.c - put many mappings into a data directory fast, for tests and
 * bench W8 that need a large catalog to start from.
 *
 *   mc_fill DATA_DIR PREFIX FIRST COUNT SIZE
 *
 * Makes COUNT file-backed readwrite mappings named PREFIX followed by the
 * 7-digit numbers FIRST .. FIRST+COUNT-1, each on its own new sparse file
 * of SIZE bytes (named as the mapping), through mapcore's own store
 * (store.c), so the records are exactly what a create writes. It is fast
 * because it skips what makes one create durable on its own: the files
 * are made without an fsync each and the records go in transactions of
 * BATCH, with one syncfs at the end. Run it while no mmapd uses DATA_DIR
 * (the store refuses a second user). Exit 0 on success, 1 with a message.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define BATCH 10000

static int fail(const char *what, enum mc_err rc)
{
    fprintf(stderr, "mc_fill: %s: %s\n", what, mc_strerror(rc));
    return 1;
}

int main(int argc, char **argv)
{
    int datafd = -1;
    struct mc__store *store = NULL;
    struct mc_info *batch = NULL;
    enum mc_err rc;

    if (argc != 6) {
        fprintf(stderr, "usage: mc_fill DATA_DIR PREFIX FIRST COUNT SIZE\n");
        return 2;
    }
    const char *prefix = argv[2];
    unsigned long first = strtoul(argv[3], NULL, 10);
    unsigned long count = strtoul(argv[4], NULL, 10);
    unsigned long long size = strtoull(argv[5], NULL, 10);

    if (size == 0 || strlen(prefix) > MC_NAME_MAX - 16)
        return fail("arguments", MC_EINVAL);
    rc = mc__sys_open_datadir(argv[1], &datafd);
    if (rc == MC_OK)
        rc = mc__store_open(datafd, argv[1], &store);
    if (rc != MC_OK)
        return fail(argv[1], rc);
    batch = calloc(BATCH, sizeof *batch);
    if (!batch)
        return fail("memory", MC_ENOMEM);
    for (unsigned long done = 0; done < count;) {
        size_t k = 0;

        for (; k < BATCH && done < count; k++, done++) {
            struct mc_info *e = &batch[k];

            memset(e, 0, sizeof *e);
            snprintf(e->name, sizeof e->name, "%s%07lu", prefix, first + done);
            memcpy(e->file, e->name, sizeof e->name);
            e->backing = MC_BACKING_FILE;
            e->protection = MC_PROT_READWRITE;
            e->allocation = MC_ALLOC_SPARSE;
            e->size = size;
            snprintf(e->content_type, sizeof e->content_type, "%s",
                     MC_CONTENT_TYPE_DEFAULT);
            int fd = openat(datafd, e->file,
                            O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
            if (fd < 0 || ftruncate(fd, (off_t)size) != 0) {
                perror(e->file);
                return 1;
            }
            close(fd);
        }
        /* Dated after the files' mtimes, as a create's record is: a start
         * takes a later mtime for a write it must flush (catalog.c). */
        int64_t now = mc__now_ms() + 1;
        for (size_t i = 0; i < k; i++)
            batch[i].created_at_ms = batch[i].modified_at_ms = now;
        rc = mc__store_put(store, batch, k);
        if (rc != MC_OK)
            return fail("store", rc);
    }
    if (syncfs(datafd) != 0) {
        perror("syncfs");
        return 1;
    }
    free(batch);
    mc__store_close(store);
    close(datafd);
    return 0;
}
