/* test_observe.c - what operators watch: /metrics read by a strict parser of
 * the Prometheus text format (0.0.4), and the JSON access log on stderr.
 *
 * The metrics parser accepts only: "# HELP name text", "# TYPE name type",
 * other "# " comments, and samples "name{label="value",...} value
 * [timestamp]". Every family needs HELP and TYPE before its samples, its
 * samples must be contiguous, no series may repeat, and each histogram
 * series must have cumulative buckets with increasing "le" ending in +Inf,
 * plus _sum and a _count equal to the +Inf bucket.
 *
 * The access-log cases point our own stderr at a file before starting the
 * server (the child inherits fd 2), stop it (so every line is written), and
 * read the file back. With a token file, a line names the token a request
 * used by its position in the file, never by the secret.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

/* ---- metrics ----------------------------------------------------------- */

#define MAX_FAMILIES 64
#define MAX_SERIES 2048

struct family {
    char name[128];
    char type[16];
    bool help, typed, closed; /* closed: another family's samples followed */
};

struct series {
    char name[128];   /* the sample name, e.g. x_bucket */
    char labels[512]; /* label pairs as written, without braces; le removed */
    char le[32];      /* the le label, "" when none */
    double value;
    int family;
};

struct exposition {
    struct family fam[MAX_FAMILIES];
    int nfam;
    struct series s[MAX_SERIES];
    int ns;
};

static int find_family(struct exposition *e, const char *name)
{
    for (int i = 0; i < e->nfam; i++)
        if (strcmp(e->fam[i].name, name) == 0)
            return i;
    return -1;
}

static int add_family(struct exposition *e, const char *name)
{
    int i = find_family(e, name);

    if (i >= 0)
        return i;
    CHECK(e->nfam < MAX_FAMILIES);
    snprintf(e->fam[e->nfam].name, sizeof(e->fam[0].name), "%s", name);
    return e->nfam++;
}

static bool is_name_start(int c) { return isalpha(c) || c == '_' || c == ':'; }
static bool is_name_char(int c) { return isalnum(c) || c == '_' || c == ':'; }

/* Copy a metric name at *p into out; false when there is none. */
static bool take_name(const char **p, char *out, size_t len)
{
    const char *q = *p;

    if (!is_name_start((unsigned char)*q))
        return false;
    while (is_name_char((unsigned char)*q))
        q++;
    if ((size_t)(q - *p) >= len)
        return false;
    memcpy(out, *p, (size_t)(q - *p));
    out[q - *p] = '\0';
    *p = q;
    return true;
}

static bool parse_value(const char *p, double *v)
{
    char *end;

    if (strcmp(p, "+Inf") == 0) {
        *v = INFINITY;
        return true;
    }
    if (strcmp(p, "-Inf") == 0) {
        *v = -INFINITY;
        return true;
    }
    if (strcmp(p, "NaN") == 0) {
        *v = NAN;
        return true;
    }
    if (!isdigit((unsigned char)*p) && *p != '-' && *p != '+' && *p != '.')
        return false;
    *v = strtod(p, &end);
    if (end == p)
        return false;
    if (*end == ' ') { /* optional integer timestamp (ms) */
        p = end + 1;
        if (*p == '-')
            p++;
        if (!isdigit((unsigned char)*p))
            return false;
        while (isdigit((unsigned char)*p))
            p++;
        return *p == '\0';
    }
    return *end == '\0';
}

