/* test_flood.c - floods of connections are a limit, never a lock-up.
 *
 * Proves with raw sockets that connections past --max-connections or
 * --max-connections-per-client are closed at once and never served; that
 * after floods of 41 connections at a limit of 20 (which locked up
 * libmicrohttpd 0.9.75, see server/conns.h) and of 1,030 at the default
 * limit every slot serves again and SIGTERM still ends the server; that
 * idle, trickling and half-sent requests are dropped on their deadlines
 * (--timeout, --header-timeout, --min-receive-rate) so the slots come back;
 * and that a body sent at an honest rate is never dropped.
 */
#include <errno.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

static const char healthz[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

static int connect_raw(const struct itest_server *s)
{
    int fd = itest_connect(s->port, 0);

    CHECK(fd >= 0);
    return fd;
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* True when the server closes fd (EOF or reset) within timeout_ms. */
static bool closed_within(int fd, int timeout_ms)
{
    char b[256];
    struct pollfd p = {.fd = fd, .events = POLLIN};

    for (int i = 0; i < 100; i++) {
        if (poll(&p, 1, timeout_ms) <= 0)
            return false;
        ssize_t n = recv(fd, b, sizeof(b), 0);
        if (n <= 0)
            return true;
    }
    return false;
}

/* True when the server sends nothing on fd for timeout_ms (it may close
 * it): a connection past the limit is never served. */
static bool not_served(int fd, int timeout_ms)
{
    char b[64];
    struct pollfd p = {.fd = fd, .events = POLLIN};

    if (poll(&p, 1, timeout_ms) <= 0)
        return true;
    return recv(fd, b, sizeof(b), 0) <= 0;
}

/* True when fd, on which a request was sent, gets a "200" status line
 * within timeout_ms. */
static bool answered_200(int fd, int timeout_ms)
{
    char b[512];
    size_t used = 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};

    while (used < 12) {
        if (poll(&p, 1, timeout_ms) <= 0)
            return false;
        ssize_t n = recv(fd, b + used, sizeof(b) - 1 - used, 0);
        if (n <= 0)
            return false;
        used += (size_t)n;
    }
    return strncmp(b, "HTTP/1.1 200", 12) == 0;
}

/* Open n connections (at most 64) at once, send a request on each and
 * require every one to be answered 200: every slot serves, none is stuck. */
static void all_slots_serve(const struct itest_server *s, int n)
{
    int fds[64];

    CHECK(n <= 64);
    for (int i = 0; i < n; i++) {
        fds[i] = connect_raw(s);
        CHECK_EQ_U64(send(fds[i], healthz, sizeof(healthz) - 1, MSG_NOSIGNAL),
                     sizeof(healthz) - 1);
    }
    for (int i = 0; i < n; i++) {
        if (!answered_200(fds[i], 3000))
            TEST_FAIL("connection %d of %d was not served", i + 1, n);
    }
    for (int i = 0; i < n; i++)
        close(fds[i]);
    usleep(200 * 1000); /* let the server notice the closes */
}

/* Open n connections, hold them hold_ms, close them all. */
static void flood(const struct itest_server *s, int *fds, int n, int hold_ms)
{
    for (int i = 0; i < n; i++)
        fds[i] = connect_raw(s);
    usleep((useconds_t)hold_ms * 1000);
    for (int i = 0; i < n; i++)
        close(fds[i]);
}

/* A dropped request's partial body was never applied: mapping "m" does not
 * start with the first bytes that body sent. */
static void check_never_applied(const struct itest_server *s,
                                const char *sent)
{
    size_t len = 0;
    char *d = itest_get_data(s, "m", &len);

    CHECK(len >= strlen(sent));
    CHECK(memcmp(d, sent, strlen(sent)) != 0);
    free(d);
}

TEST(slow_client_is_dropped)
{
    struct itest_server s = {0};
    static const char half[] = "PUT /v1/maps/m/data HTTP/1.1\r\nHost: x\r\n"
                               "Content-Length: 100\r\n\r\nonly a part";
    int fd, fd2;

    itest_start(&s, (const char *const[]){"--timeout", "1", NULL});
    itest_create(&s, "m", "{\"size\": 4096}");
    fd = connect_raw(&s);
    CHECK_EQ_U64(send(fd, half, sizeof(half) - 1, MSG_NOSIGNAL),
                 sizeof(half) - 1);
    fd2 = connect_raw(&s);
    CHECK_EQ_U64(send(fd2, "GET /v1/ma", 10, MSG_NOSIGNAL), 10);
    all_slots_serve(&s, 1); /* served while the slow ones hang */
    CHECK(closed_within(fd, 4000));
    CHECK(closed_within(fd2, 4000));
    close(fd);
    close(fd2);
    all_slots_serve(&s, 1);
    check_never_applied(&s, "only");
    itest_cleanup(&s);
}

TEST(connections_over_the_limit_are_refused)
{
    struct itest_server s = {0};
    int held[4], extra[4];

    /* Two threads: the limit is the server's, not split between
     * libmicrohttpd's workers. At the limit each extra connection is
     * accepted and closed at once, never served. */
    itest_start(&s, (const char *const[]){"--max-connections", "4", "--threads",
                                          "2", NULL});
    for (int i = 0; i < 4; i++)
        held[i] = connect_raw(&s);
    usleep(200 * 1000);
    for (int i = 0; i < 4; i++) {
        extra[i] = connect_raw(&s);
        send(extra[i], healthz, sizeof(healthz) - 1, MSG_NOSIGNAL);
    }
    for (int i = 0; i < 4; i++)
        CHECK(not_served(extra[i], 500));
    for (int i = 0; i < 4; i++)
        CHECK(closed_within(extra[i], 1500));
    for (int i = 0; i < 4; i++)
        close(held[i]);
    for (int i = 0; i < 4; i++)
        close(extra[i]);
    usleep(200 * 1000); /* let the server notice the closes */
    all_slots_serve(&s, 4);
    itest_cleanup(&s);
}

TEST(connections_per_client_over_the_limit_are_refused)
{
    struct itest_server s = {0};
    int fds[6], refused = 0;

    itest_start(&s, (const char *const[]){"--max-connections-per-client", "3",
                                          "--threads", "1", NULL});
    for (int i = 0; i < 6; i++)
        fds[i] = connect_raw(&s);
    for (int i = 0; i < 6; i++)
        refused += closed_within(fds[i], 1500);
    for (int i = 0; i < 6; i++)
        close(fds[i]);
    CHECK_EQ_U64(refused, 3);
    usleep(200 * 1000);
    /* The flood over the per-client limit left no slot behind. */
    for (int round = 0; round < 3; round++) {
        int many[20];

        flood(&s, many, 20, 300);
    }
    usleep(200 * 1000);
    all_slots_serve(&s, 3);
    itest_cleanup(&s);
}

/* The break found by an outside probe: 41 connections at a limit of 20
 * locked libmicrohttpd's workers up for good (empty replies, no reaping,
 * SIGTERM ignored). Three rounds in a row did so every time. */
TEST(flood_past_the_limit_never_locks_up)
{
    struct itest_server s = {0};
    int fds[41];

    itest_start(&s, (const char *const[]){"--max-connections", "20",
                                          "--threads", "2", NULL});
    for (int round = 0; round < 3; round++) {
        flood(&s, fds, 41, 1000);
        usleep(200 * 1000);
        all_slots_serve(&s, 20); /* both workers, every slot */
    }
    itest_stop(&s); /* SIGTERM ends it, exit 0 */
    itest_cleanup(&s);
}

TEST(flood_past_the_default_limit_never_locks_up)
{
    struct itest_server s = {0};
    struct rlimit rl;
    enum { N = 1030 };
    static int fds[N];

    /* This process needs a descriptor per connection. */
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    if (rl.rlim_cur < N + 64) {
        rl.rlim_cur = rl.rlim_max;
        if (rl.rlim_cur < N + 64 || setrlimit(RLIMIT_NOFILE, &rl) != 0)
            TEST_FAIL("need %d descriptors, the hard limit is %llu", N + 64,
                      (unsigned long long)rl.rlim_max);
    }
    itest_start(&s, NULL);
    flood(&s, fds, N, 1000);
    usleep(500 * 1000);
    all_slots_serve(&s, 64);
    itest_stop(&s);
    itest_cleanup(&s);
}

/* SIGTERM while the connection table is full of idle, half-sent and
 * over-the-limit connections: the server still exits 0 in time. */
TEST(sigterm_during_a_flood)
{
    struct itest_server s = {0};
    static const char half[] = "PUT /v1/maps/m/data HTTP/1.1\r\nHost: x\r\n"
                               "Content-Length: 100\r\n\r\nhalf";
    int fds[41];

    itest_start(&s, (const char *const[]){"--max-connections", "20",
                                          "--threads", "2", NULL});
    itest_create(&s, "m", "{\"size\": 4096}");
    for (int i = 0; i < 41; i++) {
        fds[i] = connect_raw(&s);
        if (i % 3 == 0)
            send(fds[i], half, sizeof(half) - 1, MSG_NOSIGNAL);
        else if (i % 3 == 1)
            send(fds[i], "GET /v1/m", 9, MSG_NOSIGNAL);
    }
    usleep(500 * 1000);
    itest_stop(&s); /* within its drain timeout, exit 0 */
    for (int i = 0; i < 41; i++)
        close(fds[i]);
    itest_cleanup(&s);
}

/* Trickle one byte to each open fd every 200 ms for at most limit_ms;
 * returns how many the server closed in that time. */
static int trickle(int *fds, int n, const char *bytes, size_t len,
                   int limit_ms)
{
    bool closed[64] = {false};
    int nclosed = 0;
    uint64_t end = now_ms() + (uint64_t)limit_ms;

    CHECK(n <= 64);
    for (size_t k = 0; nclosed < n && now_ms() < end; k++) {
        for (int i = 0; i < n; i++) {
            char b[256];

            if (closed[i])
                continue;
            if (recv(fds[i], b, sizeof(b), MSG_DONTWAIT) == 0 ||
                send(fds[i], bytes + k % len, 1, MSG_NOSIGNAL) < 0) {
                closed[i] = true;
                nclosed++;
            }
        }
        usleep(200 * 1000);
    }
    return nclosed;
}

/* Fill all 4 slots of a server started with flag=2 (seconds) with
 * connections that send `first`, then trickle `slow` a byte at a time:
 * each must be dropped within 5 s, and the slots serve again. */
static void trickled_slots_come_back(const char *flag, const char *first,
                                     const char *slow)
{
    struct itest_server s = {0};
    int fds[4];

    itest_start(&s, (const char *const[]){"--max-connections", "4", flag, "2",
                                          NULL});
    for (int i = 0; i < 4; i++) {
        fds[i] = connect_raw(&s);
        CHECK_EQ_U64(send(fds[i], first, strlen(first), MSG_NOSIGNAL),
                     strlen(first));
    }
    /* 2 s of deadline, checked 4 times a second: 5 s is plenty. */
    CHECK_EQ_U64(trickle(fds, 4, slow, strlen(slow), 5000), 4);
    for (int i = 0; i < 4; i++)
        close(fds[i]);
    usleep(200 * 1000);
    all_slots_serve(&s, 4);
    itest_cleanup(&s);
}

/* Slowloris: connections that send a request head one byte at a time keep
 * libmicrohttpd's idle timer fresh forever; the head deadline drops them. */
TEST(trickling_heads_are_dropped)
{
    trickled_slots_come_back("--header-timeout",
                             "GET /healthz HTTP/1.1\r\nHost: x\r\n",
                             "X-Slow: aaaaaaaa\r\n");
}

/* The same for a request line trickled byte by byte: --timeout bounds
 * the wait for a whole request line, activity or not. */
TEST(trickling_request_lines_are_dropped)
{
    trickled_slots_come_back("--timeout", "GET /v1/ma",
                             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
}

/* A body trickled below --min-receive-rate is dropped once its grace
 * (--header-timeout) is spent, and nothing of it is applied. */
TEST(trickling_body_is_dropped)
{
    struct itest_server s = {0};
    static const char head[] = "PUT /v1/maps/m/data HTTP/1.1\r\nHost: x\r\n"
                               "Content-Length: 100000\r\n\r\n";
    uint64_t t0;
    int fd;

    itest_start(&s, (const char *const[]){"--header-timeout", "2",
                                          "--min-receive-rate", "1KiB", NULL});
    itest_create(&s, "m", "{\"size\": 131072}");
    fd = connect_raw(&s);
    CHECK_EQ_U64(send(fd, head, sizeof(head) - 1, MSG_NOSIGNAL),
                 sizeof(head) - 1);
    /* 5 bytes/s: the deadline is 2 s plus 1 s per KiB received. */
    t0 = now_ms();
    CHECK_EQ_U64(trickle(&fd, 1, "slow!", 5, 6000), 1);
    CHECK(now_ms() - t0 >= 1500); /* not before its grace */
    close(fd);
    check_never_applied(&s, "slow");
    itest_cleanup(&s);
}

/* A body that arrives slowly but above the minimum rate is served: 48 KiB
 * at 16 KiB/s takes 3 s, longer than the 2 s grace. */
TEST(honest_slow_body_is_served)
{
    struct itest_server s = {0};
    static const char head[] = "PUT /v1/maps/m/data HTTP/1.1\r\nHost: x\r\n"
                               "Connection: close\r\n"
                               "Content-Length: 49152\r\n\r\n";
    static char chunk[4096];
    char reply[512];
    size_t used = 0;
    int fd;

    itest_start(&s, (const char *const[]){"--header-timeout", "2",
                                          "--min-receive-rate", "1KiB", NULL});
    itest_create(&s, "m", "{\"size\": 65536}");
    memset(chunk, 'h', sizeof(chunk));
    fd = connect_raw(&s);
    CHECK_EQ_U64(send(fd, head, sizeof(head) - 1, MSG_NOSIGNAL),
                 sizeof(head) - 1);
    for (int i = 0; i < 12; i++) {
        CHECK_EQ_U64(send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL),
                     sizeof(chunk));
        usleep(250 * 1000);
    }
    while (used + 1 < sizeof(reply)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t n;

        if (poll(&p, 1, 3000) <= 0)
            break;
        n = recv(fd, reply + used, sizeof(reply) - 1 - used, 0);
        if (n <= 0)
            break;
        used += (size_t)n;
    }
    reply[used] = '\0';
    close(fd);
    CHECK(strncmp(reply, "HTTP/1.1 204", 12) == 0);
    itest_cleanup(&s);
}

/* A flood of idle connections fills the table; the idle timeout empties it
 * and a fresh client is served again. */
TEST(idle_flood_recovers)
{
    struct itest_server s = {0};
    int fds[8], extra;

    itest_start(&s, (const char *const[]){"--max-connections", "8",
                                          "--timeout", "2", NULL});
    for (int i = 0; i < 8; i++)
        fds[i] = connect_raw(&s);
    usleep(200 * 1000);
    extra = connect_raw(&s);
    send(extra, healthz, sizeof(healthz) - 1, MSG_NOSIGNAL);
    CHECK(not_served(extra, 500));
    close(extra);
    for (int i = 0; i < 8; i++)
        CHECK(closed_within(fds[i], 5000));
    for (int i = 0; i < 8; i++)
        close(fds[i]);
    usleep(200 * 1000);
    all_slots_serve(&s, 8);
    itest_cleanup(&s);
}

TEST_MAIN()
