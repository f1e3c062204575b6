/* store.c - the catalog file, <data>/.mmapd/catalog.json.
 *
 *   {"format": "mmapd-catalog", "version": 1,
 *    "mappings": [{"name", "file", "size", "protection", "allocation",
 *                  "writethrough", "created_at_ms", "modified_at_ms",
 *                  "content_type"}]}
 *
 * "content_type" came later: an entry without it (a catalog written by an
 * older mmapd) loads with the default, application/octet-stream.
 *
 * Loading is strict: anything unexpected makes the whole file MC_ECORRUPT
 * and the caller refuses to start, because starting with a partial catalog
 * and then persisting it would silently drop the mappings we could not read.
 * Saving replaces the file atomically (temp file, fsync, rename, fsync of
 * the directory), so a crash leaves either the old or the new catalog.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MC_CATALOG_FORMAT "mmapd-catalog"
#define MC_CATALOG_VERSION 1
#define MC_CATALOG_TMP "catalog.json.tmp"
/* A catalog entry is well under 2 KiB; this allows a few hundred thousand. */
#define MC_CATALOG_MAX_BYTES (512u << 20)

static bool parse_protection(const char *s, enum mc_protection *out)
{
    static const enum mc_protection all[] = {
        MC_PROT_READONLY, MC_PROT_READWRITE, MC_PROT_WRITECOPY};

    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(s, mc_protection_name(all[i])) == 0) {
            *out = all[i];
            return true;
        }
    }
    return false;
}

static bool parse_allocation(const char *s, enum mc_allocation *out)
{
    if (strcmp(s, mc_allocation_name(MC_ALLOC_COMMIT)) == 0)
        *out = MC_ALLOC_COMMIT;
    else if (strcmp(s, mc_allocation_name(MC_ALLOC_SPARSE)) == 0)
        *out = MC_ALLOC_SPARSE;
    else
        return false;
    return true;
}

/* One entry of "mappings"; false when anything is missing or malformed. */
static bool parse_entry(json_t *e, struct mc_info *out)
{
    const char *name = NULL, *file = NULL, *prot = NULL, *alloc = NULL;
    const char *ctype = MC_CONTENT_TYPE_DEFAULT;
    size_t name_len = 0, file_len = 0;
    json_int_t size = 0, created = 0, modified = 0;
    int writethrough = 0;
    json_error_t err;

    if (json_unpack_ex(e, &err, JSON_STRICT,
                       "{s:s%, s:s%, s:I, s:s, s:s, s:b, s:I, s:I, s?:s}",
                       "name",
                       &name, &name_len, "file", &file, &file_len, "size",
                       &size, "protection", &prot, "allocation", &alloc,
                       "writethrough", &writethrough, "created_at_ms", &created,
                       "modified_at_ms", &modified, "content_type",
                       &ctype) != 0)
        return false;
    if (!mc_name_valid(name, name_len) || !mc_path_valid(file, file_len) ||
        size <= 0 || !mc_content_type_valid(ctype))
        return false;
    memset(out, 0, sizeof *out);
    memcpy(out->content_type, ctype, strlen(ctype));
    if (!parse_protection(prot, &out->protection) ||
        !parse_allocation(alloc, &out->allocation))
        return false;
    memcpy(out->name, name, name_len);
    memcpy(out->file, file, file_len);
    out->backing = MC_BACKING_FILE;
    out->size = (uint64_t)size;
    out->writethrough = writethrough != 0;
    out->created_at_ms = (int64_t)created;
    out->modified_at_ms = (int64_t)modified;
    return true;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct mc_info *)a)->name,
                  ((const struct mc_info *)b)->name);
}

