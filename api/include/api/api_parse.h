/* api_parse.h - the parsers for everything a client sends: numbers, sizes,
 * Range, Content-Range, percent-encoded path segments.
 *
 * Pure functions without I/O or allocation, safe from any thread, and the
 * targets of tests/fuzz. Every one rejects rather than guesses: a sign, a
 * space where none belongs, an overflow or trailing garbage is a failure,
 * never a wrap-around.
 */
#ifndef API_API_PARSE_H
#define API_API_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decimal unsigned 64-bit: one or more ASCII digits and nothing else (no
 * sign, no blanks, no "0x"); false on overflow. Leading zeros are fine. */
bool api_parse_u64(const char *s, uint64_t *out);
/* The same for the first len bytes of s. */
bool api_parse_u64n(const char *s, size_t len, uint64_t *out);

/* Room for the decimal digits of any uint64_t and a NUL. */
#define API_U64_DEC_MAX 21

/* Write v in decimal (no sign, no leading zeros; "0" for zero) and a NUL
 * to out; returns the number of digits. What "%" PRIu64 writes, without
 * the cost of printf on a response's hot path. */
size_t api_format_u64(uint64_t v, char out[API_U64_DEC_MAX]);

/* A byte size: digits, optionally followed by a unit: B, K/KB/KiB, M/MB/MiB,
 * G/GB/GiB, T/TB/TiB (case-insensitive; every unit is binary: 1K = 1024, as
 * for dd and the kernel). False on overflow or garbage. */
bool api_parse_size(const char *s, uint64_t *out);

/* One range of a Range header, resolved against the representation size:
 * first and last are inclusive byte positions, first <= last < size. */
struct api_range {
    uint64_t first;
    uint64_t last;
};

enum api_range_result {
    API_RANGE_IGNORE,        /* malformed, other unit: serve 200 with everything */
    API_RANGE_OK,            /* *n >= 1 satisfiable ranges in out[] */
    API_RANGE_UNSATISFIABLE, /* well-formed but none satisfiable: 416 */
    API_RANGE_TOO_MANY,      /* more than max ranges: serve 200 (as nginx) */
};

/* Parse a Range header value (RFC 9110 section 14.2) against size.
 * Accepts "bytes" case-insensitively, optional whitespace around ranges and
 * commas, first-last, first- (open) and -suffix forms; a last position past
 * the end is clamped. Unsatisfiable ranges among satisfiable ones are dropped.
 * Ranges come back in request order, not coalesced (api_ranges_coalesce does
 * that). At most max ranges are stored in out[]. */
enum api_range_result api_range_parse(const char *header, uint64_t size,
                                      struct api_range *out, size_t max,
                                      size_t *n);

/* Sort ranges by first position and merge overlapping or adjacent ones, in
 * place; returns the new count. Can't fail. */
size_t api_ranges_coalesce(struct api_range *r, size_t n);

/* A Content-Range header of a write: "bytes FIRST-LAST/TOTAL", or the same
 * with an asterisk for TOTAL when the client leaves the size open (unit
 * case-insensitive). */
struct api_content_range {
    uint64_t first;
    uint64_t last; /* inclusive, >= first */
    bool has_total;
    uint64_t total;
};

/* False when malformed, when last < first, or when last >= total (given). */
bool api_content_range_parse(const char *header,
                             struct api_content_range *out);

/* ---- byte-range PATCH bodies (patchbody.c) ---- */

/* One part of a PATCH body: where its bytes go (from its Content-Range) and
 * where they are (a slice of the body that was parsed). */
struct api_patch_part {
    uint64_t first;
    uint64_t last; /* inclusive, >= first */
    bool has_total;
    uint64_t total;
    const char *data; /* into the parsed body */
    size_t data_len;  /* == last - first + 1 on success */
};

enum api_patch_result {
    API_PATCH_OK,
    API_PATCH_MALFORMED, /* not the grammar, no or two Content-Range, an
                          * unknown part header: 400 invalid_range */
    API_PATCH_LENGTH,    /* bytes and range disagree: 400 length_mismatch */
    API_PATCH_TOO_MANY,  /* more parts than allowed: 413 */
};

enum api_patch_type {
    API_PATCH_TYPE_UNKNOWN, /* 415 */
    API_PATCH_TYPE_BYTERANGE,
    API_PATCH_TYPE_MULTIPART,
};

