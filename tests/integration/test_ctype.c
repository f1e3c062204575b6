/* test_ctype.c - a content type per mapping through the real server
 * (README "Content type").
 *
 * Proves: "content_type" given at create, or later with PATCH (alone or
 * with a size), is the mapping's metadata (GET and listing) and survives a
 * restart; whole and single-range answers of /data carry it as
 * Content-Type while several ranges stay multipart/byteranges; every bytes
 * answer carries X-Content-Type-Options: nosniff and
 * Content-Security-Policy: sandbox; a value that is no media type is 400
 * and an open with another type is 409; an old catalog without the field
 * loads with application/octet-stream.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest.h"

#define HTML "text/html; charset=utf-8"

static void expect_type(const struct itest_server *s, const char *name,
                        const char *range, long status, const char *want)
{
    struct itest_resp r;
    char path[128], hdr[96], buf[256];

    snprintf(path, sizeof(path), "/v1/maps/%s/data", name);
    snprintf(hdr, sizeof(hdr), "Range: %s", range ? range : "none=0");
    itest_request(s, "GET", path, (const char *const[]){hdr, NULL}, NULL, 0,
                  &r);
    if (r.status != status)
        TEST_FAIL("GET %s (%s): %ld, want %ld", path, hdr, r.status, status);
    if (!itest_header(&r, "Content-Type", buf, sizeof(buf)))
        TEST_FAIL("GET %s: no Content-Type:\n%s", path, r.headers);
    if (strncmp(buf, want, strlen(want)) != 0)
        TEST_FAIL("GET %s (%s): Content-Type \"%s\", want \"%s\"", path, hdr,
                  buf, want);
    CHECK(itest_header(&r, "X-Content-Type-Options", buf, sizeof(buf)));
    CHECK_EQ_STR(buf, "nosniff");
    CHECK(itest_header(&r, "Content-Security-Policy", buf, sizeof(buf)));
    CHECK_EQ_STR(buf, "sandbox");
    itest_resp_free(&r);
}

/* The "content_type" of GET /v1/maps/{name}, and of its listing entry. */
static void expect_meta(const struct itest_server *s, const char *name,
                        const char *want)
{
    struct itest_resp r;
    char path[128];
    json_t *j, *maps;
    size_t i;
    json_t *m;
    bool seen = false;

    snprintf(path, sizeof(path), "/v1/maps/%s", name);
    itest_request(s, "GET", path, NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    j = itest_json(&r);
    CHECK_EQ_STR(json_string_value(json_object_get(j, "content_type")), want);
    json_decref(j);
    itest_resp_free(&r);
    itest_request(s, "GET", "/v1/maps", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    j = itest_json(&r);
    maps = json_object_get(j, "maps");
    json_array_foreach(maps, i, m)
    {
        if (strcmp(json_string_value(json_object_get(m, "name")), name) != 0)
            continue;
        CHECK_EQ_STR(json_string_value(json_object_get(m, "content_type")),
                     want);
        seen = true;
    }
    CHECK(seen);
    json_decref(j);
    itest_resp_free(&r);
}

static long send_json(const struct itest_server *s, const char *method,
                      const char *name, const char *json)
{
    struct itest_resp r;
    char path[128];
    long st;

    snprintf(path, sizeof(path), "/v1/maps/%s", name);
    itest_request(s, method, path,
                  (const char *const[]){"Content-Type: application/json",
                                        NULL},
                  json, strlen(json), &r);
    st = r.status;
    itest_resp_free(&r);
    return st;
}

TEST(content_type_at_create_patch_and_restart)
{
    struct itest_server s = {0};

    itest_start(&s, NULL);
    itest_create(&s, "page",
                 "{\"size\": 4096, \"content_type\": \"" "text/html; "
                 "charset=utf-8\"}");
    itest_create(&s, "plain", "{\"size\": 4096}");
    expect_meta(&s, "page", HTML);
    expect_meta(&s, "plain", "application/octet-stream");
    expect_type(&s, "page", NULL, 200, HTML);
    expect_type(&s, "page", "bytes=0-9", 206, HTML);
    expect_type(&s, "page", "bytes=0-9,20-29", 206,
                "multipart/byteranges; boundary=");
    {
        /* ... and each part says the mapping's type too. */
        struct itest_resp r;
        static const char want[] = "\r\nContent-Type: " HTML "\r\n";
        const char *p, *end;
        int parts = 0;

        itest_request(&s, "GET", "/v1/maps/page/data",
                      (const char *const[]){"Range: bytes=0-9,20-29", NULL},
                      NULL, 0, &r);
        CHECK_EQ_U64(r.status, 206);
        /* The parts hold the mapping's zero bytes: search the whole body. */
        end = r.body + r.len;
        for (p = r.body; (p = memmem(p, (size_t)(end - p), want,
                                     sizeof(want) - 1)) != NULL;
             p++)
            parts++;
        CHECK_EQ_U64(parts, 2);
        itest_resp_free(&r);
    }
    expect_type(&s, "plain", NULL, 200, "application/octet-stream");

    /* Opening with the same type is fine; another type conflicts. */
    CHECK_EQ_U64(send_json(&s, "PUT", "page",
                           "{\"content_type\": \"" HTML "\"}"),
                 200);
    CHECK_EQ_U64(send_json(&s, "PUT", "page",
                           "{\"content_type\": \"image/png\"}"),
                 409);
    CHECK_EQ_U64(send_json(&s, "PUT", "page", "{}"), 200);

    /* PATCH: the type alone, then with a size. */
    CHECK_EQ_U64(send_json(&s, "PATCH", "plain",
                           "{\"content_type\": \"video/mp4\"}"),
                 200);
    expect_meta(&s, "plain", "video/mp4");
    expect_type(&s, "plain", "bytes=100-", 206, "video/mp4");
    CHECK_EQ_U64(send_json(&s, "PATCH", "plain",
                           "{\"size\": 8192, \"content_type\": "
                           "\"image/svg+xml\"}"),
                 200);
    expect_meta(&s, "plain", "image/svg+xml");
    CHECK_EQ_U64(send_json(&s, "PATCH", "plain", "{}"), 400);

    /* Memory mappings carry one too (not persisted, as their bytes). */
    itest_create(&s, "mem", "{\"backing\": \"memory\", \"size\": 4096, "
                            "\"content_type\": \"text/plain\"}");
    expect_type(&s, "mem", NULL, 200, "text/plain");

    itest_stop(&s);
    itest_start(&s, NULL);
    expect_meta(&s, "page", HTML);
    expect_meta(&s, "plain", "image/svg+xml");
    expect_type(&s, "plain", NULL, 200, "image/svg+xml");
    itest_cleanup(&s);
}

TEST(bad_content_type_is_400)
{
    static const char *const bad[] = {
        "\"text\"", "\"text/html\\r\\nSet-Cookie: a=b\"", "\"\"",
        "\"text/html; x\"", "\"t\\u00e9xt/html\"", "42", "\"a/b; c=\\\"\"",
    };
    struct itest_server s = {0};
    char json[256];

    itest_start(&s, NULL);
    itest_create(&s, "m", "{\"size\": 4096}");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        long st;

        snprintf(json, sizeof(json), "{\"size\": 4096, \"content_type\": %s}",
                 bad[i]);
        st = send_json(&s, "PUT", "n", json);
        if (st != 400)
            TEST_FAIL("create with %s: %ld, want 400", bad[i], st);
        snprintf(json, sizeof(json), "{\"content_type\": %s}", bad[i]);
        st = send_json(&s, "PATCH", "m", json);
        if (st != 400)
            TEST_FAIL("PATCH with %s: %ld, want 400", bad[i], st);
    }
    expect_meta(&s, "m", "application/octet-stream");
    itest_cleanup(&s);
}

TEST(nosniff_and_sandbox_on_every_bytes_answer)
{
    struct itest_server s = {0};
    struct itest_resp r;
    char buf[64];
    static const char *const hdrs[][2] = {
        {"Range: bytes=0-0", "206"},      {"Range: bytes=9999-", "416"},
        {"If-None-Match: *", "304"},      {"X-None: 1", "200"},
    };

    itest_start(&s, NULL);
    itest_create(&s, "m", "{\"size\": 4096}");
    for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
        for (int head = 0; head < 2; head++) {
            itest_request(&s, head ? "HEAD" : "GET", "/v1/maps/m/data",
                          (const char *const[]){hdrs[i][0], NULL}, NULL, 0,
                          &r);
            CHECK_EQ_U64(r.status, (uint64_t)atoi(hdrs[i][1]));
            if (!itest_header(&r, "X-Content-Type-Options", buf,
                              sizeof(buf)) ||
                strcmp(buf, "nosniff") != 0 ||
                !itest_header(&r, "Content-Security-Policy", buf,
                              sizeof(buf)) ||
                strcmp(buf, "sandbox") != 0)
                TEST_FAIL("%s with %s: %ld without nosniff/sandbox:\n%s",
                          head ? "HEAD" : "GET", hdrs[i][0], r.status,
                          r.headers);
            itest_resp_free(&r);
        }
    }
    itest_cleanup(&s);
}

TEST(old_catalog_without_content_type_loads)
{
    struct itest_server s = {0};
    char path[512];
    FILE *f;

    itest_start(&s, NULL);
    itest_create(&s, "old", "{\"size\": 4096}");
    itest_stop(&s);
    /* The entry as a catalog of the previous version wrote it. */
    snprintf(path, sizeof(path), "%s/.mmapd/catalog.json", s.dir);
    f = fopen(path, "w");
    CHECK(f != NULL);
    fputs("{\"format\": \"mmapd-catalog\", \"version\": 1, \"mappings\": "
          "[{\"name\": \"old\", \"file\": \"old\", \"size\": 4096, "
          "\"protection\": \"readwrite\", \"allocation\": \"commit\", "
          "\"writethrough\": false, \"created_at_ms\": 1, "
          "\"modified_at_ms\": 2}]}\n",
          f);
    fclose(f);
    itest_start(&s, NULL);
    expect_meta(&s, "old", "application/octet-stream");
    expect_type(&s, "old", NULL, 200, "application/octet-stream");
    itest_cleanup(&s);
}

TEST_MAIN()
