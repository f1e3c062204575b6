/* head_lines.h - split header text into struct srv_field lines the way
 * libmicrohttpd 0.9.75 does, for the framing unit tests and fuzzer.
 *
 * Lines end at LF (a CR before it is dropped); a line without a colon (an
 * obs-fold continuation, say) adds no field; each field's gap counts the
 * bytes since the previous value ended, starting from `prev` (the offset in
 * text where the request line's content ended): 2 after a CRLF, 1 after a
 * bare LF, more when a folded line came in between. Returns the number of
 * fields stored in f[0..max).
 */
#ifndef TESTLIB_HEAD_LINES_H
#define TESTLIB_HEAD_LINES_H

#include <stddef.h>
#include <string.h>

#include "framing.h"

static inline size_t head_lines(const char *text, size_t len, ptrdiff_t prev,
                                struct srv_field *f, size_t max)
{
    size_t n = 0;
    size_t i = 0;

    while (i < len && n < max) {
        const char *line = text + i;
        const char *nl = memchr(line, '\n', len - i);
        size_t ll = nl ? (size_t)(nl - line) : len - i;
        const char *colon;

        if (ll > 0 && line[ll - 1] == '\r')
            ll--;
        colon = memchr(line, ':', ll);
        if (colon) {
            const char *v = colon + 1;

            while (v < line + ll && (*v == ' ' || *v == '\t'))
                v++;
            f[n++] = (struct srv_field){line, (size_t)(colon - line), v,
                                        (size_t)(line + ll - v),
                                        (size_t)((line - text) - prev)};
            prev = line + ll - text;
        }
        if (!nl)
            break;
        i += (size_t)(nl - line) + 1;
    }
    return n;
}

#endif