/* Which patch format a Content-Type names. For multipart/byteranges the
 * boundary parameter (required, 1 to 70 characters, token or quoted string
 * without escapes) is copied to boundary (boundary_size bytes with the NUL);
 * a missing, repeated or oversized boundary makes the type unknown. */
enum api_patch_type api_patch_type_parse(const char *content_type,
                                         char *boundary, size_t boundary_size);

/* A message/byterange body: header fields (Content-Range required,
 * Content-Type ignored, Content-Length checked, nothing else), a blank
 * line, then exactly the range's bytes. */
enum api_patch_result api_byterange_parse(const char *body, size_t len,
                                          struct api_patch_part *out);

/* A multipart/byteranges body with the given boundary: at most max parts
 * into out[], *n of them. Each part's bytes are taken by the count its
 * Content-Range gives and must be followed by the next delimiter. */
enum api_patch_result api_multipart_parse(const char *body, size_t len,
                                          const char *boundary,
                                          struct api_patch_part *out,
                                          size_t max, size_t *n);

/* ---- object records (objrec.c; the format is described there) ---- */

#define API_OBJECT_HEADER 16
#define API_OBJECT_VERSION 1

/* CRC-32C (Castagnoli, as in iSCSI and ext4) of len bytes. */
uint32_t api_crc32c(const void *data, size_t len);

/* The bytes a record of json_len bytes of JSON takes: header, JSON and
 * padding to a multiple of 8. False when json_len cannot be recorded (the
 * length field is 32 bits). */
bool api_object_record_size(uint64_t json_len, uint64_t *total);

/* Build the record of json[0..json_len) into out, which must be exactly
 * api_object_record_size() bytes. False otherwise. */
bool api_object_encode(const char *json, size_t json_len, uint8_t *out,
                       size_t out_len);

/* Check the fixed fields of a record header (len >= API_OBJECT_HEADER
 * bytes at hdr) and give the JSON length it claims. False when it is not a
 * header this version writes. */
bool api_object_header_parse(const uint8_t *hdr, size_t len,
                             uint64_t *json_len);

/* Check a whole record of len bytes (header and at least the claimed JSON;
 * padding optional): header fields, length within len, and checksum. On
 * success *json points at the JSON inside rec. */
bool api_object_verify(const uint8_t *rec, size_t len, const char **json,
                       size_t *json_len);

/* Percent-decode the path segment seg[0..len) into out (out_size bytes,
 * NUL-terminated). False on a malformed escape, on a decoded NUL, on a decoded
 * '/' (a name never contains one), or when out is too small. */
bool api_segment_decode(const char *seg, size_t len, char *out,
                        size_t out_size);

/* An entity tag this server made, as numbers: "<nonce>-<id>-<generation>"
 * in lowercase hex (precond.c prints it: the nonce in exactly 8 digits,
 * the others without leading zeros), so two tags are equal exactly when
 * their numbers are. */
struct api_etag {
    uint64_t id;
    uint64_t gen;
};

/* One quoted tag p[0..len), quotes included, that this server with boot
 * nonce `nonce` could have made, in exactly the form it prints. False for
 * anything else (a weak tag, another nonce, upper-case or leading-zero
 * digits, garbage): such a tag can never equal one of ours. */
bool api_etag_parse(const char *p, size_t len, uint32_t nonce,
                    struct api_etag *out);

/* An If-Match or If-None-Match value: "*" or 1#entity-tag (RFC 9110
 * section 13.1). Returns true for "*" alone (any current representation);
 * else stores the tags that are ours in out[0..max) and their count in *n
 * (which may exceed max: call again with room for *n). weak: W/ tags
 * count too (the weak comparison of If-None-Match); else they are skipped
 * (If-Match compares strongly). A malformed element ends the list: the
 * tags before it count, nothing after it does; "*" followed by anything
 * matches nothing. */
bool api_etag_list_parse(const char *header, uint32_t nonce, bool weak,
                         struct api_etag *out, size_t max, size_t *n);

/* An If-Range value: true when it is exactly one strong tag of ours
 * (optional blanks around it). An HTTP-date or any other tag: false. */
bool api_if_range_parse(const char *header, uint32_t nonce,
                        struct api_etag *out);
