/* test_openapi_routes.c - api/openapi.yaml and the router agree.
 *
 * Every path of the document, with every method it lists, reaches a
 * handler (never "no resource at this path", never 405); the methods the
 * router allows on each documented path (its Allow header, less OPTIONS and
 * HEAD, which is allowed wherever GET is) are exactly the documented ones;
 * and every route the router knows is reached by some documented path. The
 * error codes themselves are cross-checked by test_status.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "check.h"
#include "internal.h"

#ifndef OPENAPI_PATH
#error "OPENAPI_PATH must name api/openapi.yaml"
#endif

#define MAX_PATHS 32

struct doc_path {
    char path[128];    /* {name} -> probe, {offset} -> 0, {asset} -> app.js */
    char methods[8][8]; /* upper case */
    int nmethods;
};

static struct doc_path paths[MAX_PATHS];
static int npaths;

/* The paths: section: "  /path:" lines, then "    get:" lines under them,
 * until the next top-level key. */
static void load_paths(void)
{
    FILE *f = fopen(OPENAPI_PATH, "r");
    char line[512];
    bool in_paths = false;

    if (f == NULL)
        TEST_FAIL("cannot open %s", OPENAPI_PATH);
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "paths:", 6) == 0) {
            in_paths = true;
            continue;
        }
        if (!in_paths)
            continue;
        if (line[0] != ' ' && line[0] != '\n')
            break;
        if (strncmp(line, "  /", 3) == 0) {
            char raw[128];
            char *out;

            CHECK(npaths < MAX_PATHS);
            CHECK(sscanf(line + 2, "%127[^:]", raw) == 1);
            out = paths[npaths].path;
            for (const char *p = raw; *p != '\0';) {
                if (strncmp(p, "{name}", 6) == 0) {
                    strcpy(out, "probe");
                    out += 5;
                    p += 6;
                } else if (strncmp(p, "{offset}", 8) == 0) {
                    *out++ = '0';
                    p += 8;
                } else if (strncmp(p, "{asset}", 7) == 0) {
                    strcpy(out, "app.js");
                    out += 6;
                    p += 7;
                } else {
                    *out++ = *p++;
                }
            }
            *out = '\0';
            npaths++;
            continue;
        }
        static const char *const verbs[] = {"get", "head", "put", "patch",
                                            "post", "delete"};
        for (size_t i = 0; i < 6 && npaths > 0; i++) {
            char want[16];

            snprintf(want, sizeof(want), "    %s:", verbs[i]);
            if (strncmp(line, want, strlen(want)) == 0) {
                struct doc_path *d = &paths[npaths - 1];

                CHECK(d->nmethods < 8);
                for (size_t k = 0; k <= strlen(verbs[i]); k++)
                    d->methods[d->nmethods][k] =
                        (char)(verbs[i][k] >= 'a' ? verbs[i][k] - 32
                                                  : verbs[i][k]);
                d->nmethods++;
            }
        }
    }
    fclose(f);
    CHECK(npaths >= 8);
}

static bool documented(const struct doc_path *d, const char *m)
{
    for (int i = 0; i < d->nmethods; i++) {
        if (strcmp(d->methods[i], m) == 0)
            return true;
    }
    return false;
}

static const char *no_header(void *conn, const char *name)
{
    (void)conn;
    (void)name;
    return NULL;
}

struct env {
    char dir[64];
    struct mc_catalog *cat;
    struct api *api;
};

static void env_open(struct env *e)
{
    struct mc_catalog_options opt = {0};
    struct api_config cfg = {0};

    snprintf(e->dir, sizeof(e->dir), "/tmp/mmapd-test-oar-XXXXXX");
    CHECK(mkdtemp(e->dir) != NULL);
    opt.data_dir = e->dir;
    CHECK(mc_catalog_open(&opt, &e->cat) == MC_OK);
    cfg.catalog = e->cat;
    cfg.max_body = 1 << 20;
    cfg.max_ranges = 4;
    cfg.version = "test";
    CHECK(api_create(&cfg, &e->api) == 0);
}

static void env_close(struct env *e)
{
    char cmd[128];

    api_destroy(e->api);
    mc_catalog_close(e->cat);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
    CHECK(system(cmd) == 0);
}

/* Start an exchange (headers only) and give it back, answered or not. */
static struct api_exchange *start(struct env *e, const char *method,
                                  const char *path)
{
    struct api_request req = {0};
    struct api_exchange *ex;

    req.method = api_method_parse(method);
    req.path = path;
    req.header = no_header;
    req.query = no_header;
    ex = api_exchange_start(e->api, &req);
    CHECK(ex != NULL);
    return ex;
}

TEST(documented_routes_are_served)
{
    struct env e;
    bool hit[API_ROUTE_COUNT] = {false};

    load_paths();
    env_open(&e);
    for (int i = 0; i < npaths; i++) {
        const struct doc_path *d = &paths[i];

        for (int k = 0; k < d->nmethods; k++) {
            struct api_exchange *ex = start(&e, d->methods[k], d->path);
            const struct api_response *r;

            api_exchange_end(ex);
            r = api_exchange_response(ex);
            CHECK(r != NULL);
            if (r->status == 405)
                TEST_FAIL("%s %s: 405, but documented", d->methods[k],
                          d->path);
            if (ex->route == API_ROUTE_NONE)
                TEST_FAIL("%s %s: no route", d->methods[k], d->path);
            hit[ex->route] = true;
            api_exchange_free(ex, true);
        }

        /* The router's Allow header against the document. */
        struct api_exchange *ex = start(&e, "OPTIONS", d->path);
        const struct api_response *r = api_exchange_response(ex);
        const char *allow = NULL;
        char copy[sizeof(((struct api_header *)0)->value)];

        CHECK(r != NULL);
        for (unsigned h = 0; h < r->nheaders; h++) {
            if (strcasecmp(r->headers[h].name, "Allow") == 0)
                allow = r->headers[h].value;
        }
        if (allow == NULL)
            TEST_FAIL("OPTIONS %s: no Allow", d->path);
        snprintf(copy, sizeof(copy), "%s", allow);
        int allowed = 0;
        for (char *save = NULL, *m = strtok_r(copy, ", ", &save); m != NULL;
             m = strtok_r(NULL, ", ", &save)) {
            if (strcmp(m, "OPTIONS") == 0 || strcmp(m, "HEAD") == 0)
                continue;
            if (!documented(d, m))
                TEST_FAIL("%s %s is served but not documented", m, d->path);
            allowed++;
        }
        int doc = 0;
        for (int k = 0; k < d->nmethods; k++)
            doc += strcmp(d->methods[k], "HEAD") != 0;
        if (allowed != doc)
            TEST_FAIL("%s: Allow \"%s\" differs from the document", d->path,
                      allow);
        api_exchange_free(ex, true);
    }
    for (unsigned rt = API_ROUTE_NONE + 1; rt < API_ROUTE_COUNT; rt++) {
        if (!hit[rt])
            TEST_FAIL("route \"%s\" has no documented path",
                      api__route_label((enum api_route)rt));
    }
    env_close(&e);
}

TEST_MAIN()
