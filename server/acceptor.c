/* acceptor.c - see acceptor.h: one thread accepts, libmicrohttpd serves. */
#include "acceptor.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "conns.h"
#include "log.h"

/* What the kernel queues while the acceptor hands connections over; the
 * kernel caps it at net.core.somaxconn. */
#define BACKLOG 4096
/* Connections accepted per wakeup before looking at the stop request. */
#define ACCEPT_BATCH 256
/* How often deadlines are checked (conns.h): their granularity. */
#define REAP_EVERY_MS 250

struct srv_acceptor {
    int fd;   /* the listen socket */
    int wake; /* eventfd: readable once stop is asked for */
    /* A descriptor kept open to be given up when the process runs out, so
     * that a pending connection can still be accepted and closed instead
     * of waiting in the backlog (libuv's uv__emfile_trick). -1 when the
     * last attempt to take it back failed. */
    int spare;
    bool out_of_fds; /* warned that accept ran out of descriptors */
    uint64_t last_reap_ms;
    struct MHD_Daemon *mhd;
    struct srv_conns *conns;
    pthread_t thread;
};

int srv_acceptor_listen(const struct sockaddr *addr, socklen_t len)
{
    int one = 1;
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
                    0);

    if (fd < 0)
        return -1;
    /* A restart must not wait for the old connections' TIME_WAIT. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        (addr->sa_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) ||
        bind(fd, addr, len) != 0 || listen(fd, BACKLOG) != 0) {
        int err = errno;

        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

uint16_t srv_acceptor_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)(void *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)(void *)&ss)->sin_port);
}

/* Out of descriptors with connections pending: give up the spare one to
 * accept and close them, so their clients learn at once instead of hanging
 * in the backlog, then take it back. Warns once per shortage, not once per
 * wakeup. */
static void refuse_pending(struct srv_acceptor *a, int err)
{
    if (!a->out_of_fds)
        srv_log(SRV_LOG_WARN, "accept: %s; closing new connections at once "
                "until descriptors are free", strerror(err));
    a->out_of_fds = true;
    if (a->spare < 0)
        return;
    close(a->spare);
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        int c = accept4(a->fd, NULL, NULL, SOCK_CLOEXEC);

        if (c < 0)
            break;
        close(c);
    }
    a->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Accept what is pending, at most a batch, so that a stop request is seen
 * even under a flood of connections. False when the acceptor should pause:
 * out of descriptors, where retrying at once would spin. */
static bool accept_pending(struct srv_acceptor *a)
{
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int c = accept4(a->fd, (struct sockaddr *)&ss, &len,
                        SOCK_CLOEXEC | SOCK_NONBLOCK);

        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                errno == ENOMEM) {
                refuse_pending(a, errno);
                return false;
            }
            return true; /* EAGAIN: nothing left */
        }
        if (a->out_of_fds) {
            srv_log(SRV_LOG_INFO, "accept: descriptors are free again");
            a->out_of_fds = false;
        }
        if (a->spare < 0)
            a->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
        /* Past the limit: closed at once, never handed to libmicrohttpd
         * (conns.h says why). */
        if (!srv_conns_admit(a->conns, c)) {
            close(c);
            continue;
        }
        /* On failure libmicrohttpd has closed c itself (the per-client
         * limit, out of memory). */
        if (MHD_add_connection(a->mhd, c, (const struct sockaddr *)&ss,
                               len) != MHD_YES)
            srv_conns_closed(a->conns, c);
    }
    return true;
}

static void reap_due(struct srv_acceptor *a)
{
    uint64_t now = srv_conns_now_ms();

    if (now - a->last_reap_ms < REAP_EVERY_MS)
        return;
    a->last_reap_ms = now;
    srv_conns_reap(a->conns, now);
}

static void *acceptor_main(void *arg)
{
    struct srv_acceptor *a = arg;
    const struct timespec pause = {0, 50 * 1000 * 1000};

    for (;;) {
        struct pollfd p[2] = {{.fd = a->fd, .events = POLLIN},
                              {.fd = a->wake, .events = POLLIN}};

        if (poll(p, 2, REAP_EVERY_MS) < 0 && errno != EINTR)
            break;
        if (p[1].revents)
            break;
        if (p[0].revents && !accept_pending(a))
            nanosleep(&pause, NULL);
        reap_due(a);
    }
    return NULL;
}

int srv_acceptor_start(int fd, struct MHD_Daemon *mhd,
                       struct srv_conns *conns, struct srv_acceptor **out)
{
    struct srv_acceptor *a = calloc(1, sizeof(*a));
    int err;

    *out = NULL;
    if (!a) {
        close(fd);
        errno = ENOMEM;
        return -1;
    }
    a->fd = fd;
    a->mhd = mhd;
    a->conns = conns;
    a->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
    a->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (a->wake < 0) {
        err = errno;
        goto fail;
    }
    err = pthread_create(&a->thread, NULL, acceptor_main, a);
    if (err != 0) {
        close(a->wake);
        goto fail;
    }
    *out = a;
    return 0;
fail:
    if (a->spare >= 0)
        close(a->spare);
    close(fd);
    free(a);
    errno = err;
    return -1;
}

void srv_acceptor_stop(struct srv_acceptor *a)
{
    uint64_t one = 1;

    if (!a)
        return;
    if (write(a->wake, &one, sizeof(one)) != (ssize_t)sizeof(one))
        srv_log(SRV_LOG_WARN, "acceptor: cannot wake the thread");
    pthread_join(a->thread, NULL);
    close(a->fd);
    close(a->wake);
    if (a->spare >= 0)
        close(a->spare);
    free(a);
}
