/* bodymem.h - one budget for the memory held by request bodies.
 *
 * Some request bodies are held whole before anything is done with them:
 * data PUTs up to the atomic-write limit (1 MiB, so a write that breaks off
 * changes nothing), byte-range PATCH bodies (the limit plus their part
 * headers) and JSON bodies (64 KiB). Held per connection, that is up to
 * max-connections times 1 MiB: a few hundred clients that each send most
 * of a 1 MiB body and then stall would hold hundreds of MiB. So every
 * buffer that holds a request body is charged to one budget shared by all
 * connections (--max-body-memory, README "Memory budgets"):
 *
 *  - A body whose length is known (Content-Length) is charged whole when
 *    its headers arrive, before a byte of it is read; a body of unknown
 *    length (chunked) is charged as its buffer grows.
 *  - The charge is the buffer's capacity, not the bytes received, because
 *    that is what may become resident.
 *  - The charge is given back when the buffer is freed: when a PUT turns
 *    to streaming, and in any case when the exchange ends
 *    (api_exchange_free), however it ended.
 *  - A request that cannot get its bytes is answered 503
 *    body_memory_limit with Retry-After, and nothing more is read from it
 *    into memory: bodies that are held are short-lived, so a retry soon
 *    after usually succeeds.
 *
 * Streamed bodies (PUTs past the atomic limit) go straight into the
 * mapping and are not charged: libmicrohttpd hands them over chunk by
 * chunk out of its per-connection buffer, which --max-header-bytes bounds.
 *
 * Thread safety: the budget is shared by every thread; charges are exact
 * (compare-and-swap, never over the limit). An exchange's own reservation
 * is used by one thread at a time, like the exchange.
 */
#ifndef API_BODYMEM_H
#define API_BODYMEM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct api_exchange;

/* Default total when api_config.max_body_memory is 0: 64 times the largest
 * body held (1 MiB), which serves 64 stalled writers at once while the
 * other connections keep working. */
#define API_BODY_MEMORY_DEFAULT ((uint64_t)64 << 20)

struct api_bodymem {
    uint64_t limit;              /* constant after init */
    atomic_uint_least64_t used;  /* bytes charged now; CAS only */
    atomic_uint_least64_t refused; /* requests answered 503 for it */
};

void api__bodymem_init(struct api_bodymem *b, uint64_t limit);

/* Make the exchange's reservation at least `bytes` (a reservation only
 * grows: the buffer it covers is reallocated upwards). True when it is
 * (charging only the difference); false after answering 503
 * body_memory_limit with Retry-After, the reservation unchanged. */
bool api__bodymem_reserve(struct api_exchange *ex, uint64_t bytes);

/* Give back the exchange's whole reservation (its buffer was freed or is
 * about to be). Safe to call again: the second call gives back nothing. */
void api__bodymem_release(struct api_exchange *ex);

/* The figures for /v1/info and /metrics. */
void api__bodymem_stats(struct api_bodymem *b, uint64_t *limit,
                        uint64_t *used, uint64_t *refused);

#endif
