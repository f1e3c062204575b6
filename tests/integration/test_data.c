/* test_data.c - proves the byte interface of the real server: whole GET and
 * HEAD with their headers, every Range form (single, suffix, open, clamped,
 * unsatisfiable, malformed, multipart), ?offset&length, PUT by Content-Range,
 * by ?offset and by default, its refusals (past the end, length mismatch
 * with nothing written, encoded bodies, read-only, stale If-Match), ETags
 * that move on every write, and the acceptance case: 5 MiB written at an
 * unaligned offset with 64 KiB views reads back identical, whole and in
 * ranges crossing view boundaries.
 */
#include "itest.h"

#define SIZE 10000

static const char *const json_hdr[] = {"Content-Type: application/json",
                                       NULL};

/* A server with mapping "d" of SIZE bytes holding pattern `pat`. */
static void setup(struct itest_server *s, char *pat, const char *const *extra)
{
    itest_start(s, extra);
    itest_create_filled(s, "d", pat, SIZE, 42);
}

static void get_range(const struct itest_server *s, const char *path,
                      const char *range, struct itest_resp *r)
{
    char hdr[512];

    snprintf(hdr, sizeof(hdr), "Range: %s", range);
    itest_request(s, "GET", path, (const char *const[]){hdr, NULL}, NULL, 0,
                  r);
}

/* One satisfiable range: 206, Content-Range, Content-Length, the bytes. */
static void expect_single(const struct itest_server *s, const char *range,
                          const char *pat, uint64_t first, uint64_t last)
{
    struct itest_resp r;
    char buf[128], want[128];

    get_range(s, "/v1/maps/d/data", range, &r);
    if (r.status != 206)
        TEST_FAIL("Range %s: status %ld, want 206", range, r.status);
    snprintf(want, sizeof(want), "bytes %llu-%llu/%d",
             (unsigned long long)first, (unsigned long long)last, SIZE);
    CHECK_EQ_STR(itest_header(&r, "Content-Range", buf, sizeof(buf)), want);
    snprintf(want, sizeof(want), "%llu",
             (unsigned long long)(last - first + 1));
    CHECK_EQ_STR(itest_header(&r, "Content-Length", buf, sizeof(buf)), want);
    CHECK_EQ_U64(r.len, last - first + 1);
    CHECK_MEM(r.body, pat + first, r.len);
    itest_resp_free(&r);
}

static void expect_whole(const struct itest_server *s, const char *range,
                         const char *pat)
{
    struct itest_resp r;

    get_range(s, "/v1/maps/d/data", range, &r);
    if (r.status != 200)
        TEST_FAIL("Range %s: status %ld, want 200 (ignored)", range,
                  r.status);
    CHECK_EQ_U64(r.len, SIZE);
    CHECK_MEM(r.body, pat, SIZE);
    itest_resp_free(&r);
}

/* Check a multipart/byteranges body against pat: the parts, in order, are
 * exactly want[0..n) as "first-last" pairs. */
static void check_multipart(const struct itest_resp *r, const char *pat,
                            const uint64_t (*want)[2], size_t n,
                            uint64_t size)
{
    char ct[256], delim[128];
    const char *b, *p, *end = r->body + r->len;
    size_t dlen;

    if (!itest_header(r, "Content-Type", ct, sizeof(ct)) ||
        strncmp(ct, "multipart/byteranges", 20) != 0)
        TEST_FAIL("Content-Type \"%s\", want multipart/byteranges", ct);
    b = strstr(ct, "boundary=");
    CHECK(b != NULL);
    b += 9;
    snprintf(delim, sizeof(delim), "--%.*s", (int)strcspn(b, "\"; "),
             b[0] == '"' ? b + 1 : b);
    dlen = strlen(delim);

    p = memmem(r->body, r->len, delim, dlen);
    CHECK(p != NULL);
    for (size_t i = 0;; i++) {
        const char *hdr_end, *cr;
        unsigned long long first, last, total;

        p += dlen;
        if (end - p >= 2 && memcmp(p, "--", 2) == 0) {
            CHECK_EQ_U64(i, n); /* closing delimiter after the last part */
            return;
        }
        CHECK(i < n);
        CHECK(end - p >= 2 && memcmp(p, "\r\n", 2) == 0);
        hdr_end = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
        CHECK(hdr_end != NULL);
        cr = memmem(p, (size_t)(hdr_end - p), "Content-Range: bytes ", 21);
        if (!cr)
            cr = memmem(p, (size_t)(hdr_end - p), "content-range: bytes ", 21);
        CHECK(cr != NULL);
        CHECK(sscanf(cr + 21, "%llu-%llu/%llu", &first, &last, &total) == 3);
        CHECK_EQ_U64(first, want[i][0]);
        CHECK_EQ_U64(last, want[i][1]);
        CHECK_EQ_U64(total, size);
        p = hdr_end + 4;
        CHECK((uint64_t)(end - p) >= last - first + 1);
        CHECK_MEM(p, pat + first, last - first + 1);
        p += last - first + 1;
        CHECK(end - p >= 2 && memcmp(p, "\r\n", 2) == 0);
        p += 2;
        CHECK((size_t)(end - p) >= dlen && memcmp(p, delim, dlen) == 0);
    }
}

