/* test_rangelock.c - the byte-range lock of a mapping (mapcore/src/
 * rangelock.c): disjoint exclusive holds run in parallel, overlapping ones
 * wait, shared holds share, a writer queued behind readers is not starved
 * by later readers, and a multi-range request is granted all at once.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "check.h"
#include "internal.h"

struct req {
    struct mc__rangelock *rl;
    struct mc_range r[2];
    size_t n;
    bool exclusive;
    atomic_bool granted;
    uint64_t ticket;
};

static void *locker(void *arg)
{
    struct req *q = arg;

    CHECK(mc__rangelock_lock(q->rl, q->r, q->n, q->exclusive, &q->ticket) ==
          MC_OK);
    atomic_store(&q->granted, true);
    return NULL;
}

/* Start q on its own thread and wait until its ranges are in the table
 * (granted or queued), so the order of tickets is the order of spawns;
 * then give a grant that should not come 50 ms to show up wrongly. */
static void spawn(pthread_t *t, struct req *q)
{
    size_t before;
    size_t now = 0;

    pthread_mutex_lock(&q->rl->mu);
    before = q->rl->n;
    pthread_mutex_unlock(&q->rl->mu);
    CHECK(pthread_create(t, NULL, locker, q) == 0);
    for (int i = 0; i < 1000; i++) {
        pthread_mutex_lock(&q->rl->mu);
        now = q->rl->n;
        pthread_mutex_unlock(&q->rl->mu);
        if (now >= before + q->n)
            break;
        usleep(10000);
    }
    CHECK(now >= before + q->n);
    usleep(50000);
}

/* True once q is granted, waiting up to 10 s: a slow (sanitised) run must
 * not turn an expected grant into a failure. */
static bool granted_soon(struct req *q)
{
    for (int i = 0; i < 1000 && !atomic_load(&q->granted); i++)
        usleep(10000);
    return atomic_load(&q->granted);
}

TEST(disjoint_parallel_overlapping_wait)
{
    struct mc__rangelock rl;
    uint64_t a;
    pthread_t tb, tc;
    struct req b = {.rl = &rl, .r = {{10, 10}}, .n = 1, .exclusive = true};
    struct req c = {.rl = &rl, .r = {{5, 10}}, .n = 1, .exclusive = true};
    struct mc_range ra = {0, 10};

    mc__rangelock_init(&rl);
    CHECK(mc__rangelock_lock(&rl, &ra, 1, true, &a) == MC_OK);
    spawn(&tb, &b); /* [10,20) does not touch [0,10): granted now */
    CHECK(granted_soon(&b));
    spawn(&tc, &c); /* [5,15) overlaps both: waits */
    CHECK(!atomic_load(&c.granted));
    mc__rangelock_unlock(&rl, a);
    usleep(50000);
    CHECK(!atomic_load(&c.granted)); /* still overlaps b */
    CHECK(pthread_join(tb, NULL) == 0);
    mc__rangelock_unlock(&rl, b.ticket);
    CHECK(pthread_join(tc, NULL) == 0);
    CHECK(atomic_load(&c.granted));
    mc__rangelock_unlock(&rl, c.ticket);
    mc__rangelock_destroy(&rl);
}

TEST(readers_share_writer_not_starved)
{
    struct mc__rangelock rl;
    uint64_t r1;
    pthread_t tw, tr2;
    struct mc_range whole = {0, 100};
    struct req w = {.rl = &rl, .r = {{50, 1}}, .n = 1, .exclusive = true};
    struct req r2 = {.rl = &rl, .r = {{0, 100}}, .n = 1, .exclusive = false};
    struct req r0 = {.rl = &rl, .r = {{0, 100}}, .n = 1, .exclusive = false};
    pthread_t tr0;

    mc__rangelock_init(&rl);
    CHECK(mc__rangelock_lock(&rl, &whole, 1, false, &r1) == MC_OK);
    spawn(&tr0, &r0); /* a second reader shares at once */
    CHECK(granted_soon(&r0));
    spawn(&tw, &w); /* a writer inside waits for both */
    CHECK(!atomic_load(&w.granted));
    spawn(&tr2, &r2); /* a later reader queues behind the writer */
    CHECK(!atomic_load(&r2.granted));
    mc__rangelock_unlock(&rl, r1);
    CHECK(pthread_join(tr0, NULL) == 0);
    mc__rangelock_unlock(&rl, r0.ticket);
    CHECK(pthread_join(tw, NULL) == 0);
    usleep(50000);
    CHECK(!atomic_load(&r2.granted));
    mc__rangelock_unlock(&rl, w.ticket);
    CHECK(pthread_join(tr2, NULL) == 0);
    mc__rangelock_unlock(&rl, r2.ticket);
    mc__rangelock_destroy(&rl);
}

TEST(multi_range_all_at_once)
{
    struct mc__rangelock rl;
    uint64_t a;
    pthread_t tm;
    struct mc_range ra = {100, 1};
    /* Two ranges, the second blocked: neither may be granted alone, so a
     * writer of [0,1) must still wait for the whole request. */
    struct req m = {.rl = &rl, .r = {{0, 1}, {100, 1}}, .n = 2,
                    .exclusive = true};

    mc__rangelock_init(&rl);
    CHECK(mc__rangelock_lock(&rl, &ra, 1, false, &a) == MC_OK);
    spawn(&tm, &m);
    CHECK(!atomic_load(&m.granted));
    mc__rangelock_unlock(&rl, a);
    CHECK(pthread_join(tm, NULL) == 0);
    CHECK(atomic_load(&m.granted));
    mc__rangelock_unlock(&rl, m.ticket);

    /* Empty ranges conflict with nothing. */
    struct mc_range empty = {5, 0};
    CHECK(mc__rangelock_lock(&rl, &ra, 1, true, &a) == MC_OK);
    uint64_t e;
    CHECK(mc__rangelock_lock(&rl, &empty, 1, true, &e) == MC_OK);
    mc__rangelock_unlock(&rl, e);
    mc__rangelock_unlock(&rl, a);
    mc__rangelock_destroy(&rl);
}

TEST_MAIN()
