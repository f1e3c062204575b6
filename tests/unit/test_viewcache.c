/* test_viewcache.c - the shared view cache, seen through mc_view_acquire.
 *
 * Proves that views are aligned to the view size, that reads and writes
 * spanning several views land on the right bytes, that idle views are
 * evicted to stay within the budget while pinned ones never are (MC_EBUSY
 * instead, or a direct read), that a full cache admits a view for a read
 * only when it misses twice in a row and reads it directly otherwise, that
 * hits and misses are counted, that the budget is shared by all mappings
 * of a catalog, and that a mapping's views go with it.
 */
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mc_check.h"
#include "mapcore/mc_catalog.h"

#define VS 4096u

struct fixture {
    char dir[64];
    struct mc_catalog *cat;
};

/* A catalog in a fresh temporary directory with VS-byte views and a budget
 * of budget_views views. */
static void setup(struct fixture *f, unsigned budget_views)
{
    struct mc_catalog_options opt = {0};

    snprintf(f->dir, sizeof f->dir, "/tmp/mc-vc-XXXXXX");
    CHECK(mkdtemp(f->dir) != NULL);
    opt.data_dir = f->dir;
    opt.view_size = VS;
    opt.cache_bytes = (uint64_t)budget_views * VS;
    CHECK_RC(mc_catalog_open(&opt, &f->cat), MC_OK);
}

static void teardown(struct fixture *f)
{
    mc_catalog_close(f->cat);
    CHECK_RMTREE(f->dir);
}

static struct mc_mapping *make(struct fixture *f, const char *name,
                               uint64_t size)
{
    struct mc_spec spec = {.given = MC_SPEC_SIZE, .size = size};
    struct mc_mapping *m = NULL;
    bool created = false;

    CHECK_RC(mc_catalog_create(f->cat, name, &spec, false, &m, &created),
             MC_OK);
    CHECK(created);
    return m;
}

static uint8_t pattern(uint64_t off)
{
    return (uint8_t)(off * 31 + (off >> 12) * 7 + 1);
}

static void fill(struct mc_mapping *m, uint64_t size)
{
    uint8_t *buf = malloc(size);

    CHECK(buf != NULL);
    for (uint64_t i = 0; i < size; i++)
        buf[i] = pattern(i);
    CHECK_RC(mc_mapping_write(m, 0, buf, size), MC_OK);
    free(buf);
}

static struct mc_cache_stats stats(struct fixture *f)
{
    struct mc_cache_stats st;

    mc_catalog_cache_stats(f->cat, &st);
    return st;
}

TEST(view_alignment)
{
    struct fixture f;
    uint64_t size = 5 * VS + 100;
    const uint64_t offs[] = {0,           1,      VS - 1,     VS,
                             2 * VS + 17, 5 * VS, 5 * VS + 99};

    setup(&f, 16);
    struct mc_mapping *m = make(&f, "m", size);
    fill(m, size);
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        struct mc_view *v = NULL;
        const uint8_t *p = NULL;
        size_t len = 0;
        uint64_t off = offs[i];
        uint64_t want = VS - off % VS;
        if (want > size - off)
            want = size - off;
        CHECK_RC(mc_view_acquire(m, off, &v, &p, &len), MC_OK);
        CHECK_EQ_U64(len, want);
        for (size_t k = 0; k < len; k++)
            CHECK_EQ_U64(p[k], pattern(off + k));
        /* The view starts at the aligned offset: its first byte is where
         * the pointer minus the offset within the view points. */
        CHECK_EQ_U64((p - (off % VS))[0], pattern(off - off % VS));
        mc_view_release(v);
    }
    /* Two acquisitions inside one view share its mapping. */
    {
        struct mc_view *a, *b;
        const uint8_t *pa, *pb;
        size_t la, lb;
        CHECK_RC(mc_view_acquire(m, VS + 10, &a, &pa, &la), MC_OK);
        CHECK_RC(mc_view_acquire(m, VS + 20, &b, &pb, &lb), MC_OK);
        CHECK(a == b);
        CHECK(pb - pa == 10);
        CHECK_EQ_U64(la - lb, 10);
        mc_view_release(a);
        mc_view_release(b);
    }
    {
        struct mc_view *v = NULL;
        const uint8_t *p = NULL;
        size_t len = 0;
        CHECK_RC(mc_view_acquire(m, size, &v, &p, &len), MC_ERANGE);
        CHECK_RC(mc_view_acquire(m, UINT64_MAX, &v, &p, &len), MC_ERANGE);
    }
    CHECK_EQ_U64(stats(&f).pinned, 0);
    mc_mapping_unref(m);
    teardown(&f);
}

