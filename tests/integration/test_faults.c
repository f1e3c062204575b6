/* test_faults.c - faults of the backing store never take the server down.
 *
 * Proves that a backing file truncated from outside under the running server
 * answers 500 backing_truncated for the missing part (reads and writes),
 * still serves the part that remains, and leaves other mappings and the
 * process alone, and that after a restart the cut mapping is reported
 * damaged; that a zero-copy response whose file is truncated while the
 * kernel is still sending it ends in a closed connection, not a crash (and
 * so does the same over TLS, where the bytes are read in user space); and,
 * on a small tmpfs mounted for the test (skipped with a reason where mount
 * is not permitted), that a sparse mapping larger than the file system
 * answers 507 once the disk is full while the server keeps serving, that a
 * commit mapping larger than the free space is refused with 507 leaving no
 * catalog entry and no file behind, and that growing one past it is 507
 * with the size unchanged.
 */
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "itest.h"

static void expect_status(const struct itest_server *s, const char *method,
                          const char *path, long status)
{
    struct itest_resp r;

    itest_request(s, method, path, NULL, NULL, 0, &r);
    if (r.status != status)
        TEST_FAIL("%s %s: %ld, want %ld: %s", method, path, r.status, status,
                  r.body);
    itest_resp_free(&r);
}

static void cut(const struct itest_server *s, const char *file, off_t size)
{
    char path[512];
    int fd;

    snprintf(path, sizeof(path), "%s/%s", s->dir, file);
    fd = open(path, O_RDWR | O_CLOEXEC);
    CHECK(fd >= 0);
    CHECK(ftruncate(fd, size) == 0);
    close(fd);
}

/* mmapd_faults_total from /metrics: SIGBUS faults the server survived. */
static unsigned long long faults_total(const struct itest_server *s)
{
    struct itest_resp r;
    unsigned long long n = 0;
    const char *line;

    itest_request(s, "GET", "/metrics", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    line = strstr(r.body, "\nmmapd_faults_total ");
    CHECK(line != NULL);
    CHECK(sscanf(line, "\nmmapd_faults_total %llu", &n) == 1);
    itest_resp_free(&r);
    return n;
}

TEST(truncated_backing_answers_500_others_serve)
{
    struct itest_server s = {0};
    static char pat[1 << 20];
    struct itest_resp r;
    static const char *const at_900k[] = {"Content-Range: bytes "
                                          "921600-925695/*",
                                          NULL};

    itest_start(&s, (const char *const[]){"--view-size", "64KiB", NULL});
    itest_create(&s, "cut", "{\"size\": 1048576}");
    itest_create(&s, "whole", "{\"size\": 1048576}");
    itest_pattern(pat, sizeof(pat), 7);
    itest_request(&s, "PUT", "/v1/maps/cut/data", NULL, pat, sizeof(pat), &r);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);
    itest_request(&s, "PUT", "/v1/maps/whole/data", NULL, pat, sizeof(pat), &r);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);
    /* Map every view of "cut" so the truncation happens under live views. */
    free(itest_get_data(&s, "cut", &(size_t){0}));

    cut(&s, "cut", 65536);
    ITEST_PROBLEM(&s, "GET", "/v1/maps/cut/data?offset=524288&length=4096",
                  NULL, NULL, 0, 500, "backing_truncated");
    ITEST_PROBLEM(&s, "GET", "/v1/maps/cut/data?offset=61440&length=8192", NULL,
                  NULL, 0, 500, "backing_truncated");
    ITEST_PROBLEM(&s, "PUT", "/v1/maps/cut/data", at_900k, pat, 4096, 500,
                  "backing_truncated");
    /* The bytes the file still holds are served. */
    itest_request(&s, "GET", "/v1/maps/cut/data?offset=0&length=65536", NULL,
                  NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    CHECK_EQ_U64(r.len, 65536);
    CHECK_MEM(r.body, pat, 65536);
    itest_resp_free(&r);
    /* Other mappings and the process are unaffected. */
    {
        size_t len = 0;
        char *data = itest_get_data(&s, "whole", &len);

        CHECK_EQ_U64(len, sizeof(pat));
        CHECK_MEM(data, pat, sizeof(pat));
        free(data);
    }
    expect_status(&s, "GET", "/healthz", 200);

    /* After a restart the cut mapping is reported damaged instead of being
     * served at its recorded size; the other one is served as before. */
    itest_stop(&s);
    itest_start(&s, (const char *const[]){"--view-size", "64KiB", NULL});
    itest_request(&s, "GET", "/v1/maps/cut", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    {
        json_t *j = itest_json(&r);

        CHECK(json_is_true(json_object_get(j, "damaged")));
        json_decref(j);
    }
    itest_resp_free(&r);
    ITEST_PROBLEM(&s, "GET", "/v1/maps/cut/data?offset=0&length=4096", NULL,
                  NULL, 0, 500, "mapping_damaged");
    /* ... and counted by the gauge the damaged-mappings alert watches
     * (deploy/grafana/mmapd-alerts.yaml); a removed one stops counting. */
    itest_request(&s, "GET", "/metrics", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    CHECK(strstr(r.body, "\nmmapd_mappings_damaged 1\n") != NULL);
    itest_resp_free(&r);
    itest_request(&s, "DELETE", "/v1/maps/cut", NULL, NULL, 0, &r);
    CHECK(r.status == 204 || r.status == 200);
    itest_resp_free(&r);
    itest_request(&s, "GET", "/metrics", NULL, NULL, 0, &r);
    CHECK(strstr(r.body, "\nmmapd_mappings_damaged 0\n") != NULL);
    itest_resp_free(&r);
    {
        size_t len = 0;
        char *data = itest_get_data(&s, "whole", &len);

        CHECK_EQ_U64(len, sizeof(pat));
        CHECK_MEM(data, pat, sizeof(pat));
        free(data);
    }
    itest_cleanup(&s);
}

/* A client with a tiny receive window, so the server is still sending. */
static int slow_client(const struct itest_server *s)
{
    int fd = itest_connect(s->port, 4096);

    CHECK(fd >= 0);
    return fd;
}

/* Read until the server closes or 5 s pass without data; bytes read. */
static uint64_t drain(int fd)
{
    static char buf[1 << 16];
    uint64_t total = 0;

    for (int i = 0; i < 100000; i++) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t n;

        if (poll(&p, 1, 5000) <= 0)
            TEST_FAIL("the server neither sent nor closed for 5 s");
        n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0)
            return total;
        total += (uint64_t)n;
    }
    TEST_FAIL("the response never ended");
}

