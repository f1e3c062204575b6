/* waiters.h - requests parked until a mapping changes (README "Watch").
 *
 * A GET with If-None-Match and Prefer: wait=N whose ETag still matches is
 * parked here instead of answered: its libmicrohttpd connection is
 * suspended (it holds no worker thread), and the registry resumes it when
 * one of three things happens first:
 *   - the mapping it watches changes (srv_waiters_wake, from the writer's
 *     thread through mapcore's watch callback): SRV_WAKE_CHANGED;
 *   - its deadline passes (the registry's timer thread): SRV_WAKE_TIMEOUT;
 *   - the server shuts down (srv_waiters_shutdown): SRV_WAKE_SHUTDOWN.
 * The resumed request then answers as if asked afresh (daemon.c).
 *
 * Parking takes three steps, because the resume must never reach a
 * connection that is not suspended yet (libmicrohttpd 0.9.75 treats a
 * resume before the suspend as "do not suspend", and the connection would
 * hang without an answer): srv_waiters_add lists the waiter disarmed, the
 * caller suspends its connection, then srv_waiters_arm. A wake that finds
 * a disarmed waiter unlists it and records why; arming then resumes at
 * once.
 *
 * The number of waiters is bounded (--max-waiters): srv_waiters_add
 * refuses past it, and after srv_waiters_shutdown.
 *
 * Locking: one mutex guards the registry; the resume callback runs under
 * it, so it must only hand the connection back (MHD_resume_connection
 * takes a leaf lock of libmicrohttpd's and writes to its wake-up pipe).
 * All functions are thread-safe.
 */
#ifndef SERVER_WAITERS_H
#define SERVER_WAITERS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct srv_waiters; /* opaque */

enum srv_wake {
    SRV_WAKE_NONE, /* still waiting */
    SRV_WAKE_CHANGED,
    SRV_WAKE_TIMEOUT,
    SRV_WAKE_SHUTDOWN,
};

/* One parked request; lives in the request's own state. Except conn, its
 * fields are the registry's: read them only through the functions below. */
struct srv_waiter {
    void *conn; /* the caller's: what the resume callback hands back */
    struct srv_waiter *prev, *next;  /* in its key's bucket */
    struct srv_waiter *tprev, *tnext; /* in the list of all waiters */
    const void *key;
    uint64_t deadline_ms;
    bool listed;
    bool armed;
    atomic_int why; /* enum srv_wake */
};

/* Called, under the registry's lock, for an armed waiter that was woken
 * and unlisted: hand its connection back to the server. */
typedef void srv_resume_fn(void *cls, struct srv_waiter *w);

/* A registry for at most max waiters, with its timer thread. Returns 0, or
 * -1 (out of memory or threads). */
int srv_waiters_create(unsigned max, srv_resume_fn *resume, void *cls,
                       struct srv_waiters **out);
/* Shut down (waking whoever waits), stop the timer thread, free. NULL-safe. */
void srv_waiters_destroy(struct srv_waiters *ws);

enum srv_wait_add { SRV_WAIT_ADDED, SRV_WAIT_FULL, SRV_WAIT_CLOSED };
/* List w, disarmed, for key until deadline_ms (srv_now_ms's clock). FULL:
 * max waiters are listed; CLOSED: the registry is shut down. */
enum srv_wait_add srv_waiters_add(struct srv_waiters *ws, struct srv_waiter *w,
                                  const void *key, uint64_t deadline_ms);
/* w's connection is suspended: from now on a wake resumes it. When a wake
 * came first, resume it now. */
void srv_waiters_arm(struct srv_waiters *ws, struct srv_waiter *w);
/* Wake every waiter of key (SRV_WAKE_CHANGED). */
void srv_waiters_wake(struct srv_waiters *ws, const void *key);
/* Wake w alone with why, if it is still listed. */
void srv_waiters_wake_one(struct srv_waiters *ws, struct srv_waiter *w,
                          enum srv_wake why);
/* Unlist w without resuming it (its connection is going away). */
void srv_waiters_remove(struct srv_waiters *ws, struct srv_waiter *w);
/* Wake every waiter with SRV_WAKE_SHUTDOWN and refuse new ones. */
void srv_waiters_shutdown(struct srv_waiters *ws);
/* Why w was woken (SRV_WAKE_NONE while it waits). */
enum srv_wake srv_waiter_why(const struct srv_waiter *w);
/* Waiters listed now. */
unsigned srv_waiters_count(struct srv_waiters *ws);

/* Milliseconds of CLOCK_MONOTONIC, the clock of deadlines. */
uint64_t srv_waiters_now_ms(void);

#endif
