/* test_watch.c - the watch callback of mapcore (mc_watch.h): a watched
 * mapping reports each write (bytes and atomic words, with the range
 * written), resize (with the new size) and removal, with the generation
 * the change produced; an unwatched one reports nothing; and
 * mc_mapping_changed sees what the callback reports, so a watcher that
 * counts itself late still learns of the change.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "mapcore/mc_catalog.h"
#include "mapcore/mc_watch.h"
#include "mapcore/mc_words.h"
#include "mc_check.h"

struct seen {
    unsigned calls;
    struct mc_mapping *m;
    struct mc_change last;
};

static void on_change(void *cls, struct mc_mapping *m,
                      const struct mc_change *c)
{
    struct seen *s = cls;

    s->calls++;
    s->m = m;
    s->last = *c;
}

TEST(watched_changes_reach_the_callback)
{
    struct mc_catalog_options opt = {0};
    struct mc_catalog *cat;
    struct mc_mapping *m;
    struct seen seen = {0};
    char dir[64];
    uint64_t gen;

    snprintf(dir, sizeof dir, "/tmp/mc-watch-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    opt.data_dir = dir;
    opt.view_size = 4096;
    opt.cache_bytes = 16 * 4096;
    opt.max_map_size = 1u << 20;
    CHECK_RC(mc_catalog_open(&opt, &cat), MC_OK);
    mc_catalog_set_watch(cat, on_change, &seen);
    m = mc_check_rw(cat, "m", 8192);

    /* Nobody watches: nothing is reported. */
    CHECK_RC(mc_mapping_write(m, 0, "ab", 2), MC_OK);
    CHECK_EQ_U64(seen.calls, 0);

    mc_mapping_watch(m, true);
    CHECK_EQ_U64(mc_mapping_watchers(m), 1);
    gen = mc_mapping_generation(m);
    CHECK(!mc_mapping_changed(m, gen));
    CHECK_RC(mc_mapping_write(m, 100, "abcd", 4), MC_OK);
    CHECK_EQ_U64(seen.calls, 1);
    CHECK(seen.m == m && seen.last.kind == MC_CHANGE_WRITE);
    CHECK_EQ_U64(seen.last.offset, 100);
    CHECK_EQ_U64(seen.last.length, 4);
    CHECK_EQ_U64(seen.last.generation, gen + 1);
    CHECK(mc_mapping_changed(m, gen));

    /* Several ranges: one change spanning them. */
    {
        struct mc_range r[2] = {{300, 2}, {10, 1}};
        const void *src[2] = {"xy", "z"};

        CHECK_RC(mc_mapping_writev(m, r, 2, src), MC_OK);
        CHECK_EQ_U64(seen.calls, 2);
        CHECK_EQ_U64(seen.last.offset, 10);
        CHECK_EQ_U64(seen.last.length, 292);
    }

    /* Atomic words: a load stores nothing and reports nothing. */
    {
        struct mc_word w[2] = {{.op = MC_WORD_ADD, .off = 64, .width = 8,
                                .value = 1},
                               {.op = MC_WORD_STORE, .off = 16, .width = 4,
                                .value = 7}};
        struct mc_word load = {.op = MC_WORD_LOAD, .off = 64, .width = 8};
        struct mc_words_result res;

        CHECK_RC(mc_mapping_words(m, &load, 1, NULL, NULL, &res), MC_OK);
        CHECK_EQ_U64(seen.calls, 2);
        CHECK_RC(mc_mapping_words(m, w, 2, NULL, NULL, &res), MC_OK);
        CHECK_EQ_U64(seen.calls, 3);
        CHECK(seen.last.kind == MC_CHANGE_WRITE);
        CHECK_EQ_U64(seen.last.offset, 16);
        CHECK_EQ_U64(seen.last.length, 56);
        CHECK_EQ_U64(seen.last.generation, res.generation);
    }

    CHECK_RC(mc_mapping_resize(m, 4096), MC_OK);
    CHECK_EQ_U64(seen.calls, 4);
    CHECK(seen.last.kind == MC_CHANGE_RESIZE);
    CHECK_EQ_U64(seen.last.length, 4096);
    CHECK_EQ_U64(seen.last.generation, mc_mapping_generation(m));

    gen = mc_mapping_generation(m);
    CHECK(!mc_mapping_removed(m));
    CHECK_RC(mc_catalog_remove(cat, "m", false), MC_OK);
    CHECK_EQ_U64(seen.calls, 5);
    CHECK(seen.last.kind == MC_CHANGE_DELETE);
    CHECK(mc_mapping_removed(m));
    CHECK(mc_mapping_changed(m, gen)); /* the ETag did not move; it is gone */

    mc_mapping_watch(m, false);
    CHECK_EQ_U64(mc_mapping_watchers(m), 0);
    mc_mapping_unref(m);
    mc_catalog_close(cat);
    CHECK_RMTREE(dir);
}

TEST_MAIN()
