/* fdcache.c - the bounded cache of open backing files.
 *
 * Every file mapping used to keep its backing file open for its whole life,
 * so the process's descriptor limit capped how many mappings could exist.
 * Now a file mapping's descriptor is opened when something needs it
 * (mapping a view, a direct read, a flush, a resize, stamping the mtime)
 * and held only while that is in progress (mc__fd_get .. mc__fd_put); idle
 * descriptors stay open on an LRU list for the next use, at most `max` of
 * them open in all, and the least recently used idle one is closed to make
 * room. Views do not need the descriptor: a MAP_SHARED view keeps its file
 * referenced after close, so closing never disturbs a view in use.
 *
 * Reopening is checked as loading is (catalog.c): the file is opened
 * beneath the data directory by its recorded path, and must still be the
 * file the mapping was made on (same st_dev and st_ino, recorded at the
 * first open). A file that is gone or was replaced behind our back gives
 * MC_EDAMAGED: serving another file's bytes under the mapping's name would
 * be worse than failing, and the next start loads the mapping as damaged
 * (or adopts the new file, as a start always did).
 *
 * Memory mappings (their memfd is the memory) and damaged ones never enter
 * the cache: their descriptor is theirs for life.
 *
 * The cache lock is a leaf: nothing is called under it that takes another
 * lock. open(2) runs outside it; two threads opening one mapping at once
 * keep the first descriptor and close the other.
 */
#include <stdlib.h>
#include <sys/stat.h>

#include "internal.h"

struct mc__fdcache {
    pthread_mutex_t lock; /* everything below, and each member's fd fields */
    int datafd;           /* borrowed */
    size_t max;           /* most descriptors open at once (>= 1) */
    size_t open;          /* descriptors open now */
    struct mc_mapping *idle_head, *idle_tail; /* open, unused; LRU first */
};

enum mc_err mc__fdcache_create(int datafd, size_t max,
                               struct mc__fdcache **out)
{
    struct mc__fdcache *c = calloc(1, sizeof *c);

    if (!c)
        return MC_ENOMEM;
    pthread_mutex_init(&c->lock, NULL);
    c->datafd = datafd;
    c->max = max > 0 ? max : 1;
    *out = c;
    return MC_OK;
}

void mc__fdcache_destroy(struct mc__fdcache *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->lock);
    free(c);
}

size_t mc__fdcache_open_count(struct mc__fdcache *c)
{
    pthread_mutex_lock(&c->lock);
    size_t n = c->open;
    pthread_mutex_unlock(&c->lock);
    return n;
}

static bool cached(const struct mc_mapping *m)
{
    return m->fdc != NULL;
}

static void idle_unlink(struct mc__fdcache *c, struct mc_mapping *m)
{
    if (!m->fd_idle)
        return;
    if (m->fd_prev)
        m->fd_prev->fd_next = m->fd_next;
    else
        c->idle_head = m->fd_next;
    if (m->fd_next)
        m->fd_next->fd_prev = m->fd_prev;
    else
        c->idle_tail = m->fd_prev;
    m->fd_prev = m->fd_next = NULL;
    m->fd_idle = false;
}

static void idle_append(struct mc__fdcache *c, struct mc_mapping *m)
{
    m->fd_prev = c->idle_tail;
    m->fd_next = NULL;
    if (c->idle_tail)
        c->idle_tail->fd_next = m;
    else
        c->idle_head = m;
    c->idle_tail = m;
    m->fd_idle = true;
}

/* Close idle descriptors, least recently used first, until at most keep
 * are open (or none is idle). Lock held. */
static void shed(struct mc__fdcache *c, size_t keep)
{
    while (c->open > keep && c->idle_head) {
        struct mc_mapping *v = c->idle_head;
        idle_unlink(c, v);
        mc__sys_close(v->fd);
        v->fd = -1;
        c->open--;
    }
}

