/* fuzz_digest.c - the RFC 9530 digest fields of digesthdr.c on any value.
 *
 * Invariants: a Content-Digest is OK exactly when it yields at least one
 * digest, and a refused one leaves nothing behind; every digest it yields
 * prints (base64) to a member that parses back to the same bytes; the
 * input's own bytes, printed as a sha-256 member, parse back when they are
 * 32 bytes long and are refused otherwise; Want-Content-Digest names one
 * of our algorithms when it accepts.
 */
#include <stdio.h>

#include "api/api_parse.h"
#include "fuzz.h"

static void roundtrip(enum api_digest_alg a, const uint8_t *v, size_t n,
                      bool want_ok)
{
    char b64[API_DIGEST_MAX * 2];
    char field[sizeof(b64) + 16];
    struct api_content_digest d;
    enum api_digest_result res;

    FUZZ_ASSERT(api_base64_encode(v, n, b64, sizeof(b64)) > 0 || n == 0);
    snprintf(field, sizeof(field), "%s=:%s:", api_digest_alg_name(a), b64);
    res = api_content_digest_parse(field, &d);
    if (!want_ok) {
        FUZZ_ASSERT(res == API_DIGEST_MALFORMED);
        return;
    }
    FUZZ_ASSERT(res == API_DIGEST_OK && d.present[a]);
    FUZZ_ASSERT(memcmp(d.value[a], v, n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    struct api_content_digest d;
    enum api_digest_result res;
    enum api_digest_alg a;
    bool any = false;

    if (s == NULL)
        return 0;
    res = api_content_digest_parse(s, &d);
    for (int i = 0; i < API_DIGEST_ALGS; i++)
        any = any || d.present[i];
    FUZZ_ASSERT((res == API_DIGEST_OK) == any);
    if (res == API_DIGEST_MALFORMED)
        FUZZ_ASSERT(d.unknown == 0);
    if (res == API_DIGEST_UNSUPPORTED)
        FUZZ_ASSERT(d.unknown > 0);
    for (int i = 0; i < API_DIGEST_ALGS; i++) {
        if (d.present[i])
            roundtrip((enum api_digest_alg)i, d.value[i],
                      api_digest_alg_len((enum api_digest_alg)i), true);
    }
    if (size <= API_DIGEST_MAX)
        roundtrip(API_DIGEST_SHA256, data, size, size == 32);
    if (api_want_digest_parse(s, &a))
        FUZZ_ASSERT((unsigned)a < API_DIGEST_ALGS);
    free(s);
    return 0;
}