static enum mc_err parse(const char *text, size_t len, struct mc_info **out,
                         size_t *count)
{
    enum mc_err rc = MC_ECORRUPT;
    struct mc_info *items = NULL;
    const char *format = NULL;
    json_int_t version = 0;
    json_t *mappings = NULL;
    json_error_t err;
    size_t n = 0;
    /* JSON_REJECT_DUPLICATES: two "size" keys would be ambiguous. */
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);

    if (!root)
        goto cleanup;
    if (json_unpack_ex(root, &err, 0, "{s:s, s:I, s:o}", "format", &format,
                       "version", &version, "mappings", &mappings) != 0)
        goto cleanup;
    if (strcmp(format, MC_CATALOG_FORMAT) != 0 ||
        version != MC_CATALOG_VERSION || !json_is_array(mappings))
        goto cleanup;
    n = json_array_size(mappings);
    if (n > 0) {
        items = calloc(n, sizeof *items);
        if (!items) {
            rc = MC_ENOMEM;
            goto cleanup;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!parse_entry(json_array_get(mappings, i), &items[i]))
            goto cleanup;
    }
    /* Sorted, so a duplicate name sits next to its twin. */
    if (n > 1)
        qsort(items, n, sizeof *items, by_name);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(items[i - 1].name, items[i].name) == 0)
            goto cleanup;
    }
    *out = items;
    *count = n;
    items = NULL;
    rc = MC_OK;
cleanup:
    free(items);
    json_decref(root);
    return rc;
}

enum mc_err mc__store_load(int datafd, struct mc_info **out, size_t *count)
{
    enum mc_err rc;
    int metafd = -1;
    bool created = false;
    char *text = NULL;
    size_t len = 0;

    *out = NULL;
    *count = 0;
    rc = mc__sys_open_subdir(datafd, MC_RESERVED_DIR, false, &metafd, &created);
    if (rc == MC_ENOFILE)
        return MC_OK; /* a fresh data directory */
    if (rc != MC_OK)
        return rc;
    rc = mc__sys_read_file(metafd, MC_CATALOG_FILE, MC_CATALOG_MAX_BYTES, &text,
                           &len);
    if (rc == MC_ENOFILE) {
        rc = MC_OK;
        goto cleanup;
    }
    if (rc == MC_ETOOBIG)
        rc = MC_ECORRUPT;
    if (rc != MC_OK)
        goto cleanup;
    rc = parse(text, len, out, count);
cleanup:
    free(text);
    mc__sys_close(metafd);
    return rc;
}

static json_t *entry_json(const struct mc_info *in)
{
    return json_pack("{s:s, s:s, s:I, s:s, s:s, s:b, s:I, s:I, s:s}", "name",
                     in->name, "file", in->file, "size", (json_int_t)in->size,
                     "protection", mc_protection_name(in->protection),
                     "allocation", mc_allocation_name(in->allocation),
                     "writethrough", in->writethrough, "created_at_ms",
                     (json_int_t)in->created_at_ms, "modified_at_ms",
                     (json_int_t)in->modified_at_ms, "content_type",
                     in->content_type);
}

enum mc_err mc__store_save(int datafd, const struct mc_info *items,
                           size_t count)
{
    enum mc_err rc = MC_ENOMEM;
    json_t *root = NULL;
    json_t *mappings = json_array();
    char *text = NULL;
    int metafd = -1;
    bool created = false;

    if (!mappings)
        goto cleanup;
    for (size_t i = 0; i < count; i++) {
        if (items[i].backing != MC_BACKING_FILE)
            continue; /* memory contents die with the process anyway */
        if (json_array_append_new(mappings, entry_json(&items[i])) != 0)
            goto cleanup;
    }
    root = json_pack("{s:s, s:i, s:o}", "format", MC_CATALOG_FORMAT, "version",
                     MC_CATALOG_VERSION, "mappings", mappings);
    mappings = NULL; /* json_pack's "o" stole it, also on failure */
    if (!root)
        goto cleanup;
    text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    if (!text)
        goto cleanup;
    rc = mc__sys_open_subdir(datafd, MC_RESERVED_DIR, true, &metafd, &created);
    if (rc != MC_OK)
        goto cleanup;
    /* A new .mmapd entry must itself survive a crash. */
    if (created) {
        rc = mc__sys_fsync(datafd);
        if (rc != MC_OK)
            goto cleanup;
    }
    rc = mc__sys_replace_file(metafd, MC_CATALOG_TMP, MC_CATALOG_FILE, text,
                              strlen(text));
cleanup:
    mc__sys_close(metafd);
    free(text);
    json_decref(root);
    json_decref(mappings);
    return rc;
}