void mc__fdcache_adopt(struct mc__fdcache *c, struct mc_mapping *m)
{
    struct stat st;

    m->fdc = c;
    if (mc__sys_identify(m->fd, &st) == MC_OK) {
        m->fd_dev = st.st_dev;
        m->fd_ino = st.st_ino;
    }
    pthread_mutex_lock(&c->lock);
    c->open++;
    idle_append(c, m);
    shed(c, c->max);
    pthread_mutex_unlock(&c->lock);
}

/* Open m's file again and check it is still the same file. */
static enum mc_err reopen(struct mc__fdcache *c, struct mc_mapping *m,
                          int *out)
{
    struct stat st;
    bool created = false;
    int fd = -1;
    enum mc_err rc = mc__sys_open_beneath(
        c->datafd, m->file, m->protection == MC_PROT_READWRITE, false, &fd,
        &created);

    if (rc == MC_ENOFD) {
        /* Out of descriptors: give back our idle ones and try once more. */
        pthread_mutex_lock(&c->lock);
        shed(c, 0);
        pthread_mutex_unlock(&c->lock);
        rc = mc__sys_open_beneath(c->datafd, m->file,
                                  m->protection == MC_PROT_READWRITE, false,
                                  &fd, &created);
    }
    if (rc == MC_ENOFILE || rc == MC_EPATH || rc == MC_ENOTREG)
        return MC_EDAMAGED;
    if (rc != MC_OK)
        return rc;
    rc = mc__sys_identify(fd, &st);
    if (rc == MC_OK && (st.st_dev != m->fd_dev || st.st_ino != m->fd_ino))
        rc = MC_EDAMAGED; /* replaced behind our back */
    if (rc != MC_OK) {
        mc__sys_close(fd);
        return rc;
    }
    *out = fd;
    return MC_OK;
}

enum mc_err mc__fd_get(struct mc_mapping *m, int *out)
{
    struct mc__fdcache *c = m->fdc;
    int fd = -1;
    enum mc_err rc;

    if (!cached(m)) {
        *out = m->fd;
        return m->fd >= 0 ? MC_OK : MC_EDAMAGED;
    }
    pthread_mutex_lock(&c->lock);
    if (m->fd >= 0) {
        idle_unlink(c, m);
        m->fd_users++;
        *out = m->fd;
        pthread_mutex_unlock(&c->lock);
        return MC_OK;
    }
    pthread_mutex_unlock(&c->lock);

    rc = reopen(c, m, &fd);
    if (rc != MC_OK)
        return rc;
    pthread_mutex_lock(&c->lock);
    if (m->fd >= 0) {
        /* Another thread opened it meanwhile: use theirs. */
        idle_unlink(c, m);
        mc__sys_close(fd);
    } else {
        m->fd = fd;
        c->open++;
        /* Room for it among the idle ones; in-use descriptors can push the
         * count past max for as long as they are in use. */
        shed(c, c->max);
    }
    m->fd_users++;
    *out = m->fd;
    pthread_mutex_unlock(&c->lock);
    return MC_OK;
}

void mc__fd_put(struct mc_mapping *m)
{
    struct mc__fdcache *c = m->fdc;

    if (!cached(m))
        return;
    pthread_mutex_lock(&c->lock);
    if (--m->fd_users == 0) {
        idle_append(c, m);
        shed(c, c->max);
    }
    pthread_mutex_unlock(&c->lock);
}

void mc__fd_forget(struct mc_mapping *m)
{
    struct mc__fdcache *c = m->fdc;

    if (!cached(m)) {
        mc__sys_close(m->fd);
        m->fd = -1;
        return;
    }
    pthread_mutex_lock(&c->lock);
    idle_unlink(c, m);
    if (m->fd >= 0) {
        mc__sys_close(m->fd);
        m->fd = -1;
        c->open--;
    }
    pthread_mutex_unlock(&c->lock);
}
