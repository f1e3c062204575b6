/* holder.h - who holds a data directory.
 *
 * mapcore locks a data directory (flock) for as long as its catalog is
 * open, so a second mmapd on it is refused (MC_EINUSE). To tell the
 * operator which process to look at, srv_dir_holder finds the process
 * holding that lock in /proc/locks. Best effort: 0 when it cannot tell
 * (no /proc, the holder in another PID namespace, the lock gone since).
 */
#ifndef MMAPD_HOLDER_H
#define MMAPD_HOLDER_H

#include <sys/types.h>

/* The PID holding a flock on the directory `path`, or 0 when unknown. */
pid_t srv_dir_holder(const char *path);

#endif
