/* patchbody.c - the bodies of a byte-range PATCH: message/byterange and
 * multipart/byteranges, and the media type that says which one it is.
 *
 * message/byterange (draft-ietf-httpapi-patch-byterange) is a header block,
 * a blank line, and the bytes:
 *     Content-Range: bytes 100-199/4096  CRLF
 *     CRLF
 *     <100 bytes>
 * multipart/byteranges (RFC 9110 section 14.6, RFC 2046) is a sequence of
 * such parts, each opened by "--BOUNDARY" and the whole closed by
 * "--BOUNDARY--". Each part's length is known from its Content-Range, so its
 * bytes are taken by count and the delimiter must follow right after them: a
 * boundary string that happens to occur inside the bytes changes nothing.
 *
 * Pure functions: no allocation, no I/O; the parts point into the body.
 * Lines may end in CRLF or a bare LF (RFC 9112 section 2.2 lets a recipient
 * accept a bare LF). Anything unexpected is a failure, never a guess.
 */
#include <string.h>
#include <strings.h>

#include "api/api_parse.h"

/* Room for a Content-Range value: "bytes " and three 20-digit numbers. */
#define VALUE_MAX 96

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* The line starting at p (before end): *next is where the next line starts,
 * and the line's text is [p, p + *len) without its CRLF or LF. False when
 * no line end comes before end. */
static bool line(const char *p, const char *end, size_t *len,
                 const char **next)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));

    if (nl == NULL)
        return false;
    *next = nl + 1;
    if (nl > p && nl[-1] == '\r')
        nl--;
    *len = (size_t)(nl - p);
    return true;
}

/* Parse the header block of a part at *pp up to and including its blank
 * line. Content-Range is required and may appear once; Content-Type is
 * allowed and ignored (the bytes are bytes); Content-Length, if given, must
 * match the range. Any other field makes the part malformed, so that a
 * header the client meant (say Content-Encoding) is never silently dropped.
 */
static enum api_patch_result part_headers(const char **pp, const char *end,
                                          struct api_patch_part *part)
{
    const char *p = *pp;
    bool have_range = false;
    bool have_length = false;
    uint64_t length = 0;

    for (;;) {
        const char *next;
        const char *colon;
        const char *v;
        const char *ve;
        size_t len;
        size_t name_len;

        if (!line(p, end, &len, &next))
            return API_PATCH_MALFORMED;
        if (len == 0) {
            p = next;
            break;
        }
        colon = memchr(p, ':', len);
        if (colon == NULL || colon == p)
            return API_PATCH_MALFORMED;
        name_len = (size_t)(colon - p);
        v = colon + 1;
        ve = p + len;
        while (v < ve && is_ows(*v))
            v++;
        while (ve > v && is_ows(ve[-1]))
            ve--;
        if ((size_t)(ve - v) >= VALUE_MAX || memchr(v, '\0', (size_t)(ve - v)))
            return API_PATCH_MALFORMED;
        char value[VALUE_MAX];
        memcpy(value, v, (size_t)(ve - v));
        value[ve - v] = '\0';

        if (name_len == 13 && strncasecmp(p, "Content-Range", 13) == 0) {
            struct api_content_range cr;

            if (have_range || !api_content_range_parse(value, &cr))
                return API_PATCH_MALFORMED;
            have_range = true;
            part->first = cr.first;
            part->last = cr.last;
            part->has_total = cr.has_total;
            part->total = cr.total;
        } else if (name_len == 14 && strncasecmp(p, "Content-Length", 14) == 0) {
            if (have_length || !api_parse_u64(value, &length))
                return API_PATCH_MALFORMED;
            have_length = true;
        } else if (!(name_len == 12 && strncasecmp(p, "Content-Type", 12) == 0)) {
            return API_PATCH_MALFORMED;
        }
        p = next;
    }
    if (!have_range)
        return API_PATCH_MALFORMED;
    /* last >= first, so this cannot overflow except for the full 2^64
     * range, which no mapping can hold: call it a length mismatch. */
    if (part->last - part->first == UINT64_MAX)
        return API_PATCH_LENGTH;
    if (have_length && length != part->last - part->first + 1)
        return API_PATCH_LENGTH;
    *pp = p;
    return API_PATCH_OK;
}

enum api_patch_result api_byterange_parse(const char *body, size_t len,
                                          struct api_patch_part *out)
{
    const char *p = body;
    const char *end = body + len;
    enum api_patch_result res;

    memset(out, 0, sizeof(*out));
    res = part_headers(&p, end, out);
    if (res != API_PATCH_OK)
        return res;
    out->data = p;
    out->data_len = (size_t)(end - p);
    if ((uint64_t)out->data_len != out->last - out->first + 1)
        return API_PATCH_LENGTH;
    return API_PATCH_OK;
}

/* True when [p, end) starts with "--" boundary. */
static bool at_delimiter(const char *p, const char *end, const char *boundary,
                         size_t blen)
{
    return (size_t)(end - p) >= blen + 2 && p[0] == '-' && p[1] == '-' &&
           memcmp(p + 2, boundary, blen) == 0;
}

/* After a delimiter's boundary: "--" closes the body (then only whitespace
 * and an epilogue may follow, which RFC 2046 says to ignore), or optional
 * blanks and a line end open the next part. */
