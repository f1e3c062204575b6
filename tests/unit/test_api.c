/* test_api.c - the REST handlers driven without a socket.
 *
 * Each case builds requests as the server would (method, raw path, header
 * and query callbacks, body chunks), runs the exchange against a real
 * catalog in a temporary directory, and checks the status, the headers and
 * the bytes of the body. It proves the behaviour API.md asks for at the
 * level where it is decided, so the integration tests only need to prove
 * the wiring.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "check.h"
#include "internal.h" /* api__etag: its format is checked directly */
#include "mapcore/mc_catalog.h"
#include "mapcore/mc_mapping.h"
#include "mapcore/mc_viewcache.h"

struct fake {
    const char *hdr[8][2];
    const char *qry[4][2];
};

static const char *fake_header(void *conn, const char *name)
{
    struct fake *f = conn;

    for (int i = 0; i < 8 && f->hdr[i][0] != NULL; i++) {
        if (strcasecmp(f->hdr[i][0], name) == 0)
            return f->hdr[i][1];
    }
    return NULL;
}

static const char *fake_query(void *conn, const char *key)
{
    struct fake *f = conn;

    for (int i = 0; i < 4 && f->qry[i][0] != NULL; i++) {
        if (strcmp(f->qry[i][0], key) == 0)
            return f->qry[i][1];
    }
    return NULL;
}

struct env {
    char dir[64];
    struct mc_catalog *cat;
    struct api *api;
};

static void env_open_ranges(struct env *e, uint64_t view_size,
                            uint64_t cache_bytes, unsigned max_ranges)
{
    struct mc_catalog_options opt = {0};
    struct api_config cfg = {0};

    snprintf(e->dir, sizeof(e->dir), "/tmp/mmapd-test-api-XXXXXX");
    CHECK(mkdtemp(e->dir) != NULL);
    opt.data_dir = e->dir;
    opt.view_size = view_size;
    opt.cache_bytes = cache_bytes;
    CHECK(mc_catalog_open(&opt, &e->cat) == MC_OK);
    cfg.catalog = e->cat;
    cfg.max_body = 64ull << 20;
    cfg.max_ranges = max_ranges;
    cfg.version = "test";
    CHECK(api_create(&cfg, &e->api) == 0);
}

static void env_open(struct env *e, uint64_t view_size, uint64_t cache_bytes)
{
    env_open_ranges(e, view_size, cache_bytes, 4);
}

static void env_close(struct env *e)
{
    char cmd[128];

    api_destroy(e->api);
    mc_catalog_close(e->cat);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
    CHECK(system(cmd) == 0);
}

/* The answer to one request, with its body collected. */
struct answer {
    unsigned status;
    char headers[API_MAX_HEADERS][2][sizeof(((struct api_header *)0)->value)];
    unsigned nheaders;
    char ctype[128];
    char *body;
    size_t len;
    bool wanted_body;
};

static const char *hdr(const struct answer *a, const char *name)
{
    for (unsigned i = 0; i < a->nheaders; i++) {
        if (strcasecmp(a->headers[i][0], name) == 0)
            return a->headers[i][1];
    }
    return NULL;
}

static void collect(struct answer *a, struct api_body *b)
{
    a->len = 0;
    a->body = calloc(1, b->length + 1);
    CHECK(a->body != NULL);
    if (b->kind == API_BODY_IOV) {
        for (unsigned i = 0; i < b->iovcnt; i++) {
            memcpy(a->body + a->len, b->iov[i].base, b->iov[i].len);
            a->len += b->iov[i].len;
        }
    } else if (b->kind == API_BODY_READER) {
        while (a->len < b->length) {
            /* Odd chunk sizes exercise segment boundaries. */
            size_t want = b->length - a->len < 7777 ? b->length - a->len : 7777;
            ssize_t n = b->read(b->cls, a->len, a->body + a->len, want);

            CHECK(n > 0);
            a->len += (size_t)n;
        }
    }
    CHECK_EQ_U64(a->len, b->length);
    if (b->release != NULL)
        b->release(b->cls);
}

/* When set, run() calls it with the response body before reading it, while
 * whatever the body holds (pins included) is still held. */
static void (*body_probe)(struct env *e, const struct api_body *b);

/* Run one request. body may be NULL; it is fed in chunks of chunk bytes. */
static struct answer run(struct env *e, const char *method, const char *path,
                         struct fake *f, const void *body, size_t blen,
                         size_t chunk)
{
    struct fake none = {0};
    struct api_request req = {0};
    struct api_exchange *ex;
    struct api_response *resp;
    struct api_body b;
    struct answer a = {0};

    if (f == NULL)
        f = &none;
    req.method = api_method_parse(method);
    req.path = path;
    req.header = fake_header;
    req.query = fake_query;
    req.conn = f;
    ex = api_exchange_start(e->api, &req);
    CHECK(ex != NULL);
    a.wanted_body = api_exchange_wants_body(ex);
    for (size_t off = 0; off < blen && api_exchange_wants_body(ex);) {
        size_t n = blen - off < chunk ? blen - off : chunk;

        api_exchange_body(ex, (const char *)body + off, n);
        off += n;
    }
    api_exchange_end(ex);
    resp = api_exchange_response(ex);
    CHECK(resp != NULL);
    a.status = resp->status;
    a.nheaders = resp->nheaders;
    for (unsigned i = 0; i < resp->nheaders; i++) {
        snprintf(a.headers[i][0], sizeof(a.headers[i][0]), "%s",
                 resp->headers[i].name);
        snprintf(a.headers[i][1], sizeof(a.headers[i][1]), "%s",
                 resp->headers[i].value);
    }
    snprintf(a.ctype, sizeof(a.ctype), "%s",
             resp->content_type ? resp->content_type : "");
    api_response_take_body(ex, &b);
    if (body_probe != NULL)
        body_probe(e, &b);
    collect(&a, &b);
    api_exchange_free(ex, true);
    return a;
}

