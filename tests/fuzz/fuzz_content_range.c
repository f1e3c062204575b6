/* fuzz_content_range.c - api_content_range_parse on any header value.
 *
 * Invariants: an accepted value has first <= last, and last < total when a
 * total is given; printing it back in canonical form and parsing that gives
 * the same values.
 */
#include <inttypes.h>
#include <stdio.h>

#include "api/api_parse.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *hdr = fuzz_cstr(data, size);
    struct api_content_range cr;
    struct api_content_range again;
    char canon[96];

    if (hdr == NULL)
        return 0;
    if (api_content_range_parse(hdr, &cr)) {
        FUZZ_ASSERT(cr.first <= cr.last);
        FUZZ_ASSERT(!cr.has_total || cr.last < cr.total);
        if (cr.has_total)
            snprintf(canon, sizeof(canon),
                     "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, cr.first,
                     cr.last, cr.total);
        else
            snprintf(canon, sizeof(canon), "bytes %" PRIu64 "-%" PRIu64 "/*",
                     cr.first, cr.last);
        FUZZ_ASSERT(api_content_range_parse(canon, &again));
        FUZZ_ASSERT(again.first == cr.first && again.last == cr.last &&
                    again.has_total == cr.has_total &&
                    (!cr.has_total || again.total == cr.total));
    }
    free(hdr);
    return 0;
}
