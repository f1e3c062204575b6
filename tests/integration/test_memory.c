/* test_memory.c - proves that memory is budgeted (README "Memory budgets",
 * api/openapi.yaml "memory_limit" and "body_memory_limit"):
 *  - memory-backed creates and grows past --max-memory answer 507
 *    memory_limit and allocate nothing (no memfd appears, RSS stays put),
 *    and deleting or shrinking gives the budget back;
 *  - the default budget keeps mmapd alive inside a 768 MiB memory cgroup
 *    when one request asks for 2 GiB of memory (on the old code the kernel
 *    OOM-killed it);
 *  - 200 clients each holding an unfinished 1 MiB PUT body cost at most the
 *    request-body budget (--max-body-memory, 64 MiB by default), not
 *    200 MiB; a fresh client is still answered, and SIGTERM still ends the
 *    server with status 0.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

#define MIB (1ull << 20)

/* True when the server holds a memfd for mapping `name` (sys.c labels
 * them "mmapd:NAME"): the only way memory for it could exist. */
static bool has_memfd(pid_t pid, const char *name)
{
    char dir[64], path[320], target[512], want[128];
    struct dirent *e;
    bool found = false;
    DIR *d;

    snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
    snprintf(want, sizeof(want), "/memfd:mmapd:%s ", name);
    d = opendir(dir);
    CHECK(d != NULL);
    while (!found && (e = readdir(d)) != NULL) {
        ssize_t n;

        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        n = readlink(path, target, sizeof(target) - 2);
        if (n <= 0)
            continue;
        target[n] = ' '; /* the link reads "/memfd:mmapd:NAME (deleted)" */
        target[n + 1] = '\0';
        found = strstr(target, want) != NULL;
    }
    closedir(d);
    return found;
}

static void put_map(const struct itest_server *s, const char *name,
                    uint64_t size, struct itest_resp *r)
{
    char path[128], body[128];

    snprintf(path, sizeof(path), "/v1/maps/%s", name);
    snprintf(body, sizeof(body), "{\"backing\":\"memory\",\"size\":%llu}",
             (unsigned long long)size);
    itest_request(s, "PUT", path, NULL, body, strlen(body), r);
}

static void resize_map(const struct itest_server *s, const char *name,
                       uint64_t size, struct itest_resp *r)
{
    char path[128], body[64];

    snprintf(path, sizeof(path), "/v1/maps/%s", name);
    snprintf(body, sizeof(body), "{\"size\":%llu}", (unsigned long long)size);
    itest_request(s, "PATCH", path,
                  (const char *const[]){"Content-Type: application/json",
                                        NULL},
                  body, strlen(body), r);
}