#define RUN(e, m, p, f, body, blen)                                            \
    run((e), (m), (p), (f), (body), (blen), 1 << 20)

static void done(struct answer *a)
{
    free(a->body);
    a->body = NULL;
}

/* Expect status and, for errors, the problem code. */
static void expect(struct answer *a, unsigned status, const char *code)
{
    if (a->status != status)
        TEST_FAIL("status %u, expected %u; body %s", a->status, status,
                  a->body ? a->body : "");
    if (code != NULL) {
        char want[96];

        snprintf(want, sizeof(want), "\"code\":\"%s\"", code);
        if (strstr(a->body, want) == NULL)
            TEST_FAIL("body %s lacks %s", a->body, want);
        CHECK_EQ_STR(a->ctype, "application/problem+json");
        CHECK(strstr(a->body, "\"type\":\"about:blank\"") != NULL);
    }
    done(a);
}

static void create(struct env *e, const char *name, const char *json)
{
    char path[256];
    struct answer a;

    snprintf(path, sizeof(path), "/v1/maps/%s", name);
    a = RUN(e, "PUT", path, NULL, json, strlen(json));
    expect(&a, 201, NULL);
}

/* Fill mapping name with a known pattern: byte i is (i * 7 + 3) & 0xff. */
static unsigned char *pattern(size_t n)
{
    unsigned char *p = malloc(n);

    CHECK(p != NULL);
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(i * 7 + 3);
    return p;
}

static void fill(struct env *e, const char *name, size_t n)
{
    char path[256];
    unsigned char *p = pattern(n);
    struct answer a;

    snprintf(path, sizeof(path), "/v1/maps/%s/data", name);
    a = run(e, "PUT", path, NULL, p, n, 65536);
    expect(&a, 204, NULL);
    free(p);
}

TEST(routes)
{
    struct env e;
    struct answer a;

    env_open(&e, 0, 0);
    a = RUN(&e, "GET", "/nope", NULL, NULL, 0);
    expect(&a, 404, "not_found");
    a = RUN(&e, "GET", "/v1/maps/x/objects/0", NULL, NULL, 0);
    expect(&a, 404, "not_found");
    a = RUN(&e, "GET", "/v1/maps/x/", NULL, NULL, 0);
    expect(&a, 404, "not_found");
    a = RUN(&e, "DELETE", "/v1/maps", NULL, NULL, 0);
    CHECK_EQ_STR(hdr(&a, "Allow"), "GET, HEAD, OPTIONS");
    expect(&a, 405, "method_not_allowed");
    a = RUN(&e, "BREW", "/healthz", NULL, NULL, 0);
    expect(&a, 405, "method_not_allowed");
    a = RUN(&e, "GET", "/v1/maps/a%2Fb", NULL, NULL, 0);
    expect(&a, 400, "invalid_name");
    a = RUN(&e, "GET", "/v1/maps/%00", NULL, NULL, 0);
    expect(&a, 400, "invalid_name");
    a = RUN(&e, "GET", "/v1/maps/.hidden/data", NULL, NULL, 0);
    expect(&a, 400, "invalid_name");
    /* A trailing slash names the same resource: the list, not a map
     * with an empty name (README "Interoperability"). */
    a = RUN(&e, "GET", "/v1/maps/", NULL, NULL, 0);
    CHECK(strcmp(a.body, "{\"maps\":[],\"next\":null}\n") == 0);
    expect(&a, 200, NULL);
    a = RUN(&e, "GET", "/v1/maps//", NULL, NULL, 0);
    expect(&a, 400, "invalid_name");
    a = RUN(&e, "GET", "/v1/maps/nothere", NULL, NULL, 0);
    expect(&a, 404, "not_found");
    a = RUN(&e, "OPTIONS", "/v1/maps/x", NULL, NULL, 0);
    CHECK_EQ_STR(hdr(&a, "Allow"), "GET, HEAD, PUT, PATCH, DELETE, OPTIONS");
    expect(&a, 204, NULL);
    a = RUN(&e, "GET", "/healthz", NULL, NULL, 0);
    CHECK(strcmp(a.body, "{\"status\":\"ok\"}\n") == 0);
    expect(&a, 200, NULL);
    a = RUN(&e, "GET", "/readyz", NULL, NULL, 0);
    CHECK(strcmp(a.body, "{\"status\":\"ready\"}\n") == 0);
    expect(&a, 200, NULL);
    env_close(&e);
}

