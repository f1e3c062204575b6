/* datawrite.c - what the byte writes of /data share: PUT (data_put.c) and
 * PATCH (data_patch.c) each keep their own state, and call these for the
 * checks and the bookkeeping that must be the same for both.
 */
#include "internal.h"

bool api__write_need_map(struct api_exchange *ex)
{
    if (ex->map_rc == MC_ENOTFOUND && ex->cond.if_match.present) {
        api__fail(ex, API_EPRECONDITION, "If-Match: no such mapping");
        return false;
    }
    return api__need_map(ex);
}

bool api__write_allowed(struct api_exchange *ex)
{
    if (mc_mapping_protection(ex->map) == MC_PROT_READONLY) {
        api__fail_mc(ex, MC_ERDONLY);
        return false;
    }
    return api__check_if_match(ex);
}

void api__write_acknowledge(struct api_exchange *ex,
                            struct api_write_track *t, uint64_t off,
                            uint64_t len, uint64_t gen)
{
    char etag[API_ETAG_MAX];
    enum mc_err rc = mc_mapping_write_done(ex->map, off, len);

    if (rc != MC_OK) {
        api__fail_mc(ex, rc);
        return;
    }
    t->acknowledged = true;
    api__etag(ex->api, mc_mapping_id(ex->map), gen, etag);
    api__respond(ex, API_S_NO_CONTENT);
    api__header(ex, "ETag", "%s", etag);
}

void api__write_track_free(struct api_exchange *ex,
                           const struct api_write_track *t, bool completed)
{
    if (t->written && (!completed || !t->acknowledged))
        api__metrics_unacknowledged(ex->api);
}
