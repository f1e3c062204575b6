/* test_migrate.c - upgrading a data directory of version 1 loses nothing.
 *
 * The fixture tests/fixtures/catalog-v1/data was written by mmapd 331bc87
 * (the last release with .mmapd/catalog.json; make.sh beside it says how):
 * ten file mappings of every kind - default and explicit files, a nested
 * path, readonly, writecopy, sparse, writethrough, two mappings sharing
 * one file, one grown after its creation - and a memory mapping, which
 * never outlives its process.
 *
 * Proves: the first start on a copy imports the catalog into the store
 * (catalog.db; catalog.json is renamed to catalog.json.migrated); every
 * mapping of catalog.json is listed with its file, size, protection,
 * allocation, writethrough and creation time, and nothing else is; every
 * byte of every mapping is the byte the old server left in its file; the
 * mappings stay writable and survive the next restart; and an import that
 * did not finish (catalog.json still there beside a store, as a crash
 * before the rename leaves it) starts over from catalog.json alone.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

#ifndef FIXTURE_DIR
#error "FIXTURE_DIR must name tests/fixtures/catalog-v1/data"
#endif

/* Start and stop once (itest_start makes s->dir), then copy the fixture. */
static void copy_fixture(struct itest_server *s)
{
    char cmd[1024];

    itest_start(s, NULL);
    itest_stop(s);
    snprintf(cmd, sizeof(cmd), "cp -a '%s/.' '%s/'", FIXTURE_DIR, s->dir);
    CHECK(system(cmd) == 0);
}

static json_t *load_v1(void)
{
    json_error_t err;
    json_t *root = json_load_file(FIXTURE_DIR "/.mmapd/catalog.json", 0, &err);

    CHECK(root != NULL);
    CHECK(json_array_size(json_object_get(root, "mappings")) == 10);
    return root;
}

static bool exists(const struct itest_server *s, const char *rel)
{
    char path[512];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", s->dir, rel);
    return stat(path, &st) == 0;
}

/* The fixture's bytes of file rel, the first len of them. */
static char *fixture_bytes(const char *rel, size_t len)
{
    char path[512];
    char *buf = calloc(1, len);
    int fd;

    CHECK(buf != NULL);
    snprintf(path, sizeof(path), "%s/%s", FIXTURE_DIR, rel);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    CHECK_EQ_U64(read(fd, buf, len), len);
    close(fd);
    return buf;
}

/* RFC 3339 with milliseconds, as the API writes times. */
static void rfc3339(int64_t ms, char *out, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char sec[32];

    gmtime_r(&t, &tm);
    strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, len, "%s.%03dZ", sec, (int)(ms % 1000));
}

static const char *str(json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));

    CHECK(v != NULL);
    return v;
}

/* Every mapping of v1 is listed as it was recorded, nothing else is, and
 * its bytes are the fixture's. */
