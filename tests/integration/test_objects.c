/* test_objects.c - proves /v1/maps/{name}/objects/{offset} on the real
 * server: a stored JSON value comes back in its compact serialisation; the
 * answer's length and next follow the record format (16-byte header, JSON,
 * padding to 8); dry_run reports the same figures and writes nothing; a
 * record that would not fit is 416; and every kind of missing or damaged
 * record (zeros, a flipped byte, an offset past the end) is 404 no_object.
 */
#include "itest.h"

static const char *const json_hdr[] = {"Content-Type: application/json",
                                       NULL};

static void expect_placement(const struct itest_resp *r, long status,
                             uint64_t off, uint64_t len)
{
    json_t *j;

    CHECK_EQ_U64(r->status, status);
    j = itest_json(r);
    CHECK_EQ_U64(json_integer_value(json_object_get(j, "offset")), off);
    CHECK_EQ_U64(json_integer_value(json_object_get(j, "length")), len);
    CHECK_EQ_U64(json_integer_value(json_object_get(j, "next")), off + len);
    json_decref(j);
}

TEST(put_get_dry_run_and_damage)
{
    struct itest_server s = {0};
    struct itest_resp r;
    /* Compact: {"kind":"point","xy":[1,2]} is 27 bytes: 16 + 27 + 5 = 48. */
    static const char body[] = "{ \"kind\" : \"point\",\n \"xy\": [1, 2] }";
    static const char compact[] = "{\"kind\":\"point\",\"xy\":[1,2]}";

    itest_start(&s, NULL);
    itest_create(&s, "o", "{\"size\": 4096}");

    itest_request(&s, "PUT", "/v1/maps/o/objects/8?dry_run=true", json_hdr,
                  body, strlen(body), &r);
    expect_placement(&r, 200, 8, 48);
    itest_resp_free(&r);
    ITEST_PROBLEM(&s, "GET", "/v1/maps/o/objects/8", NULL, NULL, 0, 404,
                  "no_object");

    itest_request(&s, "PUT", "/v1/maps/o/objects/8", json_hdr, body,
                  strlen(body), &r);
    expect_placement(&r, 201, 8, 48);
    itest_resp_free(&r);
    itest_request(&s, "GET", "/v1/maps/o/objects/8", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    CHECK_EQ_U64(r.len, strlen(compact));
    CHECK_MEM(r.body, compact, r.len);
    itest_resp_free(&r);

    /* The next record goes right after it; any JSON value is fine. */
    itest_request(&s, "PUT", "/v1/maps/o/objects/56", json_hdr, "[true]", 6,
                  &r);
    expect_placement(&r, 201, 56, 24);
    itest_resp_free(&r);
    itest_request(&s, "GET", "/v1/maps/o/objects/56", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    CHECK_EQ_STR(r.body, "[true]");
    itest_resp_free(&r);

    /* Does not fit: 416, also for a dry run. */
    ITEST_PROBLEM(&s, "PUT", "/v1/maps/o/objects/4080", json_hdr, "[1]", 3,
                  416, "range_not_satisfiable");
    ITEST_PROBLEM(&s, "PUT", "/v1/maps/o/objects/4080?dry_run=true",
                  json_hdr, "[1]", 3, 416, "range_not_satisfiable");
    ITEST_PROBLEM(&s, "PUT", "/v1/maps/o/objects/18446744073709551615",
                  json_hdr, "[1]", 3, 416, "range_not_satisfiable");

    /* Refusals. */
    ITEST_PROBLEM(&s, "PUT", "/v1/maps/o/objects/0", json_hdr, "{nope", 5,
                  400, "invalid_json");
    ITEST_PROBLEM(&s, "PUT", "/v1/maps/o/objects/0", json_hdr, "", 0, 400,
                  "invalid_json");
    ITEST_PROBLEM(&s, "PUT", "/v1/maps/o/objects/0?dry_run=yes", json_hdr,
                  "1", 1, 400, "invalid_query");
    ITEST_PROBLEM(&s, "GET", "/v1/maps/o/objects/x1", NULL, NULL, 0, 400,
                  "bad_request");
    ITEST_PROBLEM(&s, "GET", "/v1/maps/o/objects/-1", NULL, NULL, 0, 400,
                  "bad_request");
    ITEST_PROBLEM(&s, "GET", "/v1/maps/nope/objects/0", NULL, NULL, 0, 404,
                  "not_found");
    ITEST_PROBLEM(&s, "DELETE", "/v1/maps/o/objects/0", NULL, NULL, 0, 405,
                  "method_not_allowed");

    /* Missing and damaged records. */
    ITEST_PROBLEM(&s, "GET", "/v1/maps/o/objects/1024", NULL, NULL, 0, 404,
                  "no_object");
    ITEST_PROBLEM(&s, "GET", "/v1/maps/o/objects/4090", NULL, NULL, 0, 404,
                  "no_object");
    ITEST_PROBLEM(&s, "GET", "/v1/maps/o/objects/99999", NULL, NULL, 0, 404,
                  "no_object");
    ITEST_PROBLEM(&s, "GET", "/v1/maps/o/objects/9", NULL, NULL, 0, 404,
                  "no_object");
    /* One JSON byte changed behind the record's back: checksum mismatch. */
    itest_request(&s, "PUT", "/v1/maps/o/data?offset=30", NULL, "X", 1, &r);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);
    ITEST_PROBLEM(&s, "GET", "/v1/maps/o/objects/8", NULL, NULL, 0, 404,
                  "no_object");
    /* A length field pointing past the end of the mapping. */
    itest_request(&s, "PUT", "/v1/maps/o/data?offset=64", NULL,
                  "\xff\xff\x00\x00", 4, &r);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);
    ITEST_PROBLEM(&s, "GET", "/v1/maps/o/objects/56", NULL, NULL, 0, 404,
                  "no_object");

    /* Read-only mappings refuse to store, but a dry run still answers. */
    itest_create(&s, "ro", "{\"file\": \"o\", \"protection\": \"readonly\"}");
    ITEST_PROBLEM(&s, "PUT", "/v1/maps/ro/objects/0", json_hdr, "1", 1, 403,
                  "read_only");
    itest_request(&s, "PUT", "/v1/maps/ro/objects/0?dry_run=true", json_hdr,
                  "1", 1, &r);
    expect_placement(&r, 200, 0, 24);
    itest_resp_free(&r);
    itest_cleanup(&s);
}

