/* test_listing.c - GET /v1/maps a page at a time (API.md "Listing at scale").
 *
 * Proves, on the real server with file and memory mappings mixed: walking
 * the pages by `next` visits every name exactly once, in byte order, with
 * no page longer than `limit` and `next` null at the end; `prefix` limits
 * the walk to its names (edge names that only almost match are left out);
 * with a token that reads two prefixes, the walk visits exactly those
 * names, once each, even though pages then come back short; the default
 * limit is 1000; and limits outside 1..10000 or arguments longer than a
 * name are 400 invalid_query.
 */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "itest.h"

#define ROOT "Authorization: Bearer root-token"
#define READER "Authorization: Bearer reader-token"

static const char tokens_json[] =
    "{\"tokens\": [\n"
    "  {\"token\": \"root-token\", \"read\": [\"*\"], \"write\": [\"*\"],"
    " \"admin\": true},\n"
    "  {\"token\": \"reader-token\", \"read\": [\"b-\", \"d-\"]}\n"
    "]}\n";

#define GROUPS 5
static const char *const groups[GROUPS] = {"A", "a-", "b-", "c-", "d-"};
#define PER_GROUP 40
#define FILLER 800 /* memory mappings "z-NNN", so the total passes 1000 */
#define TOTAL (GROUPS * PER_GROUP + 3 + FILLER)

static void create(const struct itest_server *s, const char *name, bool file)
{
    struct itest_resp r;
    char path[160];
    const char *body = file ? "{\"size\": 4096, \"allocation\": \"sparse\"}"
                            : "{\"size\": 4096, \"backing\": \"memory\"}";

    snprintf(path, sizeof(path), "/v1/maps/%s", name);
    itest_request(s, "PUT", path,
                  (const char *const[]){ROOT, "Content-Type: application/json",
                                        NULL},
                  body, strlen(body), &r);
    if (r.status != 201)
        TEST_FAIL("create %s: %ld", name, r.status);
    itest_resp_free(&r);
}

/* Names seen by a walk, in order. */
struct walk {
    char (*names)[129];
    size_t n;
    unsigned pages;
};

/* Follow `next` from the start with the query base (may be "") and limit;
 * checks each page's shape and the byte order across pages. */
static void walk(const struct itest_server *s, const char *auth,
                 const char *base, unsigned limit, struct walk *w)
{
    char after[160] = "";
    bool first = true;

    w->names = calloc(TOTAL + 1, sizeof(*w->names));
    CHECK(w->names != NULL);
    w->n = 0;
    w->pages = 0;
    for (;;) {
        struct itest_resp r;
        char path[512];
        json_t *body, *maps, *next, *m;
        size_t i;

        snprintf(path, sizeof(path), "/v1/maps?%slimit=%u%s%s", base, limit,
                 first ? "" : "&after=", after);
        first = false;
        itest_request(s, "GET", path, (const char *const[]){auth, NULL}, NULL,
                      0, &r);
        CHECK_EQ_U64(r.status, 200);
        body = itest_json(&r);
        maps = json_object_get(body, "maps");
        next = json_object_get(body, "next");
        CHECK(json_is_array(maps) && next != NULL);
        CHECK(json_array_size(maps) <= limit);
        json_array_foreach(maps, i, m) {
            const char *name = json_string_value(json_object_get(m, "name"));

            CHECK(name != NULL && w->n < TOTAL);
            if (w->n > 0 && strcmp(w->names[w->n - 1], name) >= 0)
                TEST_FAIL("%s after %s: not in byte order, or twice", name,
                          w->names[w->n - 1]);
            /* Every name sorts after the cursor this page was asked for. */
            CHECK(strcmp(name, after) > 0);
            snprintf(w->names[w->n++], 129, "%s", name);
        }
        w->pages++;
        CHECK(w->pages < 2000);
        if (json_is_null(next)) {
            json_decref(body);
            itest_resp_free(&r);
            return;
        }
        CHECK(json_is_string(next));
        /* Progress: next moves forward and covers this page. */
        CHECK(strcmp(json_string_value(next), after) > 0);
        if (w->n > 0)
            CHECK(strcmp(json_string_value(next), w->names[w->n - 1]) >= 0);
        snprintf(after, sizeof(after), "%s", json_string_value(next));
        json_decref(body);
        itest_resp_free(&r);
    }
}

/* The walk saw exactly the created names that start with one of want
 * (NULL-terminated; NULL want: all). */
