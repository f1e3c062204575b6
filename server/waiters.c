/* waiters.c - see waiters.h: parked requests, by mapping, with deadlines.
 *
 * Waiters hang in a hash table by key (the mapping), so a write wakes its
 * own mapping's waiters without looking at anyone else's, and in one list
 * of all, which the timer thread scans for deadlines and shutdown empties.
 * A scan is linear in the waiters, and it runs only when the earliest
 * deadline comes (or an earlier one is added): cheap next to the requests
 * each waiter makes.
 */
#include "waiters.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#define BUCKETS 1024u /* a power of two */

struct srv_waiters {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* the timer's: an earlier deadline, or stop */
    struct srv_waiter *buckets[BUCKETS];
    struct srv_waiter *all; /* every listed waiter, by tnext */
    unsigned count;
    unsigned max;
    uint64_t next_ms; /* the timer sleeps until then; UINT64_MAX: none */
    bool closed;      /* shut down: no new waiters */
    bool stop;        /* the timer thread ends */
    srv_resume_fn *resume;
    void *cls;
    pthread_t timer;
};

uint64_t srv_waiters_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static unsigned bucket_of(const void *key)
{
    uint64_t h = (uint64_t)(uintptr_t)key * 0x9e3779b97f4a7c15ull;

    return (unsigned)(h >> 40) & (BUCKETS - 1);
}

/* Unlist w and record why; resume it if it is armed. Lock held. */
static void wake_locked(struct srv_waiters *ws, struct srv_waiter *w,
                        enum srv_wake why)
{
    unsigned b = bucket_of(w->key);

    if (w->prev)
        w->prev->next = w->next;
    else
        ws->buckets[b] = w->next;
    if (w->next)
        w->next->prev = w->prev;
    if (w->tprev)
        w->tprev->tnext = w->tnext;
    else
        ws->all = w->tnext;
    if (w->tnext)
        w->tnext->tprev = w->tprev;
    w->prev = w->next = w->tprev = w->tnext = NULL;
    w->listed = false;
    ws->count--;
    if (why != SRV_WAKE_NONE) {
        atomic_store(&w->why, why);
        if (w->armed)
            ws->resume(ws->cls, w);
    }
}

/* Wake the waiters past their deadline; returns the earliest deadline
 * left (UINT64_MAX: none). Lock held. */
static uint64_t expire_locked(struct srv_waiters *ws, uint64_t now)
{
    uint64_t next = UINT64_MAX;
    struct srv_waiter *w = ws->all;

    while (w) {
        struct srv_waiter *n = w->tnext;

        if (w->deadline_ms <= now)
            wake_locked(ws, w, SRV_WAKE_TIMEOUT);
        else if (w->deadline_ms < next)
            next = w->deadline_ms;
        w = n;
    }
    return next;
}

static void *timer_main(void *arg)
{
    struct srv_waiters *ws = arg;

    pthread_mutex_lock(&ws->lock);
    while (!ws->stop) {
        uint64_t now = srv_waiters_now_ms();

        ws->next_ms = expire_locked(ws, now);
        if (ws->next_ms == UINT64_MAX) {
            pthread_cond_wait(&ws->cond, &ws->lock);
        } else {
            struct timespec ts = {(time_t)(ws->next_ms / 1000u),
                                  (long)(ws->next_ms % 1000u) * 1000000L};

            pthread_cond_timedwait(&ws->cond, &ws->lock, &ts);
        }
    }
    pthread_mutex_unlock(&ws->lock);
    return NULL;
}

int srv_waiters_create(unsigned max, srv_resume_fn *resume, void *cls,
                       struct srv_waiters **out)
{
    struct srv_waiters *ws = calloc(1, sizeof(*ws));
    pthread_condattr_t ca;

    *out = NULL;
    if (!ws)
        return -1;
    ws->max = max;
    ws->resume = resume;
    ws->cls = cls;
    ws->next_ms = UINT64_MAX;
    pthread_mutex_init(&ws->lock, NULL);
    /* Deadlines are on the monotonic clock: a step of the wall clock must
     * not end or stretch a wait. */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ws->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&ws->timer, NULL, timer_main, ws) != 0) {
        pthread_cond_destroy(&ws->cond);
        pthread_mutex_destroy(&ws->lock);
        free(ws);
        return -1;
    }
    *out = ws;
    return 0;
}