TEST(create_open_list_delete)
{
    struct env e;
    struct answer a;
    struct fake inm = {.hdr = {{"If-None-Match", "*"}}};
    struct fake unlink_bad = {.qry = {{"unlink", "yes"}}};
    struct fake unlink_ok = {.qry = {{"unlink", "true"}}};

    env_open(&e, 0, 0);
    a = RUN(&e, "PUT", "/v1/maps/b%2Dmap", NULL, "{\"size\":4096}", 13);
    CHECK_EQ_STR(hdr(&a, "Location"), "/v1/maps/b-map");
    CHECK(hdr(&a, "ETag") != NULL && hdr(&a, "ETag")[0] == '"');
    CHECK(strstr(a.body, "\"created\":true") != NULL);
    CHECK(strstr(a.body, "\"name\":\"b-map\"") != NULL);
    CHECK(strstr(a.body, "\"size\":4096") != NULL);
    CHECK(strstr(a.body, "\"created_at\":\"20") != NULL);
    CHECK(strstr(a.body, "Z\",\"modified_at\"") != NULL);
    expect(&a, 201, NULL);

    a = RUN(&e, "PUT", "/v1/maps/b-map", NULL, NULL, 0);
    CHECK(strstr(a.body, "\"created\":false") != NULL);
    expect(&a, 200, NULL);
    a = RUN(&e, "PUT", "/v1/maps/b-map", &inm, NULL, 0);
    expect(&a, 412, "precondition_failed");
    a = RUN(&e, "PUT", "/v1/maps/b-map", NULL, "{\"size\":8192}", 13);
    expect(&a, 409, "conflict");

    create(&e, "a-mem", "{\"backing\":\"memory\",\"size\":100}");
    a = RUN(&e, "GET", "/v1/maps", NULL, NULL, 0);
    CHECK(strncmp(a.body, "{\"maps\":[{\"name\":\"a-mem\"", 24) == 0);
    CHECK(strstr(a.body, "\"file\":null") != NULL);
    CHECK(strstr(a.body, "{\"name\":\"b-map\"") != NULL);
    expect(&a, 200, NULL);

    a = RUN(&e, "DELETE", "/v1/maps/b-map", &unlink_bad, NULL, 0);
    expect(&a, 400, "invalid_query");
    a = RUN(&e, "DELETE", "/v1/maps/b-map", &unlink_ok, NULL, 0);
    expect(&a, 204, NULL);
    a = RUN(&e, "DELETE", "/v1/maps/b-map", NULL, NULL, 0);
    expect(&a, 404, "not_found");
    env_close(&e);
}

TEST(create_rejects_bad_bodies)
{
    static const struct {
        const char *body;
        unsigned status;
        const char *code;
    } cases[] = {
        {"{\"protection\":\"execute_read\"}", 400, "unsupported"},
        {"{\"protection\":\"image\"}", 400, "unsupported"},
        {"{\"backing\":\"image_no_execute\"}", 400, "unsupported"},
        {"{\"protection\":\"bogus\"}", 400, "invalid_field"},
        {"{\"backing\":\"memory\",\"file\":\"x\",\"size\":1}", 400,
         "invalid_field"},
        {"{\"size\":-1}", 400, "invalid_field"},
        {"{\"size\":1.5}", 400, "invalid_field"},
        {"{\"size\":1e3}", 400, "invalid_field"},
        {"{\"size\":\"10\"}", 400, "invalid_field"},
        {"{\"size\":18446744073709551616}", 400, "invalid_field"},
        {"{\"writethrough\":1}", 400, "invalid_field"},
        {"{\"sise\":1}", 400, "invalid_field"},
        {"{\"size\":1,\"size\":2}", 400, "invalid_json"},
        {"[1]", 400, "invalid_json"},
        {"{", 400, "invalid_json"},
        {" ", 400, "invalid_json"},
        {"{\"file\":\"../x\",\"size\":1}", 400, "invalid_path"},
        {"{\"file\":\"/etc/passwd\",\"size\":1}", 400, "invalid_path"},
        {"{\"backing\":\"memory\",\"size\":0}", 400, "invalid_size"},
        {"{\"backing\":\"memory\",\"size\":9223372036854775807}", 413,
         "too_large"},
    };
    struct env e;
    struct fake enc = {.hdr = {{"Content-Encoding", "gzip"}}};
    struct fake big = {.hdr = {{"Content-Length", "65537"}}};
    struct answer a;
    char *huge;

    env_open(&e, 0, 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        a = RUN(&e, "PUT", "/v1/maps/x", NULL, cases[i].body,
                strlen(cases[i].body));
        fprintf(stderr, "   %s\n", cases[i].body);
        expect(&a, cases[i].status, cases[i].code);
    }
    a = RUN(&e, "PUT", "/v1/maps/x", &enc, "{}", 2);
    expect(&a, 415, "unsupported_media_type");
    a = RUN(&e, "PUT", "/v1/maps/x", &big, NULL, 0);
    CHECK(!a.wanted_body); /* refused before the body */
    expect(&a, 413, "payload_too_large");
    /* Without a Content-Length the limit holds while the body streams. */
    huge = calloc(1, 70000);
    CHECK(huge != NULL);
    memset(huge, ' ', 70000);
    a = run(&e, "PUT", "/v1/maps/x", NULL, huge, 70000, 4096);
    expect(&a, 413, "payload_too_large");
    free(huge);
    env_close(&e);
}

