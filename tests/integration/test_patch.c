/* test_patch.c - proves byte-range PATCH and the conditional headers on the
 * real server: message/byterange and multipart/byteranges bodies write
 * exactly their ranges and answer 204 with the new ETag; every refusal
 * (unknown patch type, encoded body, malformed part, length mismatch, part
 * past the end, wrong /SIZE, stale If-Match, read-only mapping) writes
 * nothing, also when only the last part of a multipart body is bad; a bad
 * Content-Type is answered before an "Expect: 100-continue" body is sent;
 * If-Match and If-None-Match give 412 on PUT, PATCH and DELETE and
 * If-None-Match gives 304 on GET; If-Range compares strongly.
 */
#include "itest.h"

#define SIZE 10000

static const char *const br_hdr[] = {"Content-Type: message/byterange",
                                     NULL};

/* A server with mapping "d" of SIZE bytes holding pattern pat. */
static void setup(struct itest_server *s, char *pat)
{
    itest_start(s, NULL);
    itest_create_filled(s, "d", pat, SIZE, 7);
}

static void expect_data(const struct itest_server *s, const char *pat)
{
    itest_expect_data(s, "d", pat, SIZE);
}

TEST(patch_byterange_writes_its_range)
{
    struct itest_server s = {0};
    struct itest_resp r;
    char pat[SIZE], e1[128], e2[128], buf[128];
    static const char body[] = "Content-Range: bytes 4095-4099/*\r\n\r\nHELLO";

    setup(&s, pat);
    itest_etag(&s, "d", e1, sizeof(e1));
    itest_request(&s, "PATCH", "/v1/maps/d/data", br_hdr, body,
                  sizeof(body) - 1, &r);
    CHECK_EQ_U64(r.status, 204);
    CHECK(itest_header(&r, "ETag", e2, sizeof(e2)) != NULL);
    CHECK(strcmp(e1, e2) != 0);
    itest_resp_free(&r);
    memcpy(pat + 4095, "HELLO", 5);
    expect_data(&s, pat);
    CHECK_EQ_STR(itest_etag(&s, "d", buf, sizeof(buf)), e2);

    /* /SIZE equal to the mapping's size is fine too. */
    static const char sized[] = "Content-Range: bytes 0-1/10000\r\n\r\nAB";
    itest_request(&s, "PATCH", "/v1/maps/d/data", br_hdr, sized,
                  sizeof(sized) - 1, &r);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);
    memcpy(pat, "AB", 2);
    expect_data(&s, pat);
    itest_cleanup(&s);
}

TEST(patch_multipart_writes_every_part)
{
    struct itest_server s = {0};
    struct itest_resp r;
    char pat[SIZE];
    static const char *const hdr[] = {
        "Content-Type: multipart/byteranges; boundary=3d6b6a416f9b5", NULL};
    static const char body[] =
        "--3d6b6a416f9b5\r\nContent-Type: application/octet-stream\r\n"
        "Content-Range: bytes 0-3/10000\r\n\r\nabcd\r\n"
        "--3d6b6a416f9b5\r\nContent-Range: bytes 9996-9999/*\r\n\r\nwxyz\r\n"
        "--3d6b6a416f9b5--\r\n";

    setup(&s, pat);
    itest_request(&s, "PATCH", "/v1/maps/d/data", hdr, body, sizeof(body) - 1,
                  &r);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);
    memcpy(pat, "abcd", 4);
    memcpy(pat + 9996, "wxyz", 4);
    expect_data(&s, pat);
    itest_cleanup(&s);
}