/* Parse one sample line into e->s[e->ns]; TEST_FAIL on anything else. */
static void parse_sample_line(struct exposition *e, const char *line)
{
    struct series *s;
    const char *p = line;
    size_t lp = 0;

    CHECK(e->ns < MAX_SERIES);
    s = &e->s[e->ns];
    memset(s, 0, sizeof(*s));
    if (!take_name(&p, s->name, sizeof(s->name)))
        TEST_FAIL("bad metric name: \"%s\"", line);
    if (*p == '{') {
        p++;
        while (*p != '}') {
            char lname[64], lval[256];
            size_t vl = 0;

            if (!isalpha((unsigned char)*p) && *p != '_')
                TEST_FAIL("bad label name: \"%s\"", line);
            if (!take_name(&p, lname, sizeof(lname)) || strchr(lname, ':'))
                TEST_FAIL("bad label name: \"%s\"", line);
            if (*p++ != '=' || *p++ != '"')
                TEST_FAIL("want =\" after label %s: \"%s\"", lname, line);
            while (*p != '"') {
                if (*p == '\0')
                    TEST_FAIL("unterminated label value: \"%s\"", line);
                if (*p == '\\') {
                    p++;
                    if (*p != '\\' && *p != '"' && *p != 'n')
                        TEST_FAIL("bad escape in label value: \"%s\"", line);
                }
                if (vl + 1 < sizeof(lval))
                    lval[vl++] = *p;
                p++;
            }
            lval[vl] = '\0';
            p++;
            if (strcmp(lname, "le") == 0) {
                if (vl >= sizeof(s->le))
                    TEST_FAIL("le value too long: \"%s\"", line);
                memcpy(s->le, lval, vl + 1);
            } else {
                int n = snprintf(s->labels + lp, sizeof(s->labels) - lp,
                                 "%s%s=\"%s\"", lp ? "," : "", lname, lval);
                CHECK(n > 0 && (size_t)n < sizeof(s->labels) - lp);
                lp += (size_t)n;
            }
            if (*p == ',')
                p++;
            else if (*p != '}')
                TEST_FAIL("want , or } in labels: \"%s\"", line);
        }
        p++;
    }
    if (*p++ != ' ')
        TEST_FAIL("want one space before the value: \"%s\"", line);
    if (!parse_value(p, &s->value))
        TEST_FAIL("bad sample value: \"%s\"", line);
    e->ns++;
}

/* The family a sample name belongs to: its own name, or for histograms
 * and summaries the name without _bucket/_sum/_count. */
static int family_of(struct exposition *e, const char *name)
{
    static const char *const sfx[] = {"_bucket", "_sum", "_count"};
    int f = find_family(e, name);

    if (f >= 0 && strcmp(e->fam[f].type, "histogram") != 0)
        return f;
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(name), k = strlen(sfx[i]);
        char base[128];

        if (n > k && strcmp(name + n - k, sfx[i]) == 0 && n - k < sizeof(base)) {
            memcpy(base, name, n - k);
            base[n - k] = '\0';
            f = find_family(e, base);
            if (f >= 0 && (strcmp(e->fam[f].type, "histogram") == 0 ||
                           (strcmp(e->fam[f].type, "summary") == 0 && i > 0)))
                return f;
        }
    }
    return -1;
}

static void parse_exposition(char *text, struct exposition *e)
{
    char *save = NULL;
    int current = -1; /* the family whose samples may follow */

    memset(e, 0, sizeof(*e));
    CHECK(strlen(text) > 0 && text[strlen(text) - 1] == '\n');
    for (char *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#') {
            const char *p = line + 7;
            char name[128];
            int f;
            bool help = strncmp(line, "# HELP ", 7) == 0;

            if (!help && strncmp(line, "# TYPE ", 7) != 0)
                continue; /* a plain comment */
            if (!take_name(&p, name, sizeof(name)) || *p != ' ')
                TEST_FAIL("bad HELP/TYPE line: \"%s\"", line);
            f = add_family(e, name);
            if (e->fam[f].closed)
                TEST_FAIL("family %s declared after its samples", name);
            if (current >= 0 && current != f)
                e->fam[current].closed = true;
            current = f;
            if (help) {
                if (e->fam[f].help)
                    TEST_FAIL("second HELP for %s", name);
                e->fam[f].help = true;
                CHECK(p[1] != '\0');
            } else {
                static const char *const types[] = {
                    "counter", "gauge", "histogram", "summary", "untyped"};
                bool known = false;

                if (e->fam[f].typed)
                    TEST_FAIL("second TYPE for %s", name);
                for (size_t i = 0; i < 5; i++)
                    known |= strcmp(p + 1, types[i]) == 0;
                if (!known)
                    TEST_FAIL("unknown type in \"%s\"", line);
                /* TYPE must come before the family's first sample. */
                for (int i = 0; i < e->ns; i++)
                    if (e->s[i].family == f)
                        TEST_FAIL("TYPE of %s after its samples", name);
                snprintf(e->fam[f].type, sizeof(e->fam[f].type), "%s", p + 1);
                e->fam[f].typed = true;
            }
            continue;
        }
        if (line[0] == '\0')
            continue;
        parse_sample_line(e, line);
        {
            struct series *s = &e->s[e->ns - 1];
            int f = family_of(e, s->name);

            if (f < 0)
                TEST_FAIL("sample %s has no TYPE'd family", s->name);
            if (f != current)
                TEST_FAIL("sample %s is not next to its family's other "
                          "samples", s->name);
            s->family = f;
            if (s->le[0] && strcmp(s->name + strlen(s->name) - 7, "_bucket"))
                TEST_FAIL("le label outside a histogram bucket: %s", s->name);
            if (strcmp(e->fam[f].type, "counter") == 0 &&
                (!(s->value >= 0) || strlen(s->name) < 6 ||
                 strcmp(s->name + strlen(s->name) - 6, "_total") != 0))
                TEST_FAIL("counter %s: want a _total name and a value >= 0",
                          s->name);
            for (int i = 0; i < e->ns - 1; i++)
                if (strcmp(e->s[i].name, s->name) == 0 &&
                    strcmp(e->s[i].labels, s->labels) == 0 &&
                    strcmp(e->s[i].le, s->le) == 0)
                    TEST_FAIL("series %s{%s} appears twice", s->name,
                              s->labels);
        }
    }
    for (int f = 0; f < e->nfam; f++)
        if (!e->fam[f].help || !e->fam[f].typed)
            TEST_FAIL("family %s lacks %s", e->fam[f].name,
                      e->fam[f].help ? "TYPE" : "HELP");
}

