/* digesthdr.c - the digest fields of RFC 9530, Content-Digest and
 * Want-Content-Digest, read as RFC 8941 dictionaries.
 *
 * The dictionary grammar is parsed in full (keys, integers, decimals,
 * strings, tokens, byte sequences, booleans, inner lists and parameters),
 * so a digest of an algorithm this server does not know can be skipped
 * rather than refused, as RFC 9530 section 2 allows; only the members this
 * server acts on (sha-256 and sha-512, the two "active" algorithms of the
 * IANA registry) are given meaning. A field that breaks the grammar is
 * refused whole (RFC 8941 section 4.2: a parse failure fails the field),
 * never half-read.
 *
 * The base64 of byte sequences is decoded here: it is an encoding, not
 * cryptography, and keeping it beside the grammar keeps this file free of
 * any library (the hashing itself is nettle's, api/src/digest.c).
 */
#include <string.h>

#include "api/api_parse.h"

static const char *const alg_names[API_DIGEST_ALGS] = {"sha-256", "sha-512"};
static const size_t alg_lens[API_DIGEST_ALGS] = {32, 64};

const char *api_digest_alg_name(enum api_digest_alg a)
{
    return (unsigned)a < API_DIGEST_ALGS ? alg_names[a] : "";
}

size_t api_digest_alg_len(enum api_digest_alg a)
{
    return (unsigned)a < API_DIGEST_ALGS ? alg_lens[a] : 0;
}

/* The cursor over a field value. */
struct sf {
    const char *p;
    const char *end;
};

static bool is_lcalpha(char c)
{
    return c >= 'a' && c <= 'z';
}