TEST(zero_copy_body_truncated_in_flight_closes_connection)
{
    struct itest_server s = {0};
    static const char req[] = "GET /v1/maps/z/data HTTP/1.1\r\n"
                              "Host: x\r\nRange: bytes=0-16777215\r\n\r\n";
    static char head[512];
    struct itest_resp r;
    const uint64_t size = 16u << 20;
    uint64_t got;
    int fd;

    itest_start(&s, NULL);
    itest_create(&s, "z", "{\"size\": 16777216}");
    itest_create(&s, "other", "{\"size\": 4096}");
    /* Write every page so the truncation frees real page-cache pages. */
    {
        char *pat = malloc(size);

        CHECK(pat != NULL);
        itest_pattern(pat, size, 3);
        itest_request(&s, "PUT", "/v1/maps/z/data", NULL, pat, size, &r);
        CHECK_EQ_U64(r.status, 204);
        itest_resp_free(&r);
        free(pat);
    }
    fd = slow_client(&s);
    CHECK_EQ_U64(send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL), sizeof(req) - 1);
    /* Take the head only, then let the server block on a full socket. */
    CHECK(recv(fd, head, sizeof(head) - 1, 0) > 0);
    CHECK(strncmp(head, "HTTP/1.1 206", 12) == 0);
    usleep(300 * 1000);
    cut(&s, "z", 0);
    got = drain(fd);
    close(fd);
    if (got + sizeof(head) >= size)
        TEST_FAIL("all %" PRIu64 " bytes arrived after the truncation", got);
    fprintf(stderr, "connection closed after %" PRIu64 " more bytes\n", got);
    expect_status(&s, "GET", "/healthz", 200);
    expect_status(&s, "GET", "/v1/maps/other/data", 200);
    itest_stop(&s); /* asserts a clean exit: the server did not crash */
    itest_cleanup(&s);
}

struct tls_cut {
    const struct itest_server *s;
    uint64_t got;
    bool cut_done;
};

/* Cut the backing file as soon as the first bytes of the body arrive. */
static size_t tls_on_body(char *data, size_t size, size_t n, void *cls)
{
    struct tls_cut *t = cls;

    (void)data;
    if (!t->cut_done) {
        cut(t->s, "z", 0);
        t->cut_done = true;
    }
    t->got += size * n;
    return size * n;
}

