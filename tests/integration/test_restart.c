/* test_restart.c - proves the life cycle of the process: SIGTERM ends it
 * with status 0 after finishing the request in flight; file-backed mappings
 * and their bytes survive a restart while memory-backed ones don't; a
 * corrupt catalog stops the server from starting (clear message, non-zero
 * status, file untouched); and the command line refuses what it must:
 * --token-file, TLS, non-loopback addresses without --allow-anonymous,
 * unknown flags, bad values. --help and --version work.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

TEST(sigterm_exits_zero)
{
    struct itest_server s = {0};

    itest_start(&s, NULL);
    itest_stop(&s); /* asserts exit status 0 */
    itest_start(&s, NULL);
    itest_cleanup(&s);
}

TEST(file_mappings_survive_restart)
{
    struct itest_server s = {0};
    struct itest_resp r;
    char pat[20000];
    char *data;
    size_t len;
    json_t *j;

    itest_start(&s, NULL);
    itest_create(&s, "keep", "{\"size\": 20000, \"file\": \"k/keep.bin\"}");
    itest_create(&s, "gone", "{\"backing\": \"memory\", \"size\": 4096}");
    itest_pattern(pat, sizeof(pat), 99);
    itest_request(&s, "PUT", "/v1/maps/keep/data", NULL, pat, sizeof(pat),
                  &r);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);
    itest_request(&s, "PUT", "/v1/maps/gone/data", NULL, "volatile", 8, &r);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);
    itest_stop(&s);

    itest_start(&s, NULL);
    itest_request(&s, "GET", "/v1/maps/keep", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    j = itest_json(&r);
    CHECK_EQ_U64(json_integer_value(json_object_get(j, "size")), 20000);
    CHECK_EQ_STR(json_string_value(json_object_get(j, "file")),
                 "k/keep.bin");
    json_decref(j);
    itest_resp_free(&r);
    data = itest_get_data(&s, "keep", &len);
    CHECK_EQ_U64(len, sizeof(pat));
    CHECK_MEM(data, pat, sizeof(pat));
    free(data);
    ITEST_PROBLEM(&s, "GET", "/v1/maps/gone", NULL, NULL, 0, 404,
                  "not_found");

    /* And once more, after a resize and a delete. */
    itest_request(&s, "PATCH", "/v1/maps/keep",
                  (const char *const[]){"Content-Type: application/json",
                                        NULL},
                  "{\"size\": 5000}", 14, &r);
    CHECK_EQ_U64(r.status, 200);
    itest_resp_free(&r);
    itest_create(&s, "temp", "{\"size\": 100}");
    itest_request(&s, "DELETE", "/v1/maps/temp", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);
    itest_stop(&s);
    itest_start(&s, NULL);
    data = itest_get_data(&s, "keep", &len);
    CHECK_EQ_U64(len, 5000);
    CHECK_MEM(data, pat, 5000);
    free(data);
    ITEST_PROBLEM(&s, "GET", "/v1/maps/temp", NULL, NULL, 0, 404,
                  "not_found");
    itest_cleanup(&s);
}

/* Whether a connection to port is refused outright (nothing listens). */
static bool connection_refused(uint16_t port)
{
    int fd = itest_connect(port, 0);

    if (fd >= 0)
        close(fd);
    return fd < 0 && errno == ECONNREFUSED;
}

/* Whether a new connection to port gets an answer to a request: false when
 * the connection is refused or closed without a byte of response. */
static bool new_connection_is_served(uint16_t port)
{
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    struct pollfd pfd = {.fd = itest_connect(port, 0), .events = POLLIN};
    char buf[64];
    bool served = false;

    if (pfd.fd < 0)
        return false;
    if (send(pfd.fd, req, sizeof(req) - 1, MSG_NOSIGNAL) > 0 &&
        poll(&pfd, 1, 5000) == 1)
        served = recv(pfd.fd, buf, sizeof(buf), 0) > 0;
    close(pfd.fd);
    return served;
}

/* A GET of 48 MiB is in flight when SIGTERM arrives: the server stops
 * accepting (a new connection is refused), finishes sending it, and only
 * then exits 0. */
