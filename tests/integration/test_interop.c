/* test_interop.c - what real clients need (api/openapi.yaml, GET /data
 * "Validators"): validators on every answer with a mapping's bytes or
 * metadata, dates that tools comparing size and time (rclone, wget -N,
 * curl -z) see move after a write, If-Unmodified-Since on writes and
 * reads, a PUT with Range refused instead of written at offset 0 (lftp's
 * "put -c"), and a /SIZE mismatch said as such.
 */
#include <time.h>
#include <unistd.h>

#include "api/api_parse.h"
#include "itest.h"

/* Sleep into the next second, so a change gets a later Last-Modified. */
static void next_second(void)
{
    time_t t = time(NULL);

    while (time(NULL) == t)
        usleep(50 * 1000);
}

/* The Last-Modified of r, parsed; fails the test when absent or bad. */
static int64_t last_modified(const struct itest_resp *r, char *buf,
                             size_t len)
{
    int64_t t = 0;

    if (!itest_header(r, "Last-Modified", buf, len) ||
        !api_parse_http_date(buf, &t))
        TEST_FAIL("no valid Last-Modified in:\n%s", r->headers);
    return t;
}

static long status_of(const struct itest_server *s, const char *method,
                      const char *path, const char *hdr)
{
    struct itest_resp r;
    long st;

    itest_request(s, method, path, (const char *const[]){hdr, NULL}, NULL, 0,
                  &r);
    st = r.status;
    itest_resp_free(&r);
    return st;
}

TEST(validators_and_dates_on_data_and_metadata)
{
    static const char *const paths[] = {"/v1/maps/v/data", "/v1/maps/v"};
    struct itest_server s = {0};
    char lm[64], cc[64], ims[96], old[96];
    struct itest_resp r;
    int64_t t0, t1;

    itest_start(&s, NULL);
    itest_create(&s, "v", "{\"size\": 4096}");
    for (size_t i = 0; i < 2; i++) {
        const char *path = paths[i];

        for (int head = 0; head < 2; head++) {
            itest_request(&s, head ? "HEAD" : "GET", path, NULL, NULL, 0, &r);
            CHECK_EQ_U64(r.status, 200);
            t0 = last_modified(&r, lm, sizeof(lm));
            CHECK(t0 <= time(NULL) && t0 > time(NULL) - 60);
            CHECK(itest_header(&r, "Cache-Control", cc, sizeof(cc)));
            CHECK_EQ_STR(cc, "no-cache");
            itest_resp_free(&r);
        }
        snprintf(ims, sizeof(ims), "If-Modified-Since: %s", lm);
        CHECK_EQ_U64(status_of(&s, "GET", path, ims), 304);
        CHECK_EQ_U64(status_of(&s, "HEAD", path, ims), 304);
        /* If-None-Match wins: a stale tag means 200 whatever the date. */
        itest_request(&s, "GET", path,
                      (const char *const[]){ims, "If-None-Match: \"x\"", NULL},
                      NULL, 0, &r);
        CHECK_EQ_U64(r.status, 200);
        itest_resp_free(&r);
    }
    /* A malformed date, or one in the future, is ignored. */
    CHECK_EQ_U64(status_of(&s, "GET", paths[0],
                           "If-Modified-Since: yesterday"), 200);
    CHECK_EQ_U64(status_of(&s, "GET", paths[0],
                           "If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT"),
                 200);

    /* A write moves the date: the old date now gets the bytes. */
    snprintf(old, sizeof(old), "If-Modified-Since: %s", lm);
    next_second();
    itest_request(&s, "PUT", "/v1/maps/v/data?offset=10", NULL, "new", 3, &r);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);
    for (size_t i = 0; i < 2; i++) {
        itest_request(&s, "GET", paths[i], (const char *const[]){old, NULL},
                      NULL, 0, &r);
        CHECK_EQ_U64(r.status, 200);
        t1 = last_modified(&r, lm, sizeof(lm));
        CHECK(t1 > t0);
        itest_resp_free(&r);
    }
    itest_cleanup(&s);
}

