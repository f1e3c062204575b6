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

/* Percent-decode the path segment seg[0..len) into out (out_size bytes,
 * NUL-terminated). False on a malformed escape, on a decoded NUL, on a decoded
 * '/' (a name never contains one), or when out is too small. */
bool api_segment_decode(const char *seg, size_t len, char *out,
                        size_t out_size);

#endif