TEST(spanning_reads_and_writes)
{
    struct fixture f;
    uint64_t size = 10 * VS + 123;
    uint8_t *shadow = calloc(1, size);
    uint8_t *buf = malloc(size);

    CHECK(shadow && buf);
    setup(&f, 3); /* fewer views than the mapping has: forces remapping */
    struct mc_mapping *m = make(&f, "span", size);
    /* Unaligned writes that cross two, three and five view boundaries. */
    const uint64_t wr[][2] = {{VS - 7, 20},
                              {2 * VS + 100, 2 * VS + 5},
                              {4 * VS + 1, 4 * VS + 77},
                              {size - 9, 9}};
    for (size_t i = 0; i < sizeof wr / sizeof wr[0]; i++) {
        for (uint64_t k = 0; k < wr[i][1]; k++)
            buf[k] = (uint8_t)(i * 50 + k + 3);
        CHECK_RC(mc_mapping_write(m, wr[i][0], buf, wr[i][1]), MC_OK);
        memcpy(shadow + wr[i][0], buf, wr[i][1]);
    }
    /* Whole, and unaligned slices across boundaries. */
    CHECK_RC(mc_mapping_read(m, 0, buf, size), MC_OK);
    CHECK_MEM(buf, shadow, size);
    const uint64_t rd[][2] = {
        {VS - 1, 2}, {3 * VS - 5, 3 * VS + 10}, {7, 9 * VS}, {size - 1, 1}};
    for (size_t i = 0; i < sizeof rd / sizeof rd[0]; i++) {
        memset(buf, 0xee, size);
        CHECK_RC(mc_mapping_read(m, rd[i][0], buf, rd[i][1]), MC_OK);
        CHECK_MEM(buf, shadow + rd[i][0], rd[i][1]);
    }
    /* Out of range, overflow included; nothing is copied then. */
    memset(buf, 0xee, 4);
    CHECK_RC(mc_mapping_read(m, size - 3, buf, 4), MC_ERANGE);
    CHECK_EQ_U64(buf[0], 0xee);
    CHECK_RC(mc_mapping_read(m, UINT64_MAX - 1, buf, 4), MC_ERANGE);
    CHECK_RC(mc_mapping_write(m, size, buf, 1), MC_ERANGE);
    CHECK_RC(mc_mapping_read(m, size, buf, 0), MC_OK);

    /* The bytes reached the file at the same offsets. */
    uint64_t flushed = 0;
    CHECK_RC(mc_mapping_flush(m, 0, 0, &flushed), MC_OK);
    CHECK_EQ_U64(flushed, size);
    char path[128];
    snprintf(path, sizeof path, "%s/span", f.dir);
    FILE *fp = fopen(path, "rb");
    CHECK(fp != NULL);
    CHECK_EQ_U64(fread(buf, 1, size, fp), size);
    fclose(fp);
    CHECK_MEM(buf, shadow, size);

    mc_mapping_unref(m);
    teardown(&f);
    free(shadow);
    free(buf);
}

