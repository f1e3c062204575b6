/* test_memory.c - the budget of memory-backed mappings (mc_memory.h).
 *
 * Proves that the limit files of cgroup v1 and v2 are parsed strictly,
 * that the cgroup limit is found from the text of /proc/self/cgroup in a
 * fake cgroup tree (the smallest along the path up, v1 and v2 alike), that
 * the default is a quarter of the smaller of RAM and that limit, and that
 * the catalog's accounting is exact: creates and grows past the budget fail
 * with MC_EMEMLIMIT and change nothing, deletes and shrinks give bytes back
 * (a deleted mapping's only when its last reference goes), file mappings
 * are not counted, and threads racing for the last bytes never overshoot.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "mc_check.h"
#include "mapcore/mc_catalog.h"
#include "mapcore/mc_memory.h"

#define MIB (1ull << 20)

/* ---- parsing ----------------------------------------------------------- */

TEST(parse_limit_accepts_numbers_and_max)
{
    uint64_t v = 0;

    CHECK(mc_memory_parse_limit("805306368\n", &v));
    CHECK_EQ_U64(v, 805306368);
    CHECK(mc_memory_parse_limit("0", &v));
    CHECK_EQ_U64(v, 0);
    CHECK(mc_memory_parse_limit("max\n", &v));
    CHECK_EQ_U64(v, UINT64_MAX);
    CHECK(mc_memory_parse_limit("max", &v));
    CHECK_EQ_U64(v, UINT64_MAX);
    /* v1's "no limit" is a large page-aligned number, not "max". */
    CHECK(mc_memory_parse_limit("9223372036854771712\n", &v));
    CHECK_EQ_U64(v, 9223372036854771712ull);
    CHECK(mc_memory_parse_limit("18446744073709551615", &v));
    CHECK_EQ_U64(v, UINT64_MAX);
}

TEST(parse_limit_refuses_everything_else)
{
    static const char *const bad[] = {
        "", "\n", "-1", "+5", " 5", "5 ", "5\n\n", "5\nx", "0x10", "1e9",
        "MAX", "max ", "maximum", "12k", "18446744073709551616", /* 2^64 */
        "99999999999999999999999",
    };
    uint64_t v = 42;

    CHECK(!mc_memory_parse_limit(NULL, &v));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (mc_memory_parse_limit(bad[i], &v))
            TEST_FAIL("accepted \"%s\"", bad[i]);
    }
    CHECK_EQ_U64(v, 42); /* untouched on failure */
}

/* ---- a fake cgroup tree -------------------------------------------------- */

struct tree {
    char root[64];
};

static void tree_make(struct tree *t)
{
    snprintf(t->root, sizeof(t->root), "/tmp/mc-cg-XXXXXX");
    CHECK(mkdtemp(t->root) != NULL);
}

/* Write text into root/rel, creating the directories on the way. */
static void tree_put(struct tree *t, const char *rel, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", t->root, rel);
    for (char *p = path + strlen(t->root) + 1; *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            CHECK(mkdir(path, 0755) == 0 || errno == EEXIST);
            *p = '/';
        }
    }
    f = fopen(path, "w");
    CHECK(f != NULL);
    fputs(text, f);
    CHECK(fclose(f) == 0);
}

TEST(cgroup_v2_limit_is_the_smallest_on_the_way_up)
{
    struct tree t;

    tree_make(&t);
    tree_put(&t, "a/memory.max", "1073741824\n");
    tree_put(&t, "a/b/memory.max", "max\n");
    tree_put(&t, "a/b/c/memory.max", "2147483648\n");
    /* The group itself is unlimited, its grandparent is not. */
    CHECK_EQ_U64(mc_memory_cgroup_limit("0::/a/b/c\n", t.root), 1ull << 30);
    CHECK_EQ_U64(mc_memory_cgroup_limit("0::/a/b\n", t.root), 1ull << 30);
    /* A container sees its own group as the root. */
    tree_put(&t, "memory.max", "805306368\n");
    CHECK_EQ_U64(mc_memory_cgroup_limit("0::/\n", t.root), 805306368);
    CHECK_RMTREE(t.root);
}

