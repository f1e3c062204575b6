/* test_mapping.c - one mapping: bounds, protections, flush and resize.
 *
 * Proves that readonly mappings refuse writes, that writecopy writes never
 * reach the file and survive eviction pressure, that flush reports the bytes
 * it covered, that resize grows and shrinks the file (deferring the
 * truncation while a view is pinned, and reading zeros where bytes come
 * back), that memory mappings work and shrink without SIGBUS, and that many
 * threads reading, writing and resizing at once stay correct (run it under
 * TSan too).
 */
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "mc_check.h"
#include "mapcore/mc_catalog.h"

#define VS 4096u

struct fixture {
    char dir[64];
    int dirfd;
    struct mc_catalog *cat;
};

static void setup(struct fixture *f, unsigned budget_views)
{
    struct mc_catalog_options opt = {0};

    snprintf(f->dir, sizeof f->dir, "/tmp/mc-map-XXXXXX");
    CHECK(mkdtemp(f->dir) != NULL);
    f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK(f->dirfd >= 0);
    opt.data_dir = f->dir;
    opt.view_size = VS;
    opt.cache_bytes = (uint64_t)budget_views * VS;
    opt.max_map_size = 1u << 26;
    CHECK_RC(mc_catalog_open(&opt, &f->cat), MC_OK);
}

static void teardown(struct fixture *f)
{
    mc_catalog_close(f->cat);
    close(f->dirfd);
    CHECK_RMTREE(f->dir);
}

static struct mc_mapping *make(struct fixture *f, const char *name,
                               struct mc_spec spec)
{
    return mc_check_create(f->cat, name, spec);
}

static struct mc_mapping *make_rw(struct fixture *f, const char *name,
                                  uint64_t size)
{
    return mc_check_rw(f->cat, name, size);
}

static uint64_t file_size(struct fixture *f, const char *path)
{
    struct stat st;

    CHECK(fstatat(f->dirfd, path, &st, 0) == 0);
    return (uint64_t)st.st_size;
}

static void file_read(struct fixture *f, const char *path, uint64_t off,
                      void *buf, size_t len)
{
    int fd = openat(f->dirfd, path, O_RDONLY | O_CLOEXEC);

    CHECK(fd >= 0);
    CHECK_EQ_U64(pread(fd, buf, len, (off_t)off), len);
    close(fd);
}

static bool all_bytes(const uint8_t *p, size_t len, uint8_t want)
{
    for (size_t i = 0; i < len; i++) {
        if (p[i] != want)
            return false;
    }
    return true;
}

static void set_all(struct mc_mapping *m, uint64_t off, uint64_t len,
                    uint8_t byte)
{
    uint8_t *buf = malloc(len);

    CHECK(buf != NULL);
    memset(buf, byte, len);
    CHECK_RC(mc_mapping_write(m, off, buf, len), MC_OK);
    free(buf);
}

static bool reads_all(struct mc_mapping *m, uint64_t off, uint64_t len,
                      uint8_t byte)
{
    uint8_t *buf = malloc(len);

    CHECK(buf != NULL);
    CHECK_RC(mc_mapping_read(m, off, buf, len), MC_OK);
    bool ok = all_bytes(buf, len, byte);
    free(buf);
    return ok;
}

TEST(write_read_and_metadata)
{
    struct fixture f;
    struct mc_info info;

    setup(&f, 16);
    struct mc_mapping *m = make_rw(&f, "meta", 3 * VS);
    uint64_t gen0 = mc_mapping_generation(m);
    CHECK_EQ_U64(mc_mapping_size(m), 3 * VS);
    CHECK(mc_mapping_protection(m) == MC_PROT_READWRITE);
    CHECK(reads_all(m, 0, 3 * VS, 0));
    set_all(m, VS - 2, 4, 0x5a);
    CHECK(mc_mapping_generation(m) > gen0);
    CHECK(reads_all(m, VS - 2, 4, 0x5a));
    mc_mapping_info(m, &info);
    CHECK_EQ_STR(info.name, "meta");
    CHECK_EQ_STR(info.file, "meta");
    CHECK(info.backing == MC_BACKING_FILE);
    CHECK(info.allocation == MC_ALLOC_COMMIT);
    CHECK(!info.writethrough && !info.damaged);
    CHECK_EQ_U64(info.bytes_written, 4);
    CHECK_EQ_U64(info.bytes_read, 3 * VS + 4);
    CHECK(info.modified_at_ms >= info.created_at_ms);
    CHECK(info.created_at_ms > 1600000000000);

    /* Ids are unique per mapping. */
    struct mc_mapping *m2 = make_rw(&f, "meta2", VS);
    CHECK(mc_mapping_id(m) != mc_mapping_id(m2));
    CHECK_EQ_STR(mc_backing_name(MC_BACKING_MEMORY), "memory");
    CHECK_EQ_STR(mc_protection_name(MC_PROT_WRITECOPY), "writecopy");
    CHECK_EQ_STR(mc_allocation_name(MC_ALLOC_SPARSE), "sparse");
    mc_mapping_unref(m2);
    mc_mapping_unref(m);
    teardown(&f);
}

