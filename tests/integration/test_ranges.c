/* test_ranges.c - proves the bounds of multi-range answers: overlapping and
 * adjacent ranges are coalesced, so the mapping bytes of any answer never
 * exceed the mapping's size and the whole body stays within that plus one
 * part header per range; ranges up to --max-ranges give 206 and one more
 * gives 200 with everything; and each 416 form carries
 * Content-Range: bytes *\/SIZE.
 */
#include "itest.h"

#define SIZE 10000

static void setup(struct itest_server *s, char *pat, const char *const *extra)
{
    itest_start(s, extra);
    itest_create_filled(s, "d", pat, SIZE, 3);
}

static void get(const struct itest_server *s, const char *range,
                struct itest_resp *r)
{
    char hdr[4200];

    snprintf(hdr, sizeof(hdr), "Range: %s", range);
    itest_request(s, "GET", "/v1/maps/d/data", (const char *const[]){hdr, NULL},
                  NULL, 0, r);
}

TEST(overlapping_ranges_coalesce)
{
    struct itest_server s = {0};
    struct itest_resp r;
    char pat[SIZE], buf[128];
    char range[4096];
    size_t used;

    setup(&s, pat, NULL);
    /* Overlapping and adjacent: one part, 0-199. */
    get(&s, "bytes=50-149,0-99,100-199,150-150", &r);
    CHECK_EQ_U64(r.status, 206);
    CHECK_EQ_STR(itest_header(&r, "Content-Range", buf, sizeof(buf)),
                 "bytes 0-199/10000");
    CHECK_EQ_U64(r.len, 200);
    CHECK_MEM(r.body, pat, 200);
    itest_resp_free(&r);

    /* 64 copies of the whole mapping (the default cap): one 10000-byte
     * answer, not 640000 bytes. */
    used = (size_t)snprintf(range, sizeof(range), "bytes=0-");
    for (int i = 1; i < 64; i++)
        used += (size_t)snprintf(range + used, sizeof(range) - used, ",-%d",
                                 SIZE);
    get(&s, range, &r);
    CHECK_EQ_U64(r.status, 206);
    CHECK_EQ_U64(r.len, SIZE);
    itest_resp_free(&r);

    /* 64 disjoint one-byte ranges: 64 bytes of data plus one part header
     * (at most ~200 bytes with the boundary) each. */
    used = (size_t)snprintf(range, sizeof(range), "bytes=0-0");
    for (int i = 1; i < 64; i++)
        used += (size_t)snprintf(range + used, sizeof(range) - used,
                                 ",%d-%d", i * 100, i * 100);
    get(&s, range, &r);
    CHECK_EQ_U64(r.status, 206);
    CHECK(r.len >= 64);
    CHECK(r.len <= 64 + 64 * 200 + 200);
    itest_resp_free(&r);
    itest_cleanup(&s);
}

TEST(max_ranges_boundary)
{
    struct itest_server s = {0};
    struct itest_resp r;
    char pat[SIZE], buf[128];
    static const char *const extra[] = {"--max-ranges", "3", NULL};

    setup(&s, pat, extra);
    get(&s, "bytes=0-1,10-11,20-21", &r);
    CHECK_EQ_U64(r.status, 206);
    CHECK(itest_header(&r, "Content-Type", buf, sizeof(buf)) != NULL);
    CHECK(strncmp(buf, "multipart/byteranges; boundary=", 31) == 0);
    itest_resp_free(&r);
    get(&s, "bytes=0-1,10-11,20-21,30-31", &r);
    CHECK_EQ_U64(r.status, 200);
    CHECK_EQ_U64(r.len, SIZE);
    itest_resp_free(&r);
    itest_cleanup(&s);
}

TEST(unsatisfiable_forms)
{
    struct itest_server s = {0};
    struct itest_resp r;
    char pat[SIZE], buf[128];
    static const char *const forms[] = {
        "bytes=10000-", "bytes=10000-10005", "bytes=-0",
        "bytes=20000-30000, 10000-", "BYTES=99999-",
    };

    setup(&s, pat, NULL);
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        get(&s, forms[i], &r);
        if (r.status != 416)
            TEST_FAIL("%s: status %ld, want 416", forms[i], r.status);
        itest_expect_problem(&r, 416, "range_not_satisfiable");
        CHECK_EQ_STR(itest_header(&r, "Content-Range", buf, sizeof(buf)),
                     "bytes */10000");
        itest_resp_free(&r);
    }
    /* Malformed is ignored, not 416. */
    get(&s, "bytes=5-3", &r);
    CHECK_EQ_U64(r.status, 200);
    itest_resp_free(&r);
    itest_cleanup(&s);
}

TEST_MAIN()
