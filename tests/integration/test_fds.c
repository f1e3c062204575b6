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
 */
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

TEST_MAIN()