TEST(readonly_refuses_writes)
{
    struct fixture f;
    uint8_t b = 1;

    setup(&f, 16);
    struct mc_mapping *rw = make_rw(&f, "data", 2 * VS);
    set_all(rw, 0, 2 * VS, 0x11);
    struct mc_mapping *ro =
        make(&f, "ro",
             (struct mc_spec){.given = MC_SPEC_FILE | MC_SPEC_PROTECTION,
                              .file = "data",
                              .protection = MC_PROT_READONLY});
    CHECK_EQ_U64(mc_mapping_size(ro), 2 * VS);
    uint64_t gen = mc_mapping_generation(ro);
    CHECK_RC(mc_mapping_write(ro, 0, &b, 1), MC_ERDONLY);
    CHECK_EQ_U64(mc_mapping_generation(ro), gen);
    CHECK_RC(mc_mapping_resize(ro, VS), MC_ECONFLICT);
    CHECK(reads_all(ro, 0, 2 * VS, 0x11));
    /* Both map the same file shared: a write through one shows in the
     * other at once. */
    set_all(rw, 100, 10, 0x22);
    CHECK(reads_all(ro, 100, 10, 0x22));
    uint64_t flushed = 99;
    CHECK_RC(mc_mapping_flush(ro, 0, 0, &flushed), MC_OK);
    CHECK_EQ_U64(flushed, 2 * VS);
    mc_mapping_unref(ro);
    mc_mapping_unref(rw);
    teardown(&f);
}

TEST(writecopy_stays_private_under_pressure)
{
    struct fixture f;
    uint8_t buf[64];

    setup(&f, 6);
    struct mc_mapping *rw = make_rw(&f, "base", 16 * VS);
    set_all(rw, 0, 16 * VS, 0x33);
    struct mc_mapping *wc =
        make(&f, "wc",
             (struct mc_spec){.given = MC_SPEC_FILE | MC_SPEC_PROTECTION,
                              .file = "base",
                              .protection = MC_PROT_WRITECOPY});
    /* Write into two views of the private copy. */
    set_all(wc, VS - 8, 16, 0x77);
    CHECK(reads_all(wc, VS - 8, 16, 0x77));
    CHECK(reads_all(rw, VS - 8, 16, 0x33));
    /* Push every idle view out, many times over. */
    for (int round = 0; round < 3; round++) {
        for (uint64_t i = 0; i < 16; i++)
            CHECK(reads_all(rw, i * VS, 1, 0x33));
    }
    struct mc_cache_stats st;
    mc_catalog_cache_stats(f.cat, &st);
    CHECK(st.evictions > 0);
    struct mc_info info;
    mc_mapping_info(wc, &info);
    CHECK_EQ_U64(info.views_cached, 2); /* the written views are kept */
    CHECK(reads_all(wc, VS - 8, 16, 0x77));
    CHECK(reads_all(wc, VS + 8, 1, 0x33));
    /* Flushing a private copy writes nothing; the file never sees it. */
    uint64_t flushed = 99;
    CHECK_RC(mc_mapping_flush(wc, 0, 0, &flushed), MC_OK);
    CHECK_EQ_U64(flushed, 0);
    CHECK_RC(mc_catalog_sync(f.cat), MC_OK);
    file_read(&f, "base", VS - 8, buf, 16);
    CHECK(all_bytes(buf, 16, 0x33));
    CHECK_RC(mc_mapping_resize(wc, 32 * VS), MC_ECONFLICT);
    mc_mapping_unref(wc);
    mc_mapping_unref(rw);
    teardown(&f);
}

