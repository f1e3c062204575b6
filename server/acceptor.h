/* acceptor.h - the listen socket, and one thread that accepts on it.
 *
 * libmicrohttpd 0.9.75's thread pool lets every worker race for each new
 * connection on a shared listen socket, so 8 connections often split 6/2:
 * one worker queues requests while the other idles, which shows as tail
 * latency. Accepting in one thread and handing each connection over with
 * MHD_add_connection(), which places it by socket number modulo the pool
 * size, spreads them evenly. Owning the socket also gives shutdown a clean
 * "stop accepting": close it, and new connections are refused at once.
 */
#ifndef SERVER_ACCEPTOR_H
#define SERVER_ACCEPTOR_H

#include <stdint.h>
#include <sys/socket.h>

struct MHD_Daemon;
struct srv_acceptor; /* opaque */
struct srv_conns;

/* Bind and listen on addr (port 0 picks one). Returns the socket, or -1
 * with errno set. */
int srv_acceptor_listen(const struct sockaddr *addr, socklen_t len);

/* The port the socket is bound to. */
uint16_t srv_acceptor_port(int fd);

/* Start accepting on fd (which the acceptor then owns) into mhd, a daemon
 * started with MHD_USE_NO_LISTEN_SOCKET. Each connection is admitted by
 * conns first (closed at once when it is full), and the thread also drops
 * the connections conns finds past their deadlines (conns.h). Out of
 * descriptors, pending connections are closed at once rather than left in
 * the backlog. Returns 0, or -1 with errno set (fd is closed then too). */
int srv_acceptor_start(int fd, struct MHD_Daemon *mhd,
                       struct srv_conns *conns, struct srv_acceptor **out);

/* Stop accepting: join the thread and close the socket, so that new
 * connections are refused. Connections already handed over go on.
 * NULL-safe; call it before stopping mhd. */
void srv_acceptor_stop(struct srv_acceptor *a);

#endif
