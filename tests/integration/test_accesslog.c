/* test_accesslog.c - the access log is buffered per worker thread
 * (server/logbuf.h) and still loses, cuts and mixes no line.
 *
 * Each case points the server's stderr at a file (itest_start_logged) and
 * reads it back: after SIGTERM every line of every request must be there,
 * whole; while the server runs a line must show up without a shutdown,
 * and a SIGHUP must write every buffered line before it logs itself (what
 * tests/clients/lib.sh waits on). A SIGABRT, the crash path, must still
 * write the buffered lines.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

#define CLIENTS 4
#define PER_CLIENT 300

static void sleep_ms(unsigned ms)
{
    struct timespec t = {ms / 1000u, (long)(ms % 1000u) * 1000000L};

    nanosleep(&t, NULL);
}

/* The path of request i of client c: its own name, and lengths from a few
 * bytes to 1.7 KiB (log.c cuts paths near 1.8 KiB) so lines straddle the
 * 32 KiB buffer edges and some are ten times longer than most. */
static void request_path(char *buf, size_t len, unsigned c, unsigned i)
{
    int n = snprintf(buf, len, "/nope/c%u/r%u/", c, i);
    size_t pad = (i * 37u) % 97u == 0 ? 1700u : (i * 13u) % 200u;

    for (size_t k = 0; k < pad && (size_t)n + k + 1 < len; k++)
        buf[(size_t)n + k] = (char)('a' + (k % 26));
    buf[(size_t)n + pad < len ? (size_t)n + pad : len - 1] = '\0';
}

struct client {
    const struct itest_server *s;
    unsigned id;
    int fd;
};

/* Keep-alive requests on one raw connection, each answer read whole
 * (the 404 has a Content-Length), so requests of the four clients land on
 * the worker threads at the same time. */
static void *client_main(void *arg)
{
    struct client *c = arg;
    static _Thread_local char req[4096], resp[8192];

    for (unsigned i = 0; i < PER_CLIENT; i++) {
        char path[3300];
        size_t got = 0;
        int n;

        request_path(path, sizeof(path), c->id, i);
        n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n",
                     path);
        CHECK(n > 0 && (size_t)n < sizeof(req));
        CHECK_EQ_U64(send(c->fd, req, (size_t)n, MSG_NOSIGNAL), (size_t)n);
        /* Read until the body (a problem JSON object) is complete. */
        for (;;) {
            const char *head_end, *cl;
            ssize_t r = recv(c->fd, resp + got, sizeof(resp) - 1 - got, 0);

            CHECK(r > 0);
            got += (size_t)r;
            resp[got] = '\0';
            head_end = strstr(resp, "\r\n\r\n");
            cl = strcasestr(resp, "Content-Length:");
            if (head_end && cl &&
                got >= (size_t)(head_end + 4 - resp) + strtoul(cl + 15, NULL, 10))
                break;
            CHECK(got < sizeof(resp) - 1);
        }
        CHECK(strncmp(resp, "HTTP/1.1 404", 12) == 0);
    }
    return NULL;
}

/* Every line of text: a leveled line, or an access line that is a whole
 * JSON object for one of the requests, each seen once. Returns how many
 * access lines there were. */
static size_t check_lines(char *text, bool *seen, size_t nseen)
{
    char *save = NULL;
    size_t n = 0;

    for (char *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        json_error_t err;
        json_t *o;
        const char *path;
        unsigned c, i;
        char want[3300];

        if (line[0] != '{') {
            if (!strstr(line, " mmapd "))
                TEST_FAIL("stray or mixed stderr line: %.200s", line);
            continue;
        }
        o = json_loads(line, 0, &err);
        if (!json_is_object(o))
            TEST_FAIL("access line cut or mixed: %.300s", line);
        path = json_string_value(json_object_get(o, "path"));
        CHECK(path != NULL);
        if (sscanf(path, "/nope/c%u/r%u/", &c, &i) != 2 || c >= CLIENTS ||
            i >= PER_CLIENT)
            TEST_FAIL("access line for no request: %.300s", line);
        request_path(want, sizeof(want), c, i);
        CHECK_EQ_STR(path, want);
        CHECK_EQ_U64(json_integer_value(json_object_get(o, "status")), 404);
        if (seen[c * PER_CLIENT + i])
            TEST_FAIL("access line written twice: %.300s", line);
        CHECK(c * PER_CLIENT + i < nseen);
        seen[c * PER_CLIENT + i] = true;
        json_decref(o);
        n++;
    }
    return n;
}