TEST(flush_reports_bytes)
{
    struct fixture f;
    uint64_t flushed = 0;
    uint8_t buf[32];
    uint64_t size = 5 * VS + 50;

    setup(&f, 16);
    struct mc_mapping *m = make_rw(&f, "fl", size);
    set_all(m, 2 * VS - 16, 32, 0x44);
    CHECK_RC(mc_mapping_flush(m, 2 * VS - 16, 32, &flushed), MC_OK);
    CHECK_EQ_U64(flushed, 32);
    file_read(&f, "fl", 2 * VS - 16, buf, 32);
    CHECK(all_bytes(buf, 32, 0x44));
    CHECK_RC(mc_mapping_flush(m, 0, 0, &flushed), MC_OK);
    CHECK_EQ_U64(flushed, size);
    CHECK_RC(mc_mapping_flush(m, size - 5, 100, &flushed), MC_OK);
    CHECK_EQ_U64(flushed, 5);
    CHECK_RC(mc_mapping_flush(m, 10, UINT64_MAX, &flushed), MC_OK);
    CHECK_EQ_U64(flushed, size - 10);
    CHECK_RC(mc_mapping_flush(m, size, 0, &flushed), MC_OK);
    CHECK_EQ_U64(flushed, 0);
    CHECK_RC(mc_mapping_flush(m, size + 1, 1, &flushed), MC_ERANGE);
    CHECK_RC(mc_mapping_flush(m, 0, 0, NULL), MC_OK);
    mc_mapping_unref(m);
    teardown(&f);
}

TEST(writethrough_write_done)
{
    struct fixture f;
    uint8_t buf[8];

    setup(&f, 16);
    struct mc_mapping *m =
        make(&f, "wt",
             (struct mc_spec){.given = MC_SPEC_SIZE | MC_SPEC_WRITETHROUGH,
                              .size = 2 * VS,
                              .writethrough = true});
    set_all(m, VS - 4, 8, 0x66);
    CHECK_RC(mc_mapping_write_done(m, VS - 4, 8), MC_OK);
    file_read(&f, "wt", VS - 4, buf, 8);
    CHECK(all_bytes(buf, 8, 0x66));
    CHECK_RC(mc_mapping_write_done(m, 2 * VS + 1, 8), MC_ERANGE);
    mc_mapping_unref(m);
    teardown(&f);
}

TEST(resize_grow_and_shrink)
{
    struct fixture f;
    uint8_t b;

    setup(&f, 16);
    struct mc_mapping *m = make_rw(&f, "rs", 3 * VS);
    set_all(m, 0, 3 * VS, 0xab);
    uint64_t gen = mc_mapping_generation(m);

    CHECK_RC(mc_mapping_resize(m, VS + 10), MC_OK);
    CHECK(mc_mapping_generation(m) > gen);
    CHECK_EQ_U64(mc_mapping_size(m), VS + 10);
    CHECK_EQ_U64(file_size(&f, "rs"), VS + 10); /* nothing pinned: at once */
    CHECK_RC(mc_mapping_read(m, VS + 10, &b, 1), MC_ERANGE);
    CHECK(reads_all(m, 0, VS + 10, 0xab));

    CHECK_RC(mc_mapping_resize(m, 4 * VS), MC_OK);
    CHECK_EQ_U64(file_size(&f, "rs"), 4 * VS);
    CHECK(reads_all(m, 0, VS + 10, 0xab));
    CHECK(reads_all(m, VS + 10, 3 * VS - 10, 0)); /* came back as zeros */

    CHECK_RC(mc_mapping_resize(m, 0), MC_EZEROSIZE);
    CHECK_RC(mc_mapping_resize(m, (1u << 26) + 1), MC_ETOOBIG);
    CHECK_EQ_U64(mc_mapping_size(m), 4 * VS);
    CHECK_RC(mc_mapping_resize(m, 4 * VS), MC_OK); /* no-op */
    mc_mapping_unref(m);
    teardown(&f);
}

