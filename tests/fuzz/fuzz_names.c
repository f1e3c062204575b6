/* fuzz_names.c - percent-decoding of a {name} segment followed by
 * mc_name_valid, as the router does, and mc_name_valid on raw bytes.
 *
 * Invariants: a decoded segment never holds '/' or NUL and fits its
 * buffer; a name that passes mc_name_valid matches
 * ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$, so it can never spell a path.
 */
#include "api/api_parse.h"
#include "fuzz.h"
#include "mapcore/mc_names.h"

static bool name_char(unsigned char c, bool first)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
        (c >= '0' && c <= '9'))
        return true;
    return !first && (c == '.' || c == '_' || c == '-');
}

static void check_valid_name(const char *name, size_t len)
{
    FUZZ_ASSERT(len >= 1 && len <= MC_NAME_MAX);
    for (size_t i = 0; i < len; i++)
        FUZZ_ASSERT(name_char((unsigned char)name[i], i == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char out[MC_NAME_MAX + 1];

    if (mc_name_valid((const char *)data, size))
        check_valid_name((const char *)data, size);
    if (api_segment_decode((const char *)data, size, out, sizeof(out))) {
        size_t len = strlen(out);

        FUZZ_ASSERT(len < sizeof(out));
        FUZZ_ASSERT(memchr(out, '/', len) == NULL);
        /* No decoded NUL: the string is as long as the decoded bytes,
         * which is at least a third of the input. */
        FUZZ_ASSERT(len * 3 >= size);
        if (mc_name_valid(out, len))
            check_valid_name(out, len);
    }
    return 0;
}
