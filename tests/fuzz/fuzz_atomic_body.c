/* fuzz_atomic_body.c - the body parser of POST /v1/maps/{name}/atomic
 * (api/src/atomicbody.c).
 *
 * Invariants: an accepted body holds 1 to MC_WORDS_MAX operations, each of
 * width 4 or 8, aligned, with operands inside the width, a value where the
 * operation needs one, an expected value only on cas, and no two words
 * overlapping partially; a refused body says why, with a 400 error of the
 * API's (invalid_json, invalid_field, misaligned), never anything else.
 */
#include "fuzz.h"
#include "internal.h"

static bool in_width(int64_t v, unsigned width)
{
    return width == 8 || (v >= INT32_MIN && v <= INT32_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mc_word w[MC_WORDS_MAX];
    struct api_atomic_error e = {0};
    size_t n = 99;

    if (!api__atomic_parse((const char *)data, size, w, &n, &e)) {
        FUZZ_ASSERT(n == 0);
        FUZZ_ASSERT(e.why[0] != '\0');
        FUZZ_ASSERT(e.err == API_EJSON || e.err == API_EFIELD ||
                    e.err == API_ERR_MC(MC_EMISALIGNED));
        FUZZ_ASSERT(api_status_lookup(e.err)->status == 400);
        return 0;
    }
    FUZZ_ASSERT(n >= 1 && n <= MC_WORDS_MAX);
    for (size_t i = 0; i < n; i++) {
        FUZZ_ASSERT(w[i].width == 4 || w[i].width == 8);
        FUZZ_ASSERT(w[i].off % w[i].width == 0);
        FUZZ_ASSERT((unsigned)w[i].op <= MC_WORD_XOR);
        FUZZ_ASSERT(in_width(w[i].value, w[i].width));
        FUZZ_ASSERT(in_width(w[i].expected, w[i].width));
        FUZZ_ASSERT(w[i].op != MC_WORD_LOAD || w[i].value == 0);
        FUZZ_ASSERT(w[i].op == MC_WORD_CAS || w[i].expected == 0);
        FUZZ_ASSERT(w[i].op == MC_WORD_ADD || !w[i].checked);
        for (size_t j = 0; j < i; j++)
            FUZZ_ASSERT(w[i].width == w[j].width ||
                        (w[i].off & ~(uint64_t)7) != (w[j].off & ~(uint64_t)7));
    }
    return 0;
}
