/* test_lease.c - write leases of a mapping (mc_lease.h), on a clock the
 * test moves: each action in each state, expiry, renew of an expired
 * lease, break periods (default, given, capped, immediate), the epoch as a
 * fencing token, the check every write makes, and threads acquiring at
 * once (one wins; run under TSan too).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "mapcore/mc_catalog.h"
#include "mapcore/mc_lease.h"
#include "mc_check.h"

struct fixture {
    char dir[64];
    struct mc_catalog *cat;
    struct mc_mapping *m;
};

static void setup(struct fixture *f)
{
    struct mc_catalog_options opt = {0};

    snprintf(f->dir, sizeof f->dir, "/tmp/mc-lease-XXXXXX");
    CHECK(mkdtemp(f->dir) != NULL);
    opt.data_dir = f->dir;
    opt.view_size = 4096;
    opt.cache_bytes = 16 * 4096;
    opt.max_map_size = 1u << 20;
    CHECK_RC(mc_catalog_open(&opt, &f->cat), MC_OK);
    f->m = mc_check_rw(f->cat, "m", 4096);
}

static void teardown(struct fixture *f)
{
    mc_mapping_unref(f->m);
    mc_catalog_close(f->cat);
    CHECK_RMTREE(f->dir);
}

static enum mc_lease_state state(struct mc_mapping *m, int64_t now)
{
    struct mc_lease l;

    mc_lease_get(m, now, &l);
    return l.state;
}

TEST(acquire_expire_renew_and_the_epoch)
{
    struct fixture f;
    struct mc_lease l;

    setup(&f);
    mc_lease_get(f.m, 0, &l);
    CHECK(l.state == MC_LEASE_AVAILABLE && l.epoch == 0 && l.id[0] == '\0');
    CHECK_RC(mc_lease_check(f.m, 0, NULL), MC_OK);
    CHECK_RC(mc_lease_check(f.m, 0, "a"), MC_ELEASENONE);

    CHECK_RC(mc_lease_acquire(f.m, 1000, "a", 14, &l), MC_EINVAL);
    CHECK_RC(mc_lease_acquire(f.m, 1000, "a", 61, &l), MC_EINVAL);
    CHECK_RC(mc_lease_acquire(f.m, 1000, "", 15, &l), MC_EINVAL);
    CHECK_RC(mc_lease_acquire(f.m, 1000, "a", 15, &l), MC_OK);
    CHECK(l.state == MC_LEASE_LEASED && l.epoch == 1);
    CHECK_EQ_U64(l.remaining_ms, 15000);
    CHECK_EQ_STR(l.id, "a");
    CHECK_RC(mc_lease_acquire(f.m, 2000, "b", 15, &l), MC_ELEASEHELD);
    CHECK_EQ_STR(l.id, "a");

    /* The check of a write. */
    CHECK_RC(mc_lease_check(f.m, 2000, NULL), MC_ELEASEMISSING);
    CHECK_RC(mc_lease_check(f.m, 2000, "b"), MC_ELEASEMISMATCH);
    CHECK_RC(mc_lease_check(f.m, 2000, "a"), MC_OK);

    /* Expired at its end: no lease, writes without an id pass. */
    CHECK(state(f.m, 15999) == MC_LEASE_LEASED);
    CHECK(state(f.m, 16000) == MC_LEASE_EXPIRED);
    CHECK_RC(mc_lease_check(f.m, 16000, NULL), MC_OK);
    CHECK_RC(mc_lease_check(f.m, 16000, "a"), MC_ELEASENONE);
    /* Its holder may renew it while nobody else acquired. */
    CHECK_RC(mc_lease_renew(f.m, 17000, "b", &l), MC_ELEASEMISMATCH);
    CHECK_RC(mc_lease_renew(f.m, 17000, "a", &l), MC_OK);
    CHECK(l.state == MC_LEASE_LEASED && l.epoch == 1);
    CHECK_EQ_U64(l.remaining_ms, 15000);
    /* Once it expires and another acquires, the epoch moves on. */
    CHECK_RC(mc_lease_acquire(f.m, 40000, "b", MC_LEASE_INFINITE, &l), MC_OK);
    CHECK(l.epoch == 2 && l.remaining_ms == -1);
    CHECK_RC(mc_lease_renew(f.m, 40001, "a", &l), MC_ELEASEMISMATCH);
    CHECK(state(f.m, INT64_MAX - 1) == MC_LEASE_LEASED);
    teardown(&f);
}

TEST(change_and_release)
{
    struct fixture f;
    struct mc_lease l;

    setup(&f);
    CHECK_RC(mc_lease_change(f.m, 0, "a", "b", &l), MC_ELEASENONE);
    CHECK_RC(mc_lease_release(f.m, 0, "a"), MC_ELEASENONE);
    CHECK_RC(mc_lease_acquire(f.m, 0, "a", 30, &l), MC_OK);
    CHECK_RC(mc_lease_change(f.m, 1000, "x", "b", &l), MC_ELEASEMISMATCH);
    CHECK_RC(mc_lease_change(f.m, 1000, "a", "", &l), MC_EINVAL);
    CHECK_RC(mc_lease_change(f.m, 1000, "a", "b", &l), MC_OK);
    CHECK_EQ_STR(l.id, "b");
    CHECK(l.epoch == 1 && l.remaining_ms == 29000);
    CHECK_RC(mc_lease_check(f.m, 1000, "a"), MC_ELEASEMISMATCH);
    CHECK_RC(mc_lease_check(f.m, 1000, "b"), MC_OK);
    /* An expired lease cannot change; it can be released. */
    CHECK_RC(mc_lease_change(f.m, 31000, "b", "c", &l), MC_ELEASENONE);
    CHECK_RC(mc_lease_release(f.m, 31000, "a"), MC_ELEASEMISMATCH);
    CHECK_RC(mc_lease_release(f.m, 31000, "b"), MC_OK);
    CHECK(state(f.m, 31000) == MC_LEASE_AVAILABLE);
    CHECK_RC(mc_lease_release(f.m, 31000, "b"), MC_ELEASENONE);
    CHECK_RC(mc_lease_acquire(f.m, 31000, "c", 15, &l), MC_OK);
    CHECK_RC(mc_lease_release(f.m, 32000, "c"), MC_OK);
    CHECK_RC(mc_lease_check(f.m, 32000, NULL), MC_OK);
    teardown(&f);
}