/* limits.<key> of GET /v1/info. */
static uint64_t info_limit(const struct itest_server *s, const char *key)
{
    struct itest_resp r;
    json_t *j, *v;
    uint64_t out;

    itest_request(s, "GET", "/v1/info", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    j = itest_json(&r);
    v = json_object_get(json_object_get(j, "limits"), key);
    if (!json_is_integer(v))
        TEST_FAIL("/v1/info has no integer limits.%s: %s", key, r.body);
    out = (uint64_t)json_integer_value(v);
    json_decref(j);
    itest_resp_free(&r);
    return out;
}

static void expect_healthy(const struct itest_server *s)
{
    struct itest_resp r;

    itest_request(s, "GET", "/healthz", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    itest_resp_free(&r);
}

/* The detail of a memory_limit answer names the budget and what is in use,
 * so an operator can tell a full budget from a too-large request. */
static void expect_memory_limit(struct itest_resp *r, uint64_t budget,
                                uint64_t used)
{
    char b[32], u[32];
    json_t *j;
    const char *detail;

    itest_expect_problem(r, 507, "memory_limit");
    j = itest_json(r);
    detail = json_string_value(json_object_get(j, "detail"));
    CHECK(detail != NULL);
    snprintf(b, sizeof(b), "%llu", (unsigned long long)budget);
    snprintf(u, sizeof(u), "%llu", (unsigned long long)used);
    if (!strstr(detail, b) || !strstr(detail, u))
        TEST_FAIL("detail \"%s\" does not name budget %s and use %s", detail,
                  b, u);
    json_decref(j);
}

TEST(memory_creates_and_grows_past_the_budget_are_refused)
{
    struct itest_server s = {0};
    struct itest_resp r;
    uint64_t rss_before, rss_after;
    char metrics_line[96];

    itest_start(&s, (const char *const[]){"--max-memory", "64MiB", NULL});
    CHECK_EQ_U64(info_limit(&s, "max_memory"), 64 * MIB);
    CHECK_EQ_U64(info_limit(&s, "memory_used"), 0);

    put_map(&s, "a", 48 * MIB, &r);
    CHECK_EQ_U64(r.status, 201);
    itest_resp_free(&r);
    CHECK_EQ_U64(info_limit(&s, "memory_used"), 48 * MIB);

    /* Past the budget: refused before anything is allocated, whether the
     * request is a little or far too large. */
    rss_before = itest_status_kib(s.pid, "VmRSS");
    put_map(&s, "b", 32 * MIB, &r);
    expect_memory_limit(&r, 64 * MIB, 48 * MIB);
    itest_resp_free(&r);
    put_map(&s, "huge", 2048 * MIB, &r);
    expect_memory_limit(&r, 64 * MIB, 48 * MIB);
    itest_resp_free(&r);
    CHECK(!has_memfd(s.pid, "b"));
    CHECK(!has_memfd(s.pid, "huge"));
    ITEST_PROBLEM(&s, "GET", "/v1/maps/b", NULL, NULL, 0, 404, "not_found");

    /* A grow past it is refused too, and the size stays. */
    resize_map(&s, "a", 96 * MIB, &r);
    expect_memory_limit(&r, 64 * MIB, 48 * MIB);
    itest_resp_free(&r);
    rss_after = itest_status_kib(s.pid, "VmRSS");
    fprintf(stderr, "VmRSS around the refusals: %llu -> %llu KiB\n",
            (unsigned long long)rss_before, (unsigned long long)rss_after);
    CHECK(rss_after < rss_before + 8 * 1024);
    CHECK_EQ_U64(info_limit(&s, "memory_used"), 48 * MIB);
    expect_healthy(&s);

    /* Shrinking gives the difference back. */
    resize_map(&s, "a", 16 * MIB, &r);
    CHECK_EQ_U64(r.status, 200);
    itest_resp_free(&r);
    CHECK_EQ_U64(info_limit(&s, "memory_used"), 16 * MIB);
    put_map(&s, "b", 32 * MIB, &r);
    CHECK_EQ_U64(r.status, 201);
    itest_resp_free(&r);
    /* 48 MiB in use; a grow within the budget succeeds. */
    resize_map(&s, "a", 32 * MIB, &r);
    CHECK_EQ_U64(r.status, 200);
    itest_resp_free(&r);
    CHECK_EQ_U64(info_limit(&s, "memory_used"), 64 * MIB);
    put_map(&s, "c", 4096, &r);
    expect_memory_limit(&r, 64 * MIB, 64 * MIB);
    itest_resp_free(&r);

    /* The figures are in /metrics as well. */
    itest_request(&s, "GET", "/metrics", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    snprintf(metrics_line, sizeof(metrics_line),
             "\nmmapd_memory_budget_bytes %llu\n",
             (unsigned long long)(64 * MIB));
    CHECK(strstr(r.body, metrics_line) != NULL);
    snprintf(metrics_line, sizeof(metrics_line),
             "\nmmapd_memory_used_bytes %llu\n",
             (unsigned long long)(64 * MIB));
    CHECK(strstr(r.body, metrics_line) != NULL);
    CHECK(strstr(r.body, "\nmmapd_memory_refused_total 4\n") != NULL);
    itest_resp_free(&r);

    /* Deleting frees the budget: a create that was refused now fits. */
    itest_request(&s, "DELETE", "/v1/maps/a", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);
    itest_request(&s, "DELETE", "/v1/maps/b", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);
    CHECK_EQ_U64(info_limit(&s, "memory_used"), 0);
    put_map(&s, "c", 64 * MIB, &r);
    CHECK_EQ_U64(r.status, 201);
    itest_resp_free(&r);
    /* File-backed mappings are not charged. */
    itest_create(&s, "f", "{\"size\": 1048576}");
    CHECK_EQ_U64(info_limit(&s, "memory_used"), 64 * MIB);
    itest_stop(&s);
    itest_cleanup(&s);
}

/* ---- many held request bodies ------------------------------------------ */

#define HOLDERS 200

/* Send as much of buf as the socket takes within the deadline; a peer that
 * answered early and closed ends it too. */
static void send_some(int fd, const char *buf, size_t len, int timeout_ms)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    size_t off = 0;

    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    while (off < len) {
        ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);

        if (n <= 0)
            return;
        off += (size_t)n;
    }
}

TEST(held_request_bodies_stay_within_the_body_budget)
{
    struct itest_server s = {0};
    struct itest_resp r;
    static int fds[HOLDERS];
    const size_t body_len = MIB;
    const size_t sent_len = MIB - 4096; /* all but the last page */
    char *body = malloc(body_len);
    char head[256];
    uint64_t rss_before, rss_held, budget;
    int n_open = 0;

    CHECK(body != NULL);
    memset(body, 'x', body_len);
    itest_start(&s, (const char *const[]){"--max-connections", "1000",
                                          "--max-connections-per-client",
                                          "0", NULL});
    budget = 64 * MIB; /* the documented default of --max-body-memory */
    itest_create(&s, "target", "{\"size\": 1048576}");
    rss_before = itest_status_kib(s.pid, "VmRSS");

    snprintf(head, sizeof(head),
             "PUT /v1/maps/target/data HTTP/1.1\r\nHost: 127.0.0.1\r\n"
             "Content-Length: %zu\r\n\r\n",
             body_len);
    for (int i = 0; i < HOLDERS; i++) {
        fds[i] = itest_connect(s.port, 0);
        if (fds[i] < 0)
            TEST_FAIL("connect %d: %s", i, strerror(errno));
        n_open++;
        send_some(fds[i], head, strlen(head), 2000);
        send_some(fds[i], body, sent_len, 2000);
    }
    /* Let the server take in what the sockets still hold. */
    usleep(500 * 1000);
    rss_held = itest_status_kib(s.pid, "VmRSS");
    fprintf(stderr,
            "VmRSS before %llu KiB, with %d held bodies %llu KiB "
            "(budget %llu KiB)\n",
            (unsigned long long)rss_before, n_open,
            (unsigned long long)rss_held, (unsigned long long)(budget >> 10));
    /* The bound: the body budget plus 32 MiB for everything else a
     * connection costs (libmicrohttpd's pool, socket bookkeeping). Without
     * the budget this was ~200 MiB above the start. */
    CHECK(rss_held < rss_before + (budget >> 10) + 32 * 1024);

    /* A fresh client is answered, and a refused body says why. */
    expect_healthy(&s);
    itest_request(&s, "PUT", "/v1/maps/target/data", NULL, body, 4096, &r);
    itest_expect_problem(&r, 503, "body_memory_limit");
    {
        char ra[16];

        CHECK(itest_header(&r, "Retry-After", ra, sizeof(ra)) != NULL);
    }
    itest_resp_free(&r);
    CHECK_EQ_U64(info_limit(&s, "max_body_memory"), budget);
    CHECK(info_limit(&s, "body_memory_used") <= budget);
    CHECK(info_limit(&s, "body_memory_used") >= budget - 2 * MIB);

    /* SIGTERM with the bodies still held: the drain timeout ends them and
     * the exit status is 0 (itest_stop checks both). */
    itest_stop(&s);
    for (int i = 0; i < n_open; i++)
        close(fds[i]);
    free(body);
    itest_cleanup(&s);
}

/* ---- under a memory cgroup --------------------------------------------- */

/* A cgroup directory made for this test, and the one to return to. */
struct cg {
    char dir[512];
    char home_procs[512];
};

static bool write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    bool ok;

    if (fd < 0)
        return false;
    ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
    return close(fd) == 0 && ok;
}

