/* test_sparse.c - proves extents and zeroing on the real server.
 *
 * A 64 GiB sparse file mapping written at three far offsets lists exactly
 * those three pages, whole and page by page through "next"; a memory
 * mapping lists the page its write touched. Zeroing with deallocate frees
 * the blocks of a sparse mapping (st_blocks of its file drops by the range)
 * and the range reads as zeros, the bytes around it kept, the ETag new and
 * the range gone from the extents; a commit mapping asked the same keeps
 * its blocks (st_blocks unchanged, "deallocated": false) and reads zeros.
 * Zeroing is a write: 403 on a read-only mapping, 412 without the lease's
 * Lease-Id, 412 for a stale If-Match, 416 out of range, 400 for a bad body;
 * extents refuse bad queries (400) and ranges outside (416).
 */
#include <sys/stat.h>

#include "itest.h"

#define GIB ((uint64_t)1 << 30)
#define PAGE 4096

/* GET path; require 200 and return its JSON. */
static json_t *get_json(const struct itest_server *s, const char *path)
{
    struct itest_resp r;
    json_t *j;

    itest_request(s, "GET", path, NULL, NULL, 0, &r);
    if (r.status != 200)
        TEST_FAIL("GET %s: %ld %s", path, r.status, r.body);
    j = itest_json(&r);
    itest_resp_free(&r);
    return j;
}

/* Require the extents array of j to be exactly want[0..2n) (offset,
 * length pairs). */
static void expect_extents(json_t *j, const uint64_t *want, size_t n)
{
    json_t *a = json_object_get(j, "extents");

    CHECK(json_is_array(a));
    if (json_array_size(a) != n) {
        char *d = json_dumps(j, 0);
        TEST_FAIL("extents: %s, want %zu", d, n);
    }
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(a, i);

        CHECK_EQ_U64(json_integer_value(json_object_get(e, "offset")),
                     want[2 * i]);
        CHECK_EQ_U64(json_integer_value(json_object_get(e, "length")),
                     want[2 * i + 1]);
    }
}

static void put_at(const struct itest_server *s, const char *name, uint64_t off,
                   const void *data, size_t len)
{
    char path[128];
    struct itest_resp r;

    snprintf(path, sizeof(path), "/v1/maps/%s/data?offset=%llu", name,
             (unsigned long long)off);
    itest_request(s, "PUT", path, NULL, data, len, &r);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);
}

TEST(extents_of_a_64gib_sparse_mapping_are_the_written_pages)
{
    struct itest_server s = {0};
    /* Three far offsets; the middle write straddles a page boundary, so
     * it covers two pages. */
    const uint64_t at[3] = {5 * GIB + 100, 32 * GIB + PAGE - 3, 64 * GIB - 10};
    const uint64_t want[6] = {5 * GIB,         PAGE, 32 * GIB, 2 * PAGE,
                              64 * GIB - PAGE, PAGE};
    char path[160];
    json_t *j;
    uint64_t after;
    size_t pages = 0;

    itest_start(&s, NULL);
    itest_create(&s, "sp",
                 "{\"size\": 68719476736, \"allocation\": \"sparse\"}");
    j = get_json(&s, "/v1/maps/sp/extents");
    expect_extents(j, NULL, 0);
    CHECK(json_is_null(json_object_get(j, "next")));
    json_decref(j);
    for (int i = 0; i < 3; i++)
        put_at(&s, "sp", at[i], "0123456789", 10);

    j = get_json(&s, "/v1/maps/sp/extents");
    expect_extents(j, want, 3);
    CHECK(json_is_null(json_object_get(j, "next")));
    json_decref(j);

    /* One extent per page, following "next". */
    snprintf(path, sizeof(path), "/v1/maps/sp/extents?limit=1");
    for (;;) {
        json_t *next;

        CHECK(pages < 3);
        j = get_json(&s, path);
        expect_extents(j, want + 2 * pages, 1);
        pages++;
        next = json_object_get(j, "next");
        if (json_is_null(next)) {
            json_decref(j);
            break;
        }
        after = (uint64_t)json_integer_value(next);
        json_decref(j);
        snprintf(path, sizeof(path), "/v1/maps/sp/extents?limit=1&after=%llu",
                 (unsigned long long)after);
    }
    CHECK_EQ_U64(pages, 3);

    /* A narrower range is clipped to itself. */
    snprintf(path, sizeof(path), "/v1/maps/sp/extents?offset=%llu&length=%d",
             (unsigned long long)(32 * GIB + 100), PAGE);
    j = get_json(&s, path);
    {
        const uint64_t clipped[2] = {32 * GIB + 100, PAGE};

        expect_extents(j, clipped, 1);
    }
    json_decref(j);

    ITEST_PROBLEM(&s, "GET", "/v1/maps/sp/extents?limit=0", NULL, NULL, 0, 400,
                  "invalid_query");
    ITEST_PROBLEM(&s, "GET", "/v1/maps/sp/extents?limit=10001", NULL, NULL, 0,
                  400, "invalid_query");
    ITEST_PROBLEM(&s, "GET", "/v1/maps/sp/extents?offset=x", NULL, NULL, 0, 400,
                  "invalid_query");
    ITEST_PROBLEM(&s, "GET", "/v1/maps/sp/extents?offset=10&after=5", NULL,
                  NULL, 0, 400, "invalid_query");
    ITEST_PROBLEM(&s, "GET", "/v1/maps/sp/extents?offset=68719476736&length=1",
                  NULL, NULL, 0, 416, "range_not_satisfiable");
    ITEST_PROBLEM(&s, "GET", "/v1/maps/nope/extents", NULL, NULL, 0, 404,
                  "not_found");

    /* A memory mapping reports the pages that hold data. */
    itest_create(&s, "mem",
                 "{\"size\": 1048576, \"backing\": \"memory\", "
                 "\"allocation\": \"sparse\"}");
    put_at(&s, "mem", 300000, "x", 1);
    j = get_json(&s, "/v1/maps/mem/extents");
    {
        const uint64_t m[2] = {300000 / PAGE * PAGE, PAGE};

        expect_extents(j, m, 1);
    }
    json_decref(j);
    itest_cleanup(&s);
}