/* The value of sample name{labels}, or NAN when absent. labels as
 * written by the server, e.g. route="data",code="206". */
static double sample(const struct exposition *e, const char *name,
                     const char *labels)
{
    for (int i = 0; i < e->ns; i++)
        if (strcmp(e->s[i].name, name) == 0 &&
            strcmp(e->s[i].labels, labels) == 0 && e->s[i].le[0] == '\0')
            return e->s[i].value;
    return NAN;
}

/* Every histogram series: le strictly increasing, counts cumulative, last
 * le +Inf, _count equal to it, _sum present. Returns how many series. */
static int check_histograms(const struct exposition *e)
{
    int nseries = 0;

    for (int i = 0; i < e->ns; i++) {
        const struct series *b = &e->s[i];
        const struct family *f = &e->fam[b->family];
        char sum[160], count[160];
        double prev_le = -INFINITY, prev = 0, v;
        bool seen_before = false;

        if (strcmp(f->type, "histogram") != 0 ||
            strstr(b->name, "_bucket") == NULL)
            continue;
        /* Handle each label set once, at its first bucket. */
        for (int k = 0; k < i; k++)
            if (strcmp(e->s[k].name, b->name) == 0 &&
                strcmp(e->s[k].labels, b->labels) == 0)
                seen_before = true;
        if (seen_before)
            continue;
        nseries++;
        for (int k = i; k < e->ns; k++) {
            const struct series *s = &e->s[k];
            double le;

            if (strcmp(s->name, b->name) || strcmp(s->labels, b->labels))
                continue;
            if (!s->le[0])
                TEST_FAIL("bucket of %s{%s} without le", b->name, b->labels);
            le = strcmp(s->le, "+Inf") == 0 ? INFINITY : strtod(s->le, NULL);
            if (!(le > prev_le))
                TEST_FAIL("%s{%s}: le %s not above the previous", b->name,
                          b->labels, s->le);
            if (s->value < prev)
                TEST_FAIL("%s{%s}: le %s count %g below the previous %g",
                          b->name, b->labels, s->le, s->value, prev);
            prev_le = le;
            prev = s->value;
        }
        if (!isinf(prev_le))
            TEST_FAIL("%s{%s}: last bucket is not +Inf", b->name, b->labels);
        snprintf(sum, sizeof(sum), "%s_sum", f->name);
        snprintf(count, sizeof(count), "%s_count", f->name);
        if (isnan(sample(e, sum, b->labels)))
            TEST_FAIL("%s{%s} missing", sum, b->labels);
        v = sample(e, count, b->labels);
        if (v != prev)
            TEST_FAIL("%s{%s} = %g, +Inf bucket = %g", count, b->labels, v,
                      prev);
    }
    return nseries;
}

