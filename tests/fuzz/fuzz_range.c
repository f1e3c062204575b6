/* fuzz_range.c - api_range_parse and api_ranges_coalesce on any Range
 * header, against several representation sizes including the extremes.
 *
 * Invariants: a satisfiable answer has 1..max ranges, each with
 * first <= last < size; every other answer stores none; coalescing keeps
 * them inside the size, sorted, and neither overlapping nor adjacent.
 */
#include "api/api_parse.h"
#include "fuzz.h"

#define MAX_RANGES 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint64_t sizes[] = {0,         1, 100, 4096, (uint64_t)1 << 63,
                                     UINT64_MAX};
    char *hdr = fuzz_cstr(data, size);

    if (hdr == NULL)
        return 0;
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        struct api_range r[MAX_RANGES];
        size_t n = 12345;
        enum api_range_result res =
            api_range_parse(hdr, sizes[s], r, MAX_RANGES, &n);

        if (res != API_RANGE_OK) {
            FUZZ_ASSERT(n == 0);
            FUZZ_ASSERT(res == API_RANGE_IGNORE ||
                        res == API_RANGE_UNSATISFIABLE ||
                        res == API_RANGE_TOO_MANY);
            continue;
        }
        FUZZ_ASSERT(n >= 1 && n <= MAX_RANGES);
        for (size_t i = 0; i < n; i++)
            FUZZ_ASSERT(r[i].first <= r[i].last && r[i].last < sizes[s]);
        n = api_ranges_coalesce(r, n);
        FUZZ_ASSERT(n >= 1 && n <= MAX_RANGES);
        for (size_t i = 0; i < n; i++) {
            FUZZ_ASSERT(r[i].first <= r[i].last && r[i].last < sizes[s]);
            if (i > 0)
                FUZZ_ASSERT(r[i].first > r[i - 1].last + 1);
        }
    }
    free(hdr);
    return 0;
}
