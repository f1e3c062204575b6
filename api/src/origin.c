/* origin.c - the web origins an operator may list with --cors-origin.
 *
 * An origin (RFC 6454 section 6.1) is "scheme://host[:port]" and nothing
 * else: no path, no trailing slash, no user info, no query. Browsers send
 * it serialised: scheme and host in lower case, the scheme's default port
 * left out. The configured list is brought to that form once at start, so
 * matching a request's Origin is one case-insensitive comparison, and an
 * operator who wrote "https://App.example:443" still matches what the
 * browser sends ("https://app.example").
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "api/api_parse.h"

static bool scheme_char(unsigned char c, bool first)
{
    if (isalpha(c))
        return true;
    return !first && (isdigit(c) || c == '+' || c == '-' || c == '.');
}

/* A reg-name host of letters, digits, '-' and '.' (what a browser puts in
 * an Origin after IDNA), or a bracketed IPv6 literal of hex digits, ':'
 * and '.'. */
static bool host_valid(const char *h, size_t n)
{
    if (n == 0)
        return false;
    if (h[0] == '[') {
        if (n < 4 || h[n - 1] != ']')
            return false;
        for (size_t i = 1; i + 1 < n; i++) {
            unsigned char c = (unsigned char)h[i];
            if (!isxdigit(c) && c != ':' && c != '.')
                return false;
        }
        return true;
    }
    if (h[0] == '.' || h[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (!isalnum(c) && c != '-' && c != '.')
            return false;
    }
    return true;
}

bool api_origin_parse(const char *s, char *out, size_t out_size)
{
    const char *host, *end, *colon = NULL;
    size_t slen, hlen, o;
    uint64_t port = 0;
    bool has_port = false;

    if (s == NULL || out == NULL || out_size == 0)
        return false;
    slen = strlen(s);
    if (slen == 1 && s[0] == '*') {
        if (out_size < 2)
            return false;
        memcpy(out, "*", 2);
        return true;
    }
    for (o = 0; o < slen && s[o] != ':'; o++) {
        if (!scheme_char((unsigned char)s[o], o == 0))
            return false;
    }
    if (o == 0 || slen - o < 3 || memcmp(s + o, "://", 3) != 0)
        return false;
    host = s + o + 3;
    end = s + slen;
    /* The port's colon is the last one after an IPv6 literal's ']'. */
    if (host < end && host[0] == '[') {
        const char *close = memchr(host, ']', (size_t)(end - host));
        if (close == NULL)
            return false;
        if (close + 1 < end) {
            if (close[1] != ':')
                return false;
            colon = close + 1;
        }
    } else {
        colon = memchr(host, ':', (size_t)(end - host));
    }
    hlen = (size_t)((colon ? colon : end) - host);
    if (!host_valid(host, hlen))
        return false;
    if (colon != NULL) {
        size_t plen = (size_t)(end - colon - 1);
        if (plen == 0 || plen > 5 || !api_parse_u64n(colon + 1, plen, &port) ||
            port == 0 || port > 65535)
            return false;
        has_port = true;
    }
    /* The scheme's default port is not part of the serialised origin. */
    if (has_port && ((o == 4 && strncasecmp(s, "http", 4) == 0 && port == 80) ||
                     (o == 5 && strncasecmp(s, "https", 5) == 0 && port == 443)))
        has_port = false;
    if ((size_t)(host - s) + hlen + (has_port ? 6 : 0) + 1 > out_size)
        return false;
    o = 0;
    for (const char *p = s; p < host + hlen; p++)
        out[o++] = (char)tolower((unsigned char)*p);
    if (has_port) {
        size_t plen = (size_t)(end - colon);
        memcpy(out + o, colon, plen);
        o += plen;
    }
    out[o] = '\0';
    return true;
}