TEST(break_periods)
{
    struct fixture f;
    struct mc_lease l;

    setup(&f);
    CHECK_RC(mc_lease_break(f.m, 0, -1, &l), MC_ELEASENONE);
    CHECK_RC(mc_lease_acquire(f.m, 0, "a", 60, &l), MC_OK);
    CHECK_RC(mc_lease_break(f.m, 0, 61, &l), MC_EINVAL);
    /* Default: a finite lease runs its course. */
    CHECK_RC(mc_lease_break(f.m, 10000, -1, &l), MC_OK);
    CHECK(l.state == MC_LEASE_BREAKING && l.remaining_ms == 50000);
    /* A shorter break wins; a longer one never extends it. */
    CHECK_RC(mc_lease_break(f.m, 11000, 5, &l), MC_OK);
    CHECK_EQ_U64(l.remaining_ms, 5000);
    CHECK_RC(mc_lease_break(f.m, 12000, 30, &l), MC_OK);
    CHECK_EQ_U64(l.remaining_ms, 4000);
    /* While it breaks: the holder still writes, nobody acquires, the
     * holder may not renew or change, only release. */
    CHECK_RC(mc_lease_check(f.m, 13000, "a"), MC_OK);
    CHECK_RC(mc_lease_check(f.m, 13000, NULL), MC_ELEASEMISSING);
    CHECK_RC(mc_lease_acquire(f.m, 13000, "b", 15, &l), MC_ELEASEHELD);
    CHECK_RC(mc_lease_renew(f.m, 13000, "a", &l), MC_ELEASEBREAKING);
    CHECK_RC(mc_lease_change(f.m, 13000, "a", "b", &l), MC_ELEASEBREAKING);
    /* Broken at the end: no lease. */
    CHECK(state(f.m, 16000) == MC_LEASE_BROKEN);
    CHECK_RC(mc_lease_check(f.m, 16000, NULL), MC_OK);
    CHECK_RC(mc_lease_renew(f.m, 16000, "a", &l), MC_ELEASENONE);
    CHECK_RC(mc_lease_break(f.m, 16000, 0, &l), MC_ELEASENONE);
    CHECK_RC(mc_lease_acquire(f.m, 16000, "b", MC_LEASE_INFINITE, &l), MC_OK);
    CHECK_EQ_U64(l.epoch, 2);
    /* An infinite lease breaks at once by default. */
    CHECK_RC(mc_lease_break(f.m, 17000, -1, &l), MC_OK);
    CHECK(l.state == MC_LEASE_BROKEN && l.remaining_ms == 0);
    CHECK_RC(mc_lease_acquire(f.m, 17000, "c", MC_LEASE_INFINITE, &l), MC_OK);
    CHECK_RC(mc_lease_break(f.m, 18000, 2, &l), MC_OK);
    CHECK(l.state == MC_LEASE_BREAKING && l.remaining_ms == 2000);
    CHECK_RC(mc_lease_release(f.m, 18500, "c"), MC_OK);
    CHECK(state(f.m, 18500) == MC_LEASE_AVAILABLE);
    teardown(&f);
}

#define RACERS 8

struct racer {
    struct mc_mapping *m;
    char id[8];
    atomic_int *won;
    pthread_barrier_t *go;
};

static void *race_acquire(void *arg)
{
    struct racer *r = arg;

    pthread_barrier_wait(r->go);
    if (mc_lease_acquire(r->m, 0, r->id, 15, NULL) == MC_OK)
        atomic_fetch_add(r->won, 1);
    return NULL;
}

TEST(one_of_many_acquires_at_once)
{
    struct fixture f;
    pthread_t t[RACERS];
    struct racer r[RACERS];
    pthread_barrier_t go;
    atomic_int won = 0;
    struct mc_lease l;

    setup(&f);
    CHECK(pthread_barrier_init(&go, NULL, RACERS) == 0);
    for (int i = 0; i < RACERS; i++) {
        r[i] = (struct racer){f.m, "", &won, &go};
        snprintf(r[i].id, sizeof r[i].id, "r%d", i);
        CHECK(pthread_create(&t[i], NULL, race_acquire, &r[i]) == 0);
    }
    for (int i = 0; i < RACERS; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&go);
    CHECK(atomic_load(&won) == 1);
    mc_lease_get(f.m, 0, &l);
    CHECK_EQ_U64(l.epoch, 1);
    teardown(&f);
}

TEST(state_names)
{
    CHECK_EQ_STR(mc_lease_state_name(MC_LEASE_AVAILABLE), "available");
    CHECK_EQ_STR(mc_lease_state_name(MC_LEASE_LEASED), "leased");
    CHECK_EQ_STR(mc_lease_state_name(MC_LEASE_EXPIRED), "expired");
    CHECK_EQ_STR(mc_lease_state_name(MC_LEASE_BREAKING), "breaking");
    CHECK_EQ_STR(mc_lease_state_name(MC_LEASE_BROKEN), "broken");
}

TEST_MAIN()
