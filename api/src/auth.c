/* auth.c - the token table: parsing the token file, authenticating a
 * bearer token in constant time, and the prefix-scope decisions.
 *
 * Everything here is pure policy over memory, so tests/unit/test_auth.c
 * and tests/fuzz/fuzz_tokens.c drive it without a server. The exchange
 * side (which operation needs which permission, the 401 and 403 answers)
 * lives in access.c.
 */
#include "api/api_auth.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "mapcore/mc_names.h"

/* A list of name prefixes; `all` stands for "*". */
struct prefixes {
    bool all;
    size_t n;
    char **p; /* each malloc'ed, NUL-terminated */
};

struct api_token {
    /* The secret, zero-padded to the fixed length every comparison runs
     * over, and its real length. */
    unsigned char secret[API_TOKEN_MAX];
    size_t len;
    size_t index;
    struct prefixes read;
    struct prefixes write;
    bool admin;
};

struct api_tokens {
    atomic_size_t refs;
    size_t n;
    struct api_token *v;
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Format one line into err; returns -1 so callers can `return fail(...)`. */
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (errlen == 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* RFC 6750 b64token: ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/",
 * then trailing "=". We accept '=' anywhere after the first character,
 * which is what a header can carry without quoting anyway. */
static bool token_char(unsigned char c, bool first)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
        (c >= '0' && c <= '9'))
        return true;
    if (c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/')
        return true;
    return !first && c == '=';
}

static bool token_text_valid(const char *s, size_t len)
{
    if (len == 0 || len > API_TOKEN_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!token_char((unsigned char)s[i], i == 0))
            return false;
    }
    return true;
}

/* A prefix is a name that has not ended yet: the characters of
 * mc_name_valid, the first one alphanumeric. A prefix outside that
 * alphabet could never match, and one like "app*" suggests a glob we don't
 * have; both are refused so the file says what it means. */
static bool prefix_valid(const char *s, size_t len)
{
    return len > 0 && len <= MC_NAME_MAX && mc_name_valid(s, len);
}

static void prefixes_free(struct prefixes *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->p[i]);
    free(p->p);
    memset(p, 0, sizeof(*p));
}

static int parse_prefixes(json_t *arr, const char *field, size_t idx,
                          struct prefixes *out, char *err, size_t errlen)
{
    size_t n;

    memset(out, 0, sizeof(*out));
    if (arr == NULL)
        return 0;
    if (!json_is_array(arr))
        return fail(err, errlen, "tokens[%zu].%s: must be an array of "
                    "name prefixes", idx, field);
    n = json_array_size(arr);
    if (n > API_TOKEN_PREFIXES_MAX)
        return fail(err, errlen, "tokens[%zu].%s: more than %u prefixes",
                    idx, field, API_TOKEN_PREFIXES_MAX);
    out->p = calloc(n ? n : 1, sizeof(*out->p));
    if (out->p == NULL)
        return fail(err, errlen, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(arr, i);
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);

        if (s == NULL)
            return fail(err, errlen, "tokens[%zu].%s[%zu]: must be a string",
                        idx, field, i);
        if (len == 1 && s[0] == '*') {
            out->all = true;
            continue;
        }
        if (!prefix_valid(s, len))
            return fail(err, errlen,
                        "tokens[%zu].%s[%zu]: a prefix is \"*\" or the start "
                        "of a mapping name (letters, digits, '.', '_', '-'; "
                        "first a letter or digit)",
                        idx, field, i);
        out->p[out->n] = strdup(s);
        if (out->p[out->n] == NULL)
            return fail(err, errlen, "out of memory");
        out->n++;
    }
    return 0;
}

