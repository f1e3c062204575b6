/* test_digesthdr.c - the RFC 9530 digest fields (api/src/digesthdr.c).
 *
 * Content-Digest: sha-256 and sha-512 members decode to their bytes; other
 * algorithms are counted and skipped whatever valid value they hold; a field
 * of other algorithms only is "unsupported"; anything that breaks the RFC
 * 8941 dictionary grammar, or a known member that is not a byte sequence of
 * its digest's length, is refused whole. Want-Content-Digest picks the
 * highest weight of ours. base64 encodes the RFC 4648 test vectors.
 */
#include "api/api_parse.h"
#include "check.h"

/* sha-256 of "hello" and the sha-512 of the empty string, in base64. */
#define H256 "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="
#define E512                                                                   \
    "z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/"                                       \
    "SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg=="

TEST(content_digest_good)
{
    struct api_content_digest d;

    CHECK(api_content_digest_parse("sha-256=:" H256 ":", &d) == API_DIGEST_OK);
    CHECK(d.present[API_DIGEST_SHA256] && !d.present[API_DIGEST_SHA512]);
    CHECK(d.value[API_DIGEST_SHA256][0] == 0x2c &&
          d.value[API_DIGEST_SHA256][31] == 0x24);
    CHECK_EQ_U64(d.unknown, 0);

    CHECK(api_content_digest_parse(
              "  md5=:HUXZLQLMuI/KZ5KDcJPcOA==:, sha-512=:" E512
              ":;p=1,unixsum=30 , x=(1 \"a\" tok :AA==:);q, y=?0, z=-1.5, "
              "sha-256=:" H256 ":  ",
              &d) == API_DIGEST_OK);
    CHECK(d.present[API_DIGEST_SHA256] && d.present[API_DIGEST_SHA512]);
    CHECK(d.value[API_DIGEST_SHA512][0] == 0xcf);
    CHECK_EQ_U64(d.unknown, 5);

    /* Padding may be left off (RFC 8941 section 4.2.7). */
    CHECK(api_content_digest_parse(
              "sha-256=:LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ:", &d) ==
          API_DIGEST_OK);
    /* A repeated key keeps its last value (the first is the sha-256 of
     * the empty string). */
    CHECK(api_content_digest_parse(
              "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:, "
              "sha-256=:" H256 ":",
              &d) == API_DIGEST_OK);
    CHECK(d.value[API_DIGEST_SHA256][0] == 0x2c);
    /* One bad member refuses the field whole, good ones beside it too. */
    CHECK(api_content_digest_parse("sha-256=:AAAA:, sha-256=:" H256 ":", &d) ==
          API_DIGEST_MALFORMED);
    CHECK(api_content_digest_parse("sha-256=:" E512 ":", &d) ==
          API_DIGEST_MALFORMED);
}

TEST(content_digest_unsupported)
{
    struct api_content_digest d;

    CHECK(api_content_digest_parse("md5=:HUXZLQLMuI/KZ5KDcJPcOA==:", &d) ==
          API_DIGEST_UNSUPPORTED);
    CHECK_EQ_U64(d.unknown, 1);
    CHECK(api_content_digest_parse("sha=:AAAA:, crc32c=123, adler", &d) ==
          API_DIGEST_UNSUPPORTED);
    /* Case matters: keys are lower case, so "SHA-256" is no key at all. */
    CHECK(api_content_digest_parse("SHA-256=:" H256 ":", &d) ==
          API_DIGEST_MALFORMED);
}

