/* maps.c - /v1/maps and /v1/maps/{name}: create or open, list, metadata,
 * resize and close (the CreateFileMapping / OpenFileMapping / CloseHandle
 * side of the model).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "internal.h"

/* RFC 3339 UTC with milliseconds ("2026-11-24T01:02:03.456Z"). Floor
 * division keeps instants before 1970 right, not that any should occur. */
json_t *api__time_json(int64_t ms)
{
    int64_t sec = ms / 1000;
    int64_t milli = ms % 1000;
    time_t t;
    struct tm tm;
    char buf[64];

    if (milli < 0) {
        milli += 1000;
        sec -= 1;
    }
    t = (time_t)sec;
    if (gmtime_r(&t, &tm) == NULL)
        return json_null();
    snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int)milli);
    return json_string(buf);
}

/* jansson integers are signed 64-bit; our figures never approach 2^63, but
 * clamp rather than let a cast produce a negative number on the wire. */
static json_t *u64_json(uint64_t v)
{
    return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

json_t *api__mapping_json(const struct api *api, const struct mc_info *info,
                          uint64_t mapping_id)
{
    char etag[API_ETAG_MAX];
    json_t *out;

    api__etag(api, mapping_id, info->generation, etag);
    out = json_pack(
        "{s:s, s:s, s:o?, s:o, s:s, s:s, s:b, s:s, s:o?, s:o?, s:o, s:o, s:o,"
        " s:b, s:s}",
        "name", info->name, "backing", mc_backing_name(info->backing), "file",
        info->backing == MC_BACKING_MEMORY ? json_null()
                                           : json_string(info->file),
        "size", u64_json(info->size), "protection",
        mc_protection_name(info->protection), "allocation",
        mc_allocation_name(info->allocation), "writethrough",
        (int)info->writethrough, "etag", etag, "created_at",
        api__time_json(info->created_at_ms), "modified_at",
        api__time_json(info->modified_at_ms), "views_cached",
        u64_json(info->views_cached), "bytes_read", u64_json(info->bytes_read),
        "bytes_written", u64_json(info->bytes_written), "damaged",
        (int)info->damaged, "content_type", info->content_type);
    /* Only a snapshot has these (README "Snapshots"): the name may no longer
     * exist, and the ETag is the one its 201 gave, whatever restarts since
     * changed in the source's. */
    if (out != NULL && info->source[0] != '\0' &&
        (json_object_set_new(out, "source", json_string(info->source)) != 0 ||
         json_object_set_new(out, "source_etag",
                             json_string(info->source_etag)) != 0)) {
        json_decref(out);
        out = NULL;
    }
    return out;
}

/* GET /v1/maps?prefix=P&limit=N&after=NAME: one page of the listing (API.md
 * "Listing at scale"), names in byte order.
 *
 * With tokens, a page shows only names the caller may read (names are data
 * too), so a page of the catalog can hold fewer readable names than limit.
 * The handler reads catalog pages until it has limit readable names, the
 * names run out, or it has looked at LIST_SCAN_MAX names; `next` is the last
 * name it looked at (readable or not) when names remain past it, else null.
 * Every name sorts after the previous page's `next` and at or before this
 * one's, so a client that follows `next` sees each readable name exactly
 * once, even when a page comes back short or empty; and one request's work
 * stays bounded however few names a token may read. */
#define LIST_LIMIT_DEFAULT 1000
#define LIST_LIMIT_MAX 10000
#define LIST_SCAN_MAX 100000

/* A query argument that must fit a name's length; false after a 400. */
static bool list_arg(struct api_exchange *ex, const char *v, const char *key)
{
    if (v != NULL && strlen(v) > MC_NAME_MAX) {
        api__fail(ex, API_EQUERY, "%s is longer than a name can be", key);
        return false;
    }
    return true;
}

static void maps_list(struct api_exchange *ex,
                      const struct api_request *req)
{
    const char *prefix = req->query(req->conn, "prefix");
    const char *after = req->query(req->conn, "after");
    const char *ql = req->query(req->conn, "limit");
    char cursor[MC_NAME_MAX + 1] = "";
    uint64_t limit = LIST_LIMIT_DEFAULT;
    size_t got = 0, scanned = 0;
    bool more = true;
    json_t *arr, *next;

    if (ql != NULL &&
        (!api_parse_u64(ql, &limit) || limit < 1 || limit > LIST_LIMIT_MAX)) {
        api__fail(ex, API_EQUERY, "limit must be an integer from 1 to %d",
                  LIST_LIMIT_MAX);
        return;
    }
    if (!list_arg(ex, prefix, "prefix") || !list_arg(ex, after, "after"))
        return;
    if (after != NULL)
        memcpy(cursor, after, strlen(after) + 1);
    arr = json_array();
    while (arr != NULL && more && got < limit && scanned < LIST_SCAN_MAX) {
        struct mc_info *infos = NULL;
        size_t count = 0, i;
        enum mc_err rc = mc_catalog_list_page(ex->api->cat, prefix, cursor,
                                              (size_t)(limit - got), &infos,
                                              &count, &more);

        if (rc != MC_OK) {
            json_decref(arr);
            api__fail_mc(ex, rc);
            return;
        }
        for (i = 0; i < count; i++) {
            struct mc_mapping *m = NULL;
            json_t *item;

            memcpy(cursor, infos[i].name, sizeof(infos[i].name));
            scanned++;
            if (!api__may(ex, API_PERM_READ, infos[i].name))
                continue;
            /* mc_info carries no mapping id, which the ETag needs; a
             * mapping removed since the page was read is left out. */
            if (mc_catalog_get(ex->api->cat, infos[i].name, &m) != MC_OK)
                continue;
            item = api__mapping_json(ex->api, &infos[i], mc_mapping_id(m));
            mc_mapping_unref(m);
            if (json_array_append_new(arr, item) != 0) {
                json_decref(arr);
                arr = NULL;
                break;
            }
            got++;
        }
        free(infos);
    }
    /* A NULL arr or next (out of memory) makes json_pack fail, and a NULL
     * object makes api__respond_json answer 500. */
    next = more ? json_string(cursor) : json_null();
    api__respond_json(ex, API_S_OK,
                      json_pack("{s:o, s:o}", "maps", arr, "next", next));
}

const struct api_handler api__op_maps_list = {0, maps_list, NULL, NULL, NULL};

/* Answer with the metadata of m (200 or 201), ETag header included. created
 * is NULL for plain metadata, else the "created" member's value. */
static void respond_mapping(struct api_exchange *ex, struct mc_mapping *m,
                            enum api_success status, const bool *created)
{
    struct mc_info info;
    char etag[API_ETAG_MAX];
    uint64_t id = mc_mapping_id(m);
    json_t *obj;

    mc_mapping_info(m, &info);
    api__etag(ex->api, id, info.generation, etag);
    obj = api__mapping_json(ex->api, &info, id);
    /* The lease shows with one mapping's metadata, not in the listing. */
    if (obj != NULL &&
        json_object_set_new(obj, "lease", api__lease_json(m)) != 0) {
        json_decref(obj);
        obj = NULL;
    }
    if (obj != NULL && created != NULL &&
        json_object_set_new(obj, "created", json_boolean(*created)) != 0) {
        json_decref(obj);
        obj = NULL;
    }
    api__validators(ex, etag, info.modified_at_ms);
    if (status == API_S_CREATED)
        api__header(ex, "Location", "/v1/maps/%s", ex->name);
    api__respond_json(ex, status, obj);
}

static void map_get(struct api_exchange *ex, const struct api_request *req)
{
    struct mc_mapping *m;
    char etag[API_ETAG_MAX];
    int64_t modified;
    uint64_t gen;

    if (!api__need_map(ex))
        return;
    m = ex->map;
    /* The metadata's validators are the bytes' (its ETag and time change
     * with them), so a client polling either revalidates the same way. The
     * live figures in the body (bytes read, views) change without them: a
     * 304 means "nothing about the mapping itself changed". */
    modified = mc_mapping_modified_ms(m);
    gen = mc_mapping_generation(m);
    api__etag(ex->api, mc_mapping_id(m), gen, etag);
    if (api__etags_match(&ex->cond.if_none_match, mc_mapping_id(m), gen)) {
        api__respond(ex, API_S_NOT_MODIFIED);
        api__validators(ex, etag, modified);
        api__watch_offer(ex, req, gen);
    } else if (api__not_modified_since(ex, modified)) {
        api__respond(ex, API_S_NOT_MODIFIED);
        api__validators(ex, etag, modified);
    } else {
        respond_mapping(ex, m, API_S_OK, NULL);
    }
}

const struct api_handler api__op_map_get = {0, map_get, NULL, NULL, NULL};

/* The state of PUT /v1/maps/{name}. */
struct map_put_state {
    bool create_only; /* If-None-Match: * */
};

static void map_put_start(struct api_exchange *ex, const struct api_request *r)
{
    struct map_put_state *st = api__state(ex);
    const char *inm = r->header(r->conn, "If-None-Match");

    if (!api__json_start(ex, r))
        return;
    /* Only "*" is meaningful on a create: any ETag list would have to match
     * a mapping that this request may be about to create. */
    if (inm != NULL) {
        const char *p = inm + strspn(inm, " \t");

        if (p[0] != '*' || p[1 + strspn(p + 1, " \t")] != '\0') {
            api__fail(ex, API_EPRECONDITION,
                      "only If-None-Match: * is supported here");
            return;
        }
        st->create_only = true;
    }
    ex->wants_body = true;
}

static const struct api_field create_fields[] = {
    {"backing", API_FIELD_STRING, false},
    {"file", API_FIELD_STRING, true},
    {"size", API_FIELD_U64, false},
    {"protection", API_FIELD_STRING, false},
    {"allocation", API_FIELD_STRING, false},
    {"writethrough", API_FIELD_BOOL, false},
    {"content_type", API_FIELD_STRING, false},
};

/* The "content_type" member of obj: NULL when absent, else the media type
 * (borrowed from obj). *ok is false after answering 400 for a value that
 * is no media type: it is sent back as a header, so nothing else may pass
 * (api_media_type_valid). */
static const char *content_type_field(struct api_exchange *ex, json_t *obj,
                                      bool *ok)
{
    json_t *v = obj != NULL ? json_object_get(obj, "content_type") : NULL;
    const char *s = v != NULL ? json_string_value(v) : NULL;

    *ok = true;
    if (s == NULL)
        return NULL;
    if (!api_media_type_valid(s, json_string_length(v))) {
        api__fail(ex, API_EFIELD,
                  "field \"content_type\" is not a media type (type/subtype "
                  "with optional ;name=value parameters, printable ASCII, at "
                  "most %d bytes)",
                  API_MEDIA_TYPE_MAX);
        *ok = false;
    }
    return s;
}

/* Options from the Win32 model that have no meaning for a data service:
 * executable views and image sections. They are refused as unsupported,
 * not as unknown, so a client learns why. */
static bool is_unsupported(const char *field, const char *v)
{
    if (strcmp(field, "protection") == 0)
        return strncmp(v, "execute", 7) == 0 || strncmp(v, "image", 5) == 0;
    if (strcmp(field, "backing") == 0)
        return strcmp(v, "image") == 0 || strcmp(v, "image_no_execute") == 0;
    return false;
}

/* Look value up among the names nameof(0..n) return; -1 when absent. */
static int enum_lookup(const char *value, const char *(*nameof)(int), int n)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(nameof(i), value) == 0)
            return i;
    }
    return -1;
}

