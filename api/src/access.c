/* access.c - authentication and authorisation of exchanges.
 *
 * The policy itself (token table, constant-time lookup, prefix scopes) is
 * in auth.c; this file decides which permission each operation needs and
 * answers 401 or 403. The rules come from shared API.md, "Security":
 *  - /healthz and /readyz are open; every other path, unknown ones
 *    included, needs a valid token when a table is set, so a caller
 *    without one learns nothing about what exists.
 *  - /metrics, /v1/info and GET /v1/maps need any valid token; the listing
 *    shows only the names the token may read (maps.c).
 *  - Reading bytes, objects or metadata needs read; writing bytes or
 *    objects and flushing need write; resize and delete need admin (admin
 *    flag plus write on the name). PUT /v1/maps/{name} needs read to open
 *    an existing name and admin to create one; maps.c makes the final call
 *    once it knows which of the two happens.
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

    if (ex->route == API_ROUTE_HEALTHZ || ex->route == API_ROUTE_READYZ)
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
        api__header(ex, "WWW-Authenticate", "%s", CHALLENGE);
    } else {
        api__fail(ex, API_EUNAUTHORIZED, "the bearer token is not valid");
        api__header(ex, "WWW-Authenticate", "%s, error=\"invalid_token\"",
                    CHALLENGE);
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

/* Answer 403 for a permission the token lacks on ex->name. */
static bool forbid(struct api_exchange *ex, const char *what)
{
    api__fail(ex, API_EFORBIDDEN, "this token may not %s \"%s\"", what,
              ex->name);
    return false;
}

bool api__authorize(struct api_exchange *ex)
{
    bool named = ex->name[0] != '\0';
    bool safe = ex->method == API_METHOD_GET || ex->method == API_METHOD_HEAD;

    if (ex->auth_tokens == NULL)
        return true;
    switch (ex->op) {
    case API_OP_NONE:
    case API_OP_HEALTHZ:
    case API_OP_READYZ:
    case API_OP_METRICS:
    case API_OP_INFO:
    case API_OP_MAPS_LIST:
        return true; /* any valid token */
    case API_OP_MAP_GET:
    case API_OP_DATA_GET:
    case API_OP_OBJECT_GET:
        return api__may(ex, API_PERM_READ, ex->name) ||
               forbid(ex, "read");
    case API_OP_MAP_PUT:
        /* Open needs read, create needs admin; which one this is shows only
         * at the end (maps.c). Refuse early a token that has neither. */
        return api__may(ex, API_PERM_READ, ex->name) ||
               api__may(ex, API_PERM_ADMIN, ex->name) ||
               forbid(ex, "open or create");
    case API_OP_MAP_PATCH:
        return api__may(ex, API_PERM_ADMIN, ex->name) ||
               forbid(ex, "resize (needs admin and write on the name)");
    case API_OP_MAP_DELETE:
        return api__may(ex, API_PERM_ADMIN, ex->name) ||
               forbid(ex, "delete (needs admin and write on the name)");
    case API_OP_DATA_PUT:
    case API_OP_DATA_PATCH:
    case API_OP_OBJECT_PUT:
    case API_OP_FLUSH:
        return api__may(ex, API_PERM_WRITE, ex->name) ||
               forbid(ex, "write");
    default:
        break;
    }
    /* Operations added later without a rule here: reads of a name need
     * read and anything else on a name needs write, which is what the
     * contract asks of data and object routes. An unsafe method without a
     * name has no scope to check, so it is refused rather than guessed. */
    if (named)
        return api__may(ex, safe ? API_PERM_READ : API_PERM_WRITE, ex->name) ||
               forbid(ex, safe ? "read" : "write");
    if (safe)
        return true;
    api__fail(ex, API_EFORBIDDEN, "no access rule for this operation");
    return false;
}

void api__auth_release(struct api_exchange *ex)
{
    ex->auth_token = NULL;
    api_tokens_unref(ex->auth_tokens);
    ex->auth_tokens = NULL;
}
