/* router.c - from a method and a raw path to a route and an operation row.
 *
 * A route is a path pattern, segment by segment: literal segments, and the
 * captures {name}, {offset} and {asset}; an {asset} at the end may be
 * missing ("/ui" and "/ui/" reach the route of "/ui/{asset}", ui.c). The patterns are few, so the router tries
 * them in turn (those with as many segments as the path). Only the {name} segment is percent-decoded, and it must
 * then pass mc_name_valid(): a name never becomes a path by itself, and an
 * escape cannot sneak a '/' or a NUL past the check (api_segment_decode
 * refuses both). A path may end in one '/' more, naming the same route.
 * The operation is the row of ops.c for the route and the
 * method; a route without a row for the method answers 405 with the Allow
 * header the table gives.
 */
#include <string.h>

#include "internal.h"

#define MAX_SEGS 5

/* A route: its path pattern as segments (literals, or the captures
 * "{name}" and "{offset}"), whose count is checked first, so matching a
 * path costs a few comparisons. */
struct route_def {
    const char *label; /* the metrics' route label: never change one */
    bool open;         /* no token needed (README "Security") */
    size_t nsegs;
    const char *segs[MAX_SEGS];
};

#define PATTERN(...)                                                           \
    sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *),              \
    {                                                                          \
        __VA_ARGS__                                                            \
    }

static const struct route_def routes[API_ROUTE_COUNT] = {
    [API_ROUTE_NONE] = {"none", false, 0, {NULL}},
    [API_ROUTE_HEALTHZ] = {"healthz", true, PATTERN("healthz")},
    [API_ROUTE_READYZ] = {"readyz", true, PATTERN("readyz")},
    [API_ROUTE_METRICS] = {"metrics", false, PATTERN("metrics")},
    [API_ROUTE_INFO] = {"info", false, PATTERN("v1", "info")},
    [API_ROUTE_MAPS] = {"maps", false, PATTERN("v1", "maps")},
    [API_ROUTE_MAP] = {"map", false, PATTERN("v1", "maps", "{name}")},
    [API_ROUTE_DATA] = {"data", false,
                        PATTERN("v1", "maps", "{name}", "data")},
    [API_ROUTE_FLUSH] = {"flush", false,
                         PATTERN("v1", "maps", "{name}", "flush")},
    [API_ROUTE_OBJECTS] = {"objects", false,
                           PATTERN("v1", "maps", "{name}", "objects",
                                   "{offset}")},
    [API_ROUTE_ATOMIC] = {"atomic", false,
                          PATTERN("v1", "maps", "{name}", "atomic")},
    [API_ROUTE_LEASE] = {"lease", false,
                         PATTERN("v1", "maps", "{name}", "lease")},
    /* The inspector's files hold only code: open, as a browser cannot add
     * a token to a navigation (ui.c). */
    [API_ROUTE_UI] = {"ui", true, PATTERN("ui", "{asset}")},
    [API_ROUTE_EXTENTS] = {"extents", false,
                           PATTERN("v1", "maps", "{name}", "extents")},
    [API_ROUTE_ZERO] = {"zero", false,
                        PATTERN("v1", "maps", "{name}", "zero")},
    [API_ROUTE_EVENTS] = {"events", false,
                          PATTERN("v1", "maps", "{name}", "events")},
    [API_ROUTE_SNAPSHOT] = {"snapshot", false,
                            PATTERN("v1", "maps", "{name}", "snapshot")},
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

bool api__route_open(enum api_route r)
{
    return (unsigned)r < API_ROUTE_COUNT && routes[r].open;
}

/* One path segment as a slice of the raw path. */
struct seg {
    const char *p;
    size_t len;
};

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

/* Whether the n segments s fit route r; fills the captures of m. */
static bool fits(const struct route_def *r, const struct seg *s, size_t n,
                 struct api_match *m)
{
    bool optional_tail = n + 1 == r->nsegs &&
                         strcmp(r->segs[r->nsegs - 1], "{asset}") == 0;

    if (r->nsegs != n && !optional_tail)
        return false;
    m->name = m->offset = NULL;
    for (size_t i = 0; i < n; i++) {
        const char *lit = r->segs[i];

        if (strcmp(lit, "{asset}") == 0) {
            /* Any one segment: ui.c looks it up in its own table. */
        } else if (lit[0] == '{') {
            if (lit[1] == 'n') {
                m->name = s[i].p;
                m->name_len = s[i].len;
            } else {
                m->offset = s[i].p;
                m->offset_len = s[i].len;
            }
        } else if (strncmp(lit, s[i].p, s[i].len) != 0 ||
                   lit[s[i].len] != '\0') {
            return false;
        }
    }
    return true;
}

void api__route_match(const struct api_request *req, struct api_match *m)
{
    struct seg segs[MAX_SEGS + 1];
    size_t n = split_path(req->path, segs, MAX_SEGS + 1);

    /* A trailing slash names the same resource as without it (README
     * "Interoperability"): clients take /v1/maps/NAME/ for the collection
     * holding data. One slash only: "/v1/maps//" still has an empty name. */
    if (n > 0 && n <= MAX_SEGS + 1 && segs[n - 1].len == 0)
        n--;
    memset(m, 0, sizeof(*m));
    m->route = API_ROUTE_NONE;
    if (n <= MAX_SEGS) {
        for (unsigned r = API_ROUTE_NONE + 1; r < API_ROUTE_COUNT; r++) {
            if (fits(&routes[r], segs, n, m)) {
                m->route = (enum api_route)r;
                break;
            }
        }
    }
    if (m->route == API_ROUTE_NONE)
        m->name = m->offset = NULL;
    m->op = api__op_find(m->route, req->method);
}

bool api__route_admit(struct api_exchange *ex, const struct api_request *req,
                      const struct api_match *m)
{
    char allow[96];

    ex->route = m->route;
    /* A CORS preflight carries no token by design (cors.c). */
    if (api__cors_start(ex, req))
        return false;
    /* Before anything else answers: without a valid token, a caller must
     * not learn which paths, methods or names exist. */
    if (!api__authenticate(ex, req))
        return false;
    if (m->route == API_ROUTE_NONE) {
        api__fail(ex, API_ENOROUTE, "no resource at this path");
        return false;
    }
    if (m->op == NULL) {
        api__allow(m->route, allow, sizeof(allow));
        api__fail(ex, API_EMETHOD, "allowed here: %s", allow);
        api__header_keep(ex, "Allow", "%s", allow);
        return false;
    }
    if (m->name != NULL) {
        if (!api_segment_decode(m->name, m->name_len, ex->name,
                                sizeof(ex->name)) ||
            !mc_name_valid(ex->name, strlen(ex->name))) {
            api__fail(ex, API_ERR_MC(MC_ENAME),
                      "names match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$");
            return false;
        }
    }
    /* The {offset} of an object: plain decimal digits, never decoded (a
     * digit needs no escape). */
    if (m->offset != NULL &&
        !api_parse_u64n(m->offset, m->offset_len, &ex->obj_offset)) {
        api__fail(ex, API_ERR_MC(MC_EINVAL),
                  "an object offset is a decimal integer below 2^64");
        return false;
    }
    ex->op = m->op;
    return true;
}
