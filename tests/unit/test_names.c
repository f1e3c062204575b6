/* test_names.c - the grammar of mapping names and backing-file paths.
 *
 * Proves that every name the API documents as valid is accepted, and that
 * each way of smuggling a path or odd bytes through a name or a file path is
 * refused by its text alone (symlinks are test_catalog.c's business).
 */
#include <string.h>

#include "check.h"
#include "mapcore/mc_error.h"
#include "mapcore/mc_names.h"

static bool name_ok(const char *s)
{
    return mc_name_valid(s, strlen(s));
}

static bool path_ok(const char *s)
{
    return mc_path_valid(s, strlen(s));
}

TEST(name_valid_examples)
{
    char max[MC_NAME_MAX + 1];

    CHECK(name_ok("a"));
    CHECK(name_ok("0"));
    CHECK(name_ok("Data.bin"));
    CHECK(name_ok("app-log_2024.01"));
    CHECK(name_ok("a..b"));
    CHECK(name_ok("Z-"));
    memset(max, 'x', MC_NAME_MAX);
    max[MC_NAME_MAX] = '\0';
    CHECK(name_ok(max));
}

TEST(name_invalid_examples)
{
    char too_long[MC_NAME_MAX + 2];

    CHECK(!name_ok(""));
    CHECK(!mc_name_valid(NULL, 0));
    CHECK(!name_ok(".hidden"));
    CHECK(!name_ok("-x"));
    CHECK(!name_ok("_x"));
    CHECK(!name_ok("a/b"));
    CHECK(!name_ok("/a"));
    CHECK(!name_ok(".."));
    CHECK(!name_ok("a%2fb"));
    CHECK(!name_ok("a b"));
    CHECK(!name_ok("a\tb"));
    CHECK(!name_ok("a\nb"));
    CHECK(!name_ok("caf\xc3\xa9"));
    CHECK(!name_ok("a:b"));
    CHECK(!name_ok("a\\b"));
    memset(too_long, 'x', MC_NAME_MAX + 1);
    too_long[MC_NAME_MAX + 1] = '\0';
    CHECK(!name_ok(too_long));
    /* The length is explicit: a NUL inside makes the name invalid instead of
     * shortening it to "ab". */
    CHECK(!mc_name_valid("ab\0cd", 5));
    CHECK(mc_name_valid("ab\0cd", 2));
}

TEST(path_valid_examples)
{
    CHECK(path_ok("data.bin"));
    CHECK(path_ok("sub/dir/data.bin"));
    CHECK(path_ok(".hidden/file"));
    CHECK(path_ok("a/.mmapd/x")); /* reserved only at the top */
    CHECK(path_ok(".mmapdx"));
    CHECK(path_ok("...")); /* a legal file name, not a parent reference */
    CHECK(path_ok("caf\xc3\xa9.bin"));
    CHECK(path_ok("with space"));
}

TEST(path_invalid_examples)
{
    char comp[MC_PATH_COMPONENT_MAX + 2];
    char whole[MC_PATH_MAX + 2];

    CHECK(!path_ok(""));
    CHECK(!mc_path_valid(NULL, 0));
    CHECK(!path_ok("/etc/passwd"));
    CHECK(!path_ok(".."));
    CHECK(!path_ok("../x"));
    CHECK(!path_ok("a/../../x"));
    CHECK(!path_ok("a/.."));
    CHECK(!path_ok("."));
    CHECK(!path_ok("./a"));
    CHECK(!path_ok("a/./b"));
    CHECK(!path_ok("a//b"));
    CHECK(!path_ok("a/"));
    CHECK(!path_ok(".mmapd"));
    CHECK(!path_ok(".mmapd/catalog.json"));
    CHECK(!path_ok("a\x01"
                   "b"));
    CHECK(!path_ok("a\x7f"));
    CHECK(!path_ok("a\nb"));
    CHECK(!mc_path_valid("a\0/etc", 6));

    memset(comp, 'c', sizeof comp - 1);
    comp[sizeof comp - 1] = '\0';
    CHECK(!path_ok(comp)); /* 256-byte component */
    comp[MC_PATH_COMPONENT_MAX] = '\0';
    CHECK(path_ok(comp)); /* 255 is fine */

    /* A whole path over 1024 bytes made of short components. */
    for (size_t i = 0; i < sizeof whole - 1; i++)
        whole[i] = (i % 8 == 7) ? '/' : 'p';
    whole[sizeof whole - 1] = '\0';
    if (whole[sizeof whole - 2] == '/')
        whole[sizeof whole - 2] = 'p';
    CHECK(!path_ok(whole));
    whole[MC_PATH_MAX] = '\0';
    if (whole[MC_PATH_MAX - 1] == '/')
        whole[MC_PATH_MAX - 1] = 'p';
    CHECK(path_ok(whole));
}

TEST(error_table_complete)
{
    /* Every code has a distinct symbolic name and a sentence; unknown codes
     * still get text, never NULL. */
    for (int e = 0; e < MC_ERR_COUNT; e++) {
        CHECK(mc_strerror((enum mc_err)e) != NULL);
        CHECK(strncmp(mc_errname((enum mc_err)e), "MC_", 3) == 0);
        for (int f = 0; f < e; f++)
            CHECK(strcmp(mc_errname((enum mc_err)e),
                         mc_errname((enum mc_err)f)) != 0);
    }
    CHECK_EQ_STR(mc_errname(MC_ENOSPC), "MC_ENOSPC");
    CHECK_EQ_STR(mc_strerror(MC_OK), "success");
    CHECK(mc_strerror((enum mc_err)999) != NULL);
    CHECK(mc_errname((enum mc_err) - 1) != NULL);
}

TEST_MAIN()
