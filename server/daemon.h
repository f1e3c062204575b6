/* daemon.h - the HTTP front end: libmicrohttpd driving the api module.
 *
 * The daemon owns a libmicrohttpd instance with an internal epoll thread pool
 * and translates each HTTP request into an api exchange (api/api.h) and each
 * api response back into a libmicrohttpd response. It writes the access log
 * and records metrics when a request ends, however it ended.
 *
 * Caveats: the api and the config must outlive the daemon. Start and stop
 * from the main thread only; the shutdown sequence is quiesce, drain, stop.
 */
#ifndef SERVER_DAEMON_H
#define SERVER_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct api;
struct srv_config;
struct srv_daemon; /* opaque */

/* Start listening on cfg's address and serving api. On success *out is a new
 * daemon and 0 is returned; on failure -1, with a reason in errbuf. */
int srv_daemon_start(const struct srv_config *cfg, struct api *api,
                     struct srv_daemon **out, char *errbuf, size_t errlen);

/* The port actually bound (the one picked by the kernel for port 0). */
uint16_t srv_daemon_port(const struct srv_daemon *d);

/* Stop taking new connections: the listen socket is closed, so new ones
 * are refused, and responses to requests on open connections carry
 * "Connection: close". */
void srv_daemon_quiesce(struct srv_daemon *d);

/* Wait until no request is in flight, at most timeout_ms. True when none
 * is left, false on timeout. */
bool srv_daemon_drain(struct srv_daemon *d, unsigned timeout_ms);

/* Close every connection, stop the threads and free d. NULL-safe. */
void srv_daemon_stop(struct srv_daemon *d);

#endif
