/* test_atomics.c - POST /v1/maps/{name}/atomic through the real server.
 *
 * Proves each operation's answer and ETag rule, every refusal (and that it
 * changes nothing), the scopes of a token, and, with threads, the three
 * promises of README "Shared counters and locks": 8 clients x 500 adds
 * give the exact total with every old value seen once; a program adding
 * with __atomic_fetch_add through its own mapping of the same file while
 * HTTP clients add loses no update on either side; a GET reading 8-byte
 * words while clients store into them never sees half of a store.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "itest.h"

#define JSON_HDR ((const char *const[]){"Content-Type: application/json", NULL})

static void start(struct itest_server *s)
{
    CHECK(curl_global_init(CURL_GLOBAL_ALL) == CURLE_OK);
    itest_start(s, NULL);
}

/* POST body to name's /atomic with extra headers; *r to free. */
static void post(const struct itest_server *s, const char *name,
                 const char *const headers[], const char *body,
                 struct itest_resp *r)
{
    char path[160];

    snprintf(path, sizeof path, "/v1/maps/%s/atomic", name);
    itest_request(s, "POST", path, headers, body, strlen(body), r);
}

/* One operation that must answer 200; returns results[0].old and puts
 * .new in *new_out (may be NULL). */
static long long op_ok(const struct itest_server *s, const char *name,
                       const char *body, long long *new_out)
{
    struct itest_resp r;
    json_t *j;
    json_t *res;
    long long old;

    post(s, name, NULL, body, &r);
    if (r.status != 200)
        TEST_FAIL("%s: status %ld: %s", body, r.status, r.body);
    j = itest_json(&r);
    res = json_array_get(json_object_get(j, "results"), 0);
    CHECK(res != NULL);
    old = json_integer_value(json_object_get(res, "old"));
    if (new_out != NULL)
        *new_out = json_integer_value(json_object_get(res, "new"));
    json_decref(j);
    itest_resp_free(&r);
    return old;
}

static long long load8(const struct itest_server *s, const char *name,
                       uint64_t off)
{
    char body[96];

    snprintf(body, sizeof body,
             "{\"op\": \"load\", \"offset\": %llu, \"width\": 8}",
             (unsigned long long)off);
    return op_ok(s, name, body, NULL);
}

