/* zero.c - POST /v1/maps/{name}/zero: make a range read as zeros, with or
 * without giving its storage back (Azure's "Put Page" with clear).
 *
 * The body is {"offset": O, "length": L, "deallocate": true|false}
 * (deallocate defaults to false). The core zeroes the range holding it
 * exclusively, like a write (mapcore/mc_sparse.h): deallocate punches a
 * hole in a sparse mapping; a commit mapping keeps its blocks reserved
 * whatever was asked, so in-range writes still cannot fail for space.
 * Answers 200 {"zeroed": L, "deallocated": bool, "etag"} with the ETag
 * header; deallocated says whether storage was given back.
 */
#include <inttypes.h>

#include <jansson.h>

#include "internal.h"
#include "mapcore/mc_sparse.h"

static const struct api_field zero_fields[] = {
    {"offset", API_FIELD_U64, false},
    {"length", API_FIELD_U64, false},
    {"deallocate", API_FIELD_BOOL, false},
};

static void zero_end(struct api_exchange *ex)
{
    json_t *obj = NULL;
    json_t *v;
    uint64_t off, len, size, gen = 0;
    bool deallocate = false;
    bool deallocated = false;
    char etag[API_ETAG_MAX];
    enum mc_err rc;

    if (!api__json_parse(ex, zero_fields, 3, &obj))
        return;
    if (obj == NULL || json_object_get(obj, "offset") == NULL ||
        json_object_get(obj, "length") == NULL) {
        json_decref(obj);
        api__fail(ex, API_EFIELD, "offset and length are required");
        return;
    }
    off = api__json_u64(json_object_get(obj, "offset"));
    len = api__json_u64(json_object_get(obj, "length"));
    v = json_object_get(obj, "deallocate");
    deallocate = v != NULL && json_is_true(v);
    json_decref(obj);

    if (!api__need_map(ex))
        return;
    if (mc_mapping_protection(ex->map) == MC_PROT_READONLY) {
        api__fail_mc(ex, MC_ERDONLY);
        return;
    }
    size = mc_mapping_size(ex->map);
    if (!api__range_inside(ex, off, len, size))
        return;
    rc = mc_mapping_zero(ex->map, off, len, deallocate, &deallocated, &gen);
    if (rc != MC_OK) {
        api__fail_mc(ex, rc);
        return;
    }
    api__etag(ex->api, mc_mapping_id(ex->map), gen, etag);
    api__header(ex, "ETag", "%s", etag);
    api__respond_json(ex, API_S_OK,
                      json_pack("{s:I, s:b, s:s}", "zeroed", (json_int_t)len,
                                "deallocated", deallocated, "etag", etag));
}

const struct api_handler api__op_zero = {
    0, api__json_start_checked, api__json_feed, zero_end, NULL,
};
