/* rangelock.c - byte-range locks of one mapping, shared or exclusive.
 *
 * Writers hold the ranges they write exclusively for the one copy of an
 * atomic body; readers hold theirs shared while they copy bytes out. So a
 * reader sees all old or all new bytes of any write made under the lock, and
 * two writers of overlapping ranges never interleave, while disjoint ones run
 * in parallel.
 *
 * The table is a small array of granted and waiting requests (one entry per
 * range), guarded by its own mutex; entries live only for the length of a
 * memcpy, so the array stays as short as the number of requests copying at
 * once. Fairness is first come, first served per overlap: every request draws
 * a ticket, and is granted when no overlapping entry with an earlier ticket
 * is incompatible with it, granted or not. A request waits only for earlier
 * tickets, so there is no deadlock, and a stream of readers cannot starve a
 * writer queued behind them. A request of several ranges is granted all at
 * once or not at all, which makes multi-range writes all-or-nothing to
 * readers as well.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void mc__rangelock_init(struct mc__rangelock *rl)
{
    pthread_mutex_init(&rl->mu, NULL);
    pthread_cond_init(&rl->cv, NULL);
    rl->ent = NULL;
    rl->n = 0;
    rl->cap = 0;
    rl->next_ticket = 1;
}

void mc__rangelock_destroy(struct mc__rangelock *rl)
{
    free(rl->ent);
    pthread_cond_destroy(&rl->cv);
    pthread_mutex_destroy(&rl->mu);
}

static bool overlap(const struct mc__range_ent *a, uint64_t first,
                    uint64_t end)
{
    return a->first < end && first < a->end;
}

/* True when every range of ticket t may be granted now. rl->mu is held. */
static bool grantable(const struct mc__rangelock *rl, uint64_t t)
{
    for (size_t i = 0; i < rl->n; i++) {
        const struct mc__range_ent *me = &rl->ent[i];

        if (me->ticket != t)
            continue;
        for (size_t j = 0; j < rl->n; j++) {
            const struct mc__range_ent *o = &rl->ent[j];

            if (o->ticket >= t || !overlap(o, me->first, me->end))
                continue;
            if (o->exclusive || me->exclusive)
                return false;
        }
    }
    return true;
}

enum mc_err mc__rangelock_lock(struct mc__rangelock *rl,
                               const struct mc_range *r, size_t n,
                               bool exclusive, uint64_t *ticket)
{
    uint64_t t;
    size_t added = 0;

    pthread_mutex_lock(&rl->mu);
    if (rl->n + n > rl->cap) {
        size_t cap = rl->cap ? rl->cap * 2 : 16;
        struct mc__range_ent *grown;

        if (cap < rl->n + n)
            cap = rl->n + n;
        grown = realloc(rl->ent, cap * sizeof(*grown));
        if (grown == NULL) {
            pthread_mutex_unlock(&rl->mu);
            return MC_ENOMEM;
        }
        rl->ent = grown;
        rl->cap = cap;
    }
    t = rl->next_ticket++;
    for (size_t i = 0; i < n; i++) {
        /* An empty range conflicts with nothing and needs no entry. */
        if (r[i].len == 0)
            continue;
        rl->ent[rl->n].first = r[i].off;
        /* Callers checked the bounds, so off + len does not overflow. */
        rl->ent[rl->n].end = r[i].off + r[i].len;
        rl->ent[rl->n].ticket = t;
        rl->ent[rl->n].exclusive = exclusive;
        rl->n++;
        added++;
    }
    while (added > 0 && !grantable(rl, t))
        pthread_cond_wait(&rl->cv, &rl->mu);
    pthread_mutex_unlock(&rl->mu);
    *ticket = t;
    return MC_OK;
}

void mc__rangelock_unlock(struct mc__rangelock *rl, uint64_t ticket)
{
    size_t k = 0;

    pthread_mutex_lock(&rl->mu);
    for (size_t i = 0; i < rl->n; i++) {
        if (rl->ent[i].ticket != ticket)
            rl->ent[k++] = rl->ent[i];
    }
    rl->n = k;
    /* Waiters recheck their own ranges; a broadcast is simplest and the
     * table is short. */
    pthread_cond_broadcast(&rl->cv);
    pthread_mutex_unlock(&rl->mu);
}
