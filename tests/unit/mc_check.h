/* mc_check.h - what the mapcore unit tests share: a CHECK that names both
 * error codes, removal of a test's temporary directory tree, and a create
 * that must succeed. */
#ifndef TESTS_UNIT_MC_CHECK_H
#define TESTS_UNIT_MC_CHECK_H

#include <ftw.h>
#include <stdio.h>

#include "check.h"
#include "mapcore/mc_catalog.h"
#include "mapcore/mc_error.h"

#define CHECK_RC(expr, want)                                                   \
    do {                                                                       \
        enum mc_err check_rc_ = (expr);                                        \
        if (check_rc_ != (want))                                               \
            TEST_FAIL("%s: %s != %s", #expr, mc_errname(check_rc_),            \
                      mc_errname(want));                                       \
    } while (0)

static inline int mc_check_rm_entry(const char *path, const struct stat *st,
                                    int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Remove dir and everything below it (symlinks are not followed). */
#define CHECK_RMTREE(dir)                                                      \
    CHECK(nftw((dir), mc_check_rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0)

/* Create (or open) name in cat with spec; require it. New reference. */
static inline struct mc_mapping *mc_check_create(struct mc_catalog *cat,
                                                 const char *name,
                                                 struct mc_spec spec)
{
    struct mc_mapping *m = NULL;
    bool created = false;

    CHECK_RC(mc_catalog_create(cat, name, &spec, false, &m, &created), MC_OK);
    return m;
}

/* The same for a new readwrite file mapping of size bytes. */
static inline struct mc_mapping *mc_check_rw(struct mc_catalog *cat,
                                             const char *name, uint64_t size)
{
    return mc_check_create(
        cat, name, (struct mc_spec){.given = MC_SPEC_SIZE, .size = size});
}

#endif
