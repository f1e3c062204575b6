/* test_ui.c - GET /ui/: the inspector's files, served from the binary
 * (api/src/ui.c, README "Inspector"), through the real server.
 *
 * Proves: /ui answers 308 to "ui/"; /ui/ is index.html; each file has its
 * content type, the strict Content-Security-Policy (no inline script or
 * style, no framing), nosniff, an ETag and no-cache; If-None-Match with
 * that ETag (or "*") is 304 without a body, another tag 200; HEAD gives
 * the length without the body; an unknown file, an escaped name or a
 * deeper path is 404 problem+json (with the CSP too); only GET and HEAD
 * are allowed; and with --token-file the files need no token while the
 * API still does. What the page does with them is tests/browser.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "itest.h"

#define CSP                                                                    \
    "default-src 'self'; script-src 'self'; style-src 'self'; "               \
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; "            \
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

static void expect_guarded(const struct itest_resp *r)
{
    char buf[512];

    if (!itest_header(r, "Content-Security-Policy", buf, sizeof(buf)))
        TEST_FAIL("status %ld without a CSP:\n%s", r->status, r->headers);
    CHECK_EQ_STR(buf, CSP);
    CHECK(itest_header(r, "X-Content-Type-Options", buf, sizeof(buf)));
    CHECK_EQ_STR(buf, "nosniff");
}

/* GET path: 200 with this content type, the guards and validators; the
 * ETag goes to etag. */
