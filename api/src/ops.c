/* ops.c - the operation table: every operation of the API in one row.
 *
 * A row names the route (router.c), the methods, the scope a token needs
 * (access.c, after the README's "Security"), whether the {name} mapping is
 * looked up for it, and its handler. The handler lives in its own file,
 * with its own state, as `const struct api_handler api__op_<handler>`.
 * Adding an endpoint is one row here and one handler file (and a route in
 * router.c when the path is new); the router, the Allow header, the 405,
 * the access check and the exchange all read this table.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define NEEDS_ADMIN " (needs admin and write on the name)"

/* Columns: the handler (api__op_<handler>, defined in its own file), the
 * route (API_ROUTE_<route>, or ANY), the methods, the scope
 * (API_SCOPE_<scope>), what a 403 says the token "may not" do, whether
 * the exchange looks the {name} mapping up and parses the conditions, and
 * whether the operation writes the mapping, so that the exchange holds it
 * to the mapping's lease (lease.c) before the handler starts. (atomic
 * writes only when its body says so, and checks the lease itself.) */
#define API_OPS(X)                                                             \
    X(healthz, HEALTHZ, API_M_GET, TOKEN, NULL, false, false)                  \
    X(readyz, READYZ, API_M_GET, TOKEN, NULL, false, false)                    \
    X(metrics, METRICS, API_M_GET, TOKEN, NULL, false, false)                  \
    X(info, INFO, API_M_GET, TOKEN, NULL, false, false)                        \
    X(maps_list, MAPS, API_M_GET, TOKEN, NULL, false, false)                   \
    X(map_get, MAP, API_M_GET, READ, "read", true, false)                      \
    X(map_put, MAP, API_M_PUT, READ_OR_ADMIN, "open or create", false, false)  \
    X(map_patch, MAP, API_M_PATCH, ADMIN, "resize" NEEDS_ADMIN, true, true)    \
    X(map_delete, MAP, API_M_DELETE, ADMIN, "delete" NEEDS_ADMIN, true, true)  \
    X(data_get, DATA, API_M_GET, READ, "read", true, false)                    \
    X(data_put, DATA, API_M_PUT, WRITE, "write", true, true)                   \
    X(data_patch, DATA, API_M_PATCH, WRITE, "write", true, true)               \
    X(flush, FLUSH, API_M_POST, WRITE, "write", true, true)                    \
    X(object_get, OBJECTS, API_M_GET, READ, "read", true, false)               \
    X(object_put, OBJECTS, API_M_PUT, WRITE, "write", true, true)              \
    X(atomic, ATOMIC, API_M_POST, READ_OR_WRITE, "read or write", true, false) \
    X(lease, LEASE, API_M_POST, WRITE, "write", true, false)                   \
    X(ui, UI, API_M_GET, TOKEN, NULL, false, false)                            \
    X(extents, EXTENTS, API_M_GET, READ, "read", true, false)                  \
    X(zero, ZERO, API_M_POST, WRITE, "write", true, true)                      \
    X(events, EVENTS, API_M_GET, READ, "read", true, false)                    \
    X(snapshot, SNAPSHOT, API_M_POST, READ, "read", true, false)               \
    X(options, ANY, API_M_OPTIONS, TOKEN, NULL, false, false)                  \
    /* new rows above this line */

#define DECLARE(h, r, m, s, d, map, lease)                                     \
    extern const struct api_handler api__op_##h;
API_OPS(DECLARE)
#undef DECLARE

#define ROW(h, r, m, s, d, map, lease)                                         \
    {API_ROUTE_##r, m, API_SCOPE_##s, d, map, lease, &api__op_##h},
static const struct api_op ops[] = {API_OPS(ROW)};
#undef ROW

const struct api_op *api__op_find(enum api_route route, enum api_method method)
{
    unsigned bit;

    if (route == API_ROUTE_NONE || (unsigned)method >= 32)
        return NULL;
    bit = API_M(method);
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        if ((ops[i].route == route || ops[i].route == API_ROUTE_ANY) &&
            (ops[i].methods & bit) != 0)
            return &ops[i];
    }
    return NULL;
}

void api__allow(enum api_route route, char *out, size_t size)
{
    /* The order the Allow headers have always had. */
    static const struct {
        enum api_method m;
        const char *name;
    } order[] = {
        {API_METHOD_GET, "GET"},       {API_METHOD_HEAD, "HEAD"},
        {API_METHOD_PUT, "PUT"},       {API_METHOD_PATCH, "PATCH"},
        {API_METHOD_POST, "POST"},     {API_METHOD_DELETE, "DELETE"},
        {API_METHOD_OPTIONS, "OPTIONS"},
    };
    size_t used = 0;

    out[0] = '\0';
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        int w;

        if (api__op_find(route, order[i].m) == NULL)
            continue;
        w = snprintf(out + used, size - used, "%s%s", used > 0 ? ", " : "",
                     order[i].name);
        if (w < 0 || (size_t)w >= size - used)
            return;
        used += (size_t)w;
    }
}
