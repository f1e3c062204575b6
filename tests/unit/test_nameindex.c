/* test_nameindex.c - the catalog's lookup by exact name (mapcore/src/
 * nameindex.c), against a plain array of what should be there: random adds
 * and removes over a large set, and small tables where probe runs collide
 * and wrap around the end, removed in every order the PRNG gives.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "internal.h"

/* A deterministic xorshift, so a failure reproduces. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

struct fake {
    struct mc_mapping *m; /* alone: it ends in a flexible array */
    char name[24];
    bool in;
};

static struct fake *make(size_t n)
{
    struct fake *f = calloc(n, sizeof *f);

    CHECK(f != NULL);
    for (size_t i = 0; i < n; i++) {
        snprintf(f[i].name, sizeof f[i].name, "w6-%05zu", i);
        f[i].m = calloc(1, sizeof *f[i].m);
        CHECK(f[i].m != NULL);
        f[i].m->name = f[i].name;
    }
    return f;
}

static void unmake(struct fake *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(f[i].m);
    free(f);
}

/* Every member is found as itself, every other name is not. */
static void check_all(const struct mc__nameindex *ix, struct fake *f, size_t n)
{
    size_t members = 0;

    for (size_t i = 0; i < n; i++) {
        struct mc_mapping *got = mc__nameindex_find(ix, f[i].name);
        if (f[i].in) {
            CHECK(got == f[i].m);
            members++;
        } else {
            CHECK(got == NULL);
        }
    }
    CHECK(ix->count == members);
    CHECK(mc__nameindex_find(ix, "absent") == NULL);
    CHECK(mc__nameindex_find(ix, "") == NULL);
}

TEST(an_empty_index_finds_nothing)
{
    struct mc__nameindex ix;

    mc__nameindex_init(&ix);
    CHECK(mc__nameindex_find(&ix, "a") == NULL);
    struct mc_mapping *m = calloc(1, sizeof *m);
    CHECK(m != NULL);
    m->name = "a";
    mc__nameindex_remove(&ix, m); /* not a member: nothing happens */
    free(m);
    CHECK(ix.count == 0);
    mc__nameindex_destroy(&ix);
}

TEST(random_adds_and_removes_agree_with_the_reference)
{
    enum { N = 20000, ROUNDS = 8 };
    struct fake *f = make(N);
    struct mc__nameindex ix;

    mc__nameindex_init(&ix);
    for (int round = 0; round < ROUNDS; round++) {
        for (size_t k = 0; k < N; k++) {
            struct fake *x = &f[rnd() % N];
            if (x->in) {
                mc__nameindex_remove(&ix, x->m);
                x->in = false;
            } else {
                CHECK(mc__nameindex_reserve(&ix, ix.count + 1) == MC_OK);
                mc__nameindex_add(&ix, x->m);
                x->in = true;
            }
        }
        check_all(&ix, f, N);
        /* The table stays at most half full. */
        CHECK(ix.count <= (ix.mask + 1) / 2);
    }
    mc__nameindex_destroy(&ix);
    unmake(f, N);
}

TEST(full_small_tables_removed_in_any_order_keep_every_run_reachable)
{
    enum { N = 32, ROUNDS = 2000 };
    struct fake *f = make(N);

    for (int round = 0; round < ROUNDS; round++) {
        struct mc__nameindex ix;
        size_t order[N];

        mc__nameindex_init(&ix); /* a new seed: new collisions each round */
        CHECK(mc__nameindex_reserve(&ix, N) == MC_OK);
        CHECK(ix.mask + 1 == 2 * N); /* 64 slots, half full: long runs */
        for (size_t i = 0; i < N; i++) {
            mc__nameindex_add(&ix, f[i].m);
            f[i].in = true;
            order[i] = i;
        }
        check_all(&ix, f, N);
        for (size_t i = N - 1; i > 0; i--) {
            size_t j = rnd() % (i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (size_t i = 0; i < N; i++) {
            mc__nameindex_remove(&ix, f[order[i]].m);
            f[order[i]].in = false;
            check_all(&ix, f, N);
        }
        mc__nameindex_destroy(&ix);
    }
    unmake(f, N);
}

TEST_MAIN()