/* ---- HTTP-dates (httpdate.c) ---- */

/* "Sun, 06 Nov 1994 08:49:37 GMT" and its terminating NUL. */
#define API_HTTP_DATE_LEN 30

/* Parse an HTTP-date (RFC 9110 section 5.6.7): the IMF-fixdate, and the
 * obsolete RFC 850 and asctime forms every recipient must accept, exactly
 * (no surrounding spaces, GMT only, a real calendar day). *out gets
 * seconds since the Unix epoch. False for anything else: a conditional
 * header with a bad date is then ignored, as section 13.1.3 asks. */
bool api_parse_http_date(const char *s, int64_t *out);

/* Format t (seconds since the Unix epoch, years 0 to 9999) as an
 * IMF-fixdate. */
void api_format_http_date(int64_t t, char out[API_HTTP_DATE_LEN]);

/* A web origin for --cors-origin (origin.c): "*", or "scheme://host[:port]"
 * with nothing after it (no path, no slash). Written to out in the form a
 * browser sends: scheme and host in lower case, a default port (http 80,
 * https 443) dropped. False when malformed or when it does not fit out
 * (API_ORIGIN_MAX + 1 bytes always suffice for a valid one that short). */
#define API_ORIGIN_MAX 190
bool api_origin_parse(const char *s, char *out, size_t out_size);

/* A mapping's content type (mediatype.c): "type/subtype" with optional
 * "; name=value" parameters (token or quoted-string values), printable ASCII
 * only, 1..API_MEDIA_TYPE_MAX bytes. */
#define API_MEDIA_TYPE_MAX 127
bool api_media_type_valid(const char *s, size_t len);

/* ---- digest fields of RFC 9530 (digesthdr.c) ---- */

/* The algorithms this server computes: the two RFC 9530 lists as active. */
enum api_digest_alg {
    API_DIGEST_SHA256,
    API_DIGEST_SHA512,
    API_DIGEST_ALGS
};
#define API_DIGEST_MAX 64 /* bytes of the longest digest (sha-512) */

/* "sha-256", "sha-512"; and the digest length in bytes (32, 64). */
const char *api_digest_alg_name(enum api_digest_alg a);
size_t api_digest_alg_len(enum api_digest_alg a);

/* A Content-Digest field: the digests given for the algorithms above,
 * decoded, and how many members named other algorithms. */
struct api_content_digest {
    bool present[API_DIGEST_ALGS];
    uint8_t value[API_DIGEST_ALGS][API_DIGEST_MAX];
    size_t unknown;
};

enum api_digest_result {
    API_DIGEST_OK,          /* at least one digest to check */
    API_DIGEST_MALFORMED,   /* not an RFC 8941 dictionary, or a sha-256 /
                             * sha-512 member that is not a byte sequence
                             * of the digest's length; empty field too */
    API_DIGEST_UNSUPPORTED, /* well-formed, but only other algorithms */
};

/* Parse a Content-Digest value (RFC 9530 section 2) into *out (zeroed on
 * failure). Members of other algorithms may hold any valid value and are
 * counted, never checked. A repeated key keeps its last value (RFC 8941). */
enum api_digest_result api_content_digest_parse(const char *hdr,
                                                struct api_content_digest *out);

/* A Want-Content-Digest value (RFC 9530 section 4): the algorithm of ours
 * with the highest weight above 0 (weights are integers 0 to 10; a bare key
 * asks with weight 1; a tie goes to sha-256). False when the field is
 * malformed or names none of ours with a weight above 0. */
bool api_want_digest_parse(const char *hdr, enum api_digest_alg *out);

/* Standard base64 with padding of in[0..len) into out, NUL-terminated.
 * Returns the length written, 0 when out_size is too small (it needs
 * 4 * ceil(len / 3) + 1 bytes). */
size_t api_base64_encode(const uint8_t *in, size_t len, char *out,
                         size_t out_size);
/* The wait preference of a Prefer header value header[0..len) (RFC 7240
 * section 4.3: "wait=N", delta-seconds): true with N in *seconds (values
 * past UINT32_MAX saturate). False when there is none, or it is not a
 * number (preferences are hints: a broken one is ignored, not refused). */
bool api_prefer_wait(const char *header, size_t len, uint32_t *seconds);

#endif