TEST(access_log_keeps_every_line_whole_under_concurrency)
{
    static bool seen[CLIENTS * PER_CLIENT];
    struct itest_server s = {0};
    char path[] = "/tmp/mmapd-it-log-XXXXXX";
    struct client c[CLIENTS];
    pthread_t t[CLIENTS];
    char *text;

    itest_start_logged(&s, (const char *const[]){"--threads", "4", NULL},
                       path);
    for (unsigned k = 0; k < CLIENTS; k++) {
        c[k] = (struct client){.s = &s, .id = k, .fd = itest_connect(s.port, 0)};
        CHECK(c[k].fd >= 0);
        CHECK(pthread_create(&t[k], NULL, client_main, &c[k]) == 0);
    }
    for (unsigned k = 0; k < CLIENTS; k++) {
        CHECK(pthread_join(t[k], NULL) == 0);
        close(c[k].fd);
    }
    itest_stop(&s); /* SIGTERM: every buffered line must be written */
    itest_cleanup(&s);
    text = itest_take_file(path);
    CHECK_EQ_U64(check_lines(text, seen, CLIENTS * PER_CLIENT),
                 CLIENTS * PER_CLIENT);
    free(text);
}

/* GET path on a connection the server closes after its answer (404
 * expected). A line is logged once the whole answer is sent, which can be
 * just after the client has it; the server closes only after that, so the
 * client's EOF means the line is logged. */
static void get_and_close(const struct itest_server *s, const char *path)
{
    static char req[256], reply[4096];
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                     path);
    size_t len;

    CHECK(n > 0 && (size_t)n < sizeof(req));
    len = itest_raw(s, req, (size_t)n, reply, sizeof(reply), 5000);
    CHECK(len > 12 && strncmp(reply, "HTTP/1.1 404", 12) == 0);
}

/* Whether the file at path holds needle now. */
static bool file_has(const char *path, const char *needle)
{
    char *text = itest_read_file(path);
    bool has = strstr(text, needle) != NULL;

    free(text);
    return has;
}

TEST(access_log_line_appears_while_running_and_before_a_sighup)
{
    struct itest_server s = {0};
    char path[] = "/tmp/mmapd-it-log-XXXXXX";
    struct itest_resp r;
    bool found = false;
    char *text, *line, *hup;

    itest_start_logged(&s, NULL, path);
    /* Without a shutdown, the periodic flush (100 ms) writes it: polled,
     * at most 10 s, so a slow machine only makes this slower. */
    itest_request(&s, "GET", "/nope/live", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 404);
    itest_resp_free(&r);
    for (int i = 0; i < 200 && !found; i++) {
        found = file_has(path, "\"path\":\"/nope/live\"");
        if (!found)
            sleep_ms(50);
    }
    CHECK(found);

    /* SIGHUP: lines of requests answered before it precede its own line. */
    get_and_close(&s, "/nope/before-hup");
    CHECK(kill(s.pid, SIGHUP) == 0);
    found = false;
    for (int i = 0; i < 200 && !found; i++) {
        found = file_has(path, "mmapd info: SIGHUP");
        if (!found)
            sleep_ms(50);
    }
    CHECK(found);
    text = itest_read_file(path);
    line = strstr(text, "\"path\":\"/nope/before-hup\"");
    hup = strstr(text, "mmapd info: SIGHUP");
    if (line == NULL || line > hup)
        TEST_FAIL("the access line is not written before the SIGHUP line:\n%s",
                  text);
    free(text);
    itest_stop(&s);
    itest_cleanup(&s);
    unlink(path);
}

TEST(access_log_lines_survive_a_crash)
{
    struct itest_server s = {0};
    char path[] = "/tmp/mmapd-it-log-XXXXXX";
    struct rlimit no_core = {0, 0};
    int status = 0;
    char *text;

#if defined(__SANITIZE_THREAD__)
    /* ThreadSanitizer takes over signal delivery (it defers a signal sent
     * with kill() to a point of its own choosing, and its runtime decides
     * how the process ends), so under the tsan preset this case would test
     * TSan, not mmapd. It runs in the dev and asan presets. */
    fprintf(stderr, "skipped under ThreadSanitizer\n");
    return;
#endif
    /* No core file from the abort below (the child inherits the limit). */
    CHECK(setrlimit(RLIMIT_CORE, &no_core) == 0);
    itest_start_logged(&s, NULL, path);
    get_and_close(&s, "/nope/before-crash");
    /* At once, well within the 100 ms flush period: the crash handler is
     * what writes the line (or the flush, if this machine is that slow;
     * either way the line must not be lost). */
    CHECK(kill(s.pid, SIGABRT) == 0);
    CHECK(waitpid(s.pid, &status, 0) == s.pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    s.pid = 0;
    itest_cleanup(&s);
    text = itest_take_file(path);
    if (!strstr(text, "\"path\":\"/nope/before-crash\""))
        TEST_FAIL("the line is lost after SIGABRT:\n%s", text);
    free(text);
}

TEST_MAIN()
