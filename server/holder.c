/* holder.c - who holds a data directory (see holder.h). */
#include "holder.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

pid_t srv_dir_holder(const char *path)
{
    struct stat st;
    char line[256];
    pid_t found = 0;
    FILE *f;

    if (stat(path, &st) != 0 || !(f = fopen("/proc/locks", "re")))
        return 0;
    /* "1: FLOCK  ADVISORY  WRITE 1234 fe:00:10960998 0 EOF": the device
     * as hexadecimal major:minor, then the inode. Lines of waiters
     * ("1: -> FLOCK ...") have an extra field and do not parse. */
    while (!found && fgets(line, sizeof line, f)) {
        char kind[16];
        long pid;
        unsigned maj, min;
        unsigned long long ino;

        if (sscanf(line, "%*d: %15s %*s %*s %ld %x:%x:%llu", kind, &pid, &maj,
                   &min, &ino) == 5 &&
            strcmp(kind, "FLOCK") == 0 && maj == major(st.st_dev) &&
            min == minor(st.st_dev) && ino == (unsigned long long)st.st_ino &&
            pid > 0)
            found = (pid_t)pid;
    }
    fclose(f);
    return found;
}
