/* test_service.c - proves the service endpoints and the HTTP glue of the
 * real server: /healthz and /readyz, /v1/info reflecting the command line,
 * /metrics as valid Prometheus text whose counters grow, problem+json 404
 * and 405 answers, the flush endpoint with and without a body, and how the
 * server frames odd requests (Expect: 100-continue answered early, a chunked
 * body refused half-way, HTTP/1.0); and that a second mmapd on a data
 * directory in use is refused, saying so and naming the first one's PID.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "itest.h"

static const char *const json_hdr[] = {"Content-Type: application/json",
                                       NULL};

TEST(health_and_ready)
{
    struct itest_server s = {0};
    struct itest_resp r;

    itest_start(&s, NULL);
    itest_request(&s, "GET", "/healthz", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    itest_resp_free(&r);
    itest_request(&s, "GET", "/readyz", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    itest_resp_free(&r);
    itest_request(&s, "HEAD", "/healthz", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    CHECK_EQ_U64(r.len, 0);
    itest_resp_free(&r);
    itest_cleanup(&s);
}

TEST(info_reflects_flags)
{
    struct itest_server s = {0};
    struct itest_resp r;
    static const char *const extra[] = {
        "--view-size", "128KiB", "--threads", "3", "--max-connections", "77",
        "--max-ranges", "9", "--cache-bytes", "32MiB", NULL};
    static const char *const version_args[] = {"--version", NULL};
    char version[128];
    json_t *j;

    CHECK_EQ_U64(itest_run(version_args, 10, version, sizeof(version)), 0);
    CHECK(strncmp(version, "mmapd ", 6) == 0);
    version[strcspn(version, "\n")] = '\0';

    itest_start(&s, extra);
    itest_request(&s, "GET", "/v1/info", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    j = itest_json(&r);
    CHECK_EQ_STR(json_string_value(json_object_get(j, "version")),
                 version + 6);
    CHECK_EQ_U64(json_integer_value(json_object_get(j, "page_size")),
                 (uint64_t)sysconf(_SC_PAGESIZE));
    CHECK_EQ_U64(json_integer_value(json_object_get(j, "view_size")),
                 128 * 1024);
    /* The configured limits and the cache capacity appear somewhere in the
     * document; their exact nesting is the api's choice. */
    {
        char *text = json_dumps(j, JSON_COMPACT);
        CHECK(text != NULL);
        if (!strstr(text, "33554432"))
            TEST_FAIL("cache capacity 32MiB not in /v1/info: %s", text);
        if (!strstr(text, "77"))
            TEST_FAIL("max_connections 77 not in /v1/info: %s", text);
        free(text);
    }
    json_decref(j);
    itest_resp_free(&r);
    itest_cleanup(&s);
}

/* Parse one Prometheus sample line into its series key ("name{labels}")
 * and value. False when the line is not valid exposition format. */
static bool parse_sample(const char *line, char *key, size_t klen,
                         double *value)
{
    const char *p = line;
    char *end;
    size_t n;

    if (!(isalpha((unsigned char)*p) || *p == '_' || *p == ':'))
        return false;
    while (isalnum((unsigned char)*p) || *p == '_' || *p == ':')
        p++;
    if (*p == '{') {
        p++;
        while (*p != '}') {
            if (!(isalpha((unsigned char)*p) || *p == '_'))
                return false;
            while (isalnum((unsigned char)*p) || *p == '_')
                p++;
            if (*p++ != '=' || *p++ != '"')
                return false;
            while (*p != '"') {
                if (*p == '\0' || *p == '\n')
                    return false;
                if (*p == '\\') {
                    p++;
                    if (*p != '\\' && *p != '"' && *p != 'n')
                        return false;
                }
                p++;
            }
            p++;
            if (*p == ',')
                p++;
            else if (*p != '}')
                return false;
        }
        p++;
    }
    n = (size_t)(p - line);
    if (*p != ' ' || n >= klen)
        return false;
    memcpy(key, line, n);
    key[n] = '\0';
    p++;
    if (strncmp(p, "+Inf", 4) == 0 || strncmp(p, "-Inf", 4) == 0 ||
        strncmp(p, "NaN", 3) == 0) {
        *value = INFINITY;
        return true;
    }
    *value = strtod(p, &end);
    if (end == p)
        return false;
    /* An optional integer timestamp may follow. */
    if (*end == ' ') {
        p = end + 1;
        strtoll(p, &end, 10);
        if (end == p)
            return false;
    }
    return *end == '\0';
}