TEST(data_whole_range_query)
{
    struct env e;
    struct answer a;
    unsigned char *p = pattern(10000);
    struct fake r1 = {.hdr = {{"Range", "bytes=10-19"}}};
    struct fake r416 = {.hdr = {{"Range", "bytes=10000-"}}};
    struct fake rbad = {.hdr = {{"Range", "bytes=5-3"}}};
    struct fake rmany = {.hdr = {{"Range", "bytes=0-0,2-2,4-4,6-6,8-8"}}};
    struct fake radj = {.hdr = {{"Range", "bytes=0-4,5-9"}}};
    struct fake q1 = {.qry = {{"offset", "9990"}},
                      .hdr = {{"Range", "bytes=0-0"}}};
    struct fake q2 = {.qry = {{"offset", "10"}, {"length", "5"}}};
    struct fake q3 = {.qry = {{"length", "3"}}};
    struct fake q416 = {.qry = {{"offset", "9999"}, {"length", "2"}}};
    struct fake qovf = {
        .qry = {{"offset", "18446744073709551615"}, {"length", "2"}}};
    struct fake qbad = {.qry = {{"offset", "+1"}}};

    env_open(&e, 0, 0);
    create(&e, "d", "{\"size\":10000}");
    fill(&e, "d", 10000);

    a = RUN(&e, "GET", "/v1/maps/d/data", NULL, NULL, 0);
    CHECK_EQ_U64(a.len, 10000);
    CHECK_MEM(a.body, p, 10000);
    CHECK_EQ_STR(hdr(&a, "Accept-Ranges"), "bytes");
    CHECK_EQ_STR(a.ctype, "application/octet-stream");
    CHECK(hdr(&a, "ETag") != NULL);
    expect(&a, 200, NULL);

    a = RUN(&e, "GET", "/v1/maps/d/data", &r1, NULL, 0);
    CHECK_EQ_STR(hdr(&a, "Content-Range"), "bytes 10-19/10000");
    CHECK_EQ_U64(a.len, 10);
    CHECK_MEM(a.body, p + 10, 10);
    expect(&a, 206, NULL);

    a = RUN(&e, "GET", "/v1/maps/d/data", &radj, NULL, 0);
    CHECK_EQ_STR(hdr(&a, "Content-Range"), "bytes 0-9/10000");
    expect(&a, 206, NULL);

    a = RUN(&e, "GET", "/v1/maps/d/data", &r416, NULL, 0);
    CHECK_EQ_STR(hdr(&a, "Content-Range"), "bytes */10000");
    expect(&a, 416, "range_not_satisfiable");
    a = RUN(&e, "GET", "/v1/maps/d/data", &rbad, NULL, 0);
    CHECK_EQ_U64(a.len, 10000);
    expect(&a, 200, NULL);
    a = RUN(&e, "GET", "/v1/maps/d/data", &rmany, NULL, 0);
    CHECK_EQ_U64(a.len, 10000);
    expect(&a, 200, NULL);

    a = RUN(&e, "GET", "/v1/maps/d/data", &q1, NULL, 0);
    CHECK_EQ_U64(a.len, 10); /* the query wins over Range */
    CHECK_MEM(a.body, p + 9990, 10);
    expect(&a, 200, NULL);
    a = RUN(&e, "GET", "/v1/maps/d/data", &q2, NULL, 0);
    CHECK_MEM(a.body, p + 10, 5);
    expect(&a, 200, NULL);
    a = RUN(&e, "GET", "/v1/maps/d/data", &q3, NULL, 0);
    CHECK_EQ_U64(a.len, 3);
    expect(&a, 200, NULL);
    a = RUN(&e, "GET", "/v1/maps/d/data", &q416, NULL, 0);
    CHECK_EQ_STR(hdr(&a, "Content-Range"), "bytes */10000");
    expect(&a, 416, "range_not_satisfiable");
    a = RUN(&e, "GET", "/v1/maps/d/data", &qovf, NULL, 0);
    expect(&a, 416, "range_not_satisfiable");
    a = RUN(&e, "GET", "/v1/maps/d/data", &qbad, NULL, 0);
    expect(&a, 400, "invalid_query");

    a = RUN(&e, "HEAD", "/v1/maps/d/data", NULL, NULL, 0);
    CHECK_EQ_U64(a.len, 10000); /* the length HEAD announces */
    expect(&a, 200, NULL);
    free(p);
    env_close(&e);
}

TEST(data_multipart)
{
    struct env e;
    struct answer a;
    unsigned char *p = pattern(10000);
    struct fake rm = {.hdr = {{"Range", "bytes=100-104, 0-1,-2"}}};
    const char *ct;
    char boundary[64];
    char expect_body[1024];
    size_t n = 0;

    env_open(&e, 0, 0);
    create(&e, "d", "{\"size\":10000}");
    fill(&e, "d", 10000);
    a = RUN(&e, "GET", "/v1/maps/d/data", &rm, NULL, 0);
    /* The one Content-Type of a response (api__content_type), and no
     * second one among the headers. */
    CHECK(hdr(&a, "Content-Type") == NULL);
    ct = a.ctype;
    CHECK(sscanf(ct, "multipart/byteranges; boundary=%63s", boundary) == 1);
    CHECK(hdr(&a, "Content-Range") == NULL);

    /* Coalesced and sorted: 0-1, 100-104, 9998-9999. */
    static const unsigned r[3][2] = {{0, 1}, {100, 104}, {9998, 9999}};
    for (int i = 0; i < 3; i++) {
        n += (size_t)snprintf(expect_body + n, sizeof(expect_body) - n,
                              "\r\n--%s\r\nContent-Type: application/octet-"
                              "stream\r\nContent-Range: bytes %u-%u/10000"
                              "\r\n\r\n",
                              boundary, r[i][0], r[i][1]);
        memcpy(expect_body + n, p + r[i][0], r[i][1] - r[i][0] + 1);
        n += r[i][1] - r[i][0] + 1;
    }
    n += (size_t)snprintf(expect_body + n, sizeof(expect_body) - n,
                          "\r\n--%s--\r\n", boundary);
    CHECK_EQ_U64(a.len, n);
    CHECK_MEM(a.body, expect_body, n);
    expect(&a, 206, NULL);
    free(p);
    env_close(&e);
}

/* Small views and a small cache: pinned bodies span several views, and a
 * body over a quarter of the budget goes through the reader. Both paths
 * give the same bytes, multipart included. */
TEST(data_views_and_reader)
{
    struct env e;
    struct answer a;
    size_t size = 3 << 20;
    unsigned char *p = pattern(size);
    long page = sysconf(_SC_PAGESIZE);
    struct fake small = {.hdr = {{"Range", "bytes=1000-30000"}}};
    struct fake multi = {
        .hdr = {{"Range", "bytes=-100000,5-9,100000-2000000"}}};
    char json[64];

    env_open(&e, (uint64_t)page, 4 << 20); /* pin limit: 1 MiB */
    snprintf(json, sizeof(json), "{\"size\":%zu}", size);
    create(&e, "big", json);
    fill(&e, "big", size);

    a = RUN(&e, "GET", "/v1/maps/big/data", &small, NULL, 0);
    CHECK_EQ_U64(a.len, 29001);
    CHECK_MEM(a.body, p + 1000, 29001);
    expect(&a, 206, NULL);

    a = RUN(&e, "GET", "/v1/maps/big/data", NULL, NULL, 0);
    CHECK_EQ_U64(a.len, size);
    CHECK_MEM(a.body, p, size);
    expect(&a, 200, NULL);

    a = RUN(&e, "GET", "/v1/maps/big/data", &multi, NULL, 0);
    CHECK(a.len > 100000 + 5 + 1900001);
    /* The part bytes sit right after each part header's blank line. */
    char *part = strstr(a.body, "bytes 100000-2000000/");
    CHECK(part != NULL);
    part = strstr(part, "\r\n\r\n") + 4;
    CHECK_MEM(part, p + 100000, 1900001);
    expect(&a, 206, NULL);
    free(p);
    env_close(&e);
}

