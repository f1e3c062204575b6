/* words.c - atomic operations on aligned words of a mapping (mc_words.h).
 *
 * A batch runs in three steps, all under the range lock of its words
 * (exclusive, or shared for loads only), so no read or write going through
 * mapcore sees the batch in part:
 *
 *   1. pin the view of every word (nothing can fail for want of a view
 *      once the first word has changed);
 *   2. read every word as it is now and play the batch on those values,
 *      checking each cas and checked add: a refusal changes nothing;
 *   3. apply each operation in place with a compare-and-swap loop on the
 *      mapped word, which is what makes it atomic to programs that bypass
 *      mapcore (they hold no range lock) as well.
 *
 * Step 2 reads a word that the batch will change with an atomic
 * fetch-or of 0: the value comes back unchanged, but the page is faulted in
 * for writing, so a sparse hole the full disk cannot back (SIGBUS on the
 * first store) shows up before anything is applied; it also breaks a
 * writecopy page away from the file before the batch commits to it.
 *
 * Every touch of mapped memory runs under the SIGBUS guard (guard.c), as
 * the byte copies of mapping.c do.
 */
#include <string.h>

#include "internal.h"
#include "mapcore/mc_words.h"

/* The words are operated on in place and are little-endian by contract:
 * that is the machine's own order only on a little-endian host. */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "mc_words.h needs a little-endian host"
#endif

/* How a guarded call touches its word. */
enum touch { TOUCH_READ, TOUCH_PROBE, TOUCH_APPLY };

struct word_call {
    struct mc_word *w;
    void *p; /* the word in its pinned view */
    enum touch how;
    int64_t old; /* out: the value found */
    int64_t new; /* out (apply): the value left */
    enum mc_err rc;
};

static bool fits(const struct mc_word *w, int64_t v)
{
    return w->width == 8 || (v >= INT32_MIN && v <= INT32_MAX);
}

/* w applied to old in the word's width: *out the new value, or the
 * refusal of a cas or a checked add. */
static enum mc_err compute(const struct mc_word *w, int64_t old, int64_t *out)
{
    int64_t v = w->value;
    bool overflow;

    switch (w->op) {
    case MC_WORD_LOAD:
        *out = old;
        return MC_OK;
    case MC_WORD_STORE:
    case MC_WORD_SWAP:
        *out = v;
        return MC_OK;
    case MC_WORD_CAS:
        if (old != w->expected)
            return MC_ECASFAILED;
        *out = v;
        return MC_OK;
    case MC_WORD_AND:
        *out = old & v;
        return MC_OK;
    case MC_WORD_OR:
        *out = old | v;
        return MC_OK;
    case MC_WORD_XOR:
        /* Operands of width 4 are sign-extended, so the bitwise results
         * are too. */
        *out = old ^ v;
        return MC_OK;
    case MC_WORD_ADD:
        /* The builtin stores the wrapped sum in the word's own type. */
        if (w->width == 4) {
            int32_t r;

            overflow = __builtin_add_overflow((int32_t)old, (int32_t)v, &r);
            *out = r;
        } else {
            int64_t r;

            overflow = __builtin_add_overflow(old, v, &r);
            *out = r;
        }
        return overflow && w->checked ? MC_EOVERFLOW : MC_OK;
    }
    return MC_EINVAL;
}

static int64_t word_load(void *p, unsigned width)
{
    if (width == 4)
        return __atomic_load_n((int32_t *)p, __ATOMIC_SEQ_CST);
    return __atomic_load_n((int64_t *)p, __ATOMIC_SEQ_CST);
}

static int64_t word_probe(void *p, unsigned width)
{
    if (width == 4)
        return __atomic_fetch_or((int32_t *)p, 0, __ATOMIC_SEQ_CST);
    return __atomic_fetch_or((int64_t *)p, 0, __ATOMIC_SEQ_CST);
}

/* Replace *old by nw if the word still holds *old; else *old gets what it
 * holds. */
