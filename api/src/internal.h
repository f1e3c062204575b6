/* internal.h - what the files of api/ share and nobody else sees.
 *
 * Functions here take the double-underscore prefix (api__) that marks them
 * as "not API", as libuv does.
 *
 * The operations are rows of one table (ops.c): a route, the methods, the
 * scope a token needs, and the handler, which lives in its own file with
 * its own state (struct api_handler). exchange.c runs any row the same way:
 * it looks the {name} mapping up once, parses the conditional headers once
 * and holds a write to the mapping's lease, then calls the handler's
 * start, body, end and free.
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
#include "mapcore/mc_lease.h"
#include "mapcore/mc_words.h"

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
    API_S_ACCEPTED = 202,
    API_S_NO_CONTENT = 204,
    API_S_PARTIAL = 206,
    API_S_NOT_MODIFIED = 304,
    API_S_PERMANENT_REDIRECT = 308, /* /ui to /ui/ (ui.c) */
};

/* The resources, one per path pattern (router.c); also the metrics'
 * "route" label, so their labels never change. */
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
    API_ROUTE_ATOMIC,
    API_ROUTE_LEASE,
    API_ROUTE_UI, /* /ui, /ui/ and /ui/{asset}: the inspector (ui.c) */
    API_ROUTE_EXTENTS,
    API_ROUTE_ZERO,
    API_ROUTE_EVENTS,
    API_ROUTE_SNAPSHOT,
    API_ROUTE_COUNT,
    API_ROUTE_ANY = API_ROUTE_COUNT /* an operation row valid on every route */
};

/* Method sets of the operation table. */
#define API_M(m) (1u << (m))
#define API_M_GET (API_M(API_METHOD_GET) | API_M(API_METHOD_HEAD))
#define API_M_PUT API_M(API_METHOD_PUT)
#define API_M_PATCH API_M(API_METHOD_PATCH)
#define API_M_POST API_M(API_METHOD_POST)
#define API_M_DELETE API_M(API_METHOD_DELETE)
#define API_M_OPTIONS API_M(API_METHOD_OPTIONS)

/* What a token needs for an operation (access.c). The rules come from the
 * README's "Security" section. */
enum api_scope {
    API_SCOPE_TOKEN, /* any valid token (none on the open routes) */
    API_SCOPE_READ,  /* read on {name} */
    API_SCOPE_WRITE, /* write on {name} */
    API_SCOPE_ADMIN, /* admin flag plus write on {name} */
    /* PUT /v1/maps/{name}: opening needs read, creating needs admin; which
     * one happens shows only at the end, so maps.c makes the final call. */
    API_SCOPE_READ_OR_ADMIN,
    /* POST .../atomic: a load needs read, every other operation write;
     * which ones a batch holds shows only in its body, so atomic.c makes
     * the final call. */
    API_SCOPE_READ_OR_WRITE,
};

struct api_exchange;
struct api_request;

/* A handler: its callbacks and the size of its private state, which the
 * exchange allocates zeroed with itself (api__state). Each handler file
 * defines its own as `const struct api_handler api__op_<name>` and ops.c
 * names it in its row; no prototype is needed anywhere else.
 *  - start: the headers are in. Answer (api__respond, api__fail) or set
 *    ex->wants_body. Runs after authorization, with ex->map looked up when
 *    the row asks for it.
 *  - body: a chunk of the request body (NULL: the handler takes none).
 *  - end: the body is complete; answer.
 *  - free: the exchange ends (completed: its response was sent whole);
 *    release what the state holds. May be NULL. */
struct api_handler {
    size_t state_size;
    void (*start)(struct api_exchange *ex, const struct api_request *req);
    void (*body)(struct api_exchange *ex, const void *data, size_t len);
    void (*end)(struct api_exchange *ex);
    void (*free)(struct api_exchange *ex, bool completed);
};

/* One row of the operation table (ops.c). */
struct api_op {
    enum api_route route; /* or API_ROUTE_ANY */
    unsigned methods;     /* API_M_* */
    enum api_scope scope;
    /* What a 403 says the token may not do ("this token may not %s"),
     * NULL for API_SCOPE_TOKEN. */
    const char *denied;
    /* Look the {name} mapping up at start (ex->map, ex->map_rc) and parse
     * the conditional headers (ex->cond). */
    bool map;
    /* A write: held to the mapping's lease before start (api__lease_admit;
     * needs map). */
    bool lease;
    const struct api_handler *handler;
};

/* ops.c: the row for method on route, NULL when there is none; and the
 * Allow header value of a route (every method of its rows, in a fixed
 * order), written into out. */
