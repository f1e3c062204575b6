/* test_maps.c - proves the mapping lifecycle of the real server over HTTP:
 * create (201, Location, created:true) and compatible reopen (200,
 * created:false), conflicts (409) and create-only (412), the sorted list and
 * the metadata fields, every refused name, path, option, size and body, and
 * that resize, delete (with and without unlinking the file) and several
 * mappings sharing one file behave as API.md says, none of them ever cutting
 * the file from under another (409 file_shared), across restarts too.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "itest.h"

#define JSON_CT "Content-Type: application/json"

static const char *const json_hdr[] = {JSON_CT, NULL};

static void put_map(const struct itest_server *s, const char *name,
                    const char *json, struct itest_resp *r)
{
    char path[512];

    snprintf(path, sizeof(path), "/v1/maps/%s", name);
    itest_request(s, "PUT", path, json_hdr, json, strlen(json), r);
}

static void expect_put_problem(const struct itest_server *s, const char *name,
                               const char *json, long status,
                               const char *code)
{
    char path[512];

    snprintf(path, sizeof(path), "/v1/maps/%s", name);
    ITEST_PROBLEM(s, "PUT", path, json_hdr, json, strlen(json), status, code);
}

/* Write bytes at offset through the data endpoint; require 204. */
static void write_at(const struct itest_server *s, const char *name,
                     uint64_t offset, const void *data, size_t len)
{
    struct itest_resp r;
    char path[512];

    snprintf(path, sizeof(path), "/v1/maps/%s/data?offset=%llu", name,
             (unsigned long long)offset);
    itest_request(s, "PUT", path, NULL, data, len, &r);
    if (r.status != 204)
        TEST_FAIL("PUT %s: status %ld, body \"%.300s\"", path, r.status,
                  r.body);
    itest_resp_free(&r);
}

static json_t *get_meta(const struct itest_server *s, const char *name)
{
    struct itest_resp r;
    char path[512];
    json_t *j;

    snprintf(path, sizeof(path), "/v1/maps/%s", name);
    itest_request(s, "GET", path, NULL, NULL, 0, &r);
    if (r.status != 200)
        TEST_FAIL("GET %s: status %ld", path, r.status);
    j = itest_json(&r);
    itest_resp_free(&r);
    return j;
}

static off_t file_size(const struct itest_server *s, const char *rel)
{
    char path[512];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", s->dir, rel);
    if (stat(path, &st) != 0)
        return -1;
    return st.st_size;
}

