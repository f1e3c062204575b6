/* itest.c - start and stop the real mmapd; talk HTTP to it. */
#include "itest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#define LISTEN_PREFIX "mmapd listening on http://127.0.0.1:"
#define LISTEN_PREFIX_TLS "mmapd listening on https://127.0.0.1:"

/* Servers started and not yet cleaned up. A failed CHECK exits the process
 * in the middle of a case; the atexit hook then kills what is left and
 * removes its data directory, so no server or temp dir outlives the test. */
#define MAX_LIVE 8
static struct itest_server *live[MAX_LIVE];

static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw)
{
    return remove(path);
}

static void reap_live(void)
{
    for (int i = 0; i < MAX_LIVE; i++) {
        struct itest_server *s = live[i];

        if (!s)
            continue;
        if (s->pid > 0) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, NULL, 0);
        }
        if (s->dir[0])
            nftw(s->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        live[i] = NULL;
    }
}

static void track(struct itest_server *s, bool on)
{
    static bool hooked;

    if (!hooked) {
        atexit(reap_live);
        hooked = true;
    }
    for (int i = 0; i < MAX_LIVE; i++) {
        if (on && live[i] == s)
            return;
    }
    for (int i = 0; i < MAX_LIVE; i++) {
        if (on && !live[i]) {
            live[i] = s;
            return;
        }
        if (!on && live[i] == s)
            live[i] = NULL;
    }
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static const char *server_bin(void)
{
    const char *bin = getenv("MMAPD_BIN");

    if (!bin || !*bin)
        TEST_FAIL("MMAPD_BIN is not set (run through ctest)");
    return bin;
}

/* Fork and exec mmapd with argv; its stdout goes to *out_fd, its stderr to
 * *err_fd when err_fd is non-NULL (else to ours). */
static pid_t spawn(const char *const argv[], int *out_fd, int *err_fd)
{
    int out[2], err[2] = {-1, -1};
    pid_t pid;

    if (pipe2(out, O_CLOEXEC) != 0 || (err_fd && pipe2(err, O_CLOEXEC) != 0))
        TEST_FAIL("pipe: %s", strerror(errno));
    pid = fork();
    if (pid < 0)
        TEST_FAIL("fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        if (err_fd)
            dup2(err[1], STDERR_FILENO);
        execv(argv[0], (char *const *)argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(out[1]);
    *out_fd = out[0];
    if (err_fd) {
        close(err[1]);
        *err_fd = err[0];
    }
    return pid;
}

/* Wait for pid at most timeout_ms; SIGKILL and fail on timeout. Returns
 * the raw wait status. */
static int wait_bounded(pid_t pid, unsigned timeout_ms)
{
    uint64_t deadline = now_ms() + timeout_ms;
    int status;

    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0)
            TEST_FAIL("waitpid: %s", strerror(errno));
        if (now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            TEST_FAIL("mmapd (pid %d) did not exit within %u ms", (int)pid,
                      timeout_ms);
        }
        usleep(10000);
    }
}

void itest_start(struct itest_server *s, const char *const extra[])
{
    const char *argv[ITEST_MAX_ARGS + 8];
    int n = 0;
    char line[256];
    size_t used = 0;
    uint64_t deadline;
    const char *prefix;

    if (s->dir[0] == '\0') {
        snprintf(s->dir, sizeof(s->dir), "/tmp/mmapd-it-XXXXXX");
        if (!mkdtemp(s->dir))
            TEST_FAIL("mkdtemp: %s", strerror(errno));
    }
    track(s, true);
    argv[n++] = server_bin();
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--data-dir";
    argv[n++] = s->dir;
    for (int i = 0; extra && extra[i]; i++) {
        if (i >= ITEST_MAX_ARGS)
            TEST_FAIL("too many extra arguments");
        argv[n++] = extra[i];
    }
    argv[n] = NULL;
    s->pid = spawn(argv, &s->out_fd, NULL);

    /* Read stdout byte by byte up to the first newline: the one line the
     * contract promises, flushed as soon as the server listens. */
    deadline = now_ms() + 10000;
    for (;;) {
        struct pollfd pfd = {.fd = s->out_fd, .events = POLLIN};
        int64_t left = (int64_t)(deadline - now_ms());
        ssize_t r;

        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, NULL, 0);
            TEST_FAIL("mmapd did not print its listening line within 10 s");
        }
        r = read(s->out_fd, line + used, 1);
        if (r <= 0) {
            int status = wait_bounded(s->pid, 5000);
            s->pid = 0;
            TEST_FAIL("mmapd exited before listening (status %d, output "
                      "\"%.*s\")",
                      WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                      (int)used, line);
        }
        if (line[used] == '\n')
            break;
        if (++used >= sizeof(line) - 1)
            TEST_FAIL("listening line too long");
    }
    line[used] = '\0';
    prefix = s->cainfo ? LISTEN_PREFIX_TLS : LISTEN_PREFIX;
    if (strncmp(line, prefix, strlen(prefix)) != 0)
        TEST_FAIL("unexpected first line \"%s\"", line);
    {
        const char *p = line + strlen(prefix);
        char *end;
        unsigned long port = strtoul(p, &end, 10);

        if (end == p || *end != '\0' || port == 0 || port > 65535)
            TEST_FAIL("bad port in \"%s\"", line);
        s->port = (uint16_t)port;
    }
    snprintf(s->base, sizeof(s->base), "%s://127.0.0.1:%u",
             s->cainfo ? "https" : "http", (unsigned)s->port);
}

