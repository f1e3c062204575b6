/* test_cors.c - CORS through the real server (README "CORS").
 *
 * Proves: a preflight from an allowed origin is answered 204 without a
 * token on a server that requires tokens, naming every method and request
 * header the API uses; the real request then carries
 * Access-Control-Allow-Origin (with Vary: Origin) and the exposed headers,
 * on successes and errors alike; an origin not listed gets no CORS header;
 * "*" answers "*"; and "*" with --token-file refuses to start.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "itest.h"

#define GOOD "https://app.example"
#define TOKEN "Authorization: Bearer root-token"

static const char tokens_json[] =
    "{\"tokens\": [{\"token\": \"root-token\", \"read\": [\"*\"], "
    "\"write\": [\"*\"], \"admin\": true}]}\n";

struct tokdir {
    char dir[64];
    char file[128];
};

static void tokdir_make(struct tokdir *t)
{
    FILE *f;

    snprintf(t->dir, sizeof(t->dir), "/tmp/mmapd-it-cors-XXXXXX");
    CHECK(mkdtemp(t->dir) != NULL);
    snprintf(t->file, sizeof(t->file), "%s/tokens.json", t->dir);
    f = fopen(t->file, "w");
    if (!f)
        TEST_FAIL("fopen %s: %s", t->file, strerror(errno));
    fputs(tokens_json, f);
    fclose(f);
    CHECK(chmod(t->file, 0600) == 0);
}

static void tokdir_remove(struct tokdir *t)
{
    unlink(t->file);
    rmdir(t->dir);
}

/* The header's value must be present and contain each comma-separated
 * item of want. */
static void expect_list(const struct itest_resp *r, const char *name,
                        const char *want)
{
    char buf[512], item[64];
    const char *p = want;

    if (!itest_header(r, name, buf, sizeof(buf)))
        TEST_FAIL("no %s in:\n%s", name, r->headers);
    while (*p) {
        size_t n = strcspn(p, ",");
        snprintf(item, sizeof(item), "%.*s", (int)n, p);
        if (!strstr(buf, item))
            TEST_FAIL("%s: \"%s\" lacks %s", name, buf, item);
        p += n;
        while (*p == ',' || *p == ' ')
            p++;
    }
}

static void expect_cors(const struct itest_resp *r, const char *origin)
{
    char buf[256];

    if (!itest_header(r, "Access-Control-Allow-Origin", buf, sizeof(buf)))
        TEST_FAIL("status %ld without Access-Control-Allow-Origin:\n%s",
                  r->status, r->headers);
    CHECK_EQ_STR(buf, origin);
    if (strcmp(origin, "*") != 0) {
        CHECK(itest_header(r, "Vary", buf, sizeof(buf)) != NULL);
        CHECK(strstr(buf, "Origin") != NULL);
    }
    expect_list(r, "Access-Control-Expose-Headers",
                "ETag, Content-Range, Accept-Ranges, Content-Length, "
                "Last-Modified, Location, Content-Digest, Preference-Applied, "
                "Lease-Id");
    CHECK(itest_header(r, "Access-Control-Allow-Credentials", buf,
                       sizeof(buf)) == NULL);
}

static void expect_no_cors(const struct itest_resp *r)
{
    char buf[256];

    if (itest_header(r, "Access-Control-Allow-Origin", buf, sizeof(buf)) ||
        itest_header(r, "Access-Control-Expose-Headers", buf, sizeof(buf)) ||
        itest_header(r, "Access-Control-Allow-Methods", buf, sizeof(buf)))
        TEST_FAIL("CORS headers for a disallowed origin:\n%s", r->headers);
}

