/* fuzz_byterange.c - api_byterange_parse and api_patch_type_parse on any
 * input.
 *
 * Invariants: an accepted body has first <= last, a part length equal to
 * the range's, bytes that lie inside the input and end exactly at its end,
 * and last < total when a total is given. The input is also read as a
 * Content-Type: a multipart answer always names a non-empty boundary of at
 * most 70 characters.
 */
#include "api/api_parse.h"
#include "fuzz.h"

#define FUZZ_ASSERT_IN(p, n, data, size)                                     \
    FUZZ_ASSERT((const uint8_t *)(p) >= (data) &&                            \
                (const uint8_t *)(p) + (n) <= (data) + (size))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct api_patch_part part;
    char boundary[72];
    char *ct;

    if (api_byterange_parse((const char *)data, size, &part) == API_PATCH_OK) {
        FUZZ_ASSERT(part.first <= part.last);
        FUZZ_ASSERT(part.data_len == part.last - part.first + 1);
        FUZZ_ASSERT(!part.has_total || part.last < part.total);
        FUZZ_ASSERT_IN(part.data, part.data_len, data, size);
        FUZZ_ASSERT((const uint8_t *)part.data + part.data_len == data + size);
    }
    ct = fuzz_cstr(data, size);
    if (ct == NULL)
        return 0;
    if (api_patch_type_parse(ct, boundary, sizeof(boundary)) ==
        API_PATCH_TYPE_MULTIPART) {
        size_t bl = strlen(boundary);

        FUZZ_ASSERT(bl >= 1 && bl <= 70);
    }
    free(ct);
    return 0;
}