static void scrape(const struct itest_server *s, struct exposition *e)
{
    struct itest_resp r;
    char ct[128];

    itest_request(s, "GET", "/metrics", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    CHECK(itest_header(&r, "Content-Type", ct, sizeof(ct)) != NULL);
    CHECK(strncmp(ct, "text/plain; version=0.0.4", 25) == 0);
    parse_exposition(r.body, e);
    itest_resp_free(&r);
}

static void traffic(const struct itest_server *s)
{
    static const char *const wr[] = {"Content-Range: bytes 0-4/*", NULL};
    static const char *const rd[] = {"Range: bytes=0-4", NULL};
    static const char *const js[] = {"Content-Type: application/json", NULL};

    itest_expect_status(s, "PUT", "/v1/maps/obs", js, "{\"size\": 65536}", 201);
    itest_expect_status(s, "PUT", "/v1/maps/obs/data", wr, "hello", 204);
    itest_expect_status(s, "GET", "/v1/maps/obs/data", rd, NULL, 206);
    itest_expect_status(s, "GET", "/nope", NULL, NULL, 404);
}

TEST(metrics_exposition_strict)
{
    static const char *const families[][2] = {
        {"mmapd_requests_total", "counter"},
        {"mmapd_request_duration_seconds", "histogram"},
        {"mmapd_request_bytes_received_total", "counter"},
        {"mmapd_response_bytes_sent_total", "counter"},
        {"mmapd_view_cache_views", "gauge"},
        {"mmapd_view_cache_bytes_mapped", "gauge"},
        {"mmapd_view_cache_hits_total", "counter"},
        {"mmapd_view_cache_misses_total", "counter"},
        {"mmapd_view_cache_evictions_total", "counter"},
        {"mmapd_view_cache_declined_total", "counter"},
        {"mmapd_mappings", "gauge"},
        {"mmapd_mappings_damaged", "gauge"},
    };
    static struct exposition e; /* large: not on the stack */
    struct itest_server s = {0};

    itest_start(&s, NULL);
    traffic(&s);
    scrape(&s, &e); /* the first scrape is counted in the second */
    scrape(&s, &e);
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
        int f = find_family(&e, families[i][0]);

        if (f < 0)
            TEST_FAIL("family %s missing", families[i][0]);
        CHECK_EQ_STR(e.fam[f].type, families[i][1]);
    }
    CHECK(check_histograms(&e) >= 3); /* map 2xx, data 2xx, none 4xx, ... */
    CHECK(sample(&e, "mmapd_requests_total", "route=\"map\",code=\"201\"") >= 1);
    CHECK(sample(&e, "mmapd_requests_total", "route=\"data\",code=\"204\"") >= 1);
    CHECK(sample(&e, "mmapd_requests_total", "route=\"data\",code=\"206\"") >= 1);
    CHECK(sample(&e, "mmapd_requests_total", "route=\"none\",code=\"404\"") >= 1);
    CHECK(sample(&e, "mmapd_requests_total", "route=\"metrics\",code=\"200\"") >= 1);
    CHECK(sample(&e, "mmapd_request_duration_seconds_count",
                 "route=\"data\",status_class=\"2xx\"") >= 2);
    CHECK(sample(&e, "mmapd_request_duration_seconds_count",
                 "route=\"none\",status_class=\"4xx\"") >= 1);
    CHECK(sample(&e, "mmapd_request_bytes_received_total", "") >= 5);
    CHECK(sample(&e, "mmapd_response_bytes_sent_total", "") >= 5);
    CHECK(sample(&e, "mmapd_mappings", "") == 1);
    CHECK(sample(&e, "mmapd_mappings_damaged", "") == 0);
    CHECK(sample(&e, "mmapd_view_cache_views", "") >= 1);
    CHECK(sample(&e, "mmapd_view_cache_bytes_mapped", "") > 0);
    CHECK(sample(&e, "mmapd_view_cache_hits_total", "") +
              sample(&e, "mmapd_view_cache_misses_total", "") >= 2);
    itest_cleanup(&s);
}

