/* api_auth.h - bearer tokens: the token file, and who may do what.
 *
 * A token table is parsed from the token file's JSON (shared API.md,
 * "Security"):
 *   {"tokens": [{"token": "s3cret", "read": ["*"], "write": ["app-"],
 *                "admin": false}]}
 * `read` and `write` list mapping-name prefixes ("*" alone means every
 * name); `admin` allows create, resize and delete on the names the token
 * may write. Write does not imply read.
 *
 * The table is pure data: no sockets, no files, no clock. The server reads
 * the file and hands its bytes to api_tokens_parse(); the api asks
 * api_tokens_authenticate() and api_token_may() for every request.
 *
 * Caveats:
 * - A table is immutable once parsed and reference-counted, so any number
 *   of threads may read it while another swaps in a new one (api_set_tokens
 *   in api.h). A struct api_token is borrowed from its table and valid only
 *   while the caller holds a reference to that table.
 * - Authentication compares the presented token with every token of the
 *   table over a fixed length, without an early exit, so the time it takes
 *   does not depend on how much of a secret an attacker guessed. It still
 *   depends on the number of tokens and on the presented length, which are
 *   no secret worth keeping.
 * - Secrets are wiped from memory when the last reference is dropped.
 */
#ifndef API_API_AUTH_H
#define API_API_AUTH_H

#include <stdbool.h>
#include <stddef.h>

/* Longest accepted token, in bytes; comparisons always run over this many. */
#define API_TOKEN_MAX 256
/* Largest token file, tokens per file, prefixes per list. */
#define API_TOKENS_FILE_MAX ((size_t)1 << 20)
#define API_TOKENS_COUNT_MAX 4096u
#define API_TOKEN_PREFIXES_MAX 1024u

enum api_perm {
    API_PERM_READ,  /* read bytes, objects and metadata; open an existing name */
    API_PERM_WRITE, /* write bytes and objects, flush */
    API_PERM_ADMIN, /* create, resize, delete (needs write on the name too) */
};

enum api_auth_result {
    API_AUTH_OK,      /* a known token; *out set */
    API_AUTH_MISSING, /* no Authorization header, or not the Bearer scheme */
    API_AUTH_INVALID, /* Bearer with a malformed or unknown token */
};

struct api_tokens; /* opaque, immutable, reference-counted */
struct api_token;  /* one entry, borrowed from its table */

/* Parse the token file's text (len bytes, need not be NUL-terminated).
 * Strict: the top level is an object whose only member is "tokens", a
 * non-empty array; each entry is an object with a required non-empty
 * "token" string (at most API_TOKEN_MAX bytes of RFC 6750 b64token
 * characters, unique within the file) and optional "read" and "write"
 * arrays of prefixes (default: none) and "admin" boolean (default false).
 * A prefix is "*" or a non-empty run of mapping-name characters. Duplicate
 * keys, unknown members, wrong types, and "admin": true without any write
 * prefix (which would grant nothing) are refused. A token with no prefix
 * at all is valid: it reaches /metrics, /v1/info and an empty listing.
 * On success returns 0 and *out is a new reference. On failure returns -1,
 * *out is NULL, and err holds one line saying what and where (it never
 * quotes a secret). Thread-safe. */
int api_tokens_parse(const char *text, size_t len, struct api_tokens **out,
                     char *err, size_t errlen);

/* A new reference to t (t may be NULL; then NULL is returned). */
struct api_tokens *api_tokens_ref(struct api_tokens *t);

/* Drop a reference; the last one wipes and frees the table. NULL-safe. */
void api_tokens_unref(struct api_tokens *t);

/* Number of tokens in t. */
size_t api_tokens_count(const struct api_tokens *t);

/* Check an Authorization header value (NULL when absent) against t. The
 * scheme is matched case-insensitively; the token is compared in constant
 * time against every entry. On API_AUTH_OK *out borrows the entry from t. */
enum api_auth_result api_tokens_authenticate(const struct api_tokens *t,
                                             const char *authorization,
                                             const struct api_token **out);

/* May tok do perm on mapping `name`? READ and WRITE match the name against
 * the token's read or write prefixes; ADMIN needs the admin flag and a
 * write prefix that matches. Can't fail. */
bool api_token_may(const struct api_token *tok, enum api_perm perm,
                   const char *name);

/* May tok do perm on every name ("*" in the relevant list; for ADMIN also
 * the admin flag)? Used where a request reaches beyond one name, such as
 * choosing the backing file of a new mapping. Can't fail. */
bool api_token_may_all(const struct api_token *tok, enum api_perm perm);

/* The 0-based position of tok in its file, for log lines that must name a
 * token without revealing it. */
size_t api_token_index(const struct api_token *tok);

#endif
