/* secretfile.c - read the token file and the TLS key, and warn when they
 * are readable by everyone. */
#include "secretfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

int srv_secretfile_read(const char *path, const char *what, bool secret,
                        size_t max, char **out, size_t *len, char *err,
                        size_t errlen)
{
    struct stat st = {0};
    char *buf = NULL;
    size_t used = 0;
    int fd;
    int rc = -1;

    *out = NULL;
    *len = 0;
    /* Refuse anything but a regular file before opening it: opening a FIFO
     * waits for a writer (at start, or at SIGHUP in the main thread, which
     * then never sees SIGTERM again), and opening a device may do things
     * of its own. O_NONBLOCK and the fstat below cover a file swapped in
     * between the two. */
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "the %s %s is not a regular file", what, path);
        return -1;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open the %s %s: %s", what, path,
                 strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "the %s %s is not a regular file", what, path);
        goto out;
    }
    if ((uint64_t)st.st_size > max) {
        snprintf(err, errlen, "the %s %s is larger than %zu bytes", what,
                 path, max);
        goto out;
    }
    /* A warning, not a refusal: containers and secret stores often mount
     * files with modes we don't control, and refusing would push people
     * towards putting secrets on the command line instead. */
    if (secret && (st.st_mode & (S_IROTH | S_IWOTH)))
        srv_log(SRV_LOG_WARN,
                "the %s %s can be %s by every user (mode %03o); "
                "chmod o-rw it",
                what, path, (st.st_mode & S_IWOTH) ? "written" : "read",
                (unsigned)(st.st_mode & 0777));
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        snprintf(err, errlen, "out of memory reading the %s", what);
        goto out;
    }
    /* Read until end of file rather than trusting st_size: the file may be
     * replaced while we read it, and the limit must hold for what we got. */
    for (;;) {
        ssize_t r = read(fd, buf + used, (size_t)st.st_size - used);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "cannot read the %s %s: %s", what, path,
                     strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        used += (size_t)r;
        if (used == (size_t)st.st_size)
            break;
    }
    buf[used] = '\0';
    *out = buf;
    *len = used;
    buf = NULL;
    rc = 0;
out:
    srv_secretfile_free(buf, (size_t)st.st_size);
    close(fd);
    return rc;
}

void srv_secretfile_free(char *buf, size_t len)
{
    if (!buf)
        return;
    explicit_bzero(buf, len);
    free(buf);
}