/* The parser itself must refuse what it claims to refuse. */
TEST(metrics_parser_rejects)
{
    static const char *const bad[] = {
        "x_total 1\n",                                      /* no TYPE/HELP */
        "# HELP x_total h\n# TYPE x_total counter\nx_total{a=\"1} 1\n",
        "# HELP x_total h\n# TYPE x_total counter\nx_total  1\n",
        "# HELP h h\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\n"
        "h_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",   /* not cumulative */
        "# HELP h h\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\n"
        "h_count 1\n",                                      /* no +Inf */
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pid_t pid = fork();
        int status;

        CHECK(pid >= 0);
        if (pid == 0) { /* TEST_FAIL exits 1: run each in a child */
            static struct exposition e;
            char *text = strdup(bad[i]);

            freopen("/dev/null", "w", stderr);
            parse_exposition(text, &e);
            check_histograms(&e);
            _exit(0);
        }
        CHECK(waitpid(pid, &status, 0) == pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 1)
            TEST_FAIL("accepted bad exposition #%zu", i);
    }
}

/* ---- access log -------------------------------------------------------- */

/* Run the traffic against a server started with extra, and return what it
 * wrote to stderr (malloc'ed) after it stopped. */
static char *server_stderr(const char *const extra[], bool with_traffic)
{
    struct itest_server s = {0};
    char path[] = "/tmp/mmapd-it-log-XXXXXX";

    itest_start_logged(&s, extra, path);
    if (with_traffic)
        traffic(&s);
    itest_stop(&s); /* every line is written once it has exited */
    itest_cleanup(&s);
    return itest_take_file(path);
}

static json_int_t int_field(json_t *o, const char *key, const char *line)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_integer(v) || json_integer_value(v) < 0)
        TEST_FAIL("\"%s\" is not a non-negative integer in %s", key, line);
    return json_integer_value(v);
}

static const char *str_field(json_t *o, const char *key, const char *line)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_string(v))
        TEST_FAIL("\"%s\" is not a string in %s", key, line);
    return json_string_value(v);
}

TEST(access_log_one_json_line_per_request)
{
    /* Lines are written as requests complete, on the worker threads, so
     * their order is not the order of the requests: match each line to
     * the request with its method, path and status, each used once. */
    static const struct {
        const char *method, *path;
        long status, bytes_in, bytes_out; /* bytes_out -1: not checked */
    } want[] = {
        {"PUT", "/v1/maps/obs", 201, 15, -1},
        {"PUT", "/v1/maps/obs/data", 204, 5, 0},
        {"GET", "/v1/maps/obs/data", 206, 0, 5},
        {"GET", "/nope", 404, 0, -1},
    };
    enum { NWANT = sizeof(want) / sizeof(want[0]) };
    bool used[NWANT] = {false};
    char *text = server_stderr(NULL, true);
    char *save = NULL;
    size_t n = 0;
    bool info_seen = false;

    for (char *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        json_error_t err;
        json_t *o;
        const char *method, *path;
        json_int_t status;
        size_t k;

        if (line[0] != '{') {
            /* Not an access line: then a leveled log line. */
            if (!strstr(line, " mmapd "))
                TEST_FAIL("stray stderr line: %s", line);
            info_seen |= strstr(line, " mmapd info: ") != NULL;
            continue;
        }
        o = json_loads(line, 0, &err);
        if (!json_is_object(o))
            TEST_FAIL("access line is not a JSON object: %s", line);
        CHECK(strlen(str_field(o, "ts", line)) >= 20);
        CHECK_EQ_STR(str_field(o, "client", line), "127.0.0.1");
        int_field(o, "duration_us", line);
        method = str_field(o, "method", line);
        path = str_field(o, "path", line);
        status = int_field(o, "status", line);
        for (k = 0; k < NWANT; k++)
            if (!used[k] && strcmp(method, want[k].method) == 0 &&
                strcmp(path, want[k].path) == 0 && status == want[k].status)
                break;
        if (k == NWANT)
            TEST_FAIL("access line for no request (or a second one): %s",
                      line);
        used[k] = true;
        CHECK_EQ_U64(int_field(o, "bytes_in", line), want[k].bytes_in);
        if (want[k].bytes_out >= 0)
            CHECK_EQ_U64(int_field(o, "bytes_out", line), want[k].bytes_out);
        else
            int_field(o, "bytes_out", line);
        json_decref(o);
        n++;
    }
    CHECK_EQ_U64(n, NWANT);
    CHECK(info_seen); /* default level info: the shutdown lines */
    free(text);
}

/* With a token file, a line names the token a request used by its position
 * in the file, and never the secret; a request without one has no "token". */
