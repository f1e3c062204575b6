/* logbuf.c - per-thread line buffers written to stderr in whole lines.
 *
 * Buffers live on one list that only grows: a thread takes a free buffer
 * (or makes one) the first time it logs and gives it back, flushed, when it
 * exits, so there are never more buffers than threads that logged at the
 * same time. Nodes are never freed, so the crash path can walk the list
 * without a lock.
 *
 * Lock order: a buffer's lock, then the stderr stdio lock (flockfile).
 * Nothing takes them the other way round.
 */
#include "logbuf.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 32 KiB: about 160 access lines per write(2) (bench/RESULTS.md). */
#define BUF_SIZE 32768u

struct buf {
    pthread_mutex_t lock;
    size_t len;
    atomic_bool taken;   /* owned by a live thread */
    struct buf *next;    /* set before the node is published, then fixed */
    char data[BUF_SIZE];
};

static _Atomic(struct buf *) buffers;
static _Thread_local struct buf *mine;
static pthread_key_t owner_key;
static pthread_once_t owner_once = PTHREAD_ONCE_INIT;
static bool owner_key_ok;

/* write(2) all of it, across short writes and EINTR. Async-signal-safe.
 * Gives up on any other error: the lines are dropped, never retried. */
static void write_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, p, n);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

/* b->lock held. The stdio lock keeps srv_log's lines (log.c) out of the
 * middle of this write. */
static void write_out(struct buf *b)
{
    if (b->len == 0)
        return;
    flockfile(stderr);
    write_all(b->data, b->len);
    funlockfile(stderr);
    b->len = 0;
}

/* Thread exit: write what the thread left and free the buffer for the next
 * thread that logs. */
static void release(void *p)
{
    struct buf *b = p;

    pthread_mutex_lock(&b->lock);
    write_out(b);
    pthread_mutex_unlock(&b->lock);
    atomic_store(&b->taken, false);
}

static void make_owner_key(void)
{
    owner_key_ok = pthread_key_create(&owner_key, release) == 0;
}

/* The calling thread's buffer, or NULL when none can be had (no memory). */
static struct buf *own_buffer(void)
{
    struct buf *b;

    if (mine)
        return mine;
    pthread_once(&owner_once, make_owner_key);
    for (b = atomic_load(&buffers); b; b = b->next) {
        bool free_one = false;

        if (atomic_compare_exchange_strong(&b->taken, &free_one, true))
            break;
    }
    if (!b) {
        b = malloc(sizeof(*b));
        if (!b)
            return NULL;
        pthread_mutex_init(&b->lock, NULL);
        b->len = 0;
        atomic_init(&b->taken, true);
        b->next = atomic_load(&buffers);
        while (!atomic_compare_exchange_weak(&buffers, &b->next, b))
            ;
    }
    /* Without the key the buffer is never given back on thread exit, but
     * still flushed by srv_logbuf_flush: nothing is lost. */
    if (owner_key_ok)
        pthread_setspecific(owner_key, b);
    mine = b;
    return b;
}

void srv_logbuf_append(const char *line, size_t len)
{
    struct buf *b = own_buffer();

    if (!b || len > BUF_SIZE) {
        /* Cannot buffer it: write it as one line, in order with the rest
         * of this thread's lines. */
        if (b) {
            pthread_mutex_lock(&b->lock);
            write_out(b);
        }
        flockfile(stderr);
        write_all(line, len);
        funlockfile(stderr);
        if (b)
            pthread_mutex_unlock(&b->lock);
        return;
    }
    pthread_mutex_lock(&b->lock);
    if (b->len + len > BUF_SIZE)
        write_out(b);
    memcpy(b->data + b->len, line, len);
    b->len += len;
    pthread_mutex_unlock(&b->lock);
}

void srv_logbuf_flush(void)
{
    for (struct buf *b = atomic_load(&buffers); b; b = b->next) {
        pthread_mutex_lock(&b->lock);
        write_out(b);
        pthread_mutex_unlock(&b->lock);
    }
}

/* ---- crash and exit ------------------------------------------------------ */

static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
#define NCRASH (sizeof(crash_signals) / sizeof(crash_signals[0]))
static struct sigaction previous[NCRASH];

/* No locks: the thread that crashed may hold one. A buffer another thread
 * is appending to at this instant may lose its last line. */
static void flush_unlocked(void)
{
    for (struct buf *b = atomic_load(&buffers); b; b = b->next) {
        size_t len = b->len;

        if (len > 0 && len <= BUF_SIZE)
            write_all(b->data, len);
        b->len = 0;
    }
}

static void on_crash(int sig, siginfo_t *si, void *uctx)
{
    static atomic_flag flushed = ATOMIC_FLAG_INIT;

    (void)uctx;
    if (!atomic_flag_test_and_set(&flushed))
        flush_unlocked();
    /* Put the earlier action back and let it happen: a fault raised by the
     * kernel recurs when the instruction runs again on return; a signal
     * sent with kill() or raise() (abort) must be raised anew. */
    for (size_t i = 0; i < NCRASH; i++)
        if (crash_signals[i] == sig)
            sigaction(sig, &previous[i], NULL);
    if (si->si_code <= 0)
        raise(sig);
}

static void flush_at_exit(void)
{
    srv_logbuf_flush();
}

void srv_logbuf_install_crash_flush(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_crash;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < NCRASH; i++)
        sigaction(crash_signals[i], &sa, &previous[i]);
    atexit(flush_at_exit);
}
