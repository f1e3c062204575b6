/* fuzz.h - the libFuzzer entry point every target defines, and a helper
 * that gives parsers of C strings a NUL-terminated copy of the input. */
#ifndef FUZZ_FUZZ_H
#define FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A malloc'ed NUL-terminated copy of data, or NULL when out of memory. A
 * NUL inside the input simply ends the string early, as it would for a
 * header value. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (s != NULL) {
        memcpy(s, data, size);
        s[size] = '\0';
    }
    return s;
}

/* Invariant failures abort, which both libFuzzer and the replay test
 * report as a crash with the input that caused it. */
#define FUZZ_ASSERT(cond)                                                      \
    do {                                                                       \
        if (!(cond))                                                           \
            abort();                                                           \
    } while (0)

#endif