TEST(shrink_waits_for_pinned_view)
{
    struct fixture f;
    struct mc_view *v;
    const uint8_t *p;
    size_t len;
    uint8_t b;

    setup(&f, 16);
    struct mc_mapping *m = make_rw(&f, "pin", 4 * VS);
    set_all(m, 0, 4 * VS, 0xcd);
    CHECK_RC(mc_view_acquire(m, 3 * VS, &v, &p, &len), MC_OK);
    CHECK_EQ_U64(len, VS);

    CHECK_RC(mc_mapping_resize(m, VS), MC_OK);
    /* New requests see the new size at once... */
    CHECK_EQ_U64(mc_mapping_size(m), VS);
    CHECK_RC(mc_mapping_read(m, 3 * VS, &b, 1), MC_ERANGE);
    /* ...but the file keeps its pages while the view is pinned, so the
     * pinned reader can finish (this would be SIGBUS otherwise). */
    CHECK_EQ_U64(file_size(&f, "pin"), 4 * VS);
    CHECK(all_bytes(p, len, 0xcd));
    mc_view_release(v);
    CHECK_EQ_U64(file_size(&f, "pin"), VS);

    /* Bytes that come back read as zeros. */
    CHECK_RC(mc_mapping_resize(m, 4 * VS), MC_OK);
    CHECK(reads_all(m, VS, 3 * VS, 0));
    CHECK(reads_all(m, 0, VS, 0xcd));
    mc_mapping_unref(m);
    teardown(&f);
}

TEST(regrow_while_truncation_pending)
{
    struct fixture f;
    struct mc_view *v;
    const uint8_t *p;
    size_t len;

    setup(&f, 16);
    struct mc_mapping *m = make_rw(&f, "pend", 3 * VS);
    set_all(m, 0, 3 * VS, 0xef);
    CHECK_RC(mc_view_acquire(m, 0, &v, &p, &len), MC_OK);
    CHECK_RC(mc_mapping_resize(m, 100), MC_OK);
    CHECK_EQ_U64(file_size(&f, "pend"), 3 * VS); /* deferred */
    /* Grow again before the truncation happened: the stale bytes must not
     * reappear. */
    CHECK_RC(mc_mapping_resize(m, 2 * VS), MC_OK);
    CHECK(reads_all(m, 100, 2 * VS - 100, 0));
    CHECK(reads_all(m, 0, 100, 0xef));
    mc_view_release(v);
    /* The pending truncation now goes to the current size, not to 100. */
    CHECK_EQ_U64(file_size(&f, "pend"), 2 * VS);
    CHECK(reads_all(m, 100, 2 * VS - 100, 0));
    mc_mapping_unref(m);
    teardown(&f);
}

