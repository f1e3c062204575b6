/* test_conns.c - the connection table (server/conns.h): admission is exact
 * under concurrency, a slot comes back on close, each phase has its
 * deadline, and reaping shuts the socket down so its peer sees the end. */
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "conns.h"

static const struct srv_conns_limits limits = {
    .max_connections = 2, .idle_s = 5, .head_s = 2, .min_rate = 1000};

/* A connected pair: [0] plays the server's socket, [1] the client's. */
static void pair(int sv[2])
{
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
}

/* True when the client end sees end-of-stream (the server end was shut
 * down), without blocking. */
static bool peer_sees_end(int client)
{
    char b;

    return recv(client, &b, 1, MSG_DONTWAIT) == 0;
}

TEST(admits_up_to_the_limit_and_frees_on_close)
{
    struct srv_conns *t = srv_conns_create(&limits, 64);
    int a[2], b[2], c[2];

    CHECK(t != NULL);
    pair(a);
    pair(b);
    pair(c);
    CHECK(srv_conns_admit(t, a[0]));
    CHECK(srv_conns_admit(t, b[0]));
    CHECK(!srv_conns_admit(t, c[0]));
    CHECK_EQ_U64(srv_conns_open(t), 2);
    srv_conns_closed(t, a[0]);
    srv_conns_closed(t, a[0]); /* twice is harmless */
    CHECK_EQ_U64(srv_conns_open(t), 1);
    CHECK(srv_conns_admit(t, c[0]));
    /* A number admitted again was closed behind the table's back: it is
     * one connection, not two. */
    CHECK(srv_conns_admit(t, c[0]));
    CHECK_EQ_U64(srv_conns_open(t), 2);
    /* Out of the table's range: refused, never indexed. */
    CHECK(!srv_conns_admit(t, 64));
    CHECK(!srv_conns_admit(t, -1));
    srv_conns_closed(t, 1000);
    srv_conns_phase(t, 1000, SRV_CONN_HEAD);
    srv_conns_destroy(t);
    for (int i = 0; i < 2; i++) {
        close(a[i]);
        close(b[i]);
        close(c[i]);
    }
}

TEST(libmicrohttpd_limit_is_out_of_reach)
{
    struct srv_conns_limits l = {.max_connections = 20};

    /* Each of 2 workers gets 21 > 20 admitted in all. */
    CHECK_EQ_U64(srv_conns_mhd_limit(&l, 2), 42);
    CHECK_EQ_U64(srv_conns_mhd_limit(&l, 0), 21);
    l.max_connections = 1000000;
    CHECK_EQ_U64(srv_conns_mhd_limit(&l, 1024), 1024001024ull);
    l.max_connections = UINT32_MAX;
    CHECK_EQ_U64(srv_conns_mhd_limit(&l, 1024), UINT32_MAX);
}

TEST(each_phase_has_its_deadline)
{
    struct srv_conns_limits four = limits;
    struct srv_conns *t;
    uint64_t now = srv_conns_now_ms();
    int w[2], h[2], bd[2], busy[2];

    pair(w);
    pair(h);
    pair(bd);
    pair(busy);
    four.max_connections = 4;
    t = srv_conns_create(&four, 64);
    CHECK(srv_conns_admit(t, w[0]));
    CHECK(srv_conns_admit(t, h[0]));
    CHECK(srv_conns_admit(t, bd[0]));
    CHECK(srv_conns_admit(t, busy[0]));
    srv_conns_phase(t, h[0], SRV_CONN_HEAD);
    srv_conns_phase(t, bd[0], SRV_CONN_BODY);
    srv_conns_received(t, bd[0], 3000); /* 3 s more at 1000 bytes/s */
    srv_conns_phase(t, busy[0], SRV_CONN_BUSY);

    CHECK_EQ_U64(srv_conns_reap(t, now + 1500), 0);
    CHECK_EQ_U64(srv_conns_reap(t, now + 2500), 1); /* HEAD, 2 s */
    CHECK(peer_sees_end(h[1]));
    CHECK(!peer_sees_end(w[1]));
    CHECK_EQ_U64(srv_conns_reap(t, now + 4500), 0);
    CHECK_EQ_U64(srv_conns_reap(t, now + 5500), 2); /* WAIT 5 s, BODY 2+3 */
    CHECK(peer_sees_end(w[1]));
    CHECK(peer_sees_end(bd[1]));
    CHECK(!peer_sees_end(busy[1]));
    /* BUSY has no deadline; reaped ones are not counted twice. */
    CHECK_EQ_U64(srv_conns_reap(t, now + 86400000), 0);
    /* Reaped connections keep their slot until libmicrohttpd closes. */
    CHECK_EQ_U64(srv_conns_open(t), 4);
    srv_conns_destroy(t);
    for (int i = 0; i < 2; i++) {
        close(w[i]);
        close(h[i]);
        close(bd[i]);
        close(busy[i]);
    }
}

TEST(a_stale_slot_that_is_no_socket_is_freed)
{
    struct srv_conns *t = srv_conns_create(&limits, 64);
    int fd[2];

    CHECK(pipe(fd) == 0);
    CHECK(srv_conns_admit(t, fd[0]));
    CHECK_EQ_U64(srv_conns_reap(t, srv_conns_now_ms() + 6000), 0);
    CHECK_EQ_U64(srv_conns_open(t), 0);
    srv_conns_destroy(t);
    close(fd[0]);
    close(fd[1]);
}

struct churn {
    struct srv_conns *t;
    int base;
    int admitted;
};

/* Admit and close numbers base..base+99 over and over, counting admits. */
static void *churn_main(void *arg)
{
    struct churn *c = arg;

    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < 100; i++) {
            if (srv_conns_admit(c->t, c->base + i)) {
                c->admitted++;
                srv_conns_phase(c->t, c->base + i, SRV_CONN_BODY);
                srv_conns_received(c->t, c->base + i, 10);
            }
        }
        for (int i = 0; i < 100; i++)
            srv_conns_closed(c->t, c->base + i);
    }
    return NULL;
}

TEST(admission_is_exact_under_concurrency)
{
    struct srv_conns_limits l = {.max_connections = 150};
    struct srv_conns *t = srv_conns_create(&l, 1024);
    struct churn c[4];
    pthread_t th[4];

    for (int i = 0; i < 4; i++) {
        c[i] = (struct churn){.t = t, .base = i * 100};
        CHECK(pthread_create(&th[i], NULL, churn_main, &c[i]) == 0);
    }
    for (int i = 0; i < 4; i++)
        CHECK(pthread_join(th[i], NULL) == 0);
    CHECK_EQ_U64(srv_conns_open(t), 0);
    /* Never more than the limit at once: fill it, then one more fails. */
    for (int i = 0; i < 150; i++)
        CHECK(srv_conns_admit(t, i));
    CHECK(!srv_conns_admit(t, 150));
    srv_conns_destroy(t);
}

TEST_MAIN()
