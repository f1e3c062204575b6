/* test_digest.c - proves RFC 9530 digests on the real server.
 *
 * Every digest a request carries here is computed by the system's
 * sha256sum / sha512sum over the exact request content (never by the code
 * under test), and every digest an answer carries is compared with theirs.
 *
 * On each write path (PUT, PATCH message/byterange, PATCH
 * multipart/byteranges, objects PUT) a matching Content-Digest is applied,
 * a mismatching one is 400 digest_mismatch with the mapping's bytes and
 * ETag unchanged, an unknown algorithm alone is 400 digest_unsupported with
 * Want-Content-Digest, and a malformed one 400 digest_invalid, also
 * unchanged. A PUT larger than the atomic-write limit (streamed) with a
 * wrong digest is never acknowledged (400, and counted as unacknowledged in
 * /metrics). Want-Content-Digest on a GET gives the digest of exactly the
 * bytes sent: a single range, the whole mapping past the atomic limit
 * (served by a reader), and sha-512 when it is preferred.
 */
#include <ctype.h>
#include <stdio.h>
#include <unistd.h>

#include "api/api_parse.h"
#include "itest.h"

#define SIZE 10000

/* The digest of data[0..len) by the system tool ("sha256sum" or
 * "sha512sum"), as the base64 of a Content-Digest member, into b64. */
static void tool_digest(const char *tool, const void *data, size_t len,
                        char *b64, size_t b64len)
{
    char path[] = "/tmp/mmapd-digest.XXXXXX";
    char cmd[128];
    char hex[160];
    uint8_t bin[64];
    size_t n = 0;
    int fd = mkstemp(path);
    FILE *p;

    CHECK(fd >= 0);
    CHECK(write(fd, data, len) == (ssize_t)len);
    close(fd);
    snprintf(cmd, sizeof(cmd), "%s %s", tool, path);
    p = popen(cmd, "r");
    CHECK(p != NULL);
    CHECK(fscanf(p, "%159s", hex) == 1);
    CHECK(pclose(p) == 0);
    unlink(path);
    for (; n < sizeof(bin) && isxdigit((unsigned char)hex[2 * n]); n++) {
        unsigned v;

        CHECK(sscanf(hex + 2 * n, "%2x", &v) == 1);
        bin[n] = (uint8_t)v;
    }
    CHECK(n == 32 || n == 64);
    CHECK(api_base64_encode(bin, n, b64, b64len) > 0);
}

/* "Content-Digest: sha-256=:...:" for data, into hdr. */
static const char *digest_header(const char *alg, const void *data, size_t len,
                                 char *hdr, size_t hdrlen)
{
    char b64[128];

    tool_digest(strcmp(alg, "sha-512") == 0 ? "sha512sum" : "sha256sum", data,
                len, b64, sizeof(b64));
    snprintf(hdr, hdrlen, "Content-Digest: %s=:%s:", alg, b64);
    return hdr;
}

/* One write path: method, path, its fixed headers (up to two) and body. */
struct write_path {
    const char *what;
    const char *method;
    const char *path;
    const char *h1;
    const char *h2;
    const char *body;
    long ok_status;
};

/* Send wp with extra header dig (may be NULL) into r. */
static void send_write(const struct itest_server *s,
                       const struct write_path *wp, const char *dig,
                       struct itest_resp *r)
{
    const char *h[4] = {0};
    size_t k = 0;

    if (wp->h1 != NULL)
        h[k++] = wp->h1;
    if (wp->h2 != NULL)
        h[k++] = wp->h2;
    h[k++] = dig;
    itest_request(s, wp->method, wp->path, h, wp->body, strlen(wp->body), r);
}

/* A refused write: status and code, then the bytes and ETag as before. */
static void expect_refused(const struct itest_server *s,
                           const struct write_path *wp, const char *dig,
                           const char *code, const char *pat, const char *etag)
{
    struct itest_resp r;
    char buf[128];

    send_write(s, wp, dig, &r);
    if (r.status != 400)
        TEST_FAIL("%s with %s: %ld %s", wp->what, dig, r.status, r.body);
    itest_expect_problem(&r, 400, code);
    if (strcmp(code, "digest_unsupported") == 0)
        CHECK_EQ_STR(itest_header(&r, "Want-Content-Digest", buf, sizeof(buf)),
                     "sha-256=10, sha-512=5");
    itest_resp_free(&r);
    itest_expect_data(s, "d", pat, SIZE);
    CHECK_EQ_STR(itest_etag(s, "d", buf, sizeof(buf)), etag);
}

