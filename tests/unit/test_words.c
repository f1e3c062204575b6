/* test_words.c - atomic word operations on a mapping (mc_words.h).
 *
 * Proves each operation's result in both widths (wrapping, sign extension,
 * little-endian bytes), that every refusal (misaligned, outside, readonly,
 * partial overlap, cas mismatch, checked overflow, precondition) changes
 * nothing and says which operation, that a batch is all or nothing and
 * bumps the generation once only when it stores, that writecopy words stay
 * private, and, with threads (run it under TSan too), that adds through
 * mapcore and __atomic_fetch_add through a mapping of the same file made
 * outside mapcore never lose an update, and that a reader copying bytes
 * never sees half of an 8-byte store.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "mapcore/mc_catalog.h"
#include "mapcore/mc_words.h"
#include "mc_check.h"

#define VS 4096u

struct fixture {
    char dir[64];
    struct mc_catalog *cat;
};

static void setup(struct fixture *f)
{
    struct mc_catalog_options opt = {0};

    snprintf(f->dir, sizeof f->dir, "/tmp/mc-words-XXXXXX");
    CHECK(mkdtemp(f->dir) != NULL);
    opt.data_dir = f->dir;
    opt.view_size = VS;
    opt.cache_bytes = 64 * VS;
    opt.max_map_size = 1u << 24;
    CHECK_RC(mc_catalog_open(&opt, &f->cat), MC_OK);
}

static void teardown(struct fixture *f)
{
    mc_catalog_close(f->cat);
    CHECK_RMTREE(f->dir);
}

static struct mc_word op(enum mc_word_op o, uint64_t off, unsigned width,
                         int64_t value)
{
    return (struct mc_word){
        .op = o, .off = off, .width = width, .value = value};
}

/* Run one operation; its result in *w. */
static enum mc_err one(struct mc_mapping *m, struct mc_word *w)
{
    struct mc_words_result res;

    return mc_mapping_words(m, w, 1, NULL, NULL, &res);
}

static int64_t load(struct mc_mapping *m, uint64_t off, unsigned width)
{
    struct mc_word w = op(MC_WORD_LOAD, off, width, 0);

    CHECK_RC(one(m, &w), MC_OK);
    CHECK(w.old == w.new);
    return w.old;
}

TEST(each_op_in_both_widths)
{
    struct fixture f;
    struct {
        enum mc_word_op o;
        int64_t start, value, old, new;
    } cases[] = {
        {MC_WORD_STORE, 0, -5, 0, -5},
        {MC_WORD_SWAP, 7, 9, 7, 9},
        {MC_WORD_ADD, 40, 2, 40, 42},
        {MC_WORD_ADD, 5, -7, 5, -2},
        {MC_WORD_AND, 0x0f0f, 0x00ff, 0x0f0f, 0x000f},
        {MC_WORD_OR, 0x0f00, 0x00f0, 0x0f00, 0x0ff0},
        {MC_WORD_XOR, 0x0ff0, 0x00ff, 0x0ff0, 0x0f0f},
        {MC_WORD_XOR, -1, 1, -1, -2},
    };

    setup(&f);
    struct mc_mapping *m = mc_check_rw(f.cat, "w", 2 * VS);
    for (unsigned width = 4; width <= 8; width += 4) {
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            struct mc_word set = op(MC_WORD_STORE, 16, width, cases[i].start);
            struct mc_word w = op(cases[i].o, 16, width, cases[i].value);

            CHECK_RC(one(m, &set), MC_OK);
            CHECK_RC(one(m, &w), MC_OK);
            if (w.old != cases[i].old || w.new != cases[i].new)
                TEST_FAIL("case %zu width %u: old %lld new %lld", i, width,
                          (long long)w.old, (long long)w.new);
            CHECK(load(m, 16, width) == cases[i].new);
        }
    }
    /* cas: swaps only on a match. */
    struct mc_word cas = op(MC_WORD_CAS, 8, 8, 99);
    cas.expected = 0;
    CHECK_RC(one(m, &cas), MC_OK);
    CHECK(cas.old == 0 && cas.new == 99);
    CHECK_RC(one(m, &cas), MC_ECASFAILED);
    CHECK(cas.old == 99 && cas.new == 99);
    CHECK(load(m, 8, 8) == 99);
    mc_mapping_unref(m);
    teardown(&f);
}

