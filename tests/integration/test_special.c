/* test_special.c - special files (FIFOs, directories) are refused, and the
 * server never blocks on one.
 *
 * Proves: a FIFO given as the token file, the TLS key or the TLS certificate
 * makes the server exit 1 at once with "not a regular file" (opening a FIFO
 * for reading would wait for a writer forever); a FIFO swapped in for the
 * token file before SIGHUP keeps the old tokens, and the server still
 * reloads a good file at the next SIGHUP and exits 0 on SIGTERM; a FIFO as
 * the catalog file refuses the start promptly; a FIFO, a symlink (inside
 * the data directory) to a FIFO, and a directory as a backing file answer
 * 400 not_regular_file, and the server keeps serving; and a backing file
 * replaced by a FIFO while the server was down loads as damaged without
 * blocking the start.
 */
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>


#include "itest.h"

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    CHECK(f != NULL);
    fputs(text, f);
    CHECK(fclose(f) == 0);
    CHECK(chmod(path, 0600) == 0);
}

static void temp_dir(char *buf, size_t len, const char *what)
{
    snprintf(buf, len, "/tmp/mmapd-it-%s-XXXXXX", what);
    CHECK(mkdtemp(buf) != NULL);
}

static void remove_tree(const char *dir)
{
    char cmd[256];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

static long info_status(const struct itest_server *s, const char *token)
{
    char hdr[128];
    struct itest_resp r;
    long st;

    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", token);
    itest_request(s, "GET", "/v1/info", (const char *const[]){hdr, NULL}, NULL,
                  0, &r);
    st = r.status;
    itest_resp_free(&r);
    return st;
}

#define TOKENS(tok) "{\"tokens\":[{\"token\":\"" tok "\",\"read\":[\"*\"]}]}"

TEST(fifo_token_file_refused_at_start)
{
    char dir[64], data[64], fifo[128], out[4096];
    int st;

    temp_dir(dir, sizeof(dir), "fifo");
    temp_dir(data, sizeof(data), "data");
    snprintf(fifo, sizeof(fifo), "%s/tokens.json", dir);
    CHECK(mkfifo(fifo, 0600) == 0);
    /* itest_run fails the case if the server has not exited in 5 s. */
    st = itest_run((const char *const[]){"--listen", "127.0.0.1:0",
                                         "--data-dir", data, "--token-file",
                                         fifo, NULL},
                   5, out, sizeof(out));
    CHECK_EQ_U64(st, 1);
    CHECK(strstr(out, "not a regular file") != NULL);
    CHECK(strstr(out, "listening") == NULL);
    remove_tree(dir);
    remove_tree(data);
}

TEST(fifo_token_file_on_sighup_keeps_old_tokens)
{
    struct itest_server s = {0};
    char dir[64], file[128];

    temp_dir(dir, sizeof(dir), "tok");
    snprintf(file, sizeof(file), "%s/tokens.json", dir);
    write_file(file, TOKENS("old-token"));
    itest_start(&s, (const char *const[]){"--token-file", file, NULL});
    CHECK_EQ_U64(info_status(&s, "old-token"), 200);

    CHECK(unlink(file) == 0);
    CHECK(mkfifo(file, 0600) == 0);
    CHECK(kill(s.pid, SIGHUP) == 0);
    usleep(300000);
    CHECK_EQ_U64(info_status(&s, "old-token"), 200);

    /* The main thread is not stuck in open(): a later good file loads. */
    CHECK(unlink(file) == 0);
    write_file(file, TOKENS("new-token"));
    CHECK(kill(s.pid, SIGHUP) == 0);
    for (int i = 0; i < 300 && info_status(&s, "new-token") != 200; i++)
        usleep(10000);
    CHECK_EQ_U64(info_status(&s, "new-token"), 200);
    CHECK_EQ_U64(info_status(&s, "old-token"), 401);
    itest_cleanup(&s); /* SIGTERM, exit 0 required */
    remove_tree(dir);
}

/* Start with --tls-cert cert --tls-key key; require a prompt exit 1 that
 * names `what` as not a regular file. */
static void tls_refused(const char *data, const char *cert, const char *key,
                        const char *what)
{
    char out[4096];
    int st = itest_run((const char *const[]){"--listen", "127.0.0.1:0",
                                             "--data-dir", data, "--tls-cert",
                                             cert, "--tls-key", key, NULL},
                       5, out, sizeof(out));

    CHECK_EQ_U64(st, 1);
    CHECK(strstr(out, what) != NULL);
    CHECK(strstr(out, "not a regular file") != NULL);
}

TEST(fifo_tls_files_refused_at_start)
{
    char dir[64], data[64], fifo[128], key[128], cert[128];
    char cmd[512];

    temp_dir(dir, sizeof(dir), "tlsfifo");
    temp_dir(data, sizeof(data), "data");
    snprintf(fifo, sizeof(fifo), "%s/fifo.pem", dir);
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    CHECK(mkfifo(fifo, 0600) == 0);
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
             "-nodes -keyout '%s' -out '%s' -days 1 -subj /CN=127.0.0.1 "
             "2>/dev/null",
             key, cert);
    CHECK(system(cmd) == 0);
    CHECK(chmod(key, 0600) == 0);

    tls_refused(data, cert, fifo, "TLS key");
    tls_refused(data, fifo, key, "TLS certificate");
    remove_tree(dir);
    remove_tree(data);
}

