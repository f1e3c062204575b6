/* test_atomic.c - no reader ever sees half of an atomic write.
 *
 * Writers overwrite overlapping ranges of one mapping with uniform bodies
 * (every byte of a body is the same value, a new value per write), while
 * readers read. Every write covers the same "core" window, whatever else it
 * covers, so after any sequence of complete writes the core holds a single
 * value: a reader that finds two values inside the core has seen a torn
 * write. Writes reach up to 1 MiB (the default atomic-write limit) and cross
 * many 64 KiB views; reads and writes cross view boundaries at odd offsets.
 *
 * Two levels are checked: the core's mc_mapping_writev/readv (several ranges
 * at once must be all-or-nothing too), and the REST handlers driven without
 * a socket (PUT and PATCH bodies buffered and applied at once; GET answers
 * single ranges, multipart ranges and ?offset windows as snapshots). The
 * cases are bounded in time and are meant to run under TSan as well (label
 * unit).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "check.h"
#include "mapcore/mc_catalog.h"

#define VIEW (64u << 10)
#define MAP_SIZE ((3u << 20) / 2)   /* 1.5 MiB */
#define CORE_FIRST (640u << 10)     /* the window every write covers */
#define CORE_END ((768u << 10) + 77) /* odd: crosses views unaligned */
#define WRITE_MAX (1u << 20)
#define WRITERS 3
#define READERS 3
#define RUN_MS 1500

struct env {
    char dir[64];
    struct mc_catalog *cat;
    struct api *api;
    struct mc_mapping *m;
    atomic_bool stop;
    atomic_uint value; /* the next body value */
    atomic_uint torn;  /* reads that saw two values in the core */
    atomic_uint errors;
    atomic_ulong reads;
    atomic_ulong writes;
};

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void env_open(struct env *e)
{
    struct mc_catalog_options opt = {0};
    struct api_config cfg = {0};
    struct mc_spec spec = {0};
    bool created;

    memset(e, 0, sizeof(*e));
    snprintf(e->dir, sizeof(e->dir), "/tmp/mmapd-test-atomic-XXXXXX");
    CHECK(mkdtemp(e->dir) != NULL);
    opt.data_dir = e->dir;
    opt.view_size = VIEW;
    opt.cache_bytes = 64u << 20;
    CHECK(mc_catalog_open(&opt, &e->cat) == MC_OK);
    cfg.catalog = e->cat;
    cfg.max_body = 64u << 20;
    cfg.max_ranges = 8;
    cfg.version = "test";
    CHECK(api_create(&cfg, &e->api) == 0);
    spec.given = MC_SPEC_SIZE;
    spec.size = MAP_SIZE;
    CHECK(mc_catalog_create(e->cat, "a", &spec, false, &e->m, &created) ==
          MC_OK);
    atomic_store(&e->value, 1);
}

static void env_close(struct env *e)
{
    char cmd[128];

    mc_mapping_unref(e->m);
    api_destroy(e->api);
    mc_catalog_close(e->cat);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
    CHECK(system(cmd) == 0);
}

/* A write window [*off, *off + *len) that covers the core, at most
 * WRITE_MAX bytes. */
static void pick_write(unsigned *seed, uint64_t *off, uint64_t *len)
{
    uint64_t slack = WRITE_MAX - (CORE_END - CORE_FIRST);
    uint64_t before = (uint64_t)rand_r(seed) % (slack + 1);
    uint64_t after = (uint64_t)rand_r(seed) % (slack - before + 1);

    if (before > CORE_FIRST)
        before = CORE_FIRST;
    if (after > MAP_SIZE - CORE_END)
        after = MAP_SIZE - CORE_END;
    *off = CORE_FIRST - before;
    *len = CORE_END + after - *off;
}

/* A read window inside the core. */
static void pick_read(unsigned *seed, uint64_t *off, uint64_t *len)
{
    uint64_t a = CORE_FIRST + (uint64_t)rand_r(seed) % (CORE_END - CORE_FIRST);
    uint64_t b = CORE_FIRST + (uint64_t)rand_r(seed) % (CORE_END - CORE_FIRST);

    if (a > b) {
        uint64_t t = a;
        a = b;
        b = t;
    }
    *off = a;
    *len = b - a + 1;
}

