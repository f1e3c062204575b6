/* ui.c - GET /ui/ and /ui/{asset}: the browser inspector (README
 * "Inspector"), served from files compiled into the binary
 * (ui_assets.h).
 *
 * The page is plain HTML, one script and one style sheet; the script calls
 * the same API as any client, with the token the user types kept in the
 * tab's sessionStorage and sent as Authorization. So the files themselves
 * need no token (the route is open, router.c): they hold nothing but
 * code, and a browser cannot attach a bearer token to a navigation.
 *
 * Every answer of the route carries a strict Content-Security-Policy
 * (scripts, styles and connections from this origin only, no inline
 * script or style, no framing), so that even an injected tag in a name the
 * page shows cannot run. Assets carry an ETag made from their bytes (and,
 * as every tag of ours, the boot nonce), with no-cache: a browser
 * revalidates each load and gets 304 while the same server runs.
 *
 * /ui (no slash) answers 308 to "ui/": relative, so it holds behind a proxy
 * that mounts the server under a prefix, and the page's relative links
 * ("app.js") then resolve under /ui/.
 */
#include <string.h>

#include "internal.h"
#include "ui_assets.h"

#define UI_CSP                                                                 \
    "default-src 'self'; script-src 'self'; style-src 'self'; "               \
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; "            \
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/* An If-None-Match naming more tags than this is compared on its first
 * ones only: a browser sends the one tag it holds. */
#define UI_TAGS_MAX 8

static const struct api_ui_asset *ui_find(const char *name, size_t len)
{
    for (unsigned i = 0; i < api__ui_asset_count; i++) {
        const struct api_ui_asset *a = &api__ui_assets[i];

        if (strlen(a->name) == len && memcmp(a->name, name, len) == 0)
            return a;
    }
    return NULL;
}

/* Whether If-None-Match names the asset's current tag (weak comparison,
 * RFC 9110 section 13.1.2); the tags are ours, parsed as /data's are. */
static bool ui_not_modified(const struct api_exchange *ex,
                            const struct api_request *req, uint64_t tag)
{
    const char *inm = req->header(req->conn, "If-None-Match");
    struct api_etag tags[UI_TAGS_MAX];
    size_t n = 0;

    if (inm == NULL)
        return false;
    if (api_etag_list_parse(inm, ex->api->boot_nonce, true, tags, UI_TAGS_MAX,
                            &n))
        return true; /* "*" */
    for (size_t i = 0; i < n && i < UI_TAGS_MAX; i++) {
        if (tags[i].id == 0 && tags[i].gen == tag)
            return true;
    }
    return false;
}

static void ui_start(struct api_exchange *ex, const struct api_request *req)
{
    /* The router matched "/ui", "/ui/" or "/ui/<one segment>[/]". */
    const char *name = req->path + strlen("/ui");
    size_t len;
    const struct api_ui_asset *a;
    char etag[API_ETAG_MAX];

    api__header_keep(ex, "Content-Security-Policy", "%s", UI_CSP);
    api__header_keep(ex, "X-Content-Type-Options", "nosniff");
    api__header_keep(ex, "Referrer-Policy", "no-referrer");
    if (*name == '\0') {
        api__respond(ex, API_S_PERMANENT_REDIRECT);
        api__header(ex, "Location", "ui/");
        return;
    }
    name++; /* the '/' */
    len = strcspn(name, "/");
    if (len == 0) {
        name = "index.html";
        len = strlen(name);
    }
    a = ui_find(name, len);
    if (a == NULL) {
        api__fail(ex, API_ENOROUTE, "the inspector has no file of this name");
        return;
    }
    /* Mapping ids start at 1, so id 0 marks an asset's tag. */
    api__etag(ex->api, 0, a->tag, etag);
    if (ui_not_modified(ex, req, a->tag)) {
        api__respond(ex, API_S_NOT_MODIFIED);
    } else {
        if (!api__body_copy(ex, a->content_type, (const char *)a->data,
                            a->len)) {
            api__fail(ex, API_EINTERNAL, "out of memory");
            return;
        }
        api__respond(ex, API_S_OK);
    }
    api__header(ex, "ETag", "%s", etag);
    api__header(ex, "Cache-Control", "no-cache");
}

const struct api_handler api__op_ui = {0, ui_start, NULL, NULL, NULL};
