/* wake.c - watch wake-up latency (W10), and waiters held while something
 * else runs (the "1,000 waiters" figure of W1).
 *
 *   wake PORT MAPPING N ROUNDS     W10: N waiting HEADs (If-None-Match: the
 *                                  current ETag, Prefer: wait=60) on N
 *                                  connections; once all are parked, one
 *                                  PUT of one byte; each waiter's time
 *                                  from just before the PUT is sent to its
 *                                  answer. ROUNDS times; prints BENCHJSON
 *                                  with p50/p90/p99/max in microseconds.
 *   wake -H PORT MAPPING N SECS    hold N waiters (wait=600) for SECS
 *                                  seconds, then report how many were
 *                                  still waiting (none may be answered).
 *
 * 127.0.0.1 only. Every wait is bounded (a waiter unanswered 10 s after
 * the write is an error).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
    fprintf(stderr, "wake: %s: %s\n", what, strerror(errno));
    exit(1);
}

static uint64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int dial(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;

    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        die("connect");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);

        if (n <= 0)
            die("write");
        buf += n;
        len -= (size_t)n;
    }
}

/* Read one answer head (and its body, by Content-Length) from fd, at most
 * timeout_ms; returns its status, 0 on timeout. */
static int read_answer(int fd, char *buf, size_t cap, int timeout_ms,
                       bool head_only)
{
    size_t used = 0;
    char *end;
    int status = 0;

    buf[0] = '\0';
    while ((end = strstr(buf, "\r\n\r\n")) == NULL) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t n;

        if (poll(&p, 1, timeout_ms) != 1)
            return 0;
        n = read(fd, buf + used, cap - 1 - used);
        if (n <= 0)
            die("read");
        used += (size_t)n;
        buf[used] = '\0';
    }
    sscanf(buf, "HTTP/1.1 %d", &status);
    if (!head_only) {
        const char *cl = strcasestr(buf, "\r\nContent-Length:");
        size_t want = cl ? strtoul(cl + 17, NULL, 10) : 0;
        size_t have = used - (size_t)(end + 4 - buf);

        while (have < want) {
            ssize_t n = read(fd, buf, cap < want - have ? cap : want - have);

            if (n <= 0)
                die("read body");
            have += (size_t)n;
        }
    }
    return status;
}

static void etag_of(int fd, bool fd_is_fresh, const char *map, char *etag,
                    size_t len)
{
    char req[256], buf[4096];
    const char *e;
    int status;
    int n = snprintf(req, sizeof req,
                     "HEAD /v1/maps/%s/data HTTP/1.1\r\nHost: x\r\n\r\n", map);

    send_all(fd, req, (size_t)n);
    status = read_answer(fd, buf, sizeof buf, 10000, true);
    if (status != 200) {
        fprintf(stderr, "wake: HEAD for the ETag%s: %s\n",
                fd_is_fresh ? "" : " (connection kept alive)",
                status ? buf : "no complete answer in 10 s");
        exit(1);
    }
    e = strcasestr(buf, "\r\nETag: ");
    if (!e)
        die("no ETag");
    snprintf(etag, len, "%.*s", (int)strcspn(e + 8, "\r"), e + 8);
}

static size_t waiting_head(char *req, size_t cap, const char *map,
                           const char *etag, int wait_s)
{
    return (size_t)snprintf(req, cap,
                            "HEAD /v1/maps/%s/data HTTP/1.1\r\nHost: x\r\n"
                            "If-None-Match: %s\r\nPrefer: wait=%d\r\n\r\n",
                            map, etag, wait_s);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static uint64_t pct(const uint64_t *v, size_t n, double p)
{
    size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);

    return v[i < n ? i : n - 1];
}

static int *open_waiters(int port, const char *map, const char *etag, int n,
                         int wait_s)
{
    int *fds = calloc((size_t)n, sizeof *fds);
    char req[512];
    size_t len = waiting_head(req, sizeof req, map, etag, wait_s);

    if (!fds)
        die("calloc");
    for (int i = 0; i < n; i++) {
        fds[i] = dial(port);
        send_all(fds[i], req, len);
    }
    return fds;
}