void itest_stop(struct itest_server *s)
{
    int status;

    if (s->pid <= 0)
        return;
    if (kill(s->pid, SIGTERM) != 0)
        TEST_FAIL("kill: %s", strerror(errno));
    status = wait_bounded(s->pid, 15000);
    s->pid = 0;
    close(s->out_fd);
    s->out_fd = -1;
    if (!WIFEXITED(status))
        TEST_FAIL("mmapd died of signal %d on SIGTERM", WTERMSIG(status));
    if (WEXITSTATUS(status) != 0)
        TEST_FAIL("mmapd exited %d on SIGTERM, want 0", WEXITSTATUS(status));
}

void itest_cleanup(struct itest_server *s)
{
    itest_stop(s);
    if (s->dir[0])
        nftw(s->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    s->dir[0] = '\0';
    track(s, false);
}

int itest_run(const char *const args[], unsigned timeout_s, char *out,
              size_t outlen)
{
    const char *argv[ITEST_MAX_ARGS + 2];
    int n = 0, fds[2], status;
    size_t used = 0;
    pid_t pid;
    uint64_t deadline = now_ms() + (uint64_t)timeout_s * 1000u;

    argv[n++] = server_bin();
    for (int i = 0; args && args[i]; i++) {
        if (i >= ITEST_MAX_ARGS)
            TEST_FAIL("too many arguments");
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    pid = spawn(argv, &fds[0], &fds[1]);

    /* Collect both streams until both are closed (the process exited). */
    for (int open_fds = 2; open_fds > 0;) {
        struct pollfd pfd[2] = {{.fd = fds[0], .events = POLLIN},
                                {.fd = fds[1], .events = POLLIN}};
        int64_t left = (int64_t)(deadline - now_ms());

        if (left <= 0 || poll(pfd, 2, (int)left) <= 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            TEST_FAIL("mmapd did not exit within %u s", timeout_s);
        }
        for (int i = 0; i < 2; i++) {
            char buf[4096];
            ssize_t r;

            if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP)))
                continue;
            r = read(fds[i], buf, sizeof(buf));
            if (r <= 0) {
                close(fds[i]);
                fds[i] = -1;
                open_fds--;
                continue;
            }
            for (ssize_t k = 0; k < r && used + 1 < outlen; k++)
                out[used++] = buf[k];
        }
    }
    if (outlen)
        out[used < outlen ? used : outlen - 1] = '\0';
    status = wait_bounded(pid, 5000);
    if (!WIFEXITED(status))
        TEST_FAIL("mmapd died of signal %d", WTERMSIG(status));
    return WEXITSTATUS(status);
}

/* A growable buffer for response headers and bodies. */
struct dynbuf {
    char *p;
    size_t len, cap;
};

static void dyn_append(struct dynbuf *b, const void *data, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len + 1)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p)
            TEST_FAIL("out of memory");
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, len);
    b->len += len;
    b->p[b->len] = '\0';
}

