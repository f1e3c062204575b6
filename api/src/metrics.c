/* metrics.c - request counters and the /metrics exposition.
 *
 * Recording touches only fixed arrays of atomics (internal.h), so the hot
 * path neither allocates nor locks. Rendering happens on a scrape, which is
 * rare, and may allocate. The format is Prometheus text exposition 0.0.4.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

/* Upper bounds of the duration buckets, in microseconds and as the "le"
 * labels Prometheus expects (seconds). The two lists must stay in step. */
static const uint64_t bucket_us[API_HIST_BOUNDS] = {
    500,   1000,   2500,   5000,   10000,   25000,
    50000, 100000, 250000, 500000, 1000000, 2500000,
};
static const char *const bucket_le[API_HIST_BOUNDS] = {
    "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
    "0.05",   "0.1",   "0.25",   "0.5",   "1",    "2.5",
};

#define RELAXED memory_order_relaxed

void api_metrics_record(struct api *api, const char *route, unsigned status,
                        uint64_t bytes_in, uint64_t bytes_out,
                        uint64_t duration_us)
{
    struct api_metrics *mt = &api->metrics;
    enum api_route r = api__route_from_label(route);
    size_t b = 0;
    /* A status outside 100..599 (a connection that broke off before an
     * answer) is timed as a 5xx: it failed. */
    unsigned c = status >= 100 && status < 600 ? status / 100 - 1 : 4;

    if (status >= API_STATUS_FIRST &&
        status < API_STATUS_FIRST + API_STATUS_SLOTS)
        atomic_fetch_add_explicit(&mt->requests[r][status - API_STATUS_FIRST],
                                  1, RELAXED);
    while (b < API_HIST_BOUNDS && duration_us > bucket_us[b])
        b++;
    atomic_fetch_add_explicit(&mt->buckets[r][c][b], 1, RELAXED);
    atomic_fetch_add_explicit(&mt->duration_us_sum[r][c], duration_us,
                              RELAXED);
    atomic_fetch_add_explicit(&mt->bytes_received, bytes_in, RELAXED);
    atomic_fetch_add_explicit(&mt->bytes_sent, bytes_out, RELAXED);
}

void api__metrics_unacknowledged(struct api *api)
{
    atomic_fetch_add_explicit(&api->metrics.writes_unacknowledged, 1, RELAXED);
}

static uint64_t load(atomic_uint_least64_t *a)
{
    return atomic_load_explicit(a, RELAXED);
}

