/* test_guard.c - SIGBUS never kills the server, and never hides a bug.
 *
 * Proves that a guarded copy out of a page past the end of a truncated file
 * returns false with the faulting address instead of killing the process,
 * that the guard stays usable afterwards (the signal is not left blocked),
 * that a SIGBUS outside any declared range still kills the process (so a
 * bug of ours is never turned into an error code), and that mapping reads
 * and writes under a file truncated behind their back, racing or not, fail
 * with MC_ETRUNCATED while other mappings keep serving.
 */
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "mc_check.h"
#include "internal.h" /* mc__guard_*: this test drives the guard directly */
#include "mapcore/mc_catalog.h"
#include "mapcore/mc_viewcache.h"

#define VS 4096u

/* A temporary file of `pages` pages of 0x5a, mapped shared; *fd stays open. */
static uint8_t *map_temp(char *path, size_t pathlen, size_t pages, int *fd)
{
    uint8_t *p;

    snprintf(path, pathlen, "/tmp/mc-guard-XXXXXX");
    *fd = mkstemp(path);
    CHECK(*fd >= 0);
    CHECK(ftruncate(*fd, (off_t)(pages * VS)) == 0);
    p = mmap(NULL, pages * VS, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
    CHECK(p != MAP_FAILED);
    memset(p, 0x5a, pages * VS);
    return p;
}

TEST(copy_past_truncation_returns_false)
{
    char path[64];
    int fd;
    uint8_t *p = map_temp(path, sizeof path, 4, &fd);
    uint8_t buf[4 * VS];
    uintptr_t fault = 0;

    mc__guard_install();
    CHECK(mc__guard_installed());
    CHECK(mc__guard_copy(buf, p, sizeof buf, p, &fault));
    CHECK(buf[4 * VS - 1] == 0x5a);

    /* Cut the file to one page: pages 1..3 now raise SIGBUS. */
    CHECK(ftruncate(fd, VS) == 0);
    CHECK(!mc__guard_copy(buf, p, sizeof buf, p, &fault));
    CHECK_EQ_U64(fault, (uintptr_t)p + VS);
    /* Twice more: the first jump must not have left SIGBUS blocked. */
    CHECK(!mc__guard_copy(buf, p + 2 * VS, VS, p + 2 * VS, &fault));
    CHECK_EQ_U64(fault, (uintptr_t)p + 2 * VS);
    memset(buf, 0x11, VS);
    CHECK(!mc__guard_copy(p + VS, buf, VS, p + VS, &fault));
    /* The surviving page still copies. */
    CHECK(mc__guard_copy(buf, p, VS, p, &fault));
    CHECK(buf[0] == 0x5a);

    munmap(p, 4 * VS);
    close(fd);
    unlink(path);
}

TEST(sigbus_outside_declared_range_still_kills)
{
    char path[64];
    int fd;
    uint8_t *p = map_temp(path, sizeof path, 2, &fd);
    pid_t pid;
    int status = 0;

    mc__guard_install();
    CHECK(ftruncate(fd, 0) == 0);
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        volatile uint8_t *q = p;
        uintptr_t fault;
        uint8_t b;

        /* A guarded copy elsewhere must not cover this unguarded touch. */
        (void)mc__guard_copy(&b, p + VS, 1, p + VS, &fault);
        (void)q[0];
        _exit(0); /* reached only if the SIGBUS was swallowed */
    }
    CHECK(waitpid(pid, &status, 0) == pid);
    /* The child must not survive the touch. Plainly it dies of SIGBUS;
     * under a sanitizer, whose handler the guard hands the fault on to, it
     * reports the fault and aborts (ASan) or exits non-zero (TSan). */
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        TEST_FAIL("an unguarded SIGBUS was swallowed");
    if (WIFSIGNALED(status) && WTERMSIG(status) != SIGBUS &&
        WTERMSIG(status) != SIGABRT)
        TEST_FAIL("child died of signal %d, not SIGBUS", WTERMSIG(status));
    munmap(p, 2 * VS);
    close(fd);
    unlink(path);
}

struct fixture {
    char dir[64];
    int dirfd;
    struct mc_catalog *cat;
};

static void setup(struct fixture *f)
{
    struct mc_catalog_options opt = {0};

    snprintf(f->dir, sizeof f->dir, "/tmp/mc-guard-XXXXXX");
    CHECK(mkdtemp(f->dir) != NULL);
    f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK(f->dirfd >= 0);
    opt.data_dir = f->dir;
    opt.view_size = 4 * VS;
    opt.cache_bytes = 64 * VS;
    CHECK_RC(mc_catalog_open(&opt, &f->cat), MC_OK);
}

static void teardown(struct fixture *f)
{
    mc_catalog_close(f->cat);
    close(f->dirfd);
    CHECK_RMTREE(f->dir);
}

static struct mc_mapping *make(struct fixture *f, const char *name,
                               uint64_t size)
{
    struct mc_mapping *m = NULL;
    bool created = false;
    struct mc_spec spec = {.given = MC_SPEC_SIZE, .size = size};

    CHECK_RC(mc_catalog_create(f->cat, name, &spec, false, &m, &created),
             MC_OK);
    return m;
}