static size_t on_body(char *data, size_t size, size_t n, void *cls)
{
    dyn_append(cls, data, size * n);
    return size * n;
}

/* Keep only the last response's headers: a "100 Continue" interim response
 * comes first when the client sent Expect. */
static size_t on_header(char *data, size_t size, size_t n, void *cls)
{
    struct dynbuf *b = cls;

    if (size * n >= 5 && memcmp(data, "HTTP/", 5) == 0)
        b->len = 0;
    dyn_append(b, data, size * n);
    return size * n;
}

struct upload {
    const char *p;
    size_t left;
};

static size_t on_read(char *buf, size_t size, size_t n, void *cls)
{
    struct upload *u = cls;
    size_t k = size * n < u->left ? size * n : u->left;

    memcpy(buf, u->p, k);
    u->p += k;
    u->left -= k;
    return k;
}

void itest_request(const struct itest_server *s, const char *method,
                   const char *path, const char *const headers[],
                   const void *body, size_t len, struct itest_resp *r)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hl = NULL;
    struct dynbuf hb = {0}, bb = {0};
    struct upload up = {body, len};
    char url[2048];
    CURLcode rc;

    if (!c)
        TEST_FAIL("curl_easy_init failed");
    snprintf(url, sizeof(url), "%s%s", s->base, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    /* Send the path exactly as written: "a/../b" and "%2F" must reach the
     * server untouched. */
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &bb);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &hb);
    curl_easy_setopt(c, CURLOPT_HTTP_CONTENT_DECODING, 0L);
    if (s->cainfo)
        curl_easy_setopt(c, CURLOPT_CAINFO, s->cainfo);
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (body) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, &up);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    for (int i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    if (hl)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);

    rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        TEST_FAIL("%s %s: %s", method, path, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);

    dyn_append(&hb, "", 0);
    dyn_append(&bb, "", 0);
    r->headers = hb.p;
    r->body = bb.p;
    r->len = bb.len;
}