/* Checks, while a body is alive, that the views it keeps pinned fit the
 * pin limit of the env (a quarter of its cache budget, under 16 MiB). */
static uint64_t probe_calls;

static void probe_pins(struct env *e, const struct api_body *b)
{
    struct mc_cache_stats st;
    uint64_t limit;

    (void)b;
    mc_catalog_cache_stats(e->cat, &st);
    limit = st.budget_bytes / 4 < (16ull << 20) ? st.budget_bytes / 4
                                                : (16ull << 20);
    if (st.pinned * st.view_size > limit)
        TEST_FAIL("%" PRIu64 " views of %" PRIu64 " bytes pinned by one "
                  "body, over the pin limit of %" PRIu64,
                  st.pinned, st.view_size, limit);
    CHECK(st.bytes_mapped <= st.budget_bytes);
    probe_calls++;
}

/* A multipart GET of 64 short ranges, each straddling a view boundary and
 * two views apart: the bytes sent are well under the pin limit, but pinning
 * them would hold 128 whole views, twice the limit. The body must not pin
 * more than the limit, and must still carry the right bytes. */
TEST(data_multipart_straddling_views)
{
    struct env e;
    struct answer a;
    long page = sysconf(_SC_PAGESIZE);
    uint64_t view = (uint64_t)page > 65536 ? (uint64_t)page : 65536;
    size_t size = (size_t)(130 * view);
    size_t part = 20000; /* 64 of them: over the 1 MiB atomic limit */
    unsigned char *p = pattern(size);
    char *range = malloc(64 * 48 + 16);
    size_t n;
    char json[64];
    struct fake f = {0};
    struct mc_cache_stats st;

    CHECK(range != NULL);
    /* Budget 256 views: pin limit 64 views, 128 would fit the budget. */
    env_open_ranges(&e, view, 256 * view, 64);
    snprintf(json, sizeof(json), "{\"size\":%zu}", size);
    create(&e, "s", json);
    fill(&e, "s", size);

    n = (size_t)snprintf(range, 16, "bytes=");
    for (unsigned i = 0; i < 64; i++) {
        uint64_t first = (2 * i + 1) * view - part / 2;

        n += (size_t)snprintf(range + n, 48, "%s%" PRIu64 "-%" PRIu64,
                              i ? "," : "", first, first + part - 1);
    }
    f.hdr[0][0] = "Range";
    f.hdr[0][1] = range;
    probe_calls = 0;
    body_probe = probe_pins;
    a = RUN(&e, "GET", "/v1/maps/s/data", &f, NULL, 0);
    body_probe = NULL;
    CHECK_EQ_U64(probe_calls, 1);
    if (a.status != 206)
        TEST_FAIL("status %u, expected 206; body %.300s", a.status,
                  a.body ? a.body : "");
    CHECK(strncmp(a.ctype, "multipart/byteranges", 20) == 0);
    /* Every part in order, each with its bytes right after its header. */
    char *at = a.body;
    for (unsigned i = 0; i < 64; i++) {
        uint64_t first = (2 * i + 1) * view - part / 2;
        char cr[96];

        snprintf(cr, sizeof(cr),
                 "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%zu\r\n\r\n",
                 first, first + part - 1, size);
        at = strstr(at, cr);
        if (at == NULL)
            TEST_FAIL("part %u (%s) missing", i, cr);
        at += strlen(cr);
        CHECK_MEM(at, p + first, part);
        at += part;
    }
    expect(&a, 206, NULL);
    mc_catalog_cache_stats(e.cat, &st);
    CHECK_EQ_U64(st.pinned, 0);
    free(range);
    free(p);
    env_close(&e);
}

/* When the cache is full of pins held elsewhere, a body that would fit the
 * pin limit can't be pinned (MC_EBUSY): it is served through the reader,
 * which needs one view at a time, rather than failing with 503. */
TEST(data_pinned_falls_back_when_cache_busy)
{
    struct env e;
    struct answer a;
    long page = sysconf(_SC_PAGESIZE);
    uint64_t view = (uint64_t)page > 65536 ? (uint64_t)page : 65536;
    size_t size = (size_t)(64 * view);
    unsigned char *p = pattern(size);
    struct mc_mapping *hog;
    struct mc_view *held[250];
    char json[64];
    char rng[64];
    struct fake f = {.hdr = {{"Range", rng}}};
    uint64_t first = 3 * view, len = 32 * view; /* 32 views: under limit */
    struct mc_cache_stats st;

    env_open_ranges(&e, view, 256 * view, 4);
    snprintf(json, sizeof(json), "{\"size\":%zu}", size);
    create(&e, "d", json);
    fill(&e, "d", size);
    snprintf(json, sizeof(json), "{\"size\":%" PRIu64 "}", 250 * view);
    create(&e, "hog", json);
    /* Hold 250 of the 256 views of the budget. */
    CHECK(mc_catalog_get(e.cat, "hog", &hog) == MC_OK);
    for (unsigned i = 0; i < 250; i++) {
        const uint8_t *data;
        size_t vlen;

        CHECK(mc_view_acquire(hog, i * view, &held[i], &data, &vlen) == MC_OK);
    }
    snprintf(rng, sizeof(rng), "bytes=%" PRIu64 "-%" PRIu64, first,
             first + len - 1);
    a = RUN(&e, "GET", "/v1/maps/d/data", &f, NULL, 0);
    if (a.status != 206)
        TEST_FAIL("status %u, expected 206; body %.300s", a.status,
                  a.body ? a.body : "");
    CHECK_EQ_U64(a.len, len);
    CHECK_MEM(a.body, p + first, len);
    expect(&a, 206, NULL);
    mc_catalog_cache_stats(e.cat, &st);
    CHECK_EQ_U64(st.pinned, 250);
    for (unsigned i = 0; i < 250; i++)
        mc_view_release(held[i]);
    mc_mapping_unref(hog);
    free(p);
    env_close(&e);
}

