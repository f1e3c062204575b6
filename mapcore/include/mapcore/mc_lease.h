/* mc_lease.h - write leases on a mapping, after Azure Blob Storage's.
 *
 * A lease names one writer: while a mapping is leased, a write must name
 * the lease (mc_lease_check); reads are never blocked. A lease runs for a
 * fixed duration (renewed by its holder) or forever, can change its id,
 * be released by its holder, or be broken by anyone (it then ends after a
 * break period, during which its holder may still write but nobody may
 * acquire it). Every acquire raises the mapping's epoch by one: a fencing
 * token a holder can hand to whatever it writes elsewhere.
 *
 * States (mc_lease_state_name): available (never leased, or released),
 * leased, expired (the duration ran out: no lease, but its holder may
 * still renew it until someone else acquires), breaking, broken (the break
 * period ran out: no lease).
 *
 * Caveats:
 * - Leases live in memory with the mapping: a restart, or a delete and a
 *   create of the same name, forgets them (and restarts the epoch). The
 *   former holder's next write then names a lease the mapping does not
 *   have: MC_ELEASENONE, so it learns.
 * - Time is the caller's: every call takes now_ms from one monotonic clock
 *   (the same clock for every call on a mapping), so tests can move it.
 * - Lease ids are opaque strings of 1 to MC_LEASE_ID_MAX bytes; the
 *   caller chooses them (random ones when a client proposes none).
 * All functions are safe from any thread.
 */
#ifndef MAPCORE_MC_LEASE_H
#define MAPCORE_MC_LEASE_H

#include <stdbool.h>
#include <stdint.h>

#include "mapcore/mc_error.h"
#include "mapcore/mc_mapping.h"

#define MC_LEASE_ID_MAX 64
/* Durations of a finite lease and break periods, in seconds. */
#define MC_LEASE_MIN_S 15
#define MC_LEASE_MAX_S 60
#define MC_LEASE_BREAK_MAX_S 60
#define MC_LEASE_INFINITE (-1)

enum mc_lease_state {
    MC_LEASE_AVAILABLE,
    MC_LEASE_LEASED,
    MC_LEASE_EXPIRED,
    MC_LEASE_BREAKING,
    MC_LEASE_BROKEN,
};

/* A snapshot of a mapping's lease. */
struct mc_lease {
    enum mc_lease_state state;
    char id[MC_LEASE_ID_MAX + 1]; /* the current or last lease; "" never */
    int32_t duration_s;           /* MC_LEASE_INFINITE or 15..60 */
    /* Leased: until it expires; breaking: until the break ends; -1 for an
     * infinite lease, 0 in the other states. Milliseconds. */
    int64_t remaining_ms;
    uint64_t epoch; /* acquires so far */
};

/* "available", "leased", ...; never NULL. */
const char *mc_lease_state_name(enum mc_lease_state s);

/* Take the lease as id for duration_s seconds (MC_LEASE_INFINITE or
 * MC_LEASE_MIN_S..MC_LEASE_MAX_S, else MC_EINVAL). MC_ELEASEHELD while it
 * is leased or breaking. On success the epoch grows by one; *out (may be
 * NULL) gets the new lease. */
enum mc_err mc_lease_acquire(struct mc_mapping *m, int64_t now_ms,
                             const char *id, int32_t duration_s,
                             struct mc_lease *out);

/* Restart the holder's duration. Works on a leased or expired lease whose
 * id is id; MC_ELEASEMISMATCH for another id, MC_ELEASEBREAKING while it
 * breaks, MC_ELEASENONE when available or broken. */
enum mc_err mc_lease_renew(struct mc_mapping *m, int64_t now_ms, const char *id,
                           struct mc_lease *out);

/* Give the held lease (id) the id new_id; its time and epoch stay. Errors
 * as for renew, and MC_ELEASENONE for an expired lease. */
enum mc_err mc_lease_change(struct mc_mapping *m, int64_t now_ms,
                            const char *id, const char *new_id,
                            struct mc_lease *out);

/* End the lease id at once, whatever its state (the mapping becomes
 * available). MC_ELEASEMISMATCH for another id, MC_ELEASENONE when
 * available. */
enum mc_err mc_lease_release(struct mc_mapping *m, int64_t now_ms,
                             const char *id);

/* Break the lease: it ends after break_s seconds (0..MC_LEASE_BREAK_MAX_S;
 * -1: what a finite lease has left, 0 for an infinite one), or sooner when
 * its duration or an earlier break ends first. 0 breaks it at once.
 * MC_ELEASENONE when nothing is leased. *out gets the lease after. */
enum mc_err mc_lease_break(struct mc_mapping *m, int64_t now_ms,
                           int32_t break_s, struct mc_lease *out);

/* May a write that names lease id (NULL: none) go ahead now? MC_OK;
 * MC_ELEASEMISSING (leased or breaking, no id), MC_ELEASEMISMATCH
 * (another id), MC_ELEASENONE (an id, but nothing leased). */
enum mc_err mc_lease_check(struct mc_mapping *m, int64_t now_ms,
                           const char *id);

/* The lease as it stands at now_ms. Can't fail. */
void mc_lease_get(struct mc_mapping *m, int64_t now_ms, struct mc_lease *out);

#endif