/* 512-byte blocks of the backing file of name in s's data directory. */
static uint64_t blocks(const struct itest_server *s, const char *name)
{
    char path[512];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", s->dir, name);
    CHECK(stat(path, &st) == 0);
    return (uint64_t)st.st_blocks;
}

/* POST .../zero with body; require status; the JSON answer when 200. */
static json_t *zero(const struct itest_server *s, const char *name,
                    const char *body, const char *const hdrs[], long status,
                    const char *code)
{
    char path[128];
    struct itest_resp r;
    json_t *j = NULL;

    snprintf(path, sizeof(path), "/v1/maps/%s/zero", name);
    itest_request(s, "POST", path, hdrs, body, strlen(body), &r);
    if (code != NULL) {
        itest_expect_problem(&r, status, code);
    } else {
        if (r.status != status)
            TEST_FAIL("zero %s: %ld %s", body, r.status, r.body);
        j = itest_json(&r);
    }
    itest_resp_free(&r);
    return j;
}

TEST(zero_with_deallocate_frees_blocks_and_reads_zeros)
{
    enum { SIZE = 8 << 20, DATA = 4 << 20 };
    struct itest_server s = {0};
    char *pat = calloc(1, SIZE);
    char etag1[128], etag2[128];
    uint64_t before, after;
    json_t *j;

    CHECK(pat != NULL);
    itest_start(&s, NULL);
    itest_create(&s, "sp", "{\"size\": 8388608, \"allocation\": \"sparse\"}");
    itest_pattern(pat, DATA, 5);
    put_at(&s, "sp", 0, pat, DATA);
    /* The blocks are counted once the data is on disk. */
    {
        struct itest_resp r;

        itest_request(&s, "POST", "/v1/maps/sp/flush", NULL, NULL, 0, &r);
        CHECK_EQ_U64(r.status, 200);
        itest_resp_free(&r);
    }
    before = blocks(&s, "sp");
    CHECK(before >= DATA / 512);
    itest_etag(&s, "sp", etag1, sizeof(etag1));

    j = zero(&s, "sp",
             "{\"offset\": 1048576, \"length\": 2097152, \"deallocate\": true}",
             NULL, 200, NULL);
    CHECK_EQ_U64(json_integer_value(json_object_get(j, "zeroed")), 2097152);
    CHECK(json_is_true(json_object_get(j, "deallocated")));
    json_decref(j);
    after = blocks(&s, "sp");
    if (before - after < 2097152 / 512)
        TEST_FAIL("st_blocks %llu -> %llu: not 2 MiB freed",
                  (unsigned long long)before, (unsigned long long)after);
    memset(pat + 1048576, 0, 2097152);
    itest_expect_data(&s, "sp", pat, SIZE);
    CHECK(strcmp(itest_etag(&s, "sp", etag2, sizeof(etag2)), etag1) != 0);
    j = get_json(&s, "/v1/maps/sp/extents");
    {
        const uint64_t want[4] = {0, 1048576, 3145728, 1048576};

        expect_extents(j, want, 2);
    }
    json_decref(j);

    /* Without deallocate the range reads as zeros all the same. */
    j = zero(&s, "sp", "{\"offset\": 10, \"length\": 20}", NULL, 200, NULL);
    CHECK(json_is_false(json_object_get(j, "deallocated")));
    json_decref(j);
    memset(pat + 10, 0, 20);
    itest_expect_data(&s, "sp", pat, SIZE);
    free(pat);
    itest_cleanup(&s);
}

