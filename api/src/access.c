/* access.c - authentication and authorisation of exchanges.
 *
 * The policy itself (token table, constant-time lookup, prefix scopes) is
 * in auth.c; the scope each operation needs is a column of the operation
 * table (ops.c); this file checks it and answers 401 or 403. The rules come from shared API.md, "Security":
 *  - /healthz, /readyz and the inspector's files (/ui/, code only, see
 *    ui.c) are open; every other path, unknown ones
 *    included, needs a valid token when a table is set, so a caller
 *    without one learns nothing about what exists.
 *  - /metrics, /v1/info and GET /v1/maps need any valid token; the listing
 *    shows only the names the token may read (maps.c).
 *  - Reading bytes, objects or metadata needs read; writing bytes or
 *    objects and flushing need write; resize and delete need admin (admin
 *    flag plus write on the name). PUT /v1/maps/{name} needs read to open
 *    an existing name and admin to create one; maps.c makes the final call
 *    once it knows which of the two happens.
 *  - POST .../atomic: a load needs read, any other operation write;
 *    atomic.c checks each batch once its body is in.
 *  - Write does not imply read.
 */
#include <string.h>

#include "internal.h"

/* RFC 6750 section 3: a 401 names the scheme and, when a token was given
 * but refused, says why. */
#define CHALLENGE "Bearer realm=\"mmapd\""

void api_set_tokens(struct api *api, struct api_tokens *tokens)
{
    struct api_tokens *old;

    api_tokens_ref(tokens);
    pthread_mutex_lock(&api->tokens_lock);
    old = api->tokens;
    api->tokens = tokens;
    pthread_mutex_unlock(&api->tokens_lock);
    /* Exchanges that took a reference before the swap keep the old table
     * alive until they end; the last of them frees it. */
    api_tokens_unref(old);
}

/* A new reference to the current table, or NULL when anonymous. The lock
 * makes "read the pointer, take a reference" one step, so a concurrent
 * api_set_tokens can't free the table in between. */
static struct api_tokens *tokens_acquire(struct api *api)
{
    struct api_tokens *t;

    pthread_mutex_lock(&api->tokens_lock);
    t = api_tokens_ref(api->tokens);
    pthread_mutex_unlock(&api->tokens_lock);
    return t;
}

bool api__authenticate(struct api_exchange *ex, const struct api_request *req)
{
    enum api_auth_result r;

    if (api__route_open(ex->route))
        return true;
    ex->auth_tokens = tokens_acquire(ex->api);
    if (ex->auth_tokens == NULL)
        return true; /* anonymous */
    r = api_tokens_authenticate(ex->auth_tokens,
                                req->header(req->conn, "Authorization"),
                                &ex->auth_token);
    if (r == API_AUTH_OK)
        return true;
    if (r == API_AUTH_MISSING) {
        api__fail(ex, API_EUNAUTHORIZED,
                  "this resource needs an Authorization: Bearer token");
        api__header_keep(ex, "WWW-Authenticate", "%s", CHALLENGE);
    } else {
        api__fail(ex, API_EUNAUTHORIZED, "the bearer token is not valid");
        api__header_keep(ex, "WWW-Authenticate",
                         "%s, error=\"invalid_token\"", CHALLENGE);
    }
    return false;
}

bool api__may(const struct api_exchange *ex, enum api_perm perm,
              const char *name)
{
    if (ex->auth_tokens == NULL)
        return true;
    return api_token_may(ex->auth_token, perm, name);
}

bool api__authorize(struct api_exchange *ex)
{
    const struct api_op *op = ex->op;
    bool ok;

    if (ex->auth_tokens == NULL)
        return true;
    switch (op->scope) {
    case API_SCOPE_TOKEN:
        return true; /* any valid token */
    case API_SCOPE_READ:
        ok = api__may(ex, API_PERM_READ, ex->name);
        break;
    case API_SCOPE_WRITE:
        ok = api__may(ex, API_PERM_WRITE, ex->name);
        break;
    case API_SCOPE_ADMIN:
        ok = api__may(ex, API_PERM_ADMIN, ex->name);
        break;
    case API_SCOPE_READ_OR_ADMIN:
        /* Refuse early a token that has neither; maps.c decides the rest
         * once it knows whether this opens or creates. */
        ok = api__may(ex, API_PERM_READ, ex->name) ||
             api__may(ex, API_PERM_ADMIN, ex->name);
        break;
    case API_SCOPE_READ_OR_WRITE:
        ok = api__may(ex, API_PERM_READ, ex->name) ||
             api__may(ex, API_PERM_WRITE, ex->name);
        break;
    default:
        ok = false; /* a scope without a rule is refused, never guessed */
        break;
    }
    if (!ok)
        api__fail(ex, API_EFORBIDDEN, "this token may not %s \"%s\"",
                  op->denied != NULL ? op->denied : "do this", ex->name);
    return ok;
}

void api__auth_release(struct api_exchange *ex)
{
    ex->auth_token = NULL;
    api_tokens_unref(ex->auth_tokens);
    ex->auth_tokens = NULL;
}
