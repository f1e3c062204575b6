/* test_leases.c - POST /v1/maps/{name}/lease and the Lease-Id rule,
 * through the real server.
 *
 * Proves each action's answer; that every write path (data PUT and PATCH,
 * objects, atomic stores, flush, resize, DELETE) is refused without the
 * lease (412 lease_id_missing), with another id (412 lease_mismatch), and
 * with an id once there is no lease (412 lease_not_present), and goes
 * through with it; that reads never need it; that a break lets the holder
 * write until it ends and then frees the mapping for a new holder with
 * the next epoch; that a restart forgets leases so the former holder
 * learns; and that of clients acquiring at once exactly one wins.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "itest.h"

static void start(struct itest_server *s)
{
    CHECK(curl_global_init(CURL_GLOBAL_ALL) == CURLE_OK);
    itest_start(s, NULL);
}

/* POST a lease action; require status; *j the body when JSON (else
 * NULL). */
static json_t *lease(const struct itest_server *s, const char *name,
                     const char *body, long status)
{
    struct itest_resp r;
    char path[128];
    json_t *j = NULL;

    snprintf(path, sizeof path, "/v1/maps/%s/lease", name);
    itest_request(s, "POST", path, NULL, body, strlen(body), &r);
    if (r.status != status)
        TEST_FAIL("%s: status %ld, want %ld: %s", body, r.status, status,
                  r.body);
    if (r.len > 0)
        j = itest_json(&r);
    itest_resp_free(&r);
    return j;
}

static void lease_problem(const struct itest_server *s, const char *name,
                          const char *body, long status, const char *code)
{
    struct itest_resp r;
    char path[128];

    snprintf(path, sizeof path, "/v1/maps/%s/lease", name);
    itest_request(s, "POST", path, NULL, body, strlen(body), &r);
    itest_expect_problem(&r, status, code);
    itest_resp_free(&r);
}

/* Send write k with hdr (NULL: no Lease-Id); returns the response. */
static void write_with(const struct itest_server *s, const struct itest_write *w,
                       const char *hdr, struct itest_resp *r)
{
    const char *headers[3] = {NULL, NULL, NULL};
    int n = 0;

    if (w->type != NULL)
        headers[n++] = w->type;
    if (hdr != NULL)
        headers[n++] = hdr;
    itest_request(s, w->method, w->path, headers, w->body, strlen(w->body), r);
}

static void every_write(const struct itest_server *s, const char *hdr,
                        long status, const char *code)
{
    for (size_t k = 0; k < itest_nwrites; k++) {
        struct itest_resp r;

        write_with(s, &itest_writes[k], hdr, &r);
        if (code != NULL) {
            if (r.status != status)
                TEST_FAIL("%s with %s: %ld %s", itest_writes[k].what,
                          hdr ? hdr : "no Lease-Id", r.status, r.body);
            itest_expect_problem(&r, status, code);
        } else if (r.status != itest_writes[k].ok) {
            TEST_FAIL("%s with %s: %ld %s", itest_writes[k].what,
                      hdr ? hdr : "no Lease-Id", r.status, r.body);
        }
        itest_resp_free(&r);
    }
}

/* The lease member of GET /v1/maps/name: state and epoch. */
static void expect_state(const struct itest_server *s, const char *state,
                         long long epoch, bool expires)
{
    struct itest_resp r;
    json_t *j, *l;

    itest_request(s, "GET", "/v1/maps/m", NULL, NULL, 0, &r);
    CHECK(r.status == 200);
    j = itest_json(&r);
    l = json_object_get(j, "lease");
    CHECK(l != NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(l, "state")), state);
    CHECK(json_integer_value(json_object_get(l, "epoch")) == epoch);
    CHECK(json_is_string(json_object_get(l, "expires_at")) == expires);
    json_decref(j);
    itest_resp_free(&r);
}

