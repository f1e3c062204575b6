/* madv_random.c: LD_PRELOAD experiment shim (not used by run.sh). Every file mapping made
 * through mmap() gets madvise(MADV_RANDOM) right away, which turns off the kernel's mmap
 * read-around (a fault then reads only the faulting folio instead of a read_ahead_kb window,
 * 8 MiB on this host). Used by RESULTS.md to measure proposal P2 without changing mmapd:
 *   gcc -O2 -shared -fPIC -o .bin/madv_random.so tools/madv_random.c -ldl
 *   LD_PRELOAD=$PWD/.bin/madv_random.so mmapd ...
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/mman.h>
#include <sys/types.h>

static void *(*real_mmap)(void *, size_t, int, int, int, off_t);

static void *wrap(void *a, size_t l, int p, int f, int fd, off_t o) {
    if (!real_mmap) real_mmap = (void *(*)(void *, size_t, int, int, int, off_t))dlsym(RTLD_NEXT, "mmap");
    void *r = real_mmap(a, l, p, f, fd, o);
    if (r != MAP_FAILED && fd >= 0 && !(f & MAP_ANONYMOUS)) madvise(r, l, MADV_RANDOM);
    return r;
}
void *mmap(void *a, size_t l, int p, int f, int fd, off_t o) { return wrap(a, l, p, f, fd, o); }
void *mmap64(void *a, size_t l, int p, int f, int fd, off_t o) { return wrap(a, l, p, f, fd, o); }
