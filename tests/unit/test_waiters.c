/* test_waiters.c - the waiter registry (server/waiters.h), with a resume
 * callback that records instead of a libmicrohttpd connection: a wake
 * resumes exactly the armed waiters of its key; a wake before arming is
 * kept and resumes at arming; deadlines end waits with TIMEOUT; the bound
 * refuses past max and frees slots as waiters go; shutdown wakes everyone
 * and refuses newcomers; and writers waking while waiters come and go from
 * other threads resume each waiter exactly once (run under TSan too).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sched.h>
#include <time.h>

#include "check.h"
#include "waiters.h"

struct rec {
    atomic_uint resumed; /* total resumes */
};

struct item {
    struct srv_waiter w; /* first: the callback casts back */
    atomic_uint resumes;
};

static void on_resume(void *cls, struct srv_waiter *w)
{
    struct rec *r = cls;

    atomic_fetch_add(&r->resumed, 1);
    atomic_fetch_add(&((struct item *)(void *)w)->resumes, 1);
}

static const uint64_t FAR = UINT64_MAX / 2;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

TEST(wake_resumes_the_armed_waiters_of_its_key)
{
    struct rec r = {0};
    struct srv_waiters *ws;
    struct item a = {0}, b = {0}, c = {0};
    int k1, k2;

    CHECK(srv_waiters_create(10, on_resume, &r, &ws) == 0);
    CHECK(srv_waiters_add(ws, &a.w, &k1, FAR) == SRV_WAIT_ADDED);
    CHECK(srv_waiters_add(ws, &b.w, &k1, FAR) == SRV_WAIT_ADDED);
    CHECK(srv_waiters_add(ws, &c.w, &k2, FAR) == SRV_WAIT_ADDED);
    srv_waiters_arm(ws, &a.w);
    srv_waiters_arm(ws, &c.w);
    CHECK_EQ_U64(srv_waiters_count(ws), 3);
    srv_waiters_wake(ws, &k1);
    /* a resumed; b woken but not armed yet: resumed when armed. */
    CHECK_EQ_U64(atomic_load(&a.resumes), 1);
    CHECK_EQ_U64(atomic_load(&b.resumes), 0);
    CHECK(srv_waiter_why(&a.w) == SRV_WAKE_CHANGED);
    CHECK(srv_waiter_why(&b.w) == SRV_WAKE_CHANGED);
    CHECK(srv_waiter_why(&c.w) == SRV_WAKE_NONE);
    srv_waiters_arm(ws, &b.w);
    CHECK_EQ_U64(atomic_load(&b.resumes), 1);
    CHECK_EQ_U64(srv_waiters_count(ws), 1);
    /* Waking a key again, or one with nobody, does nothing. */
    srv_waiters_wake(ws, &k1);
    srv_waiters_wake_one(ws, &a.w, SRV_WAKE_CHANGED);
    CHECK_EQ_U64(atomic_load(&r.resumed), 2);
    /* Removing unlists without a resume. */
    srv_waiters_remove(ws, &c.w);
    CHECK_EQ_U64(srv_waiters_count(ws), 0);
    CHECK_EQ_U64(atomic_load(&c.resumes), 0);
    srv_waiters_destroy(ws);
}

TEST(deadlines_end_waits_with_timeout)
{
    struct rec r = {0};
    struct srv_waiters *ws;
    struct item a = {0}, b = {0};
    int k;
    uint64_t now = srv_waiters_now_ms();

    CHECK(srv_waiters_create(10, on_resume, &r, &ws) == 0);
    CHECK(srv_waiters_add(ws, &a.w, &k, now + 50) == SRV_WAIT_ADDED);
    srv_waiters_arm(ws, &a.w);
    CHECK(srv_waiters_add(ws, &b.w, &k, FAR) == SRV_WAIT_ADDED);
    srv_waiters_arm(ws, &b.w);
    /* Bounded: at most 10 s for a 50 ms deadline. */
    for (int i = 0; i < 1000 && atomic_load(&a.resumes) == 0; i++)
        sleep_ms(10);
    CHECK_EQ_U64(atomic_load(&a.resumes), 1);
    CHECK(srv_waiter_why(&a.w) == SRV_WAKE_TIMEOUT);
    CHECK(srv_waiter_why(&b.w) == SRV_WAKE_NONE);
    CHECK_EQ_U64(srv_waiters_count(ws), 1);
    srv_waiters_destroy(ws); /* wakes b with SHUTDOWN */
    CHECK_EQ_U64(atomic_load(&b.resumes), 1);
    CHECK(srv_waiter_why(&b.w) == SRV_WAKE_SHUTDOWN);
}

