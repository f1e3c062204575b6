/* test_wire.c - README.md "Request framing" on the wire: raw bytes on a TCP
 * socket to the real mmapd (libcurl never sends a malformed request).
 *
 * Every framing rule has one test. Each sends a bad head, usually followed
 * by a smuggled "PUT /v1/maps/smuggled" that would create a mapping, and
 * proves three things: the status and problem code of the one answer, that
 * the server closes the connection after it (promptly, well before the idle
 * timeout), and, on a fresh connection, that the smuggled mapping does not
 * exist. Positive controls show pipelining and chunked uploads still work.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

/* Creates a mapping if it is ever read as a request of its own. */
#define SMUGGLED                                                             \
    "PUT /v1/maps/smuggled HTTP/1.1\r\nHost: x\r\n"                          \
    "Content-Type: application/json\r\nContent-Length: 14\r\n\r\n"           \
    "{\"size\": 4096}"

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct wire {
    char out[16384];
    size_t n;
    bool closed; /* the server closed the connection within the deadline */
};

/* Send len bytes, then read until the server closes or 3 s pass (the test
 * server's idle timeout is far longer, so a close here is the answer's). */
static void exchange(const struct itest_server *s, const void *req, size_t len,
                     struct wire *w)
{
    int fd = itest_connect(s->port, 0);
    uint64_t deadline = now_ms() + 3000;
    size_t off = 0;

    memset(w, 0, sizeof(*w));
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    while (off < len) {
        ssize_t k = send(fd, (const char *)req + off, len - off, MSG_NOSIGNAL);

        if (k <= 0)
            break; /* the server may close before reading everything */
        off += (size_t)k;
    }
    while (now_ms() < deadline) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t k;

        if (poll(&p, 1, (int)(deadline - now_ms())) <= 0)
            break;
        k = recv(fd, w->out + w->n, sizeof(w->out) - 1 - w->n, 0);
        if (k == 0 || (k < 0 && errno == ECONNRESET)) {
            w->closed = true;
            break;
        }
        if (k < 0)
            break;
        w->n += (size_t)k;
        if (w->n == sizeof(w->out) - 1)
            break;
    }
    w->out[w->n] = '\0';
    close(fd);
}

/* The one answer is `status` with a problem+json body of `code`, and the
 * connection closed after it. */
static void expect_refusal(const struct wire *w, long status, const char *code)
{
    char want[32];
    char code_member[96];
    const char *body = strstr(w->out, "\r\n\r\n");

    snprintf(want, sizeof(want), "HTTP/1.1 %ld ", status);
    if (strncmp(w->out, want, strlen(want)) != 0)
        TEST_FAIL("want %s, got \"%.60s\"", want, w->out);
    CHECK(strstr(w->out, "application/problem+json") != NULL);
    snprintf(code_member, sizeof(code_member), "\"code\":\"%s\"", code);
    if (!body || !strstr(body, code_member))
        TEST_FAIL("want problem code %s, got \"%.200s\"", code,
                  body ? body : "");
    CHECK(strstr(w->out, "\r\nConnection: close\r\n") != NULL);
    /* Exactly one answer: nothing after the bad head was served. */
    CHECK(body && strstr(body, "HTTP/1.1 ") == NULL);
    CHECK(w->closed);
}

static void expect_not_created(const struct itest_server *s, const char *name)
{
    char path[96];
    struct itest_resp r;

    snprintf(path, sizeof(path), "/v1/maps/%s", name);
    itest_request(s, "GET", path, NULL, NULL, 0, &r);
    if (r.status != 404)
        TEST_FAIL("mapping %s: status %ld, want 404 (smuggled request ran)",
                  name, r.status);
    itest_resp_free(&r);
}

