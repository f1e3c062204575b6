/* test_parse.c - the client-input parsers of api_parse.h, good and bad.
 *
 * Every parser gets its negative cases beside the positive ones: signs,
 * blanks, overflow at 2^64, empty input and trailing garbage must all be
 * refused, never read as something else.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api/api_parse.h"
#include "check.h"

#define U64_MAX_STR "18446744073709551615"
#define U64_OVER_STR "18446744073709551616"

TEST(u64_accepts_plain_digits)
{
    uint64_t v = 7;

    CHECK(api_parse_u64("0", &v));
    CHECK_EQ_U64(v, 0);
    CHECK(api_parse_u64("42", &v));
    CHECK_EQ_U64(v, 42);
    CHECK(api_parse_u64("000123", &v));
    CHECK_EQ_U64(v, 123);
    CHECK(api_parse_u64(U64_MAX_STR, &v));
    CHECK_EQ_U64(v, UINT64_MAX);
    CHECK(api_parse_u64n("12345", 3, &v));
    CHECK_EQ_U64(v, 123);
}

TEST(u64_rejects_everything_else)
{
    static const char *const bad[] = {
        "",
        " 1",
        "1 ",
        "+1",
        "-1",
        "-0",
        "0x10",
        "1e3",
        "1.0",
        "12a",
        "a12",
        "\t1",
        U64_OVER_STR,
        "99999999999999999999",
        "184467440737095516150",
    };
    uint64_t v = 7;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (api_parse_u64(bad[i], &v))
            TEST_FAIL("api_parse_u64 accepted \"%s\"", bad[i]);
    }
    CHECK_EQ_U64(v, 7); /* untouched on failure */
    CHECK(!api_parse_u64(NULL, &v));
    CHECK(!api_parse_u64n("123", 0, &v));
    CHECK(!api_parse_u64n("1-3", 3, &v));
}

TEST(size_units)
{
    uint64_t v = 0;

    CHECK(api_parse_size("4096", &v));
    CHECK_EQ_U64(v, 4096);
    CHECK(api_parse_size("10B", &v));
    CHECK_EQ_U64(v, 10);
    CHECK(api_parse_size("64KiB", &v));
    CHECK_EQ_U64(v, 65536);
    CHECK(api_parse_size("64k", &v));
    CHECK_EQ_U64(v, 65536);
    CHECK(api_parse_size("1MiB", &v));
    CHECK_EQ_U64(v, 1048576);
    CHECK(api_parse_size("1mb", &v));
    CHECK_EQ_U64(v, 1048576);
    CHECK(api_parse_size("4GiB", &v));
    CHECK_EQ_U64(v, 4ull << 30);
    CHECK(api_parse_size("2T", &v));
    CHECK_EQ_U64(v, 2ull << 40);
    CHECK(api_parse_size("16777215TiB", &v));
    CHECK_EQ_U64(v, 16777215ull << 40);
}

TEST(size_rejects)
{
    static const char *const bad[] = {
        "",           "KiB", "1 KiB", " 1K",         "1K ",
        "-1K",        "+1K", "1.5G",  "1KiBB",       "1Ki",
        "1X",         "1PB", "0x1K",  "16777216TiB", "18014398509481984K",
        U64_OVER_STR,
    };
    uint64_t v = 3;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (api_parse_size(bad[i], &v))
            TEST_FAIL("api_parse_size accepted \"%s\"", bad[i]);
    }
    CHECK_EQ_U64(v, 3);
    CHECK(!api_parse_size(NULL, &v));
}

/* Parse hdr against size with room for max ranges. */
static enum api_range_result rp(const char *hdr, uint64_t size, size_t max,
                                struct api_range *r, size_t *n)
{
    return api_range_parse(hdr, size, r, max, n);
}

