/* fuzz_json_body.c - the strict JSON request bodies, end to end through the
 * api: each input is sent as the body of a create (PUT /v1/maps/{name}), a
 * resize (PATCH /v1/maps/{name}) and a flush (POST .../flush), driven
 * without a socket as the unit tests do.
 *
 * Invariants: no body makes the server fail on its side (5xx), except 507
 * (a size the disk cannot hold) and 503 (out of memory); every error answer
 * is an application/problem+json document; a mapping the fuzzer managed to
 * create is deleted again, so inputs stay independent.
 *
 * The data directory is a fresh directory under /dev/shm when there is one
 * (so the catalog's fsyncs cost nothing) and is removed at exit; mappings
 * are capped at 1 MiB.
 */
#include <stdio.h>
#include <strings.h>
#include <unistd.h>

#include "api/api.h"
#include "fuzz.h"
#include "mapcore/mc_catalog.h"

struct env {
    char dir[64];
    struct mc_catalog *cat;
    struct api *api;
};

static struct env env;

static const char *no_header(void *conn, const char *name)
{
    (void)conn;
    (void)name;
    return NULL;
}

static const char *unlink_query(void *conn, const char *key)
{
    (void)conn;
    return strcmp(key, "unlink") == 0 ? "true" : NULL;
}

/* Run one request; returns its status after checking the error shape. */
static unsigned run(const char *method, const char *path, const void *body,
                    size_t len)
{
    struct api_request req = {
        .method = api_method_parse(method),
        .path = path,
        .header = no_header,
        .query = unlink_query,
        .conn = NULL,
    };
    struct api_exchange *ex = api_exchange_start(env.api, &req);
    struct api_response *resp;
    struct api_body b;
    unsigned status;

    FUZZ_ASSERT(ex != NULL);
    if (body != NULL && len > 0 && api_exchange_wants_body(ex))
        api_exchange_body(ex, body, len);
    api_exchange_end(ex);
    resp = api_exchange_response(ex);
    FUZZ_ASSERT(resp != NULL);
    status = resp->status;
    if (status >= 400)
        FUZZ_ASSERT(resp->content_type != NULL &&
                    strcmp(resp->content_type, "application/problem+json") ==
                        0);
    api_response_take_body(ex, &b);
    if (b.release != NULL)
        b.release(b.cls);
    api_exchange_free(ex, true);
    return status;
}

static void teardown(void)
{
    char cmd[128];

    api_destroy(env.api);
    mc_catalog_close(env.cat);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", env.dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", env.dir);
}

static void setup(void)
{
    static const char fix[] = "{\"backing\": \"memory\", \"size\": 4096}";
    struct mc_catalog_options opt = {0};
    struct api_config cfg = {0};

    snprintf(env.dir, sizeof(env.dir), "%s/mmapd-fuzz-json-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    FUZZ_ASSERT(mkdtemp(env.dir) != NULL);
    opt.data_dir = env.dir;
    opt.view_size = 64 * 1024;
    opt.cache_bytes = 16u << 20;
    opt.max_map_size = 1u << 20;
    FUZZ_ASSERT(mc_catalog_open(&opt, &env.cat) == MC_OK);
    cfg.catalog = env.cat;
    cfg.max_body = 1u << 20;
    cfg.max_ranges = 4;
    cfg.version = "fuzz";
    FUZZ_ASSERT(api_create(&cfg, &env.api) == 0);
    FUZZ_ASSERT(run("PUT", "/v1/maps/fix", fix, sizeof(fix) - 1) == 201);
    atexit(teardown);
}

/* A server-side failure that no request body may cause. */
static bool acceptable(unsigned status)
{
    return status < 500 || status == 503 || status == 507;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned st;

    if (env.api == NULL)
        setup();
    st = run("PUT", "/v1/maps/fz", data, size);
    FUZZ_ASSERT(acceptable(st));
    if (st == 200 || st == 201)
        FUZZ_ASSERT(run("DELETE", "/v1/maps/fz", NULL, 0) == 204);
    FUZZ_ASSERT(acceptable(run("PATCH", "/v1/maps/fix", data, size)));
    FUZZ_ASSERT(acceptable(run("POST", "/v1/maps/fix/flush", data, size)));
    return 0;
}