static void family(FILE *f, const char *name, const char *type,
                   const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void scalar(FILE *f, const char *name, const char *type,
                   const char *help, uint64_t v)
{
    family(f, name, type, help);
    fprintf(f, "%s %" PRIu64 "\n", name, v);
}

/* Counted from a snapshot of the catalog rather than a counter kept in
 * mapcore, so that a damaged mapping removed with DELETE stops counting; a
 * scrape is rare enough for the copy. When the snapshot fails (out of
 * memory) 0 is reported rather than failing the whole scrape. */
static uint64_t damaged_count(struct api *api)
{
    struct mc_info *all = NULL;
    size_t n = 0;
    uint64_t damaged = 0;

    if (mc_catalog_list(api->cat, &all, &n) != MC_OK)
        return 0;
    for (size_t i = 0; i < n; i++)
        damaged += all[i].damaged;
    free(all);
    return damaged;
}

static void render(FILE *f, struct api *api)
{
    struct api_metrics *mt = &api->metrics;
    struct mc_cache_stats st;
    struct mc_memory_stats mem;
    uint64_t body_limit, body_used, body_refused;

    family(f, "mmapd_requests_total", "counter",
           "HTTP requests answered, by route and status code.");
    for (unsigned r = 0; r < API_ROUTE_COUNT; r++) {
        for (unsigned s = 0; s < API_STATUS_SLOTS; s++) {
            uint64_t v = load(&mt->requests[r][s]);

            if (v != 0)
                fprintf(f,
                        "mmapd_requests_total{route=\"%s\",code=\"%u\"} "
                        "%" PRIu64 "\n",
                        api__route_label((enum api_route)r),
                        s + API_STATUS_FIRST, v);
        }
    }
    scalar(f, "mmapd_request_bytes_received_total", "counter",
           "Request body bytes received.", load(&mt->bytes_received));
    scalar(f, "mmapd_response_bytes_sent_total", "counter",
           "Response body bytes sent.", load(&mt->bytes_sent));
    scalar(f, "mmapd_writes_unacknowledged_total", "counter",
           "Data writes that changed bytes but were never acknowledged "
           "(broken off or failed part-way).",
           load(&mt->writes_unacknowledged));

    family(f, "mmapd_request_duration_seconds", "histogram",
           "Time from the request line to the end of the response, by route "
           "and status class.");
    for (unsigned r = 0; r < API_ROUTE_COUNT; r++) {
        const char *label = api__route_label((enum api_route)r);

        for (unsigned c = 0; c < API_STATUS_CLASSES; c++) {
            uint64_t n[API_HIST_BOUNDS + 1], total = 0, cum = 0;
            uint64_t sum_us = load(&mt->duration_us_sum[r][c]);

            /* Load each bucket once, so the cumulative counts and _count
             * printed agree even while requests are being recorded. */
            for (unsigned b = 0; b <= API_HIST_BOUNDS; b++)
                total += n[b] = load(&mt->buckets[r][c][b]);
            if (total == 0)
                continue; /* series appear once the class has been seen */
            for (unsigned b = 0; b <= API_HIST_BOUNDS; b++) {
                cum += n[b];
                fprintf(f,
                        "mmapd_request_duration_seconds_bucket{route=\"%s\","
                        "status_class=\"%uxx\",le=\"%s\"} %" PRIu64 "\n",
                        label, c + 1,
                        b < API_HIST_BOUNDS ? bucket_le[b] : "+Inf", cum);
            }
            fprintf(f,
                    "mmapd_request_duration_seconds_sum{route=\"%s\","
                    "status_class=\"%uxx\"} %" PRIu64 ".%06" PRIu64 "\n",
                    label, c + 1, sum_us / 1000000, sum_us % 1000000);
            fprintf(f,
                    "mmapd_request_duration_seconds_count{route=\"%s\","
                    "status_class=\"%uxx\"} %" PRIu64 "\n",
                    label, c + 1, cum);
        }
    }

    mc_catalog_cache_stats(api->cat, &st);
    scalar(f, "mmapd_view_cache_views", "gauge", "Views mapped now.", st.views);
    scalar(f, "mmapd_view_cache_pinned", "gauge",
           "Views pinned by requests now.", st.pinned);
    scalar(f, "mmapd_view_cache_bytes_mapped", "gauge",
           "Bytes mapped by cached views.", st.bytes_mapped);
    scalar(f, "mmapd_view_cache_capacity_bytes", "gauge",
           "Byte budget of the view cache.", st.budget_bytes);
    scalar(f, "mmapd_view_cache_hits_total", "counter",
           "View acquisitions served by a mapped view.", st.hits);
    scalar(f, "mmapd_view_cache_misses_total", "counter",
           "View acquisitions that had to map.", st.misses);
    scalar(f, "mmapd_view_cache_evictions_total", "counter",
           "Views unmapped to stay within the budget.", st.evictions);
    scalar(f, "mmapd_view_cache_declined_total", "counter",
           "Misses read from the backing without mapping a view, so that a "
           "full cache does not churn.", st.declined);
    scalar(f, "mmapd_mappings", "gauge", "Mappings in the catalog.",
           (uint64_t)mc_catalog_count(api->cat));
    scalar(f, "mmapd_mappings_damaged", "gauge",
           "Mappings loaded damaged (backing truncated or unreadable), each "
           "answering 500 mapping_damaged until removed.",
           damaged_count(api));

    mc_catalog_memory(api->cat, &mem);
    scalar(f, "mmapd_memory_budget_bytes", "gauge",
           "Budget for the total size of memory-backed mappings "
           "(--max-memory).", mem.budget_bytes);
    scalar(f, "mmapd_memory_used_bytes", "gauge",
           "Total size of the memory-backed mappings now.", mem.used_bytes);
    scalar(f, "mmapd_memory_refused_total", "counter",
           "Memory-backed creates and grows refused with 507 memory_limit.",
           mem.refused);
    api__bodymem_stats(&api->bodymem, &body_limit, &body_used,
                       &body_refused);
    scalar(f, "mmapd_body_memory_budget_bytes", "gauge",
           "Budget for request bodies held in memory, all connections "
           "together (--max-body-memory).", body_limit);
    scalar(f, "mmapd_body_memory_used_bytes", "gauge",
           "Bytes reserved for request bodies held in memory now.",
           body_used);
    scalar(f, "mmapd_body_memory_refused_total", "counter",
           "Requests refused with 503 body_memory_limit.", body_refused);
    scalar(f, "mmapd_faults_total", "counter",
           "SIGBUS faults caught while copying mapping bytes (truncated "
           "backing files, full disks); each failed one request.",
           mc_faults_total());
}

static void metrics_get(struct api_exchange *ex,
                        const struct api_request *req)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    bool ok;

    (void)req;
    if (f == NULL) {
        api__fail(ex, API_EINTERNAL, "out of memory");
        return;
    }
    render(f, ex->api);
    ok = !ferror(f);
    if (fclose(f) != 0)
        ok = false;
    if (!ok || !api__body_copy(ex, "text/plain; version=0.0.4; charset=utf-8",
                               text, len)) {
        free(text);
        api__fail(ex, API_EINTERNAL, "out of memory");
        return;
    }
    free(text);
    api__respond(ex, API_S_OK);
}

const struct api_handler api__op_metrics = {0, metrics_get, NULL, NULL, NULL};
