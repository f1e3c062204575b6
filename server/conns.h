/* conns.h - the connection table: admission under --max-connections, and
 * deadlines that drop connections which hold a slot without progress.
 *
 * Why mmapd counts connections itself. libmicrohttpd 0.9.75 splits
 * MHD_OPTION_CONNECTION_LIMIT between its workers, and MHD_add_connection()
 * checks a worker's count without a lock before queueing the socket to it;
 * the worker takes the firm, locked look later. When a burst of hand-offs
 * passes the unlocked check, the firm check fails in
 * new_connection_process_(), which then returns with the worker's
 * cleanup_connection_mutex still locked (daemon.c, "Server reached
 * connection limit"; fixed upstream in 67061d5c, first released in 1.0.0).
 * The next lock of it by that worker waits forever: every connection of
 * the worker hangs, closed sockets are never reaped, and MHD_stop_daemon()
 * never returns. So mmapd admits connections here, exactly, before the
 * hand-off, and gives libmicrohttpd a per-worker limit that admitted
 * connections can never reach (srv_conns_mhd_limit()).
 *
 * Why deadlines. libmicrohttpd's connection timeout is an idle timer that
 * any received byte resets, so a client sending one byte every few seconds
 * holds its slot forever (slowloris), and enough of them hold every slot.
 * Each connection here is in one phase, with a deadline that activity does
 * not move:
 *
 *   WAIT  accepted, or its previous request ended: a request line must
 *         arrive within idle_s (--timeout; 0: no deadline).
 *   HEAD  the request line arrived: the headers must be complete within
 *         head_s (--header-timeout).
 *   BODY  a request body is being received: within head_s plus one second
 *         per min_rate bytes received (--min-receive-rate), as Apache's
 *         mod_reqtimeout does; 0 disables it.
 *   BUSY  the request is being served and its response sent: no deadline
 *         here (libmicrohttpd's idle timer still applies).
 *
 * srv_conns_reap() shuts down the sockets past their deadline; libmicrohttpd
 * then sees the connection end and closes it as usual, and the slot comes
 * back through srv_conns_closed(). Connections are named by their socket:
 * libmicrohttpd reports a close (MHD_CONNECTION_NOTIFY_CLOSED) before it
 * closes the socket, so a number is never in use twice in the table.
 *
 * All functions are thread-safe: the acceptor admits and reaps, the
 * libmicrohttpd workers report phases and closes.
 */
#ifndef SERVER_CONNS_H
#define SERVER_CONNS_H

#include <stdbool.h>
#include <stdint.h>

struct srv_conns; /* opaque */

struct srv_conns_limits {
    unsigned max_connections; /* admitted at once */
    unsigned idle_s;          /* WAIT deadline; 0: none */
    unsigned head_s;          /* HEAD deadline and BODY grace; 0: none */
    uint64_t min_rate;        /* BODY bytes per second; 0: no BODY deadline */
};

enum srv_conn_phase { SRV_CONN_WAIT, SRV_CONN_HEAD, SRV_CONN_BODY,
                      SRV_CONN_BUSY };

/* A table for sockets numbered below max_fds (the descriptor limit).
 * Returns NULL when out of memory. */
struct srv_conns *srv_conns_create(const struct srv_conns_limits *limits,
                                   unsigned max_fds);
void srv_conns_destroy(struct srv_conns *t);

/* The MHD_OPTION_CONNECTION_LIMIT to start libmicrohttpd with, for a pool
 * of `threads` workers: each worker's share exceeds max_connections, so the
 * faulty limit path of libmicrohttpd 0.9.75 is never taken. */
unsigned srv_conns_mhd_limit(const struct srv_conns_limits *limits,
                             unsigned threads);

/* A new connection on socket fd: true when it is admitted (it is then in
 * WAIT), false when the table is full or fd is out of its range; the
 * caller then closes fd at once. */
bool srv_conns_admit(struct srv_conns *t, int fd);

/* Move fd's connection to a phase; its deadline starts now. */
void srv_conns_phase(struct srv_conns *t, int fd, enum srv_conn_phase phase);

/* Count n body bytes received on fd (moves a BODY deadline). */
void srv_conns_received(struct srv_conns *t, int fd, uint64_t n);

/* The connection on fd is gone (or was refused by libmicrohttpd); its slot
 * is free. Call it before fd is closed. Unknown fds are ignored. */
void srv_conns_closed(struct srv_conns *t, int fd);

/* Shut down every connection past its deadline at now_ms (a monotonic
 * clock in milliseconds). Returns how many it shut down. */
unsigned srv_conns_reap(struct srv_conns *t, uint64_t now_ms);

/* Connections admitted and not yet closed. */
unsigned srv_conns_open(struct srv_conns *t);

/* Milliseconds of CLOCK_MONOTONIC_COARSE (a tick's resolution), the clock
 * of deadlines. */
uint64_t srv_conns_now_ms(void);

#endif
