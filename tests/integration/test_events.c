/* test_events.c - GET /v1/maps/{name}/events (README "Events"), through
 * the real server, read as raw text/event-stream off a socket.
 *
 * Proves that a subscriber gets one event per change, with the id (the
 * generation), the type (write, resize, delete) and the range and ETag
 * the change produced (the ETag a GET then shows), and that the stream
 * ends after the delete; that Last-Event-ID resumes after that id, and
 * that an id the history no longer reaches (or never did, or that is not
 * ours) starts with event: reset; that a subscriber that does not read
 * never stops a writer, and later gets a reset and then the newest events;
 * that streams are bounded by --max-waiters (503 too_many_waiters); that
 * 15 s of silence send a comment line; and that SIGTERM ends open streams
 * and the server exits cleanly.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "itest.h"

#define WAIT_MS 20000 /* longest we wait for what must come */

/* A subscriber: the raw bytes read, and the event-stream text they carry
 * once the chunked framing is taken off. */
struct sub {
    int fd;
    char *raw;
    size_t rawlen, rawcap, parsed; /* raw[parsed..] not yet de-chunked */
    char *text;
    size_t textlen;
    bool ended; /* the last chunk came */
};

static void start(struct itest_server *s, const char *const extra[])
{
    CHECK(curl_global_init(CURL_GLOBAL_ALL) == CURLE_OK);
    itest_start(s, extra);
    itest_create(s, "m", "{\"size\": 4096}");
}

/* Take complete chunks off raw into text. */
static void dechunk(struct sub *b)
{
    for (;;) {
        char *p = b->raw + b->parsed;
        char *nl = memmem(p, b->rawlen - b->parsed, "\r\n", 2);
        unsigned long n;

        if (nl == NULL)
            return;
        n = strtoul(p, NULL, 16);
        if ((size_t)(nl + 2 - b->raw) + n + 2 > b->rawlen)
            return; /* the chunk is not all here */
        memcpy(b->text + b->textlen, nl + 2, n);
        b->textlen += n;
        b->text[b->textlen] = '\0';
        b->parsed = (size_t)(nl + 2 - b->raw) + n + 2;
        if (n == 0) {
            b->ended = true;
            return;
        }
    }
}

/* Read what arrives within ms (at least one read when data is there). */
static void pump(struct sub *b, int ms)
{
    struct pollfd p = {.fd = b->fd, .events = POLLIN};
    ssize_t n;

    if (poll(&p, 1, ms) != 1)
        return;
    if (b->rawcap - b->rawlen < 65536) {
        b->rawcap = b->rawcap * 2 + 65536;
        b->raw = realloc(b->raw, b->rawcap + 1);
        b->text = realloc(b->text, b->rawcap + 1);
        CHECK(b->raw != NULL && b->text != NULL);
    }
    n = read(b->fd, b->raw + b->rawlen, b->rawcap - b->rawlen);
    if (n <= 0) {
        b->ended = true;
        return;
    }
    b->rawlen += (size_t)n;
    b->raw[b->rawlen] = '\0';
    dechunk(b);
}

/* Pump until the text holds needle; fail after WAIT_MS. */
static void expect_text(struct sub *b, const char *needle)
{
    for (int waited = 0; strstr(b->text, needle) == NULL; waited += 50) {
        if (waited >= WAIT_MS || (b->ended && b->fd < 0))
            TEST_FAIL("no \"%s\" in the stream: %s", needle, b->text);
        pump(b, 50);
    }
}

/* Subscribe to m's events with Last-Event-ID lei (NULL: none); require
 * 200 text/event-stream. The text starts after the head. */
static void subscribe(const struct itest_server *s, struct sub *b,
                      const char *lei, int rcvbuf)
{
    char req[256];
    char *end;
    int n;

    memset(b, 0, sizeof *b);
    b->fd = itest_connect(s->port, rcvbuf);
    if (b->fd < 0)
        TEST_FAIL("connect: %s", strerror(errno));
    n = snprintf(req, sizeof req,
                 "GET /v1/maps/m/events HTTP/1.1\r\nHost: x\r\n%s%s%s\r\n",
                 lei ? "Last-Event-ID: " : "", lei ? lei : "",
                 lei ? "\r\n" : "");
    CHECK(write(b->fd, req, (size_t)n) == n);
    b->rawcap = 65536;
    b->raw = calloc(1, b->rawcap + 1);
    b->text = calloc(1, b->rawcap + 1);
    CHECK(b->raw != NULL && b->text != NULL);
    for (int waited = 0; (end = strstr(b->raw, "\r\n\r\n")) == NULL;
         waited += 50) {
        struct pollfd p = {.fd = b->fd, .events = POLLIN};
        ssize_t r;

        if (waited >= WAIT_MS)
            TEST_FAIL("no answer head: %s", b->raw);
        if (poll(&p, 1, 50) != 1)
            continue;
        r = read(b->fd, b->raw + b->rawlen, b->rawcap - b->rawlen);
        if (r <= 0)
            TEST_FAIL("closed before the head: %s", b->raw);
        b->rawlen += (size_t)r;
        b->raw[b->rawlen] = '\0';
    }
    if (strncmp(b->raw, "HTTP/1.1 200", 12) != 0 ||
        strstr(b->raw, "Content-Type: text/event-stream") == NULL ||
        strstr(b->raw, "Transfer-Encoding: chunked") == NULL)
        TEST_FAIL("not an event stream: %s", b->raw);
    b->parsed = (size_t)(end + 4 - b->raw);
    dechunk(b);
}