TEST(each_op_answers_old_and_new_and_moves_the_etag)
{
    struct itest_server s = {0};
    struct {
        const char *body;
        long long old, new;
    } steps[] = {
        {"{\"op\": \"store\", \"offset\": 8, \"width\": 8, \"value\": 40}", 0,
         40},
        {"{\"op\": \"add\", \"offset\": 8, \"width\": 8, \"value\": 2}", 40,
         42},
        {"{\"op\": \"swap\", \"offset\": 8, \"width\": 8, \"value\": -1}", 42,
         -1},
        {"{\"op\": \"and\", \"offset\": 8, \"width\": 8, \"value\": 12}", -1,
         12},
        {"{\"op\": \"or\", \"offset\": 8, \"width\": 8, \"value\": 3}", 12, 15},
        {"{\"op\": \"xor\", \"offset\": 8, \"width\": 8, \"value\": 5}", 15,
         10},
        {"{\"op\": \"cas\", \"offset\": 8, \"width\": 8, \"expected\": 10, "
         "\"value\": 7}",
         10, 7},
        {"{\"op\": \"add\", \"offset\": 4, \"width\": 4, \"value\": "
         "2147483647}",
         0, 2147483647},
        /* Wraps in the word's own width. */
        {"{\"op\": \"add\", \"offset\": 4, \"width\": 4, \"value\": 1, "
         "\"overflow\": \"wrap\"}",
         2147483647, -2147483648LL},
    };
    char before[128], after[128], hdr[128];
    struct itest_resp r;

    start(&s);
    itest_create(&s, "w", "{\"backing\": \"memory\", \"size\": 4096}");
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        long long new = 0;
        long long old;

        itest_etag(&s, "w", before, sizeof before);
        old = op_ok(&s, "w", steps[i].body, &new);
        if (old != steps[i].old || new != steps[i].new)
            TEST_FAIL("%s: old %lld new %lld", steps[i].body, old, new);
        itest_etag(&s, "w", after, sizeof after);
        CHECK(strcmp(before, after) != 0);
    }
    /* The bytes are little-endian: 7 at offset 8. */
    itest_request(&s, "GET", "/v1/maps/w/data?offset=8&length=8", NULL, NULL, 0,
                  &r);
    CHECK(r.status == 200 && r.len == 8);
    CHECK_MEM(r.body, "\x07\0\0\0\0\0\0\0", 8);
    itest_resp_free(&r);

    /* A load leaves the ETag, and answers it in the header and the body. */
    itest_etag(&s, "w", before, sizeof before);
    post(&s, "w", NULL, "{\"op\": \"load\", \"offset\": 8, \"width\": 8}", &r);
    CHECK(r.status == 200);
    CHECK(itest_header(&r, "ETag", hdr, sizeof hdr) != NULL);
    CHECK_EQ_STR(hdr, before);
    {
        json_t *j = itest_json(&r);

        CHECK_EQ_STR(json_string_value(json_object_get(j, "etag")), before);
        json_decref(j);
    }
    itest_resp_free(&r);
    itest_etag(&s, "w", after, sizeof after);
    CHECK_EQ_STR(before, after);

    /* A batch: in order, each seeing the one before; one ETag step. */
    post(&s, "w", JSON_HDR,
         "{\"ops\": [{\"op\": \"store\", \"offset\": 16, \"width\": 8, "
         "\"value\": 1}, {\"op\": \"add\", \"offset\": 16, \"width\": 8, "
         "\"value\": 1}, {\"op\": \"cas\", \"offset\": 16, \"width\": 8, "
         "\"expected\": 2, \"value\": 3}, {\"op\": \"load\", \"offset\": 8, "
         "\"width\": 8}]}",
         &r);
    CHECK(r.status == 200);
    {
        json_t *j = itest_json(&r);
        json_t *res = json_object_get(j, "results");
        static const long long want[4][2] = {{0, 1}, {1, 2}, {2, 3}, {7, 7}};

        CHECK(json_array_size(res) == 4);
        for (size_t i = 0; i < 4; i++) {
            json_t *e = json_array_get(res, i);

            CHECK(json_integer_value(json_object_get(e, "old")) == want[i][0]);
            CHECK(json_integer_value(json_object_get(e, "new")) == want[i][1]);
        }
        json_decref(j);
    }
    CHECK(itest_header(&r, "ETag", hdr, sizeof hdr) != NULL);
    itest_resp_free(&r);
    itest_etag(&s, "w", after, sizeof after);
    CHECK_EQ_STR(hdr, after);
    itest_cleanup(&s);
}

/* The problem of a refused request; *j the body (new reference). */
static json_t *refused(const struct itest_server *s, const char *name,
                       const char *const headers[], const char *body,
                       long status, const char *code)
{
    struct itest_resp r;
    json_t *j;

    post(s, name, headers, body, &r);
    itest_expect_problem(&r, status, code);
    j = itest_json(&r);
    itest_resp_free(&r);
    return j;
}