TEST(hits_and_misses)
{
    struct fixture f;
    struct mc_view *v;
    const uint8_t *p;
    size_t len;

    setup(&f, 8);
    struct mc_mapping *m = make(&f, "hm", 4 * VS);
    struct mc_cache_stats s0 = stats(&f);
    CHECK_EQ_U64(s0.view_size, VS);
    CHECK_EQ_U64(s0.budget_bytes, 8 * VS);
    CHECK_RC(mc_view_acquire(m, 5, &v, &p, &len), MC_OK);
    mc_view_release(v);
    CHECK_RC(mc_view_acquire(m, 100, &v, &p, &len), MC_OK);
    mc_view_release(v);
    CHECK_RC(mc_view_acquire(m, VS, &v, &p, &len), MC_OK);
    mc_view_release(v);
    struct mc_cache_stats s1 = stats(&f);
    CHECK_EQ_U64(s1.misses - s0.misses, 2);
    CHECK_EQ_U64(s1.hits - s0.hits, 1);
    CHECK_EQ_U64(s1.views, 2);
    CHECK_EQ_U64(s1.bytes_mapped, 2 * VS);
    CHECK_EQ_U64(s1.evictions, 0);

    struct mc_info info;
    mc_mapping_info(m, &info);
    CHECK_EQ_U64(info.views_cached, 2);
    mc_mapping_unref(m);
    teardown(&f);
}

TEST(eviction_keeps_within_budget)
{
    struct fixture f;
    uint8_t b;

    setup(&f, 4);
    struct mc_mapping *m = make(&f, "ev", 32 * VS);
    fill(m, 32 * VS);
    /* fill left views 28..31 mapped; count from here. */
    struct mc_cache_stats s0 = stats(&f);
    CHECK_EQ_U64(s0.views, 4);
    /* Writes always map (reads of a full cache may not, see below). */
    for (int round = 0; round < 2; round++) {
        for (uint64_t i = 0; i < 32; i++) {
            b = pattern(i * VS + 5);
            CHECK_RC(mc_mapping_write(m, i * VS + 5, &b, 1), MC_OK);
            struct mc_cache_stats s = stats(&f);
            CHECK(s.bytes_mapped <= s.budget_bytes);
            CHECK(s.views <= 4);
        }
    }
    struct mc_cache_stats s = stats(&f);
    CHECK_EQ_U64(s.misses - s0.misses, 64);
    CHECK_EQ_U64(s.evictions - s0.evictions, 64);
    CHECK_EQ_U64(s.views, 4);
    CHECK_EQ_U64(s.pinned, 0);
    /* LRU order: the last four views written are the ones still mapped. */
    uint64_t hits = s.hits;
    CHECK_RC(mc_mapping_read(m, 31 * VS, &b, 1), MC_OK);
    CHECK_RC(mc_mapping_read(m, 28 * VS, &b, 1), MC_OK);
    CHECK_EQ_U64(stats(&f).hits, hits + 2);
    CHECK_RC(mc_mapping_read(m, 27 * VS, &b, 1), MC_OK);
    CHECK_EQ_U64(stats(&f).hits, hits + 2);
    mc_mapping_unref(m);
    teardown(&f);
}

/* Reads that miss a full cache: the first miss of a view is read directly
 * (declined, nothing evicted), a second miss right after admits it. */