/* Parse entry idx of the "tokens" array into *t. */
static int parse_token(json_t *obj, size_t idx, struct api_token *t,
                       char *err, size_t errlen)
{
    const char *key;
    json_t *v;
    const char *secret;
    size_t len;

    if (!json_is_object(obj))
        return fail(err, errlen, "tokens[%zu]: must be an object", idx);
    json_object_foreach(obj, key, v) {
        if (strcmp(key, "token") != 0 && strcmp(key, "read") != 0 &&
            strcmp(key, "write") != 0 && strcmp(key, "admin") != 0)
            return fail(err, errlen,
                        "tokens[%zu]: unknown member \"%.64s\" (allowed: "
                        "token, read, write, admin)",
                        idx, key);
    }
    v = json_object_get(obj, "token");
    if (v == NULL)
        return fail(err, errlen, "tokens[%zu]: \"token\" is required", idx);
    secret = json_string_value(v);
    if (secret == NULL)
        return fail(err, errlen, "tokens[%zu].token: must be a string", idx);
    len = json_string_length(v);
    if (len == 0)
        return fail(err, errlen, "tokens[%zu].token: must not be empty", idx);
    if (!token_text_valid(secret, len))
        return fail(err, errlen,
                    "tokens[%zu].token: at most %d characters from A-Z a-z "
                    "0-9 - . _ ~ + / (and = after the first)",
                    idx, API_TOKEN_MAX);
    memcpy(t->secret, secret, len);
    t->len = len;
    t->index = idx;

    v = json_object_get(obj, "admin");
    if (v != NULL && !json_is_boolean(v))
        return fail(err, errlen, "tokens[%zu].admin: must be true or false",
                    idx);
    t->admin = v != NULL && json_is_true(v);
    if (parse_prefixes(json_object_get(obj, "read"), "read", idx, &t->read,
                       err, errlen) != 0 ||
        parse_prefixes(json_object_get(obj, "write"), "write", idx, &t->write,
                       err, errlen) != 0)
        return -1;
    if (t->admin && !t->write.all && t->write.n == 0)
        return fail(err, errlen,
                    "tokens[%zu]: \"admin\": true needs write prefixes (admin "
                    "applies to the names a token may write)",
                    idx);
    return 0;
}

static void tokens_free(struct api_tokens *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n; i++) {
        /* explicit_bzero, unlike memset, is not optimised away before
         * free: the secrets must not linger in freed heap memory. */
        explicit_bzero(t->v[i].secret, sizeof(t->v[i].secret));
        prefixes_free(&t->v[i].read);
        prefixes_free(&t->v[i].write);
    }
    free(t->v);
    free(t);
}

int api_tokens_parse(const char *text, size_t len, struct api_tokens **out,
                     char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = NULL, *arr;
    struct api_tokens *t = NULL;
    const char *key;
    json_t *v;
    size_t n;
    int rc = -1;

    *out = NULL;
    if (errlen > 0)
        err[0] = '\0';
    if (len > API_TOKENS_FILE_MAX)
        return fail(err, errlen, "token file larger than %zu bytes",
                    API_TOKENS_FILE_MAX);
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        /* jansson quotes the text around the error ("... near '\"s3c'"),
         * which may be a secret headed for the log: keep only the reason
         * and the position. */
        char *near = strstr(jerr.text, " near ");

        if (near != NULL)
            *near = '\0';
        return fail(err, errlen, "not valid JSON at line %d, column %d: %s",
                    jerr.line, jerr.column, jerr.text);
    }
    if (!json_is_object(root)) {
        fail(err, errlen, "the top level must be an object {\"tokens\": [...]}");
        goto out;
    }
    json_object_foreach(root, key, v) {
        if (strcmp(key, "tokens") != 0) {
            fail(err, errlen,
                 "unknown top-level member \"%.64s\" (allowed: tokens)", key);
            goto out;
        }
    }
    arr = json_object_get(root, "tokens");
    if (!json_is_array(arr)) {
        fail(err, errlen, "\"tokens\" is required and must be an array");
        goto out;
    }
    n = json_array_size(arr);
    if (n == 0) {
        fail(err, errlen,
             "\"tokens\" is empty: every request but /healthz and /readyz "
             "would be refused");
        goto out;
    }
    if (n > API_TOKENS_COUNT_MAX) {
        fail(err, errlen, "more than %u tokens", API_TOKENS_COUNT_MAX);
        goto out;
    }
    t = calloc(1, sizeof(*t));
    if (t == NULL || (t->v = calloc(n, sizeof(*t->v))) == NULL) {
        fail(err, errlen, "out of memory");
        goto out;
    }
    atomic_init(&t->refs, 1);
    for (size_t i = 0; i < n; i++) {
        /* Counted before parsing, so tokens_free releases a half-filled
         * entry too. */
        t->n = i + 1;
        if (parse_token(json_array_get(arr, i), i, &t->v[i], err, errlen) != 0)
            goto out;
        for (size_t k = 0; k < i; k++) {
            if (t->v[k].len == t->v[i].len &&
                memcmp(t->v[k].secret, t->v[i].secret, t->v[i].len) == 0) {
                fail(err, errlen,
                     "tokens[%zu].token: the same secret as tokens[%zu]", i,
                     k);
                goto out;
            }
        }
    }
    *out = t;
    t = NULL;
    rc = 0;