/* True when none of fds has anything to read now. */
static int count_held(const int *fds, int n)
{
    int held = 0;

    for (int i = 0; i < n; i++) {
        struct pollfd p = {.fd = fds[i], .events = POLLIN};

        if (poll(&p, 1, 0) == 0)
            held++;
    }
    return held;
}

static int hold(int port, const char *map, int n, int secs)
{
    char etag[128];
    int w = dial(port);
    int *fds;
    int held;

    etag_of(w, true, map, etag, sizeof etag);
    fds = open_waiters(port, map, etag, n, 600);
    sleep((unsigned)secs);
    held = count_held(fds, n);
    printf("BENCHJSON {\"waiters\":%d,\"held_at_end\":%d,\"seconds\":%d}\n", n,
           held, secs);
    for (int i = 0; i < n; i++)
        close(fds[i]);
    close(w);
    return held == n ? 0 : 1;
}

static int latency(int port, const char *map, int n, int rounds)
{
    uint64_t *lat = calloc((size_t)n * (size_t)rounds, sizeof *lat);
    size_t got = 0;
    int w = dial(port);
    char etag[128], buf[65536];
    int ep = epoll_create1(0);
    static const char put[] = "PUT /v1/maps/%s/data?offset=0 HTTP/1.1\r\n"
                              "Host: x\r\nContent-Length: 1\r\n\r\nx";

    if (!lat || ep < 0)
        die("setup");
    for (int r = 0; r < rounds; r++) {
        int *fds;
        char req[256];
        int len, left = n;
        uint64_t t0;

        etag_of(w, r == 0, map, etag, sizeof etag);
        fds = open_waiters(port, map, etag, n, 60);
        /* All parked: none answered a while after the last was sent. */
        usleep(200000);
        if (count_held(fds, n) != n) {
            fprintf(stderr, "wake: a waiter was answered before the write\n");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};

            epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
        }
        len = snprintf(req, sizeof req, put, map);
        t0 = now_us();
        send_all(w, req, (size_t)len);
        while (left > 0) {
            struct epoll_event evs[256];
            int k = epoll_wait(ep, evs, 256, 10000);

            if (k <= 0) {
                fprintf(stderr, "wake: %d waiters unanswered 10 s after the "
                                "write\n", left);
                return 1;
            }
            uint64_t t = now_us();

            for (int j = 0; j < k; j++) {
                int i = (int)evs[j].data.u32;

                if (read_answer(fds[i], buf, sizeof buf, 1000, true) != 200) {
                    fprintf(stderr, "wake: a waiter got no 200\n");
                    return 1;
                }
                lat[got++] = t - t0;
                epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
                left--;
            }
        }
        if (read_answer(w, buf, sizeof buf, 10000, false) != 204)
            die("the write");
        for (int i = 0; i < n; i++)
            close(fds[i]);
        free(fds);
    }
    qsort(lat, got, sizeof *lat, cmp_u64);
    printf("BENCHJSON {\"waiters\":%d,\"rounds\":%d,\"samples\":%zu,"
           "\"wake_p50_us\":%llu,\"wake_p90_us\":%llu,\"wake_p99_us\":%llu,"
           "\"wake_max_us\":%llu}\n",
           n, rounds, got, (unsigned long long)pct(lat, got, 50),
           (unsigned long long)pct(lat, got, 90),
           (unsigned long long)pct(lat, got, 99),
           (unsigned long long)lat[got - 1]);
    free(lat);
    close(w);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "-H") == 0)
        return hold(atoi(argv[2]), argv[3], atoi(argv[4]), atoi(argv[5]));
    if (argc == 5)
        return latency(atoi(argv[1]), argv[2], atoi(argv[3]), atoi(argv[4]));
    fprintf(stderr, "usage: wake PORT MAPPING N ROUNDS | wake -H PORT MAPPING "
                    "N SECS\n");
    return 2;
}