TEST(range_single_forms)
{
    struct api_range r[8];
    size_t n = 99;

    CHECK(rp("bytes=0-9", 100, 8, r, &n) == API_RANGE_OK);
    CHECK_EQ_U64(n, 1);
    CHECK_EQ_U64(r[0].first, 0);
    CHECK_EQ_U64(r[0].last, 9);

    CHECK(rp("bytes=90-", 100, 8, r, &n) == API_RANGE_OK);
    CHECK_EQ_U64(r[0].first, 90);
    CHECK_EQ_U64(r[0].last, 99);

    CHECK(rp("bytes=-10", 100, 8, r, &n) == API_RANGE_OK);
    CHECK_EQ_U64(r[0].first, 90);
    CHECK_EQ_U64(r[0].last, 99);

    /* A suffix longer than the representation means all of it. */
    CHECK(rp("bytes=-500", 100, 8, r, &n) == API_RANGE_OK);
    CHECK_EQ_U64(r[0].first, 0);
    CHECK_EQ_U64(r[0].last, 99);

    /* A last position past the end is clamped. */
    CHECK(rp("bytes=50-1000", 100, 8, r, &n) == API_RANGE_OK);
    CHECK_EQ_U64(r[0].first, 50);
    CHECK_EQ_U64(r[0].last, 99);
    CHECK(rp("bytes=0-" U64_MAX_STR, 100, 8, r, &n) == API_RANGE_OK);
    CHECK_EQ_U64(r[0].last, 99);

    CHECK(rp("bytes=99-99", 100, 8, r, &n) == API_RANGE_OK);
    CHECK_EQ_U64(r[0].first, 99);
    CHECK_EQ_U64(r[0].last, 99);
    CHECK(rp("bytes=5-5", 100, 8, r, &n) == API_RANGE_OK);
}

TEST(range_unit_and_whitespace)
{
    struct api_range r[8];
    size_t n = 0;

    CHECK(rp("BYTES = 0-1 , 3-4", 100, 8, r, &n) == API_RANGE_OK);
    CHECK_EQ_U64(n, 2);
    CHECK_EQ_U64(r[0].first, 0);
    CHECK_EQ_U64(r[0].last, 1);
    CHECK_EQ_U64(r[1].first, 3);
    CHECK_EQ_U64(r[1].last, 4);
    CHECK(rp("Bytes=0-1", 100, 8, r, &n) == API_RANGE_OK);
    CHECK(rp(" bytes=0-1\t", 100, 8, r, &n) == API_RANGE_OK);
    /* Empty list elements are accepted and ignored (RFC 9110 5.6.1). */
    CHECK(rp("bytes=,0-1,,2-3,", 100, 8, r, &n) == API_RANGE_OK);
    CHECK_EQ_U64(n, 2);
}

TEST(range_malformed_is_ignored)
{
    static const char *const bad[] = {
        "",
        "bytes",
        "bytes=",
        "bytes= ",
        "bytes=,",
        "bytes=5-3", /* last before first: invalid */
        "bytes=-",
        "bytes=--5",
        "bytes=1--5",
        "bytes=+1-5",
        "bytes=1-+5",
        "bytes=-+5",
        "bytes=0 -1",
        "bytes=0- 1",
        "bytes=0-1;",
        "bytes=0-1 x",
        "bytes=0-1,x",
        "bytes=a-1",
        "bytes=0x1-2",
        "bytes=1.5-2",
        "bytes 0-1",
        "bytes:0-1",
        "items=0-1",
        "bytesx=0-1",
        "=0-1",
        "bytes=" U64_OVER_STR "-",
        "bytes=0-" U64_OVER_STR,
        "bytes=-" U64_OVER_STR,
        "bytes=0-1,5-3", /* one bad spec spoils the header */
    };
    struct api_range r[8];
    size_t n = 42;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum api_range_result res = rp(bad[i], 100, 8, r, &n);

        if (res != API_RANGE_IGNORE)
            TEST_FAIL("\"%s\" gave %d, not IGNORE", bad[i], (int)res);
        CHECK_EQ_U64(n, 0);
    }
    CHECK(api_range_parse(NULL, 100, r, 8, &n) == API_RANGE_IGNORE);
}

TEST(range_unsatisfiable)
{
    struct api_range r[8];
    size_t n = 42;

    CHECK(rp("bytes=-0", 100, 8, r, &n) == API_RANGE_UNSATISFIABLE);
    CHECK_EQ_U64(n, 0);
    CHECK(rp("bytes=100-", 100, 8, r, &n) == API_RANGE_UNSATISFIABLE);
    CHECK(rp("bytes=100-200", 100, 8, r, &n) == API_RANGE_UNSATISFIABLE);
    CHECK(rp("bytes=" U64_MAX_STR "-", 100, 8, r, &n) ==
          API_RANGE_UNSATISFIABLE);
    CHECK(rp("bytes=100-200,300-", 100, 8, r, &n) == API_RANGE_UNSATISFIABLE);
    /* Nothing is satisfiable in an empty representation. */
    CHECK(rp("bytes=0-0", 0, 8, r, &n) == API_RANGE_UNSATISFIABLE);
    CHECK(rp("bytes=-5", 0, 8, r, &n) == API_RANGE_UNSATISFIABLE);
}