/* One rule: send head (then SMUGGLED), expect the refusal, nothing ran. */
static void refused(const char *head, size_t len, long status,
                    const char *code)
{
    struct itest_server s = {0};
    static char buf[8192];
    struct wire w;

    itest_start(&s, NULL);
    CHECK(len + sizeof(SMUGGLED) <= sizeof(buf));
    memcpy(buf, head, len);
    memcpy(buf + len, SMUGGLED, sizeof(SMUGGLED) - 1);
    exchange(&s, buf, len + sizeof(SMUGGLED) - 1, &w);
    expect_refusal(&w, status, code);
    expect_not_created(&s, "smuggled");
    itest_cleanup(&s);
}

#define REFUSED(lit, status, code) refused((lit), sizeof(lit) - 1, status, code)

TEST(two_content_lengths_are_400)
{
    /* First one wins in libmicrohttpd: the 4 bytes "PUT " would be the
     * body, the rest a second request. */
    REFUSED("POST /v1/maps/x/flush HTTP/1.1\r\nHost: x\r\n"
            "Content-Length: 0\r\nContent-Length: 4\r\n\r\n",
            400, "bad_framing");
}

TEST(content_length_with_transfer_encoding_is_400)
{
    REFUSED("PUT /v1/maps/x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
            "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            400, "bad_framing");
}

TEST(space_before_colon_is_400)
{
    REFUSED("PUT /v1/maps/x HTTP/1.1\r\nHost: x\r\n"
            "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
            400, "bad_framing");
}

TEST(spaced_content_length_with_chunked_is_400)
{
    /* The smuggle: a proxy that honours "Content-Length : 45"
     * and a server that honours chunked frame this differently. */
    REFUSED("POST /v1/maps/x/flush HTTP/1.1\r\nHost: x\r\n"
            "Content-Length : 45\r\nTransfer-Encoding: chunked\r\n\r\n"
            "0\r\n\r\n",
            400, "bad_framing");
}

TEST(missing_host_on_http11_is_400)
{
    REFUSED("GET /healthz HTTP/1.1\r\n\r\n", 400, "bad_framing");
}

TEST(doubled_host_is_400)
{
    REFUSED("GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400,
            "bad_framing");
}

TEST(nul_in_target_is_400)
{
    REFUSED("GET /v1/maps/a\0b HTTP/1.1\r\nHost: x\r\n\r\n", 400,
            "bad_framing");
}

TEST(nul_in_range_is_400)
{
    REFUSED("GET /healthz HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1\0x\r\n\r\n",
            400, "bad_framing");
}

TEST(control_byte_in_header_is_400)
{
    REFUSED("GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x01z\r\n\r\n", 400,
            "bad_framing");
}

TEST(obs_fold_is_400)
{
    REFUSED("GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", 400,
            "bad_framing");
}

TEST(bare_lf_is_400)
{
    REFUSED("GET /healthz HTTP/1.1\nHost: x\nX-A: a\n\n", 400, "bad_framing");
}

TEST(unknown_transfer_coding_is_501_at_once)
{
    uint64_t t0 = now_ms();

    REFUSED("PUT /v1/maps/x HTTP/1.1\r\nHost: x\r\n"
            "Transfer-Encoding: gzip\r\n\r\n",
            501, "unsupported_transfer_coding");
    /* Start, answer and stop: well under the 30 s idle timeout. */
    CHECK(now_ms() - t0 < 10000);
}

/* A head built in memory: prefix, then `count` copies of `unit`, then
 * suffix (the rest of the head) and SMUGGLED. malloc'ed; *len its length. */
static char *big_head(const char *prefix, const char *unit, size_t count,
                      const char *suffix, size_t *len)
{
    size_t cap = strlen(prefix) + strlen(unit) * count + strlen(suffix) +
                 sizeof(SMUGGLED);
    char *buf = malloc(cap);
    size_t k = 0;

    CHECK(buf != NULL);
    k += (size_t)sprintf(buf, "%s", prefix);
    for (size_t i = 0; i < count; i++)
        k += (size_t)sprintf(buf + k, "%s", unit);
    k += (size_t)sprintf(buf + k, "%s%s", suffix, SMUGGLED);
    *len = k;
    return buf;
}

/* Send a head of prefix + count x unit + suffix, expect it refused with
 * status and the connection closed, and the request smuggled after it never
 * run. code: mmapd's problem+json code, or NULL where libmicrohttpd refuses
 * the head itself (an HTML body). */
static void refused_big(const char *prefix, const char *unit, size_t count,
                        const char *suffix, long status, const char *code)
{
    struct itest_server s = {0};
    size_t k;
    char *buf = big_head(prefix, unit, count, suffix, &k);
    struct wire w;

    itest_start(&s, NULL);
    exchange(&s, buf, k, &w);
    if (code != NULL) {
        expect_refusal(&w, status, code);
    } else {
        char want[32];

        snprintf(want, sizeof(want), "HTTP/1.1 %ld ", status);
        if (strncmp(w.out, want, strlen(want)) != 0)
            TEST_FAIL("want %s, got \"%.60s\"", want, w.out);
        CHECK(w.closed);
    }
    expect_not_created(&s, "smuggled");
    itest_cleanup(&s);
    free(buf);
}

TEST(target_over_the_limit_is_414)
{
    refused_big("GET /v1/maps/", "a", 24 * 1024,
                " HTTP/1.1\r\nHost: x\r\n\r\n", 414, "uri_too_long");
}

TEST(over_a_hundred_header_lines_are_431)
{
    refused_big("GET /healthz HTTP/1.1\r\nHost: x\r\n", "X-A: b\r\n", 150,
                "\r\n", 431, "headers_too_large");
}

TEST(one_huge_header_line_is_431)
{
    refused_big("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ", "a", 20 * 1024,
                "\r\n\r\n", 431, "headers_too_large");
}

/* Past the pool, libmicrohttpd refuses the head itself (framing.h says why
 * the pool is not larger): still the status, the connection closed, and
 * nothing after it run, but an HTML body. The probe's 100 KB target and
 * 3,000 header lines. */
TEST(target_of_100k_is_414_from_libmicrohttpd)
{
    refused_big("GET /v1/maps/", "a", 100 * 1000,
                " HTTP/1.1\r\nHost: x\r\n\r\n", 414, NULL);
}

TEST(three_thousand_header_lines_are_431_from_libmicrohttpd)
{
    refused_big("GET /healthz HTTP/1.1\r\nHost: x\r\n", "X-A: b\r\n", 3000,
                "\r\n", 431, NULL);
}

/* Count "HTTP/1.1 <status>" answers in out. */
static unsigned answers(const char *out, const char *status)
{
    unsigned n = 0;

    for (const char *p = out; (p = strstr(p, status)) != NULL; p++)
        n++;
    return n;
}

TEST(valid_pipelined_pair_is_answered_twice)
{
    static const char req[] =
        "PUT /v1/maps/one HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/json\r\nContent-Length: 14\r\n\r\n"
        "{\"size\": 4096}"
        "GET /v1/maps/one HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    struct itest_server s = {0};
    struct wire w;

    itest_start(&s, NULL);
    exchange(&s, req, sizeof(req) - 1, &w);
    CHECK_EQ_U64(answers(w.out, "HTTP/1.1 201 "), 1);
    CHECK_EQ_U64(answers(w.out, "HTTP/1.1 200 "), 1);
    CHECK(w.closed);
    itest_cleanup(&s);
}

TEST(valid_chunked_put_works)
{
    static const char req[] =
        "PUT /v1/maps/c/data HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/octet-stream\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        "4\r\nabcd\r\n0\r\n\r\n";
    struct itest_server s = {0};
    struct wire w;

    itest_start(&s, NULL);
    itest_create(&s, "c", "{\"size\": 4}");
    exchange(&s, req, sizeof(req) - 1, &w);
    if (strncmp(w.out, "HTTP/1.1 204 ", 13) != 0)
        TEST_FAIL("chunked PUT answered \"%.60s\"", w.out);
    itest_expect_data(&s, "c", "abcd", 4);
    itest_cleanup(&s);
}

TEST_MAIN()
