/* tokens.c - read the token file into an api token table. */
#include "tokens.h"

#include <stdio.h>

#include "api/api.h"
#include "api/api_auth.h"
#include "log.h"
#include "secretfile.h"

int srv_tokens_load(const char *path, struct api_tokens **out, char *err,
                    size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    char why[256];
    int rc;

    *out = NULL;
    if (srv_secretfile_read(path, "token file", true, API_TOKENS_FILE_MAX, &text,
                            &len, err, errlen) != 0)
        return -1;
    rc = api_tokens_parse(text, len, out, why, sizeof(why));
    srv_secretfile_free(text, len);
    if (rc != 0)
        snprintf(err, errlen, "token file %s: %s", path, why);
    return rc;
}

int srv_tokens_reload(const char *path, struct api *api)
{
    struct api_tokens *t = NULL;
    char err[512];

    if (srv_tokens_load(path, &t, err, sizeof(err)) != 0) {
        srv_log(SRV_LOG_ERROR, "%s; keeping the tokens loaded before", err);
        return -1;
    }
    api_set_tokens(api, t);
    srv_log(SRV_LOG_INFO, "token file %s reloaded: %zu tokens", path,
            api_tokens_count(t));
    api_tokens_unref(t); /* the api holds its own reference now */
    return 0;
}
