/* test_hostile.c - hostile input gets a clear 4xx or a closed connection,
 * and the server keeps serving.
 *
 * Proves, over HTTP and raw sockets, that names with "..", "%2F", NUL or too
 * many characters, backing paths that escape the data directory (absolute,
 * "..", a symlinked directory component or a symlinked file leading out),
 * malformed, deeply nested, huge or mistyped JSON, negative and overflowing
 * numbers in every numeric field, query argument and header, over-long
 * headers, bodies over --max-body, request heads over
 * --max-header-bytes, and garbage bytes are
 * each answered with a 4xx application/problem+json (or, where HTTP framing
 * itself is broken, a 4xx from libmicrohttpd or a closed connection), and
 * that /healthz answers after every one of them.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "itest.h"

static void healthy(const struct itest_server *s)
{
    struct itest_resp r;

    itest_request(s, "GET", "/healthz", NULL, NULL, 0, &r);
    if (r.status != 200)
        TEST_FAIL("/healthz answered %ld after hostile input", r.status);
    itest_resp_free(&r);
}

/* Require status and a problem+json body with some "code", for inputs
 * where several codes are reasonable (invalid_json or invalid_field). */
static void expect_problem_any(const struct itest_resp *r, long status)
{
    char ct[128];
    json_t *j;

    CHECK_EQ_U64(r->status, status);
    CHECK(itest_header(r, "Content-Type", ct, sizeof(ct)) != NULL);
    CHECK(strncmp(ct, "application/problem+json", 24) == 0);
    j = itest_json(r);
    CHECK(json_is_string(json_object_get(j, "code")));
    CHECK(json_is_string(json_object_get(j, "detail")));
    json_decref(j);
}

/* Expect a problem, then check health. */
static void problem(const struct itest_server *s, const char *method,
                    const char *path, const char *const hdrs[],
                    const char *body, long status, const char *code)
{
    ITEST_PROBLEM(s, method, path, hdrs, body, body ? strlen(body) : 0, status,
                  code);
    healthy(s);
}

TEST(hostile_names)
{
    struct itest_server s = {0};
    char path[512];
    char longname[200];

    itest_start(&s, NULL);
    itest_create(&s, "ok", "{\"size\": 4096}");
    problem(&s, "GET", "/v1/maps/..", NULL, NULL, 400, "invalid_name");
    problem(&s, "GET", "/v1/maps/.hidden", NULL, NULL, 400, "invalid_name");
    problem(&s, "GET", "/v1/maps/a%2Fb", NULL, NULL, 400, "invalid_name");
    problem(&s, "GET", "/v1/maps/%2E%2E", NULL, NULL, 400, "invalid_name");
    problem(&s, "GET", "/v1/maps/a%00b", NULL, NULL, 400, "invalid_name");
    problem(&s, "PUT", "/v1/maps/a%2F..%2Fb", NULL, "{\"size\": 1}", 400,
            "invalid_name");
    problem(&s, "GET", "/v1/maps/a%zz", NULL, NULL, 400, "invalid_name");
    problem(&s, "GET", "/v1/maps/%C3%A9t%C3%A9", NULL, NULL, 400,
            "invalid_name");
    memset(longname, 'a', 129);
    longname[129] = '\0';
    snprintf(path, sizeof(path), "/v1/maps/%s", longname);
    problem(&s, "PUT", path, NULL, "{\"size\": 1}", 400, "invalid_name");
    /* A name is never a path: "ok/../ok" is not "ok". */
    {
        struct itest_resp r;

        itest_request(&s, "GET", "/v1/maps/ok/../ok/data", NULL, NULL, 0, &r);
        CHECK(r.status >= 400 && r.status < 500);
        itest_resp_free(&r);
    }
    healthy(&s);
    itest_cleanup(&s);
}

