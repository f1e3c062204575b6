/* tokens.h - the token file: load it at start, reload it on SIGHUP.
 *
 * Caveats: loading reads the file and parses it with api_tokens_parse
 * (api/api_auth.h); an invalid file never replaces a valid table.
 */
#ifndef SERVER_TOKENS_H
#define SERVER_TOKENS_H

#include <stddef.h>

struct api;
struct api_tokens;

/* Read and parse the token file at path. On success returns 0 and *out is
 * a new reference; on failure -1, *out is NULL and err holds one line
 * naming the file and the fault. */
int srv_tokens_load(const char *path, struct api_tokens **out, char *err,
                    size_t errlen);

/* Load path again and, when it is valid, hand it to the api (requests in
 * flight finish with the old table). When it is not, keep the old table
 * and log an error. Returns 0 when the new table is in use. */
int srv_tokens_reload(const char *path, struct api *api);

#endif
