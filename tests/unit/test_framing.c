/* test_framing.c - srv_framing_check(), the request-head rules of README.md
 * "Request framing": every ambiguous head is refused with its status, a
 * plain one passes. Heads are written as text; lines end in CRLF unless a
 * test says otherwise. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "framing.h"
#include "head_lines.h"

#define MAXF 256

struct head {
    struct srv_field f[MAXF];
    struct srv_head h;
};

/* Header text (no request line, which ended in CRLF) into x. */
static void build(struct head *x, const char *text, size_t len, bool http11)
{
    size_t n;

    memset(x, 0, sizeof(*x));
    n = head_lines(text, len, -2, x->f, MAXF);
    x->h = (struct srv_head){.target_len = 8, .http11 = http11,
                             .fields = x->f, .nfields = n,
                             .max_head_bytes = 16384};
}

static unsigned check(const char *text, size_t len)
{
    static struct head x;
    const char *why;
    unsigned st;

    build(&x, text, len, true);
    st = srv_framing_check(&x.h, &why);
    CHECK(st == 0 ? why == NULL : why != NULL);
    return st;
}

#define CHECK_HEAD(lit, status) CHECK_EQ_U64(check(lit, sizeof(lit) - 1), status)

TEST(plain_heads_pass)
{
    CHECK_HEAD("Host: x\r\n", 0);
    CHECK_HEAD("Host: x\r\nContent-Length: 12\r\nX-A: b\tc\r\n", 0);
    CHECK_HEAD("Host: x\r\nTransfer-Encoding: Chunked\r\n", 0);
}

TEST(content_length_twice_is_400)
{
    CHECK_HEAD("Host: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n", 400);
    CHECK_HEAD("Host: x\r\nContent-Length: 1\r\ncontent-length: 1\r\n", 400);
    CHECK_HEAD("Host: x\r\nContent-Length: 1, 1\r\n", 400);
    CHECK_HEAD("Host: x\r\nContent-Length: +1\r\n", 400);
    CHECK_HEAD("Host: x\r\nContent-Length: \r\n", 400);
}

TEST(content_length_with_transfer_encoding_is_400)
{
    CHECK_HEAD("Host: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n",
               400);
    CHECK_HEAD("Host: x\r\nTransfer-Encoding: chunked\r\n"
               "Transfer-Encoding: chunked\r\n",
               400);
}

TEST(whitespace_before_colon_is_400)
{
    CHECK_HEAD("Host: x\r\nTransfer-Encoding : chunked\r\n", 400);
    CHECK_HEAD("Host: x\r\nContent-Length\t: 4\r\n", 400);
    CHECK_HEAD("Host: x\r\n: empty name\r\n", 400);
}

TEST(obs_fold_bare_lf_and_nul_are_400)
{
    CHECK_HEAD("Host: x\r\nX-A: a\r\n b\r\nX-B: c\r\n", 400); /* fold */
    CHECK_HEAD("Host: x\nX-A: a\r\n", 400);                   /* bare LF */
    CHECK_HEAD("Host: x\r\nRange: bytes=0-1\0x\r\nX: y\r\n", 400);
    CHECK_HEAD("Host: x\r\nX-A: a\x01z\r\n", 400);
    CHECK_HEAD("Host: x\r\nX-A: a\x7fz\r\n", 400);
}

TEST(host_missing_or_doubled_is_400)
{
    static struct head x;
    const char *why;

    CHECK_HEAD("X-A: b\r\n", 400);
    CHECK_HEAD("Host: x\r\nhost: y\r\n", 400);
    build(&x, "X-A: b\r\n", 8, false); /* HTTP/1.0 needs none */
    CHECK_EQ_U64(srv_framing_check(&x.h, &why), 0);
    build(&x, "Host: a\r\nHost: a\r\n", 18, false);
    CHECK_EQ_U64(srv_framing_check(&x.h, &why), 400);
}

TEST(target_cut_or_unclean_is_400)
{
    static struct head x;
    const char *why;

    CHECK(srv_framing_target_clean("/v1/maps/a?x=1", 14));
    CHECK(!srv_framing_target_clean("/v1/maps/a\0b", 12));
    CHECK(!srv_framing_target_clean("/a b", 4));
    CHECK(!srv_framing_target_clean("/a\x80", 3));
    build(&x, "Host: x\r\n", 9, true);
    x.h.target_bad = true;
    CHECK_EQ_U64(srv_framing_check(&x.h, &why), 400);
    x.h.target_bad = false;
    x.h.last_cut = true;
    CHECK_EQ_U64(srv_framing_check(&x.h, &why), 400);
}

TEST(unknown_coding_is_501)
{
    CHECK_HEAD("Host: x\r\nTransfer-Encoding: gzip\r\n", 501);
    CHECK_HEAD("Host: x\r\nTransfer-Encoding: gzip, chunked\r\n", 501);
    CHECK_HEAD("Host: x\r\nTransfer-Encoding: chunked, chunked\r\n", 501);
}

TEST(sizes_are_414_and_431)
{
    static struct head x;
    static char many[4096];
    const char *why;
    size_t k = 0;

    build(&x, "Host: x\r\n", 9, true);
    x.h.target_len = x.h.max_head_bytes + 1;
    CHECK_EQ_U64(srv_framing_check(&x.h, &why), 414);
    k += (size_t)snprintf(many, sizeof(many), "Host: x\r\n");
    for (unsigned i = 0; i < SRV_FRAMING_MAX_LINES; i++)
        k += (size_t)snprintf(many + k, sizeof(many) - k, "X: y\r\n");
    build(&x, many, k, true);
    CHECK_EQ_U64(srv_framing_check(&x.h, &why), 431);
    build(&x, "Host: x\r\n", 9, true);
    x.h.max_head_bytes = 16;
    CHECK_EQ_U64(srv_framing_check(&x.h, &why), 431);
    x.h.max_head_bytes = 8 + 4 + 5; /* target + "Host" ": " "x" CRLF */
    CHECK_EQ_U64(srv_framing_check(&x.h, &why), 0);
}

TEST_MAIN()