TEST(hostile_paths)
{
    struct itest_server s = {0};
    char outside[64] = "/tmp/mmapd-outside-XXXXXX";
    char link[512];
    char probe[512];
    struct stat st;

    CHECK(mkdtemp(outside) != NULL);
    itest_start(&s, NULL);
    problem(&s, "PUT", "/v1/maps/abs", NULL, "{\"file\": \"/etc/passwd\"}", 400,
            "invalid_path");
    problem(&s, "PUT", "/v1/maps/dots", NULL,
            "{\"file\": \"../x\", \"size\": 4096}", 400, "invalid_path");
    problem(&s, "PUT", "/v1/maps/dots2", NULL,
            "{\"file\": \"a/../../x\", \"size\": 4096}", 400, "invalid_path");
    problem(&s, "PUT", "/v1/maps/dot", NULL,
            "{\"file\": \"./x\", \"size\": 4096}", 400, "invalid_path");
    problem(&s, "PUT", "/v1/maps/empty", NULL,
            "{\"file\": \"\", \"size\": 4096}", 400, "invalid_path");
    problem(&s, "PUT", "/v1/maps/nul", NULL,
            "{\"file\": \"a\\u0000b\", \"size\": 4096}", 400,
            "invalid_json"); /* strict JSON refuses NUL in strings */
    problem(&s, "PUT", "/v1/maps/slash", NULL,
            "{\"file\": \"a//b\", \"size\": 4096}", 400, "invalid_path");

    /* A symlinked directory component leading outside: neither opening
     * nor creating may follow it. */
    snprintf(link, sizeof(link), "%s/outdir", s.dir);
    CHECK(symlink(outside, link) == 0);
    problem(&s, "PUT", "/v1/maps/viadir", NULL,
            "{\"file\": \"outdir/new.bin\", \"size\": 4096}", 400,
            "invalid_path");
    snprintf(probe, sizeof(probe), "%s/new.bin", outside);
    if (stat(probe, &st) == 0)
        TEST_FAIL("a create through a symlinked directory wrote %s", probe);
    /* A symlinked file leading outside. */
    snprintf(link, sizeof(link), "%s/passwd", s.dir);
    CHECK(symlink("/etc/passwd", link) == 0);
    problem(&s, "PUT", "/v1/maps/viafile", NULL,
            "{\"file\": \"passwd\", \"protection\": \"readonly\"}", 400,
            "invalid_path");
    /* The default file of a name is the name: a symlink planted there. */
    snprintf(link, sizeof(link), "%s/planted", s.dir);
    CHECK(symlink("/etc/hostname", link) == 0);
    problem(&s, "PUT", "/v1/maps/planted", NULL,
            "{\"protection\": \"readonly\"}", 400, "invalid_path");
    /* A directory is not a backing file (FIFOs: test_special.c). */
    snprintf(link, sizeof(link), "%s/dir", s.dir);
    CHECK(mkdir(link, 0700) == 0);
    problem(&s, "PUT", "/v1/maps/isdir", NULL, "{\"file\": \"dir\"}", 400,
            "not_regular_file");
    itest_cleanup(&s);
    snprintf(probe, sizeof(probe), "%s", outside);
    CHECK(rmdir(probe) == 0); /* still empty: nothing was created there */
}

