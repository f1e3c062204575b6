/* bytes_headers.c - what an answer made of a mapping's bytes says about
 * them (README "Content type").
 *
 * A mapping is served as the content type it was given ("content_type" at
 * create or PATCH; application/octet-stream by default), so a browser can
 * show an image or play a video straight from /data. But the bytes are
 * whatever a writer put there: a page stored in a mapping must never run
 * with the server's origin, where its script could call the API with the
 * viewer's token. So every bytes answer also carries
 *  - X-Content-Type-Options: nosniff: the browser never guesses a more
 *    active type than the one given (no "octet-stream that looks like
 *    HTML" rendered as HTML), and
 *  - Content-Security-Policy: sandbox: a document shown from it gets a
 *    unique opaque origin, with no scripts, forms or plugins.
 */
#include <stdio.h>

#include "internal.h"

void api__bytes_content_type(struct api_exchange *ex, struct mc_mapping *m)
{
    char type[MC_CONTENT_TYPE_MAX + 1];

    mc_mapping_content_type(m, type);
    api__content_type(ex, "%s", type); /* the exchange holds a copy */
}

void api__bytes_guard(struct api_exchange *ex)
{
    api__header(ex, "X-Content-Type-Options", "nosniff");
    api__header(ex, "Content-Security-Policy", "sandbox");
}