TEST(the_bound_and_shutdown)
{
    struct rec r = {0};
    struct srv_waiters *ws;
    struct item it[3] = {0};
    int k;

    CHECK(srv_waiters_create(2, on_resume, &r, &ws) == 0);
    CHECK(srv_waiters_add(ws, &it[0].w, &k, FAR) == SRV_WAIT_ADDED);
    CHECK(srv_waiters_add(ws, &it[1].w, &k, FAR) == SRV_WAIT_ADDED);
    CHECK(srv_waiters_add(ws, &it[2].w, &k, FAR) == SRV_WAIT_FULL);
    srv_waiters_arm(ws, &it[0].w);
    srv_waiters_wake_one(ws, &it[0].w, SRV_WAKE_CHANGED);
    CHECK(srv_waiters_add(ws, &it[2].w, &k, FAR) == SRV_WAIT_ADDED);
    srv_waiters_arm(ws, &it[2].w);
    srv_waiters_shutdown(ws);
    CHECK_EQ_U64(srv_waiters_count(ws), 0);
    CHECK(srv_waiter_why(&it[1].w) == SRV_WAKE_SHUTDOWN);
    CHECK_EQ_U64(atomic_load(&it[1].resumes), 0); /* not armed yet */
    srv_waiters_arm(ws, &it[1].w);
    CHECK_EQ_U64(atomic_load(&it[1].resumes), 1);
    CHECK_EQ_U64(atomic_load(&it[2].resumes), 1);
    CHECK(srv_waiters_add(ws, &it[0].w, &k, FAR) == SRV_WAIT_CLOSED);
    srv_waiters_destroy(ws);
}

#define THREADS 4
#define ROUNDS 2000

struct race {
    struct srv_waiters *ws;
    int keys[4];
    atomic_bool stop;
};

/* A waiter's life, as daemon.c lives it: add, arm, wait to be resumed
 * (by a writer or its short deadline), start again. */
static void *waiter_main(void *arg)
{
    struct race *rc = arg;
    struct item it;

    for (int i = 0; i < ROUNDS; i++) {
        atomic_init(&it.resumes, 0);
        if (srv_waiters_add(rc->ws, &it.w, &rc->keys[i % 4],
                            srv_waiters_now_ms() + 20) != SRV_WAIT_ADDED)
            continue;
        srv_waiters_arm(rc->ws, &it.w);
        while (atomic_load(&it.resumes) == 0)
            sched_yield();
        CHECK(srv_waiter_why(&it.w) != SRV_WAKE_NONE);
        /* Unlisted by its one resume: no wake reaches it again. */
        sched_yield();
        CHECK_EQ_U64(atomic_load(&it.resumes), 1);
    }
    return NULL;
}

static void *writer_main(void *arg)
{
    struct race *rc = arg;

    for (unsigned i = 0; !atomic_load(&rc->stop); i++)
        srv_waiters_wake(rc->ws, &rc->keys[i % 4]);
    return NULL;
}

TEST(writers_and_waiters_race_each_resumed_once)
{
    struct rec r = {0};
    struct race rc = {0};
    pthread_t w[THREADS], wr;

    CHECK(srv_waiters_create(THREADS, on_resume, &r, &rc.ws) == 0);
    CHECK(pthread_create(&wr, NULL, writer_main, &rc) == 0);
    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_create(&w[i], NULL, waiter_main, &rc) == 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(w[i], NULL);
    atomic_store(&rc.stop, true);
    pthread_join(wr, NULL);
    CHECK_EQ_U64(srv_waiters_count(rc.ws), 0);
    CHECK(atomic_load(&r.resumed) <= (unsigned)(THREADS * ROUNDS));
    srv_waiters_destroy(rc.ws);
}

TEST_MAIN()