TEST(hostile_json)
{
    struct itest_server s = {0};
    static char deep[20001];
    static char huge[200 * 1024];
    static const char *const fields[] = {
        "size", "backing", "file", "protection", "allocation", "writethrough"};
    static const char *const numbers[] = {"-1",
                                          "-0.0",
                                          "1.5",
                                          "1e20",
                                          "18446744073709551616",
                                          "99999999999999999999999999",
                                          "-9223372036854775809",
                                          "\"10\"",
                                          "null",
                                          "true",
                                          "[1]",
                                          "{}"};

    itest_start(&s, NULL);
    problem(&s, "PUT", "/v1/maps/j", NULL, "{", 400, "invalid_json");
    problem(&s, "PUT", "/v1/maps/j", NULL, "{\"size\": 1,}", 400,
            "invalid_json");
    problem(&s, "PUT", "/v1/maps/j", NULL, "[]", 400, "invalid_json");
    problem(&s, "PUT", "/v1/maps/j", NULL, "\"size\"", 400, "invalid_json");
    problem(&s, "PUT", "/v1/maps/j", NULL, "{\"size\": 1}{}", 400,
            "invalid_json");
    problem(&s, "PUT", "/v1/maps/j", NULL, "{\"size\": 1, \"size\": 2}", 400,
            "invalid_json");
    problem(&s, "PUT", "/v1/maps/j", NULL, "{\"sise\": 1}", 400,
            "invalid_field");
    problem(&s, "PUT", "/v1/maps/j", NULL, "\xff\xfe{}", 400, "invalid_json");
    /* 10000 levels of nesting. */
    for (int i = 0; i < 10000; i++) {
        deep[i] = '[';
        deep[10000 + i] = ']';
    }
    problem(&s, "PUT", "/v1/maps/j", NULL, deep, 400, "invalid_json");
    for (int i = 0; i < 10000; i++)
        deep[i] = '{';
    deep[10000] = '\0';
    problem(&s, "PUT", "/v1/maps/j", NULL, deep, 400, "invalid_json");
    /* Larger than any request body needs. */
    memset(huge, ' ', sizeof(huge) - 1);
    huge[0] = '{';
    huge[sizeof(huge) - 2] = '}';
    problem(&s, "PUT", "/v1/maps/j", NULL, huge, 413, "payload_too_large");
    /* Every field with every wrong type or number. */
    for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
        for (size_t n = 0; n < sizeof(numbers) / sizeof(numbers[0]); n++) {
            char body[256];

            snprintf(body, sizeof(body), "{\"%s\": %s}", fields[f], numbers[n]);
            struct itest_resp r;
            itest_request(&s, "PUT", "/v1/maps/j", NULL, body, strlen(body),
                          &r);
            if (r.status != 400)
                TEST_FAIL("%s answered %ld: %s", body, r.status, r.body);
            expect_problem_any(&r, 400);
            itest_resp_free(&r);
        }
    }
    healthy(&s);
    /* The same for the flush body and resize. */
    itest_create(&s, "m", "{\"size\": 4096}");
    for (size_t n = 0; n < sizeof(numbers) / sizeof(numbers[0]); n++) {
        char body[128];
        struct itest_resp r;

        snprintf(body, sizeof(body), "{\"offset\": %s}", numbers[n]);
        itest_request(&s, "POST", "/v1/maps/m/flush", NULL, body, strlen(body),
                      &r);
        if (r.status != 400)
            TEST_FAIL("flush %s answered %ld: %s", body, r.status, r.body);
        itest_resp_free(&r);
        snprintf(body, sizeof(body), "{\"length\": %s}", numbers[n]);
        itest_request(&s, "POST", "/v1/maps/m/flush", NULL, body, strlen(body),
                      &r);
        if (r.status != 400)
            TEST_FAIL("flush %s answered %ld: %s", body, r.status, r.body);
        itest_resp_free(&r);
        snprintf(body, sizeof(body), "{\"size\": %s}", numbers[n]);
        itest_request(&s, "PATCH", "/v1/maps/m", NULL, body, strlen(body), &r);
        if (r.status != 400)
            TEST_FAIL("resize %s answered %ld: %s", body, r.status, r.body);
        itest_resp_free(&r);
    }
    healthy(&s);
    itest_cleanup(&s);
}

TEST(hostile_numbers_in_queries_and_headers)
{
    struct itest_server s = {0};
    static const char *const bad[] = {
        "-1",  "18446744073709551616",   "1e3", "0x10", "", "+1", " 1", "1 ",
        "abc", "99999999999999999999999"};
    struct itest_resp r;

    itest_start(&s, NULL);
    itest_create(&s, "m", "{\"size\": 4096}");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char q[160], enc[64];
        size_t k = 0;

        /* Percent-encode the value so the space and '+' arrive as sent. */
        for (const char *p = bad[i]; *p && k + 4 < sizeof(enc); p++)
            k += (size_t)snprintf(enc + k, sizeof(enc) - k, "%%%02X",
                                  (unsigned char)*p);
        enc[k] = '\0';
        snprintf(q, sizeof(q), "/v1/maps/m/data?offset=%s", enc);
        problem(&s, "GET", q, NULL, NULL, 400, "invalid_query");
        snprintf(q, sizeof(q), "/v1/maps/m/data?offset=0&length=%s", enc);
        problem(&s, "GET", q, NULL, NULL, 400, "invalid_query");
        snprintf(q, sizeof(q), "/v1/maps/m/data?offset=%s", enc);
        problem(&s, "PUT", q, NULL, "x", 400, "invalid_query");
    }
    /* In range syntax but past the end: 416, never a wrap-around. */
    problem(&s, "GET", "/v1/maps/m/data?offset=18446744073709551615&length=2",
            NULL, NULL, 416, "range_not_satisfiable");
    problem(&s, "GET", "/v1/maps/m/data?offset=1&length=18446744073709551615",
            NULL, NULL, 416, "range_not_satisfiable");

    /* Content-Range: malformed or overflowing is 400, past the end 416. */
    {
        static const char *const cr_bad[] = {
            "Content-Range: bytes -1-5/*",
            "Content-Range: bytes 0-18446744073709551616/*",
            "Content-Range: bytes 5-1/*",
            "Content-Range: bytes 0-0/-1",
            "Content-Range: bytes 0-0/18446744073709551616",
            "Content-Range: items 0-0/*",
            "Content-Range: bytes 0x0-0/*",
        };
        for (size_t i = 0; i < sizeof(cr_bad) / sizeof(cr_bad[0]); i++) {
            const char *h[] = {cr_bad[i], NULL};
            problem(&s, "PUT", "/v1/maps/m/data", h, "x", 400, "invalid_range");
        }
        const char *h[] = {"Content-Range: bytes 18446744073709551615-"
                           "18446744073709551615/*",
                           NULL};
        problem(&s, "PUT", "/v1/maps/m/data", h, "x", 416,
                "range_not_satisfiable");
    }
    /* A malformed Range is ignored (RFC 9110): 200 with everything. */
    {
        static const char *const range_bad[] = {
            "Range: bytes=-18446744073709551616",
            "Range: bytes=18446744073709551616-",
            "Range: bytes=5-1",
            "Range: bytes=-",
            "Range: bytes=--1",
            "Range: bytes=1-2-3",
            "Range: bytes=0x1-2"};
        for (size_t i = 0; i < sizeof(range_bad) / sizeof(range_bad[0]); i++) {
            const char *h[] = {range_bad[i], NULL};
            itest_request(&s, "GET", "/v1/maps/m/data", h, NULL, 0, &r);
            if (r.status != 200 && r.status != 416)
                TEST_FAIL("%s answered %ld", range_bad[i], r.status);
            itest_resp_free(&r);
            healthy(&s);
        }
    }
    itest_cleanup(&s);
}