TEST(create_and_reopen)
{
    struct itest_server s = {0};
    struct itest_resp r;
    char buf[256];
    json_t *j;

    itest_start(&s, NULL);
    put_map(&s, "alpha", "{\"size\": 4096}", &r);
    CHECK_EQ_U64(r.status, 201);
    CHECK_EQ_STR(itest_header(&r, "Location", buf, sizeof(buf)),
                 "/v1/maps/alpha");
    CHECK(itest_header(&r, "ETag", buf, sizeof(buf)) != NULL);
    CHECK(strncmp(itest_header(&r, "Content-Type", buf, sizeof(buf)),
                  "application/json", 16) == 0);
    j = itest_json(&r);
    CHECK(json_is_true(json_object_get(j, "created")));
    CHECK_EQ_STR(json_string_value(json_object_get(j, "name")), "alpha");
    CHECK_EQ_U64(json_integer_value(json_object_get(j, "size")), 4096);
    json_decref(j);
    itest_resp_free(&r);

    /* The backing file exists with the mapping's size. */
    j = get_meta(&s, "alpha");
    CHECK(json_is_string(json_object_get(j, "file")));
    CHECK_EQ_U64(file_size(&s, json_string_value(json_object_get(j, "file"))),
                 4096);
    json_decref(j);

    /* Compatible reopens: no body, the same fields, a smaller size. */
    static const char *const compatible[] = {
        "", "{}", "{\"size\": 4096}", "{\"size\": 100}",
        "{\"backing\": \"file\", \"protection\": \"readwrite\", "
        "\"allocation\": \"commit\", \"writethrough\": false}",
    };
    for (size_t i = 0; i < sizeof(compatible) / sizeof(compatible[0]); i++) {
        put_map(&s, "alpha", compatible[i], &r);
        if (r.status != 200)
            TEST_FAIL("reopen with '%s': status %ld, body %s", compatible[i],
                      r.status, r.body);
        CHECK(itest_header(&r, "Location", buf, sizeof(buf)) == NULL);
        j = itest_json(&r);
        CHECK(json_is_false(json_object_get(j, "created")));
        CHECK_EQ_U64(json_integer_value(json_object_get(j, "size")), 4096);
        json_decref(j);
        itest_resp_free(&r);
    }

    /* Incompatible reopens. */
    static const char *const incompatible[] = {
        "{\"size\": 8192}", "{\"protection\": \"readonly\"}",
        "{\"backing\": \"memory\"}", "{\"allocation\": \"sparse\"}",
        "{\"writethrough\": true}", "{\"file\": \"other.bin\"}",
    };
    for (size_t i = 0; i < sizeof(incompatible) / sizeof(incompatible[0]);
         i++)
        expect_put_problem(&s, "alpha", incompatible[i], 409, "conflict");

    /* If-None-Match: * makes PUT create-only. */
    ITEST_PROBLEM(&s, "PUT", "/v1/maps/alpha",
                  ((const char *const[]){JSON_CT, "If-None-Match: *", NULL}),
                  "{}", 2, 412, "precondition_failed");
    itest_request(&s, "PUT", "/v1/maps/beta",
                  (const char *const[]){JSON_CT, "If-None-Match: *", NULL},
                  "{\"size\": 10}", 12, &r);
    CHECK_EQ_U64(r.status, 201);
    itest_resp_free(&r);
    itest_cleanup(&s);
}

