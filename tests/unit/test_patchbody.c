/* test_patchbody.c - the byte-range PATCH body parsers, good and bad.
 *
 * message/byterange and multipart/byteranges bodies and the Content-Type
 * that names them: the well-formed ones give exactly the ranges and bytes
 * they carry (also when the boundary occurs inside the bytes), and every
 * malformed one is refused with the right kind of failure, never read as
 * something else.
 */
#include "api/api_parse.h"
#include "check.h"

static enum api_patch_result br(const char *s, struct api_patch_part *p)
{
    return api_byterange_parse(s, strlen(s), p);
}

TEST(byterange_good)
{
    struct api_patch_part p;

    CHECK(br("Content-Range: bytes 2-4/*\r\n\r\nabc", &p) == API_PATCH_OK);
    CHECK_EQ_U64(p.first, 2);
    CHECK_EQ_U64(p.last, 4);
    CHECK(!p.has_total);
    CHECK_EQ_U64(p.data_len, 3);
    CHECK_MEM(p.data, "abc", 3);

    /* Bare LF lines, case-insensitive names, Content-Type ignored, a
     * matching Content-Length, a total. */
    CHECK(br("content-range:bytes 0-0/10\nContent-Type: text/plain\n"
             "Content-Length: 1\n\nZ",
             &p) == API_PATCH_OK);
    CHECK(p.has_total);
    CHECK_EQ_U64(p.total, 10);
    CHECK_EQ_U64(p.data_len, 1);
    CHECK(p.data[0] == 'Z');

    /* The bytes may hold anything, NULs and CRLFs included. */
    static const char bin[] = "Content-Range: bytes 0-3/*\r\n\r\n\0\r\n\0";
    CHECK(api_byterange_parse(bin, sizeof(bin) - 1, &p) == API_PATCH_OK);
    CHECK_EQ_U64(p.data_len, 4);
}

TEST(byterange_bad)
{
    static const char *const malformed[] = {
        "",
        "\r\n\r\nabc",                              /* no Content-Range */
        "Content-Range: bytes 0-2/*\r\nabc",        /* no blank line */
        "Content-Range: bytes 0-2/*",               /* no body at all */
        "Content-Range: bytes 2-0/*\r\n\r\nabc",    /* reversed */
        "Content-Range: bytes 0-2/2\r\n\r\nabc",    /* last >= total */
        "Content-Range: items 0-2/*\r\n\r\nabc",    /* other unit */
        "Content-Range: bytes -2/*\r\n\r\nabc",     /* suffix form */
        "Content-Range: bytes 0-2/*\r\nContent-Range: bytes 0-2/*\r\n\r\nabc",
        "Content-Encoding: gzip\r\nContent-Range: bytes 0-2/*\r\n\r\nabc",
        "Content-Range bytes 0-2/*\r\n\r\nabc",     /* no colon */
        ": x\r\nContent-Range: bytes 0-2/*\r\n\r\nabc", /* empty name */
        "Content-Range: bytes 0-2/*\r\nContent-Length: -3\r\n\r\nabc",
        "Content-Range: bytes 0-18446744073709551616/*\r\n\r\nabc",
    };
    static const char *const length[] = {
        "Content-Range: bytes 0-2/*\r\n\r\nab",   /* short */
        "Content-Range: bytes 0-2/*\r\n\r\nabcd", /* long */
        "Content-Range: bytes 0-2/*\r\n\r\n",
        "Content-Range: bytes 0-2/*\r\nContent-Length: 4\r\n\r\nabc",
        "Content-Range: bytes 0-18446744073709551615/*\r\n\r\nabc",
    };
    struct api_patch_part p;

    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        if (br(malformed[i], &p) != API_PATCH_MALFORMED)
            TEST_FAIL("not refused as malformed: \"%s\"", malformed[i]);
    }
    for (size_t i = 0; i < sizeof(length) / sizeof(length[0]); i++) {
        if (br(length[i], &p) != API_PATCH_LENGTH)
            TEST_FAIL("not refused as a length mismatch: \"%s\"", length[i]);
    }
}

static enum api_patch_result mp(const char *s, struct api_patch_part *p,
                                size_t max, size_t *n)
{
    return api_multipart_parse(s, strlen(s), "XyZ", p, max, n);
}

TEST(multipart_good)
{
    struct api_patch_part p[4];
    size_t n = 0;

    CHECK(mp("preamble line\r\n"
             "--XyZ\r\nContent-Range: bytes 0-2/*\r\n\r\nabc\r\n"
             "--XyZ  \r\nContent-Type: application/octet-stream\r\n"
             "Content-Range: bytes 10-11/100\r\n\r\nde\r\n"
             "--XyZ--\r\nepilogue",
             p, 4, &n) == API_PATCH_OK);
    CHECK_EQ_U64(n, 2);
    CHECK_EQ_U64(p[0].first, 0);
    CHECK_EQ_U64(p[0].data_len, 3);
    CHECK_MEM(p[0].data, "abc", 3);
    CHECK_EQ_U64(p[1].first, 10);
    CHECK_EQ_U64(p[1].total, 100);
    CHECK_MEM(p[1].data, "de", 2);

    /* The boundary inside a part's bytes is just bytes: the count from
     * Content-Range decides where the part ends. */
    CHECK(mp("--XyZ\nContent-Range: bytes 0-9/*\n\n\r\n--XyZ--\r\n--XyZ--",
             p, 4, &n) == API_PATCH_OK);
    CHECK_EQ_U64(n, 1);
    CHECK_EQ_U64(p[0].data_len, 10);
    CHECK_MEM(p[0].data, "\r\n--XyZ--\r", 10);
}