TEST(range_drops_unsatisfiable_among_satisfiable)
{
    struct api_range r[8];
    size_t n = 0;

    CHECK(rp("bytes=200-300,0-0,-0,150-", 100, 8, r, &n) == API_RANGE_OK);
    CHECK_EQ_U64(n, 1);
    CHECK_EQ_U64(r[0].first, 0);
    CHECK_EQ_U64(r[0].last, 0);
}

TEST(range_request_order_kept)
{
    struct api_range r[8];
    size_t n = 0;

    CHECK(rp("bytes=50-59,0-9,-5", 100, 8, r, &n) == API_RANGE_OK);
    CHECK_EQ_U64(n, 3);
    CHECK_EQ_U64(r[0].first, 50);
    CHECK_EQ_U64(r[1].first, 0);
    CHECK_EQ_U64(r[2].first, 95);
}

TEST(range_too_many)
{
    struct api_range r[4];
    size_t n = 0;

    CHECK(rp("bytes=0-0,2-2,4-4,6-6", 100, 4, r, &n) == API_RANGE_OK);
    CHECK_EQ_U64(n, 4);
    CHECK(rp("bytes=0-0,2-2,4-4,6-6,8-8", 100, 4, r, &n) == API_RANGE_TOO_MANY);
    /* Unsatisfiable specs count toward the cap too. */
    CHECK(rp("bytes=0-0,200-,300-,400-,500-", 100, 4, r, &n) ==
          API_RANGE_TOO_MANY);
    /* Empty elements do not. */
    CHECK(rp("bytes=0-0,,,,,,2-2", 100, 4, r, &n) == API_RANGE_OK);
    /* A cap of zero turns ranges off. */
    CHECK(rp("bytes=0-0", 100, 0, r, &n) == API_RANGE_TOO_MANY);
    /* Malformed beats too many. */
    CHECK(rp("bytes=0-0,2-2,4-4,6-6,8-8,x", 100, 4, r, &n) == API_RANGE_IGNORE);
}

TEST(coalesce)
{
    struct api_range r[8] = {
        {50, 59}, {0, 9}, {10, 19}, {55, 70}, {90, 99}, {30, 30},
    };
    size_t n = api_ranges_coalesce(r, 6);

    CHECK_EQ_U64(n, 4);
    CHECK_EQ_U64(r[0].first, 0); /* 0-9 + adjacent 10-19 */
    CHECK_EQ_U64(r[0].last, 19);
    CHECK_EQ_U64(r[1].first, 30);
    CHECK_EQ_U64(r[1].last, 30);
    CHECK_EQ_U64(r[2].first, 50); /* 50-59 + overlapping 55-70 */
    CHECK_EQ_U64(r[2].last, 70);
    CHECK_EQ_U64(r[3].first, 90);
    CHECK_EQ_U64(r[3].last, 99);

    /* A gap of one byte keeps ranges apart. */
    struct api_range g[2] = {{0, 4}, {6, 9}};
    CHECK_EQ_U64(api_ranges_coalesce(g, 2), 2);

    /* Contained ranges vanish into their container. */
    struct api_range c[3] = {{0, 99}, {10, 20}, {99, 99}};
    CHECK_EQ_U64(api_ranges_coalesce(c, 3), 1);
    CHECK_EQ_U64(c[0].last, 99);

    /* No successor of 2^64-1: no overflow in the adjacency test. */
    struct api_range m[2] = {{UINT64_MAX - 1, UINT64_MAX}, {0, 1}};
    CHECK_EQ_U64(api_ranges_coalesce(m, 2), 2);
    CHECK_EQ_U64(m[1].last, UINT64_MAX);

    CHECK_EQ_U64(api_ranges_coalesce(r, 0), 0);
    struct api_range one[1] = {{5, 6}};
    CHECK_EQ_U64(api_ranges_coalesce(one, 1), 1);
}

TEST(content_range_good)
{
    struct api_content_range cr;

    CHECK(api_content_range_parse("bytes 0-9/*", &cr));
    CHECK_EQ_U64(cr.first, 0);
    CHECK_EQ_U64(cr.last, 9);
    CHECK(!cr.has_total);

    CHECK(api_content_range_parse("bytes 0-9/10", &cr));
    CHECK(cr.has_total);
    CHECK_EQ_U64(cr.total, 10);

    CHECK(api_content_range_parse("BYTES 5-5/100", &cr));
    CHECK_EQ_U64(cr.first, 5);
    CHECK_EQ_U64(cr.last, 5);

    CHECK(api_content_range_parse(" bytes  1-2/3 ", &cr));
    CHECK(api_content_range_parse("bytes 0-" U64_MAX_STR "/*", &cr));
    CHECK_EQ_U64(cr.last, UINT64_MAX);
}

