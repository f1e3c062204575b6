/* mediatype.c - the content type a client gives a mapping.
 *
 * The value is sent back verbatim as a Content-Type header, so it must be a
 * media type and nothing more (RFC 9110 section 8.3.1):
 *   type "/" subtype *( OWS ";" OWS token "=" ( token / quoted-string ) )
 * in printable ASCII (no CR, LF, NUL or other control byte that could split
 * or end a header) and at most API_MEDIA_TYPE_MAX bytes.
 */
#include <string.h>

#include "api/api_parse.h"

/* tchar of RFC 9110 section 5.6.2. */
static bool tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
        (c >= 'A' && c <= 'Z'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Skip a token at s[*i]; false when there is none. */
static bool token(const char *s, size_t n, size_t *i)
{
    size_t start = *i;

    while (*i < n && tchar((unsigned char)s[*i]))
        (*i)++;
    return *i > start;
}

static void ows(const char *s, size_t n, size_t *i)
{
    while (*i < n && s[*i] == ' ')
        (*i)++;
}

/* A quoted-string of visible characters and spaces; a backslash quotes the
 * next visible character or space. */
static bool quoted(const char *s, size_t n, size_t *i)
{
    if (*i >= n || s[*i] != '"')
        return false;
    for ((*i)++; *i < n; (*i)++) {
        unsigned char c = (unsigned char)s[*i];
        if (c == '"') {
            (*i)++;
            return true;
        }
        if (c == '\\') {
            if (++(*i) >= n)
                return false;
            c = (unsigned char)s[*i];
        }
        if (c < 0x20 || c > 0x7e)
            return false;
    }
    return false;
}

bool api_media_type_valid(const char *s, size_t n)
{
    size_t i = 0;

    if (s == NULL || n == 0 || n > API_MEDIA_TYPE_MAX)
        return false;
    if (!token(s, n, &i) || i >= n || s[i++] != '/' || !token(s, n, &i))
        return false;
    for (;;) {
        ows(s, n, &i);
        if (i == n)
            return true;
        if (s[i++] != ';')
            return false;
        ows(s, n, &i);
        if (!token(s, n, &i) || i >= n || s[i++] != '=')
            return false;
        if (i < n && s[i] == '"') {
            if (!quoted(s, n, &i))
                return false;
        } else if (!token(s, n, &i)) {
            return false;
        }
    }
}
