/* test_watch.c - GET with If-None-Match and Prefer: wait (README "Watch"),
 * through the real server.
 *
 * Proves that a waiting GET (of /data and of the mapping) is held while
 * nothing changes and is answered afresh, 200 with the new ETag and
 * Preference-Applied, by each kind of change: a data PUT, a data PATCH, an
 * object PUT, an atomic store, a resize; that a delete answers it 404 and
 * a timeout 304 with the wait as applied (after the --max-wait cap), also
 * past the connection deadlines of --timeout and --header-timeout; that
 * requests which may not wait answer at once; that --max-waiters bounds
 * the held requests (503 too_many_waiters with Retry-After) and frees its
 * slots as waits end; that 1,000 waiters held at once are all answered by
 * one write; and that SIGTERM with 1,000 waiters answers each 503
 * shutting_down and exits cleanly.
 *
 * Waiters are raw sockets, so a thousand of them cost this test no
 * threads. "Held" is checked as "no answer within HELD_MS": a bound on how
 * long we look, not a claim about speed.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "itest.h"

#define HELD_MS 400
#define ANSWER_MS 20000 /* longest we wait for an answer that must come */
#define MANY 1000

static void start(struct itest_server *s, const char *const extra[])
{
    CHECK(curl_global_init(CURL_GLOBAL_ALL) == CURLE_OK);
    itest_start(s, extra);
}

/* start, then create a mapping of 4 KiB and read its ETag. */
static void start_map(struct itest_server *s, const char *const extra[],
                      const char *name, char *etag, size_t len)
{
    start(s, extra);
    itest_create(s, name, "{\"size\": 4096}");
    itest_etag(s, name, etag, len);
}

/* Open a connection and send a waiting GET (or HEAD) of path with
 * If-None-Match: etag and Prefer: prefer. Returns the socket. */
static int waiter(const struct itest_server *s, const char *method,
                  const char *path, const char *etag, const char *prefer)
{
    char req[512];
    int fd = itest_connect(s->port, 0);
    int n;

    if (fd < 0)
        TEST_FAIL("connect: %s", strerror(errno));
    n = snprintf(req, sizeof req,
                 "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nIf-None-Match: %s\r\n"
                 "Prefer: %s\r\n\r\n",
                 method, path, etag, prefer);
    if (write(fd, req, (size_t)n) != n)
        TEST_FAIL("send: %s", strerror(errno));
    return fd;
}

/* True when nothing arrives on fd within ms. */
static bool held(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};

    return poll(&p, 1, ms) == 0;
}

/* Read fd's answer head (at most ms) into buf; returns its status. */
static long answer(int fd, char *buf, size_t len, int ms)
{
    size_t used = 0;
    long status = 0;

    buf[0] = '\0';
    while (used + 1 < len && strstr(buf, "\r\n\r\n") == NULL) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t n;

        if (poll(&p, 1, ms) != 1)
            TEST_FAIL("no answer within %d ms (got \"%s\")", ms, buf);
        n = read(fd, buf + used, len - 1 - used);
        if (n <= 0)
            TEST_FAIL("connection closed before an answer (got \"%s\")", buf);
        used += (size_t)n;
        buf[used] = '\0';
    }
    if (sscanf(buf, "HTTP/1.1 %ld", &status) != 1)
        TEST_FAIL("not an HTTP answer: %s", buf);
    return status;
}

/* The value of header name in an answer head (case-insensitive), or "". */
static const char *head_value(const char *headbuf, const char *name,
                              char *out, size_t len)
{
    size_t nl = strlen(name);

    out[0] = '\0';
    for (const char *p = strstr(headbuf, "\r\n"); p; p = strstr(p, "\r\n")) {
        p += 2;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            size_t n;

            while (*v == ' ')
                v++;
            n = strcspn(v, "\r");
            snprintf(out, len, "%.*s", (int)n, v);
            break;
        }
    }
    return out;
}

TEST(each_kind_of_change_wakes_data_and_metadata_waiters)
{
    struct itest_server s = {0};
    char etag[64], head[4096], v[128];

    start(&s, NULL);
    itest_create(&s, "m", "{\"size\": 4096}");
    for (size_t i = 0; i < itest_nwrites; i++) {
        const struct itest_write *c = &itest_writes[i];
        const char *hdrs[] = {c->type, NULL};
        int fd_data, fd_meta;

        if (!c->changes)
            continue;

        itest_etag(&s, "m", etag, sizeof etag);
        fd_data = waiter(&s, "GET", "/v1/maps/m/data", etag, "wait=30");
        fd_meta = waiter(&s, "GET", "/v1/maps/m", etag, "wait=30");
        if (!held(fd_data, HELD_MS) || !held(fd_meta, HELD_MS))
            TEST_FAIL("%s: a waiter was answered before the change",
                      c->what);
        itest_expect_status(&s, c->method, c->path, hdrs, c->body, c->ok);
        for (int k = 0; k < 2; k++) {
            int fd = k == 0 ? fd_data : fd_meta;
            long st = answer(fd, head, sizeof head, ANSWER_MS);

            if (st != 200)
                TEST_FAIL("%s: waiter %d answered %ld: %s", c->what, k, st,
                          head);
            CHECK_EQ_STR(head_value(head, "Preference-Applied", v, sizeof v),
                         "wait=30");
            CHECK(strcmp(head_value(head, "ETag", v, sizeof v), etag) != 0);
            close(fd);
        }
    }
    itest_stop(&s);
    itest_cleanup(&s);
}

