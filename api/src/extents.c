/* extents.c - GET /v1/maps/{name}/extents: the ranges of a mapping that may
 * hold non-zero bytes (Azure's "Get Page Ranges"), from SEEK_DATA and
 * SEEK_HOLE on its backing (mapcore/mc_sparse.h), page-granular.
 *
 * ?offset=O&length=L narrow the range (default: the whole mapping; outside
 * it 416), ?limit=N caps the extents of one answer (1..API_EXTENTS_MAX,
 * default API_EXTENTS_DEFAULT), and ?after=OFF continues a listing where
 * the "next" of the previous page said. The answer is
 * {"extents": [{"offset", "length"}], "next": OFF|null}: next is null once
 * the range is listed through. Each page is a snapshot of its own moment.
 */
#include <inttypes.h>
#include <stdlib.h>

#include <jansson.h>

#include "internal.h"
#include "mapcore/mc_sparse.h"

#define API_EXTENTS_DEFAULT 1000
#define API_EXTENTS_MAX 10000

/* An optional decimal query argument; false after answering 400. */
static bool query_u64(struct api_exchange *ex, const struct api_request *req,
                      const char *name, bool *given, uint64_t *v)
{
    const char *s = req->query(req->conn, name);

    *given = s != NULL;
    if (s != NULL && !api_parse_u64(s, v)) {
        api__fail(ex, API_EQUERY, "%s must be a decimal integer", name);
        return false;
    }
    return true;
}

static void extents_get(struct api_exchange *ex, const struct api_request *req)
{
    uint64_t off = 0, len = 0, limit = API_EXTENTS_DEFAULT, after = 0;
    bool has_off, has_len, has_limit, has_after;
    uint64_t size, end, next;
    struct mc_range *ext;
    size_t n = 0;
    json_t *list;
    enum mc_err rc;

    if (!query_u64(ex, req, "offset", &has_off, &off) ||
        !query_u64(ex, req, "length", &has_len, &len) ||
        !query_u64(ex, req, "limit", &has_limit, &limit) ||
        !query_u64(ex, req, "after", &has_after, &after))
        return;
    if (limit == 0 || limit > API_EXTENTS_MAX) {
        api__fail(ex, API_EQUERY, "limit is 1 to %d", API_EXTENTS_MAX);
        return;
    }
    if (!api__need_map(ex))
        return;
    size = mc_mapping_size(ex->map);
    if (!has_len)
        len = off <= size ? size - off : 0;
    if (!api__range_inside(ex, off, len, size))
        return;
    end = off + len;
    if (has_after && (after < off || after > end)) {
        api__fail(ex, API_EQUERY,
                  "after must lie in the range listed, %" PRIu64 " to %" PRIu64,
                  off, end);
        return;
    }
    if (!has_after)
        after = off;
    ext = calloc((size_t)limit, sizeof(*ext));
    if (ext == NULL) {
        api__fail(ex, API_EINTERNAL, "out of memory");
        return;
    }
    /* An empty rest lists nothing; mc_mapping_extents reads length 0 as
     * "to the end". */
    rc = after < end ? mc_mapping_extents(ex->map, after, end - after, ext,
                                          (size_t)limit, &n, &next)
                     : (next = UINT64_MAX, MC_OK);
    if (rc != MC_OK) {
        free(ext);
        api__fail_mc(ex, rc);
        return;
    }
    list = json_array();
    for (size_t i = 0; list != NULL && i < n; i++) {
        if (json_array_append_new(
                list, json_pack("{s:I, s:I}", "offset", (json_int_t)ext[i].off,
                                "length", (json_int_t)ext[i].len)) != 0) {
            json_decref(list);
            list = NULL;
        }
    }
    free(ext);
    api__respond_json(ex, API_S_OK,
                      list == NULL
                          ? NULL
                          : json_pack("{s:o, s:o}", "extents", list, "next",
                                      next == UINT64_MAX
                                          ? json_null()
                                          : json_integer((json_int_t)next)));
}

const struct api_handler api__op_extents = {0, extents_get, NULL, NULL, NULL};