TEST(multipart_bad)
{
    static const char *const malformed[] = {
        "",
        "no delimiter at all\r\n",
        "--XyZ--\r\n",                      /* no parts */
        "--XyZ\r\n\r\nabc\r\n--XyZ--",      /* part without Content-Range */
        "--XyZx\r\nContent-Range: bytes 0-2/*\r\n\r\nabc\r\n--XyZ--",
        "--XyZ\r\nContent-Range: bytes 0-2/*\r\nabc\r\n--XyZ--",
        "--XyZ\r\nContent-Range: bytes 0-2/*\r\nContent-Range: bytes 0-2/*"
        "\r\n\r\nabc\r\n--XyZ--",
    };
    static const char *const length[] = {
        /* Short: "ab\r" plus a bare LF would be a fine 3-byte part, so
         * the short case asks for 4 bytes. */
        "--XyZ\r\nContent-Range: bytes 0-3/*\r\n\r\nab\r\n--XyZ--",
        "--XyZ\r\nContent-Range: bytes 0-2/*\r\n\r\nabcd\r\n--XyZ--",
        "--XyZ\r\nContent-Range: bytes 0-2/*\r\n\r\nabc--XyZ--",
        "--XyZ\r\nContent-Range: bytes 0-2/*\r\n\r\nabc\r\n", /* unclosed */
        "--XyZ\r\nContent-Range: bytes 0-99/*\r\n\r\nabc\r\n--XyZ--",
    };
    struct api_patch_part p[2];
    size_t n;

    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        if (mp(malformed[i], p, 2, &n) != API_PATCH_MALFORMED)
            TEST_FAIL("multipart case %zu not refused as malformed", i);
    }
    for (size_t i = 0; i < sizeof(length) / sizeof(length[0]); i++) {
        if (mp(length[i], p, 2, &n) != API_PATCH_LENGTH)
            TEST_FAIL("multipart case %zu not refused as a length mismatch",
                      i);
    }
    /* More parts than allowed. */
    CHECK(mp("--XyZ\r\nContent-Range: bytes 0-0/*\r\n\r\na\r\n"
             "--XyZ\r\nContent-Range: bytes 1-1/*\r\n\r\nb\r\n"
             "--XyZ\r\nContent-Range: bytes 2-2/*\r\n\r\nc\r\n--XyZ--",
             p, 2, &n) == API_PATCH_TOO_MANY);
    /* No or an oversized boundary. */
    CHECK(api_multipart_parse("--\r\n", 4, "", p, 2, &n) ==
          API_PATCH_MALFORMED);
    CHECK(api_multipart_parse("x", 1, NULL, p, 2, &n) == API_PATCH_MALFORMED);
}

TEST(patch_type)
{
    char b[72];

    CHECK(api_patch_type_parse("message/byterange", b, sizeof(b)) ==
          API_PATCH_TYPE_BYTERANGE);
    CHECK(api_patch_type_parse(" Message/ByteRange ; x=y", b, sizeof(b)) ==
          API_PATCH_TYPE_BYTERANGE);
    CHECK(api_patch_type_parse("multipart/byteranges; boundary=abc", b,
                               sizeof(b)) == API_PATCH_TYPE_MULTIPART);
    CHECK_EQ_STR(b, "abc");
    CHECK(api_patch_type_parse("multipart/byteranges;charset=x; "
                               "BOUNDARY=\"a b:c\"",
                               b, sizeof(b)) == API_PATCH_TYPE_MULTIPART);
    CHECK_EQ_STR(b, "a b:c");

    static const char *const bad[] = {
        NULL,
        "",
        "application/octet-stream",
        "application/json",
        "message/byterangex",
        "multipart/byteranges",               /* no boundary */
        "multipart/byteranges; boundary=",    /* empty */
        "multipart/byteranges; boundary=\"\"",
        "multipart/byteranges; boundary=\"abc", /* unterminated */
        "multipart/byteranges; boundary=\"a\\b\"",
        "multipart/byteranges; boundary=a; boundary=b",
        "multipart/byteranges; boundary",
        "multipart/byteranges; boundary="
        "12345678901234567890123456789012345678901234567890123456789012345678901",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (api_patch_type_parse(bad[i], b, sizeof(b)) !=
            API_PATCH_TYPE_UNKNOWN)
            TEST_FAIL("accepted \"%s\"", bad[i] ? bad[i] : "(null)");
    }
    /* A boundary that does not fit the caller's buffer. */
    CHECK(api_patch_type_parse("multipart/byteranges; boundary=abcdef", b,
                               4) == API_PATCH_TYPE_UNKNOWN);
}

TEST_MAIN()