void srv_waiters_destroy(struct srv_waiters *ws)
{
    if (!ws)
        return;
    srv_waiters_shutdown(ws);
    pthread_mutex_lock(&ws->lock);
    ws->stop = true;
    pthread_cond_signal(&ws->cond);
    pthread_mutex_unlock(&ws->lock);
    pthread_join(ws->timer, NULL);
    pthread_cond_destroy(&ws->cond);
    pthread_mutex_destroy(&ws->lock);
    free(ws);
}

enum srv_wait_add srv_waiters_add(struct srv_waiters *ws, struct srv_waiter *w,
                                  const void *key, uint64_t deadline_ms)
{
    unsigned b = bucket_of(key);

    pthread_mutex_lock(&ws->lock);
    if (ws->closed) {
        pthread_mutex_unlock(&ws->lock);
        return SRV_WAIT_CLOSED;
    }
    if (ws->count >= ws->max) {
        pthread_mutex_unlock(&ws->lock);
        return SRV_WAIT_FULL;
    }
    w->key = key;
    w->deadline_ms = deadline_ms;
    w->armed = false;
    atomic_store(&w->why, SRV_WAKE_NONE);
    w->prev = NULL;
    w->next = ws->buckets[b];
    if (w->next)
        w->next->prev = w;
    ws->buckets[b] = w;
    w->tprev = NULL;
    w->tnext = ws->all;
    if (w->tnext)
        w->tnext->tprev = w;
    ws->all = w;
    w->listed = true;
    ws->count++;
    if (deadline_ms < ws->next_ms) {
        ws->next_ms = deadline_ms;
        pthread_cond_signal(&ws->cond);
    }
    pthread_mutex_unlock(&ws->lock);
    return SRV_WAIT_ADDED;
}

void srv_waiters_arm(struct srv_waiters *ws, struct srv_waiter *w)
{
    pthread_mutex_lock(&ws->lock);
    w->armed = true;
    if (!w->listed)
        ws->resume(ws->cls, w); /* woken before it could be resumed */
    pthread_mutex_unlock(&ws->lock);
}

void srv_waiters_wake(struct srv_waiters *ws, const void *key)
{
    struct srv_waiter *w;

    pthread_mutex_lock(&ws->lock);
    w = ws->buckets[bucket_of(key)];
    while (w) {
        struct srv_waiter *n = w->next;

        if (w->key == key)
            wake_locked(ws, w, SRV_WAKE_CHANGED);
        w = n;
    }
    pthread_mutex_unlock(&ws->lock);
}

void srv_waiters_wake_one(struct srv_waiters *ws, struct srv_waiter *w,
                          enum srv_wake why)
{
    pthread_mutex_lock(&ws->lock);
    if (w->listed)
        wake_locked(ws, w, why);
    pthread_mutex_unlock(&ws->lock);
}

void srv_waiters_remove(struct srv_waiters *ws, struct srv_waiter *w)
{
    pthread_mutex_lock(&ws->lock);
    if (w->listed)
        wake_locked(ws, w, SRV_WAKE_NONE);
    pthread_mutex_unlock(&ws->lock);
}

void srv_waiters_shutdown(struct srv_waiters *ws)
{
    pthread_mutex_lock(&ws->lock);
    ws->closed = true;
    while (ws->all)
        wake_locked(ws, ws->all, SRV_WAKE_SHUTDOWN);
    pthread_mutex_unlock(&ws->lock);
}

enum srv_wake srv_waiter_why(const struct srv_waiter *w)
{
    return (enum srv_wake)atomic_load(&w->why);
}

unsigned srv_waiters_count(struct srv_waiters *ws)
{
    unsigned n;

    pthread_mutex_lock(&ws->lock);
    n = ws->count;
    pthread_mutex_unlock(&ws->lock);
    return n;
}