TEST(whole_get_and_head)
{
    struct itest_server s = {0};
    struct itest_resp r;
    char pat[SIZE], buf[128], etag[128];

    setup(&s, pat, NULL);
    itest_request(&s, "GET", "/v1/maps/d/data", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    CHECK_EQ_STR(itest_header(&r, "Accept-Ranges", buf, sizeof(buf)),
                 "bytes");
    CHECK_EQ_STR(itest_header(&r, "Content-Length", buf, sizeof(buf)),
                 "10000");
    CHECK(itest_header(&r, "ETag", etag, sizeof(etag)) != NULL);
    CHECK(etag[0] == '"'); /* strong */
    CHECK(itest_header(&r, "Content-Encoding", buf, sizeof(buf)) == NULL);
    CHECK_EQ_U64(r.len, SIZE);
    CHECK_MEM(r.body, pat, SIZE);
    itest_resp_free(&r);

    itest_request(&s, "HEAD", "/v1/maps/d/data", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    CHECK_EQ_STR(itest_header(&r, "Content-Length", buf, sizeof(buf)),
                 "10000");
    CHECK_EQ_STR(itest_header(&r, "Accept-Ranges", buf, sizeof(buf)),
                 "bytes");
    CHECK_EQ_STR(itest_header(&r, "ETag", buf, sizeof(buf)), etag);
    CHECK_EQ_U64(r.len, 0);
    itest_resp_free(&r);

    /* A client asking for compression still gets the raw bytes. */
    itest_request(&s, "GET", "/v1/maps/d/data",
                  (const char *const[]){"Accept-Encoding: gzip, br", NULL},
                  NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    CHECK(itest_header(&r, "Content-Encoding", buf, sizeof(buf)) == NULL);
    CHECK_EQ_U64(r.len, SIZE);
    CHECK_MEM(r.body, pat, SIZE);
    itest_resp_free(&r);

    ITEST_PROBLEM(&s, "GET", "/v1/maps/nope/data", NULL, NULL, 0, 404,
                  "not_found");
    itest_cleanup(&s);
}

TEST(single_ranges)
{
    struct itest_server s = {0};
    struct itest_resp r;
    char pat[SIZE], buf[128];

    setup(&s, pat, NULL);
    expect_single(&s, "bytes=0-99", pat, 0, 99);
    expect_single(&s, "bytes=5000-5000", pat, 5000, 5000);
    expect_single(&s, "bytes=9900-", pat, 9900, 9999);
    expect_single(&s, "bytes=-100", pat, 9900, 9999);
    expect_single(&s, "bytes=-20000", pat, 0, 9999); /* suffix clamped */
    expect_single(&s, "bytes=9990-20000", pat, 9990, 9999); /* clamped */
    expect_single(&s, "BYTES=10-19", pat, 10, 19);

    /* Unsatisfiable: 416 with Content-Range: bytes * / SIZE. */
    static const char *const unsat[] = {"bytes=10000-", "bytes=10000-10005",
                                        "bytes=20000-30000", "bytes=-0"};
    for (size_t i = 0; i < sizeof(unsat) / sizeof(unsat[0]); i++) {
        get_range(&s, "/v1/maps/d/data", unsat[i], &r);
        if (r.status != 416)
            TEST_FAIL("Range %s: status %ld, want 416", unsat[i], r.status);
        CHECK_EQ_STR(itest_header(&r, "Content-Range", buf, sizeof(buf)),
                     "bytes */10000");
        itest_expect_problem(&r, 416, "range_not_satisfiable");
        itest_resp_free(&r);
    }

    /* Malformed ranges and other units are ignored: 200, everything. */
    static const char *const malformed[] = {
        "bytes=abc", "bytes=5-1", "items=0-1", "bytes", "bytes=1-2-3",
        "bytes=--5", "bytes=0x10-0x20", "bytes=-1-2",
    };
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++)
        expect_whole(&s, malformed[i], pat);

    /* HEAD with a range: the partial headers, no body. */
    itest_request(&s, "HEAD", "/v1/maps/d/data",
                  (const char *const[]){"Range: bytes=100-199", NULL}, NULL,
                  0, &r);
    CHECK_EQ_U64(r.status, 206);
    CHECK_EQ_STR(itest_header(&r, "Content-Length", buf, sizeof(buf)), "100");
    CHECK_EQ_STR(itest_header(&r, "Content-Range", buf, sizeof(buf)),
                 "bytes 100-199/10000");
    itest_resp_free(&r);
    itest_cleanup(&s);
}

TEST(if_range)
{
    struct itest_server s = {0};
    struct itest_resp r;
    char pat[SIZE], etag[128], hdr[200];

    setup(&s, pat, NULL);
    itest_etag(&s, "d", etag, sizeof(etag));
    snprintf(hdr, sizeof(hdr), "If-Range: %s", etag);
    itest_request(&s, "GET", "/v1/maps/d/data",
                  (const char *const[]){"Range: bytes=0-9", hdr, NULL}, NULL,
                  0, &r);
    CHECK_EQ_U64(r.status, 206);
    CHECK_EQ_U64(r.len, 10);
    itest_resp_free(&r);
    itest_request(&s, "GET", "/v1/maps/d/data",
                  (const char *const[]){"Range: bytes=0-9",
                                        "If-Range: \"stale\"", NULL},
                  NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    CHECK_EQ_U64(r.len, SIZE);
    itest_resp_free(&r);
    itest_cleanup(&s);
}

TEST(multi_range)
{
    struct itest_server s = {0};
    struct itest_resp r;
    char pat[SIZE];
    static const uint64_t want[][2] = {{0, 9}, {100, 109}, {5000, 5009},
                                       {9995, 9999}};

    setup(&s, pat, NULL);
    get_range(&s, "/v1/maps/d/data", "bytes=0-9, 100-109,5000-5009,-5", &r);
    CHECK_EQ_U64(r.status, 206);
    check_multipart(&r, pat, want, 4, SIZE);
    itest_resp_free(&r);

    /* Unsatisfiable ranges among satisfiable ones are dropped. */
    get_range(&s, "/v1/maps/d/data", "bytes=0-9,20000-30000,100-109", &r);
    CHECK_EQ_U64(r.status, 206);
    check_multipart(&r, pat, want, 2, SIZE);
    itest_resp_free(&r);
    itest_cleanup(&s);
}

TEST(max_ranges_cap)
{
    struct itest_server s = {0};
    char pat[SIZE];
    static const char *const extra[] = {"--max-ranges", "2", NULL};

    setup(&s, pat, extra);
    /* More ranges than the cap: served whole, as nginx does. */
    expect_whole(&s, "bytes=0-1,10-11,20-21", pat);
    itest_cleanup(&s);
}

TEST(offset_and_length)
{
    struct itest_server s = {0};
    struct itest_resp r;
    char pat[SIZE];

    setup(&s, pat, NULL);
    itest_request(&s, "GET", "/v1/maps/d/data?offset=100&length=50", NULL,
                  NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    CHECK_EQ_U64(r.len, 50);
    CHECK_MEM(r.body, pat + 100, 50);
    itest_resp_free(&r);
    itest_request(&s, "GET", "/v1/maps/d/data?offset=9990&length=10", NULL,
                  NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    CHECK_MEM(r.body, pat + 9990, 10);
    itest_resp_free(&r);

    static const char *const out_of_bounds[] = {
        "?offset=9990&length=11", "?offset=10000&length=1",
        "?offset=18446744073709551615&length=2",
        "?offset=1&length=18446744073709551615",
    };
    for (size_t i = 0; i < 4; i++) {
        char path[256];
        snprintf(path, sizeof(path), "/v1/maps/d/data%s", out_of_bounds[i]);
        ITEST_PROBLEM(&s, "GET", path, NULL, NULL, 0, 416,
                      "range_not_satisfiable");
    }
    static const char *const garbage[] = {
        "?offset=abc&length=1", "?offset=1&length=x", "?offset=-1&length=1",
        "?offset=1&length=-1", "?offset=18446744073709551616&length=1",
        "?offset=&length=1", "?offset=0x10&length=1", "?offset=1%20&length=1",
    };
    for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
        char path[256];
        snprintf(path, sizeof(path), "/v1/maps/d/data%s", garbage[i]);
        ITEST_PROBLEM(&s, "GET", path, NULL, NULL, 0, 400, "invalid_query");
    }
    itest_cleanup(&s);
}

TEST(put_forms)
{
    struct itest_server s = {0};
    struct itest_resp r;
    char pat[SIZE], etag[128], buf[128];
    char *data;
    size_t len;

    setup(&s, pat, NULL);

    /* Content-Range with an unknown and with the right total. */
    itest_request(&s, "PUT", "/v1/maps/d/data",
                  (const char *const[]){"Content-Range: bytes 10-19/*", NULL},
                  "0123456789", 10, &r);
    CHECK_EQ_U64(r.status, 204);
    CHECK_EQ_U64(r.len, 0);
    CHECK(itest_header(&r, "ETag", etag, sizeof(etag)) != NULL);
    itest_resp_free(&r);
    memcpy(pat + 10, "0123456789", 10);
    CHECK_EQ_STR(itest_etag(&s, "d", buf, sizeof(buf)), etag);

    itest_request(&s, "PUT", "/v1/maps/d/data",
                  (const char *const[]){"Content-Range: bytes 9996-9999/10000",
                                        NULL},
                  "WXYZ", 4, &r);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);
    memcpy(pat + 9996, "WXYZ", 4);

    /* ?offset, and neither (offset 0). */
    itest_request(&s, "PUT", "/v1/maps/d/data?offset=500", NULL, "hello", 5,
                  &r);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);
    memcpy(pat + 500, "hello", 5);
    itest_request(&s, "PUT", "/v1/maps/d/data", NULL, "start", 5, &r);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);
    memcpy(pat, "start", 5);

    data = itest_get_data(&s, "d", &len);
    CHECK_EQ_U64(len, SIZE);
    CHECK_MEM(data, pat, SIZE);
    free(data);
    itest_cleanup(&s);
}

TEST(put_refusals_write_nothing)
{
    struct itest_server s = {0};
    char pat[SIZE], before[128], after[128];
    char *data;
    size_t len;

    setup(&s, pat, NULL);
    itest_etag(&s, "d", before, sizeof(before));

    /* Past the end of the mapping. */
    ITEST_PROBLEM(&s, "PUT", "/v1/maps/d/data?offset=9995", NULL,
                  "0123456789", 10, 416, "range_not_satisfiable");
    ITEST_PROBLEM(&s, "PUT", "/v1/maps/d/data?offset=10000", NULL, "x", 1,
                  416, "range_not_satisfiable");
    ITEST_PROBLEM(&s, "PUT", "/v1/maps/d/data",
                  ((const char *const[]){"Content-Range: bytes 9995-10004/*",
                                         NULL}),
                  "0123456789", 10, 416, "range_not_satisfiable");
    /* A total that is not the mapping's size. */
    ITEST_PROBLEM(&s, "PUT", "/v1/maps/d/data",
                  ((const char *const[]){"Content-Range: bytes 0-9/20000",
                                         NULL}),
                  "0123456789", 10, 416, "range_not_satisfiable");
    /* Body length differs from the range. */
    ITEST_PROBLEM(&s, "PUT", "/v1/maps/d/data",
                  ((const char *const[]){"Content-Range: bytes 0-9/*", NULL}),
                  "01234", 5, 400, "length_mismatch");
    ITEST_PROBLEM(&s, "PUT", "/v1/maps/d/data",
                  ((const char *const[]){"Content-Range: bytes 0-3/*", NULL}),
                  "0123456789", 10, 400, "length_mismatch");
    /* A malformed Content-Range. */
    ITEST_PROBLEM(&s, "PUT", "/v1/maps/d/data",
                  ((const char *const[]){"Content-Range: bytes 9-0/*", NULL}),
                  "0123456789", 10, 400, "invalid_range");
    ITEST_PROBLEM(&s, "PUT", "/v1/maps/d/data",
                  ((const char *const[]){"Content-Range: lines 0-9/*", NULL}),
                  "0123456789", 10, 400, "invalid_range");
    ITEST_PROBLEM(&s, "PUT", "/v1/maps/d/data?offset=x", NULL, "0", 1, 400,
                  "invalid_query");
    /* Encoded bodies. */
    ITEST_PROBLEM(&s, "PUT", "/v1/maps/d/data",
                  ((const char *const[]){"Content-Encoding: gzip", NULL}),
                  "0123456789", 10, 415, "unsupported_media_type");
    /* A stale If-Match. */
    ITEST_PROBLEM(&s, "PUT", "/v1/maps/d/data",
                  ((const char *const[]){"If-Match: \"stale\"", NULL}),
                  "0123456789", 10, 412, "precondition_failed");

    itest_etag(&s, "d", after, sizeof(after));
    CHECK_EQ_STR(after, before);
    data = itest_get_data(&s, "d", &len);
    CHECK_EQ_U64(len, SIZE);
    CHECK_MEM(data, pat, SIZE);
    free(data);
    itest_cleanup(&s);
}

TEST(etag_moves_and_if_match)
{
    struct itest_server s = {0};
    struct itest_resp r;
    char pat[SIZE], e1[128], e2[128], e3[128], hdr[200];

    setup(&s, pat, NULL);
    itest_etag(&s, "d", e1, sizeof(e1));
    snprintf(hdr, sizeof(hdr), "If-Match: %s", e1);
    itest_request(&s, "PUT", "/v1/maps/d/data?offset=1",
                  (const char *const[]){hdr, NULL}, "a", 1, &r);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);
    itest_etag(&s, "d", e2, sizeof(e2));
    CHECK(strcmp(e1, e2) != 0);

    /* The old ETag is stale now. */
    ITEST_PROBLEM(&s, "PUT", "/v1/maps/d/data?offset=1",
                  ((const char *const[]){hdr, NULL}), "b", 1, 412,
                  "precondition_failed");
    /* Even rewriting the same byte moves the ETag. */
    itest_request(&s, "PUT", "/v1/maps/d/data?offset=1", NULL, "a", 1, &r);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);
    itest_etag(&s, "d", e3, sizeof(e3));
    CHECK(strcmp(e2, e3) != 0 && strcmp(e1, e3) != 0);

    /* A resize moves it too. */
    itest_request(&s, "PATCH", "/v1/maps/d", json_hdr, "{\"size\": 20000}",
                  15, &r);
    CHECK_EQ_U64(r.status, 200);
    itest_resp_free(&r);
    itest_etag(&s, "d", e1, sizeof(e1));
    CHECK(strcmp(e1, e3) != 0);
    itest_cleanup(&s);
}

