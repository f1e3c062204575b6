/* internal.h - what the files of api/ share and nobody else sees.
 *
 * Functions here take the double-underscore prefix (api__) that marks them
 * as "not API", as libuv does.
 *
 * Life of a response inside an exchange: a handler either answers at once
 * (api__respond / api__fail, which also stop the body) or leaves
 * ex->wants_body set and answers in its end step. Response bodies are
 * self-contained: each owns its memory (and its view pins or mapping
 * reference) through its release callback, so the server may send it after
 * the exchange is gone.
 */
#ifndef API_INTERNAL_H
#define API_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api.h"
#include "api/api_auth.h"
#include "api/api_parse.h"
#include "api/api_status.h"
#include "mapcore/mc_catalog.h"

#include "bodymem.h"

/* Largest JSON request body; anything longer is 413 payload_too_large. */
#define API_JSON_MAX ((size_t)64 * 1024)
/* Default atomic-write limit (API.md: at least 1 MiB). */
#define API_ATOMIC_WRITE_DEFAULT ((uint64_t)1 << 20)
/* Responses with at most the atomic-write limit of mapping bytes are
 * copied at once under the range lock (body_snapshot.c). Larger ones up to
 * this size (and a quarter of the cache budget) are served from pinned
 * views; larger still are copied chunk by chunk, so one big GET cannot pin
 * the whole cache and starve every other client. */
#define API_PIN_MAX ((uint64_t)16 << 20)
/* Room for "\"<8 hex>-<16 hex>-<16 hex>\"" and its terminator. */
#define API_ETAG_MAX 48

/* The successful statuses a handler may choose. Error statuses come only
 * from the table in status.c, through api__fail. */
enum api_success {
    API_S_OK = 200,
    API_S_CREATED = 201,
    API_S_NO_CONTENT = 204,
    API_S_PARTIAL = 206,
    API_S_NOT_MODIFIED = 304,
};

enum api_route {
    API_ROUTE_NONE, /* no such path: the 404 bucket in the metrics */
    API_ROUTE_HEALTHZ,
    API_ROUTE_READYZ,
    API_ROUTE_METRICS,
    API_ROUTE_INFO,
    API_ROUTE_MAPS,
    API_ROUTE_MAP,
    API_ROUTE_DATA,
    API_ROUTE_FLUSH,
    API_ROUTE_OBJECTS,
    API_ROUTE_COUNT
};

/* What the router decided the exchange does: a route and a method. */
enum api_op {
    API_OP_NONE, /* answered by the router (404, 405, 400, OPTIONS) */
    API_OP_HEALTHZ,
    API_OP_READYZ,
    API_OP_METRICS,
    API_OP_INFO,
    API_OP_MAPS_LIST,
    API_OP_MAP_GET,
    API_OP_MAP_PUT,
    API_OP_MAP_PATCH,
    API_OP_MAP_DELETE,
    API_OP_DATA_GET,
    API_OP_DATA_PUT,
    API_OP_DATA_PATCH, /* byte-range PATCH (data_patch.c) */
    API_OP_FLUSH,
    API_OP_OBJECT_GET,
    API_OP_OBJECT_PUT,
};

/* Duration histogram upper bounds, in microseconds; one more bucket (+Inf)
 * follows the last. */
#define API_HIST_BOUNDS 12
/* Counters by exact status (100..599), indexed status - API_STATUS_FIRST. */
#define API_STATUS_FIRST 100
#define API_STATUS_SLOTS 500
/* The duration histogram is kept by route and status class (1xx..5xx):
 * exact codes would multiply its series by the number of codes seen. */
#define API_STATUS_CLASSES 5

/* Fixed arrays of atomics, so recording a request never allocates or locks.
 * Relaxed ordering is enough: each counter is independent and a scrape
 * that sees a slightly stale mix of counters is still a valid sample. */
struct api_metrics {
    atomic_uint_least64_t requests[API_ROUTE_COUNT][API_STATUS_SLOTS];
    atomic_uint_least64_t buckets[API_ROUTE_COUNT][API_STATUS_CLASSES]
                                 [API_HIST_BOUNDS + 1];
    atomic_uint_least64_t duration_us_sum[API_ROUTE_COUNT][API_STATUS_CLASSES];
    atomic_uint_least64_t bytes_received;
    atomic_uint_least64_t bytes_sent;
    atomic_uint_least64_t writes_unacknowledged;
};