TEST(refusals_change_nothing)
{
    struct itest_server s = {0};
    static const struct {
        const char *body;
        long status;
        const char *code;
    } bad[] = {
        {"{\"op\": \"store\", \"offset\": 4, \"width\": 8, \"value\": 1}", 400,
         "misaligned"},
        {"{\"ops\": [{\"op\": \"store\", \"offset\": 0, \"width\": 8, "
         "\"value\": 9}, {\"op\": \"add\", \"offset\": 6, \"width\": 4, "
         "\"value\": 1}]}",
         400, "misaligned"},
        {"{\"op\": \"store\", \"offset\": 4096, \"width\": 8, \"value\": 1}",
         416, "range_not_satisfiable"},
        {"{\"ops\": [{\"op\": \"store\", \"offset\": 0, \"width\": 8, "
         "\"value\": 9}, {\"op\": \"store\", \"offset\": 4092, \"width\": 8, "
         "\"value\": 1}]}",
         400, "misaligned"},
        {"{\"ops\": [{\"op\": \"store\", \"offset\": 0, \"width\": 8, "
         "\"value\": 9}, {\"op\": \"store\", \"offset\": 8192, \"width\": 8, "
         "\"value\": 1}]}",
         416, "range_not_satisfiable"},
        {"{\"op\": \"store\", \"offset\": 0, \"width\": 3, \"value\": 1}", 400,
         "invalid_field"},
        {"{\"op\": \"store\", \"offset\": 0, \"width\": 4, \"value\": "
         "2147483648}",
         400, "invalid_field"},
        {"{\"op\": \"inc\", \"offset\": 0, \"width\": 8, \"value\": 1}", 400,
         "invalid_field"},
        {"{\"op\": \"store\", \"offset\": 0, \"width\": 8}", 400,
         "invalid_field"},
        {"{\"op\": \"load\", \"offset\": 0, \"width\": 8, \"value\": 1}", 400,
         "invalid_field"},
        {"{\"op\": \"cas\", \"offset\": 0, \"width\": 8, \"value\": 1}", 400,
         "invalid_field"},
        {"{\"op\": \"store\", \"offset\": 0, \"width\": 8, \"value\": 1, "
         "\"expected\": 0}",
         400, "invalid_field"},
        {"{\"op\": \"store\", \"offset\": 0, \"width\": 8, \"value\": 1, "
         "\"overflow\": \"fail\"}",
         400, "invalid_field"},
        {"{\"op\": \"add\", \"offset\": 0, \"width\": 8, \"value\": 1, "
         "\"overflow\": \"saturate\"}",
         400, "invalid_field"},
        {"{\"op\": \"add\", \"offset\": 0, \"width\": 8, \"value\": 1.0}", 400,
         "invalid_field"},
        {"{\"op\": \"add\", \"offset\": -8, \"width\": 8, \"value\": 1}", 400,
         "invalid_field"},
        {"{\"op\": \"add\", \"offset\": 0, \"width\": 8, \"value\": 1, "
         "\"sise\": 1}",
         400, "invalid_field"},
        {"{\"op\": \"add\", \"op\": \"store\", \"offset\": 0, \"width\": 8, "
         "\"value\": 1}",
         400, "invalid_json"},
        {"{\"ops\": []}", 400, "invalid_field"},
        {"{\"ops\": [], \"op\": \"load\"}", 400, "invalid_field"},
        {"{\"ops\": [{\"op\": \"store\", \"offset\": 0, \"width\": 8, "
         "\"value\": 9}, {\"op\": \"store\", \"offset\": 4, \"width\": 4, "
         "\"value\": 1}]}",
         400, "invalid_field"},
        {"[1, 2]", 400, "invalid_json"},
        {"{\"op\": ", 400, "invalid_json"},
        {"", 400, "invalid_json"},
    };
    char etag[128], now[128], hdr[160];
    json_t *j;

    start(&s);
    itest_create(&s, "w", "{\"backing\": \"memory\", \"size\": 4096}");
    op_ok(&s, "w",
          "{\"op\": \"store\", \"offset\": 0, \"width\": 8, "
          "\"value\": 5}",
          NULL);
    itest_etag(&s, "w", etag, sizeof etag);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct itest_resp r;

        post(&s, "w", NULL, bad[i].body, &r);
        if (r.status != bad[i].status)
            TEST_FAIL("%s: status %ld (%s)", bad[i].body, r.status, r.body);
        itest_expect_problem(&r, bad[i].status, bad[i].code);
        itest_resp_free(&r);
    }
    /* 65 operations are one too many. */
    {
        char big[8192];
        size_t used = (size_t)snprintf(big, sizeof big, "{\"ops\": [");

        for (int i = 0; i < 65; i++)
            used += (size_t)snprintf(big + used, sizeof big - used,
                                     "%s{\"op\": \"load\", \"offset\": %d, "
                                     "\"width\": 8}",
                                     i ? ", " : "", 8 * i);
        snprintf(big + used, sizeof big - used, "]}");
        json_decref(refused(&s, "w", NULL, big, 400, "invalid_field"));
    }

    /* A cas that the batch's own store makes fail, and a checked add that
     * overflows: 409, nothing applied, the current words and the index. */
    j = refused(&s, "w", NULL,
                "{\"ops\": [{\"op\": \"store\", \"offset\": 0, \"width\": 8, "
                "\"value\": 6}, {\"op\": \"store\", \"offset\": 16, "
                "\"width\": 4, \"value\": 1}, {\"op\": \"cas\", \"offset\": "
                "0, \"width\": 8, \"expected\": 5, \"value\": 7}]}",
                409, "cas_failed");
    CHECK(json_integer_value(json_object_get(j, "index")) == 2);
    {
        json_t *cur = json_object_get(j, "current");

        CHECK(json_array_size(cur) == 3);
        CHECK(json_integer_value(json_array_get(cur, 0)) == 5);
        CHECK(json_integer_value(json_array_get(cur, 1)) == 0);
        CHECK(json_integer_value(json_array_get(cur, 2)) == 5);
    }
    json_decref(j);
    j = refused(&s, "w", NULL,
                "{\"op\": \"add\", \"offset\": 0, \"width\": 8, \"value\": "
                "9223372036854775807, \"overflow\": \"fail\"}",
                409, "overflow");
    CHECK(json_integer_value(json_object_get(j, "index")) == 0);
    json_decref(j);

    /* If-Match: a stale tag is 412 with the current ETag, the current
     * tag lets the operation through. */
    json_decref(refused(&s, "w",
                        (const char *const[]){"If-Match: \"0-0-0\"", NULL},
                        "{\"op\": \"add\", \"offset\": 0, \"width\": 8, "
                        "\"value\": 1}",
                        412, "precondition_failed"));
    json_decref(refused(&s, "nope", NULL,
                        "{\"op\": \"load\", \"offset\": 0, \"width\": 8}", 404,
                        "not_found"));
    itest_etag(&s, "w", now, sizeof now);
    CHECK_EQ_STR(now, etag);
    CHECK(load8(&s, "w", 0) == 5);
    CHECK(load8(&s, "w", 16) == 0);
    snprintf(hdr, sizeof hdr, "If-Match: %s", etag);
    {
        struct itest_resp r;

        post(&s, "w", (const char *const[]){hdr, NULL},
             "{\"op\": \"add\", \"offset\": 0, \"width\": 8, \"value\": 1}",
             &r);
        CHECK(r.status == 200);
        itest_resp_free(&r);
    }
    CHECK(load8(&s, "w", 0) == 6);
    itest_cleanup(&s);
}

