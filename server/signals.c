/* signals.c - block the signals mmapd handles and wait for them. */
#include "signals.h"

#include <pthread.h>
#include <signal.h>

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

int srv_signals_wait(void)
{
    sigset_t set;

    /* SIGPIPE is left out of the wait set: it is blocked only so that it
     * never kills the process, and a pending one must not wake us. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    for (;;) {
        int sig = 0;

        if (sigwait(&set, &sig) != 0)
            continue;
        return sig;
    }
}
