/* lease.c - write leases on a mapping (mc_lease.h).
 *
 * The lease is three stored states (available, leased, breaking) plus an
 * end time; expired and broken are what leased and breaking become once
 * the clock passes that time, so nothing has to run when a lease runs
 * out. Every function takes the mapping's lease_lock for its whole
 * decision, so two clients acquiring at once get one lease and one
 * MC_ELEASEHELD.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

const char *mc_lease_state_name(enum mc_lease_state s)
{
    switch (s) {
    case MC_LEASE_AVAILABLE:
        return "available";
    case MC_LEASE_LEASED:
        return "leased";
    case MC_LEASE_EXPIRED:
        return "expired";
    case MC_LEASE_BREAKING:
        return "breaking";
    case MC_LEASE_BROKEN:
        return "broken";
    }
    return "unknown";
}

/* The state at now_ms. lease_lock is held. */
static enum mc_lease_state state_at(const struct mc__lease *l, int64_t now_ms)
{
    if (l->state == MC_LEASE_LEASED && now_ms >= l->ends_ms)
        return MC_LEASE_EXPIRED;
    if (l->state == MC_LEASE_BREAKING && now_ms >= l->ends_ms)
        return MC_LEASE_BROKEN;
    return l->state;
}

/* Whether a lease is in force: leased or breaking, not run out. */
static bool in_force(enum mc_lease_state s)
{
    return s == MC_LEASE_LEASED || s == MC_LEASE_BREAKING;
}

static void snapshot(const struct mc__lease *l, int64_t now_ms,
                     struct mc_lease *out)
{
    if (out == NULL)
        return;
    memset(out, 0, sizeof(*out));
    out->state = state_at(l, now_ms);
    memcpy(out->id, l->id, sizeof(out->id));
    out->duration_s = l->duration_s;
    out->epoch = l->epoch;
    if (in_force(out->state))
        out->remaining_ms = l->ends_ms == INT64_MAX ? -1 : l->ends_ms - now_ms;
}

static bool id_ok(const char *id)
{
    return id != NULL && id[0] != '\0' && strlen(id) <= MC_LEASE_ID_MAX;
}

static int64_t ends_after(int64_t now_ms, int32_t duration_s)
{
    return duration_s == MC_LEASE_INFINITE
               ? INT64_MAX
               : now_ms + (int64_t)duration_s * 1000;
}

enum mc_err mc_lease_acquire(struct mc_mapping *m, int64_t now_ms,
                             const char *id, int32_t duration_s,
                             struct mc_lease *out)
{
    struct mc__lease *l = &m->lease;
    enum mc_err rc = MC_OK;

    if (!id_ok(id) ||
        (duration_s != MC_LEASE_INFINITE &&
         (duration_s < MC_LEASE_MIN_S || duration_s > MC_LEASE_MAX_S)))
        return MC_EINVAL;
    pthread_mutex_lock(&m->lease_lock);
    if (in_force(state_at(l, now_ms))) {
        rc = MC_ELEASEHELD;
    } else {
        l->state = MC_LEASE_LEASED;
        snprintf(l->id, sizeof(l->id), "%s", id);
        l->duration_s = duration_s;
        l->ends_ms = ends_after(now_ms, duration_s);
        l->epoch++;
    }
    snapshot(l, now_ms, out);
    pthread_mutex_unlock(&m->lease_lock);
    return rc;
}

/* The checks renew and change share: the holder's id, on a lease that is
 * leased (or expired, when allow_expired). lease_lock is held. */
static enum mc_err holder(const struct mc__lease *l, int64_t now_ms,
                          const char *id, bool allow_expired)
{
    enum mc_lease_state s = state_at(l, now_ms);

    if (s == MC_LEASE_AVAILABLE || s == MC_LEASE_BROKEN ||
        (s == MC_LEASE_EXPIRED && !allow_expired))
        return MC_ELEASENONE;
    if (id == NULL || strcmp(id, l->id) != 0)
        return MC_ELEASEMISMATCH;
    if (s == MC_LEASE_BREAKING)
        return MC_ELEASEBREAKING;
    return MC_OK;
}

