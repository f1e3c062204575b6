/* test_snapshot.c - proves POST /v1/maps/{name}/snapshot on the real server.
 *
 * While 4 writers keep writing generations of a pattern (each write a
 * multipart PATCH of four far-apart parts, so one generation spans the
 * whole mapping), every snapshot holds the bytes of exactly one generation:
 * all four regions carry the same (writer, sequence) words. Snapshots of a
 * file, a memory and a writecopy mapping hold the source's bytes as they
 * were, are read-only, keep a sparse source sparse, and name their source
 * and its ETag; later writes to the source do not reach them. A snapshot's
 * metadata (GET and its listing entry) names its source and the ETag its
 * 201 gave, after a restart, after kill -9 right after the 201, and after
 * the source is rewritten or deleted; other mappings have neither field.
 * Refusals: an
 * existing name (412), an existing file (409, never overwritten), a bad
 * name (400), no "as" (400), a missing source (404).
 *
 * The reflink path needs a file system that shares blocks: the last case
 * makes an XFS image with reflink on a loop device when it can (root,
 * mkfs.xfs, loop devices) and exits 77 (skipped) otherwise. The copy paths
 * are tested always (this machine's ext4, tmpfs memfds).
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "itest.h"

#define MIB ((uint64_t)1 << 20)
#define SIZE (64 * MIB)
#define PART (256 * 1024) /* four parts: one PATCH within the atomic limit */
#define WRITERS 4
#define SNAPS 5

static const uint64_t part_at[4] = {0, 21 * MIB, 42 * MIB, SIZE - PART};

struct writer {
    const struct itest_server *s;
    unsigned id;
    atomic_bool *stop;
    unsigned writes;
};

static void fill_words(char *p, size_t len, uint64_t word)
{
    for (size_t i = 0; i + 8 <= len; i += 8)
        memcpy(p + i, &word, 8);
}

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    static const char *const hdr[] = {
        "Content-Type: multipart/byteranges; boundary=snapb0undary", NULL};
    size_t cap = 4 * (PART + 200) + 64;
    char *body = malloc(cap);

    CHECK(body != NULL);
    for (uint32_t seq = 1; !atomic_load(w->stop) && seq < 100000; seq++) {
        uint64_t word = ((uint64_t)(w->id + 1) << 32) | seq;
        size_t used = 0;
        struct itest_resp r;

        for (int i = 0; i < 4; i++) {
            used +=
                (size_t)snprintf(body + used, cap - used,
                                 "--snapb0undary\r\nContent-Range: bytes "
                                 "%llu-%llu/*\r\n\r\n",
                                 (unsigned long long)part_at[i],
                                 (unsigned long long)(part_at[i] + PART - 1));
            fill_words(body + used, PART, word);
            used += PART;
            used += (size_t)snprintf(body + used, cap - used, "\r\n");
        }
        used +=
            (size_t)snprintf(body + used, cap - used, "--snapb0undary--\r\n");
        itest_request(w->s, "PATCH", "/v1/maps/src/data", hdr, body, used, &r);
        CHECK_EQ_U64(r.status, 204);
        itest_resp_free(&r);
        w->writes++;
    }
    free(body);
    return NULL;
}

/* POST a snapshot request; require status; the JSON answer when 201. */
static json_t *snapshot(const struct itest_server *s, const char *name,
                        const char *body, long status, const char *code)
{
    char path[128];
    struct itest_resp r;
    json_t *j = NULL;

    snprintf(path, sizeof(path), "/v1/maps/%s/snapshot", name);
    itest_request(s, "POST", path, NULL, body, strlen(body), &r);
    if (code != NULL) {
        itest_expect_problem(&r, status, code);
    } else {
        if (r.status != status)
            TEST_FAIL("snapshot %s: %ld %s", body, r.status, r.body);
        j = itest_json(&r);
        CHECK(json_is_string(json_object_get(j, "source_etag")));
        CHECK_EQ_STR(json_string_value(json_object_get(j, "source")), name);
        CHECK_EQ_STR(json_string_value(json_object_get(j, "protection")),
                     "readonly");
        CHECK(json_is_integer(json_object_get(j, "writers_held_us")));
    }
    itest_resp_free(&r);
    return j;
}

