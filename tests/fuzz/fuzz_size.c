/* fuzz_size.c - api_parse_u64, api_parse_u64n and api_parse_size.
 *
 * Invariants: the length-bounded parser never reads past its slice and
 * agrees with the C-string one; a plain number is also a valid size with
 * the same value; an accepted number prints back as its digits (less
 * leading zeros).
 */
#include <inttypes.h>
#include <stdio.h>

#include "api/api_parse.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s;
    uint64_t a = 0;
    uint64_t b = 0;
    uint64_t c = 0;
    bool ok_n;
    bool ok;

    /* The raw slice, not terminated: ASan catches any read past it. */
    ok_n = api_parse_u64n((const char *)data, size, &a);
    s = fuzz_cstr(data, size);
    if (s == NULL)
        return 0;
    ok = api_parse_u64(s, &b);
    if (strlen(s) == size)
        FUZZ_ASSERT(ok == ok_n && (!ok || a == b));
    if (ok) {
        char back[32];
        const char *digits = s + strspn(s, "0");

        FUZZ_ASSERT(api_parse_size(s, &c) && c == b);
        snprintf(back, sizeof(back), "%" PRIu64, b);
        FUZZ_ASSERT(strcmp(back, *digits ? digits : "0") == 0);
    }
    if (api_parse_size(s, &c))
        FUZZ_ASSERT(s[0] >= '0' && s[0] <= '9');
    free(s);
    return 0;
}
