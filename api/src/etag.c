/* etag.c - our entity tags, and the lists of them that conditional
 * requests carry, parsed into numbers (api_parse.h).
 *
 * Parsing happens once, when the headers arrive; what runs later under a
 * mapping's lock (precond.c) compares two integers. The rules reproduce
 * what comparing the quoted strings byte for byte gave: only the exact
 * printed form of one of our tags equals one of our tags, so a tag with
 * upper-case or zero-padded digits, or another server's nonce, is parsed
 * as "never matches" rather than read leniently.
 */
#include "api/api_parse.h"

static const char *skip_ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

static int lower_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Lowercase hex p[0..len) as printed by %x: 1..16 digits, no leading zero
 * unless the number is 0. */
static bool canon_hex(const char *p, size_t len, uint64_t *out)
{
    uint64_t v = 0;

    if (len == 0 || len > 16 || (len > 1 && p[0] == '0'))
        return false;
    for (size_t i = 0; i < len; i++) {
        int d = lower_hex(p[i]);

        if (d < 0)
            return false;
        v = v << 4 | (uint64_t)d;
    }
    *out = v;
    return true;
}

bool api_etag_parse(const char *p, size_t len, uint32_t nonce,
                    struct api_etag *out)
{
    const char *end = p + len;
    const char *a;
    const char *b;
    uint64_t v;

    /* "\"" 8 hex "-" id "-" gen "\"" */
    if (len < 14 || p[0] != '"' || end[-1] != '"' || p[9] != '-')
        return false;
    for (size_t i = 1; i <= 8; i++) {
        if (lower_hex(p[i]) < 0)
            return false;
    }
    v = 0;
    for (size_t i = 1; i <= 8; i++)
        v = v << 4 | (uint64_t)lower_hex(p[i]);
    if (v != nonce)
        return false;
    a = p + 10;
    for (b = a; b < end - 1 && *b != '-'; b++)
        ;
    if (b >= end - 1)
        return false;
    return canon_hex(a, (size_t)(b - a), &out->id) &&
           canon_hex(b + 1, (size_t)(end - 1 - (b + 1)), &out->gen);
}

bool api_etag_list_parse(const char *header, uint32_t nonce, bool weak,
                         struct api_etag *out, size_t max, size_t *n)
{
    const char *p;

    *n = 0;
    if (header == NULL)
        return false;
    p = skip_ows(header);
    if (*p == '*')
        return *skip_ows(p + 1) == '\0';

    /* 1#entity-tag: [ "W/" ] DQUOTE *etagc DQUOTE, comma-separated. */
    for (;;) {
        bool is_weak = false;
        const char *q;
        struct api_etag t;

        p = skip_ows(p);
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == '\0')
            return false;
        if (p[0] == 'W' && p[1] == '/') {
            is_weak = true;
            p += 2;
        }
        if (*p != '"')
            return false; /* malformed: nothing further counts */
        for (q = p + 1; *q != '"' && *q != '\0'; q++)
            ;
        if (*q == '\0')
            return false;
        /* Weak comparison ignores the W/ prefix; strong comparison needs
         * both tags strong, and ours always are. */
        if ((weak || !is_weak) &&
            api_etag_parse(p, (size_t)(q + 1 - p), nonce, &t)) {
            if (*n < max)
                out[*n] = t;
            (*n)++;
        }
        p = skip_ows(q + 1);
        if (*p == ',')
            p++;
        else if (*p != '\0')
            return false;
    }
}

bool api_if_range_parse(const char *header, uint32_t nonce,
                        struct api_etag *out)
{
    const char *p;
    size_t len = 0;

    if (header == NULL)
        return false;
    p = skip_ows(header);
    while (p[len] != '\0')
        len++;
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
        len--;
    return api_etag_parse(p, len, nonce, out);
}
