/* mc_events.h - the recent changes of a mapping, for event streams
 * (README "Events").
 *
 * A mapping keeps no history until someone subscribes (mc_events_start):
 * from then on, for the mapping's life, every change (mc_watch.h) is also
 * appended to a ring of the last MC_EVENTS_KEEP events, and the mapping
 * counts as watched (so writers to it reach the watch callback; writers
 * to mappings nobody ever subscribed to still pay one atomic load).
 *
 * An event's id is the generation its change produced (the ETag's
 * number), so ids go up by exactly one per write or resize; a delete gets
 * the last generation plus one. Changes are appended after their locks
 * are gone, so two concurrent writers may append out of order for a
 * moment: mc_events_read returns only the run of consecutive ids after
 * the one asked for, and a late append fills the hole (and calls the
 * watch callback, waking the reader).
 *
 * History starts when the first subscriber comes (and again at every
 * start of the server): a reader asking for events from before that, or
 * from before the oldest one kept, is told it missed some (a gap) and
 * resumes from the newest.
 * All functions are thread-safe.
 */
#ifndef MAPCORE_MC_EVENTS_H
#define MAPCORE_MC_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mapcore/mc_error.h"
#include "mapcore/mc_mapping.h"
#include "mapcore/mc_watch.h"

#define MC_EVENTS_KEEP 1024u /* README: at least the last 1,000 */

struct mc_event {
    uint64_t id;
    struct mc_change change;
};

/* Start keeping m's history (once; later calls do nothing). *now gets the
 * id a new subscriber starts after: the current generation. MC_ENOMEM. */
enum mc_err mc_events_start(struct mc_mapping *m, uint64_t *now);

/* The events after id `after`, oldest first, into out[0..max): returns
 * how many. *gap is set when the history no longer holds the event after
 * `after` (or never did, or `after` is in m's future): the caller then
 * tells its client so and goes on from *newest, the id of the newest event
 * (or the current generation when there is none). */
size_t mc_events_read(struct mc_mapping *m, uint64_t after,
                      struct mc_event *out, size_t max, bool *gap,
                      uint64_t *newest);

#endif
