/* viewbody.c - see viewbody.h: pinned bodies copied under the SIGBUS guard.
 *
 * libmicrohttpd asks for the body in order, so the reader remembers the
 * piece it stopped in and walks forward; a request for an earlier position
 * (which libmicrohttpd never makes) restarts the walk from the first piece.
 */
#include "viewbody.h"

#include <stdlib.h>

#include "mapcore/mc_mapping.h"

struct viewbody {
    struct api_body body;
    unsigned idx;     /* the piece holding position `at` */
    uint64_t idx_pos; /* body position where piece idx starts */
};

static ssize_t viewbody_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct viewbody *vb = cls;
    size_t done = 0;

    if (pos < vb->idx_pos) {
        vb->idx = 0;
        vb->idx_pos = 0;
    }
    /* Bounded by the number of pieces: each round moves to the next one
     * or fills buf. */
    while (done < max && vb->idx < vb->body.iovcnt) {
        const struct api_iov *v = &vb->body.iov[vb->idx];
        uint64_t within = pos + done - vb->idx_pos;

        if (within >= v->len) {
            vb->idx_pos += v->len;
            vb->idx++;
            continue;
        }
        size_t n = v->len - (size_t)within;
        if (n > max - done)
            n = max - done;
        /* A truncated backing file ends the response: its length was
         * promised in Content-Length, so the connection must close. */
        if (!mc_view_copy(buf + done, (const char *)v->base + within, n))
            return MHD_CONTENT_READER_END_WITH_ERROR;
        done += n;
    }
    if (done == 0)
        return MHD_CONTENT_READER_END_WITH_ERROR; /* asked past the end */
    return (ssize_t)done;
}

static void viewbody_free(void *cls)
{
    struct viewbody *vb = cls;

    if (vb->body.release)
        vb->body.release(vb->body.cls);
    free(vb);
}

struct MHD_Response *srv_viewbody_response(struct api_body *body, size_t block)
{
    struct viewbody *vb = calloc(1, sizeof(*vb));
    struct MHD_Response *mr;

    if (!vb) {
        if (body->release)
            body->release(body->cls);
        return NULL;
    }
    vb->body = *body;
    mr = MHD_create_response_from_callback(body->length, block, viewbody_read,
                                           vb, viewbody_free);
    if (!mr)
        viewbody_free(vb);
    return mr;
}