struct api {
    struct mc_catalog *cat; /* borrowed */
    uint64_t max_body;
    uint64_t atomic_write_max;
    /* Fixed for the catalog's life, read once (body.c): the view size and
     * the most mapping bytes a zero-copy body may hold pinned. */
    uint64_t view_size;
    uint64_t pin_limit;
    unsigned max_ranges;
    unsigned threads;
    unsigned max_connections;
    char version[64];
    uint32_t boot_nonce; /* makes ETags of a restarted server differ */
    struct api_metrics metrics;
    struct api_bodymem bodymem; /* memory held for request bodies */
    /* The token table, NULL when anonymous. tokens_lock guards only the
     * pointer, held just long enough to take a reference: a reload swaps
     * the pointer under it, and an exchange keeps the table it started
     * with (its own reference) until it ends. Never held with another
     * lock. */
    pthread_mutex_t tokens_lock;
    struct api_tokens *tokens;
};

/* State of PUT /v1/maps/{name}/data between the headers and the end. */
struct api_put {
    struct mc_mapping *map; /* new reference, dropped at free */
    uint64_t first;         /* where the body goes */
    uint64_t end;           /* one past the last byte it may touch */
    bool end_exact;         /* end comes from Content-Range/Length: the body
                             * must fill it; else end is the mapping's end */
    uint64_t received;      /* body bytes so far */
    char *buf;              /* small bodies, held to be applied at once */
    size_t buf_len;
    size_t buf_cap;
    bool streaming;    /* gave up buffering: written as it arrives */
    bool written;      /* some bytes reached the mapping */
    bool acknowledged; /* answered 204 */
    /* PATCH of data only: the body format and its multipart boundary. */
    bool multipart;
    char boundary[72];
};

struct api_exchange {
    struct api *api;
    enum api_method method;
    enum api_route route;
    enum api_op op;
    char name[MC_NAME_MAX + 1]; /* decoded, validated {name} */
    bool wants_body;
    bool ready;       /* resp holds the answer */
    bool create_only; /* PUT /v1/maps/{name} with If-None-Match: * */
    /* Authentication, see access.c: the table the exchange was checked
     * against (a new reference, dropped at free; NULL when anonymous) and
     * the caller's entry in it. */
    struct api_tokens *auth_tokens;
    const struct api_token *auth_token;
    uint64_t obj_offset; /* {offset} of /objects/{offset} */
    bool obj_dry_run;    /* PUT of an object with ?dry_run=true */
    char *json;       /* JSON request body, at most API_JSON_MAX */
    size_t json_len;
    /* Bytes of the body budget this exchange holds for its body buffer
     * (put.buf or json; bodymem.h), given back by api_exchange_free. */
    uint64_t body_reserved;
    struct api_put put;
    struct api_response resp;
    /* The request's If-Match and If-None-Match held at header time for the
     * mapping with id cond_id: the write tests the copies again, atomically
     * (api__write_checked), and then clears cond_armed. NULL when absent. */
    bool cond_armed;
    uint64_t cond_id;
    char *cond_if_match;
    char *cond_if_none_match;
};

/* exchange.c: building the response. */
void api__respond(struct api_exchange *ex, enum api_success status);
void api__response_reset(struct api_exchange *ex);
/* Add a header; value longer than the slot is cut (never happens for the
 * values we produce, which are bounded). False when no slot is left. */
bool api__header(struct api_exchange *ex, const char *name, const char *fmt,
                 ...) __attribute__((format(printf, 3, 4)));
/* Install body as the response body; the exchange owns it from now on. */
void api__body_set(struct api_exchange *ex, const struct api_body *body);
/* A body that is a copy of data[0..len) (small, generated text). False when
 * out of memory; nothing is installed then. */
bool api__body_copy(struct api_exchange *ex, const char *content_type,
                    const char *data, size_t len);

/* problem.c: answer with the error's status and an RFC 9457 body. detail
 * may be NULL (the table's title or the core's sentence is used then). */