static void unsubscribe(struct sub *b)
{
    if (b->fd >= 0)
        close(b->fd);
    free(b->raw);
    free(b->text);
}

/* The id the first "event: reset" carries. */
static uint64_t reset_id(const struct sub *b)
{
    const char *r = strstr(b->text, "event: reset");
    const char *id;
    uint64_t v = 0;

    CHECK(r != NULL);
    for (id = r; id > b->text && strncmp(id, "id: ", 4) != 0; id--)
        ;
    CHECK(sscanf(id, "id: %" SCNu64, &v) == 1);
    return v;
}

/* The escaped JSON form of the current ETag of m, as events carry it. */
static void etag_json(const struct itest_server *s, char *out, size_t len)
{
    char etag[64];

    itest_etag(s, "m", etag, sizeof etag);
    etag[strlen(etag) - 1] = '\0';
    snprintf(out, len, "\"etag\": \"\\%s\\\"\"", etag);
}

TEST(each_change_is_an_event_and_delete_ends_the_stream)
{
    struct itest_server s = {0};
    struct sub b;
    char want[256], tag[96];

    start(&s, NULL);
    subscribe(&s, &b, NULL, 0);
    itest_expect_status(&s, "PUT", "/v1/maps/m/data?offset=10", NULL, "hello",
                        204);
    etag_json(&s, tag, sizeof tag);
    snprintf(want, sizeof want,
             "id: 2\nevent: write\ndata: {\"offset\": 10, \"length\": 5, "
             "%s}\n\n",
             tag);
    expect_text(&b, want);
    itest_expect_status(
        &s, "POST", "/v1/maps/m/atomic", NULL,
        "{\"ops\": [{\"op\": \"add\", \"offset\": 16, \"width\": 8, "
        "\"value\": 1}, {\"op\": \"store\", \"offset\": 40, \"width\": 4, "
        "\"value\": 2}]}",
        200);
    etag_json(&s, tag, sizeof tag);
    snprintf(want, sizeof want,
             "id: 3\nevent: write\ndata: {\"offset\": 16, \"length\": 28, "
             "%s}\n\n",
             tag);
    expect_text(&b, want);
    itest_expect_status(&s, "PATCH", "/v1/maps/m", NULL, "{\"size\": 8192}",
                        200);
    etag_json(&s, tag, sizeof tag);
    snprintf(want, sizeof want,
             "id: 4\nevent: resize\ndata: {\"offset\": 0, \"length\": 8192, "
             "%s}\n\n",
             tag);
    expect_text(&b, want);
    itest_expect_status(&s, "DELETE", "/v1/maps/m", NULL, NULL, 204);
    snprintf(want, sizeof want, "id: 5\nevent: delete\ndata: {%s}\n\n", tag);
    expect_text(&b, want);
    for (int i = 0; i < WAIT_MS / 50 && !b.ended; i++)
        pump(&b, 50);
    CHECK(b.ended); /* the last chunk came */
    unsubscribe(&b);
    /* A deleted mapping has no stream. */
    ITEST_PROBLEM(&s, "GET", "/v1/maps/m/events", NULL, NULL, 0, 404,
                  "not_found");
    itest_stop(&s);
    itest_cleanup(&s);
}

