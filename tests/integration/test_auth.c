/* test_auth.c - bearer tokens through the real server.
 *
 * Proves the wiring of --token-file: requests without a token or with a
 * wrong one get 401 problems with WWW-Authenticate; each operation a token
 * lacks the scope for gets 403, and the allowed ones succeed; a scope holds
 * through files (a default file name, a symlink or an opened mapping never
 * reaches a file that a mapping outside the scope uses); the probes
 * stay open; SIGHUP loads a changed file without dropping a kept-alive
 * connection, and an invalid file keeps the old tokens; an invalid file at
 * start is refused with a message. The per-operation policy itself is
 * proved in tests/unit/test_auth.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "itest.h"

#define ROOT "Authorization: Bearer root-token"
#define READER "Authorization: Bearer reader-token"
#define WRITER "Authorization: Bearer writer-token"
#define ADMIN "Authorization: Bearer app-admin"

static const char tokens_json[] =
    "{\"tokens\": [\n"
    "  {\"token\": \"root-token\", \"read\": [\"*\"], \"write\": [\"*\"],"
    " \"admin\": true},\n"
    "  {\"token\": \"reader-token\", \"read\": [\"app-\"]},\n"
    "  {\"token\": \"writer-token\", \"write\": [\"app-\"]},\n"
    "  {\"token\": \"app-admin\", \"read\": [\"app-\"], \"write\": [\"app-\"],"
    " \"admin\": true}\n"
    "]}\n";

/* A private directory for the token file, outside the data directory. */
struct tokdir {
    char dir[64];
    char file[128];
};

static void write_file(const char *path, const char *text, mode_t mode)
{
    char tmp[160];
    FILE *f;

    /* Write beside and rename, as an operator's tooling should, so the
     * server never reads half a file. */
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    if (!f)
        TEST_FAIL("fopen %s: %s", tmp, strerror(errno));
    fputs(text, f);
    fclose(f);
    CHECK(chmod(tmp, mode) == 0);
    CHECK(rename(tmp, path) == 0);
}

static void tokdir_make(struct tokdir *t, const char *text)
{
    snprintf(t->dir, sizeof(t->dir), "/tmp/mmapd-it-tok-XXXXXX");
    CHECK(mkdtemp(t->dir) != NULL);
    snprintf(t->file, sizeof(t->file), "%s/tokens.json", t->dir);
    write_file(t->file, text, 0600);
}

static void tokdir_remove(struct tokdir *t)
{
    unlink(t->file);
    rmdir(t->dir);
}

static void start_with_tokens(struct itest_server *s, struct tokdir *t)
{
    tokdir_make(t, tokens_json);
    itest_start(s, (const char *const[]){"--token-file", t->file, NULL});
}

/* One request with one header; returns the status. */
static long status_of(const struct itest_server *s, const char *auth,
                      const char *method, const char *path, const char *body)
{
    struct itest_resp r;
    long st;

    itest_request(s, method, path,
                  (const char *const[]){auth ? auth : "X-No-Auth: 1",
                                        "Content-Type: application/json",
                                        NULL},
                  body, body ? strlen(body) : 0, &r);
    st = r.status;
    if (st == 401 || st == 403)
        itest_expect_problem(&r, st, st == 401 ? "unauthorized" : "forbidden");
    itest_resp_free(&r);
    return st;
}

#define EXPECT_STATUS(want, s, auth, method, path, body)                      \
    do {                                                                      \
        long got_ = status_of((s), (auth), (method), (path), (body));         \
        if (got_ != (want))                                                   \
            TEST_FAIL("%s %s with %s: status %ld, want %ld", (method),        \
                      (path), (auth) ? (auth) : "no token", got_,             \
                      (long)(want));                                          \
    } while (0)