static void expect_file(const struct itest_server *s, const char *path,
                        const char *type, char *etag, size_t etag_len)
{
    struct itest_resp r;
    char buf[256];

    itest_request(s, "GET", path, NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    CHECK(itest_header(&r, "Content-Type", buf, sizeof(buf)));
    CHECK_EQ_STR(buf, type);
    expect_guarded(&r);
    CHECK(itest_header(&r, "Cache-Control", buf, sizeof(buf)));
    CHECK_EQ_STR(buf, "no-cache");
    CHECK(itest_header(&r, "ETag", etag, etag_len));
    CHECK(etag[0] == '"');
    CHECK(r.len > 100);
    itest_resp_free(&r);
}

TEST(files_types_and_csp)
{
    struct itest_server s = {0};
    struct itest_resp r;
    char etag[96], buf[256];

    itest_start(&s, NULL);
    itest_request(&s, "GET", "/ui", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 308);
    CHECK(itest_header(&r, "Location", buf, sizeof(buf)));
    CHECK_EQ_STR(buf, "ui/");
    expect_guarded(&r);
    itest_resp_free(&r);

    expect_file(&s, "/ui/", "text/html; charset=utf-8", etag, sizeof(etag));
    itest_request(&s, "GET", "/ui/", NULL, NULL, 0, &r);
    CHECK(strstr(r.body, "<script src=\"app.js\"") != NULL);
    /* No inline script or style in the page itself. */
    CHECK(strstr(r.body, "<script>") == NULL);
    CHECK(strstr(r.body, "style=") == NULL);
    CHECK(strstr(r.body, "<style") == NULL);
    itest_resp_free(&r);
    expect_file(&s, "/ui/index.html", "text/html; charset=utf-8", buf,
                sizeof(buf));
    CHECK_EQ_STR(buf, etag); /* the same file */
    expect_file(&s, "/ui/app.js", "text/javascript; charset=utf-8", etag,
                sizeof(etag));
    expect_file(&s, "/ui/style.css", "text/css; charset=utf-8", etag,
                sizeof(etag));
    expect_file(&s, "/ui/icon.svg", "image/svg+xml", etag, sizeof(etag));
    itest_cleanup(&s);
}

TEST(etag_revalidation_and_head)
{
    struct itest_server s = {0};
    struct itest_resp r;
    char etag[96], other[96], hdr[160], buf[64];
    size_t len;

    itest_start(&s, NULL);
    expect_file(&s, "/ui/app.js", "text/javascript; charset=utf-8", etag,
                sizeof(etag));
    expect_file(&s, "/ui/style.css", "text/css; charset=utf-8", other,
                sizeof(other));
    CHECK(strcmp(etag, other) != 0);

    snprintf(hdr, sizeof(hdr), "If-None-Match: %s", etag);
    itest_request(&s, "GET", "/ui/app.js", (const char *const[]){hdr, NULL},
                  NULL, 0, &r);
    CHECK_EQ_U64(r.status, 304);
    CHECK_EQ_U64(r.len, 0);
    CHECK(itest_header(&r, "ETag", buf, sizeof(buf)));
    CHECK_EQ_STR(buf, etag);
    expect_guarded(&r);
    itest_resp_free(&r);

    /* Weak comparison, in a list. */
    snprintf(hdr, sizeof(hdr), "If-None-Match: \"x\", W/%s", etag);
    itest_request(&s, "GET", "/ui/app.js", (const char *const[]){hdr, NULL},
                  NULL, 0, &r);
    CHECK_EQ_U64(r.status, 304);
    itest_resp_free(&r);
    itest_request(&s, "GET", "/ui/app.js",
                  (const char *const[]){"If-None-Match: *", NULL}, NULL, 0,
                  &r);
    CHECK_EQ_U64(r.status, 304);
    itest_resp_free(&r);

    /* Another file's tag, or a mapping-like tag: the file again. */
    snprintf(hdr, sizeof(hdr), "If-None-Match: %s", other);
    itest_request(&s, "GET", "/ui/app.js", (const char *const[]){hdr, NULL},
                  NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    len = r.len;
    CHECK(len > 100);
    itest_resp_free(&r);

    itest_request(&s, "HEAD", "/ui/app.js", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    CHECK_EQ_U64(r.len, 0);
    CHECK(itest_header(&r, "Content-Length", buf, sizeof(buf)));
    CHECK_EQ_U64(strtoull(buf, NULL, 10), len);
    itest_resp_free(&r);
    itest_cleanup(&s);
}

TEST(unknown_files_and_methods)
{
    struct itest_server s = {0};
    struct itest_resp r;
    char buf[128];

    itest_start(&s, NULL);
    static const char *const missing[] = {
        "/ui/nope.js", "/ui/app.js/x", "/ui/%61pp.js", "/ui/..",
        "/ui/APP.JS",  "/ui/.hidden",
    };
    for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
        itest_request(&s, "GET", missing[i], NULL, NULL, 0, &r);
        if (r.status != 404)
            TEST_FAIL("GET %s: %ld", missing[i], r.status);
        itest_expect_problem(&r, 404, "not_found");
        itest_resp_free(&r);
    }
    itest_request(&s, "GET", "/ui/nope.js", NULL, NULL, 0, &r);
    expect_guarded(&r);
    itest_resp_free(&r);

    itest_request(&s, "POST", "/ui/app.js", NULL, "x", 1, &r);
    itest_expect_problem(&r, 405, "method_not_allowed");
    CHECK(itest_header(&r, "Allow", buf, sizeof(buf)));
    CHECK_EQ_STR(buf, "GET, HEAD, OPTIONS");
    itest_resp_free(&r);
    ITEST_PROBLEM(&s, "PUT", "/ui/", NULL, "x", 1, 405, "method_not_allowed");
    itest_cleanup(&s);
}

TEST(files_need_no_token_the_api_does)
{
    struct itest_server s = {0};
    struct itest_resp r;
    char dir[64], file[128];
    FILE *f;

    snprintf(dir, sizeof(dir), "/tmp/mmapd-it-ui-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(file, sizeof(file), "%s/tokens.json", dir);
    f = fopen(file, "w");
    if (f == NULL)
        TEST_FAIL("fopen %s: %s", file, strerror(errno));
    fputs("{\"tokens\": [{\"token\": \"t-ui-1\", \"read\": [\"*\"]}]}\n", f);
    fclose(f);
    CHECK(chmod(file, 0600) == 0);
    itest_start(&s, (const char *const[]){"--token-file", file, NULL});
    itest_request(&s, "GET", "/ui/", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    itest_resp_free(&r);
    itest_request(&s, "GET", "/ui/app.js", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    itest_resp_free(&r);
    ITEST_PROBLEM(&s, "GET", "/v1/maps", NULL, NULL, 0, 401, "unauthorized");
    itest_request(&s, "GET", "/v1/maps",
                  (const char *const[]){"Authorization: Bearer t-ui-1", NULL},
                  NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    itest_resp_free(&r);
    itest_cleanup(&s);
    unlink(file);
    rmdir(dir);
}

TEST_MAIN()
