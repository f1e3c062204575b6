/* test_catalog.c - the catalog: create-or-open rules, paths, persistence.
 *
 * Proves the CreateFileMapping rules (create, open when compatible, conflict
 * otherwise, create-only), that failed creates leave nothing behind, that
 * paths can't leave the data directory (by text or by symlink, also on the
 * openat2-less fallback), that file mappings survive close/open with their
 * bytes while memory ones don't, that a corrupt catalog is refused and left
 * alone, that truncated backings load as damaged, that commit reserves
 * blocks where sparse doesn't, that a caller's may_share predicate is
 * applied to the file itself (default name, symlink, hard link) on create
 * and not on open, that no user of a shared file cuts it below another (MC_ESHARED),
 * also with both resizing at once, and that the catalog keeps a space
 * reserve beside it.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "mc_check.h"
#include "mapcore/mc_catalog.h"

/* Module-internal (mapcore/src/internal.h): switches path resolution to the
 * component walk used where openat2 is unavailable. */
void mc__sys_disable_openat2(bool off);
/* Module-internal (mapcore/src/internal.h): every catalog save fails. */
void mc__store_fail_writes(bool on);
void mc__catalog_hold_walk(bool on);
uint64_t mc__sys_sync_count(void);

#define VS 4096u

/* root is the temporary directory; the data directory is root/data, which
 * the catalog creates itself. outside is root/outside, a place symlinks may
 * point to. */
struct fixture {
    char root[64];
    char data[96];
    int datafd;
    struct mc_catalog *cat;
};

static void open_cat(struct fixture *f)
{
    struct mc_catalog_options opt = {.data_dir = f->data,
                                     .view_size = VS,
                                     .cache_bytes = 64 * VS,
                                     .max_map_size = 1u << 24};

    CHECK_RC(mc_catalog_open(&opt, &f->cat), MC_OK);
}