struct sample {
    char key[256];
    double value;
};

/* Scrape /metrics, check every line, return the samples (malloc'ed). */
static struct sample *scrape(const struct itest_server *s, size_t *count)
{
    struct itest_resp r;
    struct sample *out = NULL;
    size_t n = 0;
    char ct[128];
    char *save = NULL;

    itest_request(s, "GET", "/metrics", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    CHECK(itest_header(&r, "Content-Type", ct, sizeof(ct)) != NULL);
    CHECK(strncmp(ct, "text/plain", 10) == 0);
    for (char *line = strtok_r(r.body, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#') {
            CHECK(strncmp(line, "# HELP ", 7) == 0 ||
                  strncmp(line, "# TYPE ", 7) == 0);
            continue;
        }
        out = realloc(out, (n + 1) * sizeof(*out));
        CHECK(out != NULL);
        if (!parse_sample(line, out[n].key, sizeof(out[n].key),
                          &out[n].value))
            TEST_FAIL("not a Prometheus sample line: \"%s\"", line);
        n++;
    }
    itest_resp_free(&r);
    CHECK(n > 0);
    *count = n;
    return out;
}

static double total_of_counters(const struct sample *v, size_t n)
{
    double sum = 0;

    for (size_t i = 0; i < n; i++) {
        const char *brace = strchr(v[i].key, '{');
        size_t nlen = brace ? (size_t)(brace - v[i].key) : strlen(v[i].key);

        if (nlen > 6 && memcmp(v[i].key + nlen - 6, "_total", 6) == 0 &&
            isfinite(v[i].value))
            sum += v[i].value;
    }
    return sum;
}

TEST(metrics_prometheus_text)
{
    struct itest_server s = {0};
    struct itest_resp r;
    struct sample *before, *after;
    size_t nb, na;

    itest_start(&s, NULL);
    before = scrape(&s, &nb);
    for (int i = 0; i < 5; i++) {
        itest_request(&s, "GET", "/healthz", NULL, NULL, 0, &r);
        itest_resp_free(&r);
    }
    itest_request(&s, "GET", "/nope", NULL, NULL, 0, &r);
    itest_resp_free(&r);
    after = scrape(&s, &na);
    /* At least the 6 requests and the first scrape were counted. */
    if (!(total_of_counters(after, na) >= total_of_counters(before, nb) + 6))
        TEST_FAIL("counters did not grow: %f -> %f",
                  total_of_counters(before, nb), total_of_counters(after, na));
    /* No series goes backwards. */
    for (size_t i = 0; i < nb; i++) {
        for (size_t k = 0; k < na; k++) {
            if (strcmp(before[i].key, after[k].key) == 0 &&
                strstr(before[i].key, "_total") &&
                after[k].value < before[i].value)
                TEST_FAIL("counter %s went down", before[i].key);
        }
    }
    free(before);
    free(after);
    itest_cleanup(&s);
}

TEST(unknown_route_and_wrong_method)
{
    struct itest_server s = {0};
    struct itest_resp r;
    char allow[128];
    static const char *const unknown[] = {"/", "/nope", "/v1", "/v1/nope",
                                          "/v1/maps/a/b", "/v1/maps/a/data/x",
                                          "/v2/maps"};

    itest_start(&s, NULL);
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
        ITEST_PROBLEM(&s, "GET", unknown[i], NULL, NULL, 0, 404, "not_found");

    itest_request(&s, "DELETE", "/healthz", NULL, NULL, 0, &r);
    itest_expect_problem(&r, 405, "method_not_allowed");
    CHECK(itest_header(&r, "Allow", allow, sizeof(allow)) != NULL);
    CHECK(strstr(allow, "GET") != NULL);
    itest_resp_free(&r);
    ITEST_PROBLEM(&s, "POST", "/v1/maps", NULL, "{}", 2, 405,
                  "method_not_allowed");
    ITEST_PROBLEM(&s, "DELETE", "/v1/maps/x/data", NULL, NULL, 0, 405,
                  "method_not_allowed");
    ITEST_PROBLEM(&s, "GET", "/v1/maps/x/flush", NULL, NULL, 0, 405,
                  "method_not_allowed");
    ITEST_PROBLEM(&s, "BREW", "/v1/maps", NULL, NULL, 0, 405,
                  "method_not_allowed");
    itest_cleanup(&s);
}

TEST(flush_endpoint)
{
    struct itest_server s = {0};
    struct itest_resp r;
    json_t *j;
    static const char range[] = "{\"offset\": 4096, \"length\": 4096}";

    itest_start(&s, NULL);
    itest_create(&s, "f", "{\"size\": 16384}");
    itest_request(&s, "PUT", "/v1/maps/f/data", NULL, "dirty", 5, &r);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);