TEST(memory_mapping_basics)
{
    struct fixture f;
    struct mc_mapping *m = NULL;
    bool created = false;
    struct mc_spec spec = {.given = MC_SPEC_BACKING | MC_SPEC_SIZE,
                           .backing = MC_BACKING_MEMORY,
                           .size = 3 * VS};
    struct mc_info info;
    uint8_t b;

    setup(&f, 16);
    /* Nothing to write through to: refused, and nothing is created. */
    struct mc_spec wt = spec;
    wt.given |= MC_SPEC_WRITETHROUGH;
    wt.writethrough = true;
    CHECK_RC(mc_catalog_create(f.cat, "mem", &wt, false, &m, &created),
             MC_EUNSUPPORTED);
    CHECK_EQ_U64(mc_catalog_count(f.cat), 0);
    CHECK_RC(mc_catalog_create(f.cat, "mem", &spec, false, &m, &created),
             MC_OK);
    CHECK(created);
    mc_mapping_info(m, &info);
    CHECK_EQ_STR(info.file, "");
    CHECK(info.backing == MC_BACKING_MEMORY);
    CHECK(reads_all(m, 0, 3 * VS, 0));
    set_all(m, VS - 1, 2 * VS, 0x99);
    CHECK(reads_all(m, VS - 1, 2 * VS, 0x99));
    /* No stable storage: a flush is refused, never a pretended success. */
    uint64_t flushed = 99;
    CHECK_RC(mc_mapping_flush(m, 0, 0, &flushed), MC_EUNSUPPORTED);
    CHECK_EQ_U64(flushed, 0);

    /* Shrink with a view pinned past the new end: the memfd is sealed and
     * only hole-punched, so the pinned pages stay readable (zeros). */
    struct mc_view *v;
    const uint8_t *p;
    size_t len;
    CHECK_RC(mc_view_acquire(m, 2 * VS, &v, &p, &len), MC_OK);
    CHECK_RC(mc_mapping_resize(m, VS / 2), MC_OK);
    CHECK_RC(mc_mapping_read(m, VS / 2, &b, 1), MC_ERANGE);
    CHECK(all_bytes(p, len, 0));
    mc_view_release(v);
    CHECK_RC(mc_mapping_resize(m, 5 * VS), MC_OK);
    CHECK(reads_all(m, VS / 2, 5 * VS - VS / 2, 0));
    CHECK(reads_all(m, 0, VS / 2, 0));
    mc_mapping_unref(m);

    /* The rules for memory specs. */
    spec.given |= MC_SPEC_PROTECTION;
    spec.protection = MC_PROT_WRITECOPY;
    CHECK_RC(mc_catalog_create(f.cat, "m2", &spec, false, &m, &created),
             MC_EUNSUPPORTED);
    spec =
        (struct mc_spec){.given = MC_SPEC_BACKING | MC_SPEC_SIZE | MC_SPEC_FILE,
                         .backing = MC_BACKING_MEMORY,
                         .size = VS,
                         .file = "x"};
    CHECK_RC(mc_catalog_create(f.cat, "m2", &spec, false, &m, &created),
             MC_EINVAL);
    spec = (struct mc_spec){.given = MC_SPEC_BACKING,
                            .backing = MC_BACKING_MEMORY};
    CHECK_RC(mc_catalog_create(f.cat, "m2", &spec, false, &m, &created),
             MC_EZEROSIZE);
    spec.given |= MC_SPEC_SIZE;
    spec.size = (1u << 26) + 1;
    CHECK_RC(mc_catalog_create(f.cat, "m2", &spec, false, &m, &created),
             MC_ETOOBIG);
    CHECK_EQ_U64(mc_catalog_count(f.cat), 1);
    teardown(&f);
}

/* ---- concurrency --------------------------------------------------------- */

#define WORKERS 4
#define SPAN (5 * VS + 77) /* each worker's range: crosses many views */

struct worker {
    struct mc_mapping *m;
    uint64_t base;
    int id;
    int failures;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    uint8_t *out = malloc(SPAN);
    uint8_t *in = malloc(SPAN);

    if (!out || !in) {
        w->failures++;
        goto done;
    }
    for (int it = 0; it < 150; it++) {
        for (size_t i = 0; i < SPAN; i++)
            out[i] = (uint8_t)(w->id * 37 + it * 11 + i);
        if (mc_mapping_write(w->m, w->base, out, SPAN) != MC_OK ||
            mc_mapping_read(w->m, w->base, in, SPAN) != MC_OK ||
            memcmp(in, out, SPAN) != 0)
            w->failures++;
    }
done:
    free(out);
    free(in);
    return NULL;
}

struct resizer {
    struct mc_mapping *m;
    atomic_bool *stop;
    int failures;
};

/* Grows and shrinks its mapping over and over. */
static void *resizer_main(void *arg)
{
    struct resizer *r = arg;

    for (int it = 0; it < 200; it++) {
        uint64_t size = (uint64_t)(1 + (it * 7) % 12) * VS + (uint64_t)it;
        if (mc_mapping_resize(r->m, size) != MC_OK)
            r->failures++;
    }
    atomic_store(r->stop, true);
    return NULL;
}

/* Reads the resized mapping while it changes size under it: each read is
 * either in range or MC_ERANGE, never a crash and never anything else. */
static void *reader_main(void *arg)
{
    struct resizer *r = arg;
    uint8_t buf[VS];
    unsigned seed = 7;

    while (!atomic_load(r->stop)) {
        uint64_t off = (uint64_t)(rand_r(&seed) % (12 * VS));
        enum mc_err rc = mc_mapping_read(r->m, off, buf, 100);
        if (rc != MC_OK && rc != MC_ERANGE)
            r->failures++;
        struct mc_view *v;
        const uint8_t *p;
        size_t len;
        rc = mc_view_acquire(r->m, off, &v, &p, &len);
        if (rc == MC_OK) {
            volatile uint8_t sink = p[len - 1]; /* touch the last byte */
            (void)sink;
            mc_view_release(v);
        } else if (rc != MC_ERANGE) {
            r->failures++;
        }
    }
    return NULL;
}