TEST(missing_or_bad_token_is_401)
{
    struct itest_server s = {0};
    struct tokdir t;
    struct itest_resp r;
    char buf[256];

    start_with_tokens(&s, &t);
    itest_request(&s, "GET", "/v1/info", NULL, NULL, 0, &r);
    itest_expect_problem(&r, 401, "unauthorized");
    CHECK(itest_header(&r, "WWW-Authenticate", buf, sizeof(buf)) != NULL);
    CHECK_EQ_STR(buf, "Bearer realm=\"mmapd\"");
    itest_resp_free(&r);

    itest_request(&s, "GET", "/v1/maps",
                  (const char *const[]){"Authorization: Bearer wrong", NULL},
                  NULL, 0, &r);
    itest_expect_problem(&r, 401, "unauthorized");
    CHECK(itest_header(&r, "WWW-Authenticate", buf, sizeof(buf)) != NULL);
    CHECK(strstr(buf, "error=\"invalid_token\"") != NULL);
    itest_resp_free(&r);

    EXPECT_STATUS(401, &s, NULL, "GET", "/metrics", NULL);
    EXPECT_STATUS(401, &s, "Authorization: Basic cm9vdC10b2tlbjo=", "GET",
                  "/metrics", NULL);
    EXPECT_STATUS(401, &s, NULL, "GET", "/v1/maps/app-a/data", NULL);
    EXPECT_STATUS(401, &s, NULL, "PUT", "/v1/maps/app-a",
                  "{\"backing\":\"memory\",\"size\":16}");
    EXPECT_STATUS(401, &s, NULL, "GET", "/no/such/path", NULL);

    /* The probes need no token. */
    EXPECT_STATUS(200, &s, NULL, "GET", "/healthz", NULL);
    EXPECT_STATUS(200, &s, NULL, "GET", "/readyz", NULL);
    /* Any valid token reaches the service endpoints. */
    EXPECT_STATUS(200, &s, WRITER, "GET", "/metrics", NULL);
    EXPECT_STATUS(200, &s, WRITER, "GET", "/v1/info", NULL);
    itest_cleanup(&s);
    tokdir_remove(&t);
}

