/* router.c - from a method and a raw path to an operation.
 *
 * The paths are few and fixed, so the router compares segments rather than
 * running patterns. Only the {name} segment is percent-decoded, and it must
 * then pass mc_name_valid(): a name never becomes a path by itself, and an
 * escape cannot sneak a '/' or a NUL past the check (api_segment_decode
 * refuses both).
 */
#include <string.h>

#include "internal.h"

enum {
    M_GET = 1u << API_METHOD_GET,
    M_HEAD = 1u << API_METHOD_HEAD,
    M_PUT = 1u << API_METHOD_PUT,
    M_PATCH = 1u << API_METHOD_PATCH,
    M_POST = 1u << API_METHOD_POST,
    M_DELETE = 1u << API_METHOD_DELETE,
};

struct route_def {
    enum api_route route;
    const char *label;
    unsigned methods;
    const char *allow; /* the Allow header, OPTIONS included */
};

static const struct route_def routes[API_ROUTE_COUNT] = {
    [API_ROUTE_NONE] = {API_ROUTE_NONE, "none", 0, ""},
    [API_ROUTE_HEALTHZ] = {API_ROUTE_HEALTHZ, "healthz", M_GET | M_HEAD,
                           "GET, HEAD, OPTIONS"},
    [API_ROUTE_READYZ] = {API_ROUTE_READYZ, "readyz", M_GET | M_HEAD,
                          "GET, HEAD, OPTIONS"},
    [API_ROUTE_METRICS] = {API_ROUTE_METRICS, "metrics", M_GET | M_HEAD,
                           "GET, HEAD, OPTIONS"},
    [API_ROUTE_INFO] = {API_ROUTE_INFO, "info", M_GET | M_HEAD,
                        "GET, HEAD, OPTIONS"},
    [API_ROUTE_MAPS] = {API_ROUTE_MAPS, "maps", M_GET | M_HEAD,
                        "GET, HEAD, OPTIONS"},
    [API_ROUTE_MAP] = {API_ROUTE_MAP, "map",
                       M_GET | M_HEAD | M_PUT | M_PATCH | M_DELETE,
                       "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"},
    [API_ROUTE_DATA] = {API_ROUTE_DATA, "data",
                        M_GET | M_HEAD | M_PUT | M_PATCH,
                        "GET, HEAD, PUT, PATCH, OPTIONS"},
    [API_ROUTE_FLUSH] = {API_ROUTE_FLUSH, "flush", M_POST, "POST, OPTIONS"},
    [API_ROUTE_OBJECTS] = {API_ROUTE_OBJECTS, "objects", M_GET | M_HEAD | M_PUT,
                           "GET, HEAD, PUT, OPTIONS"},
};

const char *api__route_label(enum api_route r)
{
    if ((unsigned)r >= API_ROUTE_COUNT)
        r = API_ROUTE_NONE;
    return routes[r].label;
}

enum api_route api__route_from_label(const char *label)
{
    if (label == NULL)
        return API_ROUTE_NONE;
    for (unsigned i = 0; i < API_ROUTE_COUNT; i++) {
        if (strcmp(routes[i].label, label) == 0)
            return (enum api_route)i;
    }
    return API_ROUTE_NONE;
}

/* One path segment as a slice of the raw path. */
struct seg {
    const char *p;
    size_t len;
};

static bool seg_is(const struct seg *s, const char *lit)
{
    return s->len == strlen(lit) && memcmp(s->p, lit, s->len) == 0;
}

/* Split path ("/a/b/c") into at most max segments. Returns the count, or
 * max + 1 when there are more (no route is that deep). An empty path, or
 * one without the leading '/', yields 0. */
static size_t split_path(const char *path, struct seg *out, size_t max)
{
    size_t n = 0;
    const char *p = path;

    if (p == NULL || *p != '/')
        return 0;
    while (*p == '/') {
        const char *start = ++p;

        while (*p != '/' && *p != '\0')
            p++;
        if (n == max)
            return max + 1;
        out[n].p = start;
        out[n].len = (size_t)(p - start);
        n++;
    }
    return n;
}