TEST(words_are_little_endian_and_wrap)
{
    struct fixture f;
    uint8_t bytes[8];
    static const uint8_t want[8] = {0x08, 0x07, 0x06, 0x05,
                                    0x04, 0x03, 0x02, 0x01};

    setup(&f);
    struct mc_mapping *m = mc_check_rw(f.cat, "w", VS);
    struct mc_word w = op(MC_WORD_STORE, 0, 8, 0x0102030405060708);
    CHECK_RC(one(m, &w), MC_OK);
    CHECK_RC(mc_mapping_read(m, 0, bytes, 8), MC_OK);
    CHECK_MEM(bytes, want, 8);
    /* A 4-byte word reads as a signed 32-bit number. */
    CHECK_RC(mc_mapping_write(m, 8, "\xff\xff\xff\xff", 4), MC_OK);
    CHECK(load(m, 8, 4) == -1);
    /* Add wraps in the word's width unless checked. */
    w = op(MC_WORD_STORE, 8, 4, INT32_MAX);
    CHECK_RC(one(m, &w), MC_OK);
    w = op(MC_WORD_ADD, 8, 4, 1);
    CHECK_RC(one(m, &w), MC_OK);
    CHECK(w.new == INT32_MIN);
    w = op(MC_WORD_STORE, 16, 8, INT64_MAX);
    CHECK_RC(one(m, &w), MC_OK);
    w = op(MC_WORD_ADD, 16, 8, 1);
    w.checked = true;
    CHECK_RC(one(m, &w), MC_EOVERFLOW);
    CHECK(load(m, 16, 8) == INT64_MAX);
    w.checked = false;
    CHECK_RC(one(m, &w), MC_OK);
    CHECK(w.new == INT64_MIN);
    /* The 4-byte word next to it was left alone. */
    CHECK(load(m, 12, 4) == 0);
    mc_mapping_unref(m);
    teardown(&f);
}