TEST(content_digest_rejects)
{
    static const char *const bad[] = {
        "",
        "   ",
        "sha-256", /* boolean, not bytes */
        "sha-256=?1",
        "sha-256=\"" H256 "\"",   /* a string */
        "sha-256=" H256,          /* a token-ish thing, no colons */
        "sha-256=:" H256,         /* unterminated */
        "sha-256=:AAAA:",         /* too short */
        "sha-256=:" H256 "AAAA:", /* too long */
        "sha-256=:" H256 ":x",    /* garbage after the item */
        "sha-256=:LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=A:", /* after pad
                                                                    */
        "sha-256=:LPJN$l+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=:", /* bad char */
        "sha-256=:L:",         /* a lone 6-bit group */
        "sha-256=:AAA===:",    /* too much padding */
        "sha-256=:" H256 ":,", /* trailing comma */
        "sha-256=:" H256 ":,,md5=1",
        ", sha-256=:" H256 ":",
        "sha-256=:" H256 ": ; a", /* params must follow directly */
        "sha-256 =:" H256 ":",
        "sha-256=:" H256 ":;", /* a ';' without a key */
        "md5=\"unterminated",
        "md5=\"bad\\escape\"",
        "md5=(1 2", /* inner list unclosed */
        "md5=(1  2)x",
        "md5=(12)(3)",
        "md5=1234567890123456", /* integer of 16 digits */
        "md5=1.",               /* decimal without fraction */
        "md5=1.2345",
        "md5=?2",
        "md5=-",
        "md5=@",
        "1md5=1", /* key starts with a digit */
        "Md5=1",
        "md5=1\tx=2", /* no comma */
        "md5=\"a\x01\"",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct api_content_digest d;

        if (api_content_digest_parse(bad[i], &d) != API_DIGEST_MALFORMED)
            TEST_FAIL("accepted: [%s]", bad[i]);
        CHECK(!d.present[0] && !d.present[1] && d.unknown == 0);
    }
    {
        struct api_content_digest d;

        CHECK(api_content_digest_parse(NULL, &d) == API_DIGEST_MALFORMED);
    }
}

TEST(want_digest)
{
    enum api_digest_alg a = API_DIGEST_ALGS;

    CHECK(api_want_digest_parse("sha-256", &a) && a == API_DIGEST_SHA256);
    CHECK(api_want_digest_parse("sha-512=3, sha-256=10", &a) &&
          a == API_DIGEST_SHA256);
    CHECK(api_want_digest_parse("sha-256=1, sha-512=9", &a) &&
          a == API_DIGEST_SHA512);
    CHECK(api_want_digest_parse("md5=10, sha-512=1", &a) &&
          a == API_DIGEST_SHA512);
    CHECK(api_want_digest_parse("sha-512=5, sha-256=5", &a) &&
          a == API_DIGEST_SHA256);
    /* Nothing of ours above 0, or malformed: no digest. */
    CHECK(!api_want_digest_parse("sha-256=0", &a));
    CHECK(!api_want_digest_parse("md5=10", &a));
    CHECK(!api_want_digest_parse("sha-256=11", &a));
    CHECK(!api_want_digest_parse("sha-256=-1", &a));
    CHECK(!api_want_digest_parse("sha-256=1.5", &a));
    CHECK(!api_want_digest_parse("sha-256=:AAAA:", &a));
    CHECK(!api_want_digest_parse("sha-256=10,", &a));
    CHECK(!api_want_digest_parse("", &a));
    CHECK(!api_want_digest_parse(NULL, &a));
}

TEST(base64_vectors)
{
    /* RFC 4648 section 10. */
    static const char *const in[] = {"",     "f",     "fo",    "foo",
                                     "foob", "fooba", "foobar"};
    static const char *const out[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                      "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    char buf[16];

    for (size_t i = 0; i < 7; i++) {
        size_t n = api_base64_encode((const uint8_t *)in[i], strlen(in[i]), buf,
                                     sizeof(buf));

        CHECK_EQ_U64(n, strlen(out[i]));
        CHECK_EQ_STR(buf, out[i]);
    }
    /* Too small a buffer: nothing, not a cut string. */
    CHECK_EQ_U64(api_base64_encode((const uint8_t *)"foobar", 6, buf, 8), 0);
}

TEST_MAIN()