TEST(last_event_id_resumes_or_resets)
{
    struct itest_server s = {0};
    struct sub b, r;

    start(&s, NULL);
    subscribe(&s, &b, NULL, 0); /* the history starts here, at id 1 */
    for (int i = 0; i < 3; i++)
        itest_expect_status(&s, "PUT", "/v1/maps/m/data?offset=0", NULL, "x",
                            204);
    expect_text(&b, "id: 4\n");
    unsubscribe(&b);

    subscribe(&s, &r, "2", 0);
    expect_text(&r, "id: 3\nevent: write");
    expect_text(&r, "id: 4\nevent: write");
    CHECK(strstr(r.text, "id: 2\n") == NULL);
    CHECK(strstr(r.text, "reset") == NULL);
    unsubscribe(&r);

    /* Before the history began, in the future, or not ours: a reset at
     * the newest id, then the events after it. */
    static const char *const stale[] = {"0", "99", "abc"};
    for (size_t i = 0; i < 3; i++) {
        subscribe(&s, &r, stale[i], 0);
        expect_text(&r, "event: reset\ndata: {\"etag\": ");
        CHECK_EQ_U64(reset_id(&r), 4);
        unsubscribe(&r);
    }
    subscribe(&s, &r, "abc", 0);
    expect_text(&r, "event: reset");
    itest_expect_status(&s, "PUT", "/v1/maps/m/data?offset=0", NULL, "y",
                        204);
    expect_text(&r, "id: 5\nevent: write");
    unsubscribe(&r);
    /* Past the history: 1,100 changes later, id 4 is gone. */
    for (int i = 0; i < 1100; i++)
        itest_expect_status(&s, "POST", "/v1/maps/m/atomic", NULL,
                            "{\"op\": \"add\", \"offset\": 0, \"width\": 8, "
                            "\"value\": 1}",
                            200);
    subscribe(&s, &r, "4", 0);
    expect_text(&r, "event: reset");
    CHECK(strstr(r.text, "id: 6\n") == NULL);
    unsubscribe(&r);
    itest_stop(&s);
    itest_cleanup(&s);
}

/* Every id after `from` up to `to` appears, in order, unless a reset
 * came in between (then from its id on). */
static void expect_consecutive(const struct sub *b, uint64_t from, uint64_t to)
{
    uint64_t want = from + 1;

    for (const char *p = b->text; (p = strstr(p, "id: ")) != NULL; p += 4) {
        uint64_t id;

        CHECK(sscanf(p, "id: %" SCNu64, &id) == 1);
        if (strncmp(strchr(p, '\n') + 1, "event: reset", 12) == 0) {
            want = id + 1;
            continue;
        }
        if (id != want)
            TEST_FAIL("id %" PRIu64 " where %" PRIu64 " was due", id, want);
        want++;
    }
    CHECK_EQ_U64(want, to + 1);
}

/* A subscriber that reads nothing (a 4 KiB receive buffer) while 3,000
 * changes land: every write goes through (none waits for it); when it
 * reads at last it gets every event in order, or a reset where it fell
 * more than the history behind, and then the newest ones. */
TEST(a_slow_subscriber_never_stops_writers)
{
    struct itest_server s = {0};
    struct sub b;

    start(&s, NULL);
    subscribe(&s, &b, NULL, 4096);
    for (int i = 0; i < 3000; i++)
        itest_expect_status(&s, "POST", "/v1/maps/m/atomic", NULL,
                            "{\"op\": \"add\", \"offset\": 0, \"width\": 8, "
                            "\"value\": 1}",
                            200);
    expect_text(&b, "id: 3001\nevent: write");
    expect_consecutive(&b, 1, 3001);
    unsubscribe(&b);
    itest_stop(&s);
    itest_cleanup(&s);
}

TEST(streams_are_bounded_by_max_waiters)
{
    static const char *const args[] = {"--max-waiters", "1", NULL};
    struct itest_server s = {0};
    struct sub b;
    struct itest_resp r;

    start(&s, args);
    subscribe(&s, &b, NULL, 0);
    itest_request(&s, "GET", "/v1/maps/m/events", NULL, NULL, 0, &r);
    itest_expect_problem(&r, 503, "too_many_waiters");
    itest_resp_free(&r);
    unsubscribe(&b);
    itest_stop(&s);
    itest_cleanup(&s);
}

TEST(silence_sends_a_comment_and_sigterm_ends_streams)
{
    struct itest_server s = {0};
    struct sub b, c;

    start(&s, NULL);
    subscribe(&s, &b, NULL, 0);
    subscribe(&s, &c, NULL, 0);
    expect_text(&b, ": keepalive\n\n"); /* after 15 s without a change */
    itest_stop(&s); /* SIGTERM: requires exit status 0 within 15 s */
    for (int i = 0; i < WAIT_MS / 50 && !(b.ended && c.ended); i++) {
        pump(&b, 25);
        pump(&c, 25);
    }
    CHECK(b.ended && c.ended);
    unsubscribe(&b);
    unsubscribe(&c);
    itest_cleanup(&s);
}

TEST_MAIN()
