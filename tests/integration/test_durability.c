/* test_durability.c - what a mapping promises about stable storage and
 * about its modification time.
 *
 * Proves: a memory mapping refuses "writethrough": true (400 unsupported:
 * it has no stable storage to write through to) and its flush answers 400
 * unsupported instead of pretending with {"flushed":0}; a file mapping
 * still flushes. And that modified_at never goes backwards: after writes
 * (the second one to a page that is still dirty, which the kernel does not
 * stamp by itself) and after a resize, kill -9 and a restart report a
 * modified_at at least as late as the last one seen before the kill, and a
 * graceful restart keeps it too.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define JSON_HDR ((const char *const[]){"Content-Type: application/json", NULL})

TEST(memory_mapping_has_no_stable_storage)
{
    struct itest_server s = {0};
    struct itest_resp r;
    const char *wt = "{\"backing\": \"memory\", \"size\": 4096, "
                     "\"writethrough\": true}";

    itest_start(&s, NULL);
    ITEST_PROBLEM(&s, "PUT", "/v1/maps/wt", JSON_HDR, wt, strlen(wt), 400,
                  "unsupported");
    itest_request(&s, "GET", "/v1/maps/wt", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 404); /* nothing was created */
    itest_resp_free(&r);

    itest_create(&s, "mem", "{\"backing\": \"memory\", \"size\": 4096}");
    ITEST_PROBLEM(&s, "POST", "/v1/maps/mem/flush", NULL, NULL, 0, 400,
                  "unsupported");
    ITEST_PROBLEM(&s, "POST", "/v1/maps/mem/flush", JSON_HDR,
                  "{\"offset\": 0, \"length\": 10}", 27, 400, "unsupported");
    /* A file mapping flushes as before. */
    itest_create(&s, "disk", "{\"size\": 4096, \"writethrough\": true}");
    itest_request(&s, "POST", "/v1/maps/disk/flush", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    CHECK(strstr(r.body, "\"flushed\":4096") != NULL);
    itest_resp_free(&r);
    itest_cleanup(&s);
}

/* modified_at of `name` as its RFC 3339 text (fixed width, so strcmp
 * orders it). */
static void modified_at(const struct itest_server *s, const char *name,
                        char *buf, size_t len)
{
    char path[128];
    struct itest_resp r;
    json_t *j;
    const char *v;

    snprintf(path, sizeof(path), "/v1/maps/%s", name);
    itest_request(s, "GET", path, NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    j = itest_json(&r);
    v = json_string_value(json_object_get(j, "modified_at"));
    CHECK(v != NULL && strlen(v) == 24);
    snprintf(buf, len, "%s", v);
    json_decref(j);
    itest_resp_free(&r);
}

static void put_data(const struct itest_server *s, const char *name,
                     const char *bytes)
{
    char path[128];
    struct itest_resp r;

    snprintf(path, sizeof(path), "/v1/maps/%s/data", name);
    itest_request(s, "PUT", path, NULL, bytes, strlen(bytes), &r);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);
}

static void kill9_restart(struct itest_server *s)
{
    CHECK(kill(s->pid, SIGKILL) == 0);
    CHECK(waitpid(s->pid, NULL, 0) == s->pid);
    s->pid = 0;
    close(s->out_fd);
    itest_start(s, NULL);
}

static void expect_not_before(const char *got, const char *seen)
{
    if (strcmp(got, seen) < 0)
        TEST_FAIL("modified_at went back from %s to %s", seen, got);
}

TEST(modified_at_survives_kill9)
{
    struct itest_server s = {0};
    char created[32], m1[32], m2[32], got[32];
    struct itest_resp r;

    itest_start(&s, NULL);
    itest_create(&s, "t", "{\"size\": 65536}");
    modified_at(&s, "t", created, sizeof(created));
    usleep(20000);
    put_data(&s, "t", "first");
    modified_at(&s, "t", m1, sizeof(m1));
    CHECK(strcmp(m1, created) > 0);
    /* The page is still dirty: the kernel stamps the file only on the
     * first write to a clean page, so this one must be kept by us. */
    usleep(20000);
    put_data(&s, "t", "second");
    modified_at(&s, "t", m2, sizeof(m2));
    CHECK(strcmp(m2, m1) > 0);

    kill9_restart(&s);
    modified_at(&s, "t", got, sizeof(got));
    expect_not_before(got, m2);
    {
        itest_request(&s, "GET", "/v1/maps/t/data?length=6", NULL, NULL, 0,
                      &r);
        CHECK_EQ_U64(r.status, 200);
        CHECK_EQ_U64(r.len, 6);
        CHECK_MEM(r.body, "second", 6);
        itest_resp_free(&r);
    }

    /* A resize, then kill -9. */
    usleep(20000);
    itest_request(&s, "PATCH", "/v1/maps/t", JSON_HDR, "{\"size\": 131072}",
                  16, &r);
    CHECK_EQ_U64(r.status, 200);
    itest_resp_free(&r);
    modified_at(&s, "t", m1, sizeof(m1));
    CHECK(strcmp(m1, got) > 0);
    kill9_restart(&s);
    modified_at(&s, "t", got, sizeof(got));
    expect_not_before(got, m1);

    /* And a graceful restart after a write. */
    usleep(20000);
    put_data(&s, "t", "third");
    modified_at(&s, "t", m2, sizeof(m2));
    itest_stop(&s);
    itest_start(&s, NULL);
    modified_at(&s, "t", got, sizeof(got));
    expect_not_before(got, m2);
    itest_cleanup(&s);
}

TEST_MAIN()