static bool uniform(const unsigned char *p, size_t n, unsigned char v)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != v)
            return false;
    }
    return true;
}

/* ---- the core ----------------------------------------------------------- */

/* Writes the core in two ranges of one writev (split at a random point), so
 * a reader that saw one range new and the other old would catch a writev
 * that is not all-or-nothing. */
static void *core_writer(void *arg)
{
    struct env *e = arg;
    unsigned seed = (unsigned)(uintptr_t)pthread_self();
    unsigned char *buf = malloc(WRITE_MAX);

    CHECK(buf != NULL);
    while (!atomic_load(&e->stop)) {
        uint64_t off, len;
        unsigned char v = (unsigned char)atomic_fetch_add(&e->value, 1);

        pick_write(&seed, &off, &len);
        memset(buf, v, (size_t)len);
        uint64_t cut = 1 + (uint64_t)rand_r(&seed) % (len - 1);
        struct mc_range r[2] = {{off, cut}, {off + cut, len - cut}};
        const void *src[2] = {buf, buf + cut};
        if (mc_mapping_writev(e->m, r, 2, src) != MC_OK)
            atomic_fetch_add(&e->errors, 1);
        atomic_fetch_add(&e->writes, 1);
    }
    free(buf);
    return NULL;
}

static void *core_reader(void *arg)
{
    struct env *e = arg;
    unsigned seed = (unsigned)(uintptr_t)pthread_self() ^ 0x5a5a;
    unsigned char *a = malloc(CORE_END - CORE_FIRST);
    unsigned char *b = malloc(CORE_END - CORE_FIRST);

    CHECK(a != NULL && b != NULL);
    while (!atomic_load(&e->stop)) {
        uint64_t o1, l1, o2, l2;

        pick_read(&seed, &o1, &l1);
        pick_read(&seed, &o2, &l2);
        struct mc_range r[2] = {{o1, l1}, {o2, l2}};
        void *dst[2] = {a, b};
        if (mc_mapping_readv(e->m, r, 2, dst) != MC_OK) {
            atomic_fetch_add(&e->errors, 1);
            continue;
        }
        if (!uniform(a, (size_t)l1, a[0]) || !uniform(b, (size_t)l2, a[0]))
            atomic_fetch_add(&e->torn, 1);
        atomic_fetch_add(&e->reads, 1);
    }
    free(a);
    free(b);
    return NULL;
}

static void run_threads(struct env *e, void *(*writer)(void *),
                        void *(*reader)(void *))
{
    pthread_t w[WRITERS], r[READERS];
    uint64_t start = now_ms();

    for (int i = 0; i < WRITERS; i++)
        CHECK(pthread_create(&w[i], NULL, writer, e) == 0);
    for (int i = 0; i < READERS; i++)
        CHECK(pthread_create(&r[i], NULL, reader, e) == 0);
    /* Bounded in time rather than in iterations, so the case takes about
     * as long under TSan as without it, only with fewer rounds. */
    while (now_ms() - start < RUN_MS)
        usleep(10000);
    atomic_store(&e->stop, true);
    for (int i = 0; i < WRITERS; i++)
        CHECK(pthread_join(w[i], NULL) == 0);
    for (int i = 0; i < READERS; i++)
        CHECK(pthread_join(r[i], NULL) == 0);
    fprintf(stderr, "%lu writes, %lu reads\n", atomic_load(&e->writes),
            atomic_load(&e->reads));
    CHECK_EQ_U64(atomic_load(&e->errors), 0);
    CHECK_EQ_U64(atomic_load(&e->torn), 0);
    CHECK(atomic_load(&e->writes) > 0);
    CHECK(atomic_load(&e->reads) > 0);
}

TEST(core_writev_readv_never_torn)
{
    struct env e;

    env_open(&e);
    run_threads(&e, core_writer, core_reader);
    env_close(&e);
}

/* ---- the REST handlers --------------------------------------------------- */

struct fake {
    const char *hdr[4][2];
    const char *qry[2][2];
};

static const char *fake_header(void *conn, const char *name)
{
    struct fake *f = conn;

    for (int i = 0; i < 4 && f->hdr[i][0] != NULL; i++) {
        if (strcasecmp(f->hdr[i][0], name) == 0)
            return f->hdr[i][1];
    }
    return NULL;
}

