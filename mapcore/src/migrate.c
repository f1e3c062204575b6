/* migrate.c - reading the catalog of version 1, <data>/.mmapd/catalog.json.
 *
 * Releases up to 331bc87 kept the catalog as one JSON file, rewritten whole
 * (temp file, fsync, rename) on every change:
 *
 *   {"format": "mmapd-catalog", "version": 1,
 *    "mappings": [{"name", "file", "size", "protection", "allocation",
 *                  "writethrough", "created_at_ms", "modified_at_ms"}]}
 *
 * The first start of this version imports it into the store (store.c) and
 * renames it away. Reading stays as strict as it was: anything unexpected
 * makes the whole file MC_ECORRUPT and the server refuses to start with the
 * file untouched, because importing part of it would silently drop the
 * mappings we could not read.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define V1_FORMAT "mmapd-catalog"
#define V1_VERSION 1
/* An entry is well under 2 KiB; this allows a few hundred thousand. */
#define V1_MAX_BYTES (512u << 20)
/* The members of one version 1 entry, all required, nothing else. */
#define V1_ENTRY_MEMBERS 8

/* One entry of "mappings"; false when anything is missing or malformed. */
static bool parse_entry(json_t *e, struct mc_info *out)
{
    json_t *name = json_object_get(e, "name");
    size_t len;

    memset(out, 0, sizeof *out);
    if (!json_is_object(e) || json_object_size(e) != V1_ENTRY_MEMBERS ||
        !json_is_string(name))
        return false;
    len = json_string_length(name);
    if (!mc_name_valid(json_string_value(name), len))
        return false;
    memcpy(out->name, json_string_value(name), len);
    /* The seven other members, and only they (the size check above). */
    return mc__store_parse_fields(e, false, out);
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
    if (strcmp(format, V1_FORMAT) != 0 || version != V1_VERSION ||
        !json_is_array(mappings))
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

enum mc_err mc__migrate_load_v1(int datafd, struct mc_info **out,
                                size_t *count)
{
    enum mc_err rc;
    int metafd = -1;
    bool created = false;
    char *text = NULL;
    size_t len = 0;

    *out = NULL;
    *count = 0;
    rc = mc__sys_open_subdir(datafd, MC_RESERVED_DIR, false, &metafd, &created);
    if (rc != MC_OK)
        return rc; /* MC_ENOFILE: a fresh data directory */
    rc = mc__sys_read_file(metafd, MC_CATALOG_V1_FILE, V1_MAX_BYTES, &text,
                           &len);
    if (rc == MC_ETOOBIG)
        rc = MC_ECORRUPT;
    if (rc == MC_OK)
        rc = parse(text, len, out, count);
    free(text);
    mc__sys_close(metafd);
    return rc;
}