static const char *backing_name(int i)
{
    return mc_backing_name((enum mc_backing)i);
}
static const char *protection_name(int i)
{
    return mc_protection_name((enum mc_protection)i);
}
static const char *allocation_name(int i)
{
    return mc_allocation_name((enum mc_allocation)i);
}

/* Read an enum member of obj into *out, setting bit in spec->given.
 * False after answering 400. */
static bool enum_field(struct api_exchange *ex, json_t *obj, const char *key,
                       const char *(*nameof)(int), int n, int *out,
                       unsigned bit, struct mc_spec *spec)
{
    json_t *v = json_object_get(obj, key);
    const char *s;
    int i;

    if (v == NULL)
        return true;
    s = json_string_value(v);
    if (is_unsupported(key, s)) {
        api__fail(ex, API_ERR_MC(MC_EUNSUPPORTED),
                  "%s \"%.32s\" has no meaning for mmapd", key, s);
        return false;
    }
    i = enum_lookup(s, nameof, n);
    if (i < 0) {
        api__fail(ex, API_EFIELD, "field \"%s\" has an unknown value", key);
        return false;
    }
    *out = i;
    spec->given |= bit;
    return true;
}

/* Fill spec from the request body (NULL: all defaults). False after
 * answering 400. The spec borrows strings from obj. */