TEST(fifo_catalog_refused_at_start)
{
    char data[64], path[160], out[4096];
    int st;

    temp_dir(data, sizeof(data), "data");
    snprintf(path, sizeof(path), "%s/.mmapd", data);
    CHECK(mkdir(path, 0700) == 0);
    snprintf(path, sizeof(path), "%s/.mmapd/catalog.json", data);
    CHECK(mkfifo(path, 0600) == 0);
    st = itest_run((const char *const[]){"--listen", "127.0.0.1:0",
                                         "--data-dir", data, NULL},
                   5, out, sizeof(out));
    CHECK_EQ_U64(st, 1);
    CHECK(strstr(out, "listening") == NULL);
    remove_tree(data);
}

static void expect_refused(const struct itest_server *s, const char *name,
                           const char *json)
{
    char path[128];

    snprintf(path, sizeof(path), "/v1/maps/%s", name);
    ITEST_PROBLEM(s, "PUT", path,
                  ((const char *const[]){"Content-Type: application/json",
                                         NULL}),
                  json, strlen(json), 400, "not_regular_file");
}

TEST(special_backing_files_refused)
{
    struct itest_server s = {0};
    char path[512];
    struct itest_resp r;

    itest_start(&s, NULL);
    snprintf(path, sizeof(path), "%s/fifo", s.dir);
    CHECK(mkfifo(path, 0600) == 0);
    snprintf(path, sizeof(path), "%s/link", s.dir);
    CHECK(symlink("fifo", path) == 0);
    snprintf(path, sizeof(path), "%s/dir", s.dir);
    CHECK(mkdir(path, 0700) == 0);

    expect_refused(&s, "a", "{\"file\": \"fifo\", \"size\": 4096}");
    expect_refused(&s, "b", "{\"file\": \"fifo\", \"protection\": \"readonly\"}");
    expect_refused(&s, "c", "{\"file\": \"link\", \"size\": 4096}");
    expect_refused(&s, "d", "{\"file\": \"link\", \"protection\": \"readonly\"}");
    expect_refused(&s, "e", "{\"file\": \"dir\", \"protection\": \"readonly\"}");
    expect_refused(&s, "f", "{\"file\": \"dir\", \"size\": 4096}");
    /* The default file of a name is the name. */
    expect_refused(&s, "fifo", "{\"size\": 4096}");

    itest_request(&s, "GET", "/healthz", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    itest_resp_free(&r);
    itest_request(&s, "GET", "/v1/maps", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    CHECK(strstr(r.body, "\"fifo\"") == NULL);
    itest_resp_free(&r);

    /* A backing file replaced by a FIFO while the server was down: the
     * start does not block on it (itest_start allows 10 s), and the
     * mapping is listed as damaged. */
    itest_create(&s, "later", "{\"size\": 4096}");
    itest_stop(&s);
    snprintf(path, sizeof(path), "%s/later", s.dir);
    CHECK(unlink(path) == 0);
    CHECK(mkfifo(path, 0600) == 0);
    itest_start(&s, NULL);
    itest_request(&s, "GET", "/v1/maps/later", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    CHECK(strstr(r.body, "\"damaged\":true") != NULL);
    itest_resp_free(&r);
    itest_cleanup(&s);
}

TEST_MAIN()
