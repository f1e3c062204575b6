/* flush.c - POST /v1/maps/{name}/flush: FlushViewOfFile.
 *
 * The optional body {"offset": O, "length": L} narrows the flush; without it
 * the whole mapping is flushed. An explicit length of 0 flushes nothing,
 * whereas the core reads 0 as "to the end": the JSON field means what it
 * says, and "to the end" is spelled by leaving length out.
 *
 * A memory mapping answers 400 unsupported whatever the range: it has no
 * stable storage, and {"flushed": 0} would read as "nothing was dirty".
 */
#include <inttypes.h>

#include <jansson.h>

#include "internal.h"

static const struct api_field flush_fields[] = {
    {"offset", API_FIELD_U64, false},
    {"length", API_FIELD_U64, false},
};

static void flush_end(struct api_exchange *ex)
{
    json_t *obj = NULL;
    json_t *v;
    struct mc_mapping *m;
    uint64_t off = 0;
    uint64_t len = 0;
    bool len_given = false;
    uint64_t end;
    uint64_t size;
    uint64_t flushed = 0;
    struct mc_info info;
    enum mc_err rc;

    if (!api__json_parse(ex, flush_fields, 2, &obj))
        return;
    v = obj != NULL ? json_object_get(obj, "offset") : NULL;
    if (v != NULL)
        off = api__json_u64(v);
    v = obj != NULL ? json_object_get(obj, "length") : NULL;
    if (v != NULL) {
        len = api__json_u64(v);
        len_given = true;
    }
    json_decref(obj);

    if (!api__need_map(ex))
        return;
    m = ex->map;
    mc_mapping_info(m, &info);
    if (info.backing == MC_BACKING_MEMORY) {
        /* Checked before the range: whatever was asked, the answer is that
         * nothing can ever be flushed (api/openapi.yaml, flushMapping). */
        api__fail(ex, API_ERR_MC(MC_EUNSUPPORTED),
                  "a memory mapping has no stable storage: nothing can be "
                  "flushed, and its bytes end with the process");
        return;
    }
    size = mc_mapping_size(m);
    if (!len_given)
        len = off <= size ? size - off : 0;
    if (off > size || __builtin_add_overflow(off, len, &end) || end > size) {
        api__fail(ex, API_ERR_MC(MC_ERANGE),
                  "the range lies outside the mapping's %" PRIu64 " bytes",
                  size);
        return;
    }
    if (len > 0) {
        rc = mc_mapping_flush(m, off, len, &flushed);
        if (rc != MC_OK) {
            api__fail_mc(ex, rc);
            return;
        }
    }
    api__respond_json(ex, API_S_OK,
                      json_pack("{s:I}", "flushed", (json_int_t)flushed));
}

const struct api_handler api__op_flush = {
    0, api__json_start_checked, api__json_feed, flush_end, NULL,
};