/* A raw exchange: send `req`, read what comes back within timeout_ms. */
static size_t raw(const struct itest_server *s, const void *req, size_t len,
                  char *out, size_t outlen)
{
    return itest_raw(s, req, len, out, outlen, 2000);
}

/* A raw reply is acceptable for broken framing when it is empty (closed)
 * or an HTTP 4xx/5xx status line; never a 2xx. */
static void closed_or_error(const char *what, const char *reply, size_t n)
{
    if (n == 0)
        return;
    if (strncmp(reply, "HTTP/1.", 7) == 0 && n > 12 &&
        (reply[9] == '4' || reply[9] == '5'))
        return;
    TEST_FAIL("%s: unexpected reply \"%.80s\"", what, reply);
}

TEST(hostile_framing_and_headers)
{
    struct itest_server s = {0};
    static char buf[256 * 1024];
    static char out[8192];
    size_t n;

    itest_start(&s, NULL);
    itest_create(&s, "m", "{\"size\": 4096}");
    {
        static const char *const cl_bad[] = {"-1", "18446744073709551616",
                                             "1, 2", "abc",
                                             "99999999999999999999999999"};
        for (size_t i = 0; i < sizeof(cl_bad) / sizeof(cl_bad[0]); i++) {
            int k = snprintf(buf, sizeof(buf),
                             "PUT /v1/maps/m/data HTTP/1.1\r\nHost: x\r\n"
                             "Content-Length: %s\r\n\r\nx",
                             cl_bad[i]);
            n = raw(&s, buf, (size_t)k, out, sizeof(out));
            closed_or_error(cl_bad[i], out, n);
            CHECK(n == 0 || strncmp(out + 9, "2", 1) != 0);
            healthy(&s);
        }
    }
    /* One header line of 100 KiB: 431, or the connection closed. */
    {
        int k = snprintf(buf, sizeof(buf),
                         "GET /v1/maps/m/data HTTP/1.1\r\nHost: x\r\nX-Big: ");
        memset(buf + k, 'a', 100 * 1024);
        k += 100 * 1024;
        k += snprintf(buf + k, sizeof(buf) - (size_t)k, "\r\n\r\n");
        n = raw(&s, buf, (size_t)k, out, sizeof(out));
        closed_or_error("long header", out, n);
        if (n > 0 && strncmp(out + 9, "431", 3) != 0 &&
            strncmp(out + 9, "413", 3) != 0)
            TEST_FAIL("long header answered \"%.40s\"", out);
        healthy(&s);
    }
    /* Many headers adding up past the limit. */
    {
        int k =
            snprintf(buf, sizeof(buf), "GET /healthz HTTP/1.1\r\nHost: x\r\n");
        for (int i = 0; i < 4000 && (size_t)k + 64 < sizeof(buf); i++)
            k += snprintf(buf + k, sizeof(buf) - (size_t)k, "X-H%d: %032d\r\n",
                          i, i);
        k += snprintf(buf + k, sizeof(buf) - (size_t)k, "\r\n");
        n = raw(&s, buf, (size_t)k, out, sizeof(out));
        closed_or_error("many headers", out, n);
        healthy(&s);
    }
    /* A request line far too long. */
    {
        int k = snprintf(buf, sizeof(buf), "GET /v1/maps/");
        memset(buf + k, 'a', 100 * 1024);
        k += 100 * 1024;
        k += snprintf(buf + k, sizeof(buf) - (size_t)k,
                      " HTTP/1.1\r\nHost: x\r\n\r\n");
        n = raw(&s, buf, (size_t)k, out, sizeof(out));
        closed_or_error("long request line", out, n);
        healthy(&s);
    }
    /* Garbage bytes, binary and textual. */
    {
        static const char *const garbage[] = {
            "\x00\x01\x02\x03\xff\xfe\r\n\r\n",
            "GET\r\n\r\n",
            "FOO / HTTP/9.9\r\n\r\n",
            "GET / HTTP/1.1\r\n\xff: y\r\n\r\n",
            "GET / HTTP/1.1\r\nHost x\r\n\r\n",
            "\r\n\r\n\r\n",
            "PUT /v1/maps/m/data HTTP/1.1\r\nTransfer-Encoding: chunked"
            "\r\n\r\nzz\r\n"};
        for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
            size_t len = strlen(garbage[i]);
            if (i == 0)
                len = 10;
            n = raw(&s, garbage[i], len, out, sizeof(out));
            closed_or_error("garbage", out, n);
            healthy(&s);
        }
        itest_pattern(buf, 64 * 1024, 1234);
        n = raw(&s, buf, 64 * 1024, out, sizeof(out));
        closed_or_error("random bytes", out, n);
        healthy(&s);
    }
    itest_cleanup(&s);
}

