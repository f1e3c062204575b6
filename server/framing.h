/* framing.h - one framing only: the request-head checks libmicrohttpd leaves
 * to us (README.md "Request framing", api/openapi.yaml).
 *
 * libmicrohttpd 0.9.75 parses the request line and headers itself and is
 * lenient: it takes the first of two Content-Length values, lets
 * Transfer-Encoding win over Content-Length, keeps a space before the colon
 * inside the header name, joins obs-fold lines, ends lines at a bare LF, and
 * cuts a value or target at a NUL (it measures them with strlen). A proxy in
 * front may frame the same bytes differently: request smuggling. So once the
 * head is parsed, daemon.c lists its header lines here, each with the number
 * of bytes libmicrohttpd consumed between it and the line before, and
 * srv_framing_check() refuses every head that two parsers could read two ways.
 *
 * The check is a pure function over that list (unit-tested and fuzzed);
 * answers: 0 (fine), 400, 414, 431 or 501.
 *
 * Caveats: a bare LF after the last header line and a head larger than
 * libmicrohttpd's pool (SRV_FRAMING_POOL_FACTOR x --max-header-bytes) are
 * beyond reach: the former leaves no trace in the parsed head, the latter is
 * refused by libmicrohttpd itself with its own (non-problem+json) 414/431,
 * after which it closes without reading the rest (clients may see a reset).
 */
#ifndef SRV_FRAMING_H
#define SRV_FRAMING_H

#include <stdbool.h>
#include <stddef.h>

/* Most header lines in a request; more → 431. */
#define SRV_FRAMING_MAX_LINES 100u
/* libmicrohttpd's pool is this many times --max-header-bytes: room for a
 * head at the limit, its header records and the response head, so that
 * heads up to twice the limit reach our check and get a problem+json
 * 414/431. Not more: libmicrohttpd 0.9.75 zeroes the whole pool before
 * every request of a kept-alive connection (memorypool.c,
 * MHD_pool_reset), and a 16x pool (256 KiB) measured 29 us of CPU per 4 KiB
 * GET against 20 us with 2x: larger heads are refused by libmicrohttpd. */
#define SRV_FRAMING_POOL_FACTOR 2u

/* One header line as libmicrohttpd parsed it. gap: bytes between the end of
 * the previous line's value (or of the request target's HTTP version) and
 * this name: 2 for a CRLF; anything else means a bare LF, a NUL that cut the
 * value short, or a folded line that was joined away. */
struct srv_field {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
    size_t gap;
};

struct srv_head {
    size_t target_len;  /* the request target's length, up to a NUL */
    bool target_bad;    /* !srv_framing_target_clean(), or a NUL in it */
    bool last_cut;      /* the last line did not end at CR LF (a NUL) */
    bool http11;        /* HTTP/1.1 (Host is required) */
    const struct srv_field *fields;
    size_t nfields;
    size_t max_head_bytes; /* --max-header-bytes: request line + headers */
};

/* True when the raw request target t[0..n) holds only visible US-ASCII
 * (RFC 9112 3.2: no CTL, no SP). libmicrohttpd decodes the target in place
 * after its URI callback, so this runs there, on the bytes as sent. */
bool srv_framing_target_clean(const char *t, size_t n);

/* The status a head must be refused with (0: acceptable) and, in *why, a
 * short detail for the problem body. */
unsigned srv_framing_check(const struct srv_head *h, const char **why);

#endif