TEST(patch_refusals_write_nothing)
{
    struct itest_server s = {0};
    char pat[SIZE], etag[128], hdr[200];
    static const char good[] = "Content-Range: bytes 0-2/*\r\n\r\nXYZ";
    static const char *const mp_hdr[] = {
        "Content-Type: multipart/byteranges; boundary=B", NULL};
    /* The second part runs past the end: the first must not be written. */
    static const char mp_bad[] =
        "--B\r\nContent-Range: bytes 0-2/*\r\n\r\nXYZ\r\n"
        "--B\r\nContent-Range: bytes 9999-10000/*\r\n\r\nXY\r\n--B--\r\n";
    static const char mp_short[] =
        "--B\r\nContent-Range: bytes 0-2/*\r\n\r\nXYZ\r\n"
        "--B\r\nContent-Range: bytes 10-19/*\r\n\r\nXY\r\n--B--\r\n";

    setup(&s, pat);
    ITEST_PROBLEM(&s, "PATCH", "/v1/maps/d/data",
                  ((const char *const[]){"Content-Type: application/json",
                                         NULL}),
                  good, sizeof(good) - 1, 415, "unsupported_media_type");
    ITEST_PROBLEM(&s, "PATCH", "/v1/maps/d/data",
                  ((const char *const[]){"Content-Type: multipart/byteranges",
                                         NULL}),
                  good, sizeof(good) - 1, 415, "unsupported_media_type");
    ITEST_PROBLEM(&s, "PATCH", "/v1/maps/d/data",
                  ((const char *const[]){"Content-Type: message/byterange",
                                         "Content-Encoding: gzip", NULL}),
                  good, sizeof(good) - 1, 415, "unsupported_media_type");
    ITEST_PROBLEM(&s, "PATCH", "/v1/maps/d/data", br_hdr,
                  "Content-Range: bytes 0-2\r\n\r\nXYZ",
                  strlen("Content-Range: bytes 0-2\r\n\r\nXYZ"), 400,
                  "invalid_range");
    ITEST_PROBLEM(&s, "PATCH", "/v1/maps/d/data", br_hdr,
                  "Content-Range: bytes 0-3/*\r\n\r\nXYZ",
                  strlen("Content-Range: bytes 0-3/*\r\n\r\nXYZ"), 400,
                  "length_mismatch");
    ITEST_PROBLEM(&s, "PATCH", "/v1/maps/d/data", br_hdr,
                  "Content-Range: bytes 9998-10000/*\r\n\r\nXYZ",
                  strlen("Content-Range: bytes 9998-10000/*\r\n\r\nXYZ"), 416,
                  "range_not_satisfiable");
    ITEST_PROBLEM(&s, "PATCH", "/v1/maps/d/data", br_hdr,
                  "Content-Range: bytes 0-2/20000\r\n\r\nXYZ",
                  strlen("Content-Range: bytes 0-2/20000\r\n\r\nXYZ"), 416,
                  "range_not_satisfiable");
    ITEST_PROBLEM(&s, "PATCH", "/v1/maps/d/data", mp_hdr, mp_bad,
                  sizeof(mp_bad) - 1, 416, "range_not_satisfiable");
    ITEST_PROBLEM(&s, "PATCH", "/v1/maps/d/data", mp_hdr, mp_short,
                  sizeof(mp_short) - 1, 400, "length_mismatch");
    ITEST_PROBLEM(&s, "PATCH", "/v1/maps/nothere/data", br_hdr, good,
                  sizeof(good) - 1, 404, "not_found");
    snprintf(hdr, sizeof(hdr), "If-Match: \"stale\"");
    ITEST_PROBLEM(&s, "PATCH", "/v1/maps/d/data",
                  ((const char *const[]){"Content-Type: message/byterange",
                                         hdr, NULL}),
                  good, sizeof(good) - 1, 412, "precondition_failed");
    snprintf(hdr, sizeof(hdr), "If-None-Match: %s",
             itest_etag(&s, "d", etag, sizeof(etag)));
    ITEST_PROBLEM(&s, "PATCH", "/v1/maps/d/data",
                  ((const char *const[]){"Content-Type: message/byterange",
                                         hdr, NULL}),
                  good, sizeof(good) - 1, 412, "precondition_failed");

    /* A read-only mapping of the same file. */
    itest_create(&s, "ro", "{\"file\": \"d\", \"protection\": \"readonly\"}");
    ITEST_PROBLEM(&s, "PATCH", "/v1/maps/ro/data", br_hdr, good,
                  sizeof(good) - 1, 403, "read_only");
    expect_data(&s, pat);
    itest_cleanup(&s);
}

/* The patch type is judged from the headers: an Expect: 100-continue
 * client is refused before it sends the body. */