/* Snapshots of mapping "src", created from spec, while WRITERS clients
 * write generations: each holds one generation. */
static void snapshots_under_writers(const char *spec)
{
    struct itest_server s = {0};
    struct writer w[WRITERS];
    pthread_t t[WRITERS];
    atomic_bool stop = false;
    char *zeros = calloc(1, SIZE);

    CHECK(zeros != NULL);
    CHECK(curl_global_init(CURL_GLOBAL_ALL) == CURLE_OK);
    itest_start(&s, NULL);
    itest_create(&s, "src", spec);
    for (unsigned i = 0; i < WRITERS; i++) {
        w[i] = (struct writer){&s, i, &stop, 0};
        CHECK(pthread_create(&t[i], NULL, writer_main, &w[i]) == 0);
    }
    /* Let some generations land first. */
    for (unsigned spins = 0; spins < 2000; spins++) {
        unsigned total = 0;

        for (unsigned i = 0; i < WRITERS; i++)
            total += w[i].writes;
        if (total >= 8)
            break;
        usleep(5000);
    }
    for (int k = 0; k < SNAPS; k++) {
        char body[64], name[16];
        size_t len;
        char *snap;
        uint64_t first;

        snprintf(name, sizeof(name), "snap%d", k);
        snprintf(body, sizeof(body), "{\"as\": \"%s\"}", name);
        json_decref(snapshot(&s, "src", body, 201, NULL));
        snap = itest_get_data(&s, name, &len);
        CHECK_EQ_U64(len, SIZE);
        memcpy(&first, snap, 8);
        CHECK(first != 0); /* a generation had landed */
        for (int i = 0; i < 4; i++) {
            for (size_t b = 0; b < PART; b += 8) {
                uint64_t word;

                memcpy(&word, snap + part_at[i] + b, 8);
                if (word != first)
                    TEST_FAIL("%s: part %d holds %llx at +%zu, part 0 %llx",
                              name, i, (unsigned long long)word, b,
                              (unsigned long long)first);
            }
        }
        /* Nothing outside the parts was ever written. */
        CHECK(memcmp(snap + PART, zeros, part_at[1] - PART) == 0);
        free(snap);
        usleep(20000);
    }
    atomic_store(&stop, true);
    for (unsigned i = 0; i < WRITERS; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    free(zeros);
    itest_cleanup(&s);
}

/* A memory mapping is copied through memory: the slowest path, so the
 * writers would land inside any copy the lock did not keep them out of. */
TEST(a_snapshot_under_four_writers_holds_one_generation)
{
    snapshots_under_writers("{\"size\": 67108864, \"backing\": \"memory\"}");
}

TEST(a_file_snapshot_under_four_writers_holds_one_generation)
{
    snapshots_under_writers("{\"size\": 67108864}");
}

static uint64_t blocks(const struct itest_server *s, const char *file)
{
    char path[512];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", s->dir, file);
    CHECK(stat(path, &st) == 0);
    return (uint64_t)st.st_blocks;
}

TEST(snapshots_of_every_backing_hold_the_bytes_as_they_were)
{
    struct itest_server s = {0};
    char pat[65536];
    char etag[128];
    json_t *j;
    struct itest_resp r;

    itest_start(&s, NULL);

    /* A file mapping: the snapshot keeps the bytes of its moment. */
    itest_create_filled(&s, "f", pat, sizeof(pat), 3);
    itest_etag(&s, "f", etag, sizeof(etag));
    j = snapshot(&s, "f", "{\"as\": \"f1\", \"file\": \"snaps/f1\"}", 201,
                 NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(j, "source_etag")), etag);
    CHECK_EQ_STR(json_string_value(json_object_get(j, "file")), "snaps/f1");
    json_decref(j);
    itest_request(&s, "PUT", "/v1/maps/f/data?offset=0", NULL, "changed", 7,
                  &r);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);
    itest_expect_data(&s, "f1", pat, sizeof(pat));
    ITEST_PROBLEM(&s, "PUT", "/v1/maps/f1/data?offset=0", NULL, "x", 1, 403,
                  "read_only");

    /* A memory mapping, from its memfd. */
    itest_create(&s, "m", "{\"size\": 65536, \"backing\": \"memory\"}");
    itest_pattern(pat, sizeof(pat), 4);
    itest_request(&s, "PUT", "/v1/maps/m/data", NULL, pat, sizeof(pat), &r);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);
    json_decref(snapshot(&s, "m", "{\"as\": \"m1\"}", 201, NULL));
    itest_expect_data(&s, "m1", pat, sizeof(pat));

    /* A writecopy mapping, from its own (private) pages. */
    itest_create(&s, "wc", "{\"file\": \"f\", \"protection\": \"writecopy\"}");
    itest_request(&s, "PUT", "/v1/maps/wc/data?offset=100", NULL, "private", 7,
                  &r);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);
    {
        size_t len;
        char *want = itest_get_data(&s, "wc", &len);

        CHECK(memcmp(want + 100, "private", 7) == 0);
        json_decref(snapshot(&s, "wc", "{\"as\": \"wc1\"}", 201, NULL));
        itest_expect_data(&s, "wc1", want, len);
        free(want);
    }

    /* A sparse 1 GiB mapping with two written pages stays sparse. */
    itest_create(&s, "sp",
                 "{\"size\": 1073741824, \"allocation\": \"sparse\"}");
    itest_request(&s, "PUT", "/v1/maps/sp/data?offset=536870912", NULL, "mid",
                  3, &r);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);
    json_decref(snapshot(&s, "sp", "{\"as\": \"sp1\"}", 201, NULL));
    CHECK(blocks(&s, "sp1") < 1024); /* well under 512 KiB allocated */
    itest_request(&s, "GET", "/v1/maps/sp1/data?offset=536870910&length=6",
                  NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    CHECK(r.len == 6 && memcmp(r.body, "\0\0mid\0", 6) == 0);
    itest_resp_free(&r);

    /* Refusals change nothing. */
    snapshot(&s, "f", "{\"as\": \"f1\"}", 412, "precondition_failed");
    snapshot(&s, "f", "{\"as\": \"other\", \"file\": \"snaps/f1\"}", 409,
             "conflict");
    {
        char again[128];

        /* Still there, as it was. */
        CHECK(itest_etag(&s, "f1", again, sizeof(again)) != NULL);
    }
    snapshot(&s, "f", "{\"as\": \"bad/name\"}", 400, "invalid_name");
    snapshot(&s, "f", "{}", 400, "invalid_field");
    snapshot(&s, "f", "{\"as\": \"x\", \"extra\": 1}", 400, "invalid_field");
    snapshot(&s, "nope", "{\"as\": \"x\"}", 404, "not_found");
    ITEST_PROBLEM(&s, "GET", "/v1/maps/other", NULL, NULL, 0, 404, "not_found");
    itest_cleanup(&s);
}