enum mc_err mc_lease_renew(struct mc_mapping *m, int64_t now_ms, const char *id,
                           struct mc_lease *out)
{
    struct mc__lease *l = &m->lease;
    enum mc_err rc;

    pthread_mutex_lock(&m->lease_lock);
    rc = holder(l, now_ms, id, true);
    if (rc == MC_OK) {
        l->state = MC_LEASE_LEASED;
        l->ends_ms = ends_after(now_ms, l->duration_s);
    }
    snapshot(l, now_ms, out);
    pthread_mutex_unlock(&m->lease_lock);
    return rc;
}

enum mc_err mc_lease_change(struct mc_mapping *m, int64_t now_ms,
                            const char *id, const char *new_id,
                            struct mc_lease *out)
{
    struct mc__lease *l = &m->lease;
    enum mc_err rc;

    if (!id_ok(new_id))
        return MC_EINVAL;
    pthread_mutex_lock(&m->lease_lock);
    rc = holder(l, now_ms, id, false);
    if (rc == MC_OK)
        snprintf(l->id, sizeof(l->id), "%s", new_id);
    snapshot(l, now_ms, out);
    pthread_mutex_unlock(&m->lease_lock);
    return rc;
}

enum mc_err mc_lease_release(struct mc_mapping *m, int64_t now_ms,
                             const char *id)
{
    struct mc__lease *l = &m->lease;
    enum mc_err rc = MC_OK;

    (void)now_ms;
    pthread_mutex_lock(&m->lease_lock);
    if (l->state == MC_LEASE_AVAILABLE)
        rc = MC_ELEASENONE;
    else if (id == NULL || strcmp(id, l->id) != 0)
        rc = MC_ELEASEMISMATCH;
    else
        l->state = MC_LEASE_AVAILABLE;
    pthread_mutex_unlock(&m->lease_lock);
    return rc;
}

enum mc_err mc_lease_break(struct mc_mapping *m, int64_t now_ms,
                           int32_t break_s, struct mc_lease *out)
{
    struct mc__lease *l = &m->lease;
    enum mc_err rc = MC_OK;
    int64_t end;

    if (break_s < -1 || break_s > MC_LEASE_BREAK_MAX_S)
        return MC_EINVAL;
    pthread_mutex_lock(&m->lease_lock);
    if (!in_force(state_at(l, now_ms))) {
        rc = MC_ELEASENONE;
    } else {
        /* Default: a finite lease runs its course, an infinite one ends
         * now. A given period never outlasts the lease or an earlier
         * break. */
        if (break_s < 0)
            end = l->ends_ms == INT64_MAX ? now_ms : l->ends_ms;
        else
            end = now_ms + (int64_t)break_s * 1000;
        if (end > l->ends_ms)
            end = l->ends_ms;
        l->state = MC_LEASE_BREAKING;
        l->ends_ms = end;
    }
    snapshot(l, now_ms, out);
    pthread_mutex_unlock(&m->lease_lock);
    return rc;
}

enum mc_err mc_lease_check(struct mc_mapping *m, int64_t now_ms, const char *id)
{
    struct mc__lease *l = &m->lease;
    enum mc_err rc = MC_OK;

    pthread_mutex_lock(&m->lease_lock);
    if (in_force(state_at(l, now_ms))) {
        if (id == NULL)
            rc = MC_ELEASEMISSING;
        else if (strcmp(id, l->id) != 0)
            rc = MC_ELEASEMISMATCH;
    } else if (id != NULL) {
        rc = MC_ELEASENONE;
    }
    pthread_mutex_unlock(&m->lease_lock);
    return rc;
}

void mc_lease_get(struct mc_mapping *m, int64_t now_ms, struct mc_lease *out)
{
    pthread_mutex_lock(&m->lease_lock);
    snapshot(&m->lease, now_ms, out);
    pthread_mutex_unlock(&m->lease_lock);
}
