/* digest.c - RFC 9530 digests of request and response content.
 *
 * Requests: a request whose handler takes a body and that carries
 * Content-Digest has it parsed when its headers arrive (exchange.c), every
 * body chunk is hashed as it arrives, before the handler sees it, and the
 * digests are compared once the body is complete, before the handler's end
 * step runs. Handlers that hold their body and apply it at the end (PUT up
 * to the atomic-write limit, every PATCH, objects PUT, JSON bodies) thus
 * apply nothing on a mismatch; a PUT that streams past the limit has
 * written a prefix by then and is answered 400 without an acknowledgement,
 * as a broken-off upload would be (api/openapi.yaml, putData).
 *
 * Responses: Want-Content-Digest on a GET of /data gives Content-Digest of
 * the bytes sent (data.c calls api__digest_response).
 *
 * The SHA-2 functions are nettle's (the library GnuTLS is built on, so it
 * is on any machine that has libmicrohttpd's TLS); never hand-written.
 */
#include <stdlib.h>
#include <string.h>

#include <nettle/sha2.h>

#include "internal.h"

/* The preferences a 400 digest_unsupported advertises (RFC 9530 section
 * 4): both algorithms, sha-256 first. */
#define WANT_ADVERTISED "sha-256=10, sha-512=5"

struct api_hash {
    enum api_digest_alg alg;
    union {
        struct sha256_ctx s256;
        struct sha512_ctx s512;
    } u;
};

struct api_digest {
    struct api_content_digest want;
    struct api_hash h[API_DIGEST_ALGS];
};

void api__hash_init(struct api_hash *h, enum api_digest_alg alg)
{
    h->alg = alg;
    if (alg == API_DIGEST_SHA512)
        sha512_init(&h->u.s512);
    else
        sha256_init(&h->u.s256);
}

void api__hash_update(struct api_hash *h, const void *data, size_t len)
{
    if (h->alg == API_DIGEST_SHA512)
        sha512_update(&h->u.s512, len, data);
    else
        sha256_update(&h->u.s256, len, data);
}

size_t api__hash_final(struct api_hash *h, uint8_t out[API_DIGEST_MAX])
{
    if (h->alg == API_DIGEST_SHA512) {
        sha512_digest(&h->u.s512, SHA512_DIGEST_SIZE, out);
        return SHA512_DIGEST_SIZE;
    }
    sha256_digest(&h->u.s256, SHA256_DIGEST_SIZE, out);
    return SHA256_DIGEST_SIZE;
}

struct api_hash *api__hash_new(enum api_digest_alg alg)
{
    struct api_hash *h = malloc(sizeof(*h));

    if (h != NULL)
        api__hash_init(h, alg);
    return h;
}

bool api__digest_request_start(struct api_exchange *ex,
                               const struct api_request *req)
{
    const char *hdr = req->header(req->conn, "Content-Digest");
    struct api_digest *d;
    enum api_digest_result res;

    if (hdr == NULL)
        return true;
    d = calloc(1, sizeof(*d));
    if (d == NULL) {
        api__fail(ex, API_EINTERNAL, "out of memory");
        return false;
    }
    res = api_content_digest_parse(hdr, &d->want);
    if (res != API_DIGEST_OK) {
        free(d);
        if (res == API_DIGEST_UNSUPPORTED) {
            api__header_keep(ex, "Want-Content-Digest", WANT_ADVERTISED);
            api__fail(ex, API_EDIGESTALG,
                      "Content-Digest names no algorithm this server "
                      "computes: give sha-256 or sha-512");
        } else {
            api__fail(ex, API_EDIGESTBAD,
                      "Content-Digest must be an RFC 8941 dictionary such "
                      "as sha-256=:BASE64:, with a digest of the "
                      "algorithm's length");
        }
        return false;
    }
    for (int a = 0; a < API_DIGEST_ALGS; a++) {
        if (d->want.present[a])
            api__hash_init(&d->h[a], (enum api_digest_alg)a);
    }
    ex->digest = d;
    return true;
}

void api__digest_request_feed(struct api_exchange *ex, const void *data,
                              size_t len)
{
    struct api_digest *d = ex->digest;

    for (int a = 0; d != NULL && a < API_DIGEST_ALGS; a++) {
        if (d->want.present[a])
            api__hash_update(&d->h[a], data, len);
    }
}