TEST(every_write_path_is_held_to_the_lease)
{
    struct itest_server s = {0};
    json_t *j;

    start(&s);
    itest_create(&s, "m", "{\"size\": 4096}");
    expect_state(&s, "available", 0, false);
    every_write(&s, NULL, 0, NULL);
    every_write(&s, "Lease-Id: L1", 412, "lease_not_present");

    j = lease(&s, "m",
              "{\"action\": \"acquire\", \"duration\": 60, \"proposed_id\": "
              "\"L1\"}",
              201);
    CHECK_EQ_STR(json_string_value(json_object_get(j, "lease_id")), "L1");
    CHECK(json_integer_value(json_object_get(j, "epoch")) == 1);
    CHECK(json_is_string(json_object_get(j, "expires_at")));
    json_decref(j);
    expect_state(&s, "leased", 1, true);

    every_write(&s, NULL, 412, "lease_id_missing");
    every_write(&s, "Lease-Id: L2", 412, "lease_mismatch");
    {
        char longid[200];

        memset(longid, 'L', sizeof longid);
        memcpy(longid, "Lease-Id: L1", 12);
        longid[sizeof longid - 1] = '\0';
        every_write(&s, longid, 412, "lease_mismatch");
    }
    every_write(&s, "Lease-Id: L1", 0, NULL);

    /* Reads never need it; nor does an atomic load. */
    {
        struct itest_resp r;
        static const char load[] =
            "{\"op\": \"load\", \"offset\": 512, \"width\": 8}";

        itest_request(&s, "GET", "/v1/maps/m/data?offset=0&length=6", NULL,
                      NULL, 0, &r);
        CHECK(r.status == 200 && memcmp(r.body, "abcdef", 6) == 0);
        itest_resp_free(&r);
        itest_request(&s, "GET", "/v1/maps/m/objects/64", NULL, NULL, 0, &r);
        CHECK(r.status == 200);
        itest_resp_free(&r);
        itest_request(&s, "POST", "/v1/maps/m/atomic", NULL, load,
                      sizeof load - 1, &r);
        CHECK(r.status == 200 && strstr(r.body, "\"old\":2,") != NULL);
        itest_resp_free(&r);
    }

    /* DELETE too, last. */
    {
        struct itest_resp r;

        itest_request(&s, "DELETE", "/v1/maps/m", NULL, NULL, 0, &r);
        itest_expect_problem(&r, 412, "lease_id_missing");
        itest_resp_free(&r);
        itest_request(&s, "DELETE", "/v1/maps/m",
                      (const char *const[]){"Lease-Id: L9", NULL}, NULL, 0, &r);
        itest_expect_problem(&r, 412, "lease_mismatch");
        itest_resp_free(&r);
        itest_request(&s, "DELETE", "/v1/maps/m",
                      (const char *const[]){"Lease-Id: L1", NULL}, NULL, 0, &r);
        CHECK(r.status == 204);
        itest_resp_free(&r);
    }
    itest_cleanup(&s);
}