TEST(content_range_bad)
{
    static const char *const bad[] = {
        "",
        "bytes",
        "bytes ",
        "0-9/10", /* missing unit */
        "bytes=0-9/10",
        "bytes0-9/10",
        "items 0-9/10",
        "bytes 9-0/10",  /* last before first */
        "bytes 0-10/10", /* last at the total */
        "bytes 0-0/0",
        "bytes 0-9",
        "bytes 0-9/",
        "bytes 0-/10",
        "bytes -9/10",
        "bytes */10",    /* unsatisfied-range means nothing for a write */
        "bytes 0-9/10x", /* trailing garbage */
        "bytes 0-9/*x",
        "bytes 0-9/**",
        "bytes 0 -9/10",
        "bytes +0-9/10",
        "bytes 0-9/-10",
        "bytes 0-9/" U64_OVER_STR,
        "bytes " U64_OVER_STR "-1/*",
    };
    struct api_content_range cr = {1, 2, true, 3};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (api_content_range_parse(bad[i], &cr))
            TEST_FAIL("accepted Content-Range \"%s\"", bad[i]);
    }
    CHECK_EQ_U64(cr.first, 1); /* untouched on failure */
    CHECK(!api_content_range_parse(NULL, &cr));
}

static bool dec(const char *seg, char *out, size_t size)
{
    return api_segment_decode(seg, strlen(seg), out, size);
}

TEST(segment_decode_good)
{
    char out[16];

    CHECK(dec("plain", out, sizeof(out)));
    CHECK_EQ_STR(out, "plain");
    CHECK(dec("a%2Db", out, sizeof(out)));
    CHECK_EQ_STR(out, "a-b");
    CHECK(dec("%41%62%63", out, sizeof(out)));
    CHECK_EQ_STR(out, "Abc");
    CHECK(dec("%7e%7E", out, sizeof(out)));
    CHECK_EQ_STR(out, "~~");
    CHECK(dec("a+b", out, sizeof(out))); /* '+' is literal in a path */
    CHECK_EQ_STR(out, "a+b");
    CHECK(dec("", out, sizeof(out)));
    CHECK_EQ_STR(out, "");
    /* Only len bytes count. */
    CHECK(api_segment_decode("abc/def", 3, out, sizeof(out)));
    CHECK_EQ_STR(out, "abc");
}

TEST(segment_decode_bad)
{
    static const char *const bad[] = {
        "a%2Fb", "a%2fb", "%00", "a%00b", "%G1", "%1G",
        "%4",    "%",     "a%",  "%%41",  "a/b",
    };
    char out[16];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (dec(bad[i], out, sizeof(out)))
            TEST_FAIL("decoded \"%s\"", bad[i]);
    }
}

TEST(segment_decode_buffer_size)
{
    char out[4];

    CHECK(dec("abc", out, 4)); /* three bytes and the terminator */
    CHECK_EQ_STR(out, "abc");
    CHECK(!dec("abcd", out, 4));
    CHECK(dec("%41%42%43", out, 4)); /* the decoded length is what counts */
    CHECK(!dec("%41%42%43%44", out, 4));
    CHECK(!dec("", out, 0));
    CHECK(dec("", out, 1));
    CHECK(!api_segment_decode(NULL, 0, out, 4));
}

/* ETags: what precond.c prints is "\"%08x-%x-%x\"" of (nonce, id, gen). */
#define NONCE 0x00c0ffeeu

TEST(etag_parses_our_exact_form)
{
    struct api_etag t;

    CHECK(api_etag_parse("\"00c0ffee-0-0\"", 14, NONCE, &t));
    CHECK_EQ_U64(t.id, 0);
    CHECK_EQ_U64(t.gen, 0);
    CHECK(api_etag_parse("\"00c0ffee-1f-ffffffffffffffff\"", 30, NONCE, &t));
    CHECK_EQ_U64(t.id, 0x1f);
    CHECK_EQ_U64(t.gen, UINT64_MAX);
}