void itest_resp_free(struct itest_resp *r)
{
    free(r->headers);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

const char *itest_header(const struct itest_resp *r, const char *name,
                         char *buf, size_t len)
{
    size_t nlen = strlen(name);
    const char *line = r->headers;

    while (line && *line) {
        const char *eol = strstr(line, "\r\n");
        size_t llen = eol ? (size_t)(eol - line) : strlen(line);

        if (llen > nlen && line[nlen] == ':' &&
            strncasecmp(line, name, nlen) == 0) {
            const char *v = line + nlen + 1;
            size_t vlen = llen - nlen - 1;

            while (vlen > 0 && (*v == ' ' || *v == '\t')) {
                v++;
                vlen--;
            }
            while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
                vlen--;
            if (vlen >= len)
                vlen = len - 1;
            memcpy(buf, v, vlen);
            buf[vlen] = '\0';
            return buf;
        }
        line = eol ? eol + 2 : NULL;
    }
    return NULL;
}

json_t *itest_json(const struct itest_resp *r)
{
    json_error_t err;
    json_t *j = json_loadb(r->body, r->len, 0, &err);

    if (!j)
        TEST_FAIL("body is not JSON (%s): \"%.200s\"", err.text, r->body);
    return j;
}

void itest_expect_problem_at(const char *file, int line,
                             const struct itest_resp *r, long status,
                             const char *code)
{
    char ct[128];
    json_t *j;
    const char *got;

    if (r->status != status)
        TEST_FAIL("(%s:%d) status %ld, want %ld; body \"%.300s\"", file, line,
                  r->status, status, r->body);
    if (!itest_header(r, "Content-Type", ct, sizeof(ct)) ||
        strncmp(ct, "application/problem+json", 24) != 0)
        TEST_FAIL("(%s:%d) Content-Type \"%s\", want application/problem+json",
                  file, line, itest_header(r, "Content-Type", ct, sizeof(ct))
                                  ? ct
                                  : "(none)");
    j = itest_json(r);
    got = json_string_value(json_object_get(j, "code"));
    if (!got || strcmp(got, code) != 0)
        TEST_FAIL("(%s:%d) problem code \"%s\", want \"%s\"; body \"%.300s\"",
                  file, line, got ? got : "(none)", code, r->body);
    if (json_integer_value(json_object_get(j, "status")) != status)
        TEST_FAIL("(%s:%d) problem status member differs from %ld", file,
                  line, status);
    if (!json_is_string(json_object_get(j, "title")))
        TEST_FAIL("(%s:%d) problem without a title", file, line);
    json_decref(j);
}

int itest_connect(uint16_t port, int rcvbuf)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    if ((rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
                                  sizeof(rcvbuf)) != 0) ||
        connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        int err = errno;

        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

const struct itest_write itest_writes[] = {
    {"data PUT", "PUT", "/v1/maps/m/data?offset=0", NULL, "abcd", 204, true},
    {"data PATCH", "PATCH", "/v1/maps/m/data",
     "Content-Type: message/byterange", "Content-Range: bytes 4-5/*\r\n\r\nef",
     204, true},
    {"object PUT", "PUT", "/v1/maps/m/objects/64", NULL, "{\"a\": 1}", 201,
     true},
    {"atomic add", "POST", "/v1/maps/m/atomic", NULL,
     "{\"op\": \"add\", \"offset\": 512, \"width\": 8, \"value\": 1}", 200,
     true},
    {"flush", "POST", "/v1/maps/m/flush", NULL, "", 200, false},
    {"resize", "PATCH", "/v1/maps/m", NULL, "{\"size\": 8192}", 200, true},
};
const size_t itest_nwrites = sizeof(itest_writes) / sizeof(itest_writes[0]);

void itest_expect_status(const struct itest_server *s, const char *method,
                         const char *path, const char *const headers[],
                         const char *body, long status)
{
    struct itest_resp r;

    itest_request(s, method, path, headers, body, body ? strlen(body) : 0,
                  &r);
    if (r.status != status)
        TEST_FAIL("%s %s: %ld, want %ld: %s", method, path, r.status, status,
                  r.body);
    itest_resp_free(&r);
}

char *itest_etag(const struct itest_server *s, const char *name, char *buf,
                 size_t len)
{
    char path[256];
    struct itest_resp r;

    snprintf(path, sizeof(path), "/v1/maps/%s/data", name);
    itest_request(s, "HEAD", path, NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    if (!itest_header(&r, "ETag", buf, len))
        TEST_FAIL("no ETag on HEAD %s", path);
    itest_resp_free(&r);
    return buf;
}

size_t itest_raw(const struct itest_server *s, const void *req, size_t len,
                 char *out, size_t outlen, unsigned timeout_ms)
{
    int fd = itest_connect(s->port, 0);
    size_t used = 0;
    const char *p = req;

    if (fd < 0)
        TEST_FAIL("connect: %s", strerror(errno));
    while (len > 0) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
        if (w <= 0)
            break; /* the server may answer and close early */
        p += w;
        len -= (size_t)w;
    }
    while (used + 1 < outlen) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        ssize_t r;

        if (poll(&pfd, 1, (int)timeout_ms) <= 0)
            break;
        r = recv(fd, out + used, outlen - 1 - used, 0);
        if (r <= 0)
            break;
        used += (size_t)r;
    }
    out[used] = '\0';
    close(fd);
    return used;
}

void itest_pattern(void *buf, size_t len, uint64_t seed)
{
    uint64_t x = seed ? seed : 0x9e3779b97f4a7c15ull;
    unsigned char *p = buf;

    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (unsigned char)(x >> 24);
    }
}

void itest_create(const struct itest_server *s, const char *name,
                  const char *json)
{
    struct itest_resp r;
    char path[256];

    snprintf(path, sizeof(path), "/v1/maps/%s", name);
    itest_request(s, "PUT", path,
                  (const char *const[]){"Content-Type: application/json",
                                        NULL},
                  json, strlen(json), &r);
    if (r.status != 201)
        TEST_FAIL("create %s %s: status %ld, body \"%.300s\"", name, json,
                  r.status, r.body);
    itest_resp_free(&r);
}

char *itest_get_data(const struct itest_server *s, const char *name,
                     size_t *len)
{
    struct itest_resp r;
    char path[256];
    char *body;

    snprintf(path, sizeof(path), "/v1/maps/%s/data", name);
    itest_request(s, "GET", path, NULL, NULL, 0, &r);
    if (r.status != 200)
        TEST_FAIL("GET %s: status %ld, body \"%.300s\"", path, r.status,
                  r.body);
    body = r.body;
    *len = r.len;
    r.body = NULL;
    itest_resp_free(&r);
    return body;
}