    itest_request(&s, "POST", "/v1/maps/f/flush", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    j = itest_json(&r);
    CHECK_EQ_U64(json_integer_value(json_object_get(j, "flushed")), 16384);
    json_decref(j);
    itest_resp_free(&r);

    itest_request(&s, "POST", "/v1/maps/f/flush", json_hdr, range,
                  sizeof(range) - 1, &r);
    CHECK_EQ_U64(r.status, 200);
    j = itest_json(&r);
    CHECK_EQ_U64(json_integer_value(json_object_get(j, "flushed")), 4096);
    json_decref(j);
    itest_resp_free(&r);

    ITEST_PROBLEM(&s, "POST", "/v1/maps/f/flush", json_hdr,
                  "{\"offset\": 16000, \"length\": 1000}", 33, 416,
                  "range_not_satisfiable");
    ITEST_PROBLEM(&s, "POST", "/v1/maps/f/flush", json_hdr, "{\"offset\": -1}",
                  14, 400, "invalid_field");
    ITEST_PROBLEM(&s, "POST", "/v1/maps/f/flush", json_hdr, "{oops", 5, 400,
                  "invalid_json");
    ITEST_PROBLEM(&s, "POST", "/v1/maps/nope/flush", NULL, NULL, 0, 404,
                  "not_found");
    itest_cleanup(&s);
}

/* With "Expect: 100-continue", a request the server refuses from its
 * headers alone is answered at once, without "100 Continue" and without
 * waiting for a body that never comes. */
TEST(expect_continue_answered_early)
{
    struct itest_server s = {0};
    char reply[4096];
    static const char bad[] =
        "PUT /v1/maps/..bad/data HTTP/1.1\r\nHost: x\r\n"
        "Content-Length: 100000\r\nExpect: 100-continue\r\n\r\n";
    static const char good[] =
        "PUT /v1/maps/e/data HTTP/1.1\r\nHost: x\r\n"
        "Content-Length: 4\r\nExpect: 100-continue\r\n\r\n";

    itest_start(&s, NULL);
    itest_create(&s, "e", "{\"size\": 4096}");
    itest_raw(&s, bad, sizeof(bad) - 1, reply, sizeof(reply), 3000);
    if (strncmp(reply, "HTTP/1.1 400", 12) != 0)
        TEST_FAIL("early refusal: got \"%.200s\"", reply);
    CHECK(strstr(reply, "invalid_name") != NULL);

    /* A good one gets the interim 100 (then times out waiting for us). */
    itest_raw(&s, good, sizeof(good) - 1, reply, sizeof(reply), 1000);
    if (strncmp(reply, "HTTP/1.1 100", 12) != 0)
        TEST_FAIL("want 100 Continue, got \"%.200s\"", reply);
    itest_cleanup(&s);
}

/* A chunked JSON body that grows past the limit is refused half-way: the
 * server answers 413 with a problem body instead of dropping the
 * connection. */
TEST(chunked_body_refused_midway)
{
    struct itest_server s = {0};
    char *req, reply[4096];
    size_t len = 0;
    const size_t chunk = 8192, nchunks = 16; /* 128 KiB, over the 64 KiB cap */
    static const char head[] =
        "PUT /v1/maps/big HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        "Connection: close\r\n\r\n";

    itest_start(&s, NULL);
    req = malloc(sizeof(head) + nchunks * (chunk + 16) + 16);
    CHECK(req != NULL);
    memcpy(req, head, sizeof(head) - 1);
    len = sizeof(head) - 1;
    for (size_t i = 0; i < nchunks; i++) {
        len += (size_t)sprintf(req + len, "%zx\r\n", chunk);
        memset(req + len, ' ', chunk);
        len += chunk;
        memcpy(req + len, "\r\n", 2);
        len += 2;
    }
    memcpy(req + len, "0\r\n\r\n", 5);
    len += 5;
    itest_raw(&s, req, len, reply, sizeof(reply), 5000);
    free(req);
    if (strncmp(reply, "HTTP/1.1 413", 12) != 0)
        TEST_FAIL("want 413, got \"%.200s\"", reply);
    CHECK(strstr(reply, "payload_too_large") != NULL);
    ITEST_PROBLEM(&s, "GET", "/v1/maps/big", NULL, NULL, 0, 404, "not_found");
    itest_cleanup(&s);
}

TEST(http10_and_keepalive)
{
    struct itest_server s = {0};
    char reply[8192];
    static const char v10[] = "GET /healthz HTTP/1.0\r\n\r\n";
    static const char two[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                              "GET /readyz HTTP/1.1\r\nHost: x\r\n"
                              "Connection: close\r\n\r\n";
    const char *second;

    itest_start(&s, NULL);
    itest_raw(&s, v10, sizeof(v10) - 1, reply, sizeof(reply), 3000);
    CHECK(strncmp(reply, "HTTP/1.", 7) == 0);
    CHECK(strncmp(reply + 8, " 200", 4) == 0);

    /* Two pipelined requests on one connection, both answered. */
    itest_raw(&s, two, sizeof(two) - 1, reply, sizeof(reply), 3000);
    CHECK(strncmp(reply, "HTTP/1.1 200", 12) == 0);
    second = strstr(reply + 12, "HTTP/1.1 ");
    CHECK(second != NULL);
    CHECK(strncmp(second, "HTTP/1.1 200", 12) == 0);
    itest_cleanup(&s);
}

/* OPTIONS on every resource: 204 with Allow; /data also advertises ranges
 * and the PATCH formats (README "Interoperability"), which is what WebDAV
 * clients such as cadaver and davfs2 ask first. */
TEST(options_on_every_resource)
{
    struct itest_server s = {0};
    struct itest_resp r;
    char v[128];
    static const struct {
        const char *path;
        const char *allow;
    } res[] = {
        {"/healthz", "GET, HEAD, OPTIONS"},
        {"/readyz", "GET, HEAD, OPTIONS"},
        {"/metrics", "GET, HEAD, OPTIONS"},
        {"/v1/info", "GET, HEAD, OPTIONS"},
        {"/v1/maps", "GET, HEAD, OPTIONS"},
        {"/v1/maps/o", "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"},
        {"/v1/maps/o/data", "GET, HEAD, PUT, PATCH, OPTIONS"},
        {"/v1/maps/o/flush", "POST, OPTIONS"},
        {"/v1/maps/o/objects/0", "GET, HEAD, PUT, OPTIONS"},
        /* The resources exist as paths whether or not the name does. */
        {"/v1/maps/absent/data", "GET, HEAD, PUT, PATCH, OPTIONS"},
    };

    itest_start(&s, NULL);
    itest_create(&s, "o", "{\"size\":4096}");
    for (size_t i = 0; i < sizeof(res) / sizeof(res[0]); i++) {
        bool data = strstr(res[i].path, "/data") != NULL;

        itest_request(&s, "OPTIONS", res[i].path, NULL, NULL, 0, &r);
        if (r.status != 204)
            TEST_FAIL("OPTIONS %s: %ld", res[i].path, r.status);
        CHECK(itest_header(&r, "Allow", v, sizeof(v)) != NULL);
        CHECK_EQ_STR(v, res[i].allow);
        if (data) {
            CHECK(itest_header(&r, "Accept-Ranges", v, sizeof(v)) != NULL);
            CHECK_EQ_STR(v, "bytes");
            CHECK(itest_header(&r, "Accept-Patch", v, sizeof(v)) != NULL);
            CHECK_EQ_STR(v, "message/byterange, multipart/byteranges");
        } else {
            CHECK(itest_header(&r, "Accept-Patch", v, sizeof(v)) == NULL);
        }
        CHECK_EQ_U64(r.len, 0);
        itest_resp_free(&r);
    }
    /* An unknown path is still 404, not an empty 204. */
    ITEST_PROBLEM(&s, "OPTIONS", "/v1/nope", NULL, NULL, 0, 404, "not_found");
    itest_cleanup(&s);
}

/* A trailing slash names the same resource as without it (README
 * "Interoperability"): rclone GETs /v1/maps/NAME/ and cadaver/davfs2 send
 * OPTIONS /v1/maps/NAME/ first, taking the mapping for a collection. */
TEST(trailing_slash_names_the_same_resource)
{
    struct itest_server s = {0};
    struct itest_resp a, b;
    char v[128], w[128];
    static const char *const same[][2] = {
        {"/v1/maps/t", "/v1/maps/t/"},
        {"/v1/maps", "/v1/maps/"},
        {"/v1/maps/t/data", "/v1/maps/t/data/"},
        {"/v1/maps/t/objects/0", "/v1/maps/t/objects/0/"},
        {"/v1/info", "/v1/info/"},
        {"/healthz", "/healthz/"},
    };

    itest_start(&s, NULL);
    itest_create(&s, "t", "{\"size\":4096}");
    itest_request(&s, "PUT", "/v1/maps/t/objects/0", NULL, "[1]", 3, &a);
    CHECK_EQ_U64(a.status, 201);
    itest_resp_free(&a);
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        itest_request(&s, "GET", same[i][0], NULL, NULL, 0, &a);
        itest_request(&s, "GET", same[i][1], NULL, NULL, 0, &b);
        if (b.status != 200 || a.status != 200)
            TEST_FAIL("GET %s: %ld, %s: %ld", same[i][0], a.status,
                      same[i][1], b.status);
        if (strcmp(same[i][0], "/v1/info") != 0) {
            CHECK_EQ_U64(b.len, a.len);
            CHECK(memcmp(a.body, b.body, a.len) == 0);
        }
        itest_resp_free(&a);
        itest_resp_free(&b);

        itest_request(&s, "OPTIONS", same[i][0], NULL, NULL, 0, &a);
        itest_request(&s, "OPTIONS", same[i][1], NULL, NULL, 0, &b);
        CHECK_EQ_U64(b.status, 204);
        CHECK(itest_header(&a, "Allow", v, sizeof(v)) != NULL);
        CHECK(itest_header(&b, "Allow", w, sizeof(w)) != NULL);
        CHECK_EQ_STR(w, v);
        itest_resp_free(&a);
        itest_resp_free(&b);
    }
    /* Writes too: a PUT through the slashed path lands in the mapping. */
    itest_request(&s, "PUT", "/v1/maps/t/data/",
                  (const char *const[]){"Content-Range: bytes 100-104/*", NULL},
                  "slash", 5, &a);
    CHECK_EQ_U64(a.status, 204);
    itest_resp_free(&a);
    itest_request(&s, "GET", "/v1/maps/t/data?offset=100&length=5", NULL, NULL,
                  0, &a);
    CHECK_EQ_U64(a.status, 200);
    CHECK(a.len == 5 && memcmp(a.body, "slash", 5) == 0);
    itest_resp_free(&a);
    /* One slash only: an empty segment is still no name, and a missing
     * name with a slash is still 404. */
    ITEST_PROBLEM(&s, "GET", "/v1/maps//", NULL, NULL, 0, 400, "invalid_name");
    ITEST_PROBLEM(&s, "GET", "/v1/maps/nothere/", NULL, NULL, 0, 404,
                  "not_found");
    ITEST_PROBLEM(&s, "GET", "/v1/maps/t/data//", NULL, NULL, 0, 404,
                  "not_found");
    ITEST_PROBLEM(&s, "GET", "/nope/", NULL, NULL, 0, 404, "not_found");
    itest_cleanup(&s);
}

/* Two servers on one data directory would each believe their own
 * catalog: the second is refused before it listens, whether the first has
 * written anything yet or not, with a message that says why (not "I/O
 * error") and names the first one's PID; the first goes on serving. */
TEST(second_mmapd_on_one_data_dir_is_refused)
{
    struct itest_server s = {0};
    char out[2048], want[64];

    itest_start(&s, NULL);
    const char *const args[] = {"--listen", "127.0.0.1:0", "--data-dir",
                                s.dir, NULL};
    snprintf(want, sizeof(want), "(pid %d)", (int)s.pid);
    for (int round = 0; round < 2; round++) {
        /* Round 0: nothing on disk yet; round 1: a store exists. */
        if (round == 1)
            itest_create(&s, "a", "{\"size\": 4096}");
        CHECK(itest_run(args, 20, out, sizeof(out)) != 0);
        if (!strstr(out, "is in use by another mmapd") || !strstr(out, want))
            TEST_FAIL("round %d: %s", round, out);
        CHECK(strstr(out, "I/O error") == NULL);
        CHECK(strstr(out, "listening") == NULL);
    }
    {
        size_t len = 0;
        char *data = itest_get_data(&s, "a", &len);

        CHECK_EQ_U64(len, 4096);
        free(data);
    }
    itest_cleanup(&s);
}

TEST_MAIN()
