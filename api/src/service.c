/* service.c - the API object itself, and the service endpoints: /healthz,
 * /readyz and /v1/info.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "internal.h"

void api__random(void *buf, size_t n)
{
    static atomic_uint_least64_t counter;
    unsigned char *p = buf;
    size_t got = 0;

    while (got < n) {
        ssize_t r = getrandom(p + got, n - got, GRND_NONBLOCK);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (got == n)
        return;
    /* No entropy yet (early boot) or no syscall: mix the clock with a
     * counter. Good enough for what this is used for, see internal.h. */
    for (; got < n; got++) {
        struct timespec ts;
        uint64_t x;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
            (atomic_fetch_add(&counter, 1) * 0x9e3779b97f4a7c15ull);
        x ^= x >> 29;
        p[got] = (unsigned char)(x ^ (x >> 8));
    }
}

int api_create(const struct api_config *cfg, struct api **out)
{
    struct api *api;

    *out = NULL;
    if (cfg == NULL || cfg->catalog == NULL)
        return -1;
    api = calloc(1, sizeof(*api));
    if (api == NULL)
        return -1;
    api->cat = cfg->catalog;
    api->max_body = cfg->max_body;
    api->atomic_write_max = cfg->atomic_write_max != 0
                                ? cfg->atomic_write_max
                                : API_ATOMIC_WRITE_DEFAULT;
    {
        struct mc_cache_stats st;

        mc_catalog_cache_stats(cfg->catalog, &st);
        api->view_size = st.view_size;
        api->pin_limit = st.budget_bytes / 4 < API_PIN_MAX
                             ? st.budget_bytes / 4
                             : API_PIN_MAX;
    }
    api__bodymem_init(&api->bodymem, cfg->max_body_memory);
    api->max_ranges = cfg->max_ranges;
    api->threads = cfg->threads;
    api->max_connections = cfg->max_connections;
    api->max_wait_s = cfg->max_wait_s;
    snprintf(api->version, sizeof(api->version), "%s",
             cfg->version != NULL ? cfg->version : "unknown");
    api__random(&api->boot_nonce, sizeof(api->boot_nonce));
    if (api__cors_init(&api->cors, cfg->cors_origins, cfg->cors_count) != 0) {
        free(api);
        return -1;
    }
    if (pthread_mutex_init(&api->tokens_lock, NULL) != 0) {
        api__cors_free(&api->cors);
        free(api);
        return -1;
    }
    api->tokens = api_tokens_ref(cfg->tokens);
    *out = api;
    return 0;
}

void api_destroy(struct api *api)
{
    if (api == NULL)
        return;
    api_tokens_unref(api->tokens);
    pthread_mutex_destroy(&api->tokens_lock);
    api__cors_free(&api->cors);
    free(api);
}

static void healthz(struct api_exchange *ex, const struct api_request *req)
{
    (void)req;
    api__respond_json(ex, API_S_OK, json_pack("{s:s}", "status", "ok"));
}

const struct api_handler api__op_healthz = {0, healthz, NULL, NULL, NULL};

static void readyz(struct api_exchange *ex, const struct api_request *req)
{
    (void)req;
    if (!mc_catalog_writable(ex->api->cat)) {
        api__fail(ex, API_ENOTREADY, "the data directory is not writable");
        return;
    }
    api__respond_json(ex, API_S_OK, json_pack("{s:s}", "status", "ready"));
}

const struct api_handler api__op_readyz = {0, readyz, NULL, NULL, NULL};

/* jansson integers are signed; no figure here gets near 2^63. */
static json_int_t j(uint64_t v)
{
    return v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v;
}

static void info(struct api_exchange *ex, const struct api_request *req)
{
    struct api *api = ex->api;
    struct mc_catalog_options opt;
    struct mc_cache_stats st;
    struct mc_memory_stats mem;
    uint64_t body_limit, body_used, body_refused;
    long page = sysconf(_SC_PAGESIZE);

    (void)req;
    mc_catalog_options_get(api->cat, &opt);
    mc_catalog_cache_stats(api->cat, &st);
    mc_catalog_memory(api->cat, &mem);
    api__bodymem_stats(&api->bodymem, &body_limit, &body_used, &body_refused);
    api__respond_json(
        ex, API_S_OK,
        json_pack(
            "{s:s, s:I, s:I,"
            " s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I},"
            " s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:I}",
            "version", api->version, "page_size",
            (json_int_t)(page > 0 ? page : 4096), "view_size", j(opt.view_size),
            "cache", "capacity_bytes", j(st.budget_bytes), "views", j(st.views),
            "pinned", j(st.pinned), "bytes_mapped", j(st.bytes_mapped), "hits",
            j(st.hits), "misses", j(st.misses), "evictions", j(st.evictions),
            "declined", j(st.declined),
            "limits", "max_map_size", j(opt.max_map_size), "max_body",
            j(api->max_body), "max_ranges", (json_int_t)api->max_ranges,
            "max_connections", (json_int_t)api->max_connections, "threads",
            (json_int_t)api->threads, "max_memory", j(mem.budget_bytes),
            "memory_used", j(mem.used_bytes), "max_body_memory",
            j(body_limit), "body_memory_used", j(body_used), "mappings",
            j(mc_catalog_count(api->cat))));
}

const struct api_handler api__op_info = {0, info, NULL, NULL, NULL};
