/* fuzz_etag.c - the ETag parsers of etag.c on any header value.
 *
 * Invariants: an If-Range value parsed as ours prints back (as precond.c
 * prints ETags) to exactly the trimmed input; every tag a list yields
 * prints to a tag that parses back to the same numbers; parsing a list
 * twice, with room for every tag the first pass counted, gives the same
 * tags; the weak parse of a list yields at least the tags of the strong
 * one.
 */
#include <inttypes.h>
#include <stdio.h>

#include "api/api_parse.h"
#include "fuzz.h"

#define NONCE 0x00c0ffeeu

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *hdr = fuzz_cstr(data, size);
    struct api_etag one;
    struct api_etag small[2];
    struct api_etag *all;
    size_t n_small;
    size_t n_all;
    size_t n_weak;
    bool any;
    char canon[64];

    if (hdr == NULL)
        return 0;
    if (api_if_range_parse(hdr, NONCE, &one)) {
        int w = snprintf(canon, sizeof(canon),
                         "\"%08" PRIx32 "-%" PRIx64 "-%" PRIx64 "\"", NONCE,
                         one.id, one.gen);
        FUZZ_ASSERT(w > 0 && strstr(hdr, canon) != NULL);
    }
    any = api_etag_list_parse(hdr, NONCE, false, small, 2, &n_small);
    FUZZ_ASSERT(!any || n_small == 0);
    all = calloc(n_small + 1, sizeof(*all));
    if (all != NULL) {
        FUZZ_ASSERT(api_etag_list_parse(hdr, NONCE, false, all, n_small + 1,
                                        &n_all) == any);
        FUZZ_ASSERT(n_all == n_small);
        for (size_t i = 0; i < n_all; i++) {
            struct api_etag back;
            int w = snprintf(canon, sizeof(canon),
                             "\"%08" PRIx32 "-%" PRIx64 "-%" PRIx64 "\"",
                             NONCE, all[i].id, all[i].gen);

            FUZZ_ASSERT(w > 0 &&
                        api_etag_parse(canon, (size_t)w, NONCE, &back));
            FUZZ_ASSERT(back.id == all[i].id && back.gen == all[i].gen);
            if (i < 2)
                FUZZ_ASSERT(small[i].id == all[i].id &&
                            small[i].gen == all[i].gen);
        }
        free(all);
    }
    (void)api_etag_list_parse(hdr, NONCE, true, small, 0, &n_weak);
    FUZZ_ASSERT(n_weak >= n_small);
    free(hdr);
    return 0;
}
