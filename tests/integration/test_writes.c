/* test_writes.c - proves the framing rules of PUT /data on the real server:
 * a chunked body (no Content-Length) is accepted and must fill its
 * Content-Range exactly - one byte short or long is 400 length_mismatch and
 * writes nothing; a chunked body with ?offset runs at most to the end of the
 * mapping (416 past it, nothing written); and a Content-Range whose /SIZE
 * is not the mapping's size is 416 before any byte is read.
 */
#include "itest.h"

#define SIZE 4096

static void setup(struct itest_server *s, char *pat)
{
    itest_start(s, NULL);
    itest_create_filled(s, "w", pat, SIZE, 11);
}

static void expect_data(const struct itest_server *s, const char *pat)
{
    itest_expect_data(s, "w", pat, SIZE);
}

/* Send a chunked PUT with the given extra header line (ending in CRLF) and
 * chunks (NUL-terminated strings, NULL-ended); return the status. */
static long chunked_put(const struct itest_server *s, const char *target,
                        const char *extra, const char *const chunks[])
{
    char req[2048], reply[4096];
    size_t used;
    long status = 0;

    used = (size_t)snprintf(req, sizeof(req),
                            "PUT %s HTTP/1.1\r\nHost: x\r\n%s"
                            "Transfer-Encoding: chunked\r\n"
                            "Connection: close\r\n\r\n",
                            target, extra);
    for (size_t i = 0; chunks[i] != NULL; i++)
        used += (size_t)snprintf(req + used, sizeof(req) - used,
                                 "%zx\r\n%s\r\n", strlen(chunks[i]),
                                 chunks[i]);
    used += (size_t)snprintf(req + used, sizeof(req) - used, "0\r\n\r\n");
    itest_raw(s, req, used, reply, sizeof(reply), 3000);
    CHECK(sscanf(reply, "HTTP/1.1 %ld", &status) == 1);
    return status;
}

TEST(chunked_bodies)
{
    struct itest_server s = {0};
    char pat[SIZE];

    setup(&s, pat);
    CHECK_EQ_U64(chunked_put(&s, "/v1/maps/w/data",
                             "Content-Range: bytes 10-15/*\r\n",
                             (const char *const[]){"abc", "def", NULL}),
                 204);
    memcpy(pat + 10, "abcdef", 6);
    expect_data(&s, pat);

    /* Short and long bodies: refused, nothing written. */
    CHECK_EQ_U64(chunked_put(&s, "/v1/maps/w/data",
                             "Content-Range: bytes 100-105/*\r\n",
                             (const char *const[]){"ABC", "DE", NULL}),
                 400);
    CHECK_EQ_U64(chunked_put(&s, "/v1/maps/w/data",
                             "Content-Range: bytes 100-105/*\r\n",
                             (const char *const[]){"ABCD", "EFG", NULL}),
                 400);
    expect_data(&s, pat);

    /* ?offset: to the end at most. */
    CHECK_EQ_U64(chunked_put(&s, "/v1/maps/w/data?offset=4094", "",
                             (const char *const[]){"yz", NULL}),
                 204);
    memcpy(pat + 4094, "yz", 2);
    expect_data(&s, pat);
    CHECK_EQ_U64(chunked_put(&s, "/v1/maps/w/data?offset=4094", "",
                             (const char *const[]){"123", NULL}),
                 416);
    expect_data(&s, pat);
    itest_cleanup(&s);
}

TEST(content_range_size_must_match)
{
    struct itest_server s = {0};
    char pat[SIZE];

    setup(&s, pat);
    ITEST_PROBLEM(&s, "PUT", "/v1/maps/w/data",
                  ((const char *const[]){"Content-Range: bytes 0-1/4097",
                                         NULL}),
                  "zz", 2, 416, "range_not_satisfiable");
    ITEST_PROBLEM(&s, "PUT", "/v1/maps/w/data",
                  ((const char *const[]){"Content-Range: bytes 0-1/*", NULL}),
                  "zzz", 3, 400, "length_mismatch");
    expect_data(&s, pat);
    itest_cleanup(&s);
}

TEST_MAIN()