static bool is_alpha(char c)
{
    return is_lcalpha(c) || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* RFC 9110 tchar. */
static bool is_tchar(char c)
{
    return is_alpha(c) || is_digit(c) ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static void skip_sp(struct sf *s)
{
    while (s->p < s->end && *s->p == ' ')
        s->p++;
}

static void skip_ows(struct sf *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t'))
        s->p++;
}

/* key = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" ).
 * *k and *klen give it. */
static bool parse_key(struct sf *s, const char **k, size_t *klen)
{
    const char *start = s->p;

    if (s->p >= s->end || !(is_lcalpha(*s->p) || *s->p == '*'))
        return false;
    s->p++;
    while (s->p < s->end &&
           (is_lcalpha(*s->p) || is_digit(*s->p) || *s->p == '_' ||
            *s->p == '-' || *s->p == '.' || *s->p == '*'))
        s->p++;
    *k = start;
    *klen = (size_t)(s->p - start);
    return true;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (is_digit(c))
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* A byte sequence ":base64:". Decoded into out (at most max bytes, the
 * count in *n) when out is not NULL; *too_long is set when it holds more
 * than max. Padding may be left off (RFC 8941 section 4.2.7 asks parsers
 * to accept that); anything after padding, or a lone sixth bit group, is
 * malformed. */
static bool parse_bytes(struct sf *s, uint8_t *out, size_t max, size_t *n,
                        bool *too_long)
{
    uint32_t acc = 0;
    unsigned bits = 0;
    unsigned chars = 0;
    unsigned pad = 0;
    size_t count = 0;

    s->p++; /* the opening ':' */
    *too_long = false;
    for (;;) {
        char c;
        int v;

        if (s->p >= s->end)
            return false;
        c = *s->p++;
        if (c == ':')
            break;
        if (c == '=') {
            pad++;
            continue;
        }
        if (pad > 0)
            return false;
        v = b64_value(c);
        if (v < 0)
            return false;
        chars++;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (out != NULL) {
                if (count < max)
                    out[count] = (uint8_t)(acc >> bits);
                else
                    *too_long = true;
            }
            count++;
        }
    }
    /* chars % 4 == 1 leaves six bits: no byte ends there. Padding, when
     * present, must complete the last quantum exactly. */
    if (chars % 4 == 1 || pad > 2 || (pad > 0 && (chars + pad) % 4 != 0))
        return false;
    if (n != NULL)
        *n = count;
    return true;
}

/* An integer or decimal (RFC 8941 sections 4.2.4); *iv gets the value of an
 * integer, *is_int whether it was one. */
static bool parse_number(struct sf *s, int64_t *iv, bool *is_int)
{
    bool neg = false;
    size_t digits = 0;
    size_t frac = 0;
    bool dot = false;
    int64_t v = 0;

    if (s->p < s->end && *s->p == '-') {
        neg = true;
        s->p++;
    }
    if (s->p >= s->end || !is_digit(*s->p))
        return false;
    while (s->p < s->end) {
        char c = *s->p;

        if (is_digit(c)) {
            if (dot) {
                if (++frac > 3)
                    return false;
            } else {
                if (++digits > 15)
                    return false;
                v = v * 10 + (c - '0');
            }
        } else if (c == '.' && !dot) {
            if (digits > 12)
                return false;
            dot = true;
        } else {
            break;
        }
        s->p++;
    }
    if (dot && frac == 0)
        return false;
    *is_int = !dot;
    *iv = neg ? -v : v;
    return true;
}

static bool parse_string(struct sf *s)
{
    s->p++; /* the opening quote */
    while (s->p < s->end) {
        char c = *s->p++;

        if (c == '\\') {
            if (s->p >= s->end || (*s->p != '"' && *s->p != '\\'))
                return false;
            s->p++;
        } else if (c == '"') {
            return true;
        } else if ((unsigned char)c < 0x20 || (unsigned char)c > 0x7e) {
            return false;
        }
    }
    return false;
}

/* What a bare item turned out to be, for the members that need its value. */
struct item {
    enum { ITEM_OTHER, ITEM_INT, ITEM_TRUE, ITEM_BYTES } kind;
    int64_t iv;
    const char *bytes; /* at the opening ':' */
};

static bool parse_bare_item(struct sf *s, struct item *it)
{
    char c;

    it->kind = ITEM_OTHER;
    if (s->p >= s->end)
        return false;
    c = *s->p;
    if (c == '-' || is_digit(c)) {
        bool is_int;

        if (!parse_number(s, &it->iv, &is_int))
            return false;
        if (is_int)
            it->kind = ITEM_INT;
        return true;
    }
    if (c == '"')
        return parse_string(s);
    if (c == ':') {
        size_t n;
        bool too_long;

        it->kind = ITEM_BYTES;
        it->bytes = s->p;
        return parse_bytes(s, NULL, 0, &n, &too_long);
    }
    if (c == '?') {
        s->p++;
        if (s->p >= s->end || (*s->p != '0' && *s->p != '1'))
            return false;
        if (*s->p == '1')
            it->kind = ITEM_TRUE;
        s->p++;
        return true;
    }
    if (is_alpha(c) || c == '*') {
        s->p++;
        while (s->p < s->end &&
               (is_tchar(*s->p) || *s->p == ':' || *s->p == '/'))
            s->p++;
        return true;
    }
    return false;
}

/* *( ";" *SP key [ "=" bare-item ] ). Their values mean nothing here. */
static bool parse_params(struct sf *s)
{
    while (s->p < s->end && *s->p == ';') {
        const char *k;
        size_t klen;
        struct item it;

        s->p++;
        skip_sp(s);
        if (!parse_key(s, &k, &klen))
            return false;
        if (s->p < s->end && *s->p == '=') {
            s->p++;
            if (!parse_bare_item(s, &it))
                return false;
        }
    }
    return true;
}

/* An item or an inner list, with its parameters. */
static bool parse_member_value(struct sf *s, struct item *it)
{
    if (s->p < s->end && *s->p == '(') {
        struct item inner;

        it->kind = ITEM_OTHER;
        s->p++;
        for (;;) {
            skip_sp(s);
            if (s->p >= s->end)
                return false;
            if (*s->p == ')') {
                s->p++;
                break;
            }
            if (!parse_bare_item(s, &inner) || !parse_params(s))
                return false;
            if (s->p >= s->end || (*s->p != ' ' && *s->p != ')'))
                return false;
        }
        return parse_params(s);
    }
    return parse_bare_item(s, it) && parse_params(s);
}

/* Walk the dictionary in hdr, calling visit for each member. False when it
 * breaks the grammar (or visit refuses a member); an empty field is no
 * dictionary here. */
typedef bool (*member_fn)(void *cls, const char *key, size_t klen,
                          const struct item *it, const char *end);

static bool parse_dict(const char *hdr, member_fn visit, void *cls)
{
    struct sf s;
    const char *end;

    if (hdr == NULL)
        return false;
    end = hdr + strlen(hdr);
    /* A field value comes without its surrounding blanks (RFC 9110
     * section 5.5); strip them in case a server left them on. */
    while (hdr < end && (*hdr == ' ' || *hdr == '\t'))
        hdr++;
    while (end > hdr && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if (hdr == end)
        return false;
    s.p = hdr;
    s.end = end;
    for (;;) {
        const char *k;
        size_t klen;
        struct item it = {ITEM_TRUE, 0, NULL};

        if (!parse_key(&s, &k, &klen))
            return false;
        if (s.p < s.end && *s.p == '=') {
            s.p++;
            if (!parse_member_value(&s, &it))
                return false;
        } else if (!parse_params(&s)) {
            return false;
        }
        if (!visit(cls, k, klen, &it, s.end))
            return false;
        skip_ows(&s);
        if (s.p >= s.end)
            return true;
        if (*s.p != ',')
            return false;
        s.p++;
        skip_ows(&s);
        if (s.p >= s.end)
            return false; /* a trailing comma */
    }
}

static int alg_of(const char *key, size_t klen)
{
    for (int a = 0; a < API_DIGEST_ALGS; a++) {
        if (strlen(alg_names[a]) == klen &&
            memcmp(key, alg_names[a], klen) == 0)
            return a;
    }
    return -1;
}

static bool content_member(void *cls, const char *key, size_t klen,
                           const struct item *it, const char *end)
{
    struct api_content_digest *d = cls;
    int a = alg_of(key, klen);
    struct sf s;
    size_t n;
    bool too_long;

    if (a < 0) {
        d->unknown++;
        return true;
    }
    /* A known algorithm's value is its digest, of exactly its length: a
     * digest that could never match is a client's mistake to report, not
     * a mismatch. */
    if (it->kind != ITEM_BYTES)
        return false;
    s.p = it->bytes;
    s.end = end;
    if (!parse_bytes(&s, d->value[a], API_DIGEST_MAX, &n, &too_long) ||
        too_long || n != alg_lens[a])
        return false;
    /* RFC 8941: a repeated key overwrites the earlier value. */
    d->present[a] = true;
    return true;
}

enum api_digest_result api_content_digest_parse(const char *hdr,
                                                struct api_content_digest *out)
{
    bool any = false;

    memset(out, 0, sizeof(*out));
    if (!parse_dict(hdr, content_member, out)) {
        memset(out, 0, sizeof(*out));
        return API_DIGEST_MALFORMED;
    }
    for (int a = 0; a < API_DIGEST_ALGS; a++)
        any = any || out->present[a];
    return any ? API_DIGEST_OK : API_DIGEST_UNSUPPORTED;
}

struct want {
    int64_t weight[API_DIGEST_ALGS];
};

static bool want_member(void *cls, const char *key, size_t klen,
                        const struct item *it, const char *end)
{
    struct want *w = cls;
    int a = alg_of(key, klen);

    (void)end;
    if (a < 0)
        return true;
    /* RFC 9530 section 4: an integer from 0 (not acceptable) to 10 (most
     * preferred). A bare key (boolean true) asks without a preference. */
    if (it->kind == ITEM_TRUE)
        w->weight[a] = 1;
    else if (it->kind == ITEM_INT && it->iv >= 0 && it->iv <= 10)
        w->weight[a] = it->iv;
    else
        return false;
    return true;
}

bool api_want_digest_parse(const char *hdr, enum api_digest_alg *out)
{
    struct want w = {{0}};
    int best = -1;

    if (!parse_dict(hdr, want_member, &w))
        return false;
    for (int a = 0; a < API_DIGEST_ALGS; a++) {
        if (w.weight[a] > 0 && (best < 0 || w.weight[a] > w.weight[best]))
            best = a;
    }
    if (best < 0)
        return false;
    *out = (enum api_digest_alg)best;
    return true;
}

size_t api_base64_encode(const uint8_t *in, size_t len, char *out,
                         size_t out_size)
{
    static const char abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t need = (len + 2) / 3 * 4;
    size_t o = 0;

    if (out_size < need + 1)
        return 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;

        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = abc[(v >> 18) & 63];
        out[o++] = abc[(v >> 12) & 63];
        out[o++] = i + 1 < len ? abc[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? abc[v & 63] : '=';
    }
    out[o] = '\0';
    return o;
}