TEST(delete_answers_a_waiter_404)
{
    struct itest_server s = {0};
    char etag[64], head[4096];
    int fd, fd_meta;

    start_map(&s, NULL, "gone", etag, sizeof etag);
    fd = waiter(&s, "GET", "/v1/maps/gone/data", etag, "wait=30");
    fd_meta = waiter(&s, "HEAD", "/v1/maps/gone", etag, "wait=30");
    CHECK(held(fd, HELD_MS));
    itest_expect_status(&s, "DELETE", "/v1/maps/gone", NULL, NULL, 204);
    CHECK_EQ_U64(answer(fd, head, sizeof head, ANSWER_MS), 404);
    CHECK(strstr(head, "application/problem+json") != NULL);
    CHECK_EQ_U64(answer(fd_meta, head, sizeof head, ANSWER_MS), 404);
    close(fd);
    close(fd_meta);
    itest_stop(&s);
    itest_cleanup(&s);
}

/* --timeout 1 and --header-timeout 1 would drop an idle or slow connection
 * within a second or two; a waiting one is neither, and is kept for its
 * whole wait (capped to --max-wait 3). */
TEST(timeout_answers_304_with_the_wait_applied)
{
    static const char *const args[] = {"--max-wait", "3", "--timeout", "1",
                                       "--header-timeout", "1", NULL};
    struct itest_server s = {0};
    char etag[64], head[4096], v[128];
    int fd, fd_head, fd_meta;

    start_map(&s, args, "t", etag, sizeof etag);
    fd = waiter(&s, "GET", "/v1/maps/t/data", etag, "respond-async, wait=100");
    fd_head = waiter(&s, "HEAD", "/v1/maps/t/data", etag, "wait=2");
    fd_meta = waiter(&s, "GET", "/v1/maps/t", etag, "wait=100");
    CHECK(held(fd, 1500)); /* past --timeout and --header-timeout */
    CHECK_EQ_U64(answer(fd_head, head, sizeof head, ANSWER_MS), 304);
    CHECK_EQ_STR(head_value(head, "Preference-Applied", v, sizeof v),
                 "wait=2");
    CHECK_EQ_U64(answer(fd, head, sizeof head, ANSWER_MS), 304);
    CHECK_EQ_STR(head_value(head, "Preference-Applied", v, sizeof v),
                 "wait=3"); /* the cap */
    CHECK_EQ_STR(head_value(head, "ETag", v, sizeof v), etag);
    CHECK_EQ_U64(answer(fd_meta, head, sizeof head, ANSWER_MS), 304);
    CHECK_EQ_STR(head_value(head, "Preference-Applied", v, sizeof v),
                 "wait=3");
    /* The connection lives on for its next request. */
    CHECK_EQ_U64(write(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 34),
                 34);
    CHECK_EQ_U64(answer(fd, head, sizeof head, ANSWER_MS), 200);
    close(fd);
    close(fd_head);
    close(fd_meta);
    itest_stop(&s);
    itest_cleanup(&s);
}

/* Requests that may not wait are answered at once, without
 * Preference-Applied: a stale If-None-Match, "*", wait=0, no number, no
 * If-None-Match at all; and every wait when --max-wait is 0. */
TEST(requests_that_may_not_wait_answer_at_once)
{
    static const char *const args[] = {"--max-wait", "0", NULL};
    struct itest_server s = {0}, off = {0};
    char etag[64], head[4096], v[128];
    int fd;

    start_map(&s, NULL, "n", etag, sizeof etag);
    fd = waiter(&s, "GET", "/v1/maps/n/data", "\"0-0-0\"", "wait=30");
    CHECK_EQ_U64(answer(fd, head, sizeof head, ANSWER_MS), 200);
    CHECK_EQ_STR(head_value(head, "Preference-Applied", v, sizeof v), "");
    close(fd);
    fd = waiter(&s, "GET", "/v1/maps/n/data", "*", "wait=30");
    CHECK_EQ_U64(answer(fd, head, sizeof head, ANSWER_MS), 304);
    close(fd);
    fd = waiter(&s, "GET", "/v1/maps/n/data", etag, "wait=0");
    CHECK_EQ_U64(answer(fd, head, sizeof head, ANSWER_MS), 304);
    CHECK_EQ_STR(head_value(head, "Preference-Applied", v, sizeof v), "");
    close(fd);
    fd = waiter(&s, "GET", "/v1/maps/n/data", etag, "wait=soon");
    CHECK_EQ_U64(answer(fd, head, sizeof head, ANSWER_MS), 304);
    close(fd);
    itest_stop(&s);
    itest_cleanup(&s);

    start_map(&off, args, "n", etag, sizeof etag);
    fd = waiter(&off, "GET", "/v1/maps/n/data", etag, "wait=30");
    CHECK_EQ_U64(answer(fd, head, sizeof head, ANSWER_MS), 304);
    CHECK_EQ_STR(head_value(head, "Preference-Applied", v, sizeof v), "");
    close(fd);
    itest_stop(&off);
    itest_cleanup(&off);
}

