/* fuzz_object.c - api_object_verify on any bytes read from a mapping.
 *
 * Invariants: a record that verifies has its JSON inside the input, right
 * after the header, with the length the header claims; encoding that JSON
 * again gives back the same header and JSON bytes.
 */
#include "api/api_parse.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *json;
    size_t jl;
    uint64_t total;
    uint8_t *again;

    if (!api_object_verify(data, size, &json, &jl))
        return 0;
    FUZZ_ASSERT((const uint8_t *)json == data + API_OBJECT_HEADER);
    FUZZ_ASSERT(jl <= size - API_OBJECT_HEADER);
    FUZZ_ASSERT(api_object_record_size(jl, &total));
    again = malloc((size_t)total);
    if (again == NULL)
        return 0;
    FUZZ_ASSERT(api_object_encode(json, jl, again, (size_t)total));
    FUZZ_ASSERT(memcmp(again, data, API_OBJECT_HEADER + jl) == 0);
    free(again);
    return 0;
}