/* A request head larger than --max-header-bytes (but within twice that,
 * libmicrohttpd's pool) is refused with mmapd's problem+json 431; one that
 * fits is served. */
TEST(head_over_max_header_bytes_is_431)
{
    struct itest_server s = {0};
    static char buf[32 * 1024];
    static char out[4096];
    size_t n;
    int k;

    itest_start(&s, (const char *const[]){"--max-header-bytes", "8KiB", NULL});
    k = snprintf(buf, sizeof(buf),
                 "GET /healthz HTTP/1.1\r\nHost: x\r\n"
                 "X-Fits: ");
    memset(buf + k, 'a', 4000);
    k += 4000;
    k += snprintf(buf + k, sizeof(buf) - (size_t)k, "\r\n\r\n");
    n = itest_raw(&s, buf, (size_t)k, out, sizeof(out), 1000);
    CHECK(n > 12 && strncmp(out, "HTTP/1.1 200", 12) == 0);
    k = snprintf(buf, sizeof(buf),
                 "GET /healthz HTTP/1.1\r\nHost: x\r\n"
                 "X-Big: ");
    memset(buf + k, 'a', 10000);
    k += 10000;
    k += snprintf(buf + k, sizeof(buf) - (size_t)k, "\r\n\r\n");
    n = itest_raw(&s, buf, (size_t)k, out, sizeof(out), 1000);
    if (n == 0 || strncmp(out, "HTTP/1.1 431", 12) != 0 ||
        !strstr(out, "application/problem+json") ||
        !strstr(out, "\"code\":\"headers_too_large\""))
        TEST_FAIL("a 10 KB head answered \"%.80s\"", out);
    healthy(&s);
    itest_cleanup(&s);
}

TEST(body_over_max_body_is_413)
{
    struct itest_server s = {0};
    static char body[200 * 1024];
    struct itest_resp r;

    itest_start(&s, (const char *const[]){"--max-body", "64KiB", NULL});
    itest_create(&s, "m", "{\"size\": 1048576}");
    itest_request(&s, "PUT", "/v1/maps/m/data", NULL, body, sizeof(body), &r);
    itest_expect_problem(&r, 413, "payload_too_large");
    itest_resp_free(&r);
    healthy(&s);
    /* Exactly the limit is fine. */
    itest_request(&s, "PUT", "/v1/maps/m/data", NULL, body, 64 * 1024, &r);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);
    itest_cleanup(&s);
}

TEST_MAIN()
