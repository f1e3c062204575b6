/* range.c - the Range request header and the Content-Range of a write.
 *
 * Range follows RFC 9110 section 14.2. The grammar is
 *     Range      = range-unit "=" range-set
 *     range-set  = 1#range-spec          (a list: OWS "," OWS, empties ok)
 *     range-spec = first-pos "-" [ last-pos ] / "-" suffix-length
 * We are a little more lenient than the grammar in one place, whitespace
 * around the "=", because a client that writes "bytes = 0-1" plainly means
 * it and ignoring its Range would only cost bandwidth. We are strict
 * everywhere else: a range-spec that is not well formed (5-3, a sign, a
 * number past 2^64-1) makes the whole header malformed, and RFC 9110 lets a
 * server ignore such a header and send the full representation.
 */
#include <stdlib.h>
#include <strings.h>

#include "api/api_parse.h"

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static const char *skip_ows(const char *p)
{
    while (is_ows(*p))
        p++;
    return p;
}

static size_t digit_run(const char *p)
{
    size_t n = 0;

    while (p[n] >= '0' && p[n] <= '9')
        n++;
    return n;
}

/* Parse one range-spec at *pp (which points at its first byte) and resolve
 * it against size. Returns false when the spec is malformed. On success
 * *sat says whether it is satisfiable and, if so, *r holds it clamped. */
static bool range_spec_parse(const char **pp, uint64_t size,
                             struct api_range *r, bool *sat)
{
    const char *p = *pp;
    size_t nd = digit_run(p);

    if (nd == 0) {
        /* "-" suffix-length: the last N bytes. */
        uint64_t suffix;

        if (*p != '-')
            return false;
        p++;
        nd = digit_run(p);
        if (!api_parse_u64n(p, nd, &suffix))
            return false;
        p += nd;
        /* RFC 9110 section 14.1.1: a suffix range is satisfiable only when
         * its length is non-zero and the representation is not empty. */
        *sat = suffix > 0 && size > 0;
        if (*sat) {
            r->first = suffix >= size ? 0 : size - suffix;
            r->last = size - 1;
        }
    } else {
        uint64_t first;
        uint64_t last = UINT64_MAX;

        if (!api_parse_u64n(p, nd, &first))
            return false;
        p += nd;
        if (*p != '-')
            return false;
        p++;
        nd = digit_run(p);
        if (nd > 0) {
            if (!api_parse_u64n(p, nd, &last))
                return false;
            if (last < first)
                return false; /* invalid, not merely unsatisfiable */
            p += nd;
        }
        *sat = first < size;
        if (*sat) {
            r->first = first;
            r->last = last >= size ? size - 1 : last;
        }
    }
    *pp = p;
    return true;
}

enum api_range_result api_range_parse(const char *header, uint64_t size,
                                      struct api_range *out, size_t max,
                                      size_t *n)
{
    const char *p;
    size_t specs = 0;
    size_t stored = 0;

    *n = 0;
    if (header == NULL)
        return API_RANGE_IGNORE;
    p = skip_ows(header);
    if (strncasecmp(p, "bytes", 5) != 0)
        return API_RANGE_IGNORE;
    p = skip_ows(p + 5);
    if (*p != '=')
        return API_RANGE_IGNORE;
    p++;

    /* Walk the whole list before deciding, so that a malformed element late
     * in the header still makes it ignorable rather than half-honoured. */
    for (;;) {
        p = skip_ows(p);
        if (*p == ',') { /* an empty list element, which RFC 9110 5.6.1 says
                          * recipients must accept and ignore */
            p++;
            continue;
        }
        if (*p == '\0')
            break;

        struct api_range r = {0, 0};
        bool sat = false;

        if (!range_spec_parse(&p, size, &r, &sat))
            return API_RANGE_IGNORE;
        specs++;
        if (sat && stored < max)
            out[stored++] = r;
        p = skip_ows(p);
        if (*p == ',')
            p++;
        else if (*p != '\0')
            return API_RANGE_IGNORE;
    }
    if (specs == 0)
        return API_RANGE_IGNORE;
    if (specs > max)
        return API_RANGE_TOO_MANY;
    *n = stored;
    return stored > 0 ? API_RANGE_OK : API_RANGE_UNSATISFIABLE;
}

static int range_cmp(const void *a, const void *b)
{
    const struct api_range *x = a;
    const struct api_range *y = b;

    if (x->first != y->first)
        return x->first < y->first ? -1 : 1;
    if (x->last != y->last)
        return x->last < y->last ? -1 : 1;
    return 0;
}

size_t api_ranges_coalesce(struct api_range *r, size_t n)
{
    size_t out = 0;

    if (n == 0)
        return 0;
    qsort(r, n, sizeof(*r), range_cmp);
    for (size_t i = 1; i < n; i++) {
        struct api_range *cur = &r[out];
        uint64_t next_start;

        /* Adjacent ranges (0-4, 5-9) merge as well as overlapping ones: a
         * part boundary between them would only cost header bytes. A last
         * position of 2^64-1 has no successor, so everything after it
         * overlaps. */
        if (__builtin_add_overflow(cur->last, 1, &next_start) ||
            r[i].first <= next_start) {
            if (r[i].last > cur->last)
                cur->last = r[i].last;
            continue;
        }
        r[++out] = r[i];
    }
    return out + 1;
}

bool api_content_range_parse(const char *header, struct api_content_range *out)
{
    const char *p;
    size_t nd;
    struct api_content_range cr = {0, 0, false, 0};

    if (header == NULL)
        return false;
    p = skip_ows(header);
    if (strncasecmp(p, "bytes", 5) != 0)
        return false;
    p += 5;
    /* range-unit SP range-resp: at least one blank is required. */
    if (!is_ows(*p))
        return false;
    p = skip_ows(p);

    nd = digit_run(p);
    if (!api_parse_u64n(p, nd, &cr.first))
        return false;
    p += nd;
    if (*p++ != '-')
        return false;
    nd = digit_run(p);
    if (!api_parse_u64n(p, nd, &cr.last))
        return false;
    p += nd;
    if (*p++ != '/')
        return false;
    if (*p == '*') {
        p++;
    } else {
        nd = digit_run(p);
        if (!api_parse_u64n(p, nd, &cr.total))
            return false;
        cr.has_total = true;
        p += nd;
    }
    if (*skip_ows(p) != '\0')
        return false;
    if (cr.last < cr.first)
        return false;
    if (cr.has_total && cr.last >= cr.total)
        return false;
    *out = cr;
    return true;
}