void api__fail(struct api_exchange *ex, enum api_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void api__fail_mc(struct api_exchange *ex, enum mc_err err);

/* router.c */
void api__route(struct api_exchange *ex, const struct api_request *req);
const char *api__route_label(enum api_route r);
enum api_route api__route_from_label(const char *label);

/* access.c: who may do what. api__authenticate runs in the router once
 * the route is known (everything but /healthz and /readyz needs a token
 * when a table is set); api__authorize once the operation and name are.
 * Both answer 401 or 403 themselves and return false then. api__may is
 * true for everything when the api is anonymous. */
bool api__authenticate(struct api_exchange *ex, const struct api_request *req);
bool api__authorize(struct api_exchange *ex);
bool api__may(const struct api_exchange *ex, enum api_perm perm,
              const char *name);
void api__auth_release(struct api_exchange *ex);

/* precond.c: ETags and the conditional headers of RFC 9110 section 13. */
void api__etag(const struct api *api, uint64_t mapping_id, uint64_t generation,
               char out[API_ETAG_MAX]);
/* If-Match (strong) and If-None-Match (weak) lists; "*" matches any
 * existing representation. A malformed list matches nothing. */
bool api__etag_list_match(const char *header, const char *etag, bool weak);
/* The validators of a response carrying a mapping's bytes or metadata
 * (api/openapi.yaml, GET /data "Validators"): ETag (when etag is not
 * NULL), Last-Modified from modified_ms, and Cache-Control: no-cache, since
 * the bytes are mutable and a cache must revalidate. */
void api__validators(struct api_exchange *ex, const char *etag,
                     int64_t modified_ms);
/* If-Modified-Since (RFC 9110 section 13.1.3), for GET and HEAD: true when
 * the request carries a valid date, no If-None-Match (which takes
 * precedence), and the mapping has not changed since that date: answer
 * 304. A date later than the server's clock is ignored. */
bool api__not_modified_since(const struct api_request *req,
                             int64_t modified_ms);
/* If-Unmodified-Since (section 13.1.4): true when the request carries a
 * valid date, no If-Match (which takes precedence), and the mapping has
 * changed since that date: answer 412. */
bool api__unmodified_since_fails(const struct api_request *req,
                                 int64_t modified_ms);
/* If-Range: true only for exactly the current strong ETag. */
bool api__if_range_match(const char *header, const char *etag);
/* Evaluate If-Match (or, without it, If-Unmodified-Since), then
 * If-None-Match, on an unsafe request to a mapping name, at the start of
 * the exchange (RFC 9110 section 13.2.2: any failing is 412). Returns false
 * after answering 412/500/... */
bool api__check_if_match(struct api_exchange *ex,
                         const struct api_request *req);
/* Write the n ranges to m as one atomic write. When api__check_if_match
 * armed the exchange, the write happens only if m is still that mapping and
 * If-Match/If-None-Match still hold for the generation the write finds
 * (else MC_EPRECONDITION, nothing written); a write that lands disarms it,
 * so a streamed body is tested with its first chunk only. *gen gets the
 * generation this write produced (for the ETag). */
enum mc_err api__write_checked(struct api_exchange *ex, struct mc_mapping *m,
                               const struct mc_range *r, size_t n,
                               const void *const src[], uint64_t *gen);
/* api__fail_mc, plus the current ETag of m when err is MC_EPRECONDITION. */
void api__fail_write(struct api_exchange *ex, struct mc_mapping *m,
                     enum mc_err err);
/* Free the copies of the conditional headers (exchange free). */
void api__conditions_free(struct api_exchange *ex);

/* json.c. jansson's json_t is "struct json_t"; naming the tag keeps
 * jansson.h out of the files that don't use it. */
struct json_t;
enum api_field_type { API_FIELD_STRING, API_FIELD_U64, API_FIELD_BOOL };
struct api_field {
    const char *name;
    enum api_field_type type;
    bool nullable; /* null counts as absent */
};
/* Check Content-Encoding and Content-Length of a JSON body at start; false
 * after answering. */
bool api__json_start(struct api_exchange *ex, const struct api_request *req);
/* Accumulate a body chunk; answers 413 past API_JSON_MAX. */
void api__json_feed(struct api_exchange *ex, const void *data, size_t len);
/* Parse the accumulated body as an object whose members are all in fields[]
 * with the right types. *out is a new reference, or NULL for an empty body.
 * False after answering 400. */
bool api__json_parse(struct api_exchange *ex, const struct api_field *fields,
                     size_t nfields, struct json_t **out);
/* A member already checked to be API_FIELD_U64. */
uint64_t api__json_u64(struct json_t *v);
/* Answer status with obj (stolen) as an application/json body. */
/* Serialise obj (stolen; NULL is taken as out of memory) compactly with a
 * final newline as the response body. False when out of memory. */
bool api__body_json(struct api_exchange *ex, const char *content_type,
                    struct json_t *obj);
void api__respond_json(struct api_exchange *ex, enum api_success status,
                       struct json_t *obj);

/* maps.c */
struct json_t *api__mapping_json(const struct api *api,
                                 const struct mc_info *info,
                                 uint64_t mapping_id);
void api__maps_list(struct api_exchange *ex, const struct api_request *req);
void api__map_get(struct api_exchange *ex, const struct api_request *req);
void api__map_put_start(struct api_exchange *ex, const struct api_request *r);
void api__map_put_end(struct api_exchange *ex);
void api__map_patch_end(struct api_exchange *ex);
void api__map_delete(struct api_exchange *ex, const struct api_request *r);

/* data.c (reads) and data_put.c (writes) */
void api__data_get(struct api_exchange *ex, const struct api_request *req);
void api__data_put_start(struct api_exchange *ex,
                         const struct api_request *req);
void api__data_put_body(struct api_exchange *ex, const void *data, size_t len);
void api__data_put_end(struct api_exchange *ex);
void api__data_put_free(struct api_exchange *ex, bool completed);
/* objects.c: GET and PUT of /objects/{offset}. */
void api__object_get(struct api_exchange *ex);
void api__object_put_start(struct api_exchange *ex,
                           const struct api_request *req);
void api__object_put_end(struct api_exchange *ex);

/* data_patch.c: PATCH of /data, sharing struct api_put (and its free). */
void api__data_patch_start(struct api_exchange *ex,
                           const struct api_request *req);
void api__data_patch_body(struct api_exchange *ex, const void *data,
                          size_t len);
void api__data_patch_end(struct api_exchange *ex);

/* body.c: response bodies over a mapping. A plan lists the body as text
 * pieces and mapping slices in order. */
struct api_plan_seg {
    const char *text; /* into plan->text, or NULL for a mapping slice */
    uint64_t off;     /* mapping offset, or offset into the text */
    uint64_t len;
    uint64_t pos; /* where the segment starts in the body */
};
struct api_plan {
    struct api_plan_seg *seg; /* malloc'ed */
    size_t nseg;
    char *text; /* malloc'ed, may be NULL */
    uint64_t total;
};
void api__plan_free(struct api_plan *plan);
/* Turn plan (stolen, freed on failure too) into ex's response body over m:
 * pinned views when small enough, a reader otherwise, and always a reader
 * for HEAD. seq is the resize sequence (mc_state) the plan was made with:
 * a streamed body stops (the connection is cut) once it changes. Returns
 * MC_OK or the core's error (nothing installed then). */
enum mc_err api__body_from_plan(struct api_exchange *ex, struct mc_mapping *m,
                                struct api_plan *plan, uint64_t seq);

/* body_snapshot.c: the bytes of the plan's mapping slices, summed
 * (UINT64_MAX on overflow); and a body copied out of m at once under the
 * range lock, for plans with at most the atomic-write limit of mapping
 * bytes. Steals plan as api__body_from_plan does. */
uint64_t api__plan_mapping_bytes(const struct api_plan *plan);
enum mc_err api__body_snapshot(struct api_exchange *ex, struct mc_mapping *m,
                               struct api_plan *plan);

/* flush.c, service.c, metrics.c */
void api__flush_end(struct api_exchange *ex);
void api__healthz(struct api_exchange *ex);
void api__readyz(struct api_exchange *ex);
void api__info(struct api_exchange *ex);
void api__metrics_get(struct api_exchange *ex);
void api__metrics_unacknowledged(struct api *api);

/* Fill buf with n random bytes: getrandom, or a clock-and-counter mix when
 * the kernel has none to give (boundaries and nonces need to be unlikely to
 * collide, not secret). Can't fail. */
void api__random(void *buf, size_t n);

#endif
