/* events.c - GET /v1/maps/{name}/events: the mapping's changes as
 * text/event-stream (README "Events").
 *
 * One stream per subscriber. Each change is one event:
 *
 *   id: <generation>
 *   event: write | resize | delete
 *   data: {"offset": O, "length": L, "etag": "..."}
 *
 * (a resize: offset 0 and the new size as length; a delete: the last
 * ETag, after which the stream ends). Without Last-Event-ID the stream
 * starts with the next change; with it, it resumes after that id, or, when
 * the mapping's history (the last 1,024 changes, mc_events.h) no longer
 * reaches back that far, starts with
 *
 *   id: <generation now>
 *   event: reset
 *   data: {"etag": "..."}
 *
 * and goes on from there: the client must re-read what it needs. A
 * comment line (": keepalive") follows 15 s of silence.
 *
 * A slow subscriber never slows a writer: writers only append to the
 * history; each stream reads it at the pace its client takes the bytes
 * (the server asks for more only when the socket has room). One that falls
 * more than the history behind gets event: reset, not the events it
 * missed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mapcore/mc_events.h"

#include "internal.h"

#define BATCH 16 /* events formatted per refill */
#define EVENT_MAX 192 /* one formatted event */

struct stream {
    struct api *api;
    struct mc_mapping *m; /* a reference of our own */
    uint64_t mapping_id;
    uint64_t last; /* id of the last event sent (or skipped by a reset) */
    bool reset_due;
    bool ended;       /* the delete went out: end after the buffer */
    uint64_t idle_ms; /* when the last bytes were handed over */
    size_t len, off;  /* buf[off..len) waits to be handed over */
    char buf[BATCH * EVENT_MAX];
};

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The ETag of generation gen as a JSON string: its quotes are part of
 * its value, so they are escaped (as in the mapping's metadata). */
static void etag_json(const struct stream *st, uint64_t gen, char *out)
{
    char etag[API_ETAG_MAX];
    size_t n;

    api__etag(st->api, st->mapping_id, gen, etag);
    n = strlen(etag);
    snprintf(out, API_ETAG_MAX + 8, "\"\\\"%.*s\\\"\"", (int)(n - 2),
             etag + 1);
}

static size_t format_event(struct stream *st, const struct mc_event *ev,
                           char *out)
{
    char etag[API_ETAG_MAX + 8];
    const struct mc_change *c = &ev->change;
    int n;

    etag_json(st, c->generation, etag);
    switch (c->kind) {
    case MC_CHANGE_DELETE:
        st->ended = true;
        n = snprintf(out, EVENT_MAX,
                     "id: %" PRIu64 "\nevent: delete\ndata: {\"etag\": %s}\n\n",
                     ev->id, etag);
        break;
    default:
        n = snprintf(out, EVENT_MAX,
                     "id: %" PRIu64 "\nevent: %s\ndata: {\"offset\": %" PRIu64
                     ", \"length\": %" PRIu64 ", \"etag\": %s}\n\n",
                     ev->id, c->kind == MC_CHANGE_RESIZE ? "resize" : "write",
                     c->offset, c->length, etag);
        break;
    }
    return n > 0 && n < EVENT_MAX ? (size_t)n : 0;
}

/* Fill buf with what is due now (a reset, events, a keepalive). */
static void refill(struct stream *st)
{
    struct mc_event ev[BATCH];
    uint64_t newest;
    bool gap;
    size_t n;

    st->len = st->off = 0;
    n = mc_events_read(st->m, st->last, ev, BATCH, &gap, &newest);
    if (gap || st->reset_due) {
        char etag[API_ETAG_MAX + 8];
        int w;

        st->reset_due = false;
        etag_json(st, newest, etag);
        w = snprintf(st->buf, sizeof st->buf,
                     "id: %" PRIu64 "\nevent: reset\ndata: {\"etag\": %s}\n\n",
                     newest, etag);
        st->len = w > 0 ? (size_t)w : 0;
        st->last = newest;
        return;
    }
    for (size_t i = 0; i < n && !st->ended; i++) {
        st->len += format_event(st, &ev[i], st->buf + st->len);
        st->last = ev[i].id;
    }
    if (st->len == 0 && now_ms() - st->idle_ms >= API_STREAM_IDLE_MS)
        st->len = (size_t)snprintf(st->buf, sizeof st->buf, ": keepalive\n\n");
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream *st = cls;
    size_t n;

    (void)pos;
    if (st->off == st->len) {
        if (st->ended)
            return -1;
        refill(st);
        if (st->len == 0)
            return 0;
    }
    n = st->len - st->off < max ? st->len - st->off : max;
    memcpy(buf, st->buf + st->off, n);
    st->off += n;
    st->idle_ms = now_ms();
    return (ssize_t)n;
}

static bool stream_ready(void *cls)
{
    struct stream *st = cls;
    struct mc_event ev;
    uint64_t newest;
    bool gap;

    if (st->off < st->len || st->ended || st->reset_due)
        return true;
    return mc_events_read(st->m, st->last, &ev, 1, &gap, &newest) > 0 || gap;
}

static void stream_release(void *cls)
{
    struct stream *st = cls;

    mc_mapping_unref(st->m);
    free(st);
}

static void events_get(struct api_exchange *ex, const struct api_request *req)
{
    const char *lei = req->header(req->conn, "Last-Event-ID");
    struct stream *st;
    uint64_t now;
    enum mc_err rc;

    if (!api__need_map(ex))
        return;
    st = calloc(1, sizeof(*st));
    if (st == NULL) {
        api__fail(ex, API_EINTERNAL, "out of memory");
        return;
    }
    rc = mc_events_start(ex->map, &now);
    if (rc != MC_OK) {
        free(st);
        api__fail_mc(ex, rc);
        return;
    }
    st->api = ex->api;
    st->m = ex->map;
    mc_mapping_ref(st->m);
    st->mapping_id = mc_mapping_id(st->m);
    st->last = now;
    st->idle_ms = now_ms();
    if (lei != NULL && !api_parse_u64(lei, &st->last)) {
        st->last = now;
        st->reset_due = true; /* not one of our ids: start over */
    }
    api__content_type(ex, "text/event-stream");
    api__header(ex, "Cache-Control", "no-cache");
    api__body_set(ex, &(struct api_body){
                          .kind = API_BODY_STREAM,
                          .read = stream_read,
                          .ready = stream_ready,
                          .key = st->m,
                          .release = stream_release,
                          .cls = st,
                      });
    api__respond(ex, API_S_OK);
}

const struct api_handler api__op_events = {0, events_get, NULL, NULL, NULL};
