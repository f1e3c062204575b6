/* status.c - the one table from errors to HTTP statuses and problem codes.
 *
 * Every error a handler can raise, whether it came from the core or from the
 * API's own parsing, is translated here and nowhere else, in the spirit of
 * lwan's FOR_EACH_HTTP_STATUS. tests/unit/test_status.c walks the table and
 * cross-checks it against api/openapi.yaml, so adding an error without a row
 * or a documented code fails the build's tests.
 */
#include "api/api_status.h"

#include <stdio.h>

/* One row per line reads as a table; keep the formatter off it. */
/* clang-format off */
static const struct api_status_entry table[] = {
    /* The core's errors. */
    {API_ERR_MC(MC_EINVAL), 400, "bad_request", "Bad request"},
    {API_ERR_MC(MC_ENAME), 400, "invalid_name", "Invalid mapping name"},
    {API_ERR_MC(MC_EPATH), 400, "invalid_path", "Invalid backing file path"},
    {API_ERR_MC(MC_EUNSUPPORTED), 400, "unsupported", "Unsupported mapping option"},
    {API_ERR_MC(MC_ENOTFOUND), 404, "not_found", "No such mapping"},
    {API_ERR_MC(MC_EEXIST), 412, "precondition_failed", "Mapping already exists"},
    {API_ERR_MC(MC_ECONFLICT), 409, "conflict", "Conflicts with the existing mapping"},
    {API_ERR_MC(MC_ENOFILE), 400, "file_not_found", "Backing file not found"},
    {API_ERR_MC(MC_EZEROSIZE), 400, "invalid_size", "Invalid size"},
    {API_ERR_MC(MC_ETOOBIG), 413, "too_large", "Size above the configured maximum"},
    {API_ERR_MC(MC_ERANGE), 416, "range_not_satisfiable", "Range not satisfiable"},
    {API_ERR_MC(MC_ERDONLY), 403, "read_only", "Mapping is read-only"},
    {API_ERR_MC(MC_ENOSPC), 507, "insufficient_storage", "Insufficient storage"},
    {API_ERR_MC(MC_ENOMEM), 503, "out_of_memory", "Out of memory"},
    {API_ERR_MC(MC_EBUSY), 503, "cache_exhausted", "View cache exhausted"},
    {API_ERR_MC(MC_ETRUNCATED), 500, "backing_truncated", "Backing file truncated"},
    {API_ERR_MC(MC_EDAMAGED), 500, "mapping_damaged", "Mapping damaged"},
    {API_ERR_MC(MC_ECORRUPT), 500, "internal_error", "Internal error"},
    {API_ERR_MC(MC_EIO), 500, "io_error", "I/O error"},
    {API_ERR_MC(MC_EPRECONDITION), 412, "precondition_failed", "Precondition failed"},
    {API_ERR_MC(MC_EMEMLIMIT), 507, "memory_limit", "Memory budget exhausted"},
    {API_ERR_MC(MC_ENOTREG), 400, "not_regular_file", "Backing path is not a regular file"},
    {API_ERR_MC(MC_ENOFD), 503, "out_of_descriptors", "Out of file descriptors"},
    {API_ERR_MC(MC_ESHARED), 409, "file_shared", "Backing file shared with other mappings"},
    {API_ERR_MC(MC_EDENIED), 403, "forbidden", "Forbidden"},
    {API_ERR_MC(MC_EMISALIGNED), 400, "misaligned", "Misaligned word"},
    {API_ERR_MC(MC_ECASFAILED), 409, "cas_failed", "Compare-and-swap failed"},
    {API_ERR_MC(MC_EOVERFLOW), 409, "overflow", "Add would overflow"},
    {API_ERR_MC(MC_ELEASEHELD), 409, "lease_held", "Lease already held"},
    {API_ERR_MC(MC_ELEASEBREAKING), 409, "lease_breaking", "Lease is breaking"},
    {API_ERR_MC(MC_ELEASEMISSING), 412, "lease_id_missing", "Lease-Id missing"},
    {API_ERR_MC(MC_ELEASEMISMATCH), 412, "lease_mismatch", "Lease-Id mismatch"},
    {API_ERR_MC(MC_ELEASENONE), 412, "lease_not_present", "No lease present"},
    /* Only mc_catalog_open returns it, before anything is served. */
    {API_ERR_MC(MC_EINUSE), 500, "internal_error", "Internal error"},
    /* The API's own. */
    {API_EJSON, 400, "invalid_json", "Invalid JSON body"},
    {API_EFIELD, 400, "invalid_field", "Invalid field"},
    {API_EQUERY, 400, "invalid_query", "Invalid query argument"},
    {API_ERANGEHDR, 400, "invalid_range", "Invalid Content-Range"},
    {API_ELENGTH, 400, "length_mismatch", "Body length differs from its range"},
    {API_ENOROUTE, 404, "not_found", "Not found"},
    {API_EMETHOD, 405, "method_not_allowed", "Method not allowed"},
    {API_EPRECONDITION, 412, "precondition_failed", "Precondition failed"},
    {API_EBODYTOOBIG, 413, "payload_too_large", "Request body too large"},
    {API_EMEDIA, 415, "unsupported_media_type", "Unsupported media type"},
    {API_ENOTREADY, 503, "not_ready", "Not ready"},
    {API_EUNAUTHORIZED, 401, "unauthorized", "Unauthorized"},
    {API_EFORBIDDEN, 403, "forbidden", "Forbidden"},
    {API_EINTERNAL, 500, "internal_error", "Internal error"},
    {API_ENOOBJECT, 404, "no_object", "No object at this offset"},
    {API_EBODYMEM, 503, "body_memory_limit", "Request body memory exhausted"},
    {API_ERANGEONPUT, 400, "range_on_put", "Range on a PUT"},
    {API_EFRAMING, 400, "bad_framing", "Ambiguous request framing"},
    {API_ECODING, 501, "unsupported_transfer_coding", "Transfer coding not implemented"},
    {API_EURITOOLONG, 414, "uri_too_long", "Request target too long"},
    {API_EHEADTOOLARGE, 431, "headers_too_large", "Request header fields too large"},
    {API_EDIGEST, 400, "digest_mismatch", "Body differs from its Content-Digest"},
    {API_EDIGESTALG, 400, "digest_unsupported", "Digest algorithm not supported"},
    {API_EDIGESTBAD, 400, "digest_invalid", "Malformed Content-Digest"},
    {API_ETOOMANYWAITERS, 503, "too_many_waiters", "Too many waiting requests"},
    {API_ESHUTTINGDOWN, 503, "shutting_down", "Server shutting down"},
};
/* clang-format on */

#define TABLE_LEN (sizeof(table) / sizeof(table[0]))

const struct api_status_entry *api_status_lookup(enum api_err err)
{
    /* A linear scan of ~30 rows costs less than the JSON encoding of the
     * problem that follows, and keeps the table free of index tricks. */
    for (size_t i = 0; i < TABLE_LEN; i++) {
        if (table[i].err == err)
            return &table[i];
    }
    for (size_t i = 0; i < TABLE_LEN; i++) {
        if (table[i].err == API_EINTERNAL)
            return &table[i];
    }
    return &table[TABLE_LEN - 1];
}

const struct api_status_entry *api_status_table(size_t *n)
{
    *n = TABLE_LEN;
    return table;
}

size_t api_status_problem(enum api_err err, const char *detail, char *buf,
                          size_t len)
{
    const struct api_status_entry *e = api_status_lookup(err);
    int n = snprintf(buf, len,
                     "{\"type\":\"about:blank\",\"title\":\"%s\","
                     "\"status\":%u,\"detail\":\"%s\",\"code\":\"%s\"}",
                     e->title, e->status, detail, e->code);

    return n > 0 ? (size_t)n : 0;
}
