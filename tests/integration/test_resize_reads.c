/* test_resize_reads.c - a GET body is the bytes of one size: reads racing
 * resizes.
 *
 * Proves: a slow reader of a 16 MiB mapping (a raw socket with a small
 * receive buffer) that another client shrinks to 4 MiB, regrows to 16 MiB
 * and rewrites meanwhile gets either every byte of the version it started
 * on, or a body cut short before Content-Length, never a complete 200 that
 * mixes old bytes, zeros and new bytes; and what it got before the cut is
 * the old version's. And that GETs without Range racing a client that
 * resizes the mapping back and forth are all 200 with a body of one of the
 * two sizes (never 416: the size read for the plan and the bytes read
 * belong to one size).
 */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "itest.h"

#define JSON_HDR ((const char *const[]){"Content-Type: application/json", NULL})
#define BIG (16u << 20)
#define GETTERS 3
#define GETS_MAX 20000u
#define RACE_SECONDS 6

static void resize(const struct itest_server *s, const char *name,
                   uint64_t size)
{
    char path[64], json[64];
    struct itest_resp r;

    snprintf(path, sizeof(path), "/v1/maps/%s", name);
    snprintf(json, sizeof(json), "{\"size\": %llu}", (unsigned long long)size);
    itest_request(s, "PATCH", path, JSON_HDR, json, strlen(json), &r);
    if (r.status != 200)
        TEST_FAIL("resize to %llu: %ld %s", (unsigned long long)size,
                  r.status, r.body);
    itest_resp_free(&r);
}

/* recv at most len bytes, waiting at most timeout_ms; 0 at EOF or error or
 * timeout. */
static size_t recv_some(int fd, char *buf, size_t len, int timeout_ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    ssize_t r;

    if (poll(&pfd, 1, timeout_ms) <= 0)
        return 0;
    r = recv(fd, buf, len, 0);
    return r > 0 ? (size_t)r : 0;
}

TEST(slow_get_across_shrink_and_regrow)
{
    struct itest_server s = {0};
    static const char req[] =
        "GET /v1/maps/big/data HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    char *old = malloc(BIG), *newer = malloc(BIG), *body = malloc(BIG + 1);
    char head[4096];
    size_t hlen = 0, got = 0, cl = 0;
    char *end;
    int fd;

    CHECK(old && newer && body);
    itest_start(&s, NULL);
    itest_create_filled(&s, "big", old, BIG, 1);
    itest_pattern(newer, BIG, 2);

    fd = itest_connect(s.port, 4096);
    CHECK(fd >= 0);
    CHECK(send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) ==
          (ssize_t)(sizeof(req) - 1));
    /* The head, and whatever body bytes came with it. */
    while ((end = memmem(head, hlen, "\r\n\r\n", 4)) == NULL) {
        size_t n = recv_some(fd, head + hlen, sizeof(head) - hlen, 5000);
        CHECK(n > 0);
        hlen += n;
    }
    CHECK(strncmp(head, "HTTP/1.1 200", 12) == 0);
    {
        char *p = strcasestr(head, "\r\nContent-Length:");
        CHECK(p != NULL && p < end);
        cl = strtoull(p + 17, NULL, 10);
    }
    CHECK_EQ_U64(cl, BIG);
    got = hlen - (size_t)(end + 4 - head);
    memcpy(body, end + 4, got);
    /* Read a little, then let the server fill the socket buffers. */
    while (got < 65536) {
        size_t n = recv_some(fd, body + got, 4096, 5000);
        CHECK(n > 0);
        got += n;
    }
    usleep(200000);

    resize(&s, "big", 4u << 20);
    resize(&s, "big", BIG);
    {
        struct itest_resp r;

        itest_request(&s, "PUT", "/v1/maps/big/data", NULL, newer, BIG, &r);
        CHECK_EQ_U64(r.status, 204);
        itest_resp_free(&r);
    }

    for (;;) {
        size_t want = BIG - got < 65536 ? BIG - got : 65536;
        size_t n = want ? recv_some(fd, body + got, want, 10000) : 0;

        if (n == 0)
            break;
        got += n;
    }
    close(fd);
    fprintf(stderr, "got %zu of %zu body bytes\n", got, cl);
    /* Complete: all of the version the answer started with. Cut short:
     * what came is still that version's. */
    for (size_t i = 0; i < got; i++) {
        if (body[i] != old[i])
            TEST_FAIL("byte %zu of %zu (%s body) is not the old version's: "
                      "0x%02x, old 0x%02x, new 0x%02x",
                      i, got, got == cl ? "complete" : "short",
                      (unsigned char)body[i], (unsigned char)old[i],
                      (unsigned char)newer[i]);
    }
    free(old);
    free(newer);
    free(body);
    itest_cleanup(&s);
}