static bool spec_from_json(struct api_exchange *ex, json_t *obj,
                           struct mc_spec *spec)
{
    int backing = MC_BACKING_FILE;
    int prot = MC_PROT_READWRITE;
    int alloc = MC_ALLOC_COMMIT;
    json_t *v;
    bool ok;

    memset(spec, 0, sizeof(*spec));
    if (obj == NULL)
        return true;
    if (!enum_field(ex, obj, "backing", backing_name, 2, &backing,
                    MC_SPEC_BACKING, spec) ||
        !enum_field(ex, obj, "protection", protection_name, 3, &prot,
                    MC_SPEC_PROTECTION, spec) ||
        !enum_field(ex, obj, "allocation", allocation_name, 2, &alloc,
                    MC_SPEC_ALLOCATION, spec))
        return false;
    spec->backing = (enum mc_backing)backing;
    spec->protection = (enum mc_protection)prot;
    spec->allocation = (enum mc_allocation)alloc;

    v = json_object_get(obj, "file");
    if (v != NULL && !json_is_null(v)) {
        if (spec->backing == MC_BACKING_MEMORY) {
            api__fail(ex, API_EFIELD,
                      "field \"file\" is for file backings only");
            return false;
        }
        spec->file = json_string_value(v);
        spec->given |= MC_SPEC_FILE;
    }
    v = json_object_get(obj, "size");
    if (v != NULL) {
        spec->size = api__json_u64(v);
        spec->given |= MC_SPEC_SIZE;
    }
    v = json_object_get(obj, "writethrough");
    if (v != NULL) {
        spec->writethrough = json_is_true(v);
        spec->given |= MC_SPEC_WRITETHROUGH;
    }
    spec->content_type = content_type_field(ex, obj, &ok);
    if (!ok)
        return false;
    if (spec->content_type != NULL)
        spec->given |= MC_SPEC_CONTENT_TYPE;
    return true;
}