static bool word_cas(void *p, unsigned width, int64_t *old, int64_t nw)
{
    bool ok;

    if (width == 4) {
        int32_t o = (int32_t)*old;

        ok = __atomic_compare_exchange_n((int32_t *)p, &o, (int32_t)nw, false,
                                         __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
        *old = o;
        return ok;
    }
    return __atomic_compare_exchange_n((int64_t *)p, old, nw, false,
                                       __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/* Runs under the SIGBUS guard: touches the word and its own locals only. */
static void word_touch(void *arg)
{
    struct word_call *c = arg;
    unsigned width = c->w->width;

    if (c->how == TOUCH_READ) {
        c->old = word_load(c->p, width);
        return;
    }
    if (c->how == TOUCH_PROBE) {
        c->old = word_probe(c->p, width);
        return;
    }
    c->old = word_load(c->p, width);
    for (;;) {
        c->rc = compute(c->w, c->old, &c->new);
        if (c->rc != MC_OK || c->w->op == MC_WORD_LOAD)
            return;
        /* A failed exchange means a program outside mapcore changed the
         * word in between: compute again from what it holds now. */
        if (word_cas(c->p, width, &c->old, c->new))
            return;
    }
}

/* Touch word w at p under the guard. MC_OK, or the cause of a fault. */
static enum mc_err guarded(struct mc_mapping *m, struct word_call *c)
{
    uintptr_t fault = 0;

    if (mc__guard_call(word_touch, c, c->p, c->w->width, &fault))
        return MC_OK;
    return mc__mapping_fault_cause(m, c->w->off + (fault - (uintptr_t)c->p),
                                   c->how != TOUCH_READ);
}

/* The checks that need no lock: arguments, then bounds against size. */
static enum mc_err check_args(const struct mc_word *w, size_t n, uint64_t size,
                              size_t *failed)
{
    for (size_t i = 0; i < n; i++) {
        *failed = i;
        if ((w[i].width != 4 && w[i].width != 8) ||
            (unsigned)w[i].op > MC_WORD_XOR || !fits(&w[i], w[i].value) ||
            !fits(&w[i], w[i].expected))
            return MC_EINVAL;
        if (w[i].off % w[i].width != 0)
            return MC_EMISALIGNED;
        /* Aligned words of one width are the same word or apart; a 4-byte
         * word overlaps an 8-byte one only inside it. */
        for (size_t j = 0; j < i; j++) {
            if (w[j].width != w[i].width &&
                (w[i].off & ~(uint64_t)7) == (w[j].off & ~(uint64_t)7))
                return MC_EINVAL;
        }
    }
    for (size_t i = 0; i < n; i++) {
        *failed = i;
        if (w[i].off > size || size - w[i].off < w[i].width)
            return MC_ERANGE;
    }
    *failed = n;
    return MC_OK;
}

/* The index of the first operation naming the same word as w[i]. */
static size_t first_of(const struct mc_word *w, size_t i)
{
    for (size_t j = 0; j < i; j++) {
        if (w[j].off == w[i].off)
            return j;
    }
    return i;
}

/* Steps 2 and 3 of the head comment, views pinned and words locked. */
static enum mc_err run_locked(struct mc_mapping *m, struct mc_word *w, size_t n,
                              void *const *ptr, struct mc_words_result *res)
{
    int64_t now[MC_WORDS_MAX];  /* each word as found, by first index */
    int64_t play[MC_WORDS_MAX]; /* each word as the batch leaves it */
    bool changes[MC_WORDS_MAX]; /* some operation stores to the word */
    enum mc_err rc;

    memset(changes, 0, sizeof(changes));
    for (size_t i = 0; i < n; i++)
        changes[first_of(w, i)] |= w[i].op != MC_WORD_LOAD;
    for (size_t i = 0; i < n; i++) {
        struct word_call c = {&w[i], ptr[i], TOUCH_READ, 0, 0, MC_OK};

        if (first_of(w, i) != i)
            continue;
        c.how = changes[i] ? TOUCH_PROBE : TOUCH_READ;
        res->failed = i;
        rc = guarded(m, &c);
        if (rc != MC_OK)
            return rc;
        now[i] = play[i] = c.old;
    }
    for (size_t i = 0; i < n; i++) {
        size_t f = first_of(w, i);
        int64_t next;

        rc = compute(&w[i], play[f], &next);
        if (rc != MC_OK) {
            res->failed = i;
            for (size_t k = 0; k < n; k++)
                w[k].old = w[k].new = now[first_of(w, k)];
            return rc;
        }
        play[f] = next;
    }
    for (size_t i = 0; i < n; i++) {
        struct word_call c = {&w[i], ptr[i], TOUCH_APPLY, 0, 0, MC_OK};

        res->failed = i;
        rc = guarded(m, &c);
        if (rc == MC_OK)
            rc = c.rc;
        if (rc != MC_OK)
            return rc;
        w[i].old = c.old;
        w[i].new = c.new;
        res->applied = i + 1;
        if (w[i].op != MC_WORD_LOAD) {
            res->stored = true;
            atomic_fetch_add_explicit(&m->bytes_written, w[i].width,
                                      memory_order_relaxed);
        }
    }
    res->failed = n;
    return MC_OK;
}

enum mc_err mc_mapping_words(struct mc_mapping *m, struct mc_word *w, size_t n,
                             mc_generation_test *test, const void *cls,
                             struct mc_words_result *res)
{
    struct mc_range r[MC_WORDS_MAX];
    struct mc_view *views[MC_WORDS_MAX];
    void *ptr[MC_WORDS_MAX];
    struct mc_range all = {0, UINT64_MAX};
    bool write = false;
    size_t pinned = 0;
    uint64_t ticket;
    enum mc_err rc;

    memset(res, 0, sizeof(*res));
    res->failed = n;
    if (n == 0 || n > MC_WORDS_MAX)
        return MC_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (w[i].op != MC_WORD_LOAD && !write) {
            write = true;
            res->failed = i;
        }
    }
    if (write && m->protection == MC_PROT_READONLY)
        return MC_ERDONLY;
    if (m->damaged)
        return MC_EDAMAGED;
    rc = check_args(w, n, mc_mapping_size(m), &res->failed);
    if (rc != MC_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        r[i].off = w[i].off;
        r[i].len = w[i].width;
    }
    /* With a precondition the whole mapping is held, so no disjoint write
     * can move the generation between the test and the batch (as for
     * mc_mapping_writev_if); [0, UINT64_MAX) so a grow racing the lock
     * cannot leave bytes outside it. */
    rc = test != NULL ? mc__rangelock_lock(&m->ranges, &all, 1, write, &ticket)
                      : mc__rangelock_lock(&m->ranges, r, n, write, &ticket);
    if (rc != MC_OK)
        return rc;
    res->generation = atomic_load(&m->generation);
    if (test != NULL && !test(cls, res->generation)) {
        rc = MC_EPRECONDITION;
        goto unlock;
    }
    /* A shrink may have run between the first check and the lock. */
    rc = check_args(w, n, mc_mapping_size(m), &res->failed);
    for (size_t i = 0; i < n && rc == MC_OK; i++) {
        uint8_t *p;
        size_t len;

        if (first_of(w, i) != i) {
            ptr[i] = ptr[first_of(w, i)];
            continue;
        }
        res->failed = i;
        rc = mc__mapping_pin(m, w[i].off, &views[pinned], &p, &len);
        if (rc != MC_OK)
            break;
        ptr[i] = p;
        /* Copy-on-write pages live only in their view: it must never be
         * evicted once written (as for mapping.c's writes). */
        if (write && m->private_map)
            mc__viewcache_set_sticky(m->vc, views[pinned]);
        pinned++;
    }
    if (rc == MC_OK)
        rc = run_locked(m, w, n, ptr, res);
    while (pinned > 0)
        mc_view_release(views[--pinned]);
    if (res->stored) {
        /* Bumped before the words unlock, so whoever reads the new values
         * afterwards also sees the new generation. */
        res->generation = atomic_fetch_add(&m->generation, 1) + 1;
        mc__mapping_touch(m);
    }
unlock:
    mc__rangelock_unlock(&m->ranges, ticket);
    if (res->stored)
        mc__watch_ranges(m, r, n, res->generation);
    return rc;
}