TEST(tls_zero_copy_body_truncated_in_flight_closes_connection)
{
    struct itest_server s = {0};
    char dir[64] = "/tmp/mmapd-it-tlsf-XXXXXX";
    char cert[128], key[128], cmd[512], url[128];
    struct tls_cut t = {.s = &s};
    struct itest_resp r;
    const uint64_t size = 16u << 20;
    CURL *c;
    int st;

    CHECK(mkdtemp(dir) != NULL);
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
             "-nodes -keyout '%s' -out '%s' -days 1 -subj /CN=127.0.0.1 "
             "-addext subjectAltName=IP:127.0.0.1 2>/dev/null",
             key, cert);
    st = system(cmd);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        TEST_FAIL("openssl could not make a test certificate");
    CHECK(chmod(key, 0600) == 0);
    s.cainfo = cert;
    itest_start(
        &s, (const char *const[]){"--tls-cert", cert, "--tls-key", key, NULL});
    itest_create(&s, "z", "{\"size\": 16777216}");
    itest_create(&s, "other", "{\"size\": 4096}");
    {
        char *pat = malloc(size);

        CHECK(pat != NULL);
        itest_pattern(pat, size, 5);
        itest_request(&s, "PUT", "/v1/maps/z/data", NULL, pat, size, &r);
        CHECK_EQ_U64(r.status, 204);
        itest_resp_free(&r);
        free(pat);
    }
    /* 16 MiB is past the atomic limit and within the pin limit: a pinned
     * (zero-copy) body, which TLS must read through the guard. */
    c = curl_easy_init();
    CHECK(c != NULL);
    snprintf(url, sizeof(url), "%s/v1/maps/z/data", s.base);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CAINFO, cert);
    curl_easy_setopt(c, CURLOPT_RANGE, "0-16777215");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, tls_on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 16384L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    CHECK(t.cut_done);
    if (rc == CURLE_OK && t.got == size)
        TEST_FAIL("all %" PRIu64 " bytes arrived after the truncation", size);
    fprintf(stderr, "TLS body ended after %" PRIu64 " bytes: %s\n", t.got,
            curl_easy_strerror(rc));
    expect_status(&s, "GET", "/healthz", 200);
    expect_status(&s, "GET", "/v1/maps/other/data", 200);
    itest_stop(&s); /* asserts a clean exit: the server did not crash */
    itest_cleanup(&s);
    unlink(cert);
    unlink(key);
    rmdir(dir);
}

TEST(full_disk_answers_507_and_keeps_serving)
{
    struct itest_server s = {0};
    char dir[64] = "/tmp/mmapd-full-XXXXXX";
    static char chunk[256 * 1024];
    struct itest_resp r;
    char path[128];
    struct stat st;
    bool full = false;
    const char *const args[] = {"--data-dir", dir, "--view-size", "64KiB",
                                NULL};

    if (!itest_mount_tmpfs(dir, "4m"))
        return;
    /* The harness creates its own data directory; point it at the tmpfs. */
    itest_start(&s, args);
    itest_create(&s, "sparse",
                 "{\"size\": 16777216, \"allocation\": "
                 "\"sparse\"}");
    itest_create(&s, "small", "{\"size\": 4096}");
    memset(chunk, 0x42, sizeof(chunk));
    for (unsigned i = 0; i < 64 && !full; i++) {
        char q[96];

        snprintf(q, sizeof(q), "/v1/maps/sparse/data?offset=%u",
                 i * (unsigned)sizeof(chunk));
        itest_request(&s, "PUT", q, NULL, chunk, sizeof(chunk), &r);
        if (r.status == 507) {
            itest_expect_problem(&r, 507, "insufficient_storage");
            full = true;
        } else if (r.status != 204) {
            TEST_FAIL("PUT %s: %ld %s", q, r.status, r.body);
        }
        itest_resp_free(&r);
    }
    CHECK(full);
    /* The write into a sparse page the full disk could not back raised
     * SIGBUS; the server caught it, answered 507 and counted it. */
    CHECK(faults_total(&s) >= 1);
    /* Still serving: reads, writes of committed space, health. */
    expect_status(&s, "GET", "/healthz", 200);
    expect_status(&s, "GET", "/v1/maps/sparse/data?offset=0&length=4096", 200);
    itest_request(&s, "PUT", "/v1/maps/small/data", NULL, chunk, 4096, &r);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);

    /* A commit mapping larger than the free space: 507, nothing left. */
    {
        static const char body[] = "{\"size\": 8388608, \"file\": "
                                   "\"big.bin\"}";

        ITEST_PROBLEM(&s, "PUT", "/v1/maps/big", NULL, body, sizeof(body) - 1,
                      507, "insufficient_storage");
    }
    expect_status(&s, "GET", "/v1/maps/big", 404);
    snprintf(path, sizeof(path), "%s/big.bin", dir);
    if (stat(path, &st) == 0)
        TEST_FAIL("a refused create left %s behind", path);
    /* Growing a commit mapping past the free space: 507, size unchanged. */
    ITEST_PROBLEM(&s, "PATCH", "/v1/maps/small", NULL, "{\"size\": 8388608}",
                  17, 507, "insufficient_storage");
    itest_request(&s, "GET", "/v1/maps/small", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    {
        json_t *j = itest_json(&r);

        CHECK_EQ_U64(json_integer_value(json_object_get(j, "size")), 4096);
        json_decref(j);
    }
    itest_resp_free(&r);
    itest_stop(&s);
    /* The catalog on the full disk still loads after a restart. */
    itest_start(&s, args);
    expect_status(&s, "GET", "/v1/maps/small", 200);
    expect_status(&s, "GET", "/v1/maps/big", 404);
    itest_stop(&s);
    itest_cleanup(&s);
    itest_unmount_tmpfs(dir);
}

TEST_MAIN()