/* GET /v1/maps/{name} and name's entry in GET /v1/maps name source and
 * source_etag (both NULL: neither field is there). */
static void expect_source(const struct itest_server *s, const char *name,
                          const char *source, const char *source_etag)
{
    char path[128];
    struct itest_resp r;
    json_t *j, *maps, *e, *entry = NULL;
    size_t i;

    snprintf(path, sizeof(path), "/v1/maps/%s", name);
    itest_request(s, "GET", path, NULL, NULL, 0, &r);
    CHECK_EQ_U64(r.status, 200);
    j = itest_json(&r);
    itest_resp_free(&r);
    for (int pass = 0; pass < 2; pass++) {
        json_t *o = pass == 0 ? j : entry;

        CHECK(o != NULL);
        if (source == NULL) {
            CHECK(json_object_get(o, "source") == NULL);
            CHECK(json_object_get(o, "source_etag") == NULL);
        } else {
            CHECK_EQ_STR(json_string_value(json_object_get(o, "source")),
                         source);
            CHECK_EQ_STR(
                json_string_value(json_object_get(o, "source_etag")),
                source_etag);
        }
        if (pass == 1)
            break;
        /* The same fields in the listing entry. */
        itest_request(s, "GET", "/v1/maps", NULL, NULL, 0, &r);
        CHECK_EQ_U64(r.status, 200);
        json_decref(j);
        j = itest_json(&r);
        itest_resp_free(&r);
        maps = json_object_get(j, "maps");
        json_array_foreach(maps, i, e) {
            if (strcmp(json_string_value(json_object_get(e, "name")), name) ==
                0)
                entry = e;
        }
    }
    json_decref(j);
}

