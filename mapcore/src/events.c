/* events.c - see mc_events.h: the ring of a mapping's recent changes.
 *
 * The ring is allocated at the first subscription and published with one
 * atomic pointer; watch.c appends to it on every change once it exists.
 * One mutex per ring guards it (a leaf: taken after every mapcore lock is
 * released, and nothing is taken under it).
 */
#include <stdlib.h>
#include <string.h>

#include "mapcore/mc_events.h"

#include "internal.h"

struct mc__events {
    pthread_mutex_t lock;
    uint64_t base; /* every change after this id is recorded */
    size_t head;   /* index of the oldest */
    size_t n;
    struct mc_event ring[MC_EVENTS_KEEP];
};

enum mc_err mc_events_start(struct mc_mapping *m, uint64_t *now)
{
    struct mc__events *e = atomic_load(&m->events);
    struct mc__events *expect = NULL;

    if (e == NULL) {
        e = calloc(1, sizeof(*e));
        if (e == NULL)
            return MC_ENOMEM;
        pthread_mutex_init(&e->lock, NULL);
        /* Published before the generation is read: a change whose
         * generation is later than base bumped it after that read, so its
         * writer, which looks for the ring after its bump, finds it. Until
         * base is set every change is kept (base 0). */
        if (atomic_compare_exchange_strong(&m->events, &expect, e)) {
            pthread_mutex_lock(&e->lock);
            e->base = atomic_load(&m->generation);
            pthread_mutex_unlock(&e->lock);
            /* A permanent watcher: changes reach watch.c's append. */
            atomic_fetch_add(&m->watchers, 1);
        } else {
            pthread_mutex_destroy(&e->lock);
            free(e);
        }
    }
    *now = atomic_load(&m->generation);
    return MC_OK;
}

/* Index of the i-th oldest event. Lock held. */
static struct mc_event *at(struct mc__events *e, size_t i)
{
    return &e->ring[(e->head + i) % MC_EVENTS_KEEP];
}

void mc__events_append(struct mc_mapping *m, const struct mc_change *c)
{
    struct mc__events *e = atomic_load(&m->events);
    uint64_t id;
    size_t pos;

    if (e == NULL)
        return;
    id = c->kind == MC_CHANGE_DELETE ? c->generation + 1 : c->generation;
    pthread_mutex_lock(&e->lock);
    if (id <= e->base) {
        /* Before the history began: nobody may ask for it. */
        pthread_mutex_unlock(&e->lock);
        return;
    }
    if (e->n == MC_EVENTS_KEEP) {
        e->base = at(e, 0)->id; /* the oldest goes */
        e->head = (e->head + 1) % MC_EVENTS_KEEP;
        e->n--;
    }
    /* Usually the newest; a writer that lost a race lands a little
     * earlier. */
    pos = e->n;
    while (pos > 0 && at(e, pos - 1)->id > id) {
        *at(e, pos) = *at(e, pos - 1);
        pos--;
    }
    *at(e, pos) = (struct mc_event){id, *c};
    e->n++;
    pthread_mutex_unlock(&e->lock);
}

size_t mc_events_read(struct mc_mapping *m, uint64_t after,
                      struct mc_event *out, size_t max, bool *gap,
                      uint64_t *newest)
{
    struct mc__events *e = atomic_load(&m->events);
    size_t got = 0;
    size_t i = 0;

    *gap = false;
    *newest = atomic_load(&m->generation);
    if (e == NULL) {
        *gap = true;
        return 0;
    }
    pthread_mutex_lock(&e->lock);
    if (e->n > 0 && at(e, e->n - 1)->id > *newest)
        *newest = at(e, e->n - 1)->id; /* a delete's */
    if (after < e->base || after > *newest) {
        *gap = true;
    } else {
        while (i < e->n && at(e, i)->id <= after)
            i++;
        /* Only consecutive ids: a hole is an append still on its way. */
        for (uint64_t want = after + 1;
             i < e->n && got < max && at(e, i)->id == want; i++, want++)
            out[got++] = *at(e, i);
    }
    pthread_mutex_unlock(&e->lock);
    return got;
}

void mc__events_free(struct mc_mapping *m)
{
    struct mc__events *e = atomic_load(&m->events);

    if (e == NULL)
        return;
    pthread_mutex_destroy(&e->lock);
    free(e);
}