TEST(cgroup_v1_memory_line_is_followed)
{
    struct tree t;
    const char *text = "12:pids:/x\n"
                       "4:memory:/process_api/abc\n"
                       "1:name=systemd:/\n"
                       "0::/\n";

    tree_make(&t);
    tree_put(&t, "memory/memory.limit_in_bytes", "9223372036854771712\n");
    tree_put(&t, "memory/process_api/abc/memory.limit_in_bytes",
             "805306368\n");
    /* A v2 memory.max in the unified root would count too; it is absent. */
    CHECK_EQ_U64(mc_memory_cgroup_limit(text, t.root), 805306368);
    /* Controllers mounted together still name memory. */
    CHECK_EQ_U64(mc_memory_cgroup_limit("7:cpu,memory:/process_api/abc\n",
                                        t.root),
                 805306368);
    /* "memoryx" is not memory. */
    CHECK_EQ_U64(mc_memory_cgroup_limit("7:memoryx:/process_api/abc\n",
                                        t.root),
                 UINT64_MAX);
    CHECK_RMTREE(t.root);
}

TEST(cgroup_without_a_readable_limit_is_no_limit)
{
    struct tree t;

    tree_make(&t);
    tree_put(&t, "a/memory.max", "garbage\n");
    tree_put(&t, "b/memory.max", "");
    CHECK_EQ_U64(mc_memory_cgroup_limit("0::/a\n", t.root), UINT64_MAX);
    CHECK_EQ_U64(mc_memory_cgroup_limit("0::/b\n", t.root), UINT64_MAX);
    CHECK_EQ_U64(mc_memory_cgroup_limit("0::/missing\n", t.root), UINT64_MAX);
    CHECK_EQ_U64(mc_memory_cgroup_limit("", t.root), UINT64_MAX);
    CHECK_EQ_U64(mc_memory_cgroup_limit(NULL, t.root), UINT64_MAX);
    /* Lines that are not "N:controllers:/path" are ignored. */
    CHECK_EQ_U64(mc_memory_cgroup_limit("garbage\n:\n0:\n", t.root),
                 UINT64_MAX);
    /* A path that is relative or climbs is never followed. */
    tree_put(&t, "x/memory.max", "4096\n");
    CHECK_EQ_U64(mc_memory_cgroup_limit("0::x\n", t.root), UINT64_MAX);
    CHECK_EQ_U64(mc_memory_cgroup_limit("0::/a/../x\n", t.root), UINT64_MAX);
    CHECK_RMTREE(t.root);
}

TEST(default_is_a_quarter_of_the_smaller)
{
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

    CHECK_EQ_U64(mc_memory_default_budget(16ull << 30, UINT64_MAX), 4ull << 30);
    CHECK_EQ_U64(mc_memory_default_budget(16ull << 30, 768 * MIB), 192 * MIB);
    CHECK_EQ_U64(mc_memory_default_budget(1ull << 30, 8ull << 30), 256 * MIB);
    /* Never zero: a zero budget would be read as "derive it" again. */
    CHECK_EQ_U64(mc_memory_default_budget(0, 0), page);
    CHECK(mc_memory_default() >= page);
}

/* ---- the catalog's accounting -------------------------------------------- */

struct fixture {
    char root[64];
    struct mc_catalog *cat;
};

static void setup(struct fixture *f, uint64_t budget)
{
    struct mc_catalog_options opt = {.data_dir = f->root,
                                     .view_size = 4096,
                                     .cache_bytes = 64 * 4096,
                                     .max_map_size = 1ull << 40,
                                     .max_memory = budget};

    snprintf(f->root, sizeof(f->root), "/tmp/mc-mem-XXXXXX");
    CHECK(mkdtemp(f->root) != NULL);
    CHECK_RC(mc_catalog_open(&opt, &f->cat), MC_OK);
}

static void teardown(struct fixture *f)
{
    mc_catalog_close(f->cat);
    CHECK_RMTREE(f->root);
}

static uint64_t used(struct fixture *f)
{
    struct mc_memory_stats st;

    mc_catalog_memory(f->cat, &st);
    return st.used_bytes;
}

static enum mc_err create(struct fixture *f, const char *name, uint64_t size,
                          bool memory, struct mc_mapping **out)
{
    struct mc_spec spec = {.given = MC_SPEC_SIZE | MC_SPEC_BACKING,
                           .size = size,
                           .backing = memory ? MC_BACKING_MEMORY
                                             : MC_BACKING_FILE};
    struct mc_mapping *m = NULL;
    enum mc_err rc = mc_catalog_create(f->cat, name, &spec, true, &m, NULL);

    if (out != NULL)
        *out = m;
    else
        mc_mapping_unref(m);
    return rc;
}

