/* numbers.c - strict unsigned decimal numbers and byte sizes, and the
 * decimal formatting of numbers for response headers.
 *
 * These are hand-written loops rather than strtoull() calls because strtoull
 * accepts what a wire contract must refuse: leading blanks, a '+' or even a
 * '-' sign (which it silently negates), and it needs a NUL-terminated string
 * while header fields arrive as slices. Every step of the accumulation is
 * checked, so an overflow is a refusal, never a wrap-around.
 */
#include <string.h>
#include <strings.h>

#include "api/api_parse.h"

size_t api_format_u64(uint64_t v, char out[API_U64_DEC_MAX])
{
    char tmp[API_U64_DEC_MAX];
    size_t n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    return n;
}

bool api_parse_u64n(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;

    if (s == NULL || len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < '0' || c > '9')
            return false;
        if (__builtin_mul_overflow(v, 10u, &v))
            return false;
        if (__builtin_add_overflow(v, (uint64_t)(c - '0'), &v))
            return false;
    }
    *out = v;
    return true;
}

bool api_parse_u64(const char *s, uint64_t *out)
{
    if (s == NULL)
        return false;
    return api_parse_u64n(s, strlen(s), out);
}

/* The unit suffixes api_parse_size accepts. Every one is binary, as dd and
 * the kernel read them, so "1MB" and "1MiB" are the same 1048576 bytes. */
static const struct {
    const char *suffix;
    unsigned shift;
} size_units[] = {
    {"", 0},     {"B", 0},   {"K", 10},   {"KB", 10},  {"KiB", 10},
    {"M", 20},   {"MB", 20}, {"MiB", 20}, {"G", 30},   {"GB", 30},
    {"GiB", 30}, {"T", 40},  {"TB", 40},  {"TiB", 40},
};

bool api_parse_size(const char *s, uint64_t *out)
{
    size_t digits = 0;
    uint64_t v;

    if (s == NULL)
        return false;
    while (s[digits] >= '0' && s[digits] <= '9')
        digits++;
    if (!api_parse_u64n(s, digits, &v))
        return false;
    for (size_t i = 0; i < sizeof(size_units) / sizeof(size_units[0]); i++) {
        uint64_t scaled;

        if (strcasecmp(s + digits, size_units[i].suffix) != 0)
            continue;
        /* A left shift would silently drop the high bits; multiply with a
         * check instead so "16777216TiB" is refused. */
        if (__builtin_mul_overflow(v, (uint64_t)1 << size_units[i].shift,
                                   &scaled))
            return false;
        *out = scaled;
        return true;
    }
    return false;
}
