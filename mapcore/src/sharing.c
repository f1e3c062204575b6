/* sharing.c - backing files that several mappings use.
 *
 * Several mappings may name one file (API.md: one readwrite, one readonly,
 * one writecopy, as Win32 mappings may share a file). Each of them needs the
 * file to be at least as long as its own size: a truncation below that
 * would make its views raise SIGBUS and the mapping load as damaged at the
 * next start. And a file shared with a mapping outside a caller's scope
 * hands that caller the other mapping's bytes.
 *
 * So the catalog keeps a registry of the files in use, keyed by what the
 * file *is* (st_dev, st_ino of the open descriptor), not by the path string:
 * "a/b", a symlink to it or a hard link inside the data directory are one
 * file. Every healthy file-backed mapping joins the registry when it is
 * made and leaves it when it is destroyed (not when it is removed from the
 * catalog: a removed mapping still serves the requests that hold it, and
 * still needs its bytes). Each user records how many bytes of the file it
 * needs; resize.c keeps that at least the mapping's size at every moment
 * (raised before a grow extends the file, lowered only once a shrink is
 * durable), and never cuts the file below the largest need.
 *
 * A create that sizes an existing file in use does so before its mapping
 * exists to join; it holds its need on the file meanwhile (mc__files_hold),
 * so a deferred truncation by another user cannot cut what it grows.
 *
 * Damaged mappings have no descriptor and are not registered; the catalog
 * compares their recorded path instead (catalog.c).
 *
 * Locking: one mutex per registry guards everything here. It is a leaf: it
 * is taken under the mapping lock and the catalog's create_lock, and
 * nothing else is taken while it is held.
 */
#include <stdlib.h>
#include <sys/stat.h>

#include "internal.h"

struct mc__file {
    dev_t dev;
    ino_t ino;
    struct mc_mapping **users; /* borrowed: a user leaves before it dies */
    size_t n, cap;
    uint64_t held; /* the need of a create not joined yet (mc__files_hold) */
    struct mc__file *next; /* hash chain */
};

struct mc__files {
    pthread_mutex_t lock;
    struct mc__file **buckets;
    size_t nbuckets; /* a power of two */
    size_t nfiles;
    struct mc__file *held; /* the record with a hold, or NULL */
};

/* The bucket of (dev, ino) in a table of nbuckets (a power of two). */
static size_t hash_at(size_t nbuckets, dev_t dev, ino_t ino)
{
    uint64_t h = ((uint64_t)ino * 0x9e3779b97f4a7c15ull) ^ (uint64_t)dev;

    return (size_t)(h ^ (h >> 29)) & (nbuckets - 1);
}

static size_t bucket_of(const struct mc__files *f, dev_t dev, ino_t ino)
{
    return hash_at(f->nbuckets, dev, ino);
}

enum mc_err mc__files_create(struct mc__files **out)
{
    struct mc__files *f = calloc(1, sizeof *f);

    if (!f)
        return MC_ENOMEM;
    f->nbuckets = 64;
    f->buckets = calloc(f->nbuckets, sizeof *f->buckets);
    if (!f->buckets) {
        free(f);
        return MC_ENOMEM;
    }
    pthread_mutex_init(&f->lock, NULL);
    *out = f;
    return MC_OK;
}

void mc__files_destroy(struct mc__files *f)
{
    if (!f)
        return;
    /* Every user has left (they leave as they die, before the catalog). */
    free(f->buckets);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

/* The record of (dev, ino), or NULL. Lock held. */
static struct mc__file *lookup(const struct mc__files *f, dev_t dev, ino_t ino)
{
    struct mc__file *r = f->buckets[bucket_of(f, dev, ino)];

    while (r && (r->dev != dev || r->ino != ino))
        r = r->next;
    return r;
}

/* Double the table when it holds more files than buckets; a failure only
 * leaves the chains longer. Lock held. */
static void maybe_grow(struct mc__files *f)
{
    size_t n = f->nbuckets * 2;
    struct mc__file **b;

    if (f->nfiles <= f->nbuckets || !(b = calloc(n, sizeof *b)))
        return;
    for (size_t i = 0; i < f->nbuckets; i++) {
        struct mc__file *r = f->buckets[i];

        while (r) {
            struct mc__file *next = r->next;
            size_t at = hash_at(n, r->dev, r->ino);

            r->next = b[at];
            b[at] = r;
            r = next;
        }
    }
    free(f->buckets);
    f->buckets = b;
    f->nbuckets = n;
}

enum mc_err mc__files_join(struct mc__files *f, struct mc_mapping *m)
{
    struct stat st;
    struct mc__file *r;
    int fd;
    enum mc_err rc = mc__fd_get(m, &fd);

    if (rc != MC_OK)
        return rc;
    rc = mc__sys_identify(fd, &st);
    mc__fd_put(m);
    if (rc != MC_OK)
        return rc;
    /* Read before the files lock, a leaf: the mapping lock comes first. */
    uint64_t need = mc_mapping_size(m);
    pthread_mutex_lock(&f->lock);
    r = lookup(f, st.st_dev, st.st_ino);
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r) {
            pthread_mutex_unlock(&f->lock);
            return MC_ENOMEM;
        }
        r->dev = st.st_dev;
        r->ino = st.st_ino;
        size_t at = bucket_of(f, r->dev, r->ino);
        r->next = f->buckets[at];
        f->buckets[at] = r;
        f->nfiles++;
        maybe_grow(f);
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 4;
        struct mc_mapping **u = realloc(r->users, cap * sizeof *u);

        if (!u) {
            pthread_mutex_unlock(&f->lock);
            return MC_ENOMEM; /* an empty record is harmless */
        }
        r->users = u;
        r->cap = cap;
    }
    m->file_slot = r->n;
    r->users[r->n++] = m;
    m->file_need = need;
    m->files = f;
    m->file_rec = r;
    pthread_mutex_unlock(&f->lock);
    return MC_OK;
}