TEST(readonly_refuses_writes)
{
    struct itest_server s = {0};
    char pat[SIZE];

    setup(&s, pat, NULL);
    itest_create(&s, "ro",
                 "{\"file\": \"d\", \"protection\": \"readonly\"}");
    ITEST_PROBLEM(&s, "PUT", "/v1/maps/ro/data", NULL, "x", 1, 403,
                  "read_only");
    /* Reading through it works. */
    {
        struct itest_resp r;
        itest_request(&s, "GET", "/v1/maps/ro/data?offset=0&length=16", NULL,
                      NULL, 0, &r);
        CHECK_EQ_U64(r.status, 200);
        CHECK_MEM(r.body, pat, 16);
        itest_resp_free(&r);
    }
    itest_cleanup(&s);
}

/* The acceptance case of the issue: 64 KiB views, a 5 MiB pseudo-random
 * write at offset 12345 of an 8 MiB mapping, read back whole and as ranges
 * that straddle view boundaries, singly and as one multipart request. */
TEST(acceptance_5mib_unaligned_64k_views)
{
    enum { MAP = 8 << 20, LEN = 5 << 20, OFF = 12345, VIEW = 64 << 10 };
    struct itest_server s = {0};
    struct itest_resp r;
    static const char *const extra[] = {"--view-size", "64KiB", NULL};
    char *want = calloc(1, MAP);
    char *data;
    size_t len;
    char path[128];

    CHECK(want != NULL);
    itest_start(&s, extra);
    itest_request(&s, "GET", "/v1/info", NULL, NULL, 0, &r);
    {
        json_t *j = itest_json(&r);
        CHECK_EQ_U64(json_integer_value(json_object_get(j, "view_size")),
                     VIEW);
        json_decref(j);
    }
    itest_resp_free(&r);

    itest_create(&s, "big", "{\"size\": 8388608}");
    itest_pattern(want + OFF, LEN, 0xfeedface);
    snprintf(path, sizeof(path), "/v1/maps/big/data?offset=%d", OFF);
    itest_request(&s, "PUT", path, NULL, want + OFF, LEN, &r);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);

    data = itest_get_data(&s, "big", &len);
    CHECK_EQ_U64(len, MAP);
    for (size_t i = 0; i < (size_t)MAP; i++) {
        if (data[i] != want[i])
            TEST_FAIL("byte %zu differs: %d != %d", i, data[i], want[i]);
    }
    free(data);

    /* Ranges around every view boundary the write crosses, and ranges
     * spanning several views. */
    for (uint64_t b = VIEW; b < OFF + LEN + VIEW; b += VIEW) {
        char range[64];
        uint64_t first = b - 37, last = b + 4000;

        snprintf(range, sizeof(range), "Range: bytes=%llu-%llu",
                 (unsigned long long)first, (unsigned long long)last);
        itest_request(&s, "GET", "/v1/maps/big/data",
                      (const char *const[]){range, NULL}, NULL, 0, &r);
        if (r.status != 206 || r.len != last - first + 1 ||
            memcmp(r.body, want + first, r.len) != 0)
            TEST_FAIL("%s: status %ld, %zu bytes, content %s", range,
                      r.status, r.len,
                      r.len == last - first + 1 ? "differs" : "short");
        itest_resp_free(&r);
    }
    for (uint64_t first = 1; first < MAP; first += 3 * VIEW + 12345) {
        char q[128];
        uint64_t n = 5 * VIEW + 999;

        if (first + n > MAP)
            n = MAP - first;
        snprintf(q, sizeof(q), "/v1/maps/big/data?offset=%llu&length=%llu",
                 (unsigned long long)first, (unsigned long long)n);
        itest_request(&s, "GET", q, NULL, NULL, 0, &r);
        if (r.status != 200 || r.len != n ||
            memcmp(r.body, want + first, n) != 0)
            TEST_FAIL("%s: status %ld, %zu bytes", q, r.status, r.len);
        itest_resp_free(&r);
    }
    {
        static const uint64_t parts[][2] = {{OFF - 10, OFF + 10},
                                            {VIEW - 1, VIEW},
                                            {3 * VIEW - 5, 7 * VIEW + 5},
                                            {OFF + LEN - 3, OFF + LEN + 3}};
        char range[256];

        snprintf(range, sizeof(range),
                 "bytes=%llu-%llu,%llu-%llu,%llu-%llu,%llu-%llu",
                 (unsigned long long)parts[0][0],
                 (unsigned long long)parts[0][1],
                 (unsigned long long)parts[1][0],
                 (unsigned long long)parts[1][1],
                 (unsigned long long)parts[2][0],
                 (unsigned long long)parts[2][1],
                 (unsigned long long)parts[3][0],
                 (unsigned long long)parts[3][1]);
        get_range(&s, "/v1/maps/big/data", range, &r);
        CHECK_EQ_U64(r.status, 206);
        check_multipart(&r, want, parts, 4, MAP);
        itest_resp_free(&r);
    }
    free(want);
    itest_cleanup(&s);
}

TEST_MAIN()