const struct api_op *api__op_find(enum api_route route,
                                  enum api_method method);
void api__allow(enum api_route route, char *out, size_t size);

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

/* The CORS policy (cors.c): the listed origins in browser form, and
 * whether "*" was listed. Fixed after api_create. */
struct api_cors {
    char (*origins)[API_ORIGIN_MAX + 1];
    size_t count;
    bool any;
};

struct api {
    struct mc_catalog *cat; /* borrowed */
    struct api_cors cors;
    uint64_t max_body;
    uint64_t atomic_write_max;
    /* Fixed for the catalog's life, read once (body.c): the view size and
     * the most mapping bytes a zero-copy body may hold pinned. */
    uint64_t view_size;
    uint64_t pin_limit;
    unsigned max_ranges;
    unsigned threads;
    unsigned max_connections;
    unsigned max_wait_s; /* the cap of Prefer: wait; 0: never wait */
    /* The server's watch callback (watch.c), set before serving. */
    api_watch_fn *watch_fn;
    void *watch_cls;
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

/* An If-Match or If-None-Match header, parsed once into numbers
 * (api_etag_list_parse): "*" or the tags of ours it lists. */
struct api_etags {
    bool present;
    bool any; /* "*" */
    size_t n;
    struct api_etag *v; /* into small[] or malloc'ed */
    struct api_etag small[4];
};

/* The conditional headers of the request (precond.c). */
struct api_cond {
    struct api_etags if_match;      /* strong comparison */
    struct api_etags if_none_match; /* weak comparison */
    bool has_if_range;
    bool if_range_ours;             /* If-Range is one of our strong tags: */
    struct api_etag if_range;       /* this one */
    /* If-Modified-Since and If-Unmodified-Since, in seconds since the
     * epoch; absent when missing, malformed or later than the server's
     * clock when parsed (sections 13.1.3 and 13.1.4 ignore those). */
    bool has_ims;
    int64_t ims;
    bool has_ius;
    int64_t ius;
    /* api__check_if_match passed; the next write checks If-Match and
     * If-None-Match again under its lock (api__write_checked), then clears
     * it, so a streamed body is tested with its first chunk only. */
    bool armed;
};

struct api_exchange {
    struct api *api;
    const struct api_op *op; /* NULL when the router answered */
    enum api_method method;
    enum api_route route;
    char name[MC_NAME_MAX + 1]; /* decoded, validated {name} */
    uint64_t obj_offset;        /* {offset} of /objects/{offset} */
    bool wants_body;
    bool ready; /* resp holds the answer */
    /* The {name} mapping, for rows with map set: looked up once when the
     * headers arrive, a reference held until the exchange ends, so the
     * whole request works on one mapping. map_rc is the lookup's result
     * (map is NULL unless MC_OK); a handler answers it when it needs the
     * mapping (api__need_map). */
    struct mc_mapping *map;
    enum mc_err map_rc;
    struct api_cond cond;
    /* The Lease-Id header of a row with map (lease.c): has_lease_id when
     * given; lease_id_long when longer than any lease id can be. */
    bool has_lease_id;
    bool lease_id_long;
    char lease_id[MC_LEASE_ID_MAX + 1];
    /* Authentication, see access.c: the table the exchange was checked
     * against (a new reference, dropped at free; NULL when anonymous) and
     * the caller's entry in it. */
    struct api_tokens *auth_tokens;
    const struct api_token *auth_token;
    char *json; /* JSON request body, at most API_JSON_MAX (json.c) */
    size_t json_len;
    /* The Content-Digest of the request body being checked (digest.c),
     * NULL when the request carries none. */
    struct api_digest *digest;
    /* Bytes of the body budget this exchange holds for its body buffer
     * (the handler's or json; bodymem.h), given back by api_exchange_free. */
    uint64_t body_reserved;
    struct api_response resp;
    /* cors.c: the Access-Control-Allow-Origin this exchange's Origin earns
     * (into api->cors, or "*"; NULL: none), and whether it was added. */
    const char *cors_allow;
    bool cors_done;
    /* Bit i set: resp.headers[i] survives api__fail (api__header_keep). */
    uint32_t keep;
    char content_type[MC_CONTENT_TYPE_MAX + 1]; /* resp.content_type */
    /* Watch (watch.c): the seconds this exchange would wait for ex->map
     * to leave generation wait_gen (0: it answers now); and, for a request
     * asked again after a wait, the seconds it waited. */
    unsigned wait_s;
    uint64_t wait_gen;
    bool waited;
    unsigned waited_s;
    bool watching;
    /* The handler's private state, op->handler->state_size bytes. */
    _Alignas(max_align_t) unsigned char state[];
};

/* The handler's state of ex. */
static inline void *api__state(struct api_exchange *ex)
{
    return ex->state;
}

/* ex->map, or false after answering the lookup's error (404, ...). */
bool api__need_map(struct api_exchange *ex);

/* exchange.c: building the response. */
void api__respond(struct api_exchange *ex, enum api_success status);
void api__response_reset(struct api_exchange *ex);
/* Add a header; value longer than the slot is cut (never happens for the
 * values we produce, which are bounded). False when no slot is left. A
 * later api__fail drops it: it describes the answer being prepared. Never
 * Content-Type, which has api__content_type. */
bool api__header(struct api_exchange *ex, const char *name, const char *fmt,
                 ...) __attribute__((format(printf, 3, 4)));
/* The same for a header that holds for any answer, an error included
 * (Allow, an ETag a 412 reports, WWW-Authenticate, Retry-After, the size in
 * a 416's Content-Range): api__fail keeps it, before or after. */
bool api__header_keep(struct api_exchange *ex, const char *name,
                      const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The one way to set the response's Content-Type. fmt without a '%' must
 * be a static string (it is used as is, not copied). */
void api__content_type(struct api_exchange *ex, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
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
/* api__fail with more members in the problem object: those of extra (a
 * JSON object, stolen; NULL adds none), for answers that carry data a
 * client acts on (the current words of a failed cas). */
struct json_t;
void api__fail_extra(struct api_exchange *ex, enum api_err err,
                     struct json_t *extra, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* router.c: which route and row a request names. Matching needs no
 * exchange, so the exchange can be allocated with the row's state. */
struct api_match {
    enum api_route route;
    const struct api_op *op; /* NULL: no row for this method */
    const char *name;        /* raw {name} segment, or NULL */
    size_t name_len;
    const char *offset; /* raw {offset} segment, or NULL */
    size_t offset_len;
};
void api__route_match(const struct api_request *req, struct api_match *m);
/* Take m into ex: authenticate, then answer 404, 405 (with Allow) or 400
 * for a bad {name} or {offset}. False after answering. */
bool api__route_admit(struct api_exchange *ex, const struct api_request *req,
                      const struct api_match *m);
const char *api__route_label(enum api_route r);
enum api_route api__route_from_label(const char *label);
/* Routes open to everyone, tokens or not (/healthz, /readyz). */
bool api__route_open(enum api_route r);

/* access.c: who may do what. api__authenticate runs in the router once
 * the route is known (everything but the open routes needs a token when a
 * table is set); api__authorize once the row and name are, by the row's
 * scope. Both answer 401 or 403 themselves and return false then.
 * api__may is true for everything when the api is anonymous. */
bool api__authenticate(struct api_exchange *ex, const struct api_request *req);
bool api__authorize(struct api_exchange *ex);
bool api__may(const struct api_exchange *ex, enum api_perm perm,
              const char *name);
void api__auth_release(struct api_exchange *ex);

/* cors.c: the CORS policy. api__cors_start (first in the router) notes
 * whether the Origin is allowed and answers a preflight itself (true then);
 * api__cors_finish adds the CORS headers to the final response, once. */
int api__cors_init(struct api_cors *c, const char *const *origins, size_t n);
void api__cors_free(struct api_cors *c);
bool api__cors_start(struct api_exchange *ex, const struct api_request *req);
void api__cors_finish(struct api_exchange *ex);

/* precond.c: ETags and the conditional headers of RFC 9110 section 13. */
void api__etag(const struct api *api, uint64_t mapping_id, uint64_t generation,
               char out[API_ETAG_MAX]);
/* Parse If-Match, If-None-Match, If-Range, If-Modified-Since and
 * If-Unmodified-Since into ex->cond, once, before any lock. False after
 * answering 500 (out of memory). */
bool api__conditions_parse(struct api_exchange *ex,
                           const struct api_request *req);
/* Whether the list names (id, gen): "*" names anything. */
bool api__etags_match(const struct api_etags *l, uint64_t id, uint64_t gen);
/* Whether If-Range names exactly (id, gen). */
bool api__if_range_holds(const struct api_exchange *ex, uint64_t id,
                         uint64_t gen);
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
bool api__not_modified_since(const struct api_exchange *ex,
                             int64_t modified_ms);
/* If-Unmodified-Since (section 13.1.4): true when the request carries a
 * valid date, no If-Match (which takes precedence), and the mapping has
 * changed since that date: answer 412. */
bool api__unmodified_since_fails(const struct api_exchange *ex,
                                 int64_t modified_ms);
/* Evaluate If-Match (or, without it, If-Unmodified-Since), then
 * If-None-Match, on an unsafe request to ex->map, at the start of the
 * exchange (RFC 9110 section 13.2.2: any failing is 412). Returns false
 * after answering 412/... */
bool api__check_if_match(struct api_exchange *ex);
/* Write the n ranges to ex->map as one atomic write. When
 * api__check_if_match armed the exchange, the write happens only if
 * If-Match/If-None-Match still hold for the generation the write finds,
 * comparing numbers under the mapping's lock (else MC_EPRECONDITION,
 * nothing written); a write that lands disarms it, so a streamed body is
 * tested with its first chunk only. *gen gets the generation this write
 * produced (for the ETag); may be NULL. */
enum mc_err api__write_checked(struct api_exchange *ex,
                               const struct mc_range *r, size_t n,
                               const void *const src[], uint64_t *gen);
/* mc_mapping_words on ex->map with the armed conditions tested under the
 * batch's lock, as api__write_checked does for bytes (mc_words.h). */
enum mc_err api__words_checked(struct api_exchange *ex, struct mc_word *w,
                               size_t n, struct mc_words_result *res);
/* api__fail_mc, plus the current ETag of ex->map when err is
 * MC_EPRECONDITION. */
void api__fail_write(struct api_exchange *ex, enum mc_err err);
/* Free what the parsed conditions hold (exchange free). */
void api__conditions_free(struct api_exchange *ex);

/* datawrite.c: what the byte writes of /data (data_put.c, data_patch.c)
 * share. Each keeps a track in its own state. */
struct api_write_track {
    bool written;      /* some bytes reached the mapping */
    bool acknowledged; /* answered 204 */
};
/* ex->map for a write: 412 when it is missing and If-Match was given,
 * else the lookup's error. False after answering. */
bool api__write_need_map(struct api_exchange *ex);
/* 403 for a read-only mapping, then api__check_if_match. False after
 * answering. */
bool api__write_allowed(struct api_exchange *ex);
/* Complete the write (mc_mapping_write_done of [off, off+len)) and answer
 * 204 with the ETag of generation gen. */
void api__write_acknowledge(struct api_exchange *ex,
                            struct api_write_track *t, uint64_t off,
                            uint64_t len, uint64_t gen);
/* At free: a write that landed but was never acknowledged is counted. */
void api__write_track_free(struct api_exchange *ex,
                           const struct api_write_track *t, bool completed);

/* json.c. jansson's json_t is "struct json_t"; naming the tag keeps
 * jansson.h out of the files that don't use it. */
struct json_t;
enum api_field_type {
    API_FIELD_STRING,
    API_FIELD_U64,
    API_FIELD_BOOL,
    API_FIELD_INT, /* any integer, negative ones included */
};
struct api_field {
    const char *name;
    enum api_field_type type;
    bool nullable; /* null counts as absent */
};
/* Check Content-Encoding and Content-Length of a JSON body at start; false
 * after answering. */
bool api__json_start(struct api_exchange *ex, const struct api_request *req);
/* The start of a JSON operation on an existing mapping: api__json_start,
 * then api__check_if_match; asks for the body when both pass. */
void api__json_start_checked(struct api_exchange *ex,
                             const struct api_request *req);
/* Accumulate a body chunk; answers 413 past API_JSON_MAX. */
void api__json_feed(struct api_exchange *ex, const void *data, size_t len);
/* Parse the accumulated body as an object whose members are all in fields[]
 * with the right types. *out is a new reference, or NULL for an empty body.
 * False after answering 400. */
bool api__json_parse(struct api_exchange *ex, const struct api_field *fields,
                     size_t nfields, struct json_t **out);
/* A member already checked to be API_FIELD_U64. */
uint64_t api__json_u64(struct json_t *v);
/* A member already checked to be API_FIELD_INT. */
int64_t api__json_int(struct json_t *v);
/* Serialise obj (stolen; NULL is taken as out of memory) compactly with a
 * final newline as the response body. False when out of memory. */
bool api__body_json(struct api_exchange *ex, const char *content_type,
                    struct json_t *obj);
void api__respond_json(struct api_exchange *ex, enum api_success status,
                       struct json_t *obj);

/* atomicbody.c: the body of POST .../atomic (api/openapi.yaml,
 * atomicWords) into out[0..*n), at most MC_WORDS_MAX operations. False
 * with the error to answer and its detail in *e. Pure: no exchange, no
 * mapping; safe from any thread. */
struct api_atomic_error {
    enum api_err err;
    char why[192];
};
bool api__atomic_parse(const char *json, size_t len, struct mc_word *out,
                       size_t *n, struct api_atomic_error *e);

/* lease.c: the lease of a write. Copy the Lease-Id header of req into ex
 * (the exchange does it for every row with map); then, for a write to
 * ex->map (the exchange calls it for rows with lease, atomic.c for a batch
 * that stores), answer 412 lease_id_missing, lease_mismatch or
 * lease_not_present unless the write may go ahead under the mapping's
 * lease. A missing mapping passes (the handler answers it). False after
 * answering. */
void api__lease_header(struct api_exchange *ex, const struct api_request *req);
bool api__lease_admit(struct api_exchange *ex);
/* {"state", "expires_at", "epoch"} of m's lease now. New reference, or
 * NULL when out of memory. */
struct json_t *api__lease_json(struct mc_mapping *m);

/* watch.c: the 304 of a GET or HEAD whose If-None-Match matched
 * generation gen of ex->map is ready; when the request prefers to wait
 * (Prefer: wait=N, README "Watch") and may, record the wait, which the
 * server then carries out instead of sending the 304. */
void api__watch_offer(struct api_exchange *ex, const struct api_request *req,
                      uint64_t gen);
/* Add Preference-Applied to the answer of a request asked again after its
 * wait (exchange.c, once per answer). */
void api__watch_applied(struct api_exchange *ex);

/* maps.c: RFC 3339 UTC with milliseconds, as every time in a body. New
 * reference. */
struct json_t *api__time_json(int64_t ms);

/* maps.c: the metadata object of a mapping (also used by the listing). */
struct json_t *api__mapping_json(const struct api *api,
                                 const struct mc_info *info,
                                 uint64_t mapping_id);
/* bytes_headers.c: the headers of an answer made of a mapping's bytes. The
 * mapping's own content type (whole and single-range answers), and the two
 * headers that keep a browser from running those bytes as the server's own
 * page (every GET/HEAD of /data, whatever its status). */
void api__bytes_content_type(struct api_exchange *ex, struct mc_mapping *m);
void api__bytes_guard(struct api_exchange *ex);

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

/* rangecheck.c: true when [off, off+len) lies inside size; else false
 * after answering 416 with the Content-Range that gives the size. */
bool api__range_inside(struct api_exchange *ex, uint64_t off, uint64_t len,
                       uint64_t size);

/* digest.c: RFC 9530 digests. A hash of one algorithm over bytes fed in
 * pieces (nettle's SHA-2). */
struct api_hash;
struct api_digest;
struct api_hash *api__hash_new(enum api_digest_alg alg); /* NULL: no memory */
void api__hash_init(struct api_hash *h, enum api_digest_alg alg);
void api__hash_update(struct api_hash *h, const void *data, size_t len);
/* The digest into out; returns its length. h must be initialised again
 * before it is fed more. */
size_t api__hash_final(struct api_hash *h, uint8_t out[API_DIGEST_MAX]);
/* The request side, run by exchange.c for every row whose handler takes a
 * body: parse Content-Digest when the headers arrive (false after
 * answering 400 digest_invalid, or digest_unsupported with
 * Want-Content-Digest), hash each chunk before the handler sees it, and
 * check before the handler's end step (false after answering 400
 * digest_mismatch). Free at the end of the exchange. */
bool api__digest_request_start(struct api_exchange *ex,
                               const struct api_request *req);
void api__digest_request_feed(struct api_exchange *ex, const void *data,
                              size_t len);
bool api__digest_request_check(struct api_exchange *ex);
void api__digest_free(struct api_exchange *ex);
/* Add "Content-Digest: <alg>=:<base64>:" for digest (the algorithm's
 * length in bytes). */
void api__digest_header(struct api_exchange *ex, enum api_digest_alg alg,
                        const uint8_t *digest);
/* The response side: add Content-Digest of the body ex holds now. A body
 * copied into memory is hashed as it is; a reader body is read once to
 * hash it, then wrapped so that bytes that changed before they were sent
 * cut the connection instead of ending under a wrong digest. MC_OK, or
 * MC_ENOMEM, or MC_EIO when the body could not be read through (a resize
 * ran: the caller plans again). */
enum mc_err api__digest_response(struct api_exchange *ex,
                                 enum api_digest_alg alg);

/* metrics.c */
void api__metrics_unacknowledged(struct api *api);

/* Fill buf with n random bytes: getrandom, or a clock-and-counter mix when
 * the kernel has none to give (boundaries and nonces need to be unlikely to
 * collide, not secret). Can't fail. */
void api__random(void *buf, size_t n);

#endif
