/* fuzz_record.c - the store's fast reader of catalog records against its
 * JSON reader (store.c).
 *
 * Invariant: whenever the fast reader takes a text (returns 1), jansson's
 * reader gives the same verdict and, when valid, the same fields; a valid
 * record's file is a valid path and its size is positive, and a
 * snapshot's record names a valid source name and a quoted ETag. Text the fast
 * reader declines is read by jansson alone, which must not crash.
 */
#include "fuzz.h"
#include "internal.h"
#include "mapcore/mc_names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mc_info fast, slow;
    bool ok = false;
    const char *text = (const char *)data;

    memset(&fast, 0, sizeof fast);
    memset(&slow, 0, sizeof slow);
    int taken = mc__store_fast_record(text, size, &fast, &ok);
    bool slow_ok = mc__store_json_record(text, size, &slow);

    if (taken == 1) {
        FUZZ_ASSERT(ok == slow_ok);
        if (ok)
            FUZZ_ASSERT(memcmp(&fast, &slow, sizeof fast) == 0);
    }
    if (slow_ok) {
        FUZZ_ASSERT(mc_path_valid(slow.file, strlen(slow.file)));
        FUZZ_ASSERT(slow.size > 0);
        /* A snapshot names a valid source and a quoted ETag, or neither. */
        FUZZ_ASSERT((slow.source[0] == '\0') == (slow.source_etag[0] == '\0'));
        FUZZ_ASSERT(slow.source[0] == '\0' ||
                    (mc_name_valid(slow.source, strlen(slow.source)) &&
                     mc_etag_valid(slow.source_etag,
                                   strlen(slow.source_etag))));
    }
    return 0;
}