static enum api_patch_result after_delimiter(const char **pp, const char *end,
                                             bool *closed)
{
    const char *p = *pp;
    const char *next;
    size_t len;

    if (end - p >= 2 && p[0] == '-' && p[1] == '-') {
        *closed = true;
        *pp = end;
        return API_PATCH_OK;
    }
    if (!line(p, end, &len, &next))
        return API_PATCH_MALFORMED;
    for (size_t i = 0; i < len; i++) {
        if (!is_ows(p[i]))
            return API_PATCH_MALFORMED;
    }
    *closed = false;
    *pp = next;
    return API_PATCH_OK;
}

enum api_patch_result api_multipart_parse(const char *body, size_t len,
                                          const char *boundary,
                                          struct api_patch_part *out,
                                          size_t max, size_t *n)
{
    const char *p = body;
    const char *end = body + len;
    size_t blen = boundary != NULL ? strlen(boundary) : 0;
    bool closed = false;
    enum api_patch_result res;

    *n = 0;
    if (blen == 0 || blen > 70)
        return API_PATCH_MALFORMED;
    /* The preamble, ignored: skip to the first delimiter at a line start. */
    for (;;) {
        const char *next;
        size_t l;

        if (at_delimiter(p, end, boundary, blen))
            break;
        if (!line(p, end, &l, &next))
            return API_PATCH_MALFORMED;
        p = next;
    }
    p += blen + 2;
    res = after_delimiter(&p, end, &closed);
    if (res != API_PATCH_OK)
        return res;
    while (!closed) {
        struct api_patch_part part;
        uint64_t want;

        if (*n == max)
            return API_PATCH_TOO_MANY;
        memset(&part, 0, sizeof(part));
        res = part_headers(&p, end, &part);
        if (res != API_PATCH_OK)
            return res;
        want = part.last - part.first + 1;
        part.data = p;
        if ((uint64_t)(end - p) < want)
            return API_PATCH_LENGTH;
        part.data_len = (size_t)want;
        p += part.data_len;
        /* The part's bytes end exactly where the delimiter's line break
         * begins; anything else means the range and the bytes disagree. */
        if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
            p += 2;
        else if (end - p >= 1 && p[0] == '\n')
            p += 1;
        else
            return API_PATCH_LENGTH;
        if (!at_delimiter(p, end, boundary, blen))
            return API_PATCH_LENGTH;
        p += blen + 2;
        out[(*n)++] = part;
        res = after_delimiter(&p, end, &closed);
        if (res != API_PATCH_OK)
            return res;
    }
    return *n > 0 ? API_PATCH_OK : API_PATCH_MALFORMED;
}

/* Match a media type (case-insensitive) at the start of ct, followed by the
 * end, blanks or a ';'. */
static bool type_is(const char *ct, const char *type, const char **rest)
{
    size_t tl = strlen(type);

    if (strncasecmp(ct, type, tl) != 0)
        return false;
    ct += tl;
    while (is_ows(*ct))
        ct++;
    if (*ct != '\0' && *ct != ';')
        return false;
    *rest = ct;
    return true;
}

enum api_patch_type api_patch_type_parse(const char *ct, char *boundary,
                                         size_t boundary_size)
{
    const char *p;

    if (boundary_size > 0)
        boundary[0] = '\0';
    if (ct == NULL)
        return API_PATCH_TYPE_UNKNOWN;
    while (is_ows(*ct))
        ct++;
    if (type_is(ct, "message/byterange", &p))
        return API_PATCH_TYPE_BYTERANGE;
    if (!type_is(ct, "multipart/byteranges", &p))
        return API_PATCH_TYPE_UNKNOWN;
    /* Parameters: ; name=value or ; name="quoted value". Only boundary
     * matters; it must be given once and be 1 to 70 characters. */
    while (*p == ';') {
        const char *name;
        size_t name_len;
        size_t k = 0;
        bool is_boundary;

        p++;
        while (is_ows(*p))
            p++;
        name = p;
        while (*p != '=' && *p != '\0' && *p != ';' && !is_ows(*p))
            p++;
        name_len = (size_t)(p - name);
        if (*p != '=' || name_len == 0)
            return API_PATCH_TYPE_UNKNOWN;
        p++;
        is_boundary = name_len == 8 && strncasecmp(name, "boundary", 8) == 0;
        if (is_boundary && boundary[0] != '\0')
            return API_PATCH_TYPE_UNKNOWN;
        if (*p == '"') {
            p++;
            while (*p != '"') {
                if (*p == '\0' || *p == '\\')
                    return API_PATCH_TYPE_UNKNOWN;
                if (is_boundary) {
                    if (k + 1 >= boundary_size || k >= 70)
                        return API_PATCH_TYPE_UNKNOWN;
                    boundary[k++] = *p;
                }
                p++;
            }
            p++;
        } else {
            while (*p != '\0' && *p != ';' && !is_ows(*p)) {
                if (is_boundary) {
                    if (k + 1 >= boundary_size || k >= 70)
                        return API_PATCH_TYPE_UNKNOWN;
                    boundary[k++] = *p;
                }
                p++;
            }
        }
        if (is_boundary) {
            if (k == 0)
                return API_PATCH_TYPE_UNKNOWN;
            boundary[k] = '\0';
        }
        while (is_ows(*p))
            p++;
    }
    if (*p != '\0' || boundary_size == 0 || boundary[0] == '\0')
        return API_PATCH_TYPE_UNKNOWN;
    return API_PATCH_TYPE_MULTIPART;
}
