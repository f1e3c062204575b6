/* secretfile.h - read a small file that holds secrets (the token file, a
 * TLS private key) into memory.
 *
 * Caveats: the buffer holds secrets; release it with srv_secretfile_free,
 * which wipes it before freeing.
 */
#ifndef SERVER_SECRETFILE_H
#define SERVER_SECRETFILE_H

#include <stdbool.h>
#include <stddef.h>

/* Read the regular file at path, at most max bytes, into a new buffer
 * (anything else, a FIFO or a device, is refused without blocking)
 * (*out, NUL-terminated, *len bytes without the NUL). `what` names the file
 * in messages ("token file"). With secret set, logs a warning when users
 * other than the owner and group may read the file (a certificate is
 * public and is read with secret false). Returns 0, or -1 with one line in
 * err. Thread-safe. */
int srv_secretfile_read(const char *path, const char *what, bool secret,
                        size_t max, char **out, size_t *len, char *err,
                        size_t errlen);

/* Wipe and free a buffer from srv_secretfile_read (len bytes). NULL-safe. */
void srv_secretfile_free(char *buf, size_t len);

#endif