TEST(max_waiters_bounds_the_held_requests)
{
    static const char *const args[] = {"--max-waiters", "2", NULL};
    struct itest_server s = {0};
    char etag[64], head[4096], v[128];
    int a, b, c;

    start_map(&s, args, "w", etag, sizeof etag);
    a = waiter(&s, "GET", "/v1/maps/w/data", etag, "wait=30");
    b = waiter(&s, "GET", "/v1/maps/w", etag, "wait=30");
    CHECK(held(a, HELD_MS) && held(b, HELD_MS));
    c = waiter(&s, "GET", "/v1/maps/w/data", etag, "wait=30");
    CHECK_EQ_U64(answer(c, head, sizeof head, ANSWER_MS), 503);
    CHECK(strstr(head, "application/problem+json") != NULL);
    CHECK_EQ_STR(head_value(head, "Retry-After", v, sizeof v), "1");
    close(c);
    {
        struct itest_resp r;
        const char *hdrs[] = {NULL, NULL, NULL};
        char inm[96];

        snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
        hdrs[0] = inm;
        hdrs[1] = "Prefer: wait=30";
        itest_request(&s, "GET", "/v1/maps/w/data", hdrs, NULL, 0, &r);
        itest_expect_problem(&r, 503, "too_many_waiters");
        itest_resp_free(&r);
    }
    /* A write ends both waits: their slots are free again. */
    itest_expect_status(&s, "PUT", "/v1/maps/w/data?offset=0", NULL, "x", 204);
    CHECK_EQ_U64(answer(a, head, sizeof head, ANSWER_MS), 200);
    CHECK_EQ_U64(answer(b, head, sizeof head, ANSWER_MS), 200);
    itest_etag(&s, "w", etag, sizeof etag);
    c = waiter(&s, "GET", "/v1/maps/w/data", etag, "wait=30");
    CHECK(held(c, HELD_MS));
    itest_expect_status(&s, "PUT", "/v1/maps/w/data?offset=0", NULL, "y", 204);
    CHECK_EQ_U64(answer(c, head, sizeof head, ANSWER_MS), 200);
    close(a);
    close(b);
    close(c);
    itest_stop(&s);
    itest_cleanup(&s);
}

static const char *const many_args[] = {"--max-waiters", "1000",
                                        "--max-connections", "1200", NULL};

/* Start a server for MANY waiters and open them on mapping "many" (half
 * on its data, half on its metadata); require all of them held. Returns
 * their sockets (malloc'ed). */
static int *start_many(struct itest_server *s)
{
    char etag[64];
    int *fds = calloc(MANY, sizeof *fds);

    CHECK(fds != NULL);
    start_map(s, many_args, "many", etag, sizeof etag);
    for (int i = 0; i < MANY; i++)
        fds[i] = waiter(s, "GET", i % 2 ? "/v1/maps/many" : "/v1/maps/many/data",
                        etag, "wait=60");
    for (int i = 0; i < MANY; i++)
        if (!held(fds[i], i == 0 ? HELD_MS : 0))
            TEST_FAIL("waiter %d was answered before any change", i);
    /* The server still serves others while they wait. */
    itest_expect_status(s, "GET", "/healthz", NULL, NULL, 200);
    return fds;
}

/* Require every one of the MANY waiters answered status (with
 * Retry-After: 1 for a 503), and close them. */
static void answer_all(int *fds, long status)
{
    char head[4096];

    for (int i = 0; i < MANY; i++) {
        long st = answer(fds[i], head, sizeof head, ANSWER_MS);

        if (st != status ||
            (status == 503 && strstr(head, "Retry-After: 1") == NULL))
            TEST_FAIL("waiter %d answered %ld: %s", i, st, head);
        close(fds[i]);
    }
}

TEST(a_thousand_waiters_are_all_woken_by_one_write)
{
    struct itest_server s = {0};
    int *fds = start_many(&s);

    itest_expect_status(&s, "POST", "/v1/maps/many/atomic", NULL,
                        "{\"op\": \"add\", \"offset\": 0, \"width\": 8, "
                        "\"value\": 1}",
                        200);
    answer_all(fds, 200);
    free(fds);
    itest_stop(&s);
    itest_cleanup(&s);
}

TEST(sigterm_with_a_thousand_waiters_answers_each_503)
{
    struct itest_server s = {0};
    int *fds = start_many(&s);

    itest_stop(&s); /* SIGTERM; requires exit status 0 within 15 s */
    answer_all(fds, 503);
    free(fds);
    itest_cleanup(&s);
}

TEST_MAIN()