/* The path of this process's cgroup in the hierarchy line `prefix` of
 * /proc/self/cgroup ("0::" for v2, or a v1 line naming "memory"). */
static bool own_cgroup(bool v2, char *out, size_t len)
{
    char line[1024];
    FILE *f = fopen("/proc/self/cgroup", "r");
    bool found = false;

    if (f == NULL)
        return false;
    while (!found && fgets(line, sizeof(line), f) != NULL) {
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        char *nl = strchr(line, '\n');
        bool match;

        if (c2 == NULL)
            continue;
        if (nl != NULL)
            *nl = '\0';
        *c2 = '\0';
        match = v2 ? strcmp(line, "0") == 0 && c2 == c1 + 1
                   : strstr(c1 + 1, "memory") != NULL;
        if (match) {
            snprintf(out, len, "%s", c2 + 1);
            found = true;
        }
    }
    fclose(f);
    return found;
}

/* Make a child cgroup of our own with a memory limit of `limit` and move
 * this process into it: cgroup v2 (memory.max) where its memory controller
 * is on, else v1 (memory.limit_in_bytes). False when neither can be done
 * here (not root, no cgroup file system). */
static bool cgroup_enter(struct cg *cg, const char *limit)
{
    static const struct {
        bool v2;
        const char *root, *limit_file;
    } kinds[] = {
        {true, "/sys/fs/cgroup", "memory.max"},
        {false, "/sys/fs/cgroup/memory", "memory.limit_in_bytes"},
    };
    char own[256], path[600], pid[32];

    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        if (!own_cgroup(kinds[k].v2, own, sizeof(own)))
            continue;
        /* A child of our own group: its limit then holds whatever the
         * parents allow. (In v2 that needs the memory controller enabled
         * for children; where it is not, memory.max is missing and v1 or
         * the skip follows.) */
        snprintf(cg->dir, sizeof(cg->dir), "%s%s%smmapd-memtest-%s",
                 kinds[k].root, own, own[strlen(own) - 1] == '/' ? "" : "/",
                 pid);
        snprintf(cg->home_procs, sizeof(cg->home_procs), "%s%s/cgroup.procs",
                 kinds[k].root, own);
        if (mkdir(cg->dir, 0755) != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", cg->dir, kinds[k].limit_file);
        if (write_file(path, limit)) {
            snprintf(path, sizeof(path), "%s/cgroup.procs", cg->dir);
            if (write_file(path, pid))
                return true;
        }
        rmdir(cg->dir);
    }
    return false;
}