TEST(etag_rejects_every_other_form)
{
    /* Each could never equal a tag we print, byte for byte. */
    static const char *const bad[] = {
        "\"00c0ffef-1-2\"",          /* another nonce (another boot) */
        "\"c0ffee-1-2\"",            /* nonce not 8 digits */
        "\"00C0FFEE-1-2\"",          /* upper case */
        "\"00c0ffee-01-2\"",         /* leading zero */
        "\"00c0ffee-1-02\"",         /* leading zero */
        "\"00c0ffee-1-A\"",          /* upper case */
        "\"00c0ffee-1\"",            /* no generation */
        "\"00c0ffee--2\"",           /* empty id */
        "\"00c0ffee-1-\"",           /* empty generation */
        "\"00c0ffee-1-2-3\"",        /* one part too many */
        "\"00c0ffee-1-10000000000000000\"", /* 2^64: 17 digits */
        "\"00c0ffee-1-2",            /* unterminated */
        "00c0ffee-1-2",              /* unquoted */
        "W/\"00c0ffee-1-2\"",        /* weak */
        "\"00c0ffee-1-2\" ",         /* trailing blank */
        "\"00c0ffee- 1-2\"",
        "\"00c0ffee-+1-2\"",
        "",
    };
    struct api_etag t;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (api_etag_parse(bad[i], strlen(bad[i]), NONCE, &t))
            TEST_FAIL("parsed %s", bad[i]);
    }
}

TEST(etag_list_forms)
{
    struct api_etag v[4];
    size_t n = 99;

    CHECK(api_etag_list_parse("*", NONCE, false, v, 4, &n));
    CHECK(api_etag_list_parse(" \t* ", NONCE, true, v, 4, &n));
    /* "*" with anything after it matches nothing. */
    CHECK(!api_etag_list_parse("*, \"00c0ffee-1-2\"", NONCE, false, v, 4, &n));
    CHECK_EQ_U64(n, 0);
    CHECK(!api_etag_list_parse("\"x\", \"00c0ffee-1-2\" ,,\"00c0ffee-3-4\"",
                               NONCE, false, v, 4, &n));
    CHECK_EQ_U64(n, 2);
    CHECK_EQ_U64(v[0].id, 1);
    CHECK_EQ_U64(v[1].gen, 4);
    /* W/ counts for the weak comparison only. */
    CHECK(!api_etag_list_parse("W/\"00c0ffee-1-2\"", NONCE, false, v, 4, &n));
    CHECK_EQ_U64(n, 0);
    CHECK(!api_etag_list_parse("W/\"00c0ffee-1-2\"", NONCE, true, v, 4, &n));
    CHECK_EQ_U64(n, 1);
    /* More than fit: the count says how many, the room holds the first. */
    CHECK(!api_etag_list_parse("\"00c0ffee-1-1\",\"00c0ffee-1-2\","
                               "\"00c0ffee-1-3\"",
                               NONCE, false, v, 2, &n));
    CHECK_EQ_U64(n, 3);
    CHECK_EQ_U64(v[1].gen, 2);
    CHECK(!api_etag_list_parse(NULL, NONCE, false, v, 4, &n));
    CHECK_EQ_U64(n, 0);
}

TEST(etag_list_stops_at_malformed)
{
    struct api_etag v[4];
    size_t n = 99;

    /* The tags before a malformed element count, none after it. */
    static const char *const bad[] = {
        "\"00c0ffee-1-2\", junk, \"00c0ffee-3-4\"",
        "\"00c0ffee-1-2\", \"00c0ffee-3-4",
        "\"00c0ffee-1-2\" \"00c0ffee-3-4\"",
        "\"00c0ffee-1-2\", W/junk",
        "\"00c0ffee-1-2\"x",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(!api_etag_list_parse(bad[i], NONCE, true, v, 4, &n));
        if (n != 1 || v[0].id != 1)
            TEST_FAIL("%s: %zu tags", bad[i], n);
    }
    CHECK(!api_etag_list_parse("", NONCE, true, v, 4, &n));
    CHECK_EQ_U64(n, 0);
    CHECK(!api_etag_list_parse("junk", NONCE, true, v, 4, &n));
    CHECK_EQ_U64(n, 0);
}

TEST(if_range_is_one_strong_tag)
{
    struct api_etag t;

    CHECK(api_if_range_parse(" \"00c0ffee-5-6\"\t", NONCE, &t));
    CHECK_EQ_U64(t.id, 5);
    CHECK_EQ_U64(t.gen, 6);
    CHECK(!api_if_range_parse("W/\"00c0ffee-5-6\"", NONCE, &t));
    CHECK(!api_if_range_parse("\"00c0ffee-5-6\", \"00c0ffee-5-6\"", NONCE,
                              &t));
    CHECK(!api_if_range_parse("Fri, 04 Dec 2026 11:00:00 GMT", NONCE, &t));
    CHECK(!api_if_range_parse("", NONCE, &t));
    CHECK(!api_if_range_parse(NULL, NONCE, &t));
}