TEST(list_and_metadata)
{
    struct itest_server s = {0};
    struct itest_resp r;
    json_t *j, *maps;
    static const char *const order[] = {"a-1", "b.2", "c_3", "mem"};

    itest_start(&s, NULL);
    itest_request(&s, "GET", "/v1/maps", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    j = itest_json(&r);
    CHECK(json_is_array(json_object_get(j, "maps")));
    CHECK_EQ_U64(json_array_size(json_object_get(j, "maps")), 0);
    json_decref(j);
    itest_resp_free(&r);

    itest_create(&s, "c_3", "{\"size\": 3000}");
    itest_create(&s, "mem", "{\"backing\": \"memory\", \"size\": 4096}");
    itest_create(&s, "a-1", "{\"size\": 1000, \"allocation\": \"sparse\"}");
    itest_create(&s, "b.2",
                 "{\"size\": 2000, \"file\": \"sub/dir/b.bin\", "
                 "\"writethrough\": true}");

    itest_request(&s, "GET", "/v1/maps", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    j = itest_json(&r);
    maps = json_object_get(j, "maps");
    CHECK_EQ_U64(json_array_size(maps), 4);
    for (size_t i = 0; i < 4; i++)
        CHECK_EQ_STR(json_string_value(
                         json_object_get(json_array_get(maps, i), "name")),
                     order[i]);
    json_decref(j);
    itest_resp_free(&r);

    /* Every documented metadata field, with the values asked for. */
    j = get_meta(&s, "b.2");
    CHECK_EQ_STR(json_string_value(json_object_get(j, "name")), "b.2");
    CHECK_EQ_STR(json_string_value(json_object_get(j, "backing")), "file");
    CHECK_EQ_STR(json_string_value(json_object_get(j, "file")),
                 "sub/dir/b.bin");
    CHECK_EQ_U64(json_integer_value(json_object_get(j, "size")), 2000);
    CHECK_EQ_STR(json_string_value(json_object_get(j, "protection")),
                 "readwrite");
    CHECK_EQ_STR(json_string_value(json_object_get(j, "allocation")),
                 "commit");
    CHECK(json_is_true(json_object_get(j, "writethrough")));
    CHECK(json_is_string(json_object_get(j, "etag")));
    CHECK(json_is_string(json_object_get(j, "created_at")));
    CHECK(json_is_string(json_object_get(j, "modified_at")));
    CHECK(json_object_get(j, "created") == NULL);
    json_decref(j);
    CHECK_EQ_U64(file_size(&s, "sub/dir/b.bin"), 2000);

    j = get_meta(&s, "a-1");
    CHECK_EQ_STR(json_string_value(json_object_get(j, "allocation")),
                 "sparse");
    CHECK(json_is_false(json_object_get(j, "writethrough")));
    json_decref(j);

    j = get_meta(&s, "mem");
    CHECK_EQ_STR(json_string_value(json_object_get(j, "backing")), "memory");
    CHECK(json_object_get(j, "file") == NULL ||
          json_is_null(json_object_get(j, "file")));
    json_decref(j);

    /* The ETag header of the metadata equals its "etag" member. */
    {
        char etag[128];
        itest_request(&s, "GET", "/v1/maps/c_3", NULL, NULL, 0, &r);
        j = itest_json(&r);
        CHECK_EQ_STR(itest_header(&r, "ETag", etag, sizeof(etag)),
                     json_string_value(json_object_get(j, "etag")));
        json_decref(j);
        itest_resp_free(&r);
    }

    ITEST_PROBLEM(&s, "GET", "/v1/maps/nope", NULL, NULL, 0, 404,
                  "not_found");
    itest_cleanup(&s);
}

TEST(invalid_names)
{
    struct itest_server s = {0};
    char long_name[200];
    char path[300];
    static const char *const bad[] = {
        "a%2Fb", "%00", "..", ".hidden", "-dash", "_under", "a%20b",
        "a%zz", "%", "sp%C3%A9cial", "a:b",
    };

    itest_start(&s, NULL);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(path, sizeof(path), "/v1/maps/%s", bad[i]);
        ITEST_PROBLEM(&s, "PUT", path, json_hdr, "{\"size\":1}", 10, 400,
                      "invalid_name");
        ITEST_PROBLEM(&s, "GET", path, NULL, NULL, 0, 400, "invalid_name");
    }

    /* 128 characters is the longest name; 129 is refused. */
    memset(long_name, 'n', 129);
    long_name[129] = '\0';
    snprintf(path, sizeof(path), "/v1/maps/%s", long_name);
    ITEST_PROBLEM(&s, "PUT", path, json_hdr, "{\"size\":1}", 10, 400,
                  "invalid_name");
    long_name[128] = '\0';
    itest_create(&s, long_name, "{\"size\": 1}");

    /* A percent-encoded valid name is the same name. */
    {
        struct itest_resp r;
        itest_create(&s, "enc", "{\"size\": 1}");
        itest_request(&s, "GET", "/v1/maps/%65nc", NULL, NULL, 0, &r);
        CHECK_EQ_U64(r.status, 200);
        itest_resp_free(&r);
    }
    itest_cleanup(&s);
}

TEST(invalid_paths)
{
    struct itest_server s = {0};
    char link[512], target[512];
    int fd;

    itest_start(&s, NULL);
    expect_put_problem(&s, "p1", "{\"file\": \"/etc/passwd\"}", 400,
                       "invalid_path");
    expect_put_problem(&s, "p2", "{\"file\": \"../x\", \"size\": 4096}", 400,
                       "invalid_path");
    expect_put_problem(&s, "p3", "{\"file\": \"a/../../x\", \"size\": 4096}",
                       400, "invalid_path");

    /* A symlinked directory and a symlinked file leading out of the data
     * directory: the server must refuse both, not follow them. */
    snprintf(target, sizeof(target), "%s-outside", s.dir);
    CHECK(mkdir(target, 0700) == 0);
    snprintf(link, sizeof(link), "%s/out", s.dir);
    CHECK(symlink(target, link) == 0);
    expect_put_problem(&s, "p4", "{\"file\": \"out/x.bin\", \"size\": 4096}",
                       400, "invalid_path");
    snprintf(target, sizeof(target), "%s-outside/victim.bin", s.dir);
    fd = open(target, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    CHECK(fd >= 0);
    CHECK(ftruncate(fd, 4096) == 0);
    close(fd);
    snprintf(link, sizeof(link), "%s/link.bin", s.dir);
    CHECK(symlink(target, link) == 0);
    expect_put_problem(&s, "p5", "{\"file\": \"link.bin\"}", 400,
                       "invalid_path");
    /* Nothing was created outside. */
    {
        struct stat st;
        snprintf(target, sizeof(target), "%s-outside/x.bin", s.dir);
        CHECK(stat(target, &st) != 0);
    }
    snprintf(target, sizeof(target), "%s-outside/victim.bin", s.dir);
    unlink(target);
    snprintf(target, sizeof(target), "%s-outside", s.dir);
    rmdir(target);

    /* Readonly of a missing file. */
    expect_put_problem(&s, "p6",
                       "{\"file\": \"missing.bin\", \"protection\": "
                       "\"readonly\"}",
                       400, "file_not_found");
    itest_cleanup(&s);
}

TEST(invalid_bodies)
{
    struct itest_server s = {0};
    static const char *const extra[] = {"--max-map-size", "1MiB", NULL};

    itest_start(&s, extra);
    expect_put_problem(&s, "x", "{\"protection\": \"execute_readwrite\"}",
                       400, "unsupported");
    expect_put_problem(&s, "x", "{\"protection\": \"execute_read\", "
                                "\"size\": 4096}",
                       400, "unsupported");
    expect_put_problem(&s, "x", "{\"size\": 0}", 400, "invalid_size");
    expect_put_problem(&s, "x", "{\"backing\": \"memory\", \"size\": 0}", 400,
                       "invalid_size");
    expect_put_problem(&s, "x", "{\"size\": 2097152}", 413, "too_large");
    expect_put_problem(&s, "x", "{\"size\": 1048577}", 413, "too_large");
    expect_put_problem(&s, "x", "{", 400, "invalid_json");
    expect_put_problem(&s, "x", "[1, 2]", 400, "invalid_json");
    expect_put_problem(&s, "x", "{\"size\": 1,}", 400, "invalid_json");
    expect_put_problem(&s, "x", "{\"sise\": 4096}", 400, "invalid_field");
    expect_put_problem(&s, "x", "{\"size\": \"4096\"}", 400, "invalid_field");
    expect_put_problem(&s, "x", "{\"size\": 4096.5}", 400, "invalid_field");
    expect_put_problem(&s, "x", "{\"size\": -1}", 400, "invalid_field");
    expect_put_problem(&s, "x", "{\"size\": 99999999999999999999}", 400,
                       "invalid_field");
    expect_put_problem(&s, "x", "{\"writethrough\": \"yes\"}", 400,
                       "invalid_field");
    expect_put_problem(&s, "x", "{\"backing\": \"tape\", \"size\": 1}", 400,
                       "invalid_field");
    /* A duplicate key is ambiguous JSON: refused as such. */
    expect_put_problem(&s, "x", "{\"size\": 1, \"size\": 2}", 400,
                       "invalid_json");

    /* None of the refusals left a mapping behind. */
    ITEST_PROBLEM(&s, "GET", "/v1/maps/x", NULL, NULL, 0, 404, "not_found");
    CHECK(file_size(&s, "x") < 0);
    itest_create(&s, "x", "{\"size\": 1048576}"); /* exactly the maximum */
    itest_cleanup(&s);
}

TEST(resize_grow_and_shrink)
{
    struct itest_server s = {0};
    struct itest_resp r;
    char pattern[8192];
    char *data;
    size_t len;
    json_t *j;

    itest_start(&s, NULL);
    itest_create(&s, "r", "{\"size\": 8192}");
    itest_pattern(pattern, sizeof(pattern), 7);
    write_at(&s, "r", 0, pattern, sizeof(pattern));

    itest_request(&s, "PATCH", "/v1/maps/r", json_hdr, "{\"size\": 3000}", 14,
                  &r);
    CHECK_EQ_U64(r.status, 200);
    j = itest_json(&r);
    CHECK_EQ_U64(json_integer_value(json_object_get(j, "size")), 3000);
    json_decref(j);
    itest_resp_free(&r);
    CHECK_EQ_U64(file_size(&s, "r"), 3000);

    data = itest_get_data(&s, "r", &len);
    CHECK_EQ_U64(len, 3000);
    CHECK_MEM(data, pattern, 3000);
    free(data);
    /* Bytes past the new end are never returned. */
    itest_request(&s, "GET", "/v1/maps/r/data",
                  (const char *const[]){"Range: bytes=2990-5000", NULL}, NULL,
                  0, &r);
    CHECK_EQ_U64(r.status, 206);
    CHECK_EQ_U64(r.len, 10);
    CHECK_MEM(r.body, pattern + 2990, 10);
    itest_resp_free(&r);
    ITEST_PROBLEM(&s, "GET", "/v1/maps/r/data?offset=3000&length=1", NULL,
                  NULL, 0, 416, "range_not_satisfiable");

    /* Growing again exposes zeros, not the old bytes. */
    itest_request(&s, "PATCH", "/v1/maps/r", json_hdr, "{\"size\": 10000}",
                  15, &r);
    CHECK_EQ_U64(r.status, 200);
    itest_resp_free(&r);
    data = itest_get_data(&s, "r", &len);
    CHECK_EQ_U64(len, 10000);
    CHECK_MEM(data, pattern, 3000);
    for (size_t i = 3000; i < 10000; i++) {
        if (data[i] != 0)
            TEST_FAIL("byte %zu after regrowing is %d, want 0", i, data[i]);
    }
    free(data);

    /* Bad resize bodies. */
    ITEST_PROBLEM(&s, "PATCH", "/v1/maps/r", json_hdr, "{}", 2, 400,
                  "invalid_field");
    ITEST_PROBLEM(&s, "PATCH", "/v1/maps/r", json_hdr, "{\"size\": -5}", 12,
                  400, "invalid_field");
    ITEST_PROBLEM(&s, "PATCH", "/v1/maps/r", json_hdr, "{\"size\": 0}", 11,
                  400, "invalid_size");
    ITEST_PROBLEM(&s, "PATCH", "/v1/maps/nope", json_hdr, "{\"size\": 1}", 11,
                  404, "not_found");
    itest_cleanup(&s);
}

TEST(delete_and_unlink)
{
    struct itest_server s = {0};
    struct itest_resp r;

    itest_start(&s, NULL);
    itest_create(&s, "keepfile", "{\"size\": 4096}");
    itest_create(&s, "dropfile", "{\"size\": 4096, \"file\": \"drop.bin\"}");

    itest_request(&s, "DELETE", "/v1/maps/keepfile", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 204);
    CHECK_EQ_U64(r.len, 0);
    itest_resp_free(&r);
    ITEST_PROBLEM(&s, "GET", "/v1/maps/keepfile", NULL, NULL, 0, 404,
                  "not_found");
    ITEST_PROBLEM(&s, "DELETE", "/v1/maps/keepfile", NULL, NULL, 0, 404,
                  "not_found");
    CHECK_EQ_U64(file_size(&s, "keepfile"), 4096); /* the file stays */

    CHECK_EQ_U64(file_size(&s, "drop.bin"), 4096);
    itest_request(&s, "DELETE", "/v1/maps/dropfile?unlink=true", NULL, NULL,
                  0, &r);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);
    CHECK(file_size(&s, "drop.bin") < 0);

    /* The name can be created again, over the file that stayed. */
    itest_request(&s, "PUT", "/v1/maps/keepfile", json_hdr, "{}", 2, &r);
    CHECK_EQ_U64(r.status, 201);
    itest_resp_free(&r);
    {
        json_t *j = get_meta(&s, "keepfile");
        CHECK_EQ_U64(json_integer_value(json_object_get(j, "size")), 4096);
        json_decref(j);
    }
    itest_cleanup(&s);
}

TEST(mappings_share_a_file)
{
    struct itest_server s = {0};
    struct itest_resp r;
    char path[512], disk[16];
    int fd;

    itest_start(&s, NULL);
    itest_create(&s, "rw", "{\"file\": \"shared.bin\", \"size\": 8192}");
    itest_create(&s, "ro",
                 "{\"file\": \"shared.bin\", \"protection\": \"readonly\"}");
    itest_create(&s, "wc",
                 "{\"file\": \"shared.bin\", \"protection\": \"writecopy\"}");

    /* A write through the readwrite mapping is seen by the other two. */
    write_at(&s, "rw", 0, "AAAAAAAA", 8);
    itest_request(&s, "GET", "/v1/maps/ro/data?offset=0&length=8", NULL,
                  NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    CHECK_EQ_U64(r.len, 8);
    CHECK_MEM(r.body, "AAAAAAAA", 8);
    itest_resp_free(&r);
    itest_request(&s, "GET", "/v1/maps/wc/data?offset=0&length=8", NULL,
                  NULL, 0, &r);
    CHECK_MEM(r.body, "AAAAAAAA", 8);
    itest_resp_free(&r);

    /* A write through writecopy is seen through writecopy only. */
    write_at(&s, "wc", 4096, "WWWWWWWW", 8);
    itest_request(&s, "GET", "/v1/maps/wc/data?offset=4096&length=8", NULL,
                  NULL, 0, &r);
    CHECK_MEM(r.body, "WWWWWWWW", 8);
    itest_resp_free(&r);
    itest_request(&s, "GET", "/v1/maps/rw/data?offset=4096&length=8", NULL,
                  NULL, 0, &r);
    CHECK_MEM(r.body, "\0\0\0\0\0\0\0\0", 8);
    itest_resp_free(&r);
    itest_request(&s, "GET", "/v1/maps/ro/data?offset=4096&length=8", NULL,
                  NULL, 0, &r);
    CHECK_MEM(r.body, "\0\0\0\0\0\0\0\0", 8);
    itest_resp_free(&r);

    /* After a flush of everything, the file holds the readwrite bytes and
     * not the writecopy ones. */
    itest_request(&s, "POST", "/v1/maps/rw/flush", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    itest_resp_free(&r);
    itest_request(&s, "POST", "/v1/maps/wc/flush", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    itest_resp_free(&r);
    snprintf(path, sizeof(path), "%s/shared.bin", s.dir);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    CHECK_EQ_U64(pread(fd, disk, 8, 0), 8);
    CHECK_MEM(disk, "AAAAAAAA", 8);
    CHECK_EQ_U64(pread(fd, disk, 8, 4096), 8);
    CHECK_MEM(disk, "\0\0\0\0\0\0\0\0", 8);
    close(fd);

    /* Readonly and writecopy mappings cannot be resized. */
    ITEST_PROBLEM(&s, "PATCH", "/v1/maps/ro", json_hdr, "{\"size\": 4096}",
                  14, 409, "conflict");
    ITEST_PROBLEM(&s, "PATCH", "/v1/maps/wc", json_hdr, "{\"size\": 16384}",
                  15, 409, "conflict");
    itest_cleanup(&s);
}

/* Require the metadata of name to say size and not damaged. */
static void expect_sound(const struct itest_server *s, const char *name,
                         uint64_t size)
{
    json_t *j = get_meta(s, name);

    CHECK_EQ_U64(json_integer_value(json_object_get(j, "size")), size);
    CHECK(json_is_false(json_object_get(j, "damaged")));
    json_decref(j);
}

/* Issue 9, break 5: one mapping of a shared file must never cut the file
 * from under the others. Shrinking below another user's size is
 * 409 file_shared; at or above it is fine; growing one user, also after a
 * restart (when the smaller user's file is longer than its own size),
 * keeps the others' bytes; and a restart finds nobody damaged. */
TEST(shrinking_a_shared_file_spares_the_others)
{
    struct itest_server s = {0};
    const size_t big = 8u << 20;
    char *pat = malloc(big);
    char *got;
    size_t len;

    CHECK(pat != NULL);
    itest_start(&s, NULL);
    itest_create_filled(&s, "A", pat, big, 55);
    itest_create(&s, "B", "{\"file\": \"A\", \"size\": 8388608}");

    ITEST_PROBLEM(&s, "PATCH", "/v1/maps/B", json_hdr, "{\"size\": 4096}", 14,
                  409, "file_shared");
    ITEST_PROBLEM(&s, "PATCH", "/v1/maps/B", json_hdr,
                  "{\"size\": 8388607}", 17, 409, "file_shared");
    ITEST_PROBLEM(&s, "DELETE", "/v1/maps/B?unlink=true", NULL, NULL, 0, 409,
                  "file_shared");
    expect_sound(&s, "A", big);
    expect_sound(&s, "B", big);
    CHECK_EQ_U64(file_size(&s, "A"), big);
    itest_expect_data(&s, "A", pat, big);
    itest_expect_data(&s, "B", pat, big);

    /* A small user of the same file; then B goes (the file stays). */
    itest_create(&s, "small", "{\"file\": \"A\", \"size\": 4096}");
    {
        struct itest_resp r;

        itest_request(&s, "DELETE", "/v1/maps/B", NULL, NULL, 0, &r);
        CHECK_EQ_U64(r.status, 204);
        itest_resp_free(&r);
    }
    /* At or above every other user's size: allowed, and it truncates. */
    {
        struct itest_resp r;

        itest_request(&s, "PATCH", "/v1/maps/A", json_hdr,
                      "{\"size\": 1048576}", 17, &r);
        CHECK_EQ_U64(r.status, 200);
        itest_resp_free(&r);
    }
    CHECK_EQ_U64(file_size(&s, "A"), 1048576);
    ITEST_PROBLEM(&s, "PATCH", "/v1/maps/A", json_hdr, "{\"size\": 100}", 13,
                  409, "file_shared");
    itest_expect_data(&s, "small", pat, 4096);

    /* After a restart the small user's file is longer than its size: using
     * it must not cut A's bytes, and growing it shows A's bytes, not
     * zeros. */
    itest_stop(&s);
    itest_start(&s, NULL);
    expect_sound(&s, "A", 1048576);
    expect_sound(&s, "small", 4096);
    itest_expect_data(&s, "small", pat, 4096);
    CHECK_EQ_U64(file_size(&s, "A"), 1048576);
    {
        struct itest_resp r;

        itest_request(&s, "PATCH", "/v1/maps/small", json_hdr,
                      "{\"size\": 65536}", 15, &r);
        CHECK_EQ_U64(r.status, 200);
        itest_resp_free(&r);
    }
    itest_expect_data(&s, "small", pat, 65536);
    itest_expect_data(&s, "A", pat, 1048576);

    /* Growing A past everyone keeps the shared prefix; the new tail is
     * zeros. */
    {
        struct itest_resp r;

        itest_request(&s, "PATCH", "/v1/maps/A", json_hdr,
                      "{\"size\": 2097152}", 17, &r);
        CHECK_EQ_U64(r.status, 200);
        itest_resp_free(&r);
    }
    got = itest_get_data(&s, "A", &len);
    CHECK_EQ_U64(len, 2097152);
    CHECK_MEM(got, pat, 1048576);
    for (size_t i = 1048576; i < len; i++)
        CHECK(got[i] == 0);
    free(got);
    itest_stop(&s);
    itest_start(&s, NULL);
    expect_sound(&s, "A", 2097152);
    expect_sound(&s, "small", 65536);
    itest_expect_data(&s, "small", pat, 65536);
    itest_cleanup(&s);
    free(pat);
}

TEST_MAIN()