TEST(conditionals)
{
    struct env e;
    struct answer a;
    char etag[128];
    char weak[140];
    struct fake inm = {0};
    struct fake ir = {0};

    env_open(&e, 0, 0);
    create(&e, "c", "{\"size\":100}");
    a = RUN(&e, "GET", "/v1/maps/c", NULL, NULL, 0);
    snprintf(etag, sizeof(etag), "%s", hdr(&a, "ETag"));
    CHECK(strstr(a.body, "\"damaged\":false") != NULL);
    expect(&a, 200, NULL);

    inm.hdr[0][0] = "If-None-Match";
    inm.hdr[0][1] = etag;
    a = RUN(&e, "GET", "/v1/maps/c/data", &inm, NULL, 0);
    CHECK_EQ_STR(hdr(&a, "ETag"), etag);
    CHECK_EQ_U64(a.len, 0);
    expect(&a, 304, NULL);
    snprintf(weak, sizeof(weak), "\"x\", W/%s", etag);
    inm.hdr[0][1] = weak; /* If-None-Match compares weakly */
    a = RUN(&e, "HEAD", "/v1/maps/c/data", &inm, NULL, 0);
    expect(&a, 304, NULL);

    ir.hdr[0][0] = "Range";
    ir.hdr[0][1] = "bytes=0-0";
    ir.hdr[1][0] = "If-Range";
    ir.hdr[1][1] = etag;
    a = RUN(&e, "GET", "/v1/maps/c/data", &ir, NULL, 0);
    expect(&a, 206, NULL);
    ir.hdr[1][1] = weak;
    a = RUN(&e, "GET", "/v1/maps/c/data", &ir, NULL, 0);
    expect(&a, 200, NULL);
    ir.hdr[1][1] = "Tue, 24 Nov 2026 01:02:03 GMT";
    a = RUN(&e, "GET", "/v1/maps/c/data", &ir, NULL, 0);
    expect(&a, 200, NULL);

    /* A write moves the ETag; the old one then fails If-Match. */
    struct fake im = {.hdr = {{"If-Match", etag}}};
    a = RUN(&e, "PUT", "/v1/maps/c/data", &im, "ab", 2);
    CHECK(strcmp(hdr(&a, "ETag"), etag) != 0);
    expect(&a, 204, NULL);
    a = RUN(&e, "PUT", "/v1/maps/c/data", &im, "ab", 2);
    expect(&a, 412, "precondition_failed");
    a = RUN(&e, "PATCH", "/v1/maps/c", &im, "{\"size\":200}", 12);
    expect(&a, 412, "precondition_failed");
    struct fake star = {.hdr = {{"If-Match", "*"}}};
    a = RUN(&e, "PUT", "/v1/maps/none/data", &star, "ab", 2);
    expect(&a, 412, "precondition_failed");
    a = RUN(&e, "DELETE", "/v1/maps/c", &star, NULL, 0);
    expect(&a, 204, NULL);
    env_close(&e);
}

