/* memlimit.c - the default budget of memory-backed mappings (mc_memory.h):
 * a quarter of the physical memory or of the memory cgroup's limit,
 * whichever is smaller.
 *
 * Parsing is kept apart from reading so the unit tests can feed it the
 * text of /proc/self/cgroup and a fake cgroup tree. Reading uses plain
 * stdio: these are small pseudo-files read once at start, not mappings.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mapcore/mc_memory.h"

#include "internal.h"

/* Largest cgroup path we follow; longer ones are skipped (no limit). */
#define CG_PATH_MAX 4096

bool mc_memory_parse_limit(const char *text, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;

    if (text == NULL)
        return false;
    if (strcmp(text, "max") == 0 || strcmp(text, "max\n") == 0) {
        *out = UINT64_MAX;
        return true;
    }
    for (; text[i] >= '0' && text[i] <= '9'; i++) {
        if (__builtin_mul_overflow(v, 10, &v) ||
            __builtin_add_overflow(v, (uint64_t)(text[i] - '0'), &v))
            return false;
    }
    if (i == 0)
        return false;
    if (text[i] == '\n')
        i++;
    if (text[i] != '\0')
        return false;
    *out = v;
    return true;
}

/* The limit in the file dir/name, or UINT64_MAX when it is missing,
 * unreadable or not a limit. */
static uint64_t read_limit(const char *dir, const char *name)
{
    char path[CG_PATH_MAX + 64];
    char text[64];
    uint64_t v = UINT64_MAX;
    size_t n;
    FILE *f;

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
        sizeof(path))
        return UINT64_MAX;
    f = fopen(path, "re");
    if (f == NULL)
        return UINT64_MAX;
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    if (!mc_memory_parse_limit(text, &v))
        return UINT64_MAX;
    return v;
}

/* The smallest limit in file `name` from mount/cg_path up to mount. The
 * path comes from the kernel but is checked anyway: it must be absolute
 * and must not climb with "..". */
static uint64_t walk_up(const char *mount, const char *cg_path,
                        const char *name)
{
    char dir[CG_PATH_MAX + 256];
    uint64_t min = UINT64_MAX;
    size_t root_len;
    char *slash;

    if (cg_path[0] != '/' || strstr(cg_path, "/..") != NULL)
        return UINT64_MAX;
    if ((size_t)snprintf(dir, sizeof(dir), "%s%s", mount, cg_path) >=
        sizeof(dir))
        return UINT64_MAX;
    root_len = strlen(mount);
    for (;;) {
        size_t len = strlen(dir);
        uint64_t v;

        while (len > root_len && dir[len - 1] == '/')
            dir[--len] = '\0';
        v = read_limit(dir, name);
        if (v < min)
            min = v;
        if (len <= root_len)
            break;
        slash = strrchr(dir + root_len, '/');
        if (slash == NULL)
            break;
        *slash = '\0';
    }
    return min;
}

/* True when the comma-separated controller list [s, end) names memory. */
static bool names_memory(const char *s, const char *end)
{
    while (s < end) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *stop = comma != NULL ? comma : end;

        if (stop - s == 6 && memcmp(s, "memory", 6) == 0)
            return true;
        s = stop + 1;
    }
    return false;
}

uint64_t mc_memory_cgroup_limit(const char *proc_self_cgroup,
                                const char *sysfs_root)
{
    uint64_t min = UINT64_MAX;
    const char *line = proc_self_cgroup;

    if (line == NULL || sysfs_root == NULL)
        return UINT64_MAX;
    while (*line != '\0') {
        const char *nl = strchr(line, '\n');
        const char *end = nl != NULL ? nl : line + strlen(line);
        const char *c1 = memchr(line, ':', (size_t)(end - line));
        const char *c2 =
            c1 != NULL ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;

        if (c2 != NULL && (size_t)(end - c2) < CG_PATH_MAX) {
            char path[CG_PATH_MAX];
            char mount[PATH_MAX];
            uint64_t v = UINT64_MAX;

            memcpy(path, c2 + 1, (size_t)(end - c2 - 1));
            path[end - c2 - 1] = '\0';
            if (c1 - line == 1 && line[0] == '0' && c2 == c1 + 1) {
                /* v2: the unified hierarchy is mounted at the root. */
                v = walk_up(sysfs_root, path, "memory.max");
            } else if (names_memory(c1 + 1, c2) &&
                       (size_t)snprintf(mount, sizeof(mount), "%s/memory",
                                        sysfs_root) < sizeof(mount)) {
                v = walk_up(mount, path, "memory.limit_in_bytes");
            }
            if (v < min)
                min = v;
        }
        line = nl != NULL ? nl + 1 : end;
    }
    return min;
}

uint64_t mc_memory_default_budget(uint64_t physical_bytes,
                                  uint64_t cgroup_limit)
{
    uint64_t base = physical_bytes < cgroup_limit ? physical_bytes
                                                  : cgroup_limit;
    uint64_t quarter = base / 4;
    uint64_t page = mc__page_size();

    return quarter > page ? quarter : page;
}

uint64_t mc_memory_default(void)
{
    long pages = sysconf(_SC_PHYS_PAGES);
    uint64_t physical = pages > 0 ? (uint64_t)pages * mc__page_size()
                                  : (4ull << 30); /* 1 GiB budget */
    char text[8192];
    size_t n = 0;
    FILE *f = fopen("/proc/self/cgroup", "re");

    if (f != NULL) {
        n = fread(text, 1, sizeof(text) - 1, f);
        fclose(f);
    }
    text[n] = '\0';
    return mc_memory_default_budget(
        physical, mc_memory_cgroup_limit(text, "/sys/fs/cgroup"));
}
