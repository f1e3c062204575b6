/* test_ifmatch.c - proves If-Match on data writes prevents lost updates on
 * the real server: a second PUT with an ETag the first one superseded is
 * 412; several clients sending PUT with one If-Match at once get exactly one
 * 204 and 412 for the rest (the check is repeated atomically with the
 * write, not only when the headers arrive), and so do clients sending
 * If-None-Match with the ETag the first write will produce; and the ETag
 * of a 204 is the one a GET right after returns when nobody else writes.
 * PATCH and object PUT go through the same conditional write.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "itest.h"

#define SIZE 65536
#define CLIENTS 8
#define ROUNDS 20

static void start(struct itest_server *s)
{
    static const char *const extra[] = {"--threads", "8", NULL};

    itest_start(s, extra);
    itest_create(s, "w", "{\"size\": 65536}");
}

TEST(sequential_if_match)
{
    struct itest_server s = {0};
    static char body[SIZE];
    char etag[128], hdr[160], got[128];
    struct itest_resp r;

    start(&s);
    itest_etag(&s, "w", etag, sizeof etag);
    snprintf(hdr, sizeof hdr, "If-Match: %s", etag);
    const char *const hdrs[] = {hdr, NULL};

    itest_pattern(body, SIZE, 1);
    itest_request(&s, "PUT", "/v1/maps/w/data", hdrs, body, SIZE, &r);
    CHECK_EQ_U64(r.status, 204);
    CHECK(itest_header(&r, "ETag", got, sizeof got) != NULL);
    itest_resp_free(&r);
    /* The 204's ETag is what a GET right after names. */
    itest_etag(&s, "w", etag, sizeof etag);
    CHECK(strcmp(got, etag) == 0);

    itest_pattern(body, SIZE, 2);
    ITEST_PROBLEM(&s, "PUT", "/v1/maps/w/data", hdrs, body, SIZE, 412,
                  "precondition_failed");
    itest_pattern(body, SIZE, 1);
    {
        size_t len = 0;
        char *data = itest_get_data(&s, "w", &len);

        CHECK_EQ_U64(len, SIZE);
        CHECK_MEM(data, body, SIZE);
        free(data);
    }
    /* PATCH with the current ETag: 204 naming the GET's ETag. */
    snprintf(hdr, sizeof hdr, "If-Match: %s", got);
    {
        const char *const ph[] = {hdr, "Content-Type: message/byterange",
                                  NULL};
        static const char pb[] =
            "Content-Range: bytes 0-3/65536\r\n\r\nabcd";

        itest_request(&s, "PATCH", "/v1/maps/w/data", ph, pb, sizeof pb - 1,
                      &r);
        CHECK_EQ_U64(r.status, 204);
        CHECK(itest_header(&r, "ETag", got, sizeof got) != NULL);
        itest_resp_free(&r);
        itest_etag(&s, "w", etag, sizeof etag);
        CHECK(strcmp(got, etag) == 0);
    }
    /* Object PUT: current ETag is 201 naming the GET's ETag; the same ETag
     * again is 412 and writes nothing. */
    {
        const char *const oh[] = {hdr, "Content-Type: application/json",
                                  NULL};

        snprintf(hdr, sizeof hdr, "If-Match: %s", etag);
        itest_request(&s, "PUT", "/v1/maps/w/objects/8", oh, "[1]", 3, &r);
        CHECK_EQ_U64(r.status, 201);
        CHECK(itest_header(&r, "ETag", got, sizeof got) != NULL);
        itest_resp_free(&r);
        itest_etag(&s, "w", etag, sizeof etag);
        CHECK(strcmp(got, etag) == 0);
        ITEST_PROBLEM(&s, "PUT", "/v1/maps/w/objects/8", oh, "[2]", 3, 412,
                      "precondition_failed");
        itest_etag(&s, "w", etag, sizeof etag);
        CHECK(strcmp(got, etag) == 0);
    }
    itest_cleanup(&s);
}

struct client {
    const struct itest_server *s;
    pthread_barrier_t *go;
    const char *hdr;
    int id;
    long status;
    char etag[128];
};