/* A body within the 64 KiB JSON limit whose compact serialisation is not
 * (jansson prints 1e-7 as 9.9999999999999995e-08) is refused with 413 and
 * nothing is written: storing it would leave a record GET refuses forever. */
TEST(object_growing_past_the_limit_is_refused)
{
    struct itest_server s = {0};
    static char body[64 * 1024];
    size_t len = 0;
    char *zeros;
    size_t got = 0;

    body[len++] = '[';
    while (len + 6 < sizeof(body))
        len += (size_t)snprintf(body + len, sizeof(body) - len, "1e-7,");
    body[len - 1] = ']'; /* replaces the last comma */
    itest_start(&s, NULL);
    itest_create(&s, "big", "{\"size\": 1048576}");
    ITEST_PROBLEM(&s, "PUT", "/v1/maps/big/objects/0", json_hdr, body, len,
                  413, "payload_too_large");
    ITEST_PROBLEM(&s, "GET", "/v1/maps/big/objects/0", NULL, NULL, 0, 404,
                  "no_object");
    /* Not one byte of a record reached the mapping. */
    zeros = itest_get_data(&s, "big", &got);
    CHECK_EQ_U64(got, 1048576);
    for (size_t i = 0; i < 4096; i++)
        CHECK(zeros[i] == 0);
    free(zeros);
    itest_stop(&s);
    itest_cleanup(&s);
}

TEST_MAIN()