static const char *fake_query(void *conn, const char *key)
{
    struct fake *f = conn;

    for (int i = 0; i < 2 && f->qry[i][0] != NULL; i++) {
        if (strcmp(f->qry[i][0], key) == 0)
            return f->qry[i][1];
    }
    return NULL;
}

/* Run one exchange; the body (if any) goes in 64 KiB chunks, as a socket
 * would deliver it. Returns the status; *out (may be NULL) gets a malloc'ed
 * copy of the response body, *out_len its length, and ctype its type. */
static unsigned exchange(struct env *e, const char *method, struct fake *f,
                         const void *body, size_t blen, char **out,
                         size_t *out_len, char *ctype, size_t ctype_len)
{
    struct api_request req = {0};
    struct api_exchange *ex;
    struct api_response *resp;
    struct api_body b;
    unsigned status;
    char *data = NULL;
    size_t len = 0;

    req.method = api_method_parse(method);
    req.path = "/v1/maps/a/data";
    req.header = fake_header;
    req.query = fake_query;
    req.conn = f;
    ex = api_exchange_start(e->api, &req);
    CHECK(ex != NULL);
    for (size_t off = 0; off < blen && api_exchange_wants_body(ex);) {
        size_t n = blen - off < 65536 ? blen - off : 65536;

        api_exchange_body(ex, (const char *)body + off, n);
        off += n;
    }
    api_exchange_end(ex);
    resp = api_exchange_response(ex);
    CHECK(resp != NULL);
    status = resp->status;
    if (ctype != NULL)
        snprintf(ctype, ctype_len, "%s",
                 resp->content_type ? resp->content_type : "");
    api_response_take_body(ex, &b);
    data = malloc(b.length + 1);
    CHECK(data != NULL);
    if (b.kind == API_BODY_IOV) {
        for (unsigned i = 0; i < b.iovcnt; i++) {
            memcpy(data + len, b.iov[i].base, b.iov[i].len);
            len += b.iov[i].len;
        }
    } else if (b.kind == API_BODY_READER) {
        while (len < b.length) {
            ssize_t n = b.read(b.cls, len, data + len, b.length - len);

            CHECK(n > 0);
            len += (size_t)n;
        }
    }
    if (b.release != NULL)
        b.release(b.cls);
    for (unsigned i = 0; i < resp->nheaders && ctype != NULL; i++) {
        /* A multipart answer names its type in a header. */
        if (strcasecmp(resp->headers[i].name, "Content-Type") == 0)
            snprintf(ctype, ctype_len, "%s", resp->headers[i].value);
    }
    api_exchange_free(ex, true);
    data[len] = '\0';
    if (out != NULL) {
        *out = data;
        *out_len = len;
    } else {
        free(data);
    }
    return status;
}

/* Alternates PUT with Content-Range and PATCH with message/byterange. */
static void *api_writer(void *arg)
{
    struct env *e = arg;
    unsigned seed = (unsigned)(uintptr_t)pthread_self();
    unsigned char *buf = malloc(WRITE_MAX + 256);
    unsigned round = 0;

    CHECK(buf != NULL);
    while (!atomic_load(&e->stop)) {
        uint64_t off, len;
        unsigned char v = (unsigned char)atomic_fetch_add(&e->value, 1);
        char cr[96];
        struct fake f = {0};
        unsigned status;

        pick_write(&seed, &off, &len);
        snprintf(cr, sizeof(cr), "bytes %llu-%llu/*", (unsigned long long)off,
                 (unsigned long long)(off + len - 1));
        if (round++ % 2 == 0) {
            memset(buf, v, (size_t)len);
            f.hdr[0][0] = "Content-Range";
            f.hdr[0][1] = cr;
            status = exchange(e, "PUT", &f, buf, (size_t)len, NULL, NULL,
                              NULL, 0);
        } else {
            int h = snprintf((char *)buf, 256, "Content-Range: %s\r\n\r\n",
                             cr);
            memset(buf + h, v, (size_t)len);
            f.hdr[0][0] = "Content-Type";
            f.hdr[0][1] = "message/byterange";
            status = exchange(e, "PATCH", &f, buf, (size_t)len + (size_t)h,
                              NULL, NULL, NULL, 0);
        }
        if (status != 204)
            atomic_fetch_add(&e->errors, 1);
        atomic_fetch_add(&e->writes, 1);
    }
    free(buf);
    return NULL;
}