out:
    tokens_free(t);
    json_decref(root);
    return rc;
}

struct api_tokens *api_tokens_ref(struct api_tokens *t)
{
    if (t != NULL)
        atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
    return t;
}

void api_tokens_unref(struct api_tokens *t)
{
    /* acq_rel: the thread that frees must see every other thread's last
     * reads of the table as finished. */
    if (t != NULL &&
        atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1)
        tokens_free(t);
}

size_t api_tokens_count(const struct api_tokens *t)
{
    return t != NULL ? t->n : 0;
}

/* Compare two fixed-length buffers and their lengths without a
 * data-dependent branch: every byte is looked at, whatever differs first.
 * Returns 1 when equal, 0 otherwise. */
static unsigned ct_equal(const unsigned char *a, size_t alen,
                         const unsigned char *b, size_t blen)
{
    unsigned diff = 0;

    for (size_t i = 0; i < API_TOKEN_MAX; i++)
        diff |= (unsigned)(a[i] ^ b[i]);
    diff |= (unsigned)(alen != blen);
    /* diff is 0..255: 0 - 1 wraps and sets bit 8, anything else does not. */
    return 1u & ((diff - 1u) >> 8);
}

enum api_auth_result api_tokens_authenticate(const struct api_tokens *t,
                                             const char *authorization,
                                             const struct api_token **out)
{
    unsigned char given[API_TOKEN_MAX];
    const char *p;
    size_t len;
    uintptr_t found = 0;

    *out = NULL;
    if (authorization == NULL)
        return API_AUTH_MISSING;
    p = authorization + strspn(authorization, " \t");
    if (strncasecmp(p, "Bearer", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
        return API_AUTH_MISSING;
    p += 6;
    p += strspn(p, " \t");
    len = strcspn(p, " \t");
    if (p[len + strspn(p + len, " \t")] != '\0' || !token_text_valid(p, len))
        return API_AUTH_INVALID;
    if (t == NULL)
        return API_AUTH_INVALID;

    memset(given, 0, sizeof(given));
    memcpy(given, p, len);
    /* Look at every entry, and pick the match with a mask rather than a
     * branch, so neither the position of the right token nor the length of
     * a correct prefix shows in the time taken. Secrets are unique, so at
     * most one entry matches. */
    for (size_t i = 0; i < t->n; i++) {
        uintptr_t mask =
            (uintptr_t)0 - (uintptr_t)ct_equal(given, len, t->v[i].secret,
                                               t->v[i].len);

        found = (found & ~mask) | ((uintptr_t)&t->v[i] & mask);
    }
    explicit_bzero(given, sizeof(given));
    if (found == 0)
        return API_AUTH_INVALID;
    *out = (const struct api_token *)found;
    return API_AUTH_OK;
}

static bool prefixes_match(const struct prefixes *p, const char *name)
{
    if (p->all)
        return true;
    for (size_t i = 0; i < p->n; i++) {
        if (strncmp(name, p->p[i], strlen(p->p[i])) == 0)
            return true;
    }
    return false;
}

bool api_token_may(const struct api_token *tok, enum api_perm perm,
                   const char *name)
{
    if (tok == NULL || name == NULL)
        return false;
    switch (perm) {
    case API_PERM_READ:
        return prefixes_match(&tok->read, name);
    case API_PERM_WRITE:
        return prefixes_match(&tok->write, name);
    case API_PERM_ADMIN:
        return tok->admin && prefixes_match(&tok->write, name);
    }
    return false;
}

bool api_token_may_all(const struct api_token *tok, enum api_perm perm)
{
    if (tok == NULL)
        return false;
    switch (perm) {
    case API_PERM_READ:
        return tok->read.all;
    case API_PERM_WRITE:
        return tok->write.all;
    case API_PERM_ADMIN:
        return tok->admin && tok->write.all;
    }
    return false;
}

size_t api_token_index(const struct api_token *tok)
{
    return tok->index;
}