struct race {
    const struct itest_server *s;
    atomic_bool stop;
    atomic_uint gets;
    atomic_uint resizes;
};

static size_t count_body(char *data, size_t size, size_t n, void *cls)
{
    *(size_t *)cls += size * n;
    return size * n;
}

static void *getter(void *arg)
{
    struct race *rc = arg;
    CURL *c = curl_easy_init();
    char url[128];

    CHECK(c != NULL);
    snprintf(url, sizeof(url), "%s/v1/maps/s/data", rc->s->base);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, count_body);
    /* Bounded by count and by time, whichever ends first. */
    for (unsigned i = 0; i < GETS_MAX && !atomic_load(&rc->stop); i++) {
        size_t len = 0;
        long status = 0;
        CURLcode res;

        curl_easy_setopt(c, CURLOPT_WRITEDATA, &len);
        res = curl_easy_perform(c);
        if (res != CURLE_OK)
            TEST_FAIL("GET %u: %s", i, curl_easy_strerror(res));
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (status != 200)
            TEST_FAIL("GET %u without Range answered %ld while resizing", i,
                      status);
        if (len != 65536 && len != 32768)
            TEST_FAIL("GET %u: a body of %zu bytes", i, len);
        atomic_fetch_add(&rc->gets, 1);
    }
    curl_easy_cleanup(c);
    return NULL;
}

static void *resizer(void *arg)
{
    struct race *rc = arg;
    CURL *c = curl_easy_init();
    char url[128];
    struct curl_slist *hl = curl_slist_append(NULL,
                                              "Content-Type: application/json");

    CHECK(c != NULL);
    snprintf(url, sizeof(url), "%s/v1/maps/s", rc->s->base);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PATCH");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, count_body);
    for (unsigned i = 0; !atomic_load(&rc->stop); i++) {
        size_t len = 0;
        long status = 0;

        curl_easy_setopt(c, CURLOPT_POSTFIELDS,
                         i % 2 ? "{\"size\": 65536}" : "{\"size\": 32768}");
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &len);
        CHECK(curl_easy_perform(c) == CURLE_OK);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        CHECK_EQ_U64(status, 200);
        atomic_fetch_add(&rc->resizes, 1);
    }
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return NULL;
}

TEST(get_without_range_never_416_while_resizing)
{
    struct itest_server s = {0};
    struct race rc = {.s = &s};
    pthread_t g[GETTERS], z;

    itest_start(&s, NULL);
    itest_create(&s, "s", "{\"backing\": \"memory\", \"size\": 65536}");
    CHECK(pthread_create(&z, NULL, resizer, &rc) == 0);
    for (int i = 0; i < GETTERS; i++)
        CHECK(pthread_create(&g[i], NULL, getter, &rc) == 0);
    for (int i = 0; i < RACE_SECONDS * 10; i++)
        usleep(100000);
    atomic_store(&rc.stop, true);
    for (int i = 0; i < GETTERS; i++)
        CHECK(pthread_join(g[i], NULL) == 0);
    CHECK(pthread_join(z, NULL) == 0);
    fprintf(stderr, "%u GETs against %u resizes\n", atomic_load(&rc.gets),
            atomic_load(&rc.resizes));
    CHECK(atomic_load(&rc.resizes) >= 100);
    itest_cleanup(&s);
}

TEST_MAIN()