/* Checks that every byte of a multipart/byteranges body's parts equals v;
 * the part headers are skipped by finding each blank line. */
static bool multipart_uniform(const char *body, size_t len, unsigned char *v,
                              unsigned parts)
{
    const char *p = body;
    const char *end = body + len;
    bool first = true;

    for (unsigned i = 0; i < parts; i++) {
        const char *h = strstr(p, "Content-Range: bytes ");
        unsigned long long a, b;
        const char *data;

        if (h == NULL || sscanf(h, "Content-Range: bytes %llu-%llu", &a, &b) != 2)
            return false;
        data = strstr(h, "\r\n\r\n");
        if (data == NULL)
            return false;
        data += 4;
        if (data + (b - a + 1) > end)
            return false;
        if (first)
            *v = (unsigned char)data[0];
        first = false;
        if (!uniform((const unsigned char *)data, (size_t)(b - a + 1), *v))
            return false;
        p = data + (b - a + 1);
    }
    return true;
}

static void *api_reader(void *arg)
{
    struct env *e = arg;
    unsigned seed = (unsigned)(uintptr_t)pthread_self() ^ 0xa5a5;
    unsigned round = 0;

    while (!atomic_load(&e->stop)) {
        uint64_t o1, l1, o2, l2;
        char range[128], qo[32], ql[32], ctype[128];
        struct fake f = {0};
        char *body = NULL;
        size_t len = 0;
        unsigned status;
        bool ok;

        pick_read(&seed, &o1, &l1);
        pick_read(&seed, &o2, &l2);
        switch (round++ % 3) {
        case 0: /* one range */
            snprintf(range, sizeof(range), "bytes=%llu-%llu",
                     (unsigned long long)o1,
                     (unsigned long long)(o1 + l1 - 1));
            f.hdr[0][0] = "Range";
            f.hdr[0][1] = range;
            status = exchange(e, "GET", &f, NULL, 0, &body, &len, ctype,
                              sizeof(ctype));
            ok = status == 206 && len == l1 &&
                 uniform((unsigned char *)body, len, (unsigned char)body[0]);
            break;
        case 1: { /* two disjoint ranges: a multipart answer */
            unsigned char v;
            uint64_t mid = CORE_FIRST + (CORE_END - CORE_FIRST) / 2;

            snprintf(range, sizeof(range), "bytes=%llu-%llu,%llu-%llu",
                     (unsigned long long)CORE_FIRST,
                     (unsigned long long)(CORE_FIRST + o1 % 1000),
                     (unsigned long long)(mid + o2 % 1000),
                     (unsigned long long)(CORE_END - 1));
            f.hdr[0][0] = "Range";
            f.hdr[0][1] = range;
            status = exchange(e, "GET", &f, NULL, 0, &body, &len, ctype,
                              sizeof(ctype));
            ok = status == 206 &&
                 strncmp(ctype, "multipart/byteranges", 20) == 0 &&
                 multipart_uniform(body, len, &v, 2);
            break;
        }
        default: /* the query form */
            snprintf(qo, sizeof(qo), "%llu", (unsigned long long)o1);
            snprintf(ql, sizeof(ql), "%llu", (unsigned long long)l1);
            f.qry[0][0] = "offset";
            f.qry[0][1] = qo;
            f.qry[1][0] = "length";
            f.qry[1][1] = ql;
            status = exchange(e, "GET", &f, NULL, 0, &body, &len, ctype,
                              sizeof(ctype));
            ok = status == 200 && len == l1 &&
                 uniform((unsigned char *)body, len, (unsigned char)body[0]);
            break;
        }
        if (!ok) {
            fprintf(stderr, "torn or wrong answer: status %u, %zu bytes\n",
                    status, len);
            atomic_fetch_add(&e->torn, 1);
        }
        free(body);
        atomic_fetch_add(&e->reads, 1);
    }
    return NULL;
}

TEST(api_put_patch_get_never_torn)
{
    struct env e;

    env_open(&e);
    run_threads(&e, api_writer, api_reader);
    env_close(&e);
}

TEST_MAIN()
