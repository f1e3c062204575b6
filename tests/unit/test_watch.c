/* test_watch.c - the watch callback of mapcore (mc_watch.h), and the
 * history of changes kept for event streams (mc_events.h): a watched
 * mapping reports each write (bytes and atomic words, with the range
 * written), resize (with the new size) and removal, with the generation
 * the change produced; an unwatched one reports nothing; and
 * mc_mapping_changed sees what the callback reports, so a watcher that
 * counts itself late still learns of the change. The history starts at
 * the first subscriber, reads back only consecutive ids (an append that
 * lost a race fills its hole later), keeps the last MC_EVENTS_KEEP and
 * reports a gap for anything older, in the future, or from before it
 * began; a delete is the last generation plus one.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "internal.h" /* mc__events_append: an append that lost a race */
#include "mapcore/mc_catalog.h"
#include "mapcore/mc_events.h"
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

static struct mc_catalog *open_catalog(char *dir, size_t len)
{
    struct mc_catalog_options opt = {0};
    struct mc_catalog *cat;

    snprintf(dir, len, "/tmp/mc-watch-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    opt.data_dir = dir;
    opt.view_size = 4096;
    opt.cache_bytes = 16 * 4096;
    opt.max_map_size = 1u << 20;
    CHECK_RC(mc_catalog_open(&opt, &cat), MC_OK);
    return cat;
}

TEST(watched_changes_reach_the_callback)
{
    struct mc_catalog *cat;
    struct mc_mapping *m;
    struct seen seen = {0};
    char dir[64];
    uint64_t gen;

    cat = open_catalog(dir, sizeof dir);
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

TEST(history_of_changes)
{
    struct mc_event ev[8];
    struct mc_catalog *cat;
    struct mc_mapping *m;
    char dir[64];
    uint64_t now, newest;
    bool gap;

    cat = open_catalog(dir, sizeof dir);
    m = mc_check_rw(cat, "m", 8192);
    /* No history before the first subscriber. */
    CHECK_EQ_U64(mc_events_read(m, 1, ev, 8, &gap, &newest), 0);
    CHECK(gap);
    CHECK_RC(mc_mapping_write(m, 0, "a", 1), MC_OK); /* generation 2 */
    CHECK_RC(mc_events_start(m, &now), MC_OK);
    CHECK_EQ_U64(now, 2);
    CHECK_RC(mc_events_start(m, &now), MC_OK); /* again: no change */
    CHECK_EQ_U64(mc_mapping_watchers(m), 1);   /* the history's own */
    CHECK_EQ_U64(mc_events_read(m, 2, ev, 8, &gap, &newest), 0);
    CHECK(!gap && newest == 2);
    CHECK_EQ_U64(mc_events_read(m, 1, ev, 8, &gap, &newest), 0);
    CHECK(gap); /* generation 2 came before the history */
    CHECK_EQ_U64(mc_events_read(m, 9, ev, 8, &gap, &newest), 0);
    CHECK(gap); /* the future */

    CHECK_RC(mc_mapping_write(m, 5, "bc", 2), MC_OK);
    CHECK_RC(mc_mapping_resize(m, 4096), MC_OK);
    CHECK_EQ_U64(mc_events_read(m, 2, ev, 8, &gap, &newest), 2);
    CHECK(!gap && newest == 4);
    CHECK(ev[0].id == 3 && ev[0].change.kind == MC_CHANGE_WRITE &&
          ev[0].change.offset == 5 && ev[0].change.length == 2);
    CHECK(ev[1].id == 4 && ev[1].change.kind == MC_CHANGE_RESIZE &&
          ev[1].change.length == 4096);
    CHECK_EQ_U64(mc_events_read(m, 3, ev, 1, &gap, &newest), 1);
    CHECK_EQ_U64(ev[0].id, 4);

    /* Generation 6 appended before 5 (its writer won the race): only 5's
     * arrival makes 6 readable. */
    mc__events_append(m, &(struct mc_change){MC_CHANGE_WRITE, 0, 1, 6});
    CHECK_EQ_U64(mc_events_read(m, 4, ev, 8, &gap, &newest), 0);
    CHECK(!gap);
    mc__events_append(m, &(struct mc_change){MC_CHANGE_WRITE, 0, 1, 5});
    CHECK_EQ_U64(mc_events_read(m, 4, ev, 8, &gap, &newest), 2);
    CHECK(ev[0].id == 5 && ev[1].id == 6);

    /* The ring keeps the last MC_EVENTS_KEEP: the oldest are gone. */
    for (uint64_t g = 7; g < 7 + MC_EVENTS_KEEP; g++)
        mc__events_append(m, &(struct mc_change){MC_CHANGE_WRITE, 0, 1, g});
    CHECK_EQ_U64(mc_events_read(m, 4, ev, 8, &gap, &newest), 0);
    CHECK(gap && newest == 6 + MC_EVENTS_KEEP);
    CHECK_EQ_U64(mc_events_read(m, 6, ev, 8, &gap, &newest), 8);
    CHECK(!gap && ev[0].id == 7);

    /* A delete: the last generation plus one. */
    mc__events_append(m, &(struct mc_change){MC_CHANGE_DELETE, 0, 0,
                                             6 + MC_EVENTS_KEEP});
    CHECK_EQ_U64(mc_events_read(m, 6 + MC_EVENTS_KEEP, ev, 8, &gap, &newest),
                 1);
    CHECK(ev[0].change.kind == MC_CHANGE_DELETE &&
          ev[0].id == 7 + MC_EVENTS_KEEP && newest == ev[0].id);
    mc_mapping_unref(m);
    mc_catalog_close(cat);
    CHECK_RMTREE(dir);
}

TEST_MAIN()
