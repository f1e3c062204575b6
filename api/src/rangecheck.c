/* rangecheck.c - the 416 of an operation whose range ({offset, length} of
 * a body or a query) must lie inside the mapping, with the
 * Content-Range that tells the client the size.
 */
#include <inttypes.h>

#include "internal.h"

bool api__range_inside(struct api_exchange *ex, uint64_t off, uint64_t len,
                       uint64_t size)
{
    uint64_t end;

    if (off <= size && !__builtin_add_overflow(off, len, &end) && end <= size)
        return true;
    api__fail(ex, API_ERR_MC(MC_ERANGE),
              "the range lies outside the mapping's %" PRIu64 " bytes", size);
    api__header_keep(ex, "Content-Range", "bytes */%" PRIu64, size);
    return false;
}