TEST(patch_expect_continue_refused_early)
{
    struct itest_server s = {0};
    char reply[4096];
    static const char bad[] =
        "PATCH /v1/maps/d/data HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: text/plain\r\n"
        "Content-Length: 100\r\nExpect: 100-continue\r\n\r\n";
    static const char good[] =
        "PATCH /v1/maps/d/data HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: message/byterange\r\n"
        "Content-Length: 100\r\nExpect: 100-continue\r\n\r\n";

    itest_start(&s, NULL);
    itest_create(&s, "d", "{\"size\": 4096}");
    itest_raw(&s, bad, sizeof(bad) - 1, reply, sizeof(reply), 3000);
    if (strncmp(reply, "HTTP/1.1 415", 12) != 0)
        TEST_FAIL("early refusal: got \"%.200s\"", reply);
    itest_raw(&s, good, sizeof(good) - 1, reply, sizeof(reply), 1000);
    if (strncmp(reply, "HTTP/1.1 100", 12) != 0)
        TEST_FAIL("want 100 Continue, got \"%.200s\"", reply);
    itest_cleanup(&s);
}

TEST(conditional_requests)
{
    struct itest_server s = {0};
    struct itest_resp r;
    char pat[SIZE], etag[128], h1[200], buf[128];

    setup(&s, pat);
    itest_etag(&s, "d", etag, sizeof(etag));

    /* GET: If-None-Match with the current ETag (weakly, or *) is 304. */
    snprintf(h1, sizeof(h1), "If-None-Match: W/%s", etag);
    itest_request(&s, "GET", "/v1/maps/d/data",
                  (const char *const[]){h1, NULL}, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 304);
    CHECK_EQ_STR(itest_header(&r, "ETag", buf, sizeof(buf)), etag);
    CHECK_EQ_U64(r.len, 0);
    itest_resp_free(&r);
    itest_request(&s, "GET", "/v1/maps/d/data",
                  (const char *const[]){"If-None-Match: \"other\"", NULL},
                  NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    itest_resp_free(&r);

    /* If-Range: a weak tag or a date never matches (200 with all). */
    snprintf(h1, sizeof(h1), "If-Range: W/%s", etag);
    itest_request(&s, "GET", "/v1/maps/d/data",
                  (const char *const[]){"Range: bytes=0-9", h1, NULL}, NULL,
                  0, &r);
    CHECK_EQ_U64(r.status, 200);
    CHECK_EQ_U64(r.len, SIZE);
    itest_resp_free(&r);
    itest_request(&s, "GET", "/v1/maps/d/data",
                  (const char *const[]){"Range: bytes=0-9",
                                        "If-Range: Tue, 24 Nov 2026 "
                                        "01:00:00 GMT",
                                        NULL},
                  NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    itest_resp_free(&r);

    /* PUT: If-None-Match * (it exists) and with the current tag are 412. */
    ITEST_PROBLEM(&s, "PUT", "/v1/maps/d/data",
                  ((const char *const[]){"If-None-Match: *", NULL}), "x", 1,
                  412, "precondition_failed");
    snprintf(h1, sizeof(h1), "If-None-Match: \"a\", %s", etag);
    ITEST_PROBLEM(&s, "PUT", "/v1/maps/d/data",
                  ((const char *const[]){h1, NULL}), "x", 1, 412,
                  "precondition_failed");
    /* If-None-Match with another tag passes. */
    itest_request(&s, "PUT", "/v1/maps/d/data",
                  (const char *const[]){"If-None-Match: \"other\"", NULL},
                  "x", 1, &r);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);
    pat[0] = 'x';

    /* DELETE: stale If-Match and matching If-None-Match are 412 and the
     * mapping stays; the current If-Match deletes it. */
    ITEST_PROBLEM(&s, "DELETE", "/v1/maps/d",
                  ((const char *const[]){"If-Match: \"stale\"", NULL}), NULL,
                  0, 412, "precondition_failed");
    ITEST_PROBLEM(&s, "DELETE", "/v1/maps/d",
                  ((const char *const[]){"If-None-Match: *", NULL}), NULL, 0,
                  412, "precondition_failed");
    expect_data(&s, pat);
    itest_etag(&s, "d", etag, sizeof(etag));
    snprintf(h1, sizeof(h1), "If-Match: %s", etag);
    itest_request(&s, "DELETE", "/v1/maps/d",
                  (const char *const[]){h1, NULL}, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);
    itest_cleanup(&s);
}

TEST_MAIN()