/* The group made by cgroup_enter, removed at exit however the test ends
 * (itest's own exit handler has stopped the server by then). */
static struct cg cg_made;

static void cgroup_remove(void)
{
    char pid[32];

    if (cg_made.dir[0] == '\0')
        return;
    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    (void)write_file(cg_made.home_procs, pid); /* in case we are still in */
    (void)rmdir(cg_made.dir);
}

static void cgroup_leave(struct cg *cg)
{
    char pid[32];

    snprintf(pid, sizeof(pid), "%d", (int)getpid());
    CHECK(write_file(cg->home_procs, pid));
}

TEST(default_budget_keeps_mmapd_alive_in_a_768mib_cgroup)
{
    struct itest_server s = {0};
    struct itest_resp r;
    struct cg cg = {0};
    uint64_t budget;

    if (!cgroup_enter(&cg, "805306368")) { /* 768 MiB */
        fprintf(stderr, "no memory cgroup can be made here: skipped\n");
        exit(77);
    }
    cg_made = cg;
    atexit(cgroup_remove);
    /* Started from inside the group, the server is in it from its first
     * byte; the test process leaves again at once. */
    itest_start(&s, NULL);
    cgroup_leave(&cg);
    fprintf(stderr, "mmapd %d runs in %s\n", (int)s.pid, cg.dir);

    put_map(&s, "big", 2048 * MIB, &r);
    budget = info_limit(&s, "max_memory");
    fprintf(stderr, "default memory budget: %llu bytes\n",
            (unsigned long long)budget);
    expect_memory_limit(&r, budget, 0);
    itest_resp_free(&r);
    CHECK(budget <= 768 * MIB / 4);
    /* Alive and serving; a mapping within the budget works. */
    expect_healthy(&s);
    put_map(&s, "fits", 64 * MIB, &r);
    CHECK_EQ_U64(r.status, 201);
    itest_resp_free(&r);
    itest_stop(&s);
    itest_cleanup(&s);
}

TEST_MAIN()
