/* segment.c - percent-decoding of one path segment (RFC 3986 section 2.1).
 *
 * The router decodes the {name} segment before validating it, so that a
 * client who escapes an ordinary character ("a%2Db") names the same mapping
 * as one who doesn't. Escapes that would smuggle a separator or a terminator
 * into a name ("%2F", "%00") are refused here rather than trusted to a later
 * check, because a decoded NUL would silently shorten the C string.
 */
#include "api/api_parse.h"

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool api_segment_decode(const char *seg, size_t len, char *out, size_t out_size)
{
    size_t o = 0;

    if (seg == NULL || out == NULL || out_size == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)seg[i];

        if (c == '%') {
            int hi;
            int lo;

            if (len - i < 3)
                return false;
            hi = hex_value((unsigned char)seg[i + 1]);
            lo = hex_value((unsigned char)seg[i + 2]);
            if (hi < 0 || lo < 0)
                return false;
            c = (unsigned char)(hi * 16 + lo);
            i += 2;
        }
        /* A raw '/' cannot be in a segment the router split out, but the
         * function is public, so it holds the same line for both forms. */
        if (c == '\0' || c == '/')
            return false;
        /* Keep one byte for the terminator. */
        if (o + 1 >= out_size)
            return false;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return true;
}
