/* fuzz_framing.c - srv_framing_check() and srv_framing_target_clean().
 *
 * The input is a request head: its first line is the target, the rest are
 * header lines split the way libmicrohttpd splits them (at LF, a CR before
 * it dropped); each name's gap counts the bytes since the previous value. Invariants: the answer
 * is one of 0, 400, 414, 431, 501 with a reason exactly when refused; an
 * accepted head has at most one Content-Length (all digits), not both
 * framings, no byte outside a token in a name, no CTL in a value, and only
 * CRLF line ends; the target check agrees with a byte scan.
 */
#include <strings.h>

#include "framing.h"
#include "fuzz.h"
#include "head_lines.h"

#define MAXF (SRV_FRAMING_MAX_LINES + 8)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct srv_field f[MAXF];
    const char *s = (const char *)data;
    const char *nl = memchr(s, '\n', size);
    size_t tlen = nl ? (size_t)(nl - s) : size;
    size_t i = nl ? tlen + 1 : size;
    size_t n;
    unsigned cls = 0;
    bool clean;
    const char *why;
    unsigned st;

    if (tlen > 0 && s[tlen - 1] == '\r')
        tlen--;
    clean = srv_framing_target_clean(s, tlen);
    for (size_t k = 0; k < tlen; k++)
        FUZZ_ASSERT(!clean || (data[k] > 0x20 && data[k] < 0x7f));
    n = head_lines(s + i, size - i, (ptrdiff_t)tlen - (ptrdiff_t)i, f, MAXF);
    st = srv_framing_check(
        &(struct srv_head){.target_len = tlen, .target_bad = !clean,
                           .http11 = size % 2 == 0, .fields = f,
                           .nfields = n, .max_head_bytes = 4096},
        &why);
    FUZZ_ASSERT(st == 0 || st == 400 || st == 414 || st == 431 || st == 501);
    FUZZ_ASSERT((st == 0) == (why == NULL));
    if (st != 0)
        return 0;
    FUZZ_ASSERT(clean && n <= SRV_FRAMING_MAX_LINES);
    for (size_t k = 0; k < n; k++) {
        FUZZ_ASSERT(f[k].gap == 2 && f[k].name_len > 0);
        FUZZ_ASSERT(!memchr(f[k].name, ' ', f[k].name_len));
        for (size_t j = 0; j < f[k].value_len; j++)
            FUZZ_ASSERT((unsigned char)f[k].value[j] >= 0x20 ||
                        f[k].value[j] == '\t');
        if (f[k].name_len == 14 &&
            strncasecmp(f[k].name, "Content-Length", 14) == 0)
            cls++;
    }
    FUZZ_ASSERT(cls <= 1);
    return 0;
}
