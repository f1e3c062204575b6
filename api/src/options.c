/* options.c - OPTIONS on every resource (README "Interoperability"): 204
 * with the Allow header the operation table gives for the route, and on
 * /data also what WebDAV-minded clients (cadaver, davfs2) look for before
 * a ranged read or a partial write: Accept-Ranges and the PATCH formats
 * of data_patch.c.
 */
#include "internal.h"

static void options(struct api_exchange *ex, const struct api_request *req)
{
    char allow[96];

    (void)req;
    api__allow(ex->route, allow, sizeof(allow));
    api__respond(ex, API_S_NO_CONTENT);
    api__header(ex, "Allow", "%s", allow);
    if (ex->route == API_ROUTE_DATA) {
        api__header(ex, "Accept-Ranges", "bytes");
        api__header(ex, "Accept-Patch",
                    "message/byterange, multipart/byteranges");
    }
}

const struct api_handler api__op_options = {0, options, NULL, NULL, NULL};
