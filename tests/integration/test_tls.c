/* test_tls.c - HTTPS through the real server.
 *
 * Proves: with --tls-cert and --tls-key the server prints an https://
 * listening line and serves requests that libcurl verifies against the
 * test's own certificate; bytes written over TLS read back exactly, for a
 * whole mapping that spans several views, a single range and several
 * ranges (the zero-copy iovec responses go through GnuTLS, which must copy
 * them correctly); bearer tokens work over TLS; plain HTTP to the TLS port
 * gets no HTTP answer; a certificate without a key, or unreadable files,
 * stop the server at start.
 *
 * The certificate is made by the openssl command (Debian package openssl,
 * installed by ./dev.sh) for IP 127.0.0.1, valid for a day.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

struct certdir {
    char dir[64];
    char cert[128];
    char key[128];
};

static void certdir_make(struct certdir *c)
{
    char cmd[1024];
    int st;

    snprintf(c->dir, sizeof(c->dir), "/tmp/mmapd-it-tls-XXXXXX");
    CHECK(mkdtemp(c->dir) != NULL);
    snprintf(c->cert, sizeof(c->cert), "%s/cert.pem", c->dir);
    snprintf(c->key, sizeof(c->key), "%s/key.pem", c->dir);
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
             "-nodes -keyout '%s' -out '%s' -days 1 -subj /CN=127.0.0.1 "
             "-addext subjectAltName=IP:127.0.0.1 2>/dev/null",
             c->key, c->cert);
    st = system(cmd);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        TEST_FAIL("openssl could not make a test certificate (is the "
                  "openssl package installed? ./dev.sh deps installs it)");
    CHECK(chmod(c->key, 0600) == 0);
}

static void certdir_remove(struct certdir *c)
{
    unlink(c->cert);
    unlink(c->key);
    rmdir(c->dir);
}

static void start_tls(struct itest_server *s, struct certdir *c,
                      const char *const more[])
{
    const char *args[ITEST_MAX_ARGS];
    int n = 0;

    certdir_make(c);
    args[n++] = "--tls-cert";
    args[n++] = c->cert;
    args[n++] = "--tls-key";
    args[n++] = c->key;
    for (int i = 0; more && more[i]; i++)
        args[n++] = more[i];
    args[n] = NULL;
    s->cainfo = c->cert;
    itest_start(s, args);
}

TEST(https_serves_and_bytes_round_trip)
{
    struct itest_server s = {0};
    struct certdir c;
    const size_t size = 5u << 20; /* three views of the default 2 MiB */
    const size_t chunk = 1u << 20;
    char *pattern = malloc(size);
    char *got;
    size_t len;
    struct itest_resp r;
    char json[128];
    char hdr[128];

    CHECK(pattern != NULL);
    start_tls(&s, &c, NULL);
    CHECK(strncmp(s.base, "https://", 8) == 0);
    itest_request(&s, "GET", "/healthz", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    itest_resp_free(&r);

    snprintf(json, sizeof(json), "{\"size\": %zu}", size);
    itest_create(&s, "tls", json);
    itest_pattern(pattern, size, 42);
    for (size_t off = 0; off < size; off += chunk) {
        char path[96];

        snprintf(path, sizeof(path), "/v1/maps/tls/data?offset=%zu", off);
        itest_request(&s, "PUT", path, NULL, pattern + off, chunk, &r);
        CHECK_EQ_U64(r.status, 204);
        itest_resp_free(&r);
    }

    got = itest_get_data(&s, "tls", &len);
    CHECK_EQ_U64(len, size);
    CHECK_MEM(got, pattern, size);
    free(got);

    /* One range across the first view boundary. */
    itest_request(&s, "GET", "/v1/maps/tls/data",
                  (const char *const[]){"Range: bytes=2097000-2098000", NULL},
                  NULL, 0, &r);
    CHECK_EQ_U64(r.status, 206);
    CHECK_EQ_U64(r.len, 1001);
    CHECK_MEM(r.body, pattern + 2097000, 1001);
    itest_resp_free(&r);

    /* Several ranges: a multipart body of text and mapped slices. */
    itest_request(&s, "GET", "/v1/maps/tls/data",
                  (const char *const[]){"Range: bytes=0-9,4194300-4194309",
                                        NULL},
                  NULL, 0, &r);
    CHECK_EQ_U64(r.status, 206);
    CHECK(itest_header(&r, "Content-Type", hdr, sizeof(hdr)) != NULL);
    CHECK(strncmp(hdr, "multipart/byteranges", 20) == 0);
    CHECK(memmem(r.body, r.len, pattern, 10) != NULL);
    CHECK(memmem(r.body, r.len, pattern + 4194300, 10) != NULL);
    itest_resp_free(&r);

    free(pattern);
    itest_cleanup(&s);
    certdir_remove(&c);
}