/* A response broken off half-way is logged with the bytes that went out
 * (it was "bytes_out":0 although 637,952 bytes had gone). */
TEST(access_log_counts_bytes_of_a_broken_off_response)
{
    static const char req[] = "GET /v1/maps/big/data HTTP/1.1\r\nHost: x\r\n\r\n";
    struct itest_server s = {0};
    char path[] = "/tmp/mmapd-it-log-XXXXXX";
    static char buf[65536];
    size_t got = 0;
    char *text, *save = NULL;
    bool seen = false;
    int fd;

    itest_start_logged(&s, NULL, path);
    itest_create(&s, "big", "{\"size\": 16777216}");
    fd = itest_connect(s.port, 4096);
    CHECK(fd >= 0);
    CHECK_EQ_U64(send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL), sizeof(req) - 1);
    while (got < 600000) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);

        CHECK(n > 0);
        got += (size_t)n;
    }
    close(fd);
    usleep(300 * 1000);
    itest_stop(&s);
    itest_cleanup(&s);
    text = itest_take_file(path);
    for (char *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        json_error_t err;
        json_t *o = line[0] == '{' ? json_loads(line, 0, &err) : NULL;

        if (o && strcmp(str_field(o, "method", line), "GET") == 0 &&
            strcmp(str_field(o, "path", line), "/v1/maps/big/data") == 0) {
            json_int_t out = int_field(o, "bytes_out", line);

            /* At least what this client received, less than the whole. */
            if (out < (json_int_t)got || out >= 16777216)
                TEST_FAIL("bytes_out %lld for %zu bytes received: %s",
                          (long long)out, got, line);
            seen = true;
        }
        json_decref(o);
    }
    CHECK(seen);
    free(text);
}

TEST(access_log_names_the_token_by_position)
{
    static const char tokens[] =
        "{\"tokens\": [{\"token\": \"first-secret\", \"read\": [\"*\"]},"
        " {\"token\": \"second-secret\", \"read\": [\"*\"]}]}";
    char dir[] = "/tmp/mmapd-it-tok-XXXXXX";
    char file[64], path[] = "/tmp/mmapd-it-log-XXXXXX";
    struct itest_server s = {0};
    struct itest_resp r;
    size_t lines = 0;
    char *text, *save = NULL;
    FILE *f;

    CHECK(mkdtemp(dir) != NULL);
    snprintf(file, sizeof file, "%s/tokens.json", dir);
    f = fopen(file, "w");
    CHECK(f != NULL && fputs(tokens, f) >= 0 && fclose(f) == 0);
    CHECK(chmod(file, 0600) == 0);
    itest_start_logged(&s, (const char *const[]){"--token-file", file, NULL},
                       path);
    itest_request(&s, "GET", "/v1/info",
                  (const char *const[]){"Authorization: Bearer second-secret",
                                        NULL},
                  NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    itest_resp_free(&r);
    itest_request(&s, "GET", "/v1/info", NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 401);
    itest_resp_free(&r);
    itest_cleanup(&s);
    unlink(file);
    rmdir(dir);

    text = itest_take_file(path);
    if (strstr(text, "secret"))
        TEST_FAIL("a token reached the log: %s", text);
    for (char *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        json_error_t err;
        json_t *o;
        json_t *tok;

        if (line[0] != '{')
            continue;
        o = json_loads(line, 0, &err);
        CHECK(json_is_object(o));
        tok = json_object_get(o, "token");
        if (int_field(o, "status", line) == 200) {
            if (!json_is_integer(tok) || json_integer_value(tok) != 1)
                TEST_FAIL("want \"token\":1 in %s", line);
        } else if (tok != NULL) {
            TEST_FAIL("a refused request names a token: %s", line);
        }
        json_decref(o);
        lines++;
    }
    CHECK_EQ_U64(lines, 2);
    free(text);
}

TEST(access_log_off_and_log_level)
{
    static const char *const quiet[] = {"--access-log", "off", "--log-level",
                                        "error", NULL};
    char *text = server_stderr(quiet, true);

    /* No access lines, and nothing below error (no info or warn lines). */
    if (strchr(text, '{') || strstr(text, " info: ") || strstr(text, " warn: "))
        TEST_FAIL("quiet server wrote: %s", text);
    free(text);
}

TEST_MAIN()
