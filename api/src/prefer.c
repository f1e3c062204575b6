/* prefer.c - the wait preference of a Prefer header (RFC 7240).
 *
 *   Prefer     = 1#preference
 *   preference = token [ BWS "=" BWS word ] *( OWS ";" [ OWS parameter ] )
 *   word       = token / quoted-string
 *
 * Only "wait" matters to mmapd (README "Watch"); other preferences and
 * every parameter are skipped. A preference is a hint (section 2): a wait
 * whose value is not delta-seconds is ignored, as is a header too broken to
 * read on; the first wait that reads wins (section 2: later duplicates are
 * ignored). Values past UINT32_MAX saturate: the server caps them anyway.
 */
#include <string.h>
#include <strings.h>

#include "api/api_parse.h"

static bool tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

static const char *ows(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

/* A token or quoted-string at p; its content in [*v, *v + *vlen). NULL when
 * neither is there. */
static const char *word(const char *p, const char *end, const char **v,
                        size_t *vlen)
{
    const char *s = p;

    if (p < end && *p == '"') {
        s = ++p;
        while (p < end && *p != '"') {
            if (*p == '\\') /* quoted-pair: the value is no number then */
                p++;
            p++;
        }
        if (p >= end)
            return NULL;
        *v = s;
        *vlen = (size_t)(p - s);
        return p + 1;
    }
    while (p < end && tchar(*p))
        p++;
    if (p == s)
        return NULL;
    *v = s;
    *vlen = (size_t)(p - s);
    return p;
}

/* Skip to the comma that ends this element (outside quotes), or the end. */
static const char *skip_element(const char *p, const char *end)
{
    bool quoted = false;

    for (; p < end; p++) {
        if (quoted && *p == '\\' && p + 1 < end)
            p++;
        else if (*p == '"')
            quoted = !quoted;
        else if (!quoted && *p == ',')
            return p;
    }
    return end;
}

static bool delta_seconds(const char *v, size_t len, uint32_t *out)
{
    uint64_t n = 0;

    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return false;
        if (n < UINT32_MAX)
            n = n * 10u + (uint64_t)(v[i] - '0');
    }
    *out = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
    return true;
}

bool api_prefer_wait(const char *header, size_t len, uint32_t *seconds)
{
    const char *p = header;
    const char *end = header + len;

    while (p < end) {
        const char *name;
        size_t nlen;
        const char *v = NULL;
        size_t vlen = 0;
        const char *q;

        p = ows(p, end);
        if (p < end && *p == ',') {
            p++;
            continue; /* empty list elements are allowed (RFC 9110 5.6.1) */
        }
        /* The name is a token, never a quoted-string. */
        q = p < end && *p != '"' ? word(p, end, &name, &nlen) : NULL;
        if (q == NULL) {
            p = skip_element(p, end);
            continue;
        }
        p = ows(q, end);
        if (p < end && *p == '=') {
            p = ows(p + 1, end);
            q = word(p, end, &v, &vlen);
            if (q == NULL) {
                p = skip_element(p, end);
                continue;
            }
            p = ows(q, end);
        }
        /* Only parameters or the next element may follow. */
        bool clean = p == end || *p == ';' || *p == ',';

        if (clean && nlen == 4 && strncasecmp(name, "wait", 4) == 0 &&
            v != NULL && delta_seconds(v, vlen, seconds))
            return true;
        p = skip_element(p, end);
    }
    return false;
}
