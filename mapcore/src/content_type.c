/* content_type.c - the media type a mapping's bytes are served as.
 *
 * Metadata like the size, persisted in the catalog, but changing it touches
 * no byte: no range lock, no generation bump. Setters are serialised by the
 * mapping's resize_lock (held across the persist, as a resize does), so a
 * failed persist can put back exactly the value it replaced; readers copy it
 * under the mapping lock.
 */
#include <stdio.h>
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
    memcpy(buf, m->content_type, MC_CONTENT_TYPE_MAX + 1);
    pthread_mutex_unlock(&m->lock);
}

enum mc_err mc_mapping_set_content_type(struct mc_mapping *m,
                                        const char *type)
{
    char old[MC_CONTENT_TYPE_MAX + 1];
    enum mc_err rc = MC_OK;

    if (!mc_content_type_valid(type))
        return MC_EINVAL;
    pthread_mutex_lock(&m->resize_lock);
    pthread_mutex_lock(&m->lock);
    memcpy(old, m->content_type, sizeof old);
    snprintf(m->content_type, sizeof m->content_type, "%s", type);
    pthread_mutex_unlock(&m->lock);
    if (m->backing == MC_BACKING_FILE && strcmp(old, type) != 0)
        rc = mc__catalog_persist(m->cat, m, false);
    if (rc != MC_OK) {
        pthread_mutex_lock(&m->lock);
        memcpy(m->content_type, old, sizeof old);
        pthread_mutex_unlock(&m->lock);
    }
    pthread_mutex_unlock(&m->resize_lock);
    return rc;
}
