/* viewbody.c - see viewbody.h: iovec bodies copied under the SIGBUS guard.
 *
 * libmicrohttpd asks for the body in order; api_iov_copy remembers the
 * piece it stopped in and walks forward.
 */
#include "viewbody.h"

#include <stdlib.h>

struct viewbody {
    struct api_body body;
    struct api_iov_cursor cur;
};

static ssize_t viewbody_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct viewbody *vb = cls;
    ssize_t n = api_iov_copy(vb->body.iov, vb->body.iovcnt, &vb->cur, pos,
                             buf, max);

    /* A truncated backing file ends the response: its length was
     * promised in Content-Length, so the connection must close. So does a
     * request past the end (n == 0), which libmicrohttpd never makes. */
    if (n <= 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    return n;
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