/* Truncate the backing of `name` from outside, as another process would. */
static void cut(struct fixture *f, const char *name, off_t size)
{
    int fd = openat(f->dirfd, name, O_RDWR | O_CLOEXEC);

    CHECK(fd >= 0);
    CHECK(ftruncate(fd, size) == 0);
    close(fd);
}

TEST(truncated_backing_read_write_fail_others_serve)
{
    struct fixture f;
    uint8_t buf[8 * VS];
    struct mc_mapping *a, *b;

    setup(&f);
    a = make(&f, "a", 8 * VS);
    b = make(&f, "b", 8 * VS);
    memset(buf, 0x33, sizeof buf);
    CHECK_RC(mc_mapping_write(a, 0, buf, sizeof buf), MC_OK);
    CHECK_RC(mc_mapping_write(b, 0, buf, sizeof buf), MC_OK);
    /* Map every view of a first, so the cut happens under live views. */
    CHECK_RC(mc_mapping_read(a, 0, buf, sizeof buf), MC_OK);

    cut(&f, "a", 2 * VS);
    CHECK_RC(mc_mapping_read(a, 4 * VS, buf, VS), MC_ETRUNCATED);
    CHECK_RC(mc_mapping_read(a, VS, buf, 2 * VS), MC_ETRUNCATED);
    CHECK_RC(mc_mapping_write(a, 6 * VS, buf, VS), MC_ETRUNCATED);
    /* What the file still holds reads fine. */
    memset(buf, 0, sizeof buf);
    CHECK_RC(mc_mapping_read(a, 0, buf, 2 * VS), MC_OK);
    CHECK(buf[0] == 0x33 && buf[2 * VS - 1] == 0x33);
    /* The other mapping is untouched. */
    CHECK_RC(mc_mapping_read(b, 0, buf, sizeof buf), MC_OK);
    CHECK(buf[8 * VS - 1] == 0x33);
    CHECK_RC(mc_mapping_write(b, 0, buf, sizeof buf), MC_OK);
    mc_mapping_unref(a);
    mc_mapping_unref(b);
    teardown(&f);
}

/* A full cache reads cold views with pread instead of mapping them: a
 * truncation behind our back shows there as a short read, which must be
 * MC_ETRUNCATED too, never zeros or stale bytes. */
TEST(truncated_backing_read_directly_is_etruncated)
{
    struct fixture f;
    uint8_t buf[VS];
    struct mc_cache_stats st;
    struct mc_mapping *a;
    uint64_t declined;

    setup(&f); /* 16 views of 4 pages */
    a = make(&f, "a", 80 * VS);
    memset(buf, 0x44, sizeof buf);
    /* Views 0..15 fill the cache; view 16 is the first one declined. */
    for (uint64_t v = 0; v <= 16; v++)
        CHECK_RC(mc_mapping_write(a, v * 4 * VS, buf, VS), MC_OK);
    mc_catalog_cache_stats(f.cat, &st);
    declined = st.declined;
    CHECK_RC(mc_mapping_read(a, 17 * 4 * VS, buf, VS), MC_OK);
    mc_catalog_cache_stats(f.cat, &st);
    CHECK_EQ_U64(st.declined, declined + 1);

    cut(&f, "a", 70 * VS);
    CHECK_RC(mc_mapping_read(a, 18 * 4 * VS, buf, VS), MC_ETRUNCATED);
    mc_catalog_cache_stats(f.cat, &st);
    CHECK_EQ_U64(st.declined, declined + 2);
    /* A direct read of what the file still holds is fine. */
    CHECK_RC(mc_mapping_read(a, 17 * 4 * VS + 1, buf, 8), MC_OK);
    mc_mapping_unref(a);
    teardown(&f);
}

struct cutter {
    struct fixture *f;
    unsigned spin;
};

static void *cutter_main(void *arg)
{
    struct cutter *c = arg;

    for (volatile unsigned i = 0; i < c->spin; i++)
        ;
    cut(c->f, "race", 0);
    return NULL;
}

/* The file is cut under copies in flight: the size check in acquire cannot
 * close that window, so this drives the guard itself. Within a round the
 * file only shrinks, so every call must end in MC_OK (before the cut) or
 * MC_ETRUNCATED (after it), and the process must survive. */
TEST(truncation_racing_copies_never_kills)
{
    struct fixture f;
    static uint8_t buf[8 * VS];
    unsigned ok = 0, truncated = 0;

    setup(&f);
    struct mc_mapping *m = make(&f, "race", 8 * VS);
    for (unsigned round = 0; round < 300; round++) {
        struct cutter c = {.f = &f, .spin = (round * 7919u) % 200000u};
        pthread_t t;
        enum mc_err rc = MC_OK;

        cut(&f, "race", 8 * VS);
        CHECK(pthread_create(&t, NULL, cutter_main, &c) == 0);
        for (unsigned i = 0; i < 100000 && rc == MC_OK; i++) {
            rc = (i & 1) ? mc_mapping_read(m, 0, buf, sizeof buf)
                         : mc_mapping_write(m, 0, buf, sizeof buf);
            if (rc == MC_OK)
                ok++;
        }
        CHECK(pthread_join(t, NULL) == 0);
        if (rc != MC_ETRUNCATED)
            TEST_FAIL("round %u: %s", round, mc_errname(rc));
        truncated++;
    }
    fprintf(stderr, "ok %u truncated %u\n", ok, truncated);
    mc_mapping_unref(m);
    teardown(&f);
}

TEST_MAIN()