void itest_create_filled(const struct itest_server *s, const char *name,
                         char *pat, size_t len, uint64_t seed)
{
    struct itest_resp r;
    char json[64];
    char path[256];

    snprintf(json, sizeof(json), "{\"size\": %zu}", len);
    itest_create(s, name, json);
    itest_pattern(pat, len, seed);
    snprintf(path, sizeof(path), "/v1/maps/%s/data", name);
    itest_request(s, "PUT", path, NULL, pat, len, &r);
    if (r.status != 204)
        TEST_FAIL("PUT %s: status %ld, body \"%.300s\"", path, r.status,
                  r.body);
    itest_resp_free(&r);
}

void itest_expect_data(const struct itest_server *s, const char *name,
                       const void *want, size_t len)
{
    size_t got_len = 0;
    char *got = itest_get_data(s, name, &got_len);

    CHECK_EQ_U64(got_len, len);
    CHECK_MEM(got, want, len);
    free(got);
}

uint64_t itest_status_kib(pid_t pid, const char *field)
{
    char path[64], line[256];
    unsigned long long kib = 0;
    size_t flen = strlen(field);
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (f == NULL)
        TEST_FAIL("%s: %s", path, strerror(errno));
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, field, flen) == 0 && line[flen] == ':' &&
            sscanf(line + flen + 1, "%llu", &kib) == 1)
            break;
    }
    fclose(f);
    return kib;
}

static char mounted[64];

/* Runs at exit, also when a CHECK fails half-way: never leave a test's
 * tmpfs mounted. MNT_DETACH copes with a server still holding files. */
static void unmount_at_exit(void)
{
    if (mounted[0] != '\0' && umount2(mounted, MNT_DETACH) == 0)
        rmdir(mounted);
    mounted[0] = '\0';
}

bool itest_mount_tmpfs(char *dir, const char *size)
{
    static bool registered;
    char opts[64];

    if (!mkdtemp(dir))
        TEST_FAIL("mkdtemp %s: %s", dir, strerror(errno));
    snprintf(opts, sizeof(opts), "size=%s,mode=0700", size);
    if (mount("mmapd-test", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0) {
        fprintf(stderr,
                "SKIP: cannot mount a tmpfs (%s); needs root or "
                "CAP_SYS_ADMIN\n",
                strerror(errno));
        rmdir(dir);
        return false;
    }
    snprintf(mounted, sizeof(mounted), "%s", dir);
    if (!registered)
        atexit(unmount_at_exit);
    registered = true;
    return true;
}

void itest_unmount_tmpfs(const char *dir)
{
    CHECK(umount2(dir, 0) == 0);
    mounted[0] = '\0';
    rmdir(dir);
}

/* ---- the server's stderr ------------------------------------------------ */

/* Point fd 2 at a fresh file; returns the saved fd 2. The child forked by
 * itest_start inherits it. */
static int stderr_to(const char *path)
{
    int saved = dup(STDERR_FILENO);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    CHECK(saved >= 0 && fd >= 0);
    fflush(stderr);
    CHECK(dup2(fd, STDERR_FILENO) == STDERR_FILENO);
    close(fd);
    return saved;
}

static void stderr_restore(int saved)
{
    fflush(stderr);
    CHECK(dup2(saved, STDERR_FILENO) == STDERR_FILENO);
    close(saved);
}

void itest_start_logged(struct itest_server *s, const char *const extra[],
                        char *path)
{
    int fd = mkstemp(path);
    int saved;

    CHECK(fd >= 0);
    close(fd);
    saved = stderr_to(path);
    itest_start(s, extra);
    stderr_restore(saved);
}

char *itest_read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *text;
    long len;

    CHECK(f != NULL);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    rewind(f);
    text = calloc(1, (size_t)len + 1);
    CHECK(text != NULL && fread(text, 1, (size_t)len, f) == (size_t)len);
    fclose(f);
    return text;
}

char *itest_take_file(const char *path)
{
    char *text = itest_read_file(path);

    unlink(path);
    return text;
}