TEST(full_cache_admits_a_view_on_its_second_miss)
{
    struct fixture f;
    uint8_t b;

    setup(&f, 4);
    struct mc_mapping *m = make(&f, "adm", 32 * VS);
    fill(m, 32 * VS); /* leaves views 28..31 mapped */
    struct mc_cache_stats s0 = stats(&f);

    for (uint64_t i = 0; i < 28; i++) {
        CHECK_RC(mc_mapping_read(m, i * VS + 3, &b, 1), MC_OK);
        CHECK_EQ_U64(b, pattern(i * VS + 3));
    }
    struct mc_cache_stats s1 = stats(&f);
    CHECK_EQ_U64(s1.misses - s0.misses, 28);
    CHECK_EQ_U64(s1.declined - s0.declined, 28);
    CHECK_EQ_U64(s1.evictions, s0.evictions);
    CHECK_EQ_U64(s1.views, 4);
    /* The hot views were not pushed out by the cold reads. */
    CHECK_RC(mc_mapping_read(m, 28 * VS, &b, 1), MC_OK);
    CHECK_RC(mc_mapping_read(m, 31 * VS, &b, 1), MC_OK);
    CHECK_EQ_U64(stats(&f).hits, s1.hits + 2);

    /* Asked twice in a row: declined, then admitted, each admission
     * evicting the least recently used view. (Asked again only after many
     * other misses, a view may have lost its doorkeeper slot, which has
     * about as many slots as the cache has views.) */
    s1 = stats(&f);
    for (uint64_t i = 0; i < 28; i++) {
        for (int twice = 0; twice < 2; twice++) {
            CHECK_RC(mc_mapping_read(m, i * VS + 4, &b, 1), MC_OK);
            CHECK_EQ_U64(b, pattern(i * VS + 4));
        }
        /* Now it is mapped: a third read hits. */
        uint64_t hits = stats(&f).hits;
        CHECK_RC(mc_mapping_read(m, i * VS + 5, &b, 1), MC_OK);
        CHECK_EQ_U64(stats(&f).hits, hits + 1);
        CHECK(stats(&f).views <= 4);
    }
    struct mc_cache_stats s2 = stats(&f);
    /* Each view was admitted once and evicted one; every other miss was
     * declined (some views kept their slot from the first pass). */
    CHECK_EQ_U64(s2.evictions - s1.evictions, 28);
    CHECK_EQ_U64(s2.misses - s1.misses, 28 + (s2.declined - s1.declined));
    CHECK(s2.declined - s1.declined <= 28);
    CHECK_RC(mc_mapping_read(m, 27 * VS, &b, 1), MC_OK);
    CHECK_RC(mc_mapping_read(m, 24 * VS, &b, 1), MC_OK);
    CHECK_EQ_U64(stats(&f).hits, s2.hits + 2);
    mc_mapping_unref(m);
    teardown(&f);
}

TEST(pinned_views_never_evicted)
{
    struct fixture f;
    struct mc_view *v[4];
    const uint8_t *p[4];
    size_t len;

    setup(&f, 4);
    struct mc_mapping *m = make(&f, "pin", 8 * VS);
    fill(m, 8 * VS);
    uint64_t evictions0 = stats(&f).evictions;
    for (int i = 0; i < 4; i++)
        CHECK_RC(mc_view_acquire(m, (uint64_t)i * VS, &v[i], &p[i], &len),
                 MC_OK);
    CHECK_EQ_U64(stats(&f).pinned, 4);

    /* Full of pinned views: a fifth view is refused, a write to it too, a
     * read of it is read directly, and nothing moved. */
    struct mc_view *x;
    const uint8_t *px;
    uint8_t b = 0;
    CHECK_RC(mc_view_acquire(m, 5 * VS, &x, &px, &len), MC_EBUSY);
    CHECK_RC(mc_mapping_write(m, 6 * VS, &b, 1), MC_EBUSY);
    CHECK_RC(mc_mapping_read(m, 6 * VS, &b, 1), MC_OK);
    CHECK_EQ_U64(b, pattern(6 * VS));
    struct mc_cache_stats s = stats(&f);
    CHECK_EQ_U64(s.views, 4);
    CHECK_EQ_U64(s.evictions - evictions0, 4); /* fill's views made room */
    /* But a pinned view can still be shared. */
    CHECK_RC(mc_mapping_read(m, 2 * VS + 1, &b, 1), MC_OK);
    CHECK_EQ_U64(b, pattern(2 * VS + 1));
    for (int i = 0; i < 4; i++)
        CHECK_EQ_U64(p[i][7], pattern((uint64_t)i * VS + 7));

    /* Free one: the next miss evicts exactly that one. */
    mc_view_release(v[1]);
    CHECK_RC(mc_view_acquire(m, 5 * VS, &x, &px, &len), MC_OK);
    CHECK_EQ_U64(px[0], pattern(5 * VS));
    s = stats(&f);
    CHECK_EQ_U64(s.evictions - evictions0, 5);
    CHECK_EQ_U64(s.pinned, 4);
    for (int i = 0; i < 4; i++) {
        if (i != 1)
            CHECK_EQ_U64(p[i][9], pattern((uint64_t)i * VS + 9));
    }
    mc_view_release(x);
    mc_view_release(v[0]);
    mc_view_release(v[2]);
    mc_view_release(v[3]);
    CHECK_EQ_U64(stats(&f).pinned, 0);
    mc_mapping_unref(m);
    teardown(&f);
}

