/* api_status.h - every error the API answers with, and its HTTP face.
 *
 * An error is either an enum mc_err from the core, passed through unchanged,
 * or one of the API's own codes below, which start past the core's range so
 * the two never collide. api/src/status.c holds the one table that gives each
 * error its HTTP status, its stable snake_case `code` (listed in
 * api/openapi.yaml) and a problem title; nothing else in the API writes an
 * error status by hand.
 *
 * Caveats: a code may appear on more than one row (the core's MC_ENOTFOUND
 * and the router's unknown path are both `not_found`), but every error value
 * has exactly one row. The table is read-only and safe from any thread.
 */
#ifndef API_API_STATUS_H
#define API_API_STATUS_H

#include <stddef.h>

#include "mapcore/mc_error.h"

enum api_err {
    API_OK = 0,
    /* 1 .. MC_ERR_COUNT-1: the enum mc_err values (see API_ERR_MC). */
    API_ERR_BASE = 256,
    API_EJSON = API_ERR_BASE, /* body is not well-formed JSON */
    API_EFIELD,               /* unknown field, wrong type or bad value */
    API_EQUERY,               /* malformed or unknown query argument value */
    API_ERANGEHDR,            /* malformed Content-Range of a write */
    API_ELENGTH,              /* body length differs from its range */
    API_ENOROUTE,             /* no such path */
    API_EMETHOD,              /* path exists, method doesn't */
    API_EPRECONDITION,        /* If-Match / If-None-Match failed */
    API_EBODYTOOBIG,          /* request body larger than allowed */
    API_EMEDIA,               /* Content-Encoding or media type refused */
    API_ENOTREADY,            /* readiness probe failed */
    API_EINTERNAL,            /* out of memory or a broken invariant */
    API_ENOOBJECT,            /* no valid object record at the offset */
    API_EUNAUTHORIZED,        /* no valid bearer token */
    API_EFORBIDDEN,           /* the token lacks the permission */
    API_EBODYMEM,             /* the request-body memory budget is spent */
    API_ERANGEONPUT,          /* a PUT with Range instead of Content-Range */
    API_EFRAMING,             /* request head framed ambiguously */
    API_ECODING,              /* transfer coding other than chunked */
    API_EURITOOLONG,          /* request target over the limit */
    API_EHEADTOOLARGE,        /* too many or too large header lines */
    API_EDIGEST,              /* body differs from its Content-Digest */
    API_EDIGESTALG,           /* Content-Digest of unknown algorithms only */
    API_EDIGESTBAD,           /* Content-Digest malformed */
    API_ETOOMANYWAITERS,      /* --max-waiters requests already wait */
    API_ESHUTTINGDOWN,        /* a waiting request ended by shutdown */
    API_ERR_END
};

/* The API's view of a core error: the same value, retyped. A macro rather
 * than a function so the status table can use it in static initialisers. */
#define API_ERR_MC(e) ((enum api_err)(e))

struct api_status_entry {
    enum api_err err;
    unsigned status;   /* 4xx or 5xx */
    const char *code;  /* stable snake_case identifier */
    const char *title; /* short human summary (RFC 9457 "title") */
};

/* The row for err. Never NULL: an error without a row (which the unit test
 * rules out) answers as internal_error. */
const struct api_status_entry *api_status_lookup(enum api_err err);

/* The RFC 9457 body of err with a fixed detail, for the answers a server
 * must give without the API (it could not allocate an exchange): written
 * into buf (NUL-terminated, cut at len), returns the length it needs.
 * detail must be plain text without quotes or backslashes. */
size_t api_status_problem(enum api_err err, const char *detail, char *buf,
                          size_t len);

/* The whole table, for tests and documentation generators: *n rows. */
const struct api_status_entry *api_status_table(size_t *n);

#endif
