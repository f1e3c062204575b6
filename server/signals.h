/* signals.h - signal handling of the executable.
 *
 * The signals mmapd reacts to are blocked in every thread and taken
 * synchronously by the main thread with sigwait(), so no handler ever runs
 * inside libmicrohttpd or mapcore code, and a write to a closed socket is an
 * EPIPE error instead of a fatal SIGPIPE.
 *
 * Caveats: srv_signals_block() must run in main before any thread exists,
 * since threads inherit the mask of the thread that creates them.
 */
#ifndef SERVER_SIGNALS_H
#define SERVER_SIGNALS_H

/* Block SIGTERM, SIGINT, SIGHUP and SIGPIPE in the calling thread (and so
 * in every thread it creates later). Returns 0, or an errno value. */
int srv_signals_block(void);

/* Wait until SIGTERM, SIGINT or SIGHUP arrives and return it: the first
 * two mean shut down, SIGHUP means reload the token file. Returns 0 when
 * none came within timeout_ms (main.c flushes the access log then). SIGPIPE
 * never arrives here, it stays blocked and pending signals of it are
 * harmless. */
int srv_signals_wait(unsigned timeout_ms);

#endif
