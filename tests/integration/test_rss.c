/* test_rss.c - proves that a large PUT streams: a 256 MiB body written into
 * a file-backed mapping raises the server's anonymous memory (RssAnon in
 * /proc/PID/status, which counts heap and buffers but not the mapped file's
 * page cache) by less than 64 MiB at any moment of the upload, as sampled
 * every few milliseconds by a second thread.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "itest.h"

#define BIG (256u << 20)

struct sampler {
    pid_t pid;
    atomic_bool stop;
    uint64_t max_kib;
};

static uint64_t rss_anon_kib(pid_t pid)
{
    return itest_status_kib(pid, "RssAnon");
}

static void *sample(void *arg)
{
    struct sampler *sp = arg;

    while (!atomic_load(&sp->stop)) {
        uint64_t k = rss_anon_kib(sp->pid);

        if (k > sp->max_kib)
            sp->max_kib = k;
        usleep(2000);
    }
    return NULL;
}

TEST(streamed_256mib_put_keeps_rss_anon_low)
{
    struct itest_server s = {0};
    struct itest_resp r;
    struct sampler sp = {0};
    pthread_t t;
    uint64_t before;
    char *body = malloc(BIG);
    char create[96];

    CHECK(body != NULL);
    /* Touch every page now so the sender is not slowed by page faults. */
    memset(body, 0x5a, BIG);
    itest_start(&s, NULL);
    snprintf(create, sizeof(create),
             "{\"size\": %u, \"allocation\": \"sparse\"}", BIG);
    itest_create(&s, "big", create);
    before = rss_anon_kib(s.pid);
    sp.pid = s.pid;
    CHECK(pthread_create(&t, NULL, sample, &sp) == 0);
    itest_request(&s, "PUT", "/v1/maps/big/data", NULL, body, BIG, &r);
    atomic_store(&sp.stop, true);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);
    fprintf(stderr, "RssAnon before %llu KiB, peak %llu KiB\n",
            (unsigned long long)before, (unsigned long long)sp.max_kib);
    CHECK(sp.max_kib > 0);
    CHECK(sp.max_kib < before + (64u << 10));

    /* And the bytes arrived: spot-check the last ones. */
    itest_request(&s, "GET", "/v1/maps/big/data",
                  (const char *const[]){"Range: bytes=-16", NULL}, NULL, 0,
                  &r);
    CHECK_EQ_U64(r.status, 206);
    CHECK_EQ_U64(r.len, 16);
    CHECK_MEM(r.body, body, 16);
    itest_resp_free(&r);
    free(body);
    itest_cleanup(&s);
}

TEST_MAIN()
