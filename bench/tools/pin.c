/* pin: keep files resident in the page cache while a benchmark runs.
 *
 * mmap()s each FILE read-only and mlock()s it (which also reads it in), then
 * sleeps until SIGTERM/SIGINT or until -t SECONDS have passed, whichever is
 * first (default 7200 s, so it can never outlive a forgotten run by much).
 *
 * Why: this machine runs DAMON with a "pageout" scheme (see
 * /sys/kernel/mm/damon/admin), which evicts page-cache pages of regions that
 * have not been accessed for about a minute although memory is plentiful. A
 * 1 GiB file read by random 4 KiB requests is then partly re-read from disk
 * in the middle of a "hot page cache" measurement. Locked pages are
 * unevictable, so every server sees the same, truly hot, file.
 *
 * usage: pin [-t SECONDS] [-f LISTFILE] FILE...   (needs CAP_IPC_LOCK or a large RLIMIT_MEMLOCK)
 *   -f LISTFILE  also pin every file named in LISTFILE, one path a line (for thousands of files)
 * Prints "pin: ready N files B bytes" on stderr once every file is locked (mlock returns
 * only when the pages are resident), so callers wait for that line.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static unsigned long long nfiles, nbytes;

static int pin_one(const char *path, int verbose) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) { perror(path); return 1; }
    struct stat st;
    if (fstat(fd, &st) || st.st_size == 0) { fprintf(stderr, "%s: empty or unreadable\n", path); return 1; }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 1; }
    if (mlock(p, (size_t)st.st_size)) { perror("mlock"); return 1; }
    close(fd);
    nfiles++;
    nbytes += (unsigned long long)st.st_size;
    if (verbose) fprintf(stderr, "pin: %s locked (%lld bytes)\n", path, (long long)st.st_size);
    return 0;
}
static void on_sig(int s) { (void)s; stop = 1; }

int main(int argc, char **argv) {
    long secs = 7200;
    int c;
    const char *list = NULL;
    while ((c = getopt(argc, argv, "t:f:")) != -1) {
        if (c == 't') secs = atol(optarg);
        else if (c == 'f') list = optarg;
        else { fprintf(stderr, "usage: %s [-t SECONDS] [-f LISTFILE] FILE...\n", argv[0]); return 2; }
    }
    if (optind >= argc && !list) { fprintf(stderr, "usage: %s [-t SECONDS] [-f LISTFILE] FILE...\n", argv[0]); return 2; }
    struct sigaction sa = {0};
    sa.sa_handler = on_sig;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    for (int i = optind; i < argc; i++)
        if (pin_one(argv[i], 1)) return 1;
    if (list) {
        FILE *f = fopen(list, "r");
        char line[4096];
        if (!f) { perror(list); return 1; }
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\n")] = 0;
            if (line[0] && pin_one(line, 0)) return 1;
        }
        fclose(f);
    }
    fprintf(stderr, "pin: ready %llu files %llu bytes\n", nfiles, nbytes);
    time_t end = time(NULL) + secs;
    while (!stop && time(NULL) < end) sleep(1);
    return 0;
}
