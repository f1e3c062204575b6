/* mkdata: write a file whose content is self-describing, so any byte range
 * can be checked without a reference copy.
 *
 * Every 8-byte word at byte offset o (o % 8 == 0) holds the little-endian
 * uint64 value o.  Byte b of the file is therefore ((b & ~7) >> (8*(b & 7))) & 0xff.
 *
 * usage: mkdata FILE SIZE_BYTES        (SIZE must be a multiple of 8)
 *        mkdata --check FILE OFF LEN    reads LEN bytes of stdin, exits 0 when
 *                                       they equal the pattern at OFF (FILE unused, may be -)
 *        mkdata --zero FILE OFF LEN     same, but the bytes must all be zero (sparse holes)
 *        mkdata --many DIR COUNT SIZE   writes DIR/f00000.bin .. DIR/f<COUNT-1>.bin, each
 *                                       SIZE bytes of the pattern (offsets within the file);
 *                                       files that already have the right size are kept
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned char pat_byte(uint64_t b) {
    uint64_t w = b & ~(uint64_t)7;
    return (unsigned char)((w >> (8 * (b & 7))) & 0xff);
}

static int zero_only;

static int check(uint64_t off, uint64_t len) {
    unsigned char buf[1 << 16];
    uint64_t got = 0;
    ssize_t n;
    while ((n = read(0, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if (got + (uint64_t)i >= len) {
                fprintf(stderr, "mkdata --check: more than %llu bytes on stdin\n",
                        (unsigned long long)len);
                return 1;
            }
            if (buf[i] != (zero_only ? 0 : pat_byte(off + got + (uint64_t)i))) {
                fprintf(stderr, "mkdata --check: mismatch at file offset %llu\n",
                        (unsigned long long)(off + got + (uint64_t)i));
                return 1;
            }
        }
        got += (uint64_t)n;
    }
    if (got != len) {
        fprintf(stderr, "mkdata --check: got %llu bytes, want %llu\n",
                (unsigned long long)got, (unsigned long long)len);
        return 1;
    }
    return 0;
}

static int write_file(const char *path, uint64_t size);

int main(int argc, char **argv) {
    if (argc == 5 && (strcmp(argv[1], "--check") == 0 || strcmp(argv[1], "--zero") == 0)) {
        zero_only = strcmp(argv[1], "--zero") == 0;
        return check(strtoull(argv[3], NULL, 0), strtoull(argv[4], NULL, 0));
    }
    if (argc == 5 && strcmp(argv[1], "--many") == 0) {
        unsigned long n = strtoul(argv[3], NULL, 0);
        uint64_t size = strtoull(argv[4], NULL, 0);
        if (size % 8 || size == 0) { fprintf(stderr, "size must be a positive multiple of 8\n"); return 2; }
        for (unsigned long i = 0; i < n; i++) {
            char path[4096];
            struct stat st;
            snprintf(path, sizeof path, "%s/f%05lu.bin", argv[2], i);
            if (stat(path, &st) == 0 && (uint64_t)st.st_size == size) continue;
            if (write_file(path, size)) return 1;
        }
        return 0;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: %s FILE SIZE | --check - OFF LEN < data | --zero - OFF LEN < data"
                        " | --many DIR COUNT SIZE\n", argv[0]);
        return 2;
    }
    uint64_t size = strtoull(argv[2], NULL, 0);
    if (size % 8) { fprintf(stderr, "size must be a multiple of 8\n"); return 2; }
    return write_file(argv[1], size);
}

static int write_file(const char *path, uint64_t size) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) { perror(path); return 1; }
    enum { CHUNK = 1 << 20 };
    uint64_t *buf = malloc(CHUNK);
    if (!buf) return 1;
    for (uint64_t o = 0; o < size; o += CHUNK) {
        uint64_t n = size - o < CHUNK ? size - o : CHUNK;
        for (uint64_t i = 0; i < n / 8; i++) buf[i] = o + 8 * i; /* x86-64: little endian */
        const char *p = (const char *)buf;
        uint64_t left = n;
        while (left) {
            ssize_t w = write(fd, p, left);
            if (w < 0) { if (errno == EINTR) continue; perror("write"); return 1; }
            p += w; left -= (uint64_t)w;
        }
    }
    free(buf);
    if (close(fd)) { perror("close"); return 1; }
    return 0;
}