TEST(plain_http_to_tls_port_fails)
{
    struct itest_server s = {0};
    struct certdir c;
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    char out[1024];

    start_tls(&s, &c, NULL);
    itest_raw(&s, req, sizeof(req) - 1, out, sizeof(out), 2000);
    if (strncmp(out, "HTTP/", 5) == 0)
        TEST_FAIL("the TLS port answered plain HTTP: \"%.80s\"", out);
    /* The server is still fine afterwards. */
    {
        struct itest_resp r;

        itest_request(&s, "GET", "/healthz", NULL, NULL, 0, &r);
        CHECK_EQ_U64(r.status, 200);
        itest_resp_free(&r);
    }
    itest_cleanup(&s);
    certdir_remove(&c);
}

TEST(tokens_over_tls)
{
    struct itest_server s = {0};
    struct certdir c;
    char tokfile[160];
    FILE *f;
    struct itest_resp r;

    certdir_make(&c);
    snprintf(tokfile, sizeof(tokfile), "%s/tokens.json", c.dir);
    f = fopen(tokfile, "w");
    CHECK(f != NULL);
    fputs("{\"tokens\":[{\"token\":\"t1\",\"read\":[\"*\"]}]}", f);
    fclose(f);
    CHECK(chmod(tokfile, 0600) == 0);
    /* certdir_make ran already; start_tls would make a second one. */
    s.cainfo = c.cert;
    itest_start(&s, (const char *const[]){"--tls-cert", c.cert, "--tls-key",
                                          c.key, "--token-file", tokfile,
                                          NULL});
    itest_request(&s, "GET", "/v1/info", NULL, NULL, 0, &r);
    itest_expect_problem(&r, 401, "unauthorized");
    itest_resp_free(&r);
    itest_request(&s, "GET", "/v1/info",
                  (const char *const[]){"Authorization: Bearer t1", NULL},
                  NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    itest_resp_free(&r);
    itest_cleanup(&s);
    unlink(tokfile);
    certdir_remove(&c);
}

TEST(bad_tls_configuration_refused)
{
    struct certdir c;
    char out[4096];
    char dir[64];
    char junk[160];
    FILE *f;
    int st;

    certdir_make(&c);
    snprintf(dir, sizeof(dir), "/tmp/mmapd-it-data-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);

    st = itest_run((const char *const[]){"--listen", "127.0.0.1:0",
                                         "--data-dir", dir, "--tls-cert",
                                         c.cert, NULL},
                   30, out, sizeof(out));
    CHECK_EQ_U64(st, 2);
    CHECK(strstr(out, "--tls-cert needs --tls-key") != NULL);

    st = itest_run((const char *const[]){"--listen", "127.0.0.1:0",
                                         "--data-dir", dir, "--tls-cert",
                                         c.cert, "--tls-key",
                                         "/nonexistent/key.pem", NULL},
                   30, out, sizeof(out));
    CHECK_EQ_U64(st, 1);
    CHECK(strstr(out, "cannot open the TLS key") != NULL);

    /* A key that is not PEM: libmicrohttpd refuses it, and so do we. */
    snprintf(junk, sizeof(junk), "%s/junk.pem", c.dir);
    f = fopen(junk, "w");
    CHECK(f != NULL);
    fputs("not a key\n", f);
    fclose(f);
    CHECK(chmod(junk, 0600) == 0);
    st = itest_run((const char *const[]){"--listen", "127.0.0.1:0",
                                         "--data-dir", dir, "--tls-cert",
                                         c.cert, "--tls-key", junk, NULL},
                   30, out, sizeof(out));
    CHECK_EQ_U64(st, 1);
    CHECK(strstr(out, "listening") == NULL);
    unlink(junk);

    {
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        CHECK(system(cmd) == 0);
    }
    certdir_remove(&c);
}

TEST_MAIN()