TEST(http_date_three_forms)
{
    int64_t t = 0;

    /* RFC 9110 section 5.6.7's example in its three forms. */
    CHECK(api_parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", &t));
    CHECK_EQ_U64(t, 784111777);
    t = 0;
    CHECK(api_parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", &t));
    CHECK_EQ_U64(t, 784111777);
    t = 0;
    CHECK(api_parse_http_date("Sun Nov  6 08:49:37 1994", &t));
    CHECK_EQ_U64(t, 784111777);
    CHECK(api_parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT", &t));
    CHECK_EQ_U64(t, 0);
    CHECK(api_parse_http_date("Tue, 29 Feb 2000 23:59:59 GMT", &t));
    CHECK_EQ_U64(t, 951868799);
    /* A two-digit year under 70 is this century's. */
    CHECK(api_parse_http_date("Friday, 04-Dec-26 00:00:00 GMT", &t));
    CHECK_EQ_U64(t, 1796342400);
    /* A leap second reads as the second before. */
    CHECK(api_parse_http_date("Sat, 31 Dec 2016 23:59:60 GMT", &t));
    CHECK_EQ_U64(t, 1483228799);
}

/* api_format_u64 writes what printf's PRIu64 writes, at the edges (0, each
 * power of ten and its neighbours, 2^64 - 1) and at 100,000 values spread
 * over the whole range. */
TEST(format_u64_matches_printf)
{
    uint64_t edge[64], x = 0x9e3779b97f4a7c15u;
    size_t n = 0;
    char got[API_U64_DEC_MAX], want[32];

    edge[n++] = 0;
    edge[n++] = UINT64_MAX;
    edge[n++] = UINT64_MAX - 1;
    for (uint64_t p = 1; n + 3 <= 64; p *= 10) {
        edge[n++] = p - 1;
        edge[n++] = p;
        edge[n++] = p + 1;
        if (p > UINT64_MAX / 10)
            break;
    }
    for (size_t i = 0; i < n + 100000; i++) {
        uint64_t v;

        if (i < n) {
            v = edge[i];
        } else {
            x ^= x << 13; /* xorshift64: every magnitude shows up */
            x ^= x >> 7;
            x ^= x << 17;
            v = x >> (x % 64);
        }
        snprintf(want, sizeof(want), "%" PRIu64, v);
        CHECK_EQ_U64(api_format_u64(v, got), strlen(want));
        CHECK_EQ_STR(got, want);
    }
}

/* The IMF-fixdate writer: known dates, the ends of the contract (years 0
 * and 9999), and a sweep over those years that must parse back to the
 * same second. Past the contract it keeps what the printf version wrote. */
TEST(http_date_format)
{
    const int64_t first = -62167219200; /* 0000-01-01T00:00:00Z */
    const int64_t last = 253402300799;  /* 9999-12-31T23:59:59Z */
    char out[API_HTTP_DATE_LEN];
    int64_t back = 0;

    api_format_http_date(784111777, out);
    CHECK_EQ_STR(out, "Sun, 06 Nov 1994 08:49:37 GMT");
    api_format_http_date(0, out);
    CHECK_EQ_STR(out, "Thu, 01 Jan 1970 00:00:00 GMT");
    api_format_http_date(951868799, out);
    CHECK_EQ_STR(out, "Tue, 29 Feb 2000 23:59:59 GMT");
    api_format_http_date(-1, out);
    CHECK_EQ_STR(out, "Wed, 31 Dec 1969 23:59:59 GMT");
    api_format_http_date(first, out);
    CHECK_EQ_STR(out, "Sat, 01 Jan 0000 00:00:00 GMT");
    api_format_http_date(last, out);
    CHECK_EQ_STR(out, "Fri, 31 Dec 9999 23:59:59 GMT");
    api_format_http_date(last + 1, out); /* year 10000: cut at 29 bytes */
    CHECK_EQ_STR(out, "Sat, 01 Jan 10000 00:00:00 GM");
    /* 7919 s is prime, so the sweep meets every second of a minute and
     * every hour; 1,000,003 steps cover the 10,000 years. */
    for (int64_t t = first; t <= last; t += (last - first) / 1000003 + 7919) {
        api_format_http_date(t, out);
        CHECK_EQ_U64(strlen(out), API_HTTP_DATE_LEN - 1);
        CHECK(api_parse_http_date(out, &back));
        CHECK_EQ_U64(back, t);
    }
}

TEST(http_date_refuses_malformed)
{
    static const char *const bad[] = {
        "", " Sun, 06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT ",
        "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Nov 1994 08:49:37 +0000",
        "sun, 06 Nov 1994 08:49:37 GMT", "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 06 nov 1994 08:49:37 GMT", "Sun, 06 Nov 94 08:49:37 GMT",
        "Sun, 06 Nov 1994 8:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 08:60:00 GMT", "Sun, 06 Nov 1994 08:49:61 GMT",
        "Sun, 31 Nov 1994 08:49:37 GMT", "Sun, 00 Nov 1994 08:49:37 GMT",
        "Mon, 29 Feb 1900 00:00:00 GMT", "Sun, 06 Nov 1994 08:49:37 GMTX",
        "Sun,06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sun Nov 6 08:49:37 1994", "Sun Nov  6 08:49:37 94",
        "Xyz, 06 Nov 1994 08:49:37 GMT", "1994-11-06T08:49:37Z", "0",
        "Sun, 06 Nov 1994 08:49:37 GMT\r\n", "Sun, -6 Nov 1994 08:49:37 GMT",
    };
    int64_t t = 42;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (api_parse_http_date(bad[i], &t))
            TEST_FAIL("accepted \"%s\"", bad[i]);
    }
    CHECK(!api_parse_http_date(NULL, &t));
    CHECK_EQ_U64(t, 42);
}

TEST(http_date_formats_and_round_trips)
{
    char buf[API_HTTP_DATE_LEN];
    int64_t t = 0;

    api_format_http_date(784111777, buf);
    CHECK_EQ_STR(buf, "Sun, 06 Nov 1994 08:49:37 GMT");
    api_format_http_date(0, buf);
    CHECK_EQ_STR(buf, "Thu, 01 Jan 1970 00:00:00 GMT");
    api_format_http_date(-1, buf);
    CHECK_EQ_STR(buf, "Wed, 31 Dec 1969 23:59:59 GMT");
    for (int64_t x = -86400LL * 800; x < 253402300800LL; x += 86399LL * 37 + 7) {
        api_format_http_date(x, buf);
        CHECK(api_parse_http_date(buf, &t));
        CHECK_EQ_U64(t, x);
    }
}


TEST(origin_good_and_normalised)
{
    char out[API_ORIGIN_MAX + 1];

    CHECK(api_origin_parse("*", out, sizeof(out)));
    CHECK_EQ_STR(out, "*");
    CHECK(api_origin_parse("https://app.example", out, sizeof(out)));
    CHECK_EQ_STR(out, "https://app.example");
    CHECK(api_origin_parse("HTTPS://App.Example:443", out, sizeof(out)));
    CHECK_EQ_STR(out, "https://app.example");
    CHECK(api_origin_parse("http://localhost:80", out, sizeof(out)));
    CHECK_EQ_STR(out, "http://localhost");
    CHECK(api_origin_parse("http://127.0.0.1:8080", out, sizeof(out)));
    CHECK_EQ_STR(out, "http://127.0.0.1:8080");
    CHECK(api_origin_parse("https://localhost:80", out, sizeof(out)));
    CHECK_EQ_STR(out, "https://localhost:80");
    CHECK(api_origin_parse("http://[::1]:3000", out, sizeof(out)));
    CHECK_EQ_STR(out, "http://[::1]:3000");
    CHECK(api_origin_parse("app+x.y-z://h", out, sizeof(out)));
}

TEST(origin_rejects)
{
    static const char *const bad[] = {
        "", "**", "null", "app.example", "https:/app.example",
        "https://", "https://app.example/", "https://app.example/x",
        "https://app.example?q", "https://app.example#f",
        "https://user@app.example", "https://app.example:",
        "https://app.example:0", "https://app.example:65536",
        "https://app.example:123456", "https://app.example:+80",
        "https://app.example:8x", "https://app example",
        "https://app.example\r\nX: y", "https://app.example, https://b",
        "1http://a", "ht tp://a", "://a", "https://[::1", "https://[]",
        "https://[::1]x", "https://[g::1]", "https://.a", "https://-a",
        "https://a_b", "https://\xc3\xa9t\xc3\xa9",
    };
    char out[API_ORIGIN_MAX + 1];
    char small[8];
    char lng[300];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (api_origin_parse(bad[i], out, sizeof(out)))
            TEST_FAIL("accepted origin '%s'", bad[i]);
    }
    CHECK(!api_origin_parse(NULL, out, sizeof(out)));
    CHECK(!api_origin_parse("https://app.example", small, sizeof(small)));
    memset(lng, 'a', sizeof(lng) - 1);
    lng[sizeof(lng) - 1] = '\0';
    memcpy(lng, "http://", 7);
    CHECK(!api_origin_parse(lng, out, sizeof(out)));
}

TEST(media_type_good)
{
    static const char *const good[] = {
        "application/octet-stream", "text/html", "text/html; charset=utf-8",
        "text/html;charset=UTF-8", "video/mp4", "image/svg+xml",
        "application/vnd.api+json", "multipart/mixed; boundary=\"a b;c\"",
        "text/plain; a=b; c=\"d\\\"e\"", "text/plain ; a=b",
    };

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (!api_media_type_valid(good[i], strlen(good[i])))
            TEST_FAIL("refused media type '%s'", good[i]);
    }
}