TEST(preflight_needs_no_token)
{
    struct itest_server s = {0};
    struct tokdir t;
    struct itest_resp r;
    char buf[64];

    tokdir_make(&t);
    itest_start(&s, (const char *const[]){"--token-file", t.file,
                                          "--cors-origin", GOOD, NULL});
    itest_request(&s, "OPTIONS", "/v1/maps/a/data",
                  (const char *const[]){"Origin: " GOOD,
                                        "Access-Control-Request-Method: PUT",
                                        "Access-Control-Request-Headers: "
                                        "authorization, content-range",
                                        NULL},
                  NULL, 0, &r);
    CHECK_EQ_U64(r.status, 204);
    expect_cors(&r, GOOD);
    expect_list(&r, "Access-Control-Allow-Methods",
                "GET, HEAD, PUT, PATCH, POST, DELETE, OPTIONS");
    expect_list(&r, "Access-Control-Allow-Headers",
                "Authorization, Content-Type, Content-Range, Range, If-Match, "
                "If-None-Match, If-Range, If-Modified-Since, "
                "If-Unmodified-Since, Content-Digest, Want-Content-Digest, "
                "Prefer, Lease-Id, Last-Event-ID");
    CHECK(itest_header(&r, "Access-Control-Max-Age", buf, sizeof(buf)));
    CHECK(atoi(buf) > 0);
    itest_resp_free(&r);

    /* A disallowed origin's preflight is an ordinary unauthenticated
     * OPTIONS: 401, and nothing that lets the browser go on. */
    itest_request(&s, "OPTIONS", "/v1/maps/a/data",
                  (const char *const[]){"Origin: https://evil.example",
                                        "Access-Control-Request-Method: PUT",
                                        NULL},
                  NULL, 0, &r);
    CHECK_EQ_U64(r.status, 401);
    expect_no_cors(&r);
    itest_resp_free(&r);

    /* The real requests, with the token: success and error alike. */
    itest_request(&s, "PUT", "/v1/maps/a",
                  (const char *const[]){"Origin: " GOOD, TOKEN,
                                        "Content-Type: application/json", NULL},
                  "{\"size\": 4096, \"backing\": \"memory\"}", 35, &r);
    CHECK(r.status == 201);
    expect_cors(&r, GOOD);
    itest_resp_free(&r);
    itest_request(&s, "GET", "/v1/maps/a/data",
                  (const char *const[]){"Origin: " GOOD, TOKEN,
                                        "Range: bytes=0-9", NULL},
                  NULL, 0, &r);
    CHECK_EQ_U64(r.status, 206);
    expect_cors(&r, GOOD);
    itest_resp_free(&r);
    itest_request(&s, "GET", "/v1/maps/nope/data",
                  (const char *const[]){"Origin: " GOOD, TOKEN, NULL}, NULL, 0,
                  &r);
    CHECK_EQ_U64(r.status, 404);
    expect_cors(&r, GOOD);
    itest_resp_free(&r);
    /* Without the token: the 401 still reaches the page's script. */
    itest_request(&s, "GET", "/v1/maps/a/data",
                  (const char *const[]){"Origin: " GOOD, NULL}, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 401);
    expect_cors(&r, GOOD);
    itest_resp_free(&r);
    /* Another origin, and no origin at all: no CORS headers. */
    itest_request(&s, "GET", "/v1/maps/a/data",
                  (const char *const[]){"Origin: https://evil.example", TOKEN,
                                        NULL},
                  NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    expect_no_cors(&r);
    itest_resp_free(&r);
    itest_request(&s, "GET", "/v1/maps/a/data",
                  (const char *const[]){TOKEN, NULL}, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    expect_no_cors(&r);
    /* Still varies by Origin: a cache must not serve this to a listed
     * origin's page. */
    CHECK(itest_header(&r, "Vary", buf, sizeof(buf)) != NULL);
    CHECK(strstr(buf, "Origin") != NULL);
    itest_resp_free(&r);
    itest_cleanup(&s);
    tokdir_remove(&t);
}

TEST(off_by_default)
{
    struct itest_server s = {0};
    struct itest_resp r;

    itest_start(&s, NULL);
    itest_request(&s, "OPTIONS", "/v1/maps",
                  (const char *const[]){"Origin: " GOOD,
                                        "Access-Control-Request-Method: GET",
                                        NULL},
                  NULL, 0, &r);
    expect_no_cors(&r);
    itest_resp_free(&r);
    itest_request(&s, "GET", "/v1/maps",
                  (const char *const[]){"Origin: " GOOD, NULL}, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    expect_no_cors(&r);
    itest_resp_free(&r);
    itest_cleanup(&s);
}

TEST(star_answers_star)
{
    struct itest_server s = {0};
    struct itest_resp r;

    itest_start(&s, (const char *const[]){"--cors-origin", "*", NULL});
    itest_request(&s, "GET", "/v1/maps",
                  (const char *const[]){"Origin: https://any.example", NULL},
                  NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    expect_cors(&r, "*");
    itest_resp_free(&r);
    itest_request(&s, "OPTIONS", "/v1/maps/x",
                  (const char *const[]){"Origin: http://localhost:8000",
                                        "Access-Control-Request-Method: DELETE",
                                        NULL},
                  NULL, 0, &r);
    CHECK_EQ_U64(r.status, 204);
    expect_cors(&r, "*");
    expect_list(&r, "Access-Control-Allow-Methods", "DELETE");
    itest_resp_free(&r);
    itest_cleanup(&s);
}

TEST(star_with_token_file_refuses_to_start)
{
    struct tokdir t;
    char out[4096];
    int rc;

    tokdir_make(&t);
    rc = itest_run((const char *const[]){"--listen", "127.0.0.1:0",
                                         "--data-dir", t.dir, "--token-file",
                                         t.file, "--cors-origin", "*", NULL},
                   10, out, sizeof(out));
    /* Refused for the combination (a flag it does not know would be
     * refused too, but for the wrong reason). */
    if (rc == 0 || strstr(out, "unknown flag") ||
        !strstr(out, "--cors-origin '*' cannot be used with --token-file"))
        TEST_FAIL("exit %d, output:\n%s", rc, out);
    rc = itest_run((const char *const[]){"--listen", "127.0.0.1:0",
                                         "--data-dir", t.dir, "--cors-origin",
                                         "https://a.example/path", NULL},
                   10, out, sizeof(out));
    if (rc == 0 || strstr(out, "unknown flag") ||
        !strstr(out, "--cors-origin: invalid origin"))
        TEST_FAIL("exit %d, output:\n%s", rc, out);
    tokdir_remove(&t);
}

TEST_MAIN()