TEST(every_write_path_checks_its_digest)
{
    static const struct write_path paths[] = {
        {"PUT", "PUT", "/v1/maps/d/data?offset=100", NULL, NULL,
         "hello, digest", 204},
        {"PATCH byterange", "PATCH", "/v1/maps/d/data",
         "Content-Type: message/byterange", NULL,
         "Content-Range: bytes 200-204/*\r\n\r\nHELLO", 204},
        {"PATCH multipart", "PATCH", "/v1/maps/d/data",
         "Content-Type: multipart/byteranges; boundary=xyzzy", NULL,
         "--xyzzy\r\nContent-Range: bytes 300-302/*\r\n\r\nabc\r\n"
         "--xyzzy\r\nContent-Range: bytes 9990-9991/*\r\n\r\nzz\r\n"
         "--xyzzy--\r\n",
         204},
        {"objects PUT", "PUT", "/v1/maps/d/objects/4096",
         "Content-Type: application/json", NULL, "{\"k\":[1,2,3]}", 201},
    };
    struct itest_server s = {0};
    char pat[SIZE];

    itest_start(&s, NULL);
    itest_create_filled(&s, "d", pat, SIZE, 13);
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        const struct write_path *wp = &paths[i];
        char good[200], good512[200], wrong[200], etag[128], after[128];
        char *now;
        size_t len;
        struct itest_resp r;
        /* The digest of a body one byte different. */
        char *other = strdup(wp->body);

        CHECK(other != NULL);
        other[strlen(other) - 1] ^= 1;
        digest_header("sha-256", wp->body, strlen(wp->body), good,
                      sizeof(good));
        digest_header("sha-512", wp->body, strlen(wp->body), good512,
                      sizeof(good512));
        digest_header("sha-256", other, strlen(other), wrong, sizeof(wrong));
        free(other);
        itest_etag(&s, "d", etag, sizeof(etag));

        expect_refused(&s, wp, wrong, "digest_mismatch", pat, etag);
        expect_refused(&s, wp, "Content-Digest: md5=:HUXZLQLMuI/KZ5KDcJPcOA==:",
                       "digest_unsupported", pat, etag);
        expect_refused(&s, wp,
                       "Content-Digest: sha-256=:AAAA:", "digest_invalid", pat,
                       etag);
        expect_refused(&s, wp, "Content-Digest: sha-256", "digest_invalid", pat,
                       etag);
        /* Two digests: both are checked, so one wrong one refuses. */
        {
            char both[400];

            snprintf(both, sizeof(both), "%s, sha-512=%s", wrong,
                     strstr(good512, "=:") + 1);
            expect_refused(&s, wp, both, "digest_mismatch", pat, etag);
        }

        /* sha-256 alone, and with an unknown algorithm beside it (which is
         * ignored), apply; so does sha-512. Each answers as it would
         * without a digest. */
        send_write(&s, wp, good, &r);
        if (r.status != wp->ok_status)
            TEST_FAIL("%s: %ld %s", wp->what, r.status, r.body);
        itest_resp_free(&r);
        CHECK(strcmp(itest_etag(&s, "d", after, sizeof(after)), etag) != 0);
        {
            char mixed[300];

            snprintf(mixed, sizeof(mixed), "%s, unixsum=:AAAA:;x=1, md5=?1",
                     good);
            send_write(&s, wp, mixed, &r);
            CHECK_EQ_U64(r.status, wp->ok_status);
            itest_resp_free(&r);
        }
        send_write(&s, wp, good512, &r);
        CHECK_EQ_U64(r.status, wp->ok_status);
        itest_resp_free(&r);
        /* The new bytes become the reference for the next path. */
        now = itest_get_data(&s, "d", &len);
        CHECK_EQ_U64(len, SIZE);
        memcpy(pat, now, SIZE);
        free(now);
    }
    /* The writes did land where they say. */
    CHECK(memcmp(pat + 100, "hello, digest", 13) == 0);
    CHECK(memcmp(pat + 200, "HELLO", 5) == 0);
    CHECK(memcmp(pat + 300, "abc", 3) == 0);
    itest_cleanup(&s);
}

