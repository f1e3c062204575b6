/* watch.c - GET with If-None-Match and Prefer: wait (README "Watch").
 *
 * The api decides whether a request waits and, afterwards, answers it
 * again; the waiting itself (no worker thread held, the bound, deadlines,
 * shutdown) is the server's (server/waiters.h). A request waits only when
 *   - it is a GET or HEAD of /data or of the mapping, and its
 *     If-None-Match lists the mapping's current ETag (not "*": that
 *     matches for as long as the mapping exists, so no write could end the
 *     wait), so its answer would be 304;
 *   - it carries Prefer: wait=N with N > 0, and the server allows waits
 *     (--max-wait > 0; N is capped to it);
 *   - it has not waited already.
 * Its answer after the wait is made afresh: 200/206 with the new bytes when
 * the ETag moved, 404 when the mapping was deleted, 304 again on timeout;
 * each with Preference-Applied: wait=N (N as applied), which tells the
 * client the server did wait.
 */
#include <string.h>

#include "mapcore/mc_watch.h"

#include "internal.h"

void api__watch_offer(struct api_exchange *ex, const struct api_request *req,
                      uint64_t gen)
{
    const char *prefer;
    uint32_t n;

    ex->wait_s = 0;
    if (ex->waited || ex->api->max_wait_s == 0 || ex->cond.if_none_match.any ||
        ex->map == NULL)
        return;
    prefer = req->header(req->conn, "Prefer");
    if (prefer == NULL || !api_prefer_wait(prefer, strlen(prefer), &n) ||
        n == 0)
        return;
    ex->wait_s = n < ex->api->max_wait_s ? n : ex->api->max_wait_s;
    ex->wait_gen = gen;
}

void api__watch_applied(struct api_exchange *ex)
{
    if (!ex->waited)
        return;
    ex->waited = false; /* once */
    api__header_keep(ex, "Preference-Applied", "wait=%u", ex->waited_s);
}

bool api_exchange_wait(const struct api_exchange *ex, unsigned *seconds)
{
    if (ex == NULL || ex->wait_s == 0 || ex->map == NULL || !ex->ready ||
        ex->resp.status != API_S_NOT_MODIFIED)
        return false;
    *seconds = ex->wait_s;
    return true;
}

const void *api_exchange_wait_key(const struct api_exchange *ex)
{
    return ex->map;
}

void api_exchange_watch(struct api_exchange *ex, bool on)
{
    if (ex == NULL || ex->map == NULL || ex->watching == on)
        return;
    ex->watching = on;
    mc_mapping_watch(ex->map, on);
}

bool api_exchange_changed(const struct api_exchange *ex)
{
    return mc_mapping_changed(ex->map, ex->wait_gen);
}

/* mapcore's callback: the change's details are for the events stream; a
 * waiter needs only the key. */
static void on_change(void *cls, struct mc_mapping *m,
                      const struct mc_change *c)
{
    struct api *api = cls;

    (void)c;
    api->watch_fn(api->watch_cls, m);
}

void api_set_watch(struct api *api, api_watch_fn *fn, void *cls)
{
    api->watch_fn = fn;
    api->watch_cls = cls;
    mc_catalog_set_watch(api->cat, fn != NULL ? on_change : NULL, api);
}