TEST(media_type_rejects)
{
    static const char *const bad[] = {
        "", "text", "text/", "/html", "text/html/x", "text /html",
        "text/ html", "text/html;", "text/html; charset", "text/html; =x",
        "text/html; charset=", "text/html; charset=\"x",
        "text/html; charset=\"x\\", "text/html\r\nSet-Cookie: a=b",
        "text/html\n", "text/html\r", "text/ht\tml", "text/html; a=\"\x01\"",
        "t\xc3\xa9xt/html", "text/html, text/plain", "text/html; a=b c",
        "(text)/html", "text/html;;a=b", "text/html; a=\"\xff\"",
    };
    char lng[API_MEDIA_TYPE_MAX + 2];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (api_media_type_valid(bad[i], strlen(bad[i])))
            TEST_FAIL("accepted media type '%s'", bad[i]);
    }
    /* A NUL inside the given length ends nothing: it is refused. */
    CHECK(!api_media_type_valid("text/html\0x", 11));
    CHECK(!api_media_type_valid(NULL, 3));
    memset(lng, 'a', sizeof(lng));
    lng[1] = '/';
    CHECK(api_media_type_valid(lng, API_MEDIA_TYPE_MAX));
    CHECK(!api_media_type_valid(lng, API_MEDIA_TYPE_MAX + 1));
}

