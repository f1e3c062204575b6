/* fuzz_media_type.c - api_media_type_valid (a mapping's content_type, sent
 * back as a header) and api_origin_parse.
 *
 * Invariants: the length-bounded media type check never reads past its
 * slice; an accepted value is 1..API_MEDIA_TYPE_MAX bytes of printable
 * ASCII (nothing that could end or split a header line) with a '/' after a
 * non-empty type, and mapcore's own header-safety check agrees. An accepted
 * origin fits its buffer, is lower case without a path, and parses to
 * itself again.
 */
#include <string.h>

#include "api/api_parse.h"
#include "fuzz.h"
#include "mapcore/mc_mapping.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    char out[API_ORIGIN_MAX + 1], again[API_ORIGIN_MAX + 1];
    char *s;

    /* The raw slice, not terminated: ASan catches any read past it. */
    if (api_media_type_valid(p, size)) {
        FUZZ_ASSERT(size >= 3 && size <= API_MEDIA_TYPE_MAX);
        for (size_t i = 0; i < size; i++)
            FUZZ_ASSERT(data[i] >= 0x20 && data[i] <= 0x7e);
        FUZZ_ASSERT(memchr(p, '/', size) != NULL && p[0] != '/');
        s = fuzz_cstr(data, size);
        if (s != NULL) {
            FUZZ_ASSERT(mc_content_type_valid(s));
            free(s);
        }
    }
    s = fuzz_cstr(data, size);
    if (s == NULL)
        return 0;
    if (api_origin_parse(s, out, sizeof(out))) {
        FUZZ_ASSERT(strlen(out) <= API_ORIGIN_MAX);
        if (strcmp(out, "*") != 0) {
            const char *host = strstr(out, "://");

            FUZZ_ASSERT(host != NULL && strchr(host + 3, '/') == NULL);
            for (const char *c = out; *c; c++)
                FUZZ_ASSERT(*c > 0x20 && *c < 0x7f && !(*c >= 'A' && *c <= 'Z'));
        }
        FUZZ_ASSERT(api_origin_parse(out, again, sizeof(again)) &&
                    strcmp(out, again) == 0);
    }
    free(s);
    return 0;
}
