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
 * A reopen costs open, fstat and, at the evicting end, close: three system
 * calls that are most of a request's cost when the mappings in use far
 * outnumber the cache (W6 at 100,000 mappings, bench/RESULTS.md). So the
 * identity check uses the fstat the open takes anyway, and small files go
 * without the random-access hint (mc__sys_hint_random).
 *
 * The cache lock is a leaf: nothing is called under it that takes another
 * lock. Neither open(2) nor close(2) runs under it (every request of every
 * thread takes it); two threads opening one mapping at once keep the first
 * descriptor and close the other.
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

/* Descriptors taken out of the cache under its lock, closed after it. */
#define SHED_BATCH 16
struct shed_list {
    int fds[SHED_BATCH];
    size_t n;
};

/* Take idle descriptors out, least recently used first, until at most keep
 * are open, none is idle or the list is full; true if it filled (call
 * again). Lock held: the caller closes them with close_shed once it is
 * dropped. */
static bool shed(struct mc__fdcache *c, size_t keep, struct shed_list *out)
{
    while (c->open > keep && c->idle_head) {
        if (out->n == SHED_BATCH)
            return true;
        struct mc_mapping *v = c->idle_head;
        idle_unlink(c, v);
        out->fds[out->n++] = v->fd;
        v->fd = -1;
        c->open--;
    }
    return false;
}

static void close_shed(struct shed_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        mc__sys_close(l->fds[i]);
    l->n = 0;
}

/* Shed down to keep, every idle descriptor it takes closed. Lock not held. */
static void shed_all(struct mc__fdcache *c, size_t keep)
{
    struct shed_list l = {.n = 0};
    bool more;

    do {
        pthread_mutex_lock(&c->lock);
        more = shed(c, keep, &l);
        pthread_mutex_unlock(&c->lock);
        close_shed(&l);
    } while (more);
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
    pthread_mutex_unlock(&c->lock);
    shed_all(c, c->max);
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
        &created, &st);

    if (rc == MC_ENOFD) {
        /* Out of descriptors: give back our idle ones and try once more. */
        shed_all(c, 0);
        rc = mc__sys_open_beneath(c->datafd, m->file,
                                  m->protection == MC_PROT_READWRITE, false,
                                  &fd, &created, &st);
    }
    if (rc == MC_ENOFILE || rc == MC_EPATH || rc == MC_ENOTREG)
        return MC_EDAMAGED;
    if (rc != MC_OK)
        return rc;
    if (st.st_dev != m->fd_dev || st.st_ino != m->fd_ino) {
        mc__sys_close(fd);
        return MC_EDAMAGED; /* replaced behind our back */
    }
    if ((uint64_t)st.st_size > MC__HINT_RANDOM_MIN)
        mc__sys_hint_random(fd);
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
    struct shed_list shed_fds = {.n = 0};
    int spare = -1;
    bool more = false;
    pthread_mutex_lock(&c->lock);
    if (m->fd >= 0) {
        /* Another thread opened it meanwhile: use theirs. */
        idle_unlink(c, m);
        spare = fd;
    } else {
        m->fd = fd;
        c->open++;
        /* Room for it among the idle ones; in-use descriptors can push the
         * count past max for as long as they are in use. */
        more = shed(c, c->max, &shed_fds);
    }
    m->fd_users++;
    *out = m->fd;
    pthread_mutex_unlock(&c->lock);
    close_shed(&shed_fds);
    if (more)
        shed_all(c, c->max);
    if (spare >= 0)
        mc__sys_close(spare);
    return MC_OK;
}

void mc__fd_put(struct mc_mapping *m)
{
    struct mc__fdcache *c = m->fdc;

    if (!cached(m))
        return;
    struct shed_list shed_fds = {.n = 0};
    bool more = false;

    pthread_mutex_lock(&c->lock);
    if (--m->fd_users == 0) {
        idle_append(c, m);
        more = shed(c, c->max, &shed_fds);
    }
    pthread_mutex_unlock(&c->lock);
    close_shed(&shed_fds);
    if (more)
        shed_all(c, c->max);
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