TEST(data_put_checks)
{
    struct env e;
    struct answer a;
    struct fake cr = {
        .hdr = {{"Content-Range", "bytes 10-13/*"}, {"Content-Length", "4"}}};
    struct fake cr_len = {
        .hdr = {{"Content-Range", "bytes 10-13/100"}, {"Content-Length", "3"}}};
    struct fake cr_total = {.hdr = {{"Content-Range", "bytes 10-13/99"}}};
    struct fake cr_end = {.hdr = {{"Content-Range", "bytes 98-101/*"}}};
    struct fake cr_bad = {.hdr = {{"Content-Range", "bytes 13-10/*"}}};
    struct fake both = {.hdr = {{"Content-Range", "bytes 0-1/*"}},
                        .qry = {{"offset", "1"}}};
    struct fake enc = {.hdr = {{"Content-Encoding", "br"}}};
    struct fake off = {.qry = {{"offset", "96"}}};
    struct fake off_cl = {.qry = {{"offset", "97"}},
                          .hdr = {{"Content-Length", "4"}}};
    struct fake off_bad = {.qry = {{"offset", "1x"}}};
    struct fake toolong = {.hdr = {{"Content-Length", "999999999999"}}};
    struct fake cr_short = {.hdr = {{"Content-Range", "bytes 0-9/*"}}};
    struct fake q = {.qry = {{"offset", "10"}, {"length", "4"}}};

    env_open(&e, 0, 0);
    create(&e, "w", "{\"size\":100}");
    create(&e, "ro",
           "{\"size\":100,\"file\":\"w\",\"protection\":\"readonly\"}");

    a = RUN(&e, "PUT", "/v1/maps/w/data", &cr, "WXYZ", 4);
    expect(&a, 204, NULL);
    a = RUN(&e, "GET", "/v1/maps/w/data", &q, NULL, 0);
    CHECK_MEM(a.body, "WXYZ", 4);
    expect(&a, 200, NULL);

    a = RUN(&e, "PUT", "/v1/maps/w/data", &cr_len, "abc", 3);
    CHECK(!a.wanted_body);
    expect(&a, 400, "length_mismatch");
    a = RUN(&e, "PUT", "/v1/maps/w/data", &cr_total, "abcd", 4);
    CHECK(!a.wanted_body);
    expect(&a, 416, "range_not_satisfiable");
    a = RUN(&e, "PUT", "/v1/maps/w/data", &cr_end, "abcd", 4);
    expect(&a, 416, "range_not_satisfiable");
    a = RUN(&e, "PUT", "/v1/maps/w/data", &cr_bad, "abcd", 4);
    expect(&a, 400, "invalid_range");
    a = RUN(&e, "PUT", "/v1/maps/w/data", &both, "ab", 2);
    expect(&a, 400, "invalid_range");
    a = RUN(&e, "PUT", "/v1/maps/w/data", &enc, "ab", 2);
    expect(&a, 415, "unsupported_media_type");
    a = RUN(&e, "PUT", "/v1/maps/w/data", &off_cl, "abcd", 4);
    expect(&a, 416, "range_not_satisfiable");
    a = RUN(&e, "PUT", "/v1/maps/w/data", &off_bad, "abcd", 4);
    expect(&a, 400, "invalid_query");
    a = RUN(&e, "PUT", "/v1/maps/w/data", &toolong, NULL, 0);
    expect(&a, 413, "payload_too_large");
    a = RUN(&e, "PUT", "/v1/maps/ro/data", NULL, "ab", 2);
    expect(&a, 403, "read_only");

    /* No Content-Length (chunked): the body may run to the end and no
     * further. */
    a = run(&e, "PUT", "/v1/maps/w/data", &off, "abcd", 4, 1);
    expect(&a, 204, NULL);
    a = run(&e, "PUT", "/v1/maps/w/data", &off, "abcde", 5, 2);
    expect(&a, 416, "range_not_satisfiable");
    /* A body shorter than its Content-Range. */
    a = run(&e, "PUT", "/v1/maps/w/data", &cr_short, "abc", 3, 1);
    expect(&a, 400, "length_mismatch");
    /* And longer. */
    a = run(&e, "PUT", "/v1/maps/w/data", &cr_short, "abcdefghijk", 11, 3);
    expect(&a, 400, "length_mismatch");
    env_close(&e);
}

/* Bodies past the atomic limit stream: written in place chunk by chunk. */
TEST(data_put_streams_large)
{
    struct env e;
    struct answer a;
    size_t size = (1 << 20) * 3 + 5;
    unsigned char *p = pattern(size);
    char json[64];

    env_open(&e, 0, 0);
    snprintf(json, sizeof(json), "{\"size\":%zu}", size);
    create(&e, "s", json);
    a = run(&e, "PUT", "/v1/maps/s/data", NULL, p, size, 100000);
    expect(&a, 204, NULL);
    a = RUN(&e, "GET", "/v1/maps/s/data", NULL, NULL, 0);
    CHECK_EQ_U64(a.len, size);
    CHECK_MEM(a.body, p, size);
    expect(&a, 200, NULL);
    free(p);
    env_close(&e);
}

TEST(resize_flush_info_metrics)
{
    struct env e;
    struct answer a;

    env_open(&e, 0, 0);
    create(&e, "r", "{\"size\":100}");
    a = RUN(&e, "PATCH", "/v1/maps/r", NULL, "{\"size\":5000}", 13);
    CHECK(strstr(a.body, "\"size\":5000") != NULL);
    expect(&a, 200, NULL);
    a = RUN(&e, "PATCH", "/v1/maps/r", NULL, "{}", 2);
    expect(&a, 400, "invalid_field");
    a = RUN(&e, "PATCH", "/v1/maps/r", NULL, NULL, 0);
    expect(&a, 400, "invalid_field");
    a = RUN(&e, "PATCH", "/v1/maps/r", NULL, "{\"size\":0}", 10);
    expect(&a, 400, "invalid_size");

    a = RUN(&e, "POST", "/v1/maps/r/flush", NULL, NULL, 0);
    CHECK_EQ_STR(a.body, "{\"flushed\":5000}\n");
    expect(&a, 200, NULL);
    a = RUN(&e, "POST", "/v1/maps/r/flush", NULL,
            "{\"offset\":1000,\"length\":10}", 27);
    CHECK(strstr(a.body, "\"flushed\":") != NULL);
    expect(&a, 200, NULL);
    a = RUN(&e, "POST", "/v1/maps/r/flush", NULL,
            "{\"offset\":4999,\"length\":2}", 26);
    expect(&a, 416, "range_not_satisfiable");
    a = RUN(&e, "POST", "/v1/maps/r/flush", NULL, "{\"offset\":\"1\"}", 14);
    expect(&a, 400, "invalid_field");

    a = RUN(&e, "GET", "/v1/info", NULL, NULL, 0);
    CHECK(strstr(a.body, "\"version\":\"test\"") != NULL);
    CHECK(strstr(a.body, "\"limits\":{") != NULL);
    CHECK(strstr(a.body, "\"max_ranges\":4") != NULL);
    CHECK(strstr(a.body, "\"mappings\":1") != NULL);
    expect(&a, 200, NULL);

    api_metrics_record(e.api, "data", 206, 0, 10, 1500);
    api_metrics_record(e.api, "bogus", 999, 1, 1, 99999999);
    a = RUN(&e, "GET", "/metrics", NULL, NULL, 0);
    CHECK(strncmp(a.ctype, "text/plain; version=0.0.4", 25) == 0);
    CHECK(strstr(a.body,
                 "mmapd_requests_total{route=\"data\",code=\"206\"} 1\n") !=
          NULL);
    CHECK(strstr(a.body, "mmapd_request_duration_seconds_bucket{route=\"data\","
                         "status_class=\"2xx\",le=\"0.001\"} 0\n") != NULL);
    CHECK(strstr(a.body, "mmapd_request_duration_seconds_bucket{route=\"data\","
                         "status_class=\"2xx\",le=\"0.0025\"} 1\n") != NULL);
    /* A status outside 100..599 is timed as a failure (5xx). */
    CHECK(strstr(a.body, "mmapd_request_duration_seconds_bucket{route=\"none\","
                         "status_class=\"5xx\",le=\"+Inf\"} 1\n") != NULL);
    CHECK(strstr(a.body, "# TYPE mmapd_view_cache_hits_total counter\n") !=
          NULL);
    CHECK(strstr(a.body, "mmapd_mappings 1\n") != NULL);
    expect(&a, 200, NULL);
    env_close(&e);
}