TEST(if_unmodified_since_on_writes_and_reads)
{
    struct itest_server s = {0};
    char lm[64], ius[96], stale[96];
    struct itest_resp r;
    size_t len = 0;
    char *d;

    itest_start(&s, NULL);
    itest_create(&s, "u", "{\"size\": 4096}");
    itest_request(&s, "HEAD", "/v1/maps/u/data", NULL, NULL, 0, &r);
    last_modified(&r, lm, sizeof(lm));
    itest_resp_free(&r);
    snprintf(ius, sizeof(ius), "If-Unmodified-Since: %s", lm);
    snprintf(stale, sizeof(stale),
             "If-Unmodified-Since: Thu, 01 Jan 1970 00:00:00 GMT");

    /* Unchanged since the date: the write lands. */
    itest_request(&s, "PUT", "/v1/maps/u/data",
                  (const char *const[]){ius, NULL}, "AAAA", 4, &r);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);
    /* Changed since 1970: 412, nothing written. */
    ITEST_PROBLEM(&s, "PUT", "/v1/maps/u/data",
                  ((const char *const[]){stale, NULL}), "BBBB", 4, 412,
                  "precondition_failed");
    ITEST_PROBLEM(&s, "PATCH", "/v1/maps/u",
                  ((const char *const[]){stale, NULL}), "{\"size\": 8192}", 14,
                  412, "precondition_failed");
    ITEST_PROBLEM(&s, "GET", "/v1/maps/u/data",
                  ((const char *const[]){stale, NULL}), NULL, 0, 412,
                  "precondition_failed");
    d = itest_get_data(&s, "u", &len);
    CHECK_EQ_U64(len, 4096);
    CHECK(memcmp(d, "AAAA", 4) == 0);
    free(d);
    /* If-Match takes precedence: a matching tag lets the write through. */
    {
        char etag[64], im[80];

        itest_etag(&s, "u", etag, sizeof(etag));
        snprintf(im, sizeof(im), "If-Match: %s", etag);
        itest_request(&s, "PUT", "/v1/maps/u/data",
                      (const char *const[]){stale, im, NULL}, "CCCC", 4, &r);
        CHECK_EQ_U64(r.status, 204);
        itest_resp_free(&r);
    }
    itest_cleanup(&s);
}

/* lftp's "put -c" resumes with Range where Content-Range belongs; the body
 * was written at offset 0 over the mapping's first bytes. */
TEST(put_with_range_is_refused)
{
    struct itest_server s = {0};
    char pat[4096];

    itest_start(&s, NULL);
    itest_create_filled(&s, "p", pat, sizeof(pat), 7);
    ITEST_PROBLEM(&s, "PUT", "/v1/maps/p/data",
                  ((const char *const[]){"Range: bytes=1000-1009/4096", NULL}),
                  "0123456789", 10, 400, "range_on_put");
    ITEST_PROBLEM(&s, "PUT", "/v1/maps/p/data?offset=1000",
                  ((const char *const[]){"Range: bytes=1000-", NULL}),
                  "0123456789", 10, 400, "range_on_put");
    itest_expect_data(&s, "p", pat, sizeof(pat));
    itest_cleanup(&s);
}

static void expect_size_mismatch(struct itest_resp *r)
{
    json_t *j;

    itest_expect_problem(r, 416, "range_not_satisfiable");
    j = itest_json(r);
    CHECK(strstr(json_string_value(json_object_get(j, "detail")),
                 "gives the size 999 but the mapping has 4096 bytes"));
    json_decref(j);
    itest_resp_free(r);
}

/* A /SIZE that is not the mapping's says so; the write is not "outside". */
TEST(size_mismatch_detail_is_exact)
{
    struct itest_server s = {0};
    static const char patch[] = "Content-Range: bytes 0-3/999\r\n\r\nabcd";
    struct itest_resp r;

    itest_start(&s, NULL);
    itest_create(&s, "z", "{\"size\": 4096}");
    itest_request(&s, "PUT", "/v1/maps/z/data",
                  (const char *const[]){"Content-Range: bytes 0-3/999", NULL},
                  "abcd", 4, &r);
    expect_size_mismatch(&r);
    itest_request(&s, "PATCH", "/v1/maps/z/data",
                  (const char *const[]){"Content-Type: message/byterange",
                                        NULL},
                  patch, sizeof(patch) - 1, &r);
    expect_size_mismatch(&r);
    itest_cleanup(&s);
}

TEST_MAIN()
