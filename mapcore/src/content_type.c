/* content_type.c - the media type a mapping's bytes are served as.
 *
 * Metadata like the size, persisted in the catalog, but changing it touches
 * no byte: no range lock, no generation bump. Setters are serialised by the
 * mapping's resize_lock (held across the persist, as a resize does), so a
 * failed persist can put back exactly the value it replaced; readers copy it
 * under the mapping lock.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

bool mc_content_type_valid(const char *s)
{
    size_t n;

    if (s == NULL)
        return false;
    n = strlen(s);
    if (n == 0 || n > MC_CONTENT_TYPE_MAX)
        return false;
    /* Printable ASCII: nothing that could end or split a header line. */
    for (size_t i = 0; i < n; i++) {
        if (s[i] < 0x20 || s[i] > 0x7e)
            return false;
    }
    return true;
}

void mc_mapping_content_type(struct mc_mapping *m,
                             char buf[MC_CONTENT_TYPE_MAX + 1])
{
    pthread_mutex_lock(&m->lock);
    /* Valid, so at most MC_CONTENT_TYPE_MAX bytes. */
    memcpy(buf, m->content_type, strlen(m->content_type) + 1);
    pthread_mutex_unlock(&m->lock);
}

enum mc_err mc_mapping_set_content_type(struct mc_mapping *m,
                                        const char *type)
{
    enum mc_err rc = MC_OK;
    char *own = NULL; /* NULL: the default, a literal */

    if (!mc_content_type_valid(type))
        return MC_EINVAL;
    if (strcmp(type, MC_CONTENT_TYPE_DEFAULT) != 0 && !(own = strdup(type)))
        return MC_ENOMEM;
    pthread_mutex_lock(&m->resize_lock);
    pthread_mutex_lock(&m->lock);
    /* Readers copy under the lock, so the old string can go once it is
     * swapped out; kept until the persist has held. */
    const char *old = m->content_type;
    bool old_heap = m->content_type_heap;
    m->content_type = own ? own : MC_CONTENT_TYPE_DEFAULT;
    m->content_type_heap = own != NULL;
    pthread_mutex_unlock(&m->lock);
    if (m->backing == MC_BACKING_FILE && strcmp(old, type) != 0)
        rc = mc__catalog_persist(m->cat, m, false);
    if (rc != MC_OK) {
        pthread_mutex_lock(&m->lock);
        m->content_type = old;
        m->content_type_heap = old_heap;
        pthread_mutex_unlock(&m->lock);
        free(own);
    } else if (old_heap) {
        free((char *)old);
    }
    pthread_mutex_unlock(&m->resize_lock);
    return rc;
}