/* Which route the segments name, and where the {name} is (if any). */
static enum api_route match(const struct seg *s, size_t n,
                            const struct seg **name)
{
    *name = NULL;
    if (n == 1 && seg_is(&s[0], "healthz"))
        return API_ROUTE_HEALTHZ;
    if (n == 1 && seg_is(&s[0], "readyz"))
        return API_ROUTE_READYZ;
    if (n == 1 && seg_is(&s[0], "metrics"))
        return API_ROUTE_METRICS;
    if (n < 2 || !seg_is(&s[0], "v1"))
        return API_ROUTE_NONE;
    if (n == 2 && seg_is(&s[1], "info"))
        return API_ROUTE_INFO;
    if (!seg_is(&s[1], "maps"))
        return API_ROUTE_NONE;
    if (n == 2)
        return API_ROUTE_MAPS;
    *name = &s[2];
    if (n == 3)
        return API_ROUTE_MAP;
    if (n == 4 && seg_is(&s[3], "data"))
        return API_ROUTE_DATA;
    if (n == 4 && seg_is(&s[3], "flush"))
        return API_ROUTE_FLUSH;
    if (n == 5 && seg_is(&s[3], "objects"))
        return API_ROUTE_OBJECTS;
    *name = NULL;
    return API_ROUTE_NONE;
}

static enum api_op op_for(enum api_route r, enum api_method m)
{
    bool get = m == API_METHOD_GET || m == API_METHOD_HEAD;

    switch (r) {
    case API_ROUTE_HEALTHZ:
        return API_OP_HEALTHZ;
    case API_ROUTE_READYZ:
        return API_OP_READYZ;
    case API_ROUTE_METRICS:
        return API_OP_METRICS;
    case API_ROUTE_INFO:
        return API_OP_INFO;
    case API_ROUTE_MAPS:
        return API_OP_MAPS_LIST;
    case API_ROUTE_MAP:
        if (get)
            return API_OP_MAP_GET;
        if (m == API_METHOD_PUT)
            return API_OP_MAP_PUT;
        if (m == API_METHOD_PATCH)
            return API_OP_MAP_PATCH;
        return API_OP_MAP_DELETE;
    case API_ROUTE_DATA:
        if (m == API_METHOD_PATCH)
            return API_OP_DATA_PATCH;
        return get ? API_OP_DATA_GET : API_OP_DATA_PUT;
    case API_ROUTE_FLUSH:
        return API_OP_FLUSH;
    case API_ROUTE_OBJECTS:
        return get ? API_OP_OBJECT_GET : API_OP_OBJECT_PUT;
    default:
        return API_OP_NONE;
    }
}

void api__route(struct api_exchange *ex, const struct api_request *req)
{
    struct seg segs[5];
    size_t n = split_path(req->path, segs, 5);
    const struct seg *name = NULL;
    enum api_route r = n <= 5 ? match(segs, n, &name) : API_ROUTE_NONE;
    const struct route_def *def = &routes[r];

    ex->route = r;
    ex->op = API_OP_NONE;
    /* A CORS preflight carries no token by design (cors.c). */
    if (api__cors_start(ex, req))
        return;
    /* Before anything else answers: without a valid token, a caller must
     * not learn which paths, methods or names exist. */
    if (!api__authenticate(ex, req))
        return;
    if (r == API_ROUTE_NONE) {
        api__fail(ex, API_ENOROUTE, "no resource at this path");
        return;
    }
    if (req->method == API_METHOD_OPTIONS) {
        api__respond(ex, API_S_NO_CONTENT);
        api__header(ex, "Allow", "%s", def->allow);
        return;
    }
    if ((unsigned)req->method >= 32 ||
        (def->methods & (1u << req->method)) == 0) {
        api__fail(ex, API_EMETHOD, "allowed here: %s", def->allow);
        api__header(ex, "Allow", "%s", def->allow);
        return;
    }
    if (name != NULL) {
        if (!api_segment_decode(name->p, name->len, ex->name,
                                sizeof(ex->name)) ||
            !mc_name_valid(ex->name, strlen(ex->name))) {
            api__fail(ex, API_ERR_MC(MC_ENAME),
                      "names match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$");
            return;
        }
    }
    /* The {offset} of an object: plain decimal digits, never decoded (a
     * digit needs no escape). */
    if (r == API_ROUTE_OBJECTS &&
        !api_parse_u64n(segs[4].p, segs[4].len, &ex->obj_offset)) {
        api__fail(ex, API_ERR_MC(MC_EINVAL),
                  "an object offset is a decimal integer below 2^64");
        return;
    }
    ex->op = op_for(r, req->method);
}
