/* json.c - strict JSON request bodies and JSON responses.
 *
 * Request bodies are small objects (at most API_JSON_MAX bytes) with a fixed
 * set of members. We reject rather than guess: duplicate keys, unknown
 * members, a member of the wrong type, a negative or fractional number are
 * all 400s whose detail names the member, because a silently ignored typo
 * ("sise") would create a mapping the client didn't ask for.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "internal.h"

bool api__json_start(struct api_exchange *ex, const struct api_request *req)
{
    const char *enc = req->header(req->conn, "Content-Encoding");
    const char *cl = req->header(req->conn, "Content-Length");
    uint64_t len;

    if (enc != NULL) {
        api__fail(ex, API_EMEDIA, "request bodies must not be encoded");
        return false;
    }
    /* The server has already framed the body, so a Content-Length that is
     * not a number would not get here; refusing early on a long one saves
     * reading 64 KiB we would throw away. */
    if (cl != NULL && api_parse_u64(cl, &len) && len > API_JSON_MAX) {
        api__fail(ex, API_EBODYTOOBIG, "JSON bodies are at most %zu bytes",
                  API_JSON_MAX);
        return false;
    }
    /* Held whole, so charged to the body budget up front (bodymem.h). */
    if (cl != NULL && api_parse_u64(cl, &len) &&
        !api__bodymem_reserve(ex, len))
        return false;
    return true;
}

void api__json_start_checked(struct api_exchange *ex,
                             const struct api_request *req)
{
    if (api__json_start(ex, req) && api__check_if_match(ex))
        ex->wants_body = true;
}

void api__json_feed(struct api_exchange *ex, const void *data, size_t len)
{
    char *grown;

    if (len > API_JSON_MAX - ex->json_len) {
        api__fail(ex, API_EBODYTOOBIG, "JSON bodies are at most %zu bytes",
                  API_JSON_MAX);
        return;
    }
    if (!api__bodymem_reserve(ex, ex->json_len + len))
        return;
    grown = realloc(ex->json, ex->json_len + len);
    if (grown == NULL) {
        api__fail(ex, API_EINTERNAL, "out of memory");
        return;
    }
    ex->json = grown;
    memcpy(ex->json + ex->json_len, data, len);
    ex->json_len += len;
}

static const char *type_name(enum api_field_type t)
{
    switch (t) {
    case API_FIELD_STRING:
        return "a string";
    case API_FIELD_U64:
        return "a non-negative integer";
    case API_FIELD_BOOL:
        return "true or false";
    case API_FIELD_INT:
        return "an integer";
    }
    return "?";
}

static bool type_ok(const json_t *v, const struct api_field *f)
{
    if (json_is_null(v))
        return f->nullable;
    switch (f->type) {
    case API_FIELD_STRING:
        return json_is_string(v);
    case API_FIELD_U64:
        /* jansson keeps integers and reals apart, so 1.0 and 1e3 are reals
         * here and refused; it also refuses integers past 2^63-1 while
         * parsing (reported as a numeric overflow below). */
        return json_is_integer(v) && json_integer_value(v) >= 0;
    case API_FIELD_BOOL:
        return json_is_boolean(v);
    case API_FIELD_INT:
        return json_is_integer(v);
    }
    return false;
}

bool api__json_parse(struct api_exchange *ex, const struct api_field *fields,
                     size_t nfields, struct json_t **out)
{
    json_error_t error;
    json_t *obj;
    const char *key;
    json_t *v;

    *out = NULL;
    if (ex->json_len == 0)
        return true;
    obj = json_loadb(ex->json, ex->json_len, JSON_REJECT_DUPLICATES, &error);
    if (obj == NULL) {
        if (json_error_code(&error) == json_error_numeric_overflow)
            api__fail(ex, API_EFIELD,
                      "a number is too large (integers go up to 2^63-1)");
        else
            api__fail(ex, API_EJSON, "malformed JSON at line %d column %d: %s",
                      error.line, error.column, error.text);
        return false;
    }
    if (!json_is_object(obj)) {
        json_decref(obj);
        api__fail(ex, API_EJSON, "the body must be a JSON object");
        return false;
    }
    json_object_foreach(obj, key, v)
    {
        const struct api_field *f = NULL;

        for (size_t i = 0; i < nfields; i++) {
            if (strcmp(fields[i].name, key) == 0)
                f = &fields[i];
        }
        if (f == NULL) {
            /* The key is client text; %.64s keeps the detail bounded and
             * problem.c falls back to the title if it is not UTF-8. */
            api__fail(ex, API_EFIELD, "unknown field \"%.64s\"", key);
            json_decref(obj);
            return false;
        }
        if (!type_ok(v, f)) {
            api__fail(ex, API_EFIELD, "field \"%s\" must be %s", f->name,
                      type_name(f->type));
            json_decref(obj);
            return false;
        }
    }
    *out = obj;
    return true;
}

uint64_t api__json_u64(struct json_t *v)
{
    return (uint64_t)json_integer_value(v);
}

int64_t api__json_int(struct json_t *v)
{
    return (int64_t)json_integer_value(v);
}

bool api__body_json(struct api_exchange *ex, const char *content_type,
                    struct json_t *obj)
{
    char *text;
    size_t len;
    bool ok;

    if (obj == NULL)
        return false;
    /* Compact on the wire, but ended by a newline so that curl's output does
     * not run into the shell prompt. */
    text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (text == NULL)
        return false;
    len = strlen(text);
    text[len] = '\n'; /* json_dumps' terminator becomes the newline */
    ok = api__body_copy(ex, content_type, text, len + 1);
    free(text);
    return ok;
}

void api__respond_json(struct api_exchange *ex, enum api_success status,
                       struct json_t *obj)
{
    /* Keep any headers the handler already set (ETag, Location). */
    if (!api__body_json(ex, "application/json", obj)) {
        api__fail(ex, API_EINTERNAL, "out of memory");
        return;
    }
    api__respond(ex, status);
}