TEST(each_operation_checks_its_scope)
{
    struct itest_server s = {0};
    struct tokdir t;
    static const char mem[] = "{\"backing\":\"memory\",\"size\":16}";
    struct itest_resp r;

    start_with_tokens(&s, &t);
    /* Create: admin with write on the name. */
    EXPECT_STATUS(403, &s, READER, "PUT", "/v1/maps/app-a", mem);
    EXPECT_STATUS(403, &s, WRITER, "PUT", "/v1/maps/app-a", mem);
    EXPECT_STATUS(403, &s, ADMIN, "PUT", "/v1/maps/db", mem);
    EXPECT_STATUS(201, &s, ADMIN, "PUT", "/v1/maps/app-a", mem);
    EXPECT_STATUS(201, &s, ROOT, "PUT", "/v1/maps/db", mem);
    /* Open an existing name: read. */
    EXPECT_STATUS(200, &s, READER, "PUT", "/v1/maps/app-a", mem);
    EXPECT_STATUS(403, &s, WRITER, "PUT", "/v1/maps/app-a", mem);
    EXPECT_STATUS(403, &s, READER, "PUT", "/v1/maps/db", mem);

    /* Read: metadata and bytes. Write does not imply read. */
    EXPECT_STATUS(200, &s, READER, "GET", "/v1/maps/app-a", NULL);
    EXPECT_STATUS(200, &s, READER, "GET", "/v1/maps/app-a/data", NULL);
    EXPECT_STATUS(403, &s, WRITER, "GET", "/v1/maps/app-a/data", NULL);
    EXPECT_STATUS(403, &s, READER, "GET", "/v1/maps/db/data", NULL);
    EXPECT_STATUS(403, &s, READER, "GET", "/v1/maps/db", NULL);

    /* Write: bytes and flush. */
    EXPECT_STATUS(204, &s, WRITER, "PUT", "/v1/maps/app-a/data", "abcd");
    EXPECT_STATUS(403, &s, READER, "PUT", "/v1/maps/app-a/data", "abcd");
    EXPECT_STATUS(403, &s, ADMIN, "PUT", "/v1/maps/db/data", "abcd");
    /* Past the scope check; app-a is memory, which has nothing to flush. */
    EXPECT_STATUS(400, &s, WRITER, "POST", "/v1/maps/app-a/flush", NULL);
    EXPECT_STATUS(403, &s, READER, "POST", "/v1/maps/app-a/flush", NULL);

    /* Resize and delete: admin with write on the name. */
    EXPECT_STATUS(403, &s, WRITER, "PATCH", "/v1/maps/app-a", "{\"size\":32}");
    EXPECT_STATUS(403, &s, ADMIN, "PATCH", "/v1/maps/db", "{\"size\":32}");
    EXPECT_STATUS(200, &s, ADMIN, "PATCH", "/v1/maps/app-a", "{\"size\":32}");
    EXPECT_STATUS(403, &s, READER, "DELETE", "/v1/maps/app-a", NULL);
    EXPECT_STATUS(403, &s, ADMIN, "DELETE", "/v1/maps/db", NULL);

    /* The bytes the writer wrote are there, seen by a reader. */
    itest_request(&s, "GET", "/v1/maps/app-a/data?offset=0&length=4",
                  (const char *const[]){READER, NULL}, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    CHECK_EQ_U64(r.len, 4);
    CHECK_MEM(r.body, "abcd", 4);
    itest_resp_free(&r);

    /* The listing shows only what the token may read. */
    itest_request(&s, "GET", "/v1/maps", (const char *const[]){READER, NULL},
                  NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    CHECK(strstr(r.body, "\"app-a\"") != NULL);
    CHECK(strstr(r.body, "\"db\"") == NULL);
    itest_resp_free(&r);

    EXPECT_STATUS(204, &s, ADMIN, "DELETE", "/v1/maps/app-a", NULL);
    EXPECT_STATUS(204, &s, ROOT, "DELETE", "/v1/maps/db", NULL);
    itest_cleanup(&s);
    tokdir_remove(&t);
}

/* Issue 9, break 4: a scoped admin must not reach a file that a mapping
 * outside its scope uses, whichever way the file is named: by default
 * (derived from the name), through a symlink inside the data directory, or
 * by opening a mapping an all-scope admin made on that file. */
TEST(scopes_hold_through_files)
{
    struct itest_server s = {0};
    struct tokdir t;
    struct itest_resp r;
    char path[512];
    struct stat st;

    start_with_tokens(&s, &t);
    EXPECT_STATUS(201, &s, ROOT, "PUT", "/v1/maps/alias",
                  "{\"file\": \"app-shared\", \"size\": 4096}");
    itest_request(&s, "PUT", "/v1/maps/alias/data",
                  (const char *const[]){ROOT, NULL}, "SECRET!!", 8, &r);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);
    EXPECT_STATUS(403, &s, ADMIN, "GET", "/v1/maps/alias/data", NULL);

    /* The default file of "app-shared" is alias's file: refused, with or
     * without a size, and nothing was created or grown. */
    EXPECT_STATUS(403, &s, ADMIN, "PUT", "/v1/maps/app-shared", "{}");
    EXPECT_STATUS(403, &s, ADMIN, "PUT", "/v1/maps/app-shared",
                  "{\"size\": 4096}");
    EXPECT_STATUS(403, &s, ADMIN, "PUT", "/v1/maps/app-shared",
                  "{\"size\": 1048576}");
    EXPECT_STATUS(404, &s, ROOT, "GET", "/v1/maps/app-shared", NULL);
    EXPECT_STATUS(404, &s, ADMIN, "GET", "/v1/maps/app-shared/data", NULL);
    snprintf(path, sizeof(path), "%s/app-shared", s.dir);
    CHECK(stat(path, &st) == 0);
    CHECK_EQ_U64(st.st_size, 4096);

    /* A symlink inside the data directory names the same file: the check
     * is on the file, not on the string. */
    snprintf(path, sizeof(path), "%s/app-link", s.dir);
    CHECK(symlink("app-shared", path) == 0);
    EXPECT_STATUS(403, &s, ADMIN, "PUT", "/v1/maps/app-link", "{}");
    EXPECT_STATUS(404, &s, ROOT, "GET", "/v1/maps/app-link", NULL);

    /* A mapping an all-scope admin put on alias's file, under a name in
     * the token's scope: that admin's choice. Opening it chooses no file
     * and is allowed (OpenFileMapping), but shrinking it below alias and
     * unlinking alias's file through it are refused. */
    EXPECT_STATUS(201, &s, ROOT, "PUT", "/v1/maps/app-open",
                  "{\"file\": \"app-shared\"}");
    EXPECT_STATUS(200, &s, ADMIN, "PUT", "/v1/maps/app-open", "{}");
    ITEST_PROBLEM(&s, "PATCH", "/v1/maps/app-open",
                  ((const char *const[]){ADMIN, NULL}), "{\"size\": 8}", 11,
                  409, "file_shared");
    ITEST_PROBLEM(&s, "DELETE", "/v1/maps/app-open?unlink=true",
                  ((const char *const[]){ADMIN, NULL}), NULL, 0, 409,
                  "file_shared");

    /* alias still holds its bytes, at its size. */
    itest_request(&s, "GET", "/v1/maps/alias/data",
                  (const char *const[]){ROOT, NULL}, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    CHECK_EQ_U64(r.len, 4096);
    CHECK_MEM(r.body, "SECRET!!", 8);
    itest_resp_free(&r);

    /* A file of its own is still the scoped admin's to create. */
    EXPECT_STATUS(201, &s, ADMIN, "PUT", "/v1/maps/app-own",
                  "{\"size\": 4096}");
    EXPECT_STATUS(200, &s, ADMIN, "PUT", "/v1/maps/app-own", "{}");
    itest_cleanup(&s);
    tokdir_remove(&t);
}

static size_t discard(char *data, size_t size, size_t n, void *cls)
{
    return size * n;
}

/* GET /v1/info on a kept-alive handle; returns the status and whether a new
 * connection had to be opened. */
static long keepalive_get(CURL *c, const struct itest_server *s,
                          const char *auth, long *new_conns)
{
    struct curl_slist *hl = curl_slist_append(NULL, auth);
    char url[128];
    long status = 0;
    CURLcode rc;

    snprintf(url, sizeof(url), "%s/v1/info", s->base);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        TEST_FAIL("GET /v1/info: %s", curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, new_conns);
    curl_slist_free_all(hl);
    return status;
}

/* Wait until `auth` gets `want` on /v1/info, at most 5 s: the reload runs
 * on the server's main thread shortly after the signal. */
static void wait_status(const struct itest_server *s, const char *auth,
                        long want)
{
    for (int i = 0; i < 500; i++) {
        if (status_of(s, auth, "GET", "/v1/info", NULL) == want)
            return;
        usleep(10000);
    }
    TEST_FAIL("%s never got %ld on /v1/info after SIGHUP", auth, want);
}

TEST(sighup_reloads_without_dropping_connections)
{
    struct itest_server s = {0};
    struct tokdir t;
    CURL *c = curl_easy_init();
    long conns = -1;

    CHECK(c != NULL);
    start_with_tokens(&s, &t);
    CHECK_EQ_U64(keepalive_get(c, &s, ROOT, &conns), 200);
    CHECK_EQ_U64(conns, 1);

    write_file(t.file,
               "{\"tokens\":[{\"token\":\"fresh-token\",\"read\":[\"*\"]}]}",
               0600);
    CHECK(kill(s.pid, SIGHUP) == 0);
    wait_status(&s, ROOT, 401);
    EXPECT_STATUS(200, &s, "Authorization: Bearer fresh-token", "GET",
                  "/v1/info", NULL);
    /* The connection opened before the reload is still the one in use,
     * and it is judged by the new table. */
    CHECK_EQ_U64(keepalive_get(c, &s, "Authorization: Bearer fresh-token",
                               &conns),
                 200);
    CHECK_EQ_U64(conns, 0);
    CHECK_EQ_U64(keepalive_get(c, &s, ROOT, &conns), 401);

    /* An invalid file keeps the tokens loaded before. */
    write_file(t.file, "{\"tokens\":[{\"token\":\"\"}]}", 0600);
    CHECK(kill(s.pid, SIGHUP) == 0);
    usleep(300000);
    EXPECT_STATUS(200, &s, "Authorization: Bearer fresh-token", "GET",
                  "/v1/info", NULL);
    EXPECT_STATUS(401, &s, ROOT, "GET", "/v1/info", NULL);
    /* So does a file that vanished. */
    unlink(t.file);
    CHECK(kill(s.pid, SIGHUP) == 0);
    usleep(300000);
    EXPECT_STATUS(200, &s, "Authorization: Bearer fresh-token", "GET",
                  "/v1/info", NULL);
    CHECK_EQ_U64(keepalive_get(c, &s, "Authorization: Bearer fresh-token",
                               &conns),
                 200);
    CHECK_EQ_U64(conns, 0);

    curl_easy_cleanup(c);
    itest_cleanup(&s);
    tokdir_remove(&t);
}

TEST(invalid_token_file_refuses_start)
{
    struct tokdir t;
    char out[4096];
    char dir[64];
    int st;

    snprintf(dir, sizeof(dir), "/tmp/mmapd-it-data-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    tokdir_make(&t, "{\"tokens\":[{\"token\":\"ok\",\"raed\":[\"*\"]}]}");
    CHECK(chmod(t.file, 0644) == 0);
    st = itest_run((const char *const[]){"--listen", "127.0.0.1:0",
                                         "--data-dir", dir, "--token-file",
                                         t.file, NULL},
                   30, out, sizeof(out));
    CHECK_EQ_U64(st, 1);
    CHECK(strstr(out, "unknown member \"raed\"") != NULL);
    CHECK(strstr(out, "refusing to start") != NULL);
    /* The file was readable by everyone: said before the refusal. */
    CHECK(strstr(out, "can be read by every user") != NULL);
    CHECK(strstr(out, "listening") == NULL);

    st = itest_run((const char *const[]){"--listen", "127.0.0.1:0",
                                         "--data-dir", dir, "--token-file",
                                         "/nonexistent/tokens.json", NULL},
                   30, out, sizeof(out));
    CHECK_EQ_U64(st, 1);
    CHECK(strstr(out, "cannot open the token file") != NULL);

    /* A public address without a token file needs --allow-anonymous. */
    st = itest_run((const char *const[]){"--listen", "0.0.0.0:0",
                                         "--data-dir", dir, NULL},
                   30, out, sizeof(out));
    CHECK_EQ_U64(st, 2);
    CHECK(strstr(out, "--allow-anonymous") != NULL);
    tokdir_remove(&t);
    rmdir(dir);
}

TEST_MAIN()
