/* viewbody.h - zero-copy bodies served by copying, for TLS connections.
 *
 * A pinned (API_BODY_IOV) body points into mapped views. Over plain HTTP the
 * kernel reads those pages in send(), where a page lost to a truncation
 * behind our back costs only EFAULT and a closed connection. Over TLS,
 * libmicrohttpd hands the same pointers to GnuTLS, which reads them in user
 * space: the same truncation would raise SIGBUS in a libmicrohttpd thread
 * and kill the server. This wraps such a body in a content reader that
 * copies each piece with mc_view_copy (guarded against SIGBUS) instead.
 */
#ifndef SERVER_VIEWBODY_H
#define SERVER_VIEWBODY_H

#include <microhttpd.h>

#include "api/api.h"

/* A response that serves body (which must be API_BODY_IOV) through guarded
 * copies in blocks of at most block bytes. Takes over body's release: it runs
 * exactly once, also when this returns NULL (out of memory). */
struct MHD_Response *srv_viewbody_response(struct api_body *body, size_t block);

#endif
