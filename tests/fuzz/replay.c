/* replay.c - run a fuzz target over every file of a corpus directory, so
 * the seeds and every crash once found stay tested in ordinary builds.
 *
 * Fails when the directory is missing or holds no file: a replay that runs
 * nothing would pass for the wrong reason.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Read the whole file at path; *len receives its size. NULL on error. */
static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t cap = 0;
    size_t n = 0;

    if (f == NULL)
        return NULL;
    for (;;) {
        if (n == cap) {
            uint8_t *grown = realloc(buf, cap ? cap * 2 : 4096);

            if (grown == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = grown;
            cap = cap ? cap * 2 : 4096;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    DIR *d;
    struct dirent *e;
    int ran = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    d = opendir(argv[1]);
    if (d == NULL) {
        perror(argv[1]);
        return 1;
    }
    while ((e = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        uint8_t *data;
        size_t len = 0;

        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", argv[1], e->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        data = slurp(path, &len);
        if (data == NULL) {
            fprintf(stderr, "cannot read %s\n", path);
            closedir(d);
            return 1;
        }
        fprintf(stderr, "%s\n", path);
        LLVMFuzzerTestOneInput(data, len);
        free(data);
        ran++;
    }
    closedir(d);
    if (ran == 0) {
        fprintf(stderr, "%s holds no corpus file\n", argv[1]);
        return 1;
    }
    fprintf(stderr, "%d inputs replayed\n", ran);
    return 0;
}