static void expect_exactly(const struct walk *w, const char *const *want)
{
    size_t k = 0;
    char name[64];

    /* The created names, in byte order: "A.." < "a-.." < "b" < "b-.." <
     * "b-" edge < "c-.." < "d-.." < "z-..". Rebuilt here and compared one by
     * one. */
    char (*all)[129] = calloc(TOTAL, sizeof(*all));
    size_t n = 0;

    CHECK(all != NULL);
    for (int g = 0; g < GROUPS; g++) {
        for (int i = 0; i < PER_GROUP; i++) {
            snprintf(name, sizeof(name), "%s%03d", groups[g], i);
            snprintf(all[n++], 129, "%s", name);
        }
    }
    snprintf(all[n++], 129, "b");
    snprintf(all[n++], 129, "bb-1");
    snprintf(all[n++], 129, "c");
    for (int i = 0; i < FILLER; i++)
        snprintf(all[n++], 129, "z-%03d", i);
    qsort(all, n, sizeof(*all), (int (*)(const void *, const void *))strcmp);
    for (size_t i = 0; i < n; i++) {
        bool wanted = want == NULL;

        for (size_t j = 0; want && want[j]; j++)
            wanted |= strncmp(all[i], want[j], strlen(want[j])) == 0;
        if (!wanted)
            continue;
        if (k >= w->n || strcmp(w->names[k], all[i]) != 0)
            TEST_FAIL("walk: expected %s at %zu, got %s", all[i], k,
                      k < w->n ? w->names[k] : "(end)");
        k++;
    }
    CHECK_EQ_U64(w->n, k);
    free(all);
}

TEST(pages_walk_every_name_once)
{
    struct itest_server s = {0};
    char dir[] = "/tmp/mmapd-it-list-XXXXXX", file[64], name[64];
    struct walk w;
    struct itest_resp r;
    FILE *f;

    CHECK(mkdtemp(dir) != NULL);
    snprintf(file, sizeof(file), "%s/tokens.json", dir);
    f = fopen(file, "w");
    CHECK(f != NULL);
    fputs(tokens_json, f);
    fclose(f);
    CHECK(chmod(file, 0600) == 0);
    itest_start(&s, (const char *const[]){"--token-file", file, NULL});
    for (int g = 0; g < GROUPS; g++) {
        for (int i = 0; i < PER_GROUP; i++) {
            snprintf(name, sizeof(name), "%s%03d", groups[g], i);
            create(&s, name, i % 2 == 0);
        }
    }
    /* Names next to the prefixes: "b" and "bb-1" are not "b-" names. */
    create(&s, "b", true);
    create(&s, "bb-1", false);
    create(&s, "c", true);
    for (int i = 0; i < FILLER; i++) {
        snprintf(name, sizeof(name), "z-%03d", i);
        create(&s, name, false);
    }

    walk(&s, ROOT, "", 7, &w);
    expect_exactly(&w, NULL);
    CHECK(w.pages >= TOTAL / 7);
    free(w.names);
    walk(&s, ROOT, "", 10000, &w);
    expect_exactly(&w, NULL);
    CHECK_EQ_U64(w.pages, 1);
    free(w.names);

    walk(&s, ROOT, "prefix=b-&", 6, &w);
    expect_exactly(&w, (const char *const[]){"b-", NULL});
    free(w.names);
    walk(&s, ROOT, "prefix=c&", 1, &w);
    expect_exactly(&w, (const char *const[]){"c", NULL});
    free(w.names);

    /* The reader sees b- and d- names only, each once, in short pages. */
    walk(&s, READER, "", 5, &w);
    expect_exactly(&w, (const char *const[]){"b-", "d-", NULL});
    free(w.names);
    walk(&s, READER, "prefix=d-&", 3, &w);
    expect_exactly(&w, (const char *const[]){"d-", NULL});
    free(w.names);
    walk(&s, READER, "prefix=c-&", 3, &w);
    CHECK_EQ_U64(w.n, 0);
    free(w.names);

    /* The default page is 1000 names, with a next. */
    itest_request(&s, "GET", "/v1/maps", (const char *const[]){ROOT, NULL},
                  NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    json_t *body = itest_json(&r);
    CHECK_EQ_U64(json_array_size(json_object_get(body, "maps")), 1000);
    CHECK(json_is_string(json_object_get(body, "next")));
    json_decref(body);
    itest_resp_free(&r);

    static const char *const bad[] = {
        "/v1/maps?limit=0", "/v1/maps?limit=10001", "/v1/maps?limit=x",
        "/v1/maps?limit=-1", "/v1/maps?limit=",
        "/v1/maps?after=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    static const char *const root[] = {ROOT, NULL};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        ITEST_PROBLEM(&s, "GET", bad[i], root, NULL, 0, 400, "invalid_query");
    itest_cleanup(&s);
    unlink(file);
    rmdir(dir);
}

TEST_MAIN()