bool api__digest_request_check(struct api_exchange *ex)
{
    struct api_digest *d = ex->digest;
    uint8_t got[API_DIGEST_MAX];

    for (int a = 0; d != NULL && a < API_DIGEST_ALGS; a++) {
        size_t n;

        if (!d->want.present[a])
            continue;
        n = api__hash_final(&d->h[a], got);
        if (memcmp(got, d->want.value[a], n) != 0) {
            api__fail(ex, API_EDIGEST,
                      "the body's %s differs from its Content-Digest; "
                      "nothing was acknowledged",
                      api_digest_alg_name((enum api_digest_alg)a));
            return false;
        }
    }
    return true;
}

void api__digest_free(struct api_exchange *ex)
{
    free(ex->digest);
    ex->digest = NULL;
}

void api__digest_header(struct api_exchange *ex, enum api_digest_alg alg,
                        const uint8_t *digest)
{
    char b64[API_DIGEST_MAX * 2];

    api_base64_encode(digest, api_digest_alg_len(alg), b64, sizeof(b64));
    api__header(ex, "Content-Digest", "%s=:%s:", api_digest_alg_name(alg), b64);
}

/* A reader body whose bytes were hashed once before its headers went out:
 * it hashes them again as they are sent and, if they turn out different
 * (a write landed in between; API.md promises no snapshot for answers past
 * the atomic-write limit), fails its last block, so the connection is cut
 * before Content-Length is reached rather than end under a wrong digest. */
struct digested_body {
    struct api_body inner;
    struct api_hash h;
    uint64_t hashed; /* body bytes hashed so far */
    bool skipped;    /* a read out of order: the bytes can't be vouched for */
    uint8_t want[API_DIGEST_MAX];
};

static void digested_release(void *cls)
{
    struct digested_body *db = cls;

    if (db->inner.release != NULL)
        db->inner.release(db->inner.cls);
    free(db);
}

static ssize_t digested_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct digested_body *db = cls;
    ssize_t n = db->inner.read(db->inner.cls, pos, buf, max);
    uint8_t got[API_DIGEST_MAX];
    size_t len;

    if (n <= 0)
        return n;
    if (pos == db->hashed) {
        api__hash_update(&db->h, buf, (size_t)n);
        db->hashed += (uint64_t)n;
    } else {
        db->skipped = true;
    }
    if (pos + (uint64_t)n < db->inner.length)
        return n;
    len = api__hash_final(&db->h, got);
    if (db->skipped || memcmp(got, db->want, len) != 0)
        return -1;
    return n;
}

/* Hash every byte of a reader body through its own read callback. */
static bool hash_reader(const struct api_body *b, struct api_hash *h)
{
    enum { BLOCK = 256 * 1024 };
    char *buf = malloc(BLOCK);
    uint64_t pos = 0;

    if (buf == NULL)
        return false;
    while (pos < b->length) {
        uint64_t left = b->length - pos;
        ssize_t n =
            b->read(b->cls, pos, buf, left < BLOCK ? (size_t)left : BLOCK);

        if (n <= 0) {
            free(buf);
            return false;
        }
        api__hash_update(h, buf, (size_t)n);
        pos += (uint64_t)n;
    }
    free(buf);
    return true;
}

enum mc_err api__digest_response(struct api_exchange *ex,
                                 enum api_digest_alg alg)
{
    struct api_body *b = &ex->resp.body;
    struct api_hash h;
    uint8_t got[API_DIGEST_MAX];

    api__hash_init(&h, alg);
    if (b->kind == API_BODY_IOV) {
        /* A copy the body owns (body_snapshot.c): what is hashed is what
         * is sent. */
        for (unsigned i = 0; i < b->iovcnt; i++)
            api__hash_update(&h, b->iov[i].base, b->iov[i].len);
    } else if (b->kind == API_BODY_READER) {
        struct digested_body *db = calloc(1, sizeof(*db));

        if (db == NULL)
            return MC_ENOMEM;
        if (!hash_reader(b, &h)) {
            free(db);
            return MC_EIO;
        }
        api__hash_final(&h, db->want);
        api__hash_init(&db->h, alg);
        db->inner = *b;
        /* The wrapper takes over the inner body's release duty. */
        b->release = digested_release;
        b->cls = db;
        b->read = digested_read;
        api__digest_header(ex, alg, db->want);
        return MC_OK;
    }
    api__hash_final(&h, got);
    api__digest_header(ex, alg, got);
    return MC_OK;
}