TEST(sigterm_finishes_inflight_request)
{
    enum { SIZE = 48 << 20 };
    struct itest_server s = {0};
    static const char req[] = "GET /v1/maps/big/data HTTP/1.1\r\nHost: x\r\n"
                              "Connection: close\r\n\r\n";
    char *buf = malloc(SIZE + 4096);
    size_t got = 0;
    const char *body;
    int fd, status;

    CHECK(buf != NULL);
    itest_start(&s, NULL);
    itest_create(&s, "big", "{\"size\": 50331648}");

    /* A small receive buffer keeps most of the body inside the server. */
    fd = itest_connect(s.port, 64 * 1024);
    CHECK(fd >= 0);
    CHECK(send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) ==
          (ssize_t)(sizeof(req) - 1));
    /* Wait for the first bytes, so the request is surely in flight. */
    {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        CHECK(poll(&pfd, 1, 10000) == 1);
    }
    CHECK(kill(s.pid, SIGTERM) == 0);
    usleep(200 * 1000);
    CHECK(!new_connection_is_served(s.port));
    /* Not accepted and dropped: nothing listens any more. */
    CHECK(connection_refused(s.port));
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        ssize_t n;

        if (poll(&pfd, 1, 10000) != 1)
            TEST_FAIL("stalled after %zu bytes", got);
        n = recv(fd, buf + got, SIZE + 4096 - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
        if (got == SIZE + 4096)
            break;
    }
    close(fd);
    CHECK(strncmp(buf, "HTTP/1.1 200", 12) == 0);
    body = memmem(buf, got, "\r\n\r\n", 4);
    CHECK(body != NULL);
    body += 4;
    CHECK_EQ_U64(got - (size_t)(body - buf), SIZE);

    /* The process exits 0 on its own. */
    for (int i = 0; i < 1500; i++) {
        if (waitpid(s.pid, &status, WNOHANG) == s.pid) {
            s.pid = 0;
            break;
        }
        usleep(10000);
    }
    CHECK(s.pid == 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    free(buf);
    itest_cleanup(&s);
}

/* Clients that open a connection, ask for /healthz and close, over and
 * over, until told to stop. */
struct churn {
    uint16_t port;
    atomic_bool stop;
};

static void *churn_client(void *arg)
{
    struct churn *c = arg;
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n"
                              "Connection: close\r\n\r\n";

    /* Bounded: a round lasts well under a second. */
    for (int i = 0; i < 100000 && !atomic_load(&c->stop); i++) {
        char buf[512];
        int fd = itest_connect(c->port, 0);

        if (fd < 0)
            continue; /* refused once SIGTERM closed the listener */
        if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) > 0) {
            struct pollfd pfd = {.fd = fd, .events = POLLIN};

            while (poll(&pfd, 1, 2000) == 1 &&
                   recv(fd, buf, sizeof(buf), 0) > 0)
                ;
        }
        close(fd);
    }
    return NULL;
}

/* SIGTERM while connections come and go on every worker thread: the server
 * stops accepting and exits 0, every time. libmicrohttpd 0.9.75's
 * MHD_quiesce_daemon() races its own epoll workers here and aborts the
 * process now and then ("Failed to remove listen FD from epoll set"). */
TEST(sigterm_during_connection_churn_exits_zero)
{
    enum { ROUNDS = 12, CLIENTS = 4 };
    struct itest_server s = {0};
    const char *const args[] = {"--threads", "8", NULL};

    for (int round = 0; round < ROUNDS; round++) {
        struct churn c = {0};
        pthread_t t[CLIENTS];

        itest_start(&s, args);
        c.port = s.port;
        atomic_init(&c.stop, false);
        for (int i = 0; i < CLIENTS; i++)
            CHECK(pthread_create(&t[i], NULL, churn_client, &c) == 0);
        usleep(30 * 1000);
        itest_stop(&s); /* SIGTERM; asserts exit status 0 */
        atomic_store(&c.stop, true);
        for (int i = 0; i < CLIENTS; i++)
            pthread_join(t[i], NULL);
    }
    itest_cleanup(&s);
}