/* 507 memory_limit with the figures an operator needs to tell a full
 * budget from a request too large for any budget (mc_memory.h). */
static void fail_memory(struct api_exchange *ex, uint64_t need)
{
    struct mc_memory_stats st;

    mc_catalog_memory(ex->api->cat, &st);
    api__fail(ex, API_ERR_MC(MC_EMEMLIMIT),
              "memory-backed mappings may take %" PRIu64
              " bytes in total (--max-memory) and %" PRIu64
              " are in use; this request needs %" PRIu64 " more",
              st.budget_bytes, st.used_bytes, need);
}

/* spec->may_share: the caller may share a backing file only with mappings
 * it may write. Without this, a scoped admin ("write": ["app-"]) creating
 * "app-shared" with no "file" would get, by the default derived from the
 * name, the file of a mapping outside its scope that names "app-shared"
 * explicitly, and read, write and truncate those bytes. The catalog applies
 * it to the file itself (links included) on create (an open chooses no
 * file), under its create lock (mc_catalog.h). */
static bool may_share(void *cls, const char *name)
{
    return api__may(cls, API_PERM_WRITE, name);
}

static void forbid_put(struct api_exchange *ex, const char *what)
{
    api__fail(ex, API_EFORBIDDEN, "this token may not %s \"%s\"", what,
              ex->name);
}

/* Creating needs admin on the name. Choosing the backing file needs more:
 * a scoped admin ("write": ["app-"]) could otherwise map the file behind a
 * name outside its scope under a name inside it, and read or write those
 * bytes. So an explicit "file" on a create needs admin on every name. */
static bool may_create(const struct api_exchange *ex,
                       const struct mc_spec *spec)
{
    if (!api__may(ex, API_PERM_ADMIN, ex->name))
        return false;
    return (spec->given & MC_SPEC_FILE) == 0 ||
           ex->auth_tokens == NULL ||
           api_token_may_all(ex->auth_token, API_PERM_ADMIN);
}

/* PUT /v1/maps/{name} opens an existing name (needs read) or creates a new
 * one (needs admin). A token with both may do either; with only one of
 * them, make the catalog do only that: create-only when it may not read,
 * and a prior existence check when it may not create (the rare race with
 * a concurrent DELETE is undone after the create). False after answering
 * 403. */
static bool may_open_or_create(struct api_exchange *ex,
                               const struct mc_spec *spec, bool *create_only)
{
    bool read = api__may(ex, API_PERM_READ, ex->name);
    bool create = may_create(ex, spec);
    struct mc_mapping *m = NULL;

    if (!read && !create) {
        forbid_put(ex, "open (needs read) or create (needs admin; an "
                       "explicit \"file\" needs admin on every name)");
        return false;
    }
    if (!read)
        *create_only = true;
    if (!create) {
        if (mc_catalog_get(ex->api->cat, ex->name, &m) != MC_OK) {
            forbid_put(ex, "create (needs admin; an explicit \"file\" "
                           "needs admin on every name)");
            return false;
        }
        mc_mapping_unref(m);
    }
    return true;
}