static void expect_v1(const struct itest_server *s, json_t *v1)
{
    struct itest_resp r;
    json_t *body, *maps, *e;
    size_t i;

    itest_request(s, "GET", "/v1/maps", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    body = itest_json(&r);
    maps = json_object_get(body, "maps");
    CHECK_EQ_U64(json_array_size(maps), json_array_size(json_object_get(v1, "mappings")));
    json_array_foreach(json_object_get(v1, "mappings"), i, e) {
        const char *name = str(e, "name");
        uint64_t size = (uint64_t)json_integer_value(json_object_get(e, "size"));
        json_t *got = NULL, *g;
        size_t j, len = 0;
        char when[64];

        json_array_foreach(maps, j, g) {
            if (strcmp(str(g, "name"), name) == 0)
                got = g;
        }
        if (!got)
            TEST_FAIL("mapping %s lost in the upgrade", name);
        CHECK_EQ_STR(str(got, "backing"), "file");
        CHECK_EQ_STR(str(got, "file"), str(e, "file"));
        CHECK_EQ_U64(json_integer_value(json_object_get(got, "size")), size);
        CHECK_EQ_STR(str(got, "protection"), str(e, "protection"));
        CHECK_EQ_STR(str(got, "allocation"), str(e, "allocation"));
        CHECK(json_is_true(json_object_get(got, "writethrough")) ==
              json_is_true(json_object_get(e, "writethrough")));
        CHECK(json_is_false(json_object_get(got, "damaged")));
        rfc3339(json_integer_value(json_object_get(e, "created_at_ms")), when,
                sizeof(when));
        CHECK_EQ_STR(str(got, "created_at"), when);

        char *want = fixture_bytes(str(e, "file"), size);
        char *data = itest_get_data(s, name, &len);
        CHECK_EQ_U64(len, size);
        if (memcmp(data, want, size) != 0)
            TEST_FAIL("bytes of %s changed in the upgrade", name);
        free(data);
        free(want);
    }
    json_decref(body);
    itest_resp_free(&r);
}

TEST(v1_catalog_is_imported_whole)
{
    struct itest_server s = {0};
    json_t *v1 = load_v1();
    struct itest_resp r;
    char *buf;
    size_t len;

    copy_fixture(&s);
    itest_start(&s, NULL);
    CHECK(exists(&s, ".mmapd/catalog.db"));
    CHECK(!exists(&s, ".mmapd/catalog.json"));
    CHECK(exists(&s, ".mmapd/catalog.json.migrated"));
    expect_v1(&s, v1);

    /* What the old server wrote is there, not only "the file's bytes". */
    buf = itest_get_data(&s, "resized", &len);
    CHECK_EQ_U64(len, 12288);
    CHECK(memcmp(buf + 4096, "grown!grown!", 12) == 0);
    free(buf);
    buf = itest_get_data(&s, "sparse.one", &len);
    CHECK(memcmp(buf + 30000, "sparse-hello", 12) == 0);
    free(buf);
    itest_request(&s, "GET", "/v1/maps/mem", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 404); /* memory mappings never outlived a run */
    itest_resp_free(&r);

    /* Still writable, and all of it survives a restart. */
    itest_request(&s, "PUT", "/v1/maps/plain/data?offset=0",
                  (const char *const[]){"Content-Type: application/octet-stream",
                                        NULL},
                  "upgraded", 8, &r);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);
    itest_stop(&s);
    itest_start(&s, NULL);
    buf = itest_get_data(&s, "plain", &len);
    CHECK(len == 8192 && memcmp(buf, "upgraded", 8) == 0);
    free(buf);
    itest_request(&s, "GET", "/v1/maps", NULL, NULL, 0, &r);
    json_t *body = itest_json(&r);
    CHECK_EQ_U64(json_array_size(json_object_get(body, "maps")), 10);
    json_decref(body);
    itest_resp_free(&r);
    itest_cleanup(&s);
    json_decref(v1);
}

TEST(unfinished_import_starts_over)
{
    struct itest_server s = {0};
    json_t *v1 = load_v1();
    char cmd[1024];

    copy_fixture(&s);
    itest_start(&s, NULL);
    itest_create(&s, "extra", "{\"size\": 4096}");
    itest_stop(&s);
    /* catalog.json back beside a store that says something else: what a
     * crash between the import's commit and its rename leaves (with a store
     * that differs, to see which one wins). */
    snprintf(cmd, sizeof(cmd),
             "cp '%s/.mmapd/catalog.json' '%s/.mmapd/catalog.json'",
             FIXTURE_DIR, s.dir);
    CHECK(system(cmd) == 0);
    itest_start(&s, NULL);
    CHECK(!exists(&s, ".mmapd/catalog.json"));
    expect_v1(&s, v1); /* exactly catalog.json's ten: "extra" is not listed */
    itest_cleanup(&s);
    json_decref(v1);
}

TEST_MAIN()
