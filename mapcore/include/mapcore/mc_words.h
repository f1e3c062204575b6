/* mc_words.h - atomic operations on aligned words of a mapping: the
 * Interlocked* family (InterlockedExchangeAdd, InterlockedCompareExchange,
 * ...) on mapped memory.
 *
 * A batch of operations on 4- and 8-byte words is applied in order, all or
 * nothing, with the hardware's atomic instructions on the mapped word
 * itself, so a local program using __atomic (or InterlockedXxx through a
 * shared mapping) on the same file sees every operation atomically, and the
 * server sees its operations atomically too.
 *
 * Caveats:
 * - Words are little-endian two's-complement signed integers at naturally
 *   aligned offsets (off % width == 0). The words of one batch are either
 *   the same word (same offset and width) or disjoint: a batch naming two
 *   words that overlap partially is MC_EINVAL.
 * - All-or-nothing holds against every reader and writer going through
 *   mapcore: the batch holds its words in the range lock exclusively
 *   (shared for a batch of loads only) and checks every operation before
 *   it changes anything. A program writing the words directly (not through
 *   mapcore) is atomic with each operation, but may interleave between two
 *   operations of a batch; when it makes a cas or a checked add fail after
 *   the check, the batch stops there with the operations before it applied
 *   (res->applied says how many).
 * - Only mappings of at most a few views per batch make sense: every word's
 *   view is pinned for the length of the batch (MC_WORDS_MAX words).
 */
#ifndef MAPCORE_MC_WORDS_H
#define MAPCORE_MC_WORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mapcore/mc_error.h"
#include "mapcore/mc_mapping.h"

/* The most operations one batch may hold. */
#define MC_WORDS_MAX 64

enum mc_word_op {
    MC_WORD_LOAD,  /* new = old */
    MC_WORD_STORE, /* new = value (old is what it replaced) */
    MC_WORD_ADD,   /* new = old + value, wrapping unless checked */
    MC_WORD_SWAP,  /* the same as store: InterlockedExchange */
    MC_WORD_CAS,   /* new = value when old == expected, else MC_ECASFAILED */
    MC_WORD_AND,   /* new = old & value */
    MC_WORD_OR,    /* new = old | value */
    MC_WORD_XOR,   /* new = old ^ value */
};

/* One operation, and its result. */
struct mc_word {
    enum mc_word_op op;
    uint64_t off;
    unsigned width;   /* 4 or 8 */
    int64_t value;    /* operand; for width 4 within int32_t */
    int64_t expected; /* cas only; for width 4 within int32_t */
    bool checked;     /* add: MC_EOVERFLOW instead of wrapping */
    /* Out: the word before and after this operation. After MC_ECASFAILED
     * or MC_EOVERFLOW with nothing applied, old holds the word's current
     * value and new equals old, for every operation of the batch. */
    int64_t old;
    int64_t new;
};

/* What a batch did besides its per-word results. */
struct mc_words_result {
    size_t failed;       /* index of the operation an error names, or n */
    size_t applied;      /* operations applied (n on success) */
    uint64_t generation; /* the generation the batch left (ETag source) */
    bool stored;         /* an operation other than load was applied */
};

/* A precondition on the generation (mc_mapping.h): with test non-NULL the
 * batch holds the whole mapping in the range lock and runs only when
 * test(cls, generation) holds, else MC_EPRECONDITION and nothing changes.
 *
 * Applies w[0..n) in order. Every operation is checked before any is
 * applied: MC_EINVAL (n is 0 or above MC_WORDS_MAX, a width other than 4
 * or 8, a 4-byte operand outside int32_t, partially overlapping words),
 * MC_EMISALIGNED, MC_ERANGE (a word outside the mapping), MC_ERDONLY (an
 * operation other than load on a readonly mapping), MC_ECASFAILED (a cas
 * whose expected value differs from the word as the batch finds it, the
 * batch's own earlier operations included), MC_EOVERFLOW (a checked add
 * that would overflow); res->failed names the operation and nothing is
 * applied. MC_EDAMAGED, MC_EBUSY (view cache full of pinned views),
 * MC_ETRUNCATED, MC_ENOSPC (a sparse hole the full disk cannot back),
 * MC_ENOMEM as for mc_mapping_write; such an error while applying (a file
 * truncated behind the server) may leave res->applied operations applied.
 * When anything was stored the generation is bumped once, before readers
 * can see the new words, and the modified time moves as for a write. Safe
 * from any thread. */
enum mc_err mc_mapping_words(struct mc_mapping *m, struct mc_word *w, size_t n,
                             mc_generation_test *test, const void *cls,
                             struct mc_words_result *res);

#endif
