/* signals.c - block the signals mmapd handles and wait for them. */
#include "signals.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

static void wanted(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGPIPE);
}

int srv_signals_block(void)
{
    sigset_t set;

    wanted(&set);
    return pthread_sigmask(SIG_BLOCK, &set, NULL);
}

int srv_signals_wait(unsigned timeout_ms)
{
    const struct timespec timeout = {
        .tv_sec = timeout_ms / 1000u,
        .tv_nsec = (long)(timeout_ms % 1000u) * 1000000L,
    };
    sigset_t set;

    /* SIGPIPE is left out of the wait set: it is blocked only so that it
     * never kills the process, and a pending one must not wake us. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    for (;;) {
        int sig = sigtimedwait(&set, NULL, &timeout);

        if (sig > 0)
            return sig;
        if (errno == EAGAIN)
            return 0;
        /* EINTR: a signal outside the set (a debugger's) woke us early. */
    }
}
