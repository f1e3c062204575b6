/* logbuf.h - whole lines from many threads, gathered per thread and written
 * to stderr in large writes.
 *
 * The access log writes one line per request. Written one write(2) each,
 * those lines cost about a quarter of the CPU of a small GET (bench/
 * RESULTS.md, "The access log"). Instead each thread appends its lines to a
 * buffer of its own (no lock shared between threads on that path) and the
 * buffer goes out in one write when it is full, when srv_logbuf_flush()
 * runs (main.c calls it every SRV_LOGBUF_FLUSH_MS and before it acts on a
 * signal), and when the process ends or crashes.
 *
 * Guarantees: a line is never cut or interleaved with another (every write
 * holds the stderr stdio lock, which srv_log's lines take too); a line
 * appended before srv_logbuf_flush() starts is on stderr when it returns.
 * Lines of one thread keep their order; lines of different threads are
 * ordered only by flush, not by time.
 *
 * Caveats: a crash flushes without locks (best effort: a line being
 * appended at that moment may be lost). A write error drops what was
 * buffered, as fwrite to an unbuffered stderr would.
 */
#ifndef SERVER_LOGBUF_H
#define SERVER_LOGBUF_H

#include <stddef.h>

/* How often main.c flushes: the longest a line waits while the server runs
 * and its thread's buffer is not full. */
#define SRV_LOGBUF_FLUSH_MS 100u

/* Append one line (len bytes, ending in '\n') to the calling thread's
 * buffer; writes the buffer first when the line does not fit, and writes a
 * line larger than a buffer directly. Any thread. */
void srv_logbuf_append(const char *line, size_t len);

/* Write every thread's buffered lines now. Any thread. */
void srv_logbuf_flush(void);

/* Install handlers for SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT that
 * write the buffers without taking locks, then let the signal have its
 * earlier action (a sanitizer's report, a core dump). Also flushes at
 * exit(). Call once, from main, before threads start. */
void srv_logbuf_install_crash_flush(void);

#endif
