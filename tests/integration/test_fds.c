/* test_fds.c - running out of file descriptors is a 503 with Retry-After,
 * and the server recovers when descriptors free up.
 *
 * Proves: with the server's open-file limit lowered (prlimit on the
 * running process, both soft and hard, so its start-up raise cannot undo
 * it) to a few descriptors above what it holds, creating file mappings
 * (each keeps its backing open; the catalog store keeps two open from its
 * first save on, so one mapping is made before counting) ends in 503 out_of_descriptors with a Retry-After header, not
 * 500 io_error; nothing half-made is left (no catalog entry); deleting a
 * mapping frees a descriptor and the same create then succeeds; and the
 * server exits 0 on SIGTERM.
 *
 * And, with the open-file limit (soft and hard) at 256 from the start (the
 * `ulimit -n 256` of the catalog-at-scale issue), 5,000 file mappings, each
 * holding its own bytes, are created and all read back right, before and
 * after a restart under the same limit: a mapping not in use holds no
 * descriptor (mapcore/src/fdcache.c), and the server never holds more than
 * the limit.
 */
#include <sys/wait.h>
#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include "itest.h"

static unsigned open_fds(pid_t pid)
{
    char path[64];
    unsigned n = 0;
    DIR *d;
    struct dirent *e;

    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    d = opendir(path);
    CHECK(d != NULL);
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.')
            n++;
    }
    closedir(d);
    return n;
}

/* Wait (at most 2 s) until the server holds want descriptors: a closed
 * client connection is closed by the server a moment later. */
static void settle(pid_t pid, unsigned want)
{
    for (int i = 0; i < 200 && open_fds(pid) != want; i++)
        usleep(10000);
    CHECK_EQ_U64(open_fds(pid), want);
}

static long create(const struct itest_server *s, const char *name,
                   struct itest_resp *r)
{
    char path[64];
    const char *json = "{\"size\": 4096}";

    snprintf(path, sizeof(path), "/v1/maps/%s", name);
    itest_request(s, "PUT", path,
                  (const char *const[]){"Content-Type: application/json",
                                        NULL},
                  json, strlen(json), r);
    return r->status;
}

TEST(out_of_descriptors_is_503)
{
    struct itest_server s = {0};
    struct itest_resp r;
    unsigned base, made = 0;
    char name[16], hdr[32];
    struct rlimit rl;

    itest_start(&s, NULL);
    base = open_fds(s.pid);
    CHECK_EQ_U64(create(&s, "seed", &r), 201);
    itest_resp_free(&r);
    base += 3; /* its backing, the store and the store's log */
    settle(s.pid, base);
    /* Room for the connection, a backing file and the catalog's two, for
     * a couple of mappings; then the next create must run out. */
    rl.rlim_cur = rl.rlim_max = base + 6;
    CHECK(prlimit(s.pid, RLIMIT_NOFILE, &rl, NULL) == 0);
    for (;;) {
        CHECK(made < 8);
        snprintf(name, sizeof(name), "m%u", made);
        if (create(&s, name, &r) != 201)
            break;
        itest_resp_free(&r);
        made++;
        settle(s.pid, base + made);
    }
    itest_expect_problem(&r, 503, "out_of_descriptors");
    CHECK(itest_header(&r, "Retry-After", hdr, sizeof(hdr)) != NULL);
    CHECK(atoi(hdr) >= 1);
    itest_resp_free(&r);
    CHECK(made >= 1);
    itest_request(&s, "GET", "/v1/maps", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    CHECK(strstr(r.body, name) == NULL); /* nothing half-made */
    itest_resp_free(&r);
    settle(s.pid, base + made);

    /* A descriptor comes back: the same create succeeds. */
    itest_request(&s, "DELETE", "/v1/maps/m0", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);
    settle(s.pid, base + made - 1);
    CHECK_EQ_U64(create(&s, name, &r), 201);
    itest_resp_free(&r);
    itest_cleanup(&s);
}

enum { MANY = 5000, FD_LIMIT = 256 };

/* Create MANY mappings, each with its name written at offset 100. */
static void create_many(const struct itest_server *s)
{
    for (int i = 0; i < MANY; i++) {
        struct itest_resp r;
        char name[16], path[64];

        snprintf(name, sizeof(name), "f%04d", i);
        if (create(s, name, &r) != 201)
            TEST_FAIL("create %s: %ld", name, r.status);
        itest_resp_free(&r);
        snprintf(path, sizeof(path), "/v1/maps/%s/data?offset=100", name);
        itest_request(s, "PUT", path,
                      (const char *const[]){
                          "Content-Type: application/octet-stream", NULL},
                      name, strlen(name), &r);
        if (r.status != 204)
            TEST_FAIL("write %s: %ld", name, r.status);
        itest_resp_free(&r);
    }
}

static void read_many(const struct itest_server *s)
{
    for (int i = 0; i < MANY; i++) {
        struct itest_resp r;
        char name[16], path[64];

        snprintf(name, sizeof(name), "f%04d", i);
        snprintf(path, sizeof(path), "/v1/maps/%s/data?offset=100&length=5",
                 name);
        itest_request(s, "GET", path, NULL, NULL, 0, &r);
        if (r.status != 200 || r.len != 5 || memcmp(r.body, name, 5) != 0)
            TEST_FAIL("read %s: %ld \"%.*s\"", name, r.status, (int)r.len,
                      r.body);
        itest_resp_free(&r);
    }
    CHECK(open_fds(s->pid) <= FD_LIMIT);
}

TEST(more_mappings_than_descriptors_all_readable)
{
    struct itest_server s = {0};
    pid_t pid = fork();
    int status = 0;

    CHECK(pid >= 0);
    if (pid == 0) {
        /* Inherited by the server; the hard limit stops its raise. */
        struct rlimit rl = {.rlim_cur = FD_LIMIT, .rlim_max = FD_LIMIT};

        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            _exit(2);
        itest_start(&s, NULL);
        create_many(&s);
        read_many(&s);
        itest_stop(&s);
        itest_start(&s, NULL);
        read_many(&s);
        itest_cleanup(&s);
        _exit(0);
    }
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK_EQ_U64(WEXITSTATUS(status), 0);
}

TEST_MAIN()