TEST(a_commit_mapping_keeps_its_blocks)
{
    enum { SIZE = 4 << 20 };
    struct itest_server s = {0};
    char *pat = malloc(SIZE);
    uint64_t before;
    json_t *j;

    CHECK(pat != NULL);
    itest_start(&s, NULL);
    itest_create_filled(&s, "c", pat, SIZE, 9);
    before = blocks(&s, "c");
    CHECK(before >= SIZE / 512);
    j = zero(&s, "c",
             "{\"offset\": 0, \"length\": 4194304, \"deallocate\": true}", NULL,
             200, NULL);
    CHECK(json_is_false(json_object_get(j, "deallocated")));
    json_decref(j);
    CHECK_EQ_U64(blocks(&s, "c"), before);
    memset(pat, 0, SIZE);
    itest_expect_data(&s, "c", pat, SIZE);
    free(pat);
    itest_cleanup(&s);
}

TEST(zero_is_held_to_the_rules_of_a_write)
{
    struct itest_server s = {0};
    char pat[8192];
    char stale[160];
    const char *const im[] = {stale, NULL};
    const char *const lid[] = {"Lease-Id: w1", NULL};
    static const char body[] = "{\"offset\": 0, \"length\": 100}";
    json_t *j;

    itest_start(&s, NULL);
    itest_create_filled(&s, "d", pat, sizeof(pat), 1);
    itest_create(&s, "ro", "{\"file\": \"d\", \"protection\": \"readonly\"}");
    zero(&s, "ro", body, NULL, 403, "read_only");
    zero(&s, "d", "{\"offset\": 8000, \"length\": 200}", NULL, 416,
         "range_not_satisfiable");
    zero(&s, "d", "{\"offset\": 0}", NULL, 400, "invalid_field");
    zero(&s, "d", "{\"offset\": 0, \"length\": 1, \"x\": 1}", NULL, 400,
         "invalid_field");
    zero(&s, "d", "{\"offset\": -1, \"length\": 1}", NULL, 400,
         "invalid_field");
    zero(&s, "nope", body, NULL, 404, "not_found");
    snprintf(stale, sizeof(stale), "If-Match: ");
    itest_etag(&s, "d", stale + strlen(stale), sizeof(stale) - strlen(stale));
    {
        /* A write moves the ETag on: the tag in stale is old now. */
        put_at(&s, "d", 0, "Z", 1);
        pat[0] = 'Z';
    }
    zero(&s, "d", body, im, 412, "precondition_failed");
    itest_expect_data(&s, "d", pat, sizeof(pat));

    /* Leased: only the holder zeroes. */
    {
        struct itest_resp r;
        static const char acq[] = "{\"action\": \"acquire\", \"duration\": 60, "
                                  "\"proposed_id\": \"w1\"}";

        itest_request(&s, "POST", "/v1/maps/d/lease", NULL, acq,
                      sizeof(acq) - 1, &r);
        CHECK_EQ_U64(r.status, 201);
        itest_resp_free(&r);
    }
    zero(&s, "d", body, NULL, 412, "lease_id_missing");
    itest_expect_data(&s, "d", pat, sizeof(pat));
    j = zero(&s, "d", body, lid, 200, NULL);
    json_decref(j);
    memset(pat, 0, 100);
    itest_expect_data(&s, "d", pat, sizeof(pat));
    itest_cleanup(&s);
}

TEST_MAIN()