TEST(concurrent_io_and_resize)
{
    struct fixture f;
    pthread_t tw[WORKERS], tr, trd;
    struct worker w[WORKERS];
    atomic_bool stop = false;

    /* Tiny budget: every worker pins at most one view at a time, and the
     * reader two, so WORKERS + 3 views always suffice (no MC_EBUSY), yet
     * views are evicted constantly. */
    setup(&f, WORKERS + 3);
    struct mc_mapping *m = make_rw(&f, "shared", WORKERS * SPAN);
    struct mc_mapping *rm = make_rw(&f, "resized", 4 * VS);
    struct resizer r = {.m = rm, .stop = &stop};
    for (int i = 0; i < WORKERS; i++) {
        w[i] = (struct worker){.m = m, .base = (uint64_t)i * SPAN, .id = i};
        CHECK(pthread_create(&tw[i], NULL, worker_main, &w[i]) == 0);
    }
    CHECK(pthread_create(&trd, NULL, reader_main, &r) == 0);
    CHECK(pthread_create(&tr, NULL, resizer_main, &r) == 0);
    for (int i = 0; i < WORKERS; i++)
        CHECK(pthread_join(tw[i], NULL) == 0);
    CHECK(pthread_join(tr, NULL) == 0);
    CHECK(pthread_join(trd, NULL) == 0);
    for (int i = 0; i < WORKERS; i++)
        CHECK_EQ_U64(w[i].failures, 0);
    CHECK_EQ_U64(r.failures, 0);

    struct mc_cache_stats st;
    mc_catalog_cache_stats(f.cat, &st);
    CHECK(st.evictions > 0);
    CHECK_EQ_U64(st.pinned, 0);
    CHECK(st.bytes_mapped <= st.budget_bytes);
    /* Nothing pinned any more: the file matches the final size. */
    CHECK_EQ_U64(file_size(&f, "resized"), mc_mapping_size(rm));
    mc_mapping_unref(rm);
    mc_mapping_unref(m);
    teardown(&f);
}

/* ---- conditional writes (If-Match) ---------------------------------------- */

/* The If-Match test: the generation must still be *cls. */
static bool generation_is(const void *cls, uint64_t generation)
{
    return generation == *(const uint64_t *)cls;
}

static enum mc_err write_if_gen(struct mc_mapping *m, const struct mc_range *r,
                                const void *const src[], uint64_t expect,
                                uint64_t *gen)
{
    return mc_mapping_writev_if(m, r, 1, src, generation_is, &expect, gen);
}

/* The If-None-Match test: any generation but *cls. */
static bool generation_is_not(const void *cls, uint64_t generation)
{
    return generation != *(const uint64_t *)cls;
}

TEST(conditional_write_test_sees_the_current_generation)
{
    struct fixture f;
    setup(&f, 8);
    struct mc_mapping *m = make_rw(&f, "inm", 2 * VS);
    uint8_t a[8];
    struct mc_range r = {0, sizeof a};
    const void *src[1] = {a};
    uint64_t g0 = mc_mapping_generation(m);
    uint64_t g = 0;

    memset(a, 0x5A, sizeof a);
    CHECK_RC(mc_mapping_writev_if(m, &r, 1, src, generation_is_not, &g0, &g),
             MC_EPRECONDITION);
    CHECK(reads_all(m, 0, sizeof a, 0));
    CHECK_RC(mc_mapping_writev_gen(m, &r, 1, src, &g), MC_OK);
    memset(a, 0x6B, sizeof a);
    CHECK_RC(mc_mapping_writev_if(m, &r, 1, src, generation_is_not, &g0, &g),
             MC_OK);
    CHECK_EQ_U64(g, g0 + 2);
    CHECK(reads_all(m, 0, sizeof a, 0x6B));
    mc_mapping_unref(m);
    teardown(&f);
}

