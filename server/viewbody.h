/* viewbody.h - iovec bodies served by guarded copies, for TLS connections.
 *
 * An API_BODY_IOV body whose pieces point into mapped views would be read
 * by GnuTLS in user space over TLS, where a page lost to a truncation
 * behind our back raises SIGBUS in a libmicrohttpd thread and kills the
 * server (over plain HTTP the kernel reads them in send() and only gets
 * EFAULT). This wraps such a body in a content reader that copies each
 * piece with mc_view_copy (guarded against SIGBUS) instead. Today the api
 * serves bytes of views as readers (api/src/body.c) and its iovec bodies
 * are memory they own, so this is a guard for any that come back.
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
