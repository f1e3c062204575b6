/* test_fulldisk.c - a full disk can be cleaned up through the API.
 *
 * Proves, on a real 8 MiB tmpfs mounted for the test, that once the file
 * system is full (a filler file written until ENOSPC, and a create refused
 * with 507 to show it), DELETE without unlink, shrinking and
 * DELETE ?unlink=true each succeed, the disk being topped up again before
 * each; that the server keeps serving; and that it stops cleanly and
 * restarts with the catalog as those answers left it. Where this process
 * may not mount (not root, no CAP_SYS_ADMIN), the case exits 77, which
 * ctest reports as skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "itest.h"

#define JSON_CT "Content-Type: application/json"

/* Mount an 8 MiB tmpfs on a new directory from the template dir; exit 77
 * (skipped) when this process may not. */
static void mount_tmpfs(char *dir)
{
    if (!itest_mount_tmpfs(dir, "8m"))
        exit(77);
}

/* Append to dir/filler until the file system says ENOSPC; returns the
 * bytes added. Bounded: the tmpfs is 8 MiB. */
static size_t fill_up(const char *dir)
{
    static char chunk[4096];
    char path[320];
    size_t added = 0;
    int fd;

    snprintf(path, sizeof(path), "%s/filler", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    CHECK(fd >= 0);
    memset(chunk, 0x5a, sizeof(chunk));
    for (int i = 0; i < 4096; i++) {
        ssize_t n = write(fd, chunk, sizeof(chunk));

        if (n < 0 && errno == ENOSPC)
            break;
        CHECK(n > 0);
        added += (size_t)n;
    }
    CHECK(fsync(fd) == 0);
    close(fd);
    return added;
}

/* The disk is full: prove it (a small create is refused with 507). */
static void expect_full(const struct itest_server *s)
{
    static const char body[] = "{\"size\": 65536}";

    fill_up(s->dir);
    ITEST_PROBLEM(s, "PUT", "/v1/maps/probe",
                  ((const char *const[]){JSON_CT, NULL}), body,
                  sizeof(body) - 1, 507, "insufficient_storage");
}

static long request_status(const struct itest_server *s, const char *method,
                           const char *path, const char *json)
{
    struct itest_resp r;
    long st;

    itest_request(s, method, path, (const char *const[]){JSON_CT, NULL}, json,
                  json ? strlen(json) : 0, &r);
    st = r.status;
    if (st >= 300)
        fprintf(stderr, "%s %s: %ld %s\n", method, path, st, r.body);
    itest_resp_free(&r);
    return st;
}

static uint64_t size_of(const struct itest_server *s, const char *name)
{
    struct itest_resp r;
    char path[320];
    uint64_t size;
    json_t *j;

    snprintf(path, sizeof(path), "/v1/maps/%s", name);
    itest_request(s, "GET", path, NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    j = itest_json(&r);
    CHECK(json_is_false(json_object_get(j, "damaged")));
    size = (uint64_t)json_integer_value(json_object_get(j, "size"));
    json_decref(j);
    itest_resp_free(&r);
    return size;
}

TEST(full_disk_delete_and_shrink_succeed)
{
    struct itest_server s = {0};
    char dir[64] = "/tmp/mmapd-fulldisk-XXXXXX";
    char pat[4096];
    char path[320];
    struct stat st;

    mount_tmpfs(dir);
    /* The harness uses a directory it is given as the data directory. */
    snprintf(s.dir, sizeof(s.dir), "%s", dir);
    itest_start(&s, NULL);
    itest_create(&s, "keep", "{\"size\": 1048576}");
    itest_create(&s, "shrink", "{\"size\": 1048576}");
    itest_create(&s, "close", "{\"size\": 1048576}");
    itest_create(&s, "drop", "{\"size\": 1048576}");
    itest_pattern(pat, sizeof(pat), 7);
    {
        struct itest_resp r;

        itest_request(&s, "PUT", "/v1/maps/shrink/data", NULL, pat,
                      sizeof(pat), &r);
        CHECK_EQ_U64(r.status, 204);
        itest_resp_free(&r);
    }

    /* DELETE without unlink frees nothing on disk, yet must succeed. */
    expect_full(&s);
    CHECK_EQ_U64(request_status(&s, "DELETE", "/v1/maps/close", NULL), 204);
    /* The same with a second one at once: still full. */
    expect_full(&s);
    CHECK_EQ_U64(request_status(&s, "PATCH", "/v1/maps/shrink",
                                "{\"size\": 4096}"),
                 200);
    expect_full(&s);
    CHECK_EQ_U64(request_status(&s, "DELETE", "/v1/maps/drop?unlink=true",
                                NULL),
                 204);
    snprintf(path, sizeof(path), "%s/drop", dir);
    CHECK(stat(path, &st) != 0 && errno == ENOENT);

    /* Still serving, and the answers stuck. */
    expect_full(&s);
    CHECK_EQ_U64(request_status(&s, "GET", "/healthz", NULL), 200);
    CHECK_EQ_U64(request_status(&s, "GET", "/v1/maps/close", NULL), 404);
    CHECK_EQ_U64(size_of(&s, "shrink"), 4096);
    itest_expect_data(&s, "shrink", pat, sizeof(pat));
    itest_stop(&s); /* asserts exit 0 */

    itest_start(&s, NULL);
    CHECK_EQ_U64(size_of(&s, "keep"), 1048576);
    CHECK_EQ_U64(size_of(&s, "shrink"), 4096);
    itest_expect_data(&s, "shrink", pat, sizeof(pat));
    CHECK_EQ_U64(request_status(&s, "GET", "/v1/maps/close", NULL), 404);
    CHECK_EQ_U64(request_status(&s, "GET", "/v1/maps/drop", NULL), 404);
    /* Once space comes back, so does the rest of the API. */
    snprintf(path, sizeof(path), "%s/filler", dir);
    CHECK(unlink(path) == 0);
    itest_create(&s, "again", "{\"size\": 65536}");
    itest_stop(&s);
    itest_cleanup(&s);
    itest_unmount_tmpfs(dir);
}

TEST_MAIN()
