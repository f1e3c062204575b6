/* fuzz_prefer.c - api_prefer_wait (prefer.c) on any Prefer header value.
 *
 * Invariants: it reads only len bytes (the copy here has no terminator
 * past them); a wait it finds is found again in the same value with
 * another preference put before it, since an unrelated element never
 * hides a later wait.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_parse.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *v = malloc(size + 1);
    char *w;
    uint32_t n, m;
    bool found;

    if (v == NULL)
        return 0;
    memcpy(v, data, size);
    found = api_prefer_wait(v, size, &n);
    w = malloc(size + 16);
    if (w != NULL) {
        memcpy(w, "respond-async, ", 15);
        memcpy(w + 15, data, size);
        if (found)
            FUZZ_ASSERT(api_prefer_wait(w, size + 15, &m) && m == n);
        free(w);
    }
    free(v);
    return 0;
}