TEST(corrupt_catalog_refuses_to_start)
{
    struct itest_server s = {0};
    char path[512], out[8192], back[64];
    static const char garbage[] = "{ this is not a catalog \x01\x02";
    int fd;
    ssize_t n;

    itest_start(&s, NULL);
    itest_create(&s, "m", "{\"size\": 4096}");
    itest_stop(&s);

    snprintf(path, sizeof(path), "%s/.mmapd/catalog.db", s.dir);
    fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    CHECK(fd >= 0);
    CHECK(write(fd, garbage, sizeof(garbage) - 1) ==
          (ssize_t)(sizeof(garbage) - 1));
    close(fd);

    {
        const char *const args[] = {"--listen", "127.0.0.1:0", "--data-dir",
                                    s.dir, NULL};
        int code = itest_run(args, 15, out, sizeof(out));
        if (code == 0)
            TEST_FAIL("started with a corrupt catalog: %s", out);
    }
    if (!strstr(out, "catalog.db") || !strstr(out, "corrupt"))
        TEST_FAIL("message does not name the corrupt file: \"%s\"", out);
    CHECK(strstr(out, "mmapd listening on") == NULL);

    /* The file is exactly as we left it. */
    fd = open(path, O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    n = read(fd, back, sizeof(back));
    close(fd);
    CHECK_EQ_U64(n, sizeof(garbage) - 1);
    CHECK_MEM(back, garbage, sizeof(garbage) - 1);
    itest_cleanup(&s);
}

/* Run mmapd with args (data dir is a fresh temp dir); require exit status
 * `code` and every needle in its output. */
static void expect_exit(const char *const *args, int code,
                        const char *const *needles)
{
    char out[16384];
    int got = itest_run(args, 10, out, sizeof(out));

    if (got != code)
        TEST_FAIL("%s: exit %d, want %d; output \"%.500s\"", args[0], got,
                  code, out);
    for (size_t i = 0; needles && needles[i]; i++) {
        if (!strstr(out, needles[i]))
            TEST_FAIL("%s: output lacks \"%s\": \"%.500s\"", args[0],
                      needles[i], out);
    }
    CHECK(strstr(out, "mmapd listening on") == NULL || code == 0);
}

#define A(...) ((const char *const[]){__VA_ARGS__, NULL})

TEST(command_line_refusals)
{
    char dir[] = "/tmp/mmapd-cli-XXXXXX";

    CHECK(mkdtemp(dir) != NULL);
    /* Files named by flags are read at start: a bad one stops the server
     * (status 1, it could not start), a missing partner flag is a command
     * line error (status 2). */
    expect_exit(A("--token-file", "/dev/null", "--data-dir", dir), 1,
                A("token file /dev/null is not a regular file",
                  "refusing to start"));
    expect_exit(A("--tls-cert", "c.pem", "--tls-key", "k.pem", "--data-dir",
                  dir),
                1, A("cannot open the TLS certificate c.pem"));
    expect_exit(A("--tls-cert", "c.pem", "--data-dir", dir), 2,
                A("--tls-cert needs --tls-key"));
    expect_exit(A("--listen", "0.0.0.0:0", "--data-dir", dir), 2,
                A("--allow-anonymous"));
    expect_exit(A("--frobnicate", "--data-dir", dir), 2,
                A("--frobnicate", "usage", "--listen"));
    expect_exit(A("--view-size", "3000", "--data-dir", dir), 2,
                A("--view-size"));
    expect_exit(A("--threads", "-1", "--data-dir", dir), 2, A("--threads"));
    expect_exit(A("--listen", "nowhere", "--data-dir", dir), 2,
                A("--listen"));
    expect_exit(A("--help"), 0,
                A("--listen", "--data-dir", "MMAPD_DATA_DIR", "--view-size",
                  "--max-map-size", "--token-file", "--timeout"));
    expect_exit(A("--version"), 0, A("mmapd "));
    {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        CHECK(system(cmd) == 0);
    }
}

TEST(listen_port_in_use)
{
    struct itest_server a = {0};
    char port[32], out[4096];
    char dir[] = "/tmp/mmapd-busy-XXXXXX";

    /* A data directory of its own, so only the port is contended. */
    CHECK(mkdtemp(dir) != NULL);
    itest_start(&a, NULL);
    snprintf(port, sizeof(port), "127.0.0.1:%u", (unsigned)a.port);
    {
        const char *const args[] = {"--listen", port, "--data-dir", dir,
                                    NULL};
        int code = itest_run(args, 10, out, sizeof(out));
        if (code == 0)
            TEST_FAIL("second server on a busy port exited 0: %s", out);
    }
    if (!strstr(out, "cannot listen"))
        TEST_FAIL("no clear message: \"%s\"", out);
    itest_cleanup(&a);
    {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        CHECK(system(cmd) == 0);
    }
}

/* More mappings than file descriptors: the server raises its soft limit to
 * the hard one by itself, and where even that is lower than the number of
 * mappings it still starts and serves every one of them, because idle
 * backing files are closed (fdcache.c). (Before the open-file cache it
 * refused to start here.) */
/* Read mappings m00, m<step>, ... below count: each is 4096 bytes. */
static void read_maps(const struct itest_server *s, int count, int step)
{
    for (int i = 0; i < count; i += step) {
        char name[16];
        size_t len = 0;
        char *data;

        snprintf(name, sizeof name, "m%02d", i);
        data = itest_get_data(s, name, &len);
        CHECK_EQ_U64(len, 4096);
        free(data);
    }
}

TEST(more_mappings_than_descriptors_start)
{
    enum { MAPS = 48 };
    struct itest_server s = {0};
    struct rlimit saved, low;

    itest_start(&s, NULL);
    for (int i = 0; i < MAPS; i++) {
        char name[16];

        snprintf(name, sizeof name, "m%02d", i);
        itest_create(&s, name, "{\"size\": 4096}");
    }
    itest_stop(&s);

    /* The child inherits the limit. A soft limit below the hard one is
     * raised: the server starts. */
    CHECK(getrlimit(RLIMIT_NOFILE, &saved) == 0);
    low = (struct rlimit){.rlim_cur = 32, .rlim_max = saved.rlim_max};
    CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
    itest_start(&s, NULL);
    CHECK(setrlimit(RLIMIT_NOFILE, &saved) == 0);
    read_maps(&s, MAPS, MAPS - 1);
    itest_stop(&s);

    /* A hard limit below the number of mappings: it starts all the same,
     * and every mapping reads. Lowered in a child, since raising a hard
     * limit back needs CAP_SYS_RESOURCE. */
    pid_t pid = fork();
    int status = 0;

    CHECK(pid >= 0);
    if (pid == 0) {
        low = (struct rlimit){.rlim_cur = 32, .rlim_max = 32};
        if (setrlimit(RLIMIT_NOFILE, &low) != 0)
            _exit(2);
        itest_start(&s, NULL);
        read_maps(&s, MAPS, 1);
        itest_stop(&s);
        _exit(0);
    }
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK_EQ_U64(WEXITSTATUS(status), 0);
    itest_cleanup(&s);
}

TEST_MAIN()
