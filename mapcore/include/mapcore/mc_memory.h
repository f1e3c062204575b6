/* mc_memory.h - the budget of memory-backed mappings and its default.
 *
 * A memory-backed mapping is a memfd: every byte of its size may become
 * resident and stays so until the mapping is deleted or shrunk (there is no
 * file to write it back to). One request for a large mapping could
 * therefore make the kernel OOM-kill the server. The catalog keeps the sum
 * of the sizes of its memory-backed mappings within a budget
 * (mc_catalog_options.max_memory): a create or grow that would pass it
 * fails with MC_EMEMLIMIT before anything is allocated, and a delete or
 * shrink gives the bytes back. File-backed mappings are not counted: their
 * pages are page cache the kernel can write back and drop.
 *
 * The default budget is a quarter of the memory this process may use: the
 * machine's physical memory, or the limit of its memory cgroup where that
 * is smaller (cgroup v2 memory.max or v1 memory.limit_in_bytes, the
 * smallest along the path from the process's group up to the root), so a
 * container with a memory limit gets a budget that fits inside it. The
 * quarter leaves room for the page cache of file mappings, request bodies
 * and the server itself.
 *
 * Caveats: the figures are read once, when the catalog opens; a limit
 * changed later is not seen until a restart. The budget counts logical
 * sizes, so a sparse memory mapping counts whole although its untouched
 * pages cost nothing yet: the budget promises what may become resident.
 */
#ifndef MAPCORE_MC_MEMORY_H
#define MAPCORE_MC_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Figures of the budget, for /v1/info and /metrics. */
struct mc_memory_stats {
    uint64_t budget_bytes; /* the limit (max_memory, or its default) */
    uint64_t used_bytes;   /* sizes of the memory-backed mappings now */
    uint64_t refused;      /* creates and grows refused for the budget */
};

/* Parse the text of a cgroup memory limit file: "max" (v2, no limit) gives
 * UINT64_MAX, decimal digits give their value; a trailing newline is
 * allowed. False for anything else (empty, signs, spaces, overflow). */
bool mc_memory_parse_limit(const char *text, uint64_t *out);

/* The smallest memory limit of the cgroups this process runs in, given the
 * text of /proc/self/cgroup: for each line that names the memory
 * controller ("N:...memory...:/path", v1) or the unified hierarchy
 * ("0::/path", v2), read memory.limit_in_bytes or memory.max in that group
 * and in each of its parents up to the mount point, beneath sysfs_root
 * (normally "/sys/fs/cgroup"; v1 groups under sysfs_root/memory). Files
 * that are missing or unreadable are skipped. UINT64_MAX when no limit is
 * found. Reads files; no other side effects. */
uint64_t mc_memory_cgroup_limit(const char *proc_self_cgroup,
                                const char *sysfs_root);

/* The default budget: a quarter of the smaller of physical_bytes and
 * cgroup_limit (UINT64_MAX: none), at least one page. Can't fail. */
uint64_t mc_memory_default_budget(uint64_t physical_bytes,
                                  uint64_t cgroup_limit);

/* The default budget of this process: reads /proc/self/cgroup and
 * /sys/fs/cgroup, and the physical memory from sysconf. Can't fail: what
 * cannot be read is left out (with nothing readable, 1 GiB). */
uint64_t mc_memory_default(void);

#endif