TEST(budget_shared_by_mappings)
{
    struct fixture f;
    struct mc_view *va, *vb, *vx;
    const uint8_t *p;
    size_t len;

    setup(&f, 2);
    struct mc_mapping *a = make(&f, "a", 4 * VS);
    struct mc_mapping *b = make(&f, "b", 4 * VS);
    CHECK_RC(mc_view_acquire(a, 0, &va, &p, &len), MC_OK);
    CHECK_RC(mc_view_acquire(b, 0, &vb, &p, &len), MC_OK);
    CHECK(va != vb); /* same index, different mappings, different views */
    CHECK_RC(mc_view_acquire(a, VS, &vx, &p, &len), MC_EBUSY);
    mc_view_release(vb);
    CHECK_RC(mc_view_acquire(a, VS, &vx, &p, &len), MC_OK);
    struct mc_info info;
    mc_mapping_info(b, &info);
    CHECK_EQ_U64(info.views_cached, 0); /* b's idle view made the room */
    mc_view_release(vx);
    mc_view_release(va);
    mc_mapping_unref(a);
    mc_mapping_unref(b);
    teardown(&f);
}

TEST(views_go_with_their_mapping)
{
    struct fixture f;
    uint8_t b;

    setup(&f, 16);
    struct mc_mapping *m = make(&f, "gone", 4 * VS);
    for (uint64_t i = 0; i < 4; i++)
        CHECK_RC(mc_mapping_read(m, i * VS, &b, 1), MC_OK);
    CHECK_EQ_U64(stats(&f).views, 4);
    /* Removed from the catalog but still referenced: views stay usable. */
    CHECK_RC(mc_catalog_remove(f.cat, "gone", false), MC_OK);
    CHECK_RC(mc_mapping_read(m, 2 * VS, &b, 1), MC_OK);
    CHECK_EQ_U64(stats(&f).views, 4);
    mc_mapping_unref(m); /* the last reference: views are unmapped */
    CHECK_EQ_U64(stats(&f).views, 0);
    CHECK_EQ_U64(stats(&f).bytes_mapped, 0);
    teardown(&f);
}

/* Several threads hammer the same few views: the lost-race path of a miss
 * (two threads map one view, one copy is thrown away) must neither leak nor
 * hand out a view with the wrong bytes. */
struct hammer {
    struct mc_mapping *m;
    unsigned seed;
    int failures;
};

static void *hammer_thread(void *arg)
{
    struct hammer *h = arg;

    for (int i = 0; i < 3000; i++) {
        struct mc_view *v;
        const uint8_t *p;
        size_t len;
        uint64_t off = (uint64_t)(rand_r(&h->seed) % (16 * VS));
        if (mc_view_acquire(h->m, off, &v, &p, &len) != MC_OK) {
            h->failures++;
            continue;
        }
        if (p[0] != pattern(off) || p[len - 1] != pattern(off + len - 1))
            h->failures++;
        mc_view_release(v);
    }
    return NULL;
}

TEST(concurrent_acquire_same_views)
{
    struct fixture f;
    pthread_t t[4];
    struct hammer h[4];

    setup(&f, 8);
    struct mc_mapping *m = make(&f, "ham", 16 * VS);
    fill(m, 16 * VS);
    for (int i = 0; i < 4; i++) {
        h[i] = (struct hammer){.m = m, .seed = (unsigned)i + 1};
        CHECK(pthread_create(&t[i], NULL, hammer_thread, &h[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        CHECK(pthread_join(t[i], NULL) == 0);
        CHECK_EQ_U64(h[i].failures, 0);
    }
    struct mc_cache_stats s = stats(&f);
    CHECK_EQ_U64(s.pinned, 0);
    CHECK(s.views <= 8);
    CHECK_EQ_U64(s.hits + s.misses, 4 * 3000 + 16);
    mc_mapping_unref(m);
    teardown(&f);
}

TEST_MAIN()
