/* objects.c - /v1/maps/{name}/objects/{offset}: JSON values stored in a
 * mapping as self-describing records (format in objrec.c).
 *
 * PUT serialises the body compactly and writes the record with one write
 * (api__write_checked), so it is atomic like any write up to the atomic limit
 * (records are at most 64 KiB of JSON), and a matched If-Match is checked
 * again atomically with it. ?dry_run=true performs every check
 * a real PUT would (404, 403, 412, 416) and answers 200 with the same
 * figures instead of writing: the Size(object) analogue.
 *
 * GET reads the header, then the whole record in one mc_mapping_read (so a
 * concurrent PUT of the same record is seen entirely or not at all), and
 * answers the stored JSON. Anything that is not a valid record - bad magic,
 * version or flags, a length past the end of the mapping or above the JSON
 * limit, a checksum mismatch, text that is not JSON - is 404 no_object.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "internal.h"

/* The record of the exchange's offset must lie inside the mapping; false
 * after answering 416. */
/* The state of PUT of an object. */
struct object_put_state {
    bool dry_run; /* ?dry_run=true */
};

static bool record_fits(struct api_exchange *ex, uint64_t total,
                        uint64_t size)
{
    uint64_t end;

    if (__builtin_add_overflow(ex->obj_offset, total, &end) || end > size) {
        api__fail(ex, API_ERR_MC(MC_ERANGE),
                  "a record of %" PRIu64 " bytes at %" PRIu64
                  " does not fit in the mapping's %" PRIu64 " bytes",
                  total, ex->obj_offset, size);
        api__header_keep(ex, "Content-Range", "bytes */%" PRIu64, size);
        return false;
    }
    return true;
}

static void object_put_start(struct api_exchange *ex,
                             const struct api_request *req)
{
    struct object_put_state *st = api__state(ex);
    const char *dry = req->query(req->conn, "dry_run");

    if (dry != NULL && strcmp(dry, "true") != 0 && strcmp(dry, "false") != 0) {
        api__fail(ex, API_EQUERY, "dry_run is true or false");
        return;
    }
    st->dry_run = dry != NULL && strcmp(dry, "true") == 0;
    if (!api__json_start(ex, req) || !api__need_map(ex))
        return;
    if (!st->dry_run && mc_mapping_protection(ex->map) == MC_PROT_READONLY) {
        api__fail_mc(ex, MC_ERDONLY);
        return;
    }
    if (!api__check_if_match(ex))
        return;
    ex->wants_body = true;
}

static void object_put_end(struct api_exchange *ex)
{
    const struct object_put_state *st = api__state(ex);
    struct mc_mapping *m = ex->map;
    json_t *v = NULL;
    json_t *out = NULL;
    json_error_t jerr;
    char *text = NULL;
    uint8_t *rec = NULL;
    uint64_t total = 0;
    size_t len;
    char etag[API_ETAG_MAX];
    uint64_t gen = 0;
    enum mc_err rc;

    v = json_loadb(ex->json != NULL ? ex->json : "", ex->json_len,
                   JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (v == NULL) {
        api__fail(ex, API_EJSON, "the body is not JSON: %s", jerr.text);
        goto out;
    }
    /* The compact serialisation is what is stored (API.md), whatever
     * whitespace the client sent. */
    text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (text == NULL) {
        api__fail(ex, API_EINTERNAL, "out of memory");
        goto out;
    }
    len = strlen(text);
    /* The compact form can be longer than what was sent (jansson prints
     * reals with 17 significant digits), and GET refuses a record holding
     * more than API_JSON_MAX bytes of JSON: storing one would write a
     * record no GET could ever return. */
    if (len > API_JSON_MAX || !api_object_record_size(len, &total)) {
        api__fail(ex, API_EBODYTOOBIG,
                  "the object's compact JSON takes %zu bytes; at most %zu "
                  "can be stored",
                  len, API_JSON_MAX);
        goto out;
    }
    if (!record_fits(ex, total, mc_mapping_size(m)))
        goto out;
    if (!st->dry_run) {
        rec = malloc((size_t)total);
        if (rec == NULL || !api_object_encode(text, len, rec, (size_t)total)) {
            api__fail(ex, API_EINTERNAL, "out of memory");
            goto out;
        }
        struct mc_range r = {ex->obj_offset, (size_t)total};
        const void *src[1] = {rec};

        rc = api__write_checked(ex, &r, 1, src, &gen);
        if (rc == MC_OK)
            rc = mc_mapping_write_done(m, ex->obj_offset, total);
        if (rc != MC_OK) {
            api__fail_write(ex, rc);
            goto out;
        }
    }
    out = json_pack("{s:I, s:I, s:I}", "offset", (json_int_t)ex->obj_offset,
                    "length", (json_int_t)total, "next",
                    (json_int_t)(ex->obj_offset + total));
    if (!st->dry_run) {
        api__etag(ex->api, mc_mapping_id(m), gen, etag);
        api__header(ex, "ETag", "%s", etag);
    }
    api__respond_json(ex, st->dry_run ? API_S_OK : API_S_CREATED, out);
out:
    json_decref(v);
    free(text);
    free(rec);
}

const struct api_handler api__op_object_put = {
    sizeof(struct object_put_state), object_put_start, api__json_feed,
    object_put_end, NULL,
};

static void object_get(struct api_exchange *ex, const struct api_request *req)
{
    struct mc_mapping *m;
    uint8_t hdr[API_OBJECT_HEADER];
    uint8_t *rec = NULL;
    uint64_t size;
    uint64_t json_len;
    uint64_t end;
    const char *json;
    size_t jlen;
    json_t *check = NULL;
    enum mc_err rc;

    (void)req;
    if (!api__need_map(ex))
        return;
    m = ex->map;
    size = mc_mapping_size(m);
    if (__builtin_add_overflow(ex->obj_offset, (uint64_t)API_OBJECT_HEADER,
                               &end) ||
        end > size)
        goto none;
    rc = mc_mapping_read(m, ex->obj_offset, hdr, sizeof(hdr));
    if (rc != MC_OK)
        goto fail;
    if (!api_object_header_parse(hdr, sizeof(hdr), &json_len) ||
        json_len > API_JSON_MAX ||
        end + json_len > size)
        goto none;
    rec = malloc(API_OBJECT_HEADER + (size_t)json_len);
    if (rec == NULL) {
        rc = MC_ENOMEM;
        goto fail;
    }
    /* Header and JSON again in one read: one snapshot of the record. */
    rc = mc_mapping_read(m, ex->obj_offset, rec,
                         API_OBJECT_HEADER + (size_t)json_len);
    if (rc != MC_OK)
        goto fail;
    if (!api_object_verify(rec, API_OBJECT_HEADER + (size_t)json_len, &json,
                           &jlen))
        goto none;
    /* A checksum is no proof of JSON: never answer application/json with
     * something that is not. */
    check = json_loadb(json, jlen, JSON_DECODE_ANY, NULL);
    if (check == NULL)
        goto none;
    json_decref(check);
    if (!api__body_copy(ex, "application/json", json, jlen)) {
        rc = MC_ENOMEM;
        goto fail;
    }
    api__respond(ex, API_S_OK);
    goto out;
none:
    api__fail(ex, API_ENOOBJECT, "no valid object record starts at %" PRIu64,
              ex->obj_offset);
    goto out;
fail:
    api__fail_mc(ex, rc);
out:
    free(rec);
}

const struct api_handler api__op_object_get = {0, object_get, NULL, NULL,
                                               NULL};
