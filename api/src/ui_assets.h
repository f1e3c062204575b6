/* ui_assets.h - the files of the browser inspector, compiled into the
 * binary (README "Inspector").
 *
 * cmake/EmbedAssets.cmake generates the table from api/ui/ at build time;
 * ui.c serves it. Nothing is read from disk at run time, so the page is
 * exactly the one the binary was built and tested with.
 */
#ifndef API_UI_ASSETS_H
#define API_UI_ASSETS_H

#include <stddef.h>
#include <stdint.h>

struct api_ui_asset {
    const char *name;         /* file name under /ui/, [a-z0-9._-] */
    const char *content_type; /* from the extension */
    const unsigned char *data;
    size_t len;
    uint64_t tag; /* 60 bits of the bytes' SHA-256: the ETag's number */
};

extern const struct api_ui_asset api__ui_assets[];
extern const unsigned api__ui_asset_count;

#endif