/* Prefer: wait (RFC 7240): the first wait that reads as delta-seconds,
 * among other preferences and parameters, tokens or quoted values. */
TEST(prefer_wait_found)
{
    static const struct {
        const char *h;
        uint32_t want;
    } good[] = {
        {"wait=30", 30},
        {"WAIT=5", 5},
        {"wait = 7", 7},
        {"wait=\"12\"", 12},
        {"respond-async, wait=100", 100},
        {"return=minimal; foo=\"a,b\", wait=9", 9},
        {"wait=3; x=y", 3},
        {"  , ,wait=4", 4},
        {"wait=0", 0},
        {"wait=99999999999999999999", UINT32_MAX},
        {"wait=x, wait=6", 6}, /* a broken one is skipped */
        {"wait=1, wait=2", 1}, /* the first wins */
        {"handling=lenient,wait=8", 8},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        uint32_t n = 12345;

        if (!api_prefer_wait(good[i].h, strlen(good[i].h), &n) ||
            n != good[i].want)
            TEST_FAIL("\"%s\": got %u, want %u", good[i].h, n, good[i].want);
    }
}

TEST(prefer_wait_absent_or_broken)
{
    static const char *const bad[] = {
        "", "wait", "wait=", "wait=-1", "wait=+3", "wait=1.5", "wait=3x",
        "wait=\"3", "wait=\"3\\\"\"", "waiting=3", "await=3", "\"wait\"=3",
        "respond-async", "wait 3", "wait=3 4", "x=\"wait=3\"", "=3",
        "x; wait=3", /* a parameter, not a preference */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint32_t n = 0;

        if (api_prefer_wait(bad[i], strlen(bad[i]), &n))
            TEST_FAIL("\"%s\" read as wait=%u", bad[i], n);
    }
    /* The length bounds the read: "wait=3" cut to "wait=". */
    {
        uint32_t n = 0;

        CHECK(!api_prefer_wait("wait=3", 5, &n));
        CHECK(api_prefer_wait("wait=31", 6, &n) && n == 3);
    }
}

TEST_MAIN()