/* Pieces copied out in order, across empty and short pieces; an earlier
 * position restarts the walk; past the end is 0. */
TEST(iov_copy_walks_pieces)
{
    const struct api_iov iov[] = {
        {"abc", 3}, {"", 0}, {"defg", 4}, {"h", 1}};
    struct api_iov_cursor cur = {0};
    char buf[16];

    CHECK_EQ_U64(api_iov_copy(iov, 4, &cur, 0, buf, 5), 5);
    CHECK_MEM(buf, "abcde", 5);
    CHECK_EQ_U64(api_iov_copy(iov, 4, &cur, 5, buf, sizeof(buf)), 3);
    CHECK_MEM(buf, "fgh", 3);
    CHECK_EQ_U64(api_iov_copy(iov, 4, &cur, 8, buf, sizeof(buf)), 0);
    CHECK_EQ_U64(api_iov_copy(iov, 4, &cur, 2, buf, 3), 3);
    CHECK_MEM(buf, "cde", 3);
    CHECK_EQ_U64(api_iov_copy(iov, 0, &cur, 0, buf, 3), 0);
}

/* GET the whole of `name` (size bytes), read one block of the streamed
 * body, shrink and regrow the mapping, and require the next block to fail:
 * the server then cuts the connection before Content-Length. */
static void expect_cut_by_resize(struct env *e, const char *name,
                                 const char *path, uint64_t size)
{
    struct fake none = {0};
    struct api_request req = {.method = API_METHOD_GET,
                              .path = path,
                              .header = fake_header,
                              .query = fake_query,
                              .conn = &none};
    struct api_exchange *ex = api_exchange_start(e->api, &req);
    struct mc_mapping *m = NULL;
    struct api_body b;
    char buf[4096];

    CHECK(ex != NULL);
    api_exchange_end(ex);
    CHECK_EQ_U64(api_exchange_response(ex)->status, 200);
    api_response_take_body(ex, &b);
    CHECK(b.kind == API_BODY_READER);
    CHECK_EQ_U64(b.length, size);
    CHECK_EQ_U64(b.read(b.cls, 0, buf, sizeof(buf)), sizeof(buf));
    CHECK(mc_catalog_get(e->cat, name, &m) == MC_OK);
    CHECK(mc_mapping_resize(m, size / 3) == MC_OK);
    CHECK(mc_mapping_resize(m, size) == MC_OK);
    mc_mapping_unref(m);
    CHECK(b.read(b.cls, sizeof(buf), buf, sizeof(buf)) == -1);
    b.release(b.cls);
    api_exchange_free(ex, true);
}

/* Both streamed kinds: pinned views (3 MiB under a 16 MiB pin limit) and
 * the reader (over a 1 MiB pin limit). */
TEST(streamed_bodies_stop_after_resize)
{
    struct env e;
    long page = sysconf(_SC_PAGESIZE);
    size_t size = 3 << 20;
    char json[64];

    snprintf(json, sizeof(json), "{\"size\":%zu}", size);
    env_open(&e, (uint64_t)page, 64 << 20);
    create(&e, "big", json);
    fill(&e, "big", size);
    expect_cut_by_resize(&e, "big", "/v1/maps/big/data", size);
    env_close(&e);

    env_open(&e, (uint64_t)page, 4 << 20); /* pin limit: 1 MiB */
    create(&e, "big", json);
    fill(&e, "big", size);
    expect_cut_by_resize(&e, "big", "/v1/maps/big/data", size);
    env_close(&e);
}

/* The hand-written ETag is what "\"%08x-%llx-%llx\"" gives, and our own
 * parser reads it back, at the edges of each field. */
TEST(etag_format)
{
    static const uint64_t v[] = {0, 1, 0xf, 0x10, 0xabcdef, 0xffffffffu,
                                 0x100000000u, UINT64_MAX - 1, UINT64_MAX};
    static const uint32_t nonce[] = {0, 0x00c0ffeeu, 0xffffffffu};
    struct api a;
    char got[API_ETAG_MAX], want[64];
    struct api_etag t;

    memset(&a, 0, sizeof(a));
    for (size_t k = 0; k < sizeof(nonce) / sizeof(nonce[0]); k++) {
        a.boot_nonce = nonce[k];
        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
            for (size_t j = 0; j < sizeof(v) / sizeof(v[0]); j++) {
                api__etag(&a, v[i], v[j], got);
                snprintf(want, sizeof(want),
                         "\"%08" PRIx32 "-%" PRIx64 "-%" PRIx64 "\"",
                         nonce[k], v[i], v[j]);
                CHECK_EQ_STR(got, want);
                CHECK(api_etag_parse(got, strlen(got), nonce[k], &t));
                CHECK_EQ_U64(t.id, v[i]);
                CHECK_EQ_U64(t.gen, v[j]);
            }
        }
    }
}

TEST_MAIN()