static void map_put_end(struct api_exchange *ex)
{
    const struct map_put_state *st = api__state(ex);
    json_t *obj = NULL;
    struct mc_spec spec;
    struct mc_mapping *m = NULL;
    bool created = false;
    bool create_only = st->create_only;
    enum mc_err rc;

    if (!api__json_parse(ex, create_fields,
                         sizeof(create_fields) / sizeof(create_fields[0]),
                         &obj))
        return;
    if (!spec_from_json(ex, obj, &spec))
        goto out;
    if (!may_open_or_create(ex, &spec, &create_only))
        goto out;
    if ((spec.given & MC_SPEC_BACKING) && spec.backing == MC_BACKING_MEMORY &&
        (spec.given & MC_SPEC_WRITETHROUGH) && spec.writethrough) {
        /* mapcore refuses it too; this only says why. */
        api__fail(ex, API_ERR_MC(MC_EUNSUPPORTED),
                  "a memory mapping has no stable storage to write through "
                  "to; its bytes end with the process");
        goto out;
    }
    if (ex->auth_tokens != NULL) {
        spec.may_share = may_share;
        spec.share_cls = ex;
    }
    rc = mc_catalog_create(ex->api->cat, ex->name, &spec, create_only, &m,
                           &created);
    if (rc == MC_EEXIST && create_only && !st->create_only) {
        forbid_put(ex, "open (needs read)");
        goto out;
    }
    if (rc == MC_OK && created && !may_create(ex, &spec)) {
        /* The name vanished between the existence check and the create
         * (a concurrent DELETE): this token may not create it, so undo.
         * The backing file is kept, as a DELETE without unlink keeps it. */
        mc_mapping_unref(m);
        m = NULL;
        (void)mc_catalog_remove(ex->api->cat, ex->name, false);
        forbid_put(ex, "create (needs admin)");
        goto out;
    }
    if (rc == MC_EMEMLIMIT) {
        fail_memory(ex, spec.size);
        goto out;
    }
    if (rc != MC_OK) {
        api__fail_mc(ex, rc);
        goto out;
    }
    respond_mapping(ex, m, created ? API_S_CREATED : API_S_OK, &created);
    mc_mapping_unref(m);
out:
    json_decref(obj);
}

const struct api_handler api__op_map_put = {
    sizeof(struct map_put_state), map_put_start, api__json_feed, map_put_end,
    NULL,
};

static const struct api_field resize_fields[] = {
    {"size", API_FIELD_U64, false},
    {"content_type", API_FIELD_STRING, false},
};

static void map_patch_end(struct api_exchange *ex)
{
    json_t *obj = NULL;
    json_t *size;
    const char *ctype;
    struct mc_mapping *m;
    enum mc_err rc;
    bool ok;

    if (!api__json_parse(ex, resize_fields, 2, &obj))
        return;
    size = obj != NULL ? json_object_get(obj, "size") : NULL;
    ctype = content_type_field(ex, obj, &ok);
    if (!ok)
        goto out;
    if (size == NULL && ctype == NULL) {
        api__fail(ex, API_EFIELD,
                  "field \"size\" or \"content_type\" is required");
        goto out;
    }
    if (!api__need_map(ex))
        goto out;
    m = ex->map;
    /* The resize first: it is the change that can be refused (a full
     * disk, a shared file), and then nothing has changed at all. */
    rc = size != NULL ? mc_mapping_resize(m, api__json_u64(size)) : MC_OK;
    if (rc == MC_OK && ctype != NULL)
        rc = mc_mapping_set_content_type(m, ctype);
    if (rc == MC_EMEMLIMIT && size != NULL) {
        uint64_t want = api__json_u64(size), now = mc_mapping_size(m);

        fail_memory(ex, want > now ? want - now : 0);
        goto out;
    }
    if (rc != MC_OK) {
        api__fail_mc(ex, rc);
        goto out;
    }
    respond_mapping(ex, m, API_S_OK, NULL);
out:
    json_decref(obj);
}

const struct api_handler api__op_map_patch = {
    0, api__json_start_checked, api__json_feed, map_patch_end, NULL,
};

static void map_delete(struct api_exchange *ex, const struct api_request *r)
{
    const char *unlink_arg = r->query(r->conn, "unlink");
    bool unlink_file = false;
    enum mc_err rc;

    if (unlink_arg != NULL) {
        if (strcmp(unlink_arg, "true") == 0) {
            unlink_file = true;
        } else if (strcmp(unlink_arg, "false") != 0) {
            api__fail(ex, API_EQUERY, "unlink must be true or false");
            return;
        }
    }
    if (!api__check_if_match(ex))
        return;
    /* The exchange's reference would keep the mapping (and its memory
     * budget) alive until the response is sent; the delete is done when it
     * is answered. */
    mc_mapping_unref(ex->map);
    ex->map = NULL;
    rc = mc_catalog_remove(ex->api->cat, ex->name, unlink_file);
    if (rc != MC_OK) {
        api__fail_mc(ex, rc);
        return;
    }
    api__respond(ex, API_S_NO_CONTENT);
}

const struct api_handler api__op_map_delete = {0, map_delete, NULL, NULL,
                                               NULL};