TEST(budget_refuses_creates_and_grows_and_gives_back)
{
    struct fixture f;
    struct mc_memory_stats st;
    struct mc_mapping *a = NULL;
    struct mc_mapping *held = NULL;

    setup(&f, 8 * MIB);
    mc_catalog_memory(f.cat, &st);
    CHECK_EQ_U64(st.budget_bytes, 8 * MIB);
    CHECK_EQ_U64(st.used_bytes, 0);

    CHECK_RC(create(&f, "a", 6 * MIB, true, &a), MC_OK);
    CHECK_EQ_U64(used(&f), 6 * MIB);
    CHECK_RC(create(&f, "b", 3 * MIB, true, NULL), MC_EMEMLIMIT);
    CHECK_RC(mc_catalog_get(f.cat, "b", &held), MC_ENOTFOUND);
    CHECK_EQ_U64(used(&f), 6 * MIB);
    /* Opening the existing mapping again charges nothing. */
    {
        struct mc_spec spec = {.given = 0};
        struct mc_mapping *again = NULL;

        CHECK_RC(mc_catalog_create(f.cat, "a", &spec, false, &again, NULL),
                 MC_OK);
        mc_mapping_unref(again);
    }
    CHECK_EQ_U64(used(&f), 6 * MIB);
    /* Errors of their own come first: zero and past max_map_size. */
    CHECK_RC(create(&f, "z", 0, true, NULL), MC_EZEROSIZE);
    CHECK_RC(create(&f, "t", 1ull << 41, true, NULL), MC_ETOOBIG);
    /* File mappings are not charged. */
    CHECK_RC(create(&f, "file", 16 * MIB, false, NULL), MC_OK);
    CHECK_EQ_U64(used(&f), 6 * MIB);

    /* Grow past the budget: refused, size unchanged. Within it: fine. */
    CHECK_RC(mc_mapping_resize(a, 9 * MIB), MC_EMEMLIMIT);
    CHECK_EQ_U64(mc_mapping_size(a), 6 * MIB);
    CHECK_EQ_U64(used(&f), 6 * MIB);
    CHECK_RC(mc_mapping_resize(a, 8 * MIB), MC_OK);
    CHECK_EQ_U64(used(&f), 8 * MIB);
    CHECK_RC(create(&f, "c", 4096, true, NULL), MC_EMEMLIMIT);
    /* Shrink gives back. */
    CHECK_RC(mc_mapping_resize(a, 2 * MIB), MC_OK);
    CHECK_EQ_U64(used(&f), 2 * MIB);
    CHECK_RC(create(&f, "b", 6 * MIB, true, NULL), MC_OK);
    CHECK_EQ_U64(used(&f), 8 * MIB);
    mc_catalog_memory(f.cat, &st);
    CHECK_EQ_U64(st.refused, 3);

    /* Delete: the bytes go back when the last reference goes, since only
     * then is the memory freed. */
    CHECK_RC(mc_catalog_remove(f.cat, "a", false), MC_OK);
    CHECK_EQ_U64(used(&f), 8 * MIB); /* `a` still held here */
    mc_mapping_unref(a);
    CHECK_EQ_U64(used(&f), 6 * MIB);
    CHECK_RC(mc_catalog_remove(f.cat, "b", false), MC_OK);
    CHECK_EQ_U64(used(&f), 0);
    CHECK_RC(create(&f, "whole", 8 * MIB, true, NULL), MC_OK);
    CHECK_EQ_U64(used(&f), 8 * MIB);
    teardown(&f);
}

/* Threads racing to create memory mappings of one MiB each against a
 * budget of 10 MiB: exactly 10 succeed, whatever the interleaving. */
#define RACERS 8
#define TRIES 6

struct racer {
    struct fixture *f;
    int id;
    int made;
};

static void *race(void *arg)
{
    struct racer *r = arg;

    for (int i = 0; i < TRIES; i++) {
        char name[32];
        enum mc_err rc;

        snprintf(name, sizeof(name), "r%d-%d", r->id, i);
        rc = create(r->f, name, MIB, true, NULL);
        if (rc == MC_OK)
            r->made++;
        else if (rc != MC_EMEMLIMIT)
            return (void *)1;
    }
    return NULL;
}

TEST(budget_is_exact_under_concurrency)
{
    struct fixture f;
    struct racer r[RACERS];
    pthread_t t[RACERS];
    int made = 0;

    setup(&f, 10 * MIB);
    for (int i = 0; i < RACERS; i++) {
        r[i] = (struct racer){&f, i, 0};
        CHECK(pthread_create(&t[i], NULL, race, &r[i]) == 0);
    }
    for (int i = 0; i < RACERS; i++) {
        void *ret = NULL;

        CHECK(pthread_join(t[i], &ret) == 0);
        CHECK(ret == NULL);
        made += r[i].made;
    }
    CHECK_EQ_U64(made, 10);
    CHECK_EQ_U64(used(&f), 10 * MIB);
    CHECK_EQ_U64(mc_catalog_count(f.cat), 10);
    teardown(&f);
}

TEST_MAIN()
