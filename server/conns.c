/* conns.c - see conns.h: admission and per-phase deadlines.
 *
 * The table is an array indexed by socket number. Admission, closing and
 * reaping take the mutex; phase changes, several per request on the hot
 * path, are one atomic store each: a connection's phase and the time it
 * began are packed into one word (state = since_ms << 2 | phase), so the
 * reaper never sees a phase with another phase's start time.
 */
#include "conns.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

struct slot {
    _Atomic uint64_t state; /* since_ms << 2 | phase */
    _Atomic uint64_t bytes; /* body bytes received in this BODY phase */
    bool used;              /* under the mutex */
    bool reaped;            /* shut down already; under the mutex */
};

struct srv_conns {
    pthread_mutex_t lock;
    struct srv_conns_limits limits;
    unsigned nslots;
    unsigned top;  /* one past the highest slot ever used: the reap scan */
    unsigned open; /* slots in use */
    struct slot *slots;
};

uint64_t srv_conns_now_ms(void)
{
    struct timespec ts;

    /* The coarse clock (the last tick's time): deadlines are seconds long,
     * and this is read three times a request (set_phase), where the
     * precise one costs a clock read each. */
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct srv_conns *srv_conns_create(const struct srv_conns_limits *limits,
                                   unsigned max_fds)
{
    struct srv_conns *t = calloc(1, sizeof(*t));

    if (!t)
        return NULL;
    t->slots = calloc(max_fds, sizeof(*t->slots));
    if (!t->slots || pthread_mutex_init(&t->lock, NULL) != 0) {
        free(t->slots);
        free(t);
        return NULL;
    }
    t->limits = *limits;
    t->nslots = max_fds;
    return t;
}

void srv_conns_destroy(struct srv_conns *t)
{
    if (!t)
        return;
    pthread_mutex_destroy(&t->lock);
    free(t->slots);
    free(t);
}

unsigned srv_conns_mhd_limit(const struct srv_conns_limits *limits,
                             unsigned threads)
{
    /* libmicrohttpd gives each of its workers limit / threads; one more
     * than we admit in all leaves its limit path unreachable. */
    uint64_t limit = ((uint64_t)limits->max_connections + 1) *
                     (threads > 0 ? threads : 1);

    return limit > UINT32_MAX ? UINT32_MAX : (unsigned)limit;
}

static void set_phase(struct slot *s, enum srv_conn_phase phase)
{
    uint64_t now = srv_conns_now_ms();

    if (phase == SRV_CONN_BODY)
        atomic_store_explicit(&s->bytes, 0, memory_order_relaxed);
    atomic_store_explicit(&s->state, now << 2 | (uint64_t)phase,
                          memory_order_release);
}

bool srv_conns_admit(struct srv_conns *t, int fd)
{
    bool ok = false;

    if (fd < 0 || (unsigned)fd >= t->nslots)
        return false;
    pthread_mutex_lock(&t->lock);
    /* A used slot here means libmicrohttpd dropped that connection without
     * telling (it can, when it fails to set one up after the hand-off): its
     * socket is closed, since the kernel gave the number out again. */
    if (t->slots[fd].used || t->open < t->limits.max_connections) {
        struct slot *s = &t->slots[fd];

        if (!s->used)
            t->open++;
        s->used = true;
        s->reaped = false;
        set_phase(s, SRV_CONN_WAIT);
        if ((unsigned)fd >= t->top)
            t->top = (unsigned)fd + 1;
        ok = true;
    }
    pthread_mutex_unlock(&t->lock);
    return ok;
}

void srv_conns_phase(struct srv_conns *t, int fd, enum srv_conn_phase phase)
{
    if (fd >= 0 && (unsigned)fd < t->nslots)
        set_phase(&t->slots[fd], phase);
}

void srv_conns_received(struct srv_conns *t, int fd, uint64_t n)
{
    if (fd >= 0 && (unsigned)fd < t->nslots)
        atomic_fetch_add_explicit(&t->slots[fd].bytes, n,
                                  memory_order_relaxed);
}

/* Under the lock. */
static void release(struct srv_conns *t, struct slot *s)
{
    if (!s->used)
        return;
    s->used = false;
    t->open--;
}

void srv_conns_closed(struct srv_conns *t, int fd)
{
    if (fd < 0 || (unsigned)fd >= t->nslots)
        return;
    pthread_mutex_lock(&t->lock);
    release(t, &t->slots[fd]);
    pthread_mutex_unlock(&t->lock);
}

/* The deadline of a slot's current phase, or UINT64_MAX for none. */
static uint64_t deadline(const struct srv_conns_limits *l, struct slot *s)
{
    uint64_t state = atomic_load_explicit(&s->state, memory_order_acquire);
    uint64_t since = state >> 2;

    switch ((enum srv_conn_phase)(state & 3)) {
    case SRV_CONN_WAIT:
        return l->idle_s ? since + l->idle_s * 1000ull : UINT64_MAX;
    case SRV_CONN_HEAD:
        return l->head_s ? since + l->head_s * 1000ull : UINT64_MAX;
    case SRV_CONN_BODY:
        if (!l->min_rate)
            return UINT64_MAX;
        return since + l->head_s * 1000ull +
               atomic_load_explicit(&s->bytes, memory_order_relaxed) * 1000u /
                   l->min_rate;
    case SRV_CONN_BUSY:
        break;
    }
    return UINT64_MAX;
}

unsigned srv_conns_reap(struct srv_conns *t, uint64_t now_ms)
{
    unsigned n = 0;

    pthread_mutex_lock(&t->lock);
    for (unsigned fd = 0; fd < t->top; fd++) {
        struct slot *s = &t->slots[fd];

        if (!s->used || s->reaped || deadline(&t->limits, s) > now_ms)
            continue;
        /* The socket stays open (libmicrohttpd closes it when it sees the
         * end), so holding the lock keeps its number from being reused
         * under us. Not a socket any more: see srv_conns_admit(). */
        if (shutdown((int)fd, SHUT_RDWR) != 0 &&
            (errno == ENOTSOCK || errno == EBADF)) {
            release(t, s);
            continue;
        }
        s->reaped = true;
        n++;
    }
    pthread_mutex_unlock(&t->lock);
    return n;
}

unsigned srv_conns_open(struct srv_conns *t)
{
    unsigned n;

    pthread_mutex_lock(&t->lock);
    n = t->open;
    pthread_mutex_unlock(&t->lock);
    return n;
}