static void *client_main(void *arg)
{
    struct client *c = arg;
    static _Thread_local char body[SIZE];
    const char *const hdrs[] = {c->hdr, NULL};
    struct itest_resp r;

    itest_pattern(body, SIZE, 100 + (uint64_t)c->id);
    pthread_barrier_wait(c->go);
    itest_request(c->s, "PUT", "/v1/maps/w/data", hdrs, body, SIZE, &r);
    c->status = r.status;
    c->etag[0] = '\0';
    if (r.status == 204)
        CHECK(itest_header(&r, "ETag", c->etag, sizeof c->etag) != NULL);
    itest_resp_free(&r);
    return NULL;
}

/* The ETag the next write of the mapping will produce: ours are
 * "<boot nonce>-<mapping id>-<generation>" in hex, and every write adds one
 * to the generation. */
static void next_etag(const char *etag, char *out, size_t len)
{
    const char *dash = strrchr(etag, '-');
    unsigned long long gen;

    CHECK(dash != NULL && sscanf(dash + 1, "%llx", &gen) == 1);
    snprintf(out, len, "%.*s-%llx\"", (int)(dash - etag), etag, gen + 1);
}

/* ROUNDS rounds of CLIENTS clients sending one conditional PUT at once:
 * "If-Match: <current ETag>", or "If-None-Match: <the ETag the first write
 * will produce>". Either way exactly one may write; that needs the
 * condition tested again under the write's lock. */
static void one_winner_rounds(bool none_match)
{
    struct itest_server s = {0};
    static char want[SIZE];

    CHECK(curl_global_init(CURL_GLOBAL_ALL) == CURLE_OK);
    start(&s);
    for (int round = 0; round < ROUNDS; round++) {
        pthread_t t[CLIENTS];
        struct client c[CLIENTS];
        pthread_barrier_t go;
        char etag[128], next[128], hdr[160], now[128];
        int ok = 0, winner = -1;

        itest_etag(&s, "w", etag, sizeof etag);
        if (none_match) {
            next_etag(etag, next, sizeof next);
            snprintf(hdr, sizeof hdr, "If-None-Match: %s", next);
        } else {
            snprintf(hdr, sizeof hdr, "If-Match: %s", etag);
        }
        CHECK(pthread_barrier_init(&go, NULL, CLIENTS) == 0);
        for (int i = 0; i < CLIENTS; i++) {
            c[i] = (struct client){.s = &s, .go = &go, .hdr = hdr, .id = i};
            CHECK(pthread_create(&t[i], NULL, client_main, &c[i]) == 0);
        }
        for (int i = 0; i < CLIENTS; i++)
            CHECK(pthread_join(t[i], NULL) == 0);
        pthread_barrier_destroy(&go);
        for (int i = 0; i < CLIENTS; i++) {
            if (c[i].status == 204) {
                ok++;
                winner = i;
            } else if (c[i].status != 412) {
                TEST_FAIL("round %d client %d: status %ld", round, i,
                          c[i].status);
            }
        }
        if (ok != 1)
            TEST_FAIL("round %d: %d clients got 204 with \"%s\"", round, ok,
                      hdr);
        /* Nobody else writes now: the winner's ETag is the current one and
         * its bytes are what the mapping holds. */
        itest_etag(&s, "w", now, sizeof now);
        CHECK(strcmp(c[winner].etag, now) == 0);
        if (none_match)
            CHECK(strcmp(now, next) == 0);
        {
            size_t len = 0;
            char *data = itest_get_data(&s, "w", &len);

            itest_pattern(want, SIZE, 100 + (uint64_t)winner);
            CHECK_EQ_U64(len, SIZE);
            CHECK_MEM(data, want, SIZE);
            free(data);
        }
    }
    itest_cleanup(&s);
    curl_global_cleanup();
}

TEST(concurrent_if_match_one_winner)
{
    one_winner_rounds(false);
}

TEST(concurrent_if_none_match_one_winner)
{
    one_winner_rounds(true);
}

TEST_MAIN()
