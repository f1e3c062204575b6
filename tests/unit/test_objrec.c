/* test_objrec.c - the object record format: encode, parse, verify.
 *
 * A record built by api_object_encode verifies and gives back its JSON;
 * sizes are header + JSON + padding to 8; the CRC-32C matches the standard
 * check value; and every kind of damage - magic, version, flags, reserved
 * bytes, a length past the buffer, a flipped JSON or checksum byte, a
 * truncated header - is refused.
 */
#include "api/api_parse.h"
#include "check.h"

TEST(crc32c_check_value)
{
    /* The check value of CRC-32C (RFC 3720 appendix B.4 lists the same
     * polynomial; "123456789" -> 0xE3069283 is the catalogued check). */
    CHECK_EQ_U64(api_crc32c("123456789", 9), 0xe3069283u);
    CHECK_EQ_U64(api_crc32c("", 0), 0);
}

TEST(sizes)
{
    uint64_t t;

    CHECK(api_object_record_size(0, &t));
    CHECK_EQ_U64(t, 16);
    CHECK(api_object_record_size(1, &t));
    CHECK_EQ_U64(t, 24);
    CHECK(api_object_record_size(8, &t));
    CHECK_EQ_U64(t, 24);
    CHECK(api_object_record_size(9, &t));
    CHECK_EQ_U64(t, 32);
    CHECK(api_object_record_size(UINT32_MAX, &t));
    CHECK(!api_object_record_size((uint64_t)UINT32_MAX + 1, &t));
}

TEST(roundtrip)
{
    static const char json[] = "{\"a\":[1,2,3]}";
    uint8_t rec[32];
    const char *j;
    size_t jl;
    uint64_t n;

    CHECK(sizeof(json) - 1 == 13);
    CHECK(api_object_encode(json, 13, rec, sizeof(rec)));
    CHECK_MEM(rec, "MMOB\x01\x00\x00\x00\x0d\x00\x00\x00", 12);
    CHECK(rec[29] == 0 && rec[30] == 0 && rec[31] == 0); /* padding */
    CHECK(api_object_header_parse(rec, 16, &n));
    CHECK_EQ_U64(n, 13);
    CHECK(api_object_verify(rec, sizeof(rec), &j, &jl));
    CHECK_EQ_U64(jl, 13);
    CHECK_MEM(j, json, 13);
    /* Padding is optional for verify: header and JSON are enough. */
    CHECK(api_object_verify(rec, 29, &j, &jl));
    /* The output must be exactly the record's size. */
    CHECK(!api_object_encode(json, 13, rec, 31));
}

TEST(damage_is_refused)
{
    static const char json[] = "[true,null]";
    uint8_t good[32], rec[32];
    const char *j;
    size_t jl;
    uint64_t n;
    /* Bytes whose change must make the record invalid: magic, version,
     * flags, reserved, length, checksum, and the JSON itself. */
    static const size_t at[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 15, 16, 26};

    CHECK(api_object_encode(json, 11, good, sizeof(good)));
    for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
        memcpy(rec, good, sizeof(rec));
        rec[at[i]] ^= 0x40;
        if (api_object_verify(rec, sizeof(rec), &j, &jl))
            TEST_FAIL("byte %zu changed, still verified", at[i]);
    }
    /* A length that claims more than the buffer holds. */
    memcpy(rec, good, sizeof(rec));
    rec[8] = 17;
    CHECK(!api_object_verify(rec, sizeof(rec), &j, &jl));
    /* Too short to be a header at all. */
    CHECK(!api_object_header_parse(good, 15, &n));
    CHECK(!api_object_verify(good, 15, &j, &jl));
    /* All zeros (a fresh mapping) is no record. */
    memset(rec, 0, sizeof(rec));
    CHECK(!api_object_verify(rec, sizeof(rec), &j, &jl));
}

TEST_MAIN()