TEST(a_snapshots_metadata_names_its_source_across_restarts_and_kill9)
{
    struct itest_server s = {0};
    char pat[4096];
    char etag[128], etag2[128];
    json_t *j;
    struct itest_resp r;

    itest_start(&s, NULL);
    itest_create_filled(&s, "src", pat, sizeof(pat), 5);
    j = snapshot(&s, "src", "{\"as\": \"s1\"}", 201, NULL);
    snprintf(etag, sizeof(etag), "%s",
             json_string_value(json_object_get(j, "source_etag")));
    json_decref(j);
    expect_source(&s, "s1", "src", etag);
    expect_source(&s, "src", NULL, NULL); /* not a snapshot: neither field */

    /* SIGTERM and start again: the ETag the 201 gave, not today's. */
    itest_stop(&s);
    itest_start(&s, NULL);
    expect_source(&s, "s1", "src", etag);
    expect_source(&s, "src", NULL, NULL);

    /* kill -9 right after the 201: durable once acknowledged. */
    j = snapshot(&s, "src", "{\"as\": \"s2\"}", 201, NULL);
    snprintf(etag2, sizeof(etag2), "%s",
             json_string_value(json_object_get(j, "source_etag")));
    json_decref(j);
    CHECK(kill(s.pid, SIGKILL) == 0);
    CHECK(waitpid(s.pid, NULL, 0) == s.pid);
    s.pid = 0;
    itest_start(&s, NULL);
    expect_source(&s, "s2", "src", etag2);
    expect_source(&s, "s1", "src", etag);

    /* Rewriting, then deleting the source changes neither: they name the
     * instant. */
    itest_request(&s, "PUT", "/v1/maps/src/data?offset=0", NULL, "new", 3, &r);
    CHECK_EQ_U64(r.status, 204);
    itest_resp_free(&r);
    expect_source(&s, "s1", "src", etag);
    itest_expect_status(&s, "DELETE", "/v1/maps/src", NULL, NULL, 204);
    expect_source(&s, "s1", "src", etag);
    expect_source(&s, "s2", "src", etag2);
    itest_cleanup(&s);
}

/* Run argv, quietly; its exit status (-1 when it could not run). */
static int run(const char *const argv[])
{
    pid_t pid = fork();
    int st;

    if (pid < 0)
        return -1;
    if (pid == 0) {
        freopen("/dev/null", "w", stdout);
        freopen("/dev/null", "w", stderr);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

TEST(the_reflink_path_on_xfs_shares_blocks)
{
    char dir[] = "/tmp/mmapd-xfs.XXXXXX";
    char img[64];
    struct itest_server s = {0};
    char pat[1 << 20];
    json_t *j;
    int fd;

    if (geteuid() != 0 || mkdtemp(dir) == NULL) {
        fprintf(stderr, "skipped: needs root to mount an XFS image\n");
        exit(77);
    }
    snprintf(img, sizeof(img), "%s.img", dir);
    fd = open(img, O_CREAT | O_RDWR | O_TRUNC, 0600);
    CHECK(fd >= 0);
    CHECK(ftruncate(fd, 320 << 20) == 0);
    close(fd);
    {
        const char *mk[] = {"mkfs.xfs",  "-q", "-f", "-m",
                            "reflink=1", img,  NULL};
        const char *mnt[] = {"mount", "-o", "loop", img, dir, NULL};

        if (run(mk) != 0 || run(mnt) != 0) {
            unlink(img);
            rmdir(dir);
            fprintf(stderr, "skipped: no mkfs.xfs or no loop mount here\n");
            exit(77);
        }
    }
    /* The data directory is the XFS file system itself. */
    snprintf(s.dir, sizeof(s.dir), "%s", dir);
    itest_start(&s, NULL);
    itest_create_filled(&s, "x", pat, sizeof(pat), 8);
    j = snapshot(&s, "x", "{\"as\": \"x1\"}", 201, NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(j, "copy")), "reflink");
    json_decref(j);
    itest_expect_data(&s, "x1", pat, sizeof(pat));
    itest_stop(&s);
    CHECK(umount2(dir, MNT_DETACH) == 0);
    unlink(img);
    itest_cleanup(&s); /* removes the emptied mount point */
}

TEST_MAIN()