static void setup(struct fixture *f)
{
    snprintf(f->root, sizeof f->root, "/tmp/mc-cat-XXXXXX");
    CHECK(mkdtemp(f->root) != NULL);
    snprintf(f->data, sizeof f->data, "%s/data", f->root);
    open_cat(f);
    f->datafd = open(f->data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK(f->datafd >= 0);
}

static void teardown(struct fixture *f)
{
    mc_catalog_close(f->cat);
    close(f->datafd);
    CHECK_RMTREE(f->root);
}

static bool exists(struct fixture *f, const char *path)
{
    struct stat st;

    return fstatat(f->datafd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static struct stat stat_of(struct fixture *f, const char *path)
{
    struct stat st;

    CHECK(fstatat(f->datafd, path, &st, 0) == 0);
    return st;
}

static void write_file(struct fixture *f, const char *path, uint8_t byte,
                       size_t len)
{
    uint8_t *buf = malloc(len);
    int fd =
        openat(f->datafd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    CHECK(buf && fd >= 0);
    memset(buf, byte, len);
    CHECK_EQ_U64(write(fd, buf, len), len);
    close(fd);
    free(buf);
}

static enum mc_err create(struct fixture *f, const char *name,
                          struct mc_spec spec, bool *created)
{
    struct mc_mapping *m = NULL;
    bool c = false;
    enum mc_err rc = mc_catalog_create(f->cat, name, &spec, false, &m, &c);

    if (created)
        *created = c;
    mc_mapping_unref(m);
    return rc;
}

static struct mc_spec sized(uint64_t size)
{
    return (struct mc_spec){.given = MC_SPEC_SIZE, .size = size};
}

TEST(create_then_open_rules)
{
    struct fixture f;
    struct mc_mapping *m = NULL;
    bool created = true;

    setup(&f);
    CHECK(exists(&f, ".") && mc_catalog_writable(f.cat));
    CHECK_RC(create(&f, "a", sized(2 * VS), &created), MC_OK);
    CHECK(created);
    CHECK_EQ_U64(stat_of(&f, "a").st_size, 2 * VS);
    /* Open: nothing given, a smaller size, every field equal. */
    CHECK_RC(create(&f, "a", (struct mc_spec){0}, &created), MC_OK);
    CHECK(!created);
    CHECK_RC(create(&f, "a", sized(VS), &created), MC_OK);
    CHECK(!created);
    CHECK_RC(create(&f, "a", sized(2 * VS), NULL), MC_OK);
    struct mc_spec all = {.given = MC_SPEC_BACKING | MC_SPEC_FILE |
                                   MC_SPEC_SIZE | MC_SPEC_PROTECTION |
                                   MC_SPEC_ALLOCATION | MC_SPEC_WRITETHROUGH,
                          .backing = MC_BACKING_FILE,
                          .file = "a",
                          .size = 2 * VS,
                          .protection = MC_PROT_READWRITE,
                          .allocation = MC_ALLOC_COMMIT,
                          .writethrough = false};
    CHECK_RC(create(&f, "a", all, &created), MC_OK);
    CHECK(!created);
    /* Each differing field is a conflict. */
    CHECK_RC(create(&f, "a", sized(2 * VS + 1), NULL), MC_ECONFLICT);
    struct mc_spec s = all;
    s.file = "b";
    CHECK_RC(create(&f, "a", s, NULL), MC_ECONFLICT);
    s = all;
    s.protection = MC_PROT_READONLY;
    CHECK_RC(create(&f, "a", s, NULL), MC_ECONFLICT);
    s = all;
    s.allocation = MC_ALLOC_SPARSE;
    CHECK_RC(create(&f, "a", s, NULL), MC_ECONFLICT);
    s = all;
    s.writethrough = true;
    CHECK_RC(create(&f, "a", s, NULL), MC_ECONFLICT);
    s = (struct mc_spec){.given = MC_SPEC_BACKING | MC_SPEC_SIZE,
                         .backing = MC_BACKING_MEMORY,
                         .size = VS};
    CHECK_RC(create(&f, "a", s, NULL), MC_ECONFLICT);
    CHECK(!exists(&f, "b"));
    /* Create-only. */
    CHECK_RC(mc_catalog_create(f.cat, "a", &all, true, &m, &created),
             MC_EEXIST);
    CHECK(m == NULL);
    /* Get. */
    CHECK_RC(mc_catalog_get(f.cat, "a", &m), MC_OK);
    CHECK_EQ_U64(mc_mapping_size(m), 2 * VS);
    mc_mapping_unref(m);
    CHECK_RC(mc_catalog_get(f.cat, "zz", &m), MC_ENOTFOUND);
    CHECK_RC(create(&f, ".a", sized(VS), NULL), MC_ENAME);
    CHECK_RC(create(&f, "a/b", sized(VS), NULL), MC_ENAME);
    CHECK_EQ_U64(mc_catalog_count(f.cat), 1);
    teardown(&f);
}

TEST(failed_creates_leave_nothing)
{
    struct fixture f;

    setup(&f);
    CHECK_RC(create(&f, "nosize", (struct mc_spec){0}, NULL), MC_EZEROSIZE);
    CHECK_RC(create(&f, "zero", sized(0), NULL), MC_EZEROSIZE);
    CHECK_RC(create(&f, "big", sized((1u << 24) + 1), NULL), MC_ETOOBIG);
    struct mc_spec ro = {.given = MC_SPEC_PROTECTION,
                         .protection = MC_PROT_READONLY};
    CHECK_RC(create(&f, "missing", ro, NULL), MC_ENOFILE);
    ro.protection = MC_PROT_WRITECOPY;
    CHECK_RC(create(&f, "missing", ro, NULL), MC_ENOFILE);
    CHECK(!exists(&f, "nosize") && !exists(&f, "zero") && !exists(&f, "big"));
    CHECK(!exists(&f, "missing"));

    /* A file that cannot be grown (RLIMIT_FSIZE stands in for a full disk):
     * the file this call created is removed again, and no entry stays. The
     * existing mapping is made first: the limit would stop the catalog
     * store's own first write too. */
    CHECK_RC(create(&f, "small", sized(VS), NULL), MC_OK);
    struct rlimit old, lim;
    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    lim = old;
    lim.rlim_cur = 2 * VS;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    enum mc_err rc = create(&f, "toolarge", sized(8 * VS), NULL);
    struct mc_spec sparse = {.given = MC_SPEC_SIZE | MC_SPEC_ALLOCATION,
                             .size = 8 * VS,
                             .allocation = MC_ALLOC_SPARSE};
    enum mc_err rc2 = create(&f, "toolarge2", sparse, NULL);
    /* An existing mapping that fails to grow keeps its size. */
    struct mc_mapping *m = NULL;
    CHECK_RC(mc_catalog_get(f.cat, "small", &m), MC_OK);
    enum mc_err rc3 = mc_mapping_resize(m, 8 * VS);
    CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
    signal(SIGXFSZ, prev);
    CHECK(rc != MC_OK && rc2 != MC_OK && rc3 != MC_OK);
    CHECK_EQ_U64(mc_mapping_size(m), VS);
    CHECK_EQ_U64(stat_of(&f, "small").st_size, VS);
    mc_mapping_unref(m);
    CHECK(!exists(&f, "toolarge") && !exists(&f, "toolarge2"));
    CHECK_EQ_U64(mc_catalog_count(f.cat), 1);
    teardown(&f);
}

TEST(default_size_and_prefix)
{
    struct fixture f;
    struct mc_mapping *m = NULL;
    bool created = false;
    uint8_t b = 0;

    setup(&f);
    write_file(&f, "existing.bin", 0x42, 10000);
    struct mc_spec spec = {.given = MC_SPEC_FILE, .file = "existing.bin"};
    CHECK_RC(mc_catalog_create(f.cat, "whole", &spec, false, &m, &created),
             MC_OK);
    CHECK(created);
    CHECK_EQ_U64(mc_mapping_size(m), 10000);
    CHECK_RC(mc_mapping_read(m, 9999, &b, 1), MC_OK);
    CHECK_EQ_U64(b, 0x42);
    mc_mapping_unref(m);
    /* A smaller readwrite size maps a prefix and leaves the file alone. */
    spec.given |= MC_SPEC_SIZE;
    spec.size = 100;
    CHECK_RC(mc_catalog_create(f.cat, "prefix", &spec, false, &m, &created),
             MC_OK);
    CHECK_EQ_U64(mc_mapping_size(m), 100);
    CHECK_EQ_U64(stat_of(&f, "existing.bin").st_size, 10000);
    CHECK_RC(mc_mapping_read(m, 100, &b, 1), MC_ERANGE);
    mc_mapping_unref(m);
    /* A readonly mapping may not be larger than its file. */
    spec.given |= MC_SPEC_PROTECTION;
    spec.protection = MC_PROT_READONLY;
    spec.size = 10001;
    CHECK_RC(mc_catalog_create(f.cat, "ro", &spec, false, &m, &created),
             MC_ECONFLICT);
    CHECK_EQ_U64(stat_of(&f, "existing.bin").st_size, 10000);
    /* An empty file without a size is MC_EZEROSIZE. */
    write_file(&f, "empty.bin", 0, 0);
    spec = (struct mc_spec){.given = MC_SPEC_FILE, .file = "empty.bin"};
    CHECK_RC(mc_catalog_create(f.cat, "empty", &spec, false, &m, &created),
             MC_EZEROSIZE);
    CHECK(exists(&f, "empty.bin")); /* not ours to delete */
    teardown(&f);
}

TEST(path_escapes_refused)
{
    struct fixture f;
    char outside[128];
    char target[160];

    setup(&f);
    snprintf(outside, sizeof outside, "%s/outside", f.root);
    CHECK(mkdir(outside, 0755) == 0);
    struct mc_spec spec = {.given = MC_SPEC_FILE | MC_SPEC_SIZE, .size = VS};
    const char *bad[] = {"/etc/passwd", "../escape",           "a/../../x",
                         "a//b",        ".mmapd/catalog.json", "",
                         "a/"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        spec.file = bad[i];
        CHECK_RC(create(&f, "bad", spec, NULL), MC_EPATH);
    }
    /* A symlinked directory and a symlinked file leading outside. */
    CHECK(symlinkat(outside, f.datafd, "out") == 0);
    snprintf(target, sizeof target, "%s/secret", outside);
    CHECK(symlinkat(target, f.datafd, "secret-link") == 0);
    int fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    CHECK(fd >= 0 && write(fd, "top secret", 10) == 10);
    close(fd);
    spec.file = "out/x";
    CHECK_RC(create(&f, "bad", spec, NULL), MC_EPATH);
    spec.file = "out/new/dir/x";
    CHECK_RC(create(&f, "bad", spec, NULL), MC_EPATH);
    struct mc_spec ro = {.given = MC_SPEC_FILE | MC_SPEC_PROTECTION,
                         .file = "secret-link",
                         .protection = MC_PROT_READONLY};
    CHECK_RC(create(&f, "bad", ro, NULL), MC_EPATH);
    /* Relative symlinks climbing out are caught too. */
    CHECK(symlinkat("../outside/secret", f.datafd, "climb") == 0);
    ro.file = "climb";
    CHECK_RC(create(&f, "bad", ro, NULL), MC_EPATH);
    struct stat st;
    char probe[200];
    snprintf(probe, sizeof probe, "%s/x", outside);
    CHECK(stat(probe, &st) != 0); /* nothing was created outside */
    snprintf(probe, sizeof probe, "%s/new", outside);
    CHECK(stat(probe, &st) != 0);

    /* Symlinks that stay inside are fine. */
    CHECK(mkdirat(f.datafd, "real", 0750) == 0);
    CHECK(symlinkat("real", f.datafd, "alias") == 0);
    spec.file = "alias/inside.bin";
    CHECK_RC(create(&f, "inside", spec, NULL), MC_OK);
    CHECK_EQ_U64(stat_of(&f, "real/inside.bin").st_size, VS);
    /* A directory or a FIFO is not a backing file. */
    spec.file = "real";
    CHECK_RC(create(&f, "dir", spec, NULL), MC_ENOTREG);
    CHECK(mkfifoat(f.datafd, "fifo", 0600) == 0);
    spec.file = "fifo";
    CHECK_RC(create(&f, "fifo", spec, NULL), MC_ENOTREG);
    CHECK_EQ_U64(mc_catalog_count(f.cat), 1);
    teardown(&f);
}

TEST(path_walk_fallback_refuses_symlinks)
{
    struct fixture f;
    char outside[128];

    setup(&f);
    mc__sys_disable_openat2(true);
    snprintf(outside, sizeof outside, "%s/outside", f.root);
    CHECK(mkdir(outside, 0755) == 0);
    CHECK(symlinkat(outside, f.datafd, "out") == 0);
    CHECK(mkdirat(f.datafd, "real", 0750) == 0);
    CHECK(symlinkat("real", f.datafd, "alias") == 0);
    struct mc_spec spec = {.given = MC_SPEC_FILE | MC_SPEC_SIZE, .size = VS};
    spec.file = "out/x";
    enum mc_err r1 = create(&f, "a", spec, NULL);
    /* Stricter than openat2: even a symlink that stays inside is refused. */
    spec.file = "alias/x";
    enum mc_err r2 = create(&f, "b", spec, NULL);
    spec.file = "p/q/r.bin";
    enum mc_err r3 = create(&f, "c", spec, NULL);
    mc__sys_disable_openat2(false);
    CHECK_RC(r1, MC_EPATH);
    CHECK_RC(r2, MC_EPATH);
    CHECK_RC(r3, MC_OK);
    CHECK_EQ_U64(stat_of(&f, "p/q/r.bin").st_size, VS);
    teardown(&f);
}

TEST(subdirectories_created)
{
    struct fixture f;

    setup(&f);
    struct mc_spec spec = {.given = MC_SPEC_FILE | MC_SPEC_SIZE,
                           .file = "x/y/z/data.bin",
                           .size = 3 * VS};
    CHECK_RC(create(&f, "deep", spec, NULL), MC_OK);
    CHECK(S_ISDIR(stat_of(&f, "x").st_mode));
    CHECK(S_ISDIR(stat_of(&f, "x/y/z").st_mode));
    struct stat st = stat_of(&f, "x/y/z/data.bin");
    CHECK(S_ISREG(st.st_mode));
    CHECK_EQ_U64(st.st_size, 3 * VS);
    CHECK_EQ_U64(st.st_mode & 0077 & ~(mode_t)0040, 0); /* 0640 at most */
    /* A second file next to it reuses the directories. */
    spec.file = "x/y/other.bin";
    CHECK_RC(create(&f, "other", spec, NULL), MC_OK);
    /* A component that is a file is a path error. */
    spec.file = "x/y/other.bin/sub";
    CHECK_RC(create(&f, "sub", spec, NULL), MC_EPATH);
    teardown(&f);
}

TEST(persistence_across_reopen)
{
    struct fixture f;
    struct mc_mapping *m = NULL;
    struct mc_info *list = NULL;
    size_t n = 0;
    uint8_t buf[64];

    setup(&f);
    CHECK_RC(create(&f, "one", sized(3 * VS), NULL), MC_OK);
    struct mc_spec two = {.given = MC_SPEC_SIZE | MC_SPEC_FILE |
                                   MC_SPEC_WRITETHROUGH | MC_SPEC_ALLOCATION,
                          .size = VS + 5,
                          .file = "sub/two.bin",
                          .writethrough = true,
                          .allocation = MC_ALLOC_SPARSE};
    CHECK_RC(create(&f, "two", two, NULL), MC_OK);
    struct mc_spec mem = {.given = MC_SPEC_BACKING | MC_SPEC_SIZE,
                          .backing = MC_BACKING_MEMORY,
                          .size = VS};
    CHECK_RC(create(&f, "mem", mem, NULL), MC_OK);
    CHECK_RC(mc_catalog_get(f.cat, "one", &m), MC_OK);
    memset(buf, 0x5c, sizeof buf);
    CHECK_RC(mc_mapping_write(m, VS - 32, buf, sizeof buf), MC_OK);
    CHECK_RC(mc_mapping_resize(m, 2 * VS), MC_OK);
    mc_mapping_unref(m);
    CHECK_RC(mc_catalog_get(f.cat, "mem", &m), MC_OK);
    CHECK_RC(mc_mapping_write(m, 0, buf, sizeof buf), MC_OK);
    mc_mapping_unref(m);
    CHECK_RC(mc_catalog_list(f.cat, &list, &n), MC_OK);
    CHECK_EQ_U64(n, 3);
    int64_t created_one = list[1].created_at_ms;
    CHECK_EQ_STR(list[1].name, "one");
    free(list);
    CHECK(exists(&f, ".mmapd/catalog.db"));

    mc_catalog_close(f.cat);
    open_cat(&f);
    CHECK_RC(mc_catalog_list(f.cat, &list, &n), MC_OK);
    CHECK_EQ_U64(n, 2); /* the memory mapping is gone */
    CHECK_EQ_STR(list[0].name, "one");
    CHECK_EQ_STR(list[1].name, "two");
    CHECK_EQ_U64(list[0].size, 2 * VS); /* the resize was persisted */
    CHECK_EQ_U64(list[0].created_at_ms, created_one);
    CHECK(!list[0].damaged && !list[1].damaged);
    CHECK_EQ_STR(list[1].file, "sub/two.bin");
    CHECK_EQ_U64(list[1].size, VS + 5);
    CHECK(list[1].writethrough);
    CHECK(list[1].allocation == MC_ALLOC_SPARSE);
    CHECK(list[1].protection == MC_PROT_READWRITE);
    free(list);
    CHECK_RC(mc_catalog_get(f.cat, "mem", &m), MC_ENOTFOUND);
    CHECK_RC(mc_catalog_get(f.cat, "one", &m), MC_OK);
    memset(buf, 0, sizeof buf);
    CHECK_RC(mc_mapping_read(m, VS - 32, buf, sizeof buf), MC_OK);
    for (size_t i = 0; i < sizeof buf; i++)
        CHECK_EQ_U64(buf[i], 0x5c);
    mc_mapping_unref(m);
    teardown(&f);
}

TEST(remove_and_unlink)
{
    struct fixture f;
    struct mc_mapping *m = NULL;
    uint8_t b = 7;

    setup(&f);
    CHECK_RC(create(&f, "keep", sized(VS), NULL), MC_OK);
    CHECK_RC(create(&f, "drop", sized(VS), NULL), MC_OK);
    CHECK_RC(mc_catalog_get(f.cat, "keep", &m), MC_OK);
    CHECK_RC(mc_catalog_remove(f.cat, "keep", false), MC_OK);
    CHECK(exists(&f, "keep"));
    /* A reference held across the removal keeps working. */
    CHECK_RC(mc_mapping_write(m, 0, &b, 1), MC_OK);
    mc_mapping_unref(m);
    CHECK_RC(mc_catalog_remove(f.cat, "drop", true), MC_OK);
    CHECK(!exists(&f, "drop"));
    CHECK_RC(mc_catalog_remove(f.cat, "drop", true), MC_ENOTFOUND);
    CHECK_EQ_U64(mc_catalog_count(f.cat), 0);
    mc_catalog_close(f.cat);
    open_cat(&f);
    CHECK_EQ_U64(mc_catalog_count(f.cat), 0);
    teardown(&f);
}

/* Write text as the catalog file, try to open, and check the file is
 * untouched afterwards. */
static void expect_corrupt(struct fixture *f, const char *text)
{
    struct mc_catalog_options opt = {
        .data_dir = f->data, .view_size = VS, .cache_bytes = 64 * VS};
    struct mc_catalog *cat = NULL;
    char back[4096];
    int fd = openat(f->datafd, ".mmapd/catalog.json",
                    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);

    CHECK(fd >= 0);
    CHECK_EQ_U64(write(fd, text, strlen(text)), strlen(text));
    close(fd);
    CHECK_RC(mc_catalog_open(&opt, &cat), MC_ECORRUPT);
    CHECK(cat == NULL);
    fd = openat(f->datafd, ".mmapd/catalog.json", O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    ssize_t n = read(fd, back, sizeof back);
    close(fd);
    CHECK_EQ_U64(n, strlen(text));
    CHECK_MEM(back, text, strlen(text));
}

TEST(corrupt_catalog_refused_and_kept)
{
    struct fixture f;

    setup(&f);
    CHECK_RC(create(&f, "m", sized(VS), NULL), MC_OK);
    mc_catalog_close(f.cat);
    f.cat = NULL;
#define ENTRY(name, file, size)                                                \
    "{\"name\":\"" name "\",\"file\":\"" file "\",\"size\":" size              \
    ",\"protection\":\"readwrite\",\"allocation\":\"commit\","                 \
    "\"writethrough\":false,\"created_at_ms\":1,\"modified_at_ms\":2}"
#define CATALOG(items)                                                         \
    "{\"format\":\"mmapd-catalog\",\"version\":1,\"mappings\":[" items "]}"
    expect_corrupt(&f, "this is not json");
    expect_corrupt(&f, "");
    expect_corrupt(&f, "{\"format\":\"mmapd-catalog\",\"version\":1,");
    expect_corrupt(&f, "{\"format\":\"other\",\"version\":1,\"mappings\":[]}");
    expect_corrupt(&f, "{\"format\":\"mmapd-catalog\",\"version\":2,"
                       "\"mappings\":[]}");
    expect_corrupt(
        &f, CATALOG(ENTRY("m", "m", "4096") "," ENTRY("m", "n", "4096")));
    expect_corrupt(&f, CATALOG(ENTRY("m", "../m", "4096")));
    expect_corrupt(&f, CATALOG(ENTRY(".m", "m", "4096")));
    expect_corrupt(&f, CATALOG(ENTRY("m", "m", "-1")));
    expect_corrupt(&f, CATALOG(ENTRY("m", "m", "\"4096\"")));
    expect_corrupt(&f, CATALOG("{\"name\":\"m\"}"));
    /* And a valid one still loads afterwards. */
    struct mc_catalog_options opt = {
        .data_dir = f.data, .view_size = VS, .cache_bytes = 64 * VS};
    int fd =
        openat(f.datafd, ".mmapd/catalog.json", O_WRONLY | O_TRUNC | O_CLOEXEC);
    const char *good = CATALOG(ENTRY("m", "m", "4096"));
    CHECK(fd >= 0);
    CHECK_EQ_U64(write(fd, good, strlen(good)), strlen(good));
    close(fd);
    CHECK_RC(mc_catalog_open(&opt, &f.cat), MC_OK);
    CHECK_EQ_U64(mc_catalog_count(f.cat), 1);
    teardown(&f);
}

/* Create "short" (3 views) and "gone", close the catalog, then cut
 * "short" to one view and unlink "gone": both damaged at the next open. */
static void close_and_damage(struct fixture *f)
{
    CHECK_RC(create(f, "short", sized(3 * VS), NULL), MC_OK);
    CHECK_RC(create(f, "gone", sized(VS), NULL), MC_OK);
    mc_catalog_close(f->cat);
    int fd = openat(f->datafd, "short", O_WRONLY | O_CLOEXEC);
    CHECK(fd >= 0 && ftruncate(fd, VS) == 0);
    close(fd);
    CHECK(unlinkat(f->datafd, "gone", 0) == 0);
}

TEST(damaged_when_truncated_while_closed)
{
    struct fixture f;
    struct mc_mapping *m = NULL;
    struct mc_info *list = NULL;
    size_t n = 0;
    uint8_t b = 1;

    setup(&f);
    CHECK_RC(create(&f, "fine", sized(VS), NULL), MC_OK);
    close_and_damage(&f);
    open_cat(&f);
    /* A listing says damaged once the backing was checked (at first use,
     * or by the walk the open started): see the test below. */
    mc_catalog_wait_checked(f.cat);
    CHECK_RC(mc_catalog_list(f.cat, &list, &n), MC_OK);
    CHECK_EQ_U64(n, 3);
    CHECK_EQ_STR(list[0].name, "fine"); /* fine, gone, short: name order */
    CHECK(!list[0].damaged && list[1].damaged && list[2].damaged);
    CHECK_EQ_U64(list[2].size, 3 * VS); /* the recorded size is kept */
    free(list);
    CHECK_RC(mc_catalog_get(f.cat, "short", &m), MC_OK);
    struct mc_view *v;
    const uint8_t *p;
    size_t len;
    CHECK_RC(mc_mapping_read(m, 0, &b, 1), MC_EDAMAGED);
    CHECK_RC(mc_mapping_write(m, 0, &b, 1), MC_EDAMAGED);
    CHECK_RC(mc_view_acquire(m, 0, &v, &p, &len), MC_EDAMAGED);
    CHECK_RC(mc_mapping_resize(m, VS), MC_EDAMAGED);
    mc_mapping_unref(m);
    CHECK_RC(mc_catalog_get(f.cat, "fine", &m), MC_OK);
    CHECK_RC(mc_mapping_write(m, 0, &b, 1), MC_OK);
    mc_mapping_unref(m);
    /* Damaged entries are not dropped by the next persist. */
    CHECK_RC(mc_catalog_sync(f.cat), MC_OK);
    mc_catalog_close(f.cat);
    open_cat(&f);
    CHECK_EQ_U64(mc_catalog_count(f.cat), 3);
    teardown(&f);
}

TEST(truncated_behind_our_back)
{
    struct fixture f;
    struct mc_mapping *m = NULL;
    uint8_t buf[16];

    setup(&f);
    CHECK_RC(create(&f, "victim", sized(4 * VS), NULL), MC_OK);
    CHECK_RC(mc_catalog_get(f.cat, "victim", &m), MC_OK);
    int fd = openat(f.datafd, "victim", O_WRONLY | O_CLOEXEC);
    CHECK(fd >= 0 && ftruncate(fd, VS) == 0);
    close(fd);
    /* Touching the missing part would raise SIGBUS; it is refused. */
    CHECK_RC(mc_mapping_read(m, 2 * VS, buf, sizeof buf), MC_ETRUNCATED);
    CHECK_RC(mc_mapping_read(m, VS - 8, buf, sizeof buf), MC_ETRUNCATED);
    CHECK_RC(mc_mapping_read(m, 0, buf, sizeof buf), MC_OK);
    mc_mapping_unref(m);
    teardown(&f);
}

TEST(failed_shrink_persist_keeps_data)
{
    struct fixture f;
    struct mc_mapping *m = NULL;
    uint8_t buf[VS];

    setup(&f);
    CHECK_RC(create(&f, "shrunk", sized(3 * VS), NULL), MC_OK);
    CHECK_RC(mc_catalog_get(f.cat, "shrunk", &m), MC_OK);
    memset(buf, 0x5a, sizeof buf);
    for (uint64_t off = 0; off < 3 * VS; off += VS)
        CHECK_RC(mc_mapping_write(m, off, buf, sizeof buf), MC_OK);
    /* Every persist fails. */
    mc__store_fail_writes(true);
    CHECK(mc_mapping_resize(m, VS) != MC_OK);
    /* Nothing changed: not the logical size, not the file. */
    CHECK_EQ_U64(mc_mapping_size(m), 3 * VS);
    CHECK_EQ_U64(stat_of(&f, "shrunk").st_size, 3 * VS);
    CHECK_RC(mc_mapping_read(m, 2 * VS, buf, sizeof buf), MC_OK);
    CHECK(buf[0] == 0x5a && buf[VS - 1] == 0x5a);
    /* A grow whose persist fails is undone too. */
    CHECK(mc_mapping_resize(m, 4 * VS) != MC_OK);
    CHECK_EQ_U64(mc_mapping_size(m), 3 * VS);
    mc_mapping_unref(m);
    /* Reopen without a successful close persist (a crash): not damaged. */
    mc_catalog_close(f.cat);
    mc__store_fail_writes(false);
    open_cat(&f);
    CHECK_RC(mc_catalog_get(f.cat, "shrunk", &m), MC_OK);
    CHECK_EQ_U64(mc_mapping_size(m), 3 * VS);
    memset(buf, 0, sizeof buf);
    CHECK_RC(mc_mapping_read(m, 2 * VS, buf, sizeof buf), MC_OK);
    CHECK(buf[0] == 0x5a && buf[VS - 1] == 0x5a);
    /* The bytes the failed grow exposed read as zeros if grown again. */
    CHECK_RC(mc_mapping_resize(m, 4 * VS), MC_OK);
    CHECK_RC(mc_mapping_read(m, 3 * VS, buf, sizeof buf), MC_OK);
    CHECK(buf[0] == 0 && buf[VS - 1] == 0);
    /* A shrink that persists truncates the file afterwards. */
    CHECK_RC(mc_mapping_resize(m, VS), MC_OK);
    CHECK_EQ_U64(stat_of(&f, "shrunk").st_size, VS);
    mc_mapping_unref(m);
    mc_catalog_close(f.cat);
    open_cat(&f);
    CHECK_RC(mc_catalog_get(f.cat, "shrunk", &m), MC_OK);
    CHECK_EQ_U64(mc_mapping_size(m), VS);
    CHECK_RC(mc_mapping_read(m, 0, buf, sizeof buf), MC_OK);
    CHECK(buf[0] == 0x5a && buf[VS - 1] == 0x5a);
    mc_mapping_unref(m);
    teardown(&f);
}

TEST(longer_file_than_recorded_loads)
{
    struct fixture f;
    struct mc_mapping *m = NULL;
    struct mc_info info;

    setup(&f);
    CHECK_RC(create(&f, "long", sized(VS), NULL), MC_OK);
    mc_catalog_close(f.cat);
    /* As a shrink that crashed before its truncation leaves it. */
    write_file(&f, "long", 0x77, 3 * VS);
    open_cat(&f);
    CHECK_RC(mc_catalog_get(f.cat, "long", &m), MC_OK);
    mc_mapping_info(m, &info);
    CHECK(!info.damaged);
    CHECK_EQ_U64(info.size, VS);
    /* The stale tail never comes back: growing over it reads zeros. */
    CHECK_RC(mc_mapping_resize(m, 3 * VS), MC_OK);
    uint8_t buf[VS];
    CHECK_RC(mc_mapping_read(m, 0, buf, sizeof buf), MC_OK);
    CHECK(buf[0] == 0x77 && buf[VS - 1] == 0x77);
    CHECK_RC(mc_mapping_read(m, VS, buf, sizeof buf), MC_OK);
    CHECK(buf[0] == 0 && buf[VS - 1] == 0);
    CHECK_RC(mc_mapping_read(m, 2 * VS, buf, sizeof buf), MC_OK);
    CHECK(buf[0] == 0 && buf[VS - 1] == 0);
    mc_mapping_unref(m);
    teardown(&f);
}

TEST(commit_reserves_sparse_does_not)
{
    struct fixture f;
    const uint64_t size = 1u << 20;

    setup(&f);
    CHECK_RC(create(&f, "commit", sized(size), NULL), MC_OK);
    struct mc_spec sparse = {.given = MC_SPEC_SIZE | MC_SPEC_ALLOCATION,
                             .size = size,
                             .allocation = MC_ALLOC_SPARSE};
    CHECK_RC(create(&f, "sparse", sparse, NULL), MC_OK);
    struct stat c = stat_of(&f, "commit");
    struct stat s = stat_of(&f, "sparse");
    CHECK_EQ_U64(c.st_size, size);
    CHECK_EQ_U64(s.st_size, size);
    CHECK((uint64_t)c.st_blocks * 512 >= size);
    CHECK((uint64_t)s.st_blocks * 512 < size / 2);
    /* Growing a commit mapping reserves the new part too. */
    struct mc_mapping *m = NULL;
    CHECK_RC(mc_catalog_get(f.cat, "commit", &m), MC_OK);
    CHECK_RC(mc_mapping_resize(m, 2 * size), MC_OK);
    mc_mapping_unref(m);
    c = stat_of(&f, "commit");
    CHECK((uint64_t)c.st_blocks * 512 >= 2 * size);
    teardown(&f);
}

TEST(options_and_defaults)
{
    struct fixture f;
    struct mc_catalog_options got;
    struct mc_catalog *cat = NULL;

    setup(&f);
    mc_catalog_options_get(f.cat, &got);
    CHECK_EQ_U64(got.view_size, VS);
    CHECK_EQ_U64(got.max_map_size, 1u << 24);
    mc_catalog_close(f.cat);
    f.cat = NULL;
    struct mc_catalog_options opt = {.data_dir = f.data};
    CHECK_RC(mc_catalog_open(&opt, &f.cat), MC_OK);
    mc_catalog_options_get(f.cat, &got);
    CHECK_EQ_U64(got.view_size, MC_DEFAULT_VIEW_SIZE);
    CHECK_EQ_U64(got.cache_bytes, MC_DEFAULT_CACHE_BYTES);
    CHECK_EQ_U64(got.max_map_size, MC_DEFAULT_MAX_MAP_SIZE);
    opt.view_size = 3 * VS; /* not a power of two */
    CHECK_RC(mc_catalog_open(&opt, &cat), MC_EINVAL);
    opt.view_size = 512; /* below the page size */
    CHECK_RC(mc_catalog_open(&opt, &cat), MC_EINVAL);
    opt.view_size = 4 * VS;
    opt.cache_bytes = VS; /* budget below one view */
    CHECK_RC(mc_catalog_open(&opt, &cat), MC_EINVAL);
    CHECK(cat == NULL);
    teardown(&f);
}

/* A may_share predicate: everything but names starting with "secret". */
static bool not_secret(void *cls, const char *name)
{
    (void)cls;
    return strncmp(name, "secret", 6) != 0;
}

TEST(file_users_judged_by_the_file)
{
    struct fixture f;
    struct mc_spec spec = sized(VS);
    struct mc_spec shared = {0};
    struct mc_mapping *m = NULL;
    bool created = false;

    setup(&f);
    spec.given |= MC_SPEC_FILE;
    spec.file = "pub";
    CHECK_RC(create(&f, "secret", spec, NULL), MC_OK);
    CHECK(symlinkat("pub", f.datafd, "link") == 0);
    CHECK(linkat(f.datafd, "pub", f.datafd, "hard", 0) == 0);
    /* By default name, by symlink, by hard link: the same file, refused,
     * and nothing was created or grown. */
    spec = sized(2 * VS);
    spec.may_share = not_secret;
    CHECK_RC(create(&f, "pub", spec, NULL), MC_EDENIED);
    CHECK_RC(create(&f, "link", spec, NULL), MC_EDENIED);
    CHECK_RC(create(&f, "hard", spec, NULL), MC_EDENIED);
    CHECK_EQ_U64(stat_of(&f, "pub").st_size, VS);
    CHECK_EQ_U64(mc_catalog_count(f.cat), 1);
    /* Without the predicate (anonymous): allowed, sharing the file. */
    CHECK_RC(create(&f, "link", (struct mc_spec){0}, &created), MC_OK);
    CHECK(created);
    /* Opening that mapping is not choosing its file: allowed (its bytes
     * are reachable through its name anyway). */
    shared.may_share = not_secret;
    CHECK_RC(mc_catalog_create(f.cat, "link", &shared, false, &m, &created),
             MC_OK);
    CHECK(!created);
    mc_mapping_unref(m);
    m = NULL;
    /* Sharing with allowed names only is fine. */
    spec.given = 0;
    CHECK_RC(create(&f, "other", spec, NULL), MC_EZEROSIZE);
    spec = (struct mc_spec){.given = MC_SPEC_FILE, .file = "pub",
                            .may_share = not_secret};
    CHECK_RC(mc_catalog_remove(f.cat, "secret", false), MC_OK);
    CHECK_RC(create(&f, "pub", spec, &created), MC_OK);
    CHECK(created);
    teardown(&f);
}

TEST(shared_file_never_cut_below_a_user)
{
    struct fixture f;
    struct mc_spec spec = sized(4 * VS);
    struct mc_mapping *a = NULL, *b = NULL;
    uint8_t byte = 0;

    setup(&f);
    CHECK_RC(mc_catalog_create(f.cat, "a", &spec, false, &a, NULL), MC_OK);
    spec.given |= MC_SPEC_FILE;
    spec.file = "a";
    spec.size = 2 * VS;
    CHECK_RC(mc_catalog_create(f.cat, "b", &spec, false, &b, NULL), MC_OK);
    byte = 9;
    CHECK_RC(mc_mapping_write(a, 3 * VS, &byte, 1), MC_OK);
    /* b may not go below a, nor unlink a's file. */
    CHECK_RC(mc_mapping_resize(b, VS), MC_ESHARED); /* a needs 4 VS */
    CHECK_EQ_U64(mc_mapping_size(b), 2 * VS);
    CHECK_EQ_U64(stat_of(&f, "a").st_size, 4 * VS);
    CHECK_RC(mc_mapping_resize(a, 2 * VS), MC_OK);
    CHECK_EQ_U64(stat_of(&f, "a").st_size, 2 * VS);
    CHECK_RC(mc_mapping_resize(a, VS / 2), MC_ESHARED);
    CHECK_EQ_U64(mc_mapping_size(a), 2 * VS);
    CHECK_RC(mc_catalog_remove(f.cat, "a", true), MC_ESHARED);
    CHECK(exists(&f, "a"));
    /* Growing b over a's bytes shows them; the stale tail reads zeros. */
    byte = 5;
    CHECK_RC(mc_mapping_write(a, VS + 1, &byte, 1), MC_OK);
    CHECK_RC(mc_mapping_resize(b, 4 * VS), MC_OK);
    CHECK_RC(mc_mapping_read(b, VS + 1, &byte, 1), MC_OK);
    CHECK_EQ_U64(byte, 5);
    CHECK_RC(mc_mapping_read(b, 3 * VS, &byte, 1), MC_OK);
    CHECK_EQ_U64(byte, 0);
    mc_mapping_unref(a);
    mc_mapping_unref(b);
    /* Once b is gone, a may shrink and unlink freely. */
    CHECK_RC(mc_catalog_remove(f.cat, "b", false), MC_OK);
    CHECK_RC(mc_catalog_get(f.cat, "a", &a), MC_OK);
    CHECK_RC(mc_mapping_resize(a, VS / 2), MC_OK);
    mc_mapping_unref(a);
    CHECK_RC(mc_catalog_remove(f.cat, "a", true), MC_OK);
    CHECK(!exists(&f, "a"));
    teardown(&f);
}

/* One thread resizing one mapping of a shared file up and down, and
 * reading it; counts what must never happen. */
struct resizer {
    struct mc_mapping *m;
    uint64_t lo, hi;
    unsigned seed;
    unsigned bad;    /* reads failing other than by a concurrent shrink */
    unsigned shared; /* shrinks refused with MC_ESHARED */
};

static void *resizer_main(void *arg)
{
    struct resizer *r = arg;

    for (int i = 0; i < 300; i++) {
        uint64_t size = r->lo + (uint64_t)(rand_r(&r->seed) % 4) *
                                    ((r->hi - r->lo) / 3);
        enum mc_err rc = mc_mapping_resize(r->m, size);
        uint64_t now = mc_mapping_size(r->m);
        uint8_t byte;

        if (rc == MC_ESHARED)
            r->shared++;
        else if (rc != MC_OK)
            r->bad++;
        rc = mc_mapping_read(r->m, now - 1, &byte, 1);
        if (rc != MC_OK && rc != MC_ERANGE)
            r->bad++;
    }
    return NULL;
}

/* Two users of one file resizing at once (each through its own locks)
 * never cut the file below the other: no read fails with a truncation,
 * and both load healthy afterwards. */
TEST(concurrent_resizes_of_a_shared_file)
{
    struct fixture f;
    struct mc_spec spec = sized(8 * VS);
    struct resizer r[2] = {{.lo = 4 * VS, .hi = 16 * VS, .seed = 1},
                           {.lo = VS, .hi = 13 * VS, .seed = 2}};
    pthread_t t[2];
    struct mc_info *infos = NULL;
    size_t n = 0;

    setup(&f);
    CHECK_RC(mc_catalog_create(f.cat, "a", &spec, false, &r[0].m, NULL),
             MC_OK);
    spec.given |= MC_SPEC_FILE;
    spec.file = "a";
    CHECK_RC(mc_catalog_create(f.cat, "b", &spec, false, &r[1].m, NULL),
             MC_OK);
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&t[i], NULL, resizer_main, &r[i]) == 0);
    for (int i = 0; i < 2; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    CHECK_EQ_U64(r[0].bad + r[1].bad, 0);
    CHECK(r[1].shared > 0); /* b went below a now and then: refused */
    CHECK((uint64_t)stat_of(&f, "a").st_size >= mc_mapping_size(r[0].m));
    CHECK((uint64_t)stat_of(&f, "a").st_size >= mc_mapping_size(r[1].m));
    mc_mapping_unref(r[0].m);
    mc_mapping_unref(r[1].m);
    mc_catalog_close(f.cat);
    open_cat(&f);
    CHECK_RC(mc_catalog_list(f.cat, &infos, &n), MC_OK);
    CHECK_EQ_U64(n, 2);
    CHECK(!infos[0].damaged && !infos[1].damaged);
    free(infos);
    teardown(&f);
}

/* One page's names, joined with spaces, into buf. */
static const char *page(struct fixture *f, const char *prefix,
                        const char *after, size_t limit, bool *more,
                        char *buf, size_t len)
{
    struct mc_info *infos = NULL;
    size_t n = 0, used = 0;

    CHECK_RC(mc_catalog_list_page(f->cat, prefix, after, limit, &infos, &n,
                                  more),
             MC_OK);
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? " " : "",
                                 infos[i].name);
    free(infos);
    return buf;
}

TEST(list_pages_by_prefix_and_after)
{
    struct fixture f;
    struct mc_spec mem = {.given = MC_SPEC_BACKING | MC_SPEC_SIZE,
                          .backing = MC_BACKING_MEMORY,
                          .size = VS};
    char buf[256];
    bool more = false;

    setup(&f);
    CHECK_RC(create(&f, "b", sized(VS), NULL), MC_OK);
    CHECK_RC(create(&f, "b-1", mem, NULL), MC_OK);
    CHECK_RC(create(&f, "b-2", sized(VS), NULL), MC_OK);
    CHECK_RC(create(&f, "b.x", sized(VS), NULL), MC_OK);
    CHECK_RC(create(&f, "a", mem, NULL), MC_OK);
    CHECK_RC(create(&f, "B", sized(VS), NULL), MC_OK);
    /* Byte order: uppercase first; memory and file mappings together. */
    CHECK_EQ_STR(page(&f, NULL, NULL, 10, &more, buf, sizeof buf),
                 "B a b b-1 b-2 b.x");
    CHECK(!more);
    CHECK_EQ_STR(page(&f, "", "", 2, &more, buf, sizeof buf), "B a");
    CHECK(more);
    CHECK_EQ_STR(page(&f, NULL, "a", 2, &more, buf, sizeof buf), "b b-1");
    CHECK(more);
    CHECK_EQ_STR(page(&f, NULL, "b.x", 2, &more, buf, sizeof buf), "");
    CHECK(!more);
    /* A prefix: only its names, also with a cursor before or inside it. */
    CHECK_EQ_STR(page(&f, "b-", NULL, 10, &more, buf, sizeof buf), "b-1 b-2");
    CHECK(!more);
    CHECK_EQ_STR(page(&f, "b-", "a", 1, &more, buf, sizeof buf), "b-1");
    CHECK(more);
    CHECK_EQ_STR(page(&f, "b-", "b-1", 1, &more, buf, sizeof buf), "b-2");
    CHECK(!more);
    CHECK_EQ_STR(page(&f, "b-", "b-0", 5, &more, buf, sizeof buf), "b-1 b-2");
    CHECK_EQ_STR(page(&f, "b-", "zz", 5, &more, buf, sizeof buf), "");
    CHECK_EQ_STR(page(&f, "c", NULL, 5, &more, buf, sizeof buf), "");
    CHECK(!more);
    /* After a reopen the file mappings come back in the same order. */
    mc_catalog_close(f.cat);
    open_cat(&f);
    CHECK_EQ_STR(page(&f, NULL, NULL, 10, &more, buf, sizeof buf),
                 "B b b-2 b.x");
    teardown(&f);
}

/* Create one-page mappings <prefix>00.. and write each one's name at off. */
static void create_named(struct fixture *f, const char *prefix, int count,
                         uint64_t off)
{
    struct mc_mapping *m = NULL;
    char name[16];

    for (int i = 0; i < count; i++) {
        snprintf(name, sizeof name, "%s%02d", prefix, i);
        CHECK_RC(create(f, name, sized(VS), NULL), MC_OK);
        CHECK_RC(mc_catalog_get(f->cat, name, &m), MC_OK);
        CHECK_RC(mc_mapping_write(m, off, name, 4), MC_OK);
        mc_mapping_unref(m);
    }
}

static unsigned open_fds(void)
{
    unsigned n = 0;
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;

    CHECK(d != NULL);
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Set f up with a catalog of one view's cache (reads need the file again)
 * and an open-file cache of max_open descriptors; returns the descriptors
 * the process holds once the store is open. */
static unsigned setup_small_caches(struct fixture *f, uint64_t max_open)
{
    struct mc_catalog_options opt = {0};

    setup(f);
    mc_catalog_close(f->cat);
    opt.data_dir = f->data;
    opt.view_size = VS;
    opt.cache_bytes = VS;
    opt.max_open_files = max_open;
    CHECK_RC(mc_catalog_open(&opt, &f->cat), MC_OK);
    CHECK_RC(create(f, "first", sized(VS), NULL), MC_OK); /* store opened */
    return open_fds();
}

TEST(idle_backings_hold_no_descriptor)
{
    struct fixture f;
    struct mc_mapping *m = NULL;
    char name[16], buf[16];
    unsigned before = setup_small_caches(&f, 2);

    create_named(&f, "m", 20, 8);
    /* 20 more mappings, at most 2 more descriptors. */
    CHECK(open_fds() <= before + 2);
    for (int i = 0; i < 20; i++) {
        snprintf(name, sizeof name, "m%02d", i);
        CHECK_RC(mc_catalog_get(f.cat, name, &m), MC_OK);
        CHECK_RC(mc_mapping_read(m, 8, buf, 4), MC_OK);
        CHECK(memcmp(buf, name, 4) == 0);
        mc_mapping_unref(m);
    }
    CHECK(open_fds() <= before + 2);

    /* A file replaced behind the server's back while its descriptor was
     * closed: refused as damaged, never read as the mapping's bytes. */
    int fd = openat(f.datafd, "intruder", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    CHECK(fd >= 0);
    CHECK(ftruncate(fd, VS) == 0);
    close(fd);
    CHECK(renameat(f.datafd, "intruder", f.datafd, "m00") == 0);
    CHECK_RC(mc_catalog_get(f.cat, "m00", &m), MC_OK);
    CHECK_RC(mc_mapping_read(m, 8, buf, 4), MC_EDAMAGED);
    mc_mapping_unref(m);
    teardown(&f);
}

/* Reads from several threads over more mappings than the open-file cache
 * holds: every reopen, the eviction's close (outside the cache lock) and
 * two threads reopening one file at once (one keeps its descriptor, the
 * other closes its spare) leave each read its own mapping's bytes and the
 * process no more descriptors than the cache allows. Under TSan (dev.sh
 * test-tsan) this is the open-file cache's race check. */
enum { CHURN_MAPS = 40, CHURN_THREADS = 4, CHURN_READS = 2000 };

struct churn {
    struct mc_catalog *cat;
    unsigned seed;
};

static void *churn_reads(void *arg)
{
    struct churn *c = arg;
    char name[16], buf[4];

    for (int i = 0; i < CHURN_READS; i++) {
        struct mc_mapping *m = NULL;
        /* Neighbouring threads pick the same names often: reopen races. */
        snprintf(name, sizeof name, "c%02u", rand_r(&c->seed) % CHURN_MAPS);
        CHECK_RC(mc_catalog_get(c->cat, name, &m), MC_OK);
        CHECK_RC(mc_mapping_read(m, 8, buf, 4), MC_OK);
        CHECK(memcmp(buf, name, 4) == 0);
        mc_mapping_unref(m);
    }
    return NULL;
}

TEST(reads_from_many_threads_share_a_small_open_file_cache)
{
    struct fixture f;
    pthread_t t[CHURN_THREADS];
    struct churn c[CHURN_THREADS];
    unsigned before = setup_small_caches(&f, 4);

    create_named(&f, "c", CHURN_MAPS, 8);
    for (unsigned i = 0; i < CHURN_THREADS; i++) {
        c[i] = (struct churn){.cat = f.cat, .seed = 1 + i};
        CHECK(pthread_create(&t[i], NULL, churn_reads, &c[i]) == 0);
    }
    for (unsigned i = 0; i < CHURN_THREADS; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    /* Nothing in use now: at most the cache's 4 idle descriptors. */
    CHECK(open_fds() <= before + 4);
    teardown(&f);
}

/* Loading reads the store only: a start opens no backing file, and each is
 * checked at its mapping's first use, with the answers a start-time check
 * gave (API: "damaged" once known), or by the walk the open starts. */
TEST(backings_are_checked_at_first_use)
{
    struct fixture f;
    struct mc_mapping *m = NULL;
    struct mc_info *list = NULL;
    struct mc_state st;
    size_t n = 0;
    unsigned before;
    uint8_t b = 0;

    setup(&f);
    create_named(&f, "ok", 30, 0);
    close_and_damage(&f);

    mc__catalog_hold_walk(true);
    before = open_fds();
    open_cat(&f);
    /* The store's own files, not one descriptor per mapping. */
    CHECK(open_fds() <= before + 6);
    CHECK_RC(mc_catalog_list(f.cat, &list, &n), MC_OK);
    CHECK_EQ_U64(n, 32);
    for (size_t i = 0; i < n; i++)
        CHECK(!list[i].damaged); /* not known yet */
    free(list);

    /* The first use finds out, before anything is served. */
    CHECK_RC(mc_catalog_get(f.cat, "gone", &m), MC_OK);
    mc_mapping_state(m, &st);
    CHECK(st.damaged);
    CHECK_RC(mc_mapping_read(m, 0, &b, 1), MC_EDAMAGED);
    mc_mapping_unref(m);
    CHECK_RC(mc_catalog_get(f.cat, "ok07", &m), MC_OK);
    CHECK_RC(mc_mapping_read(m, 0, &b, 1), MC_OK);
    CHECK_EQ_U64(b, 'o');
    mc_mapping_unref(m);
    CHECK_RC(mc_catalog_list(f.cat, &list, &n), MC_OK);
    CHECK(list[0].damaged && list[31].name[0] == 's' && !list[31].damaged);
    free(list);

    /* The walk checks the rest. */
    mc__catalog_hold_walk(false);
    mc_catalog_wait_checked(f.cat);
    CHECK_RC(mc_catalog_list(f.cat, &list, &n), MC_OK);
    for (size_t i = 1; i < 31; i++)
        CHECK(!list[i].damaged);
    CHECK(list[31].damaged);
    free(list);
    teardown(&f);
}

/* A shutdown flushes the mappings written since their last flush and no
 * other: with 200 mappings and 3 written, at most a few syncs for each of
 * the 3 (its views' msync, its file's fdatasync), none for the rest. */
TEST(close_flushes_only_written_mappings)
{
    struct fixture f;
    struct mc_mapping *m = NULL;
    char name[16];

    setup(&f);
    create_named(&f, "m", 100, 0);
    create_named(&f, "n", 100, 0);
    /* Writes through a view may leave a file's mtime a little past the
     * recorded modification time (the kernel stamps it when a page is
     * first dirtied): the next run takes that as a write it must flush,
     * once. Two rounds settle it. */
    for (int round = 0; round < 2; round++) {
        mc_catalog_close(f.cat);
        open_cat(&f);
        mc_catalog_wait_checked(f.cat);
    }
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "n%02d", 30 * i);
        CHECK_RC(mc_catalog_get(f.cat, name, &m), MC_OK);
        CHECK_RC(mc_mapping_write(m, 100, "new", 3), MC_OK);
        mc_mapping_unref(m);
    }
    uint64_t before = mc__sys_sync_count();
    mc_catalog_close(f.cat);
    uint64_t syncs = mc__sys_sync_count() - before;
    CHECK(syncs >= 3);      /* the written ones were flushed */
    CHECK(syncs <= 3 * 3 + 1); /* ... and only they (+ the store's commit) */
    open_cat(&f);
    CHECK_RC(mc_catalog_get(f.cat, "n30", &m), MC_OK);
    char buf[3];
    CHECK_RC(mc_mapping_read(m, 100, buf, 3), MC_OK);
    CHECK(memcmp(buf, "new", 3) == 0);
    mc_mapping_unref(m);
    teardown(&f);
}

/* Right after a start, before the walk has checked anyone, a resize and
 * an unlinking remove still see the other users of the file (found by
 * recorded path, checked on the spot) and do not wait for the walk. */
TEST(sharing_rules_hold_before_the_walk)
{
    struct fixture f;
    struct mc_spec spec = sized(4 * VS);
    struct mc_mapping *b = NULL;

    setup(&f);
    CHECK_RC(create(&f, "a", spec, NULL), MC_OK);
    spec.given |= MC_SPEC_FILE;
    spec.file = "a";
    spec.size = 2 * VS;
    CHECK_RC(create(&f, "b", spec, NULL), MC_OK);
    mc_catalog_close(f.cat);

    mc__catalog_hold_walk(true); /* released only at the end */
    open_cat(&f);
    CHECK_RC(mc_catalog_get(f.cat, "b", &b), MC_OK);
    /* a (not checked yet) needs 4 VS: b may not cut below that. */
    CHECK_RC(mc_mapping_resize(b, VS), MC_ESHARED);
    CHECK_EQ_U64(mc_mapping_size(b), 2 * VS);
    CHECK_EQ_U64(stat_of(&f, "a").st_size, 4 * VS);
    CHECK_RC(mc_catalog_remove(f.cat, "b", true), MC_ESHARED);
    CHECK(exists(&f, "a"));
    mc_mapping_unref(b);
    CHECK_RC(mc_catalog_remove(f.cat, "b", false), MC_OK);
    CHECK_RC(mc_catalog_remove(f.cat, "a", true), MC_OK); /* alone now */
    CHECK(!exists(&f, "a"));
    mc__catalog_hold_walk(false);
    teardown(&f);
}

TEST(small_mappings_get_small_views)
{
    struct fixture f;
    struct mc_catalog_options opt = {0};
    struct mc_cache_stats st;
    struct mc_mapping *m = NULL;
    struct mc_view *v = NULL;
    const uint8_t *data = NULL;
    size_t len = 0;
    char buf[8];

    setup(&f);
    mc_catalog_close(f.cat);
    opt.data_dir = f.data;
    opt.view_size = 16 * VS;
    opt.cache_bytes = 32 * VS; /* two whole views */
    CHECK_RC(mc_catalog_open(&opt, &f.cat), MC_OK);
    /* Twenty one-page mappings: twenty one-page views, all cached. */
    create_named(&f, "s", 20, 0);
    mc_catalog_cache_stats(f.cat, &st);
    CHECK_EQ_U64(st.views, 20);
    CHECK_EQ_U64(st.bytes_mapped, 20 * VS);
    CHECK_EQ_U64(st.evictions, 0);

    /* A pinned short view of a mapping that then grows: the next access
     * past it gets a longer view, the pinned one keeps its bytes. */
    CHECK_RC(mc_catalog_get(f.cat, "s00", &m), MC_OK);
    CHECK_RC(mc_view_acquire(m, 0, &v, &data, &len), MC_OK);
    CHECK_EQ_U64(len, VS);
    CHECK_RC(mc_mapping_resize(m, 8 * VS), MC_OK);
    CHECK_RC(mc_mapping_write(m, 5 * VS, "grown", 5), MC_OK);
    CHECK_RC(mc_mapping_read(m, 5 * VS, buf, 5), MC_OK);
    CHECK(memcmp(buf, "grown", 5) == 0);
    CHECK(memcmp(data, "s00", 3) == 0); /* the old view still reads */
    mc_view_release(v);
    mc_catalog_cache_stats(f.cat, &st);
    CHECK_EQ_U64(st.pinned, 0);
    CHECK(st.bytes_mapped <= 32 * VS);
    CHECK_RC(mc_mapping_read(m, 0, buf, 3), MC_OK);
    CHECK(memcmp(buf, "s00", 3) == 0);
    CHECK_RC(mc_mapping_flush(m, 0, 0, NULL), MC_OK);
    mc_mapping_unref(m);
    teardown(&f);
}

TEST(catalog_keeps_a_reserve)
{
    struct fixture f;

    setup(&f);
    /* No catalog yet: no .mmapd, no reserve. */
    CHECK(!exists(&f, ".mmapd/reserve"));
    CHECK_RC(create(&f, "a", sized(VS), NULL), MC_OK);
    /* Room for one change of the store (reserve.c), allocated. */
    CHECK(stat_of(&f, ".mmapd/reserve").st_size >= (64u << 10));
    CHECK(stat_of(&f, ".mmapd/reserve").st_blocks * 512 >= (64u << 10));
    /* A reserve lost while closed comes back at open. */
    CHECK(unlinkat(f.datafd, ".mmapd/reserve", 0) == 0);
    mc_catalog_close(f.cat);
    open_cat(&f);
    CHECK(stat_of(&f, ".mmapd/reserve").st_size >= (64u << 10));
    teardown(&f);
}

TEST(content_type_is_metadata_that_persists)
{
    struct fixture f;
    struct mc_mapping *m = NULL;
    struct mc_spec spec = sized(VS);
    struct mc_info info;
    char type[MC_CONTENT_TYPE_MAX + 1];
    char lng[MC_CONTENT_TYPE_MAX + 2];
    uint64_t gen;

    setup(&f);
    spec.given |= MC_SPEC_CONTENT_TYPE;
    spec.content_type = "text/html";
    CHECK_RC(create(&f, "page", spec, NULL), MC_OK);
    CHECK_RC(create(&f, "plain", sized(VS), NULL), MC_OK);
    /* Opening with the same type is fine, with another a conflict. */
    CHECK_RC(create(&f, "page", spec, NULL), MC_OK);
    spec.content_type = "image/png";
    CHECK_RC(create(&f, "page", spec, NULL), MC_ECONFLICT);
    /* Header-unsafe values are refused at create and at set. */
    spec.content_type = "text/html\r\nX: y";
    CHECK_RC(create(&f, "bad", spec, NULL), MC_EINVAL);
    memset(lng, 'a', sizeof(lng) - 1);
    lng[sizeof(lng) - 1] = '\0';
    spec.content_type = lng;
    CHECK_RC(create(&f, "bad", spec, NULL), MC_EINVAL);

    CHECK_RC(mc_catalog_get(f.cat, "plain", &m), MC_OK);
    mc_mapping_info(m, &info);
    CHECK_EQ_STR(info.content_type, MC_CONTENT_TYPE_DEFAULT);
    gen = info.generation;
    CHECK_RC(mc_mapping_set_content_type(m, "video/mp4"), MC_OK);
    CHECK_RC(mc_mapping_set_content_type(m, ""), MC_EINVAL);
    CHECK_RC(mc_mapping_set_content_type(m, "a/b\n"), MC_EINVAL);
    mc_mapping_content_type(m, type);
    CHECK_EQ_STR(type, "video/mp4");
    mc_mapping_info(m, &info);
    CHECK_EQ_U64(info.generation, gen); /* no byte changed */
    mc_mapping_unref(m);

    /* Both survive a reopen of the catalog. */
    mc_catalog_close(f.cat);
    open_cat(&f);
    CHECK_RC(mc_catalog_get(f.cat, "plain", &m), MC_OK);
    mc_mapping_content_type(m, type);
    CHECK_EQ_STR(type, "video/mp4");
    mc_mapping_unref(m);
    CHECK_RC(mc_catalog_get(f.cat, "page", &m), MC_OK);
    mc_mapping_content_type(m, type);
    CHECK_EQ_STR(type, "text/html");

    /* A failed save puts back the type it replaced (each type a mapping
     * stops using is freed: ASan's leak check runs this too). */
    mc__store_fail_writes(true);
    CHECK(mc_mapping_set_content_type(m, "image/png") != MC_OK);
    mc__store_fail_writes(false);
    mc_mapping_content_type(m, type);
    CHECK_EQ_STR(type, "text/html");
    /* The longest type, then the default again, then a type again. */
    memset(lng, 'x', MC_CONTENT_TYPE_MAX);
    memcpy(lng, "a/", 2);
    lng[MC_CONTENT_TYPE_MAX] = '\0';
    CHECK_RC(mc_mapping_set_content_type(m, lng), MC_OK);
    mc_mapping_content_type(m, type);
    CHECK_EQ_STR(type, lng);
    CHECK_RC(mc_mapping_set_content_type(m, MC_CONTENT_TYPE_DEFAULT), MC_OK);
    mc_mapping_content_type(m, type);
    CHECK_EQ_STR(type, MC_CONTENT_TYPE_DEFAULT);
    CHECK_RC(mc_mapping_set_content_type(m, lng), MC_OK);
    mc_mapping_unref(m);

    /* Given at a create, the longest type too, beside a snapshot's source
     * fields (all of them share the mapping's one allocation), and kept
     * across a reopen. */
    spec = sized(VS);
    spec.given |= MC_SPEC_CONTENT_TYPE;
    spec.content_type = lng;
    spec.source = "page";
    spec.source_etag = "\"5a49d8a2-3-1\"";
    CHECK_RC(create(&f, "longest", spec, NULL), MC_OK);
    mc_catalog_close(f.cat);
    open_cat(&f);
    const char *names[] = {"page", "longest"};
    for (size_t i = 0; i < 2; i++) {
        CHECK_RC(mc_catalog_get(f.cat, names[i], &m), MC_OK);
        mc_mapping_content_type(m, type);
        CHECK_EQ_STR(type, lng);
        mc_mapping_info(m, &info);
        CHECK_EQ_STR(info.source, i ? "page" : "");
        CHECK_EQ_STR(info.source_etag, i ? "\"5a49d8a2-3-1\"" : "");
        mc_mapping_unref(m);
    }
    teardown(&f);
}

TEST_MAIN()
