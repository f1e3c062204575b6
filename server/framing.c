/* framing.c - refuse request heads that two HTTP parsers could frame two
 * ways (see framing.h for what libmicrohttpd 0.9.75 lets through). */
#include "framing.h"

#include <string.h>
#include <strings.h>

static bool is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z') || (c != 0 && strchr("!#$%&'*+-.^_`|~", c));
}

static bool name_is(const struct srv_field *f, const char *name)
{
    return f->name_len == strlen(name) &&
           strncasecmp(f->name, name, f->name_len) == 0;
}

/* RFC 9110 field-value: visible bytes, SP and HTAB; no CTL, no NUL. */
static bool value_ok(const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];

        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return false;
    }
    return true;
}

static bool digits_only(const char *v, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return false;
    }
    return true;
}

/* 414 and 431 come first: a head over a limit is refused for its size
 * whatever else is wrong with it. */
static unsigned check_sizes(const struct srv_head *h, const char **why)
{
    size_t total = h->target_len;

    if (h->target_len > h->max_head_bytes) {
        *why = "request target longer than --max-header-bytes";
        return 414;
    }
    if (h->nfields > SRV_FRAMING_MAX_LINES) {
        *why = "more header lines than the server accepts";
        return 431;
    }
    for (size_t i = 0; i < h->nfields; i++) {
        const struct srv_field *f = &h->fields[i];

        total += f->name_len + f->value_len + 4; /* ": " and CRLF */
        if (total > h->max_head_bytes) {
            *why = "request head larger than --max-header-bytes";
            return 431;
        }
    }
    return 0;
}

bool srv_framing_target_clean(const char *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)t[i];

        if (c <= 0x20 || c >= 0x7f)
            return false;
    }
    return true;
}

static unsigned check_target(const struct srv_head *h, const char **why)
{
    if (h->target_bad) {
        *why = "NUL, space or control byte inside the request target";
        return 400;
    }
    return 0;
}

unsigned srv_framing_check(const struct srv_head *h, const char **why)
{
    const struct srv_field *cl = NULL;
    const struct srv_field *te = NULL;
    unsigned hosts = 0;
    unsigned st;

    *why = NULL;
    if ((st = check_sizes(h, why)) != 0 || (st = check_target(h, why)) != 0)
        return st;
    for (size_t i = 0; i < h->nfields; i++) {
        const struct srv_field *f = &h->fields[i];

        if (f->gap != 2) {
            *why = "header line not ended by CRLF (bare LF, NUL or obs-fold)";
            return 400;
        }
        if (f->name_len == 0) {
            *why = "empty header name";
            return 400;
        }
        for (size_t k = 0; k < f->name_len; k++) {
            if (!is_tchar((unsigned char)f->name[k])) {
                *why = "header name holds a space or a separator "
                       "(whitespace before the colon?)";
                return 400;
            }
        }
        if (!value_ok(f->value, f->value_len)) {
            *why = "control byte inside a header value";
            return 400;
        }
        if (name_is(f, "Host")) {
            hosts++;
        } else if (name_is(f, "Content-Length")) {
            if (cl || !digits_only(f->value, f->value_len)) {
                *why = "Content-Length repeated or not a number";
                return 400;
            }
            cl = f;
        } else if (name_is(f, "Transfer-Encoding")) {
            if (te) {
                *why = "Transfer-Encoding repeated";
                return 400;
            }
            te = f;
        }
    }
    if (h->last_cut) {
        *why = "NUL inside the last header line";
        return 400;
    }
    if (cl && te) {
        *why = "both Content-Length and Transfer-Encoding";
        return 400;
    }
    if (hosts > 1 || (h->http11 && hosts == 0)) {
        *why = "exactly one Host is required (HTTP/1.1: RFC 9112 3.2)";
        return 400;
    }
    if (te && !(te->value_len == 7 &&
                strncasecmp(te->value, "chunked", 7) == 0)) {
        *why = "only the chunked transfer coding is implemented";
        return 501;
    }
    return 0;
}
