/* fuzz_http_date.c - api_parse_http_date and api_format_http_date.
 *
 * Invariants: an accepted date formats back to an IMF-fixdate that parses
 * to the same instant, and an IMF-fixdate is that text itself (but for its
 * day name); the parser never reads past the terminating NUL.
 */
#include "api/api_parse.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    char back[API_HTTP_DATE_LEN];
    int64_t t = 0;
    int64_t u = 0;

    if (s == NULL)
        return 0;
    if (api_parse_http_date(s, &t)) {
        api_format_http_date(t, back);
        FUZZ_ASSERT(api_parse_http_date(back, &u) && u == t);
        /* The IMF-fixdate form is canonical: it formats back unchanged
         * after the day name, which is not checked against the date (RFC
         * 9110 asks nothing of recipients there), and but for a leap
         * second, read as the second before. */
        if (strlen(s) == 29 && s[3] == ',' && strncmp(s + 23, "60", 2) != 0)
            FUZZ_ASSERT(strcmp(back + 3, s + 3) == 0);
    }
    free(s);
    return 0;
}
