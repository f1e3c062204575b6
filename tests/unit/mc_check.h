/* mc_check.h - what the mapcore unit tests share: a CHECK that names both
 * error codes, and removal of a test's temporary directory tree. */
#ifndef TESTS_UNIT_MC_CHECK_H
#define TESTS_UNIT_MC_CHECK_H

#include <ftw.h>
#include <stdio.h>

#include "check.h"
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

#endif