TEST(renew_change_release_and_refusals)
{
    struct itest_server s = {0};
    json_t *j;
    char id[80];

    start(&s);
    itest_create(&s, "m", "{\"backing\": \"memory\", \"size\": 4096}");
    lease_problem(&s, "m", "{\"action\": \"renew\", \"lease_id\": \"x\"}", 412,
                  "lease_not_present");
    lease_problem(&s, "m", "{\"action\": \"break\"}", 412, "lease_not_present");
    /* No proposed id: a random UUID. */
    j = lease(&s, "m", "{\"action\": \"acquire\", \"duration\": -1}", 201);
    snprintf(id, sizeof id, "%s",
             json_string_value(json_object_get(j, "lease_id")));
    CHECK(strlen(id) == 36 && id[14] == '4');
    CHECK(json_is_null(json_object_get(j, "expires_at")));
    json_decref(j);
    expect_state(&s, "leased", 1, false);
    lease_problem(&s, "m", "{\"action\": \"acquire\", \"duration\": 15}", 409,
                  "lease_held");
    lease_problem(&s, "m", "{\"action\": \"renew\", \"lease_id\": \"x\"}", 412,
                  "lease_mismatch");
    {
        char body[160];

        snprintf(body, sizeof body,
                 "{\"action\": \"renew\", \"lease_id\": \"%s\"}", id);
        json_decref(lease(&s, "m", body, 200));
        snprintf(body, sizeof body,
                 "{\"action\": \"change\", \"lease_id\": \"%s\", "
                 "\"proposed_id\": \"new-id\"}",
                 id);
        j = lease(&s, "m", body, 200);
        CHECK_EQ_STR(json_string_value(json_object_get(j, "lease_id")),
                     "new-id");
        CHECK(json_integer_value(json_object_get(j, "epoch")) == 1);
        json_decref(j);
        snprintf(body, sizeof body,
                 "{\"action\": \"release\", \"lease_id\": \"%s\"}", id);
        lease_problem(&s, "m", body, 412, "lease_mismatch");
    }
    CHECK(lease(&s, "m", "{\"action\": \"release\", \"lease_id\": \"new-id\"}",
                204) == NULL);
    expect_state(&s, "available", 1, false);

    /* Each action takes exactly its members. */
    static const char *const bad[] = {
        "{}",
        "{\"action\": \"steal\"}",
        "{\"action\": \"acquire\"}",
        "{\"action\": \"acquire\", \"duration\": 14}",
        "{\"action\": \"acquire\", \"duration\": 61}",
        "{\"action\": \"acquire\", \"duration\": 15.5}",
        "{\"action\": \"acquire\", \"duration\": 15, \"lease_id\": \"a\"}",
        "{\"action\": \"acquire\", \"duration\": 15, \"proposed_id\": \"a b\"}",
        "{\"action\": \"acquire\", \"duration\": 15, \"proposed_id\": \"\"}",
        "{\"action\": \"renew\"}",
        "{\"action\": \"renew\", \"lease_id\": \"a\", \"duration\": 15}",
        "{\"action\": \"change\", \"lease_id\": \"a\"}",
        "{\"action\": \"release\", \"lease_id\": \"a\", \"proposed_id\": "
        "\"b\"}",
        "{\"action\": \"break\", \"break_period\": 61}",
        "{\"action\": \"break\", \"break_period\": -1}",
        "{\"action\": \"break\", \"lease_id\": \"a\"}",
        "{\"action\": \"acquire\", \"duration\": 15, \"extra\": 1}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        lease_problem(&s, "m", bad[i], 400, "invalid_field");
    lease_problem(&s, "nope", "{\"action\": \"break\"}", 404, "not_found");
    itest_cleanup(&s);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

TEST(a_break_ends_the_lease_for_the_next_holder)
{
    struct itest_server s = {0};
    json_t *j;
    double until;

    start(&s);
    itest_create(&s, "m", "{\"size\": 4096}");
    json_decref(lease(&s, "m",
                      "{\"action\": \"acquire\", \"duration\": -1, "
                      "\"proposed_id\": \"A\"}",
                      201));
    j = lease(&s, "m", "{\"action\": \"break\", \"break_period\": 1}", 202);
    CHECK(json_integer_value(json_object_get(j, "break_seconds")) == 1);
    CHECK(json_integer_value(json_object_get(j, "epoch")) == 1);
    json_decref(j);
    expect_state(&s, "breaking", 1, true);
    /* While it breaks, the holder writes and nobody acquires. */
    every_write(&s, "Lease-Id: A", 0, NULL);
    every_write(&s, NULL, 412, "lease_id_missing");
    lease_problem(&s, "m", "{\"action\": \"acquire\", \"duration\": 15}", 409,
                  "lease_held");
    lease_problem(&s, "m", "{\"action\": \"renew\", \"lease_id\": \"A\"}", 409,
                  "lease_breaking");
    /* Then it is broken: no lease (bounded wait: 1 s, 5 s at most). */
    until = now_s() + 5;
    for (;;) {
        struct itest_resp r;
        bool broken;

        itest_request(&s, "GET", "/v1/maps/m", NULL, NULL, 0, &r);
        CHECK(r.status == 200);
        broken = strstr(r.body, "\"state\":\"broken\"") != NULL;
        itest_resp_free(&r);
        if (broken)
            break;
        if (now_s() > until)
            TEST_FAIL("the lease did not break within 5 s");
        usleep(50 * 1000);
    }
    every_write(&s, "Lease-Id: A", 412, "lease_not_present");
    every_write(&s, NULL, 0, NULL);
    j = lease(&s, "m",
              "{\"action\": \"acquire\", \"duration\": 15, \"proposed_id\": "
              "\"B\"}",
              201);
    CHECK(json_integer_value(json_object_get(j, "epoch")) == 2);
    json_decref(j);
    every_write(&s, "Lease-Id: A", 412, "lease_mismatch");
    itest_cleanup(&s);
}

TEST(a_restart_forgets_leases_and_the_holder_learns)
{
    struct itest_server s = {0};

    start(&s);
    itest_create(&s, "m", "{\"size\": 4096}");
    json_decref(lease(&s, "m",
                      "{\"action\": \"acquire\", \"duration\": 60, "
                      "\"proposed_id\": \"A\"}",
                      201));
    itest_stop(&s);
    itest_start(&s, NULL);
    expect_state(&s, "available", 0, false);
    every_write(&s, "Lease-Id: A", 412, "lease_not_present");
    every_write(&s, NULL, 0, NULL);
    itest_cleanup(&s);
}

#define RACERS 8

struct racer {
    const struct itest_server *s;
    pthread_barrier_t *go;
    long status;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    struct itest_resp resp;
    static const char body[] = "{\"action\": \"acquire\", \"duration\": 15}";

    pthread_barrier_wait(r->go);
    itest_request(r->s, "POST", "/v1/maps/m/lease", NULL, body, sizeof body - 1,
                  &resp);
    r->status = resp.status;
    itest_resp_free(&resp);
    return NULL;
}

TEST(of_clients_acquiring_at_once_one_wins)
{
    struct itest_server s = {0};
    pthread_t t[RACERS];
    struct racer r[RACERS];
    pthread_barrier_t go;
    int won = 0;

    start(&s);
    itest_create(&s, "m", "{\"backing\": \"memory\", \"size\": 4096}");
    CHECK(pthread_barrier_init(&go, NULL, RACERS) == 0);
    for (int i = 0; i < RACERS; i++) {
        r[i] = (struct racer){&s, &go, 0};
        CHECK(pthread_create(&t[i], NULL, race, &r[i]) == 0);
    }
    for (int i = 0; i < RACERS; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    pthread_barrier_destroy(&go);
    for (int i = 0; i < RACERS; i++) {
        if (r[i].status == 201)
            won++;
        else
            CHECK(r[i].status == 409);
    }
    CHECK(won == 1);
    expect_state(&s, "leased", 1, true);
    itest_cleanup(&s);
}

TEST_MAIN()