TEST(readonly_mappings_load_only)
{
    struct itest_server s = {0};

    start(&s);
    itest_create(&s, "base", "{\"size\": 4096}");
    op_ok(&s, "base",
          "{\"op\": \"store\", \"offset\": 0, \"width\": 8, \"value\": 3}",
          NULL);
    itest_create(&s, "ro",
                 "{\"file\": \"base\", \"protection\": \"readonly\"}");
    CHECK(load8(&s, "ro", 0) == 3);
    json_decref(refused(&s, "ro", NULL,
                        "{\"op\": \"add\", \"offset\": 0, \"width\": 8, "
                        "\"value\": 1}",
                        403, "read_only"));
    CHECK(load8(&s, "base", 0) == 3);
    itest_cleanup(&s);
}

TEST(a_load_needs_read_and_the_rest_write)
{
    struct itest_server s = {0};
    char dir[64], file[128];
    static const char add[] =
        "{\"op\": \"add\", \"offset\": 0, \"width\": 8, \"value\": 1}";
    static const char load[] =
        "{\"op\": \"load\", \"offset\": 0, \"width\": 8}";
    struct itest_resp r;
    FILE *f;

    snprintf(dir, sizeof dir, "/tmp/mmapd-it-atok-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(file, sizeof file, "%s/tokens.json", dir);
    f = fopen(file, "w");
    CHECK(f != NULL);
    fputs("{\"tokens\": [\n"
          " {\"token\": \"root\", \"read\": [\"*\"], \"write\": [\"*\"], "
          "\"admin\": true},\n"
          " {\"token\": \"reader\", \"read\": [\"*\"]},\n"
          " {\"token\": \"writer\", \"write\": [\"*\"]},\n"
          " {\"token\": \"other\", \"read\": [\"x-\"], \"write\": [\"x-\"]}\n"
          "]}\n",
          f);
    fclose(f);
    CHECK(chmod(file, 0600) == 0);
    CHECK(curl_global_init(CURL_GLOBAL_ALL) == CURLE_OK);
    itest_start(&s, (const char *const[]){"--token-file", file, NULL});
    itest_request(&s, "PUT", "/v1/maps/c",
                  (const char *const[]){"Authorization: Bearer root", NULL},
                  "{\"backing\": \"memory\", \"size\": 64}",
                  strlen("{\"backing\": \"memory\", \"size\": 64}"), &r);
    CHECK(r.status == 201);
    itest_resp_free(&r);

#define AS(tok) ((const char *const[]){"Authorization: Bearer " tok, NULL})
    post(&s, "c", AS("reader"), load, &r);
    CHECK(r.status == 200);
    itest_resp_free(&r);
    json_decref(refused(&s, "c", AS("reader"), add, 403, "forbidden"));
    post(&s, "c", AS("writer"), add, &r);
    CHECK(r.status == 200);
    itest_resp_free(&r);
    json_decref(refused(&s, "c", AS("writer"), load, 403, "forbidden"));
    json_decref(refused(&s, "c", AS("other"), load, 403, "forbidden"));
    json_decref(refused(&s, "c", NULL, load, 401, "unauthorized"));
    post(&s, "c", AS("root"), load, &r);
    CHECK(r.status == 200 && strstr(r.body, "\"old\":1") != NULL);
    itest_resp_free(&r);
#undef AS
    itest_cleanup(&s);
    unlink(file);
    rmdir(dir);
}

/* ---- clients at once ---------------------------------------------------- */

#define CLIENTS 8
#define ADDS 500

struct adder {
    const struct itest_server *s;
    const char *name;
    int n;
    long long *olds; /* n old values, or NULL */
    atomic_int *failures;
};

static void *adder_main(void *arg)
{
    struct adder *a = arg;

    for (int i = 0; i < a->n; i++) {
        struct itest_resp r;
        char path[96];
        static const char body[] =
            "{\"op\": \"add\", \"offset\": 0, \"width\": 8, \"value\": 1}";

        snprintf(path, sizeof path, "/v1/maps/%s/atomic", a->name);
        itest_request(a->s, "POST", path, NULL, body, sizeof body - 1, &r);
        if (r.status != 200) {
            atomic_fetch_add(a->failures, 1);
        } else if (a->olds != NULL) {
            const char *p = strstr(r.body, "\"old\":");

            a->olds[i] = p != NULL ? strtoll(p + 6, NULL, 10) : -1;
        }
        itest_resp_free(&r);
    }
    return NULL;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;

    return (x > y) - (x < y);
}

TEST(eight_clients_times_500_adds_give_the_exact_total)
{
    struct itest_server s = {0};
    pthread_t t[CLIENTS];
    struct adder a[CLIENTS];
    static long long olds[CLIENTS * ADDS];
    atomic_int failures = 0;

    start(&s);
    itest_create(&s, "ctr", "{\"backing\": \"memory\", \"size\": 4096}");
    for (int i = 0; i < CLIENTS; i++) {
        a[i] = (struct adder){&s, "ctr", ADDS, olds + i * ADDS, &failures};
        CHECK(pthread_create(&t[i], NULL, adder_main, &a[i]) == 0);
    }
    for (int i = 0; i < CLIENTS; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    CHECK(atomic_load(&failures) == 0);
    CHECK(load8(&s, "ctr", 0) == CLIENTS * ADDS);
    /* Linearizable: every value from 0 to the total was some add's old
     * value, exactly once. */
    qsort(olds, CLIENTS * ADDS, sizeof(olds[0]), cmp_ll);
    for (long long i = 0; i < CLIENTS * ADDS; i++) {
        if (olds[i] != i)
            TEST_FAIL("sorted old value %lld is %lld", i, olds[i]);
    }
    itest_cleanup(&s);
}

#define LOCAL_ADDS 20000

struct local {
    int64_t *word;
    atomic_bool *go;
};

static void *local_adder(void *arg)
{
    struct local *l = arg;

    while (!atomic_load(l->go))
        ;
    for (int i = 0; i < LOCAL_ADDS; i++)
        __atomic_fetch_add(l->word, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

TEST(a_local_program_and_http_clients_add_to_one_word)
{
    struct itest_server s = {0};
    pthread_t t[4], lt;
    struct adder a[4];
    atomic_int failures = 0;
    atomic_bool go = false;
    char path[400];
    int fd;
    void *p;

    start(&s);
    itest_create(&s, "shared", "{\"size\": 8192}");
    /* The program: the backing file, mapped shared on its own. */
    snprintf(path, sizeof path, "%s/shared", s.dir);
    fd = open(path, O_RDWR | O_CLOEXEC);
    CHECK(fd >= 0);
    p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED);
    struct local l = {(int64_t *)((char *)p + 4096), &go};
    CHECK(pthread_create(&lt, NULL, local_adder, &l) == 0);
    for (int i = 0; i < 4; i++) {
        a[i] = (struct adder){&s, "shared", 250, NULL, &failures};
        CHECK(pthread_create(&t[i], NULL, adder_main, &a[i]) == 0);
    }
    atomic_store(&go, true);
    CHECK(pthread_join(lt, NULL) == 0);
    for (int i = 0; i < 4; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    CHECK(atomic_load(&failures) == 0);
    /* The HTTP clients added at 0; add there locally too, while a last
     * round of clients runs, to race on one word both ways. */
    l.word = (int64_t *)p;
    CHECK(pthread_create(&lt, NULL, local_adder, &l) == 0);
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, adder_main, &a[i]) == 0);
    CHECK(pthread_join(lt, NULL) == 0);
    for (int i = 0; i < 4; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    CHECK(atomic_load(&failures) == 0);
    CHECK(load8(&s, "shared", 0) == 2 * 4 * 250 + LOCAL_ADDS);
    CHECK(load8(&s, "shared", 4096) == LOCAL_ADDS);
    CHECK(__atomic_load_n((int64_t *)p, __ATOMIC_SEQ_CST) ==
          2 * 4 * 250 + LOCAL_ADDS);
    munmap(p, 8192);
    close(fd);
    itest_cleanup(&s);
}

struct storer {
    const struct itest_server *s;
    int id;
    atomic_int *failures;
    atomic_int *finished;
};

static void *storer_main(void *arg)
{
    struct storer *st = arg;

    for (int i = 0; i < 300; i++) {
        /* Every byte of the value alike, a different byte per store. */
        long long v = (long long)(0x0101010101010101ULL *
                                  (uint64_t)((st->id * 300 + i) % 0x7f + 1));
        char body[256];
        struct itest_resp r;

        snprintf(body, sizeof body,
                 "{\"ops\": [{\"op\": \"store\", \"offset\": 0, \"width\": 8, "
                 "\"value\": %lld}, {\"op\": \"swap\", \"offset\": %d, "
                 "\"width\": 8, \"value\": %lld}]}",
                 v, 8 + 8 * (i % 3), v);
        post(st->s, "torn", NULL, body, &r);
        if (r.status != 200)
            atomic_fetch_add(st->failures, 1);
        itest_resp_free(&r);
    }
    atomic_fetch_add(st->finished, 1);
    return NULL;
}

TEST(a_reader_never_sees_half_a_stored_word)
{
    struct itest_server s = {0};
    pthread_t t[3];
    struct storer st[3];
    atomic_int failures = 0;
    atomic_int finished = 0;
    int reads = 0;

    start(&s);
    itest_create(&s, "torn", "{\"backing\": \"memory\", \"size\": 4096}");
    for (int i = 0; i < 3; i++) {
        st[i] = (struct storer){&s, i, &failures, &finished};
        CHECK(pthread_create(&t[i], NULL, storer_main, &st[i]) == 0);
    }
    /* Read the four words while the stores run (bounded: the stores end). */
    while (atomic_load(&finished) < 3) {
        struct itest_resp r;

        itest_request(&s, "GET", "/v1/maps/torn/data?offset=0&length=32", NULL,
                      NULL, 0, &r);
        CHECK(r.status == 200 && r.len == 32);
        for (int w = 0; w < 4; w++) {
            for (int b = 1; b < 8; b++) {
                if (r.body[8 * w + b] != r.body[8 * w])
                    TEST_FAIL("word %d byte %d: %02x beside %02x", w, b,
                              (unsigned char)r.body[8 * w + b],
                              (unsigned char)r.body[8 * w]);
            }
        }
        itest_resp_free(&r);
        reads++;
    }
    for (int i = 0; i < 3; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    CHECK(atomic_load(&failures) == 0);
    CHECK(reads > 0);
    itest_cleanup(&s);
}

TEST_MAIN()
