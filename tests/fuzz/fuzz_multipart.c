/* fuzz_multipart.c - api_multipart_parse on any body.
 *
 * The first line of the input (up to 70 bytes, without its line end) is the
 * boundary, the rest the body, so the fuzzer explores both. Invariants: an
 * accepted body has 1..max parts, each with first <= last, bytes of exactly
 * the range's length lying inside the body, in body order and without
 * overlapping one another.
 */
#include "api/api_parse.h"
#include "fuzz.h"

#define MAX_PARTS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct api_patch_part parts[MAX_PARTS];
    char boundary[72];
    const uint8_t *nl = memchr(data, '\n', size < 71 ? size : 71);
    const char *body;
    size_t blen;
    size_t n = 0;

    if (nl == NULL)
        return 0;
    blen = (size_t)(nl - data);
    memcpy(boundary, data, blen);
    boundary[blen] = '\0';
    body = (const char *)nl + 1;
    size -= blen + 1;
    if (api_multipart_parse(body, size, boundary, parts, MAX_PARTS, &n) !=
        API_PATCH_OK)
        return 0;
    FUZZ_ASSERT(n >= 1 && n <= MAX_PARTS);
    for (size_t i = 0; i < n; i++) {
        FUZZ_ASSERT(parts[i].first <= parts[i].last);
        FUZZ_ASSERT(parts[i].data_len == parts[i].last - parts[i].first + 1);
        FUZZ_ASSERT(parts[i].data >= body &&
                    parts[i].data + parts[i].data_len <= body + size);
        FUZZ_ASSERT(i == 0 || parts[i].data >= parts[i - 1].data +
                                                   parts[i - 1].data_len);
    }
    return 0;
}