TEST(refusals_change_nothing)
{
    struct fixture f;
    struct mc_words_result res;
    struct mc_word w[MC_WORDS_MAX + 1];

    setup(&f);
    struct mc_mapping *m = mc_check_rw(f.cat, "w", VS);
    uint64_t gen = mc_mapping_generation(m);

    w[0] = op(MC_WORD_STORE, 0, 8, 1);
    w[1] = op(MC_WORD_STORE, 12, 4, 1);
    CHECK_RC(mc_mapping_words(m, w, 2, NULL, NULL, &res), MC_OK);
    CHECK(res.stored && res.applied == 2 && res.failed == 2);
    CHECK_EQ_U64(mc_mapping_generation(m), gen + 1);
    CHECK_EQ_U64(res.generation, gen + 1);
    gen++;

    /* Each refusal names the operation and writes nothing. */
    struct {
        struct mc_word bad;
        enum mc_err rc;
    } cases[] = {
        {op(MC_WORD_STORE, 4, 8, 7), MC_EMISALIGNED},
        {op(MC_WORD_STORE, 2, 4, 7), MC_EMISALIGNED},
        {op(MC_WORD_STORE, VS, 8, 7), MC_ERANGE},
        {op(MC_WORD_STORE, UINT64_MAX - 7, 8, 7), MC_ERANGE},
        {op(MC_WORD_STORE, 0, 2, 7), MC_EINVAL},
        {op(MC_WORD_STORE, 32, 4, (int64_t)INT32_MAX + 1), MC_EINVAL},
        {op(MC_WORD_STORE, 32, 4, (int64_t)INT32_MIN - 1), MC_EINVAL},
        /* Overlaps w[0] partially. */
        {op(MC_WORD_STORE, 4, 4, 7), MC_EINVAL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        w[0] = op(MC_WORD_STORE, 0, 8, 5);
        w[1] = cases[i].bad;
        CHECK_RC(mc_mapping_words(m, w, 2, NULL, NULL, &res), cases[i].rc);
        CHECK_EQ_U64(res.failed, 1);
        CHECK_EQ_U64(res.applied, 0);
        CHECK(!res.stored);
    }
    /* A checked add that overflows only after an earlier op of the same
     * batch, and a cas that the batch's own store makes fail. */
    w[0] = op(MC_WORD_STORE, 0, 8, INT64_MAX);
    w[1] = op(MC_WORD_ADD, 0, 8, 1);
    w[1].checked = true;
    CHECK_RC(mc_mapping_words(m, w, 2, NULL, NULL, &res), MC_EOVERFLOW);
    CHECK_EQ_U64(res.failed, 1);
    CHECK(w[0].old == 1 && w[1].old == 1); /* the current values */
    w[0] = op(MC_WORD_STORE, 0, 8, 2);
    w[1] = op(MC_WORD_STORE, 12, 4, 3);
    w[2] = op(MC_WORD_CAS, 0, 8, 4);
    w[2].expected = 1; /* true now, but not after w[0] */
    CHECK_RC(mc_mapping_words(m, w, 3, NULL, NULL, &res), MC_ECASFAILED);
    CHECK_EQ_U64(res.failed, 2);
    CHECK(w[0].old == 1 && w[1].old == 1 && w[2].old == 1);
    /* Sizes of a batch. */
    CHECK_RC(mc_mapping_words(m, w, 0, NULL, NULL, &res), MC_EINVAL);
    for (size_t i = 0; i <= MC_WORDS_MAX; i++)
        w[i] = op(MC_WORD_ADD, 64 + 8 * i, 8, 1);
    CHECK_RC(mc_mapping_words(m, w, MC_WORDS_MAX + 1, NULL, NULL, &res),
             MC_EINVAL);
    CHECK_EQ_U64(mc_mapping_generation(m), gen);
    CHECK(load(m, 0, 8) == 1 && load(m, 12, 4) == 1);
    /* The largest batch works, once per word and several times per word. */
    CHECK_RC(mc_mapping_words(m, w, MC_WORDS_MAX, NULL, NULL, &res), MC_OK);
    for (size_t i = 0; i < MC_WORDS_MAX; i++)
        w[i] = op(MC_WORD_ADD, 64, 8, 1);
    CHECK_RC(mc_mapping_words(m, w, MC_WORDS_MAX, NULL, NULL, &res), MC_OK);
    CHECK(w[MC_WORDS_MAX - 1].new == MC_WORDS_MAX + 1);
    CHECK_EQ_U64(mc_mapping_generation(m), gen + 2);
    mc_mapping_unref(m);
    teardown(&f);
}

static bool never(const void *cls, uint64_t generation)
{
    (void)cls;
    (void)generation;
    return false;
}

static bool is_gen(const void *cls, uint64_t generation)
{
    return *(const uint64_t *)cls == generation;
}

TEST(loads_leave_the_generation_and_preconditions_hold)
{
    struct fixture f;
    struct mc_words_result res;
    struct mc_word w[2];

    setup(&f);
    struct mc_mapping *m = mc_check_rw(f.cat, "w", VS);
    uint64_t gen = mc_mapping_generation(m);
    w[0] = op(MC_WORD_LOAD, 0, 8, 0);
    w[1] = op(MC_WORD_LOAD, 8, 4, 0);
    CHECK_RC(mc_mapping_words(m, w, 2, NULL, NULL, &res), MC_OK);
    CHECK(!res.stored);
    CHECK_EQ_U64(res.generation, gen);
    CHECK_EQ_U64(mc_mapping_generation(m), gen);
    w[0] = op(MC_WORD_ADD, 0, 8, 1);
    CHECK_RC(mc_mapping_words(m, w, 1, never, NULL, &res), MC_EPRECONDITION);
    CHECK(load(m, 0, 8) == 0);
    CHECK_RC(mc_mapping_words(m, w, 1, is_gen, &gen, &res), MC_OK);
    CHECK_EQ_U64(res.generation, gen + 1);
    CHECK_RC(mc_mapping_words(m, w, 1, is_gen, &gen, &res), MC_EPRECONDITION);
    CHECK(load(m, 0, 8) == 1);
    mc_mapping_unref(m);
    teardown(&f);
}

TEST(readonly_loads_and_writecopy_stays_private)
{
    struct fixture f;
    uint8_t byte;

    setup(&f);
    struct mc_mapping *rw = mc_check_rw(f.cat, "base", VS);
    struct mc_word w = op(MC_WORD_STORE, 0, 8, 77);
    CHECK_RC(one(rw, &w), MC_OK);
    struct mc_mapping *ro = mc_check_create(
        f.cat, "ro",
        (struct mc_spec){.given = MC_SPEC_FILE | MC_SPEC_PROTECTION,
                         .file = "base",
                         .protection = MC_PROT_READONLY});
    CHECK(load(ro, 0, 8) == 77);
    w = op(MC_WORD_ADD, 0, 8, 1);
    CHECK_RC(one(ro, &w), MC_ERDONLY);
    struct mc_mapping *wc = mc_check_create(
        f.cat, "wc",
        (struct mc_spec){.given = MC_SPEC_FILE | MC_SPEC_PROTECTION,
                         .file = "base",
                         .protection = MC_PROT_WRITECOPY});
    CHECK_RC(one(wc, &w), MC_OK);
    CHECK(w.old == 77 && w.new == 78);
    CHECK(load(wc, 0, 8) == 78);
    CHECK(load(rw, 0, 8) == 77);
    CHECK_RC(mc_mapping_read(wc, 0, &byte, 1), MC_OK);
    CHECK(byte == 78);
    mc_mapping_unref(wc);
    mc_mapping_unref(ro);
    mc_mapping_unref(rw);
    teardown(&f);
}

/* ---- threads ------------------------------------------------------------ */

#define ADDERS 4
#define ADDS 2000

struct race {
    struct mc_mapping *m;
    int64_t *local; /* the counter in a mapping made outside mapcore */
    atomic_bool stop;
    atomic_int torn;
};

static void *add_through_mapcore(void *arg)
{
    struct race *r = arg;

    for (int i = 0; i < ADDS; i++) {
        struct mc_word w = op(MC_WORD_ADD, 8, 8, 1);

        if (one(r->m, &w) != MC_OK)
            abort();
    }
    return NULL;
}

static void *add_locally(void *arg)
{
    struct race *r = arg;

    for (int i = 0; i < ADDS; i++)
        __atomic_fetch_add(r->local, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

TEST(adds_from_mapcore_and_a_local_mapping_all_count)
{
    struct fixture f;
    struct race r = {0};
    pthread_t t[2 * ADDERS];
    char path[128];

    setup(&f);
    r.m = mc_check_rw(f.cat, "ctr", VS);
    snprintf(path, sizeof path, "%s/ctr", f.dir);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    CHECK(fd >= 0);
    void *p = mmap(NULL, VS, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED);
    r.local = (int64_t *)((char *)p + 8);
    for (int i = 0; i < ADDERS; i++) {
        CHECK(pthread_create(&t[i], NULL, add_through_mapcore, &r) == 0);
        CHECK(pthread_create(&t[ADDERS + i], NULL, add_locally, &r) == 0);
    }
    for (int i = 0; i < 2 * ADDERS; i++)
        pthread_join(t[i], NULL);
    CHECK_EQ_U64(load(r.m, 8, 8), 2 * ADDERS * ADDS);
    CHECK_EQ_U64(__atomic_load_n(r.local, __ATOMIC_SEQ_CST), 2 * ADDERS * ADDS);
    munmap(p, VS);
    close(fd);
    mc_mapping_unref(r.m);
    teardown(&f);
}

static void *store_patterns(void *arg)
{
    struct race *r = arg;

    /* Every value has all 8 bytes alike, so a mix of two is visible. */
    for (uint64_t i = 1; i < 4000; i++) {
        struct mc_word w[2] = {
            op(MC_WORD_STORE, VS - 8, 8,
               (int64_t)(0x0101010101010101u * (i & 0x7f))),
            op(MC_WORD_SWAP, VS, 8,
               (int64_t)(0x0101010101010101u * (i & 0x7f))),
        };
        struct mc_words_result res;

        if (mc_mapping_words(r->m, w, 2, NULL, NULL, &res) != MC_OK)
            abort();
    }
    atomic_store(&r->stop, true);
    return NULL;
}

TEST(a_reader_never_sees_half_a_word)
{
    struct fixture f;
    struct race r = {0};
    pthread_t t;
    uint8_t buf[16];

    setup(&f);
    r.m = mc_check_rw(f.cat, "torn", 2 * VS);
    CHECK(pthread_create(&t, NULL, store_patterns, &r) == 0);
    /* The two words lie in two views; a batch changes both at once, so a
     * reader of both sees one value in all 16 bytes. */
    while (!atomic_load(&r.stop)) {
        CHECK_RC(mc_mapping_read(r.m, VS - 8, buf, 16), MC_OK);
        for (int i = 1; i < 16; i++) {
            if (buf[i] != buf[0])
                TEST_FAIL("byte %d is %u, byte 0 is %u", i, buf[i], buf[0]);
        }
    }
    pthread_join(t, NULL);
    mc_mapping_unref(r.m);
    teardown(&f);
}

TEST_MAIN()
