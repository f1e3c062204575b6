/* atomic.c - POST /v1/maps/{name}/atomic: Interlocked* on mapped words.
 *
 * The body (atomicbody.c) is one operation or a batch; the core applies it
 * all or nothing with hardware atomics on the mapped words
 * (mapcore/mc_words.h), under the range lock that every byte read and
 * write of the mapping takes too, so a GET never sees half a word.
 *
 * Answers (api/openapi.yaml, atomicWords): 200 {"results": [{"old",
 * "new"}], "etag"} with the ETag header, the tag of the generation the
 * batch left (unchanged when it only loaded). A cas that finds another
 * value is 409 cas_failed and a checked add that would overflow 409
 * overflow, nothing applied; both name the operation ("index") and carry
 * the current value of every operation's word ("current"), so a client can
 * retry at once. If-Match and If-None-Match are tested with the batch,
 * under its lock.
 */
#include <inttypes.h>

#include <jansson.h>

#include "internal.h"

static void atomic_start(struct api_exchange *ex, const struct api_request *req)
{
    api__json_start_checked(ex, req);
}

/* The row lets in a token with read or write on the name; each operation
 * needs its own (README "Security"): checked before the mapping is looked
 * at, so a token learns nothing it may not. False after answering 403. */
static bool may_run(struct api_exchange *ex, const struct mc_word *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        bool load = w[i].op == MC_WORD_LOAD;

        if (!api__may(ex, load ? API_PERM_READ : API_PERM_WRITE, ex->name)) {
            api__fail(ex, API_EFORBIDDEN, "this token may not %s \"%s\"",
                      load ? "read" : "write", ex->name);
            return false;
        }
    }
    return true;
}

/* Whether the batch writes: then it is held to the mapping's lease, as
 * every write (lease.c); a batch of loads is a read, never blocked. */
static bool stores(const struct mc_word *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (w[i].op != MC_WORD_LOAD)
            return true;
    }
    return false;
}

/* The 409 of a cas or a checked add the batch refused. */
static void fail_refused(struct api_exchange *ex, enum mc_err rc,
                         const struct mc_word *w, size_t n,
                         const struct mc_words_result *res)
{
    json_t *extra = json_pack("{s:I}", "index", (json_int_t)res->failed);
    json_t *current = json_array();
    const char *what = rc == MC_ECASFAILED ? "the word holds another value"
                                           : "the add would overflow the word";

    if (res->applied > 0) {
        /* Only a program writing the words outside the server can make an
         * operation fail after the batch was checked. */
        api__fail_extra(ex, API_ERR_MC(rc),
                        json_pack("{s:I, s:I}", "index",
                                  (json_int_t)res->failed, "applied",
                                  (json_int_t)res->applied),
                        "ops[%zu]: %s: another program changed it while the "
                        "batch ran; the %zu operations before it were "
                        "applied",
                        res->failed, what, res->applied);
        json_decref(extra);
        json_decref(current);
        return;
    }
    for (size_t i = 0; i < n && current != NULL; i++)
        json_array_append_new(current, json_integer((json_int_t)w[i].old));
    if (extra != NULL && current != NULL)
        json_object_set(extra, "current", current);
    json_decref(current);
    api__fail_extra(ex, API_ERR_MC(rc), extra,
                    "ops[%zu]: %s; nothing was applied", res->failed, what);
}

static void fail_words(struct api_exchange *ex, enum mc_err rc,
                       const struct mc_word *w, size_t n,
                       const struct mc_words_result *res)
{
    switch (rc) {
    case MC_ECASFAILED:
    case MC_EOVERFLOW:
        fail_refused(ex, rc, w, n, res);
        return;
    case MC_EPRECONDITION:
        api__fail_write(ex, rc);
        return;
    case MC_ERANGE:
        api__fail(ex, API_ERR_MC(rc),
                  "ops[%zu]: the word at %" PRIu64
                  " lies outside the mapping's %" PRIu64 " bytes",
                  res->failed, w[res->failed].off, mc_mapping_size(ex->map));
        return;
    case MC_ERDONLY:
        api__fail(ex, API_ERR_MC(rc),
                  "the mapping is read-only: only load is allowed");
        return;
    default:
        api__fail_mc(ex, rc);
    }
}

static void atomic_end(struct api_exchange *ex)
{
    struct mc_word w[MC_WORDS_MAX];
    struct api_atomic_error e;
    struct mc_words_result res;
    char etag[API_ETAG_MAX];
    uint64_t first = UINT64_MAX;
    uint64_t end = 0;
    json_t *results;
    size_t n;
    enum mc_err rc;

    if (!api__atomic_parse(ex->json, ex->json_len, w, &n, &e)) {
        api__fail(ex, e.err, "%s", e.why);
        return;
    }
    if (!may_run(ex, w, n) || (stores(w, n) && !api__lease_admit(ex)) ||
        !api__need_map(ex))
        return;
    rc = api__words_checked(ex, w, n, &res);
    if (rc != MC_OK) {
        fail_words(ex, rc, w, n, &res);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (w[i].op != MC_WORD_LOAD && w[i].off < first)
            first = w[i].off;
        if (w[i].op != MC_WORD_LOAD && w[i].off + w[i].width > end)
            end = w[i].off + w[i].width;
    }
    /* A writethrough mapping has its words on stable storage before the
     * answer, as it has the bytes of a PUT. */
    if (res.stored) {
        rc = mc_mapping_write_done(ex->map, first, end - first);
        if (rc != MC_OK) {
            api__metrics_unacknowledged(ex->api);
            api__fail_mc(ex, rc);
            return;
        }
    }
    results = json_array();
    for (size_t i = 0; i < n && results != NULL; i++)
        json_array_append_new(results, json_pack("{s:I, s:I}", "old",
                                                 (json_int_t)w[i].old, "new",
                                                 (json_int_t)w[i].new));
    api__etag(ex->api, mc_mapping_id(ex->map), res.generation, etag);
    api__header(ex, "ETag", "%s", etag);
    api__respond_json(
        ex, API_S_OK,
        json_pack("{s:o?, s:s}", "results", results, "etag", etag));
}

const struct api_handler api__op_atomic = {
    0, atomic_start, api__json_feed, atomic_end, NULL,
};