/* mmapd_writes_unacknowledged_total from /metrics. */
static uint64_t unacknowledged(const struct itest_server *s)
{
    struct itest_resp r;
    const char *p;
    uint64_t v = 0;

    itest_request(s, "GET", "/metrics", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    p = strstr(r.body, "\nmmapd_writes_unacknowledged_total ");
    CHECK(p != NULL);
    v = strtoull(p + strlen("\nmmapd_writes_unacknowledged_total "), NULL, 10);
    itest_resp_free(&r);
    return v;
}

TEST(streamed_put_with_wrong_digest_is_never_acknowledged)
{
    enum { BIG = 3 << 20 }; /* past the 1 MiB atomic-write limit */
    struct itest_server s = {0};
    char *pat = malloc(BIG);
    char *body = malloc(BIG);
    char good[200], wrong[200];
    const char *h[2] = {NULL, NULL};
    struct itest_resp r;
    uint64_t before;

    CHECK(pat != NULL && body != NULL);
    itest_start(&s, NULL);
    itest_create_filled(&s, "d", pat, BIG, 3);
    itest_pattern(body, BIG, 4);
    digest_header("sha-256", body, BIG, good, sizeof(good));
    body[BIG - 1] ^= 1;
    digest_header("sha-256", body, BIG, wrong, sizeof(wrong));
    body[BIG - 1] ^= 1;

    before = unacknowledged(&s);
    h[0] = wrong;
    itest_request(&s, "PUT", "/v1/maps/d/data", h, body, BIG, &r);
    itest_expect_problem(&r, 400, "digest_mismatch");
    CHECK(itest_header(&r, "ETag", good, sizeof(good)) == NULL);
    itest_resp_free(&r);
    /* A prefix may have landed (api/openapi.yaml); what counts is that
     * it was never acknowledged. */
    CHECK_EQ_U64(unacknowledged(&s), before + 1);

    digest_header("sha-512", body, BIG, good, sizeof(good));
    h[0] = good;
    itest_request(&s, "PUT", "/v1/maps/d/data", h, body, BIG, &r);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);
    itest_expect_data(&s, "d", body, BIG);
    free(pat);
    free(body);
    itest_cleanup(&s);
}

/* GET path with Want-Content-Digest: want; require status and that the
 * Content-Digest names alg with the tool's digest of the bytes received,
 * which must be want_len long (SIZE_MAX: any length). */
static void expect_get_digest(const struct itest_server *s, const char *path,
                              const char *range, const char *want,
                              const char *alg, long status, size_t want_len)
{
    char wh[128], rh[128], got[200], expect[200];
    const char *h[3] = {wh, NULL, NULL};
    struct itest_resp r;

    snprintf(wh, sizeof(wh), "Want-Content-Digest: %s", want);
    if (range != NULL) {
        snprintf(rh, sizeof(rh), "Range: %s", range);
        h[1] = rh;
    }
    itest_request(s, "GET", path, h, NULL, 0, &r);
    CHECK_EQ_U64(r.status, status);
    if (want_len != SIZE_MAX)
        CHECK_EQ_U64(r.len, want_len);
    CHECK(itest_header(&r, "Content-Digest", got, sizeof(got)) != NULL);
    digest_header(alg, r.body, r.len, expect, sizeof(expect));
    CHECK_EQ_STR(got, expect + strlen("Content-Digest: "));
    itest_resp_free(&r);
}

TEST(get_digest_is_the_digest_of_the_bytes_sent)
{
    enum { BIG = 3 << 20 }; /* served by a reader, not a copy */
    struct itest_server s = {0};
    char *pat = malloc(BIG);
    struct itest_resp r;
    char buf[200];

    CHECK(pat != NULL);
    itest_start(&s, NULL);
    itest_create_filled(&s, "d", pat, BIG, 21);
    expect_get_digest(&s, "/v1/maps/d/data", "bytes=1000-70999", "sha-256",
                      "sha-256", 206, 70000);
    expect_get_digest(&s, "/v1/maps/d/data?offset=5&length=4096", NULL,
                      "sha-256=10", "sha-256", 200, 4096);
    expect_get_digest(&s, "/v1/maps/d/data", NULL, "sha-256=1, sha-512=9",
                      "sha-512", 200, BIG);
    /* A multipart answer: the digest covers its whole content. */
    expect_get_digest(&s, "/v1/maps/d/data", "bytes=0-9,100-109", "sha-256",
                      "sha-256", 206, SIZE_MAX);
    /* Without the header, or with only algorithms we lack, no digest. */
    {
        const char *h[] = {"Want-Content-Digest: md5=10, sha-256=0", NULL};

        itest_request(&s, "GET", "/v1/maps/d/data?length=10", h, NULL, 0, &r);
        CHECK_EQ_U64(r.status, 200);
        CHECK(itest_header(&r, "Content-Digest", buf, sizeof(buf)) == NULL);
        itest_resp_free(&r);
    }
    free(pat);
    itest_cleanup(&s);
}

TEST_MAIN()
