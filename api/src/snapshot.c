/* snapshot.c - POST /v1/maps/{name}/snapshot: a new read-only file mapping
 * holding the bytes of {name} at one instant (mapcore/mc_snapshot.h).
 *
 * The body is {"as": "NEW", "file": "optional/path"} (the file defaults to
 * the name, as for a create, and must not exist). Needs read on {name}, and
 * admin with write on NEW: it creates a mapping. Answers 201 with NEW's
 * metadata, which names "source" and "source_etag" (the ETag of the
 * source's bytes the snapshot holds; kept in the catalog record, so every
 * later GET gives the same), plus "copy" (reflink, copy_file_range or copy) and
 * "writers_held_us", how long writes to the source waited for it (in
 * microseconds); Location names NEW.
 */
#include <jansson.h>

#include "internal.h"
#include "mapcore/mc_snapshot.h"

static const struct api_field snapshot_fields[] = {
    {"as", API_FIELD_STRING, false},
    {"file", API_FIELD_STRING, true},
};

/* The source's ETag at the generation copied, as every answer gives it. */
static void source_etag(void *cls, struct mc_mapping *src, uint64_t generation,
                        char out[MC_ETAG_MAX + 1])
{
    char etag[API_ETAG_MAX];

    api__etag(cls, mc_mapping_id(src), generation, etag);
    snprintf(out, MC_ETAG_MAX + 1, "%s", etag);
}

static void snapshot_end(struct api_exchange *ex)
{
    json_t *obj = NULL;
    json_t *v;
    json_t *out = NULL;
    char as[MC_NAME_MAX + 1];
    char file[MC_PATH_MAX + 1];
    bool has_file = false;
    struct mc_snapshot_report rep;
    struct mc_mapping *snap = NULL;
    struct mc_info info;
    char etag[API_ETAG_MAX];
    enum mc_err rc;

    if (!api__json_parse(ex, snapshot_fields, 2, &obj))
        return;
    v = obj != NULL ? json_object_get(obj, "as") : NULL;
    if (v == NULL || json_string_length(v) > MC_NAME_MAX) {
        json_decref(obj);
        api__fail(ex, v == NULL ? API_EFIELD : API_ERR_MC(MC_ENAME),
                  v == NULL ? "as (the new mapping's name) is required"
                            : "names are at most %d bytes",
                  MC_NAME_MAX);
        return;
    }
    snprintf(as, sizeof(as), "%s", json_string_value(v));
    v = json_object_get(obj, "file");
    if (v != NULL && !json_is_null(v)) {
        if (json_string_length(v) > MC_PATH_MAX) {
            json_decref(obj);
            api__fail_mc(ex, MC_EPATH);
            return;
        }
        snprintf(file, sizeof(file), "%s", json_string_value(v));
        has_file = true;
    }
    json_decref(obj);
    if (!api__may(ex, API_PERM_ADMIN, as)) {
        api__fail(ex, API_EFORBIDDEN,
                  "this token may not create \"%s\" (needs admin and write "
                  "on the name)",
                  as);
        return;
    }
    if (!api__need_map(ex))
        return;
    rc = mc_catalog_snapshot(ex->api->cat, ex->map, as, has_file ? file : NULL,
                             source_etag, (void *)ex->api, &rep, &snap);
    if (rc != MC_OK) {
        api__fail_mc(ex, rc);
        return;
    }
    mc_mapping_info(snap, &info);
    api__etag(ex->api, mc_mapping_id(snap), info.generation, etag);
    /* The metadata names source and source_etag (from the record). */
    out = api__mapping_json(ex->api, &info, mc_mapping_id(snap));
    if (out != NULL &&
        json_object_update_new(
            out, json_pack("{s:s, s:I}", "copy",
                           mc_snapshot_method_name(rep.method),
                           "writers_held_us",
                           (json_int_t)rep.writers_held_us)) != 0) {
        json_decref(out);
        out = NULL;
    }
    mc_mapping_unref(snap);
    api__header(ex, "ETag", "%s", etag);
    api__header(ex, "Location", "/v1/maps/%s", as);
    api__respond_json(ex, API_S_CREATED, out);
}

const struct api_handler api__op_snapshot = {
    0, api__json_start_checked, api__json_feed, snapshot_end, NULL,
};