TEST(conditional_write_semantics)
{
    struct fixture f;
    setup(&f, 8);
    struct mc_mapping *m = make_rw(&f, "cond", 4 * VS);
    uint8_t a[16];
    struct mc_range r = {VS, sizeof a};
    const void *src[1] = {a};
    uint64_t g0 = mc_mapping_generation(m);
    uint64_t g = 0;

    memset(a, 0xA1, sizeof a);
    /* Unconditional writes report the generation they produced. */
    CHECK_RC(mc_mapping_writev_gen(m, &r, 1, src, &g), MC_OK);
    CHECK_EQ_U64(g, g0 + 1);
    CHECK_EQ_U64(mc_mapping_generation(m), g0 + 1);
    /* A stale generation writes nothing and leaves the generation alone. */
    memset(a, 0xB2, sizeof a);
    g = 0;
    CHECK_RC(write_if_gen(m, &r, src, g0, &g), MC_EPRECONDITION);
    CHECK_EQ_U64(g, 0);
    CHECK_EQ_U64(mc_mapping_generation(m), g0 + 1);
    CHECK(reads_all(m, VS, sizeof a, 0xA1));
    /* The current one writes and bumps once. */
    CHECK_RC(write_if_gen(m, &r, src, g0 + 1, &g), MC_OK);
    CHECK_EQ_U64(g, g0 + 2);
    CHECK(reads_all(m, VS, sizeof a, 0xB2));
    /* Out of range: MC_ERANGE, nothing written, generation unchanged. */
    r.off = 4 * VS;
    CHECK_RC(write_if_gen(m, &r, src, g0 + 2, NULL), MC_ERANGE);
    CHECK_EQ_U64(mc_mapping_generation(m), g0 + 2);
    /* An empty write still checks, and names the current generation. */
    r = (struct mc_range){0, 0};
    CHECK_RC(write_if_gen(m, &r, src, g0, NULL), MC_EPRECONDITION);
    CHECK_RC(write_if_gen(m, &r, src, g0 + 2, &g), MC_OK);
    CHECK_EQ_U64(g, g0 + 2);
    mc_mapping_unref(m);
    teardown(&f);
}

#define COND_THREADS 8

struct cond_worker {
    struct mc_mapping *m;
    pthread_barrier_t *start;
    uint64_t expect;
    int id;
    enum mc_err rc;
    uint64_t gen;
};

static void *cond_main(void *arg)
{
    struct cond_worker *w = arg;
    uint8_t buf[64];
    /* Disjoint ranges: only the whole-mapping lock orders them. */
    struct mc_range r = {(uint64_t)w->id * VS, sizeof buf};
    const void *src[1] = {buf};

    memset(buf, 0x10 + w->id, sizeof buf);
    pthread_barrier_wait(w->start);
    w->rc = write_if_gen(w->m, &r, src, w->expect, &w->gen);
    return NULL;
}

TEST(conditional_write_one_winner)
{
    struct fixture f;
    setup(&f, 16);
    struct mc_mapping *m = make_rw(&f, "race", COND_THREADS * VS);

    for (int round = 0; round < 50; round++) {
        pthread_t t[COND_THREADS];
        struct cond_worker w[COND_THREADS];
        pthread_barrier_t start;
        uint64_t g0;
        int winners = 0;
        int winner = -1;

        set_all(m, 0, COND_THREADS * VS, 0);
        g0 = mc_mapping_generation(m);
        CHECK(pthread_barrier_init(&start, NULL, COND_THREADS) == 0);
        for (int i = 0; i < COND_THREADS; i++) {
            w[i] = (struct cond_worker){
                .m = m, .start = &start, .expect = g0, .id = i};
            CHECK(pthread_create(&t[i], NULL, cond_main, &w[i]) == 0);
        }
        for (int i = 0; i < COND_THREADS; i++)
            CHECK(pthread_join(t[i], NULL) == 0);
        pthread_barrier_destroy(&start);
        for (int i = 0; i < COND_THREADS; i++) {
            if (w[i].rc == MC_OK) {
                winners++;
                winner = i;
                CHECK_EQ_U64(w[i].gen, g0 + 1);
            } else {
                CHECK_RC(w[i].rc, MC_EPRECONDITION);
            }
        }
        CHECK_EQ_U64(winners, 1);
        CHECK_EQ_U64(mc_mapping_generation(m), g0 + 1);
        for (int i = 0; i < COND_THREADS; i++)
            CHECK(reads_all(m, (uint64_t)i * VS, 64,
                            i == winner ? (uint8_t)(0x10 + i) : 0));
    }
    mc_mapping_unref(m);
    teardown(&f);
}

TEST_MAIN()