void mc__files_leave(struct mc_mapping *m)
{
    struct mc__files *f = m->files;
    struct mc__file *r = m->file_rec;

    if (!f)
        return;
    pthread_mutex_lock(&f->lock);
    /* Swap-remove, keeping the moved user's slot right. */
    r->users[m->file_slot] = r->users[--r->n];
    r->users[m->file_slot]->file_slot = m->file_slot;
    if (r->n == 0) {
        struct mc__file **p = &f->buckets[bucket_of(f, r->dev, r->ino)];

        while (*p != r)
            p = &(*p)->next;
        *p = r->next;
        f->nfiles--;
        if (f->held == r)
            f->held = NULL;
        free(r->users);
        free(r);
    }
    pthread_mutex_unlock(&f->lock);
    m->files = NULL;
    m->file_rec = NULL;
}

uint64_t mc__files_others_need(struct mc_mapping *m)
{
    uint64_t need = 0;

    if (!m->files)
        return 0;
    pthread_mutex_lock(&m->files->lock);
    need = m->file_rec->held;
    for (size_t i = 0; i < m->file_rec->n; i++) {
        const struct mc_mapping *u = m->file_rec->users[i];

        if (u != m && u->file_need > need)
            need = u->file_need;
    }
    pthread_mutex_unlock(&m->files->lock);
    return need;
}

void mc__files_set_need(struct mc_mapping *m, uint64_t need)
{
    if (!m->files)
        return;
    pthread_mutex_lock(&m->files->lock);
    m->file_need = need;
    pthread_mutex_unlock(&m->files->lock);
}

bool mc__files_shared(struct mc_mapping *m)
{
    bool shared;

    if (!m->files)
        return false;
    pthread_mutex_lock(&m->files->lock);
    shared = m->file_rec->n > 1;
    pthread_mutex_unlock(&m->files->lock);
    return shared;
}

enum mc_err mc__files_check(struct mc__files *f, int fd,
                            const struct mc_mapping *self,
                            bool (*may)(void *cls, const char *name),
                            void *cls)
{
    struct stat st;
    struct mc__file *r;
    enum mc_err rc;

    if (!may)
        return MC_OK;
    rc = mc__sys_identify(fd, &st);
    if (rc != MC_OK)
        return rc;
    pthread_mutex_lock(&f->lock);
    r = lookup(f, st.st_dev, st.st_ino);
    for (size_t i = 0; r && i < r->n && rc == MC_OK; i++) {
        if (r->users[i] != self && !may(cls, r->users[i]->name))
            rc = MC_EDENIED;
    }
    pthread_mutex_unlock(&f->lock);
    return rc;
}

void mc__files_hold(struct mc__files *f, int fd, uint64_t need)
{
    struct stat st;

    if (mc__sys_identify(fd, &st) != MC_OK)
        return;
    pthread_mutex_lock(&f->lock);
    /* No record: nobody uses the file, so nobody would cut it. */
    f->held = lookup(f, st.st_dev, st.st_ino);
    if (f->held)
        f->held->held = need;
    pthread_mutex_unlock(&f->lock);
}

void mc__files_unhold(struct mc__files *f)
{
    pthread_mutex_lock(&f->lock);
    if (f->held)
        f->held->held = 0;
    f->held = NULL;
    pthread_mutex_unlock(&f->lock);
}
