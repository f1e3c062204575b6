/* test_record.c - the store's two readers of a catalog record (store.c):
 * the fast one takes records in the form a create writes and declines
 * everything else, which jansson's reader then judges; on what the fast
 * one takes, both agree. */
#include <string.h>

#include "check.h"
#include "internal.h"

#define REC                                                                   \
    "{\"file\":\"f-0000000\",\"size\":65536,\"protection\":\"readwrite\","   \
    "\"allocation\":\"sparse\",\"writethrough\":false,\"created_at_ms\":"      \
    "1796394958909,\"modified_at_ms\":1796394958910,\"content_type\":"         \
    "\"application/octet-stream\"}"

/* What each reader makes of text: fast is 1 (taken), 0 (declined). */
struct verdict {
    int fast;
    bool fast_ok, json_ok;
    struct mc_info a, b;
};

static struct verdict read_both(const char *text)
{
    struct verdict v;

    memset(&v, 0, sizeof v);
    v.fast = mc__store_fast_record(text, strlen(text), &v.a, &v.fast_ok);
    v.json_ok = mc__store_json_record(text, strlen(text), &v.b);
    if (v.fast == 1) {
        CHECK(v.fast_ok == v.json_ok);
        if (v.fast_ok)
            CHECK(memcmp(&v.a, &v.b, sizeof v.a) == 0);
    }
    return v;
}

TEST(written_form_is_read_fast)
{
    struct verdict v = read_both(REC);

    CHECK(v.fast == 1 && v.fast_ok);
    CHECK_EQ_STR(v.a.file, "f-0000000");
    CHECK_EQ_U64(v.a.size, 65536);
    CHECK(v.a.protection == MC_PROT_READWRITE);
    CHECK(v.a.allocation == MC_ALLOC_SPARSE);
    CHECK(!v.a.writethrough);
    CHECK(v.a.created_at_ms == 1796394958909);
    CHECK(v.a.modified_at_ms == 1796394958910);
    CHECK_EQ_STR(v.a.content_type, "application/octet-stream");
    /* Without content_type (records of older releases): the default. */
    v = read_both("{\"file\":\"a/b\",\"size\":1,\"protection\":\"readonly\","
                  "\"allocation\":\"commit\",\"writethrough\":true,"
                  "\"created_at_ms\":1,\"modified_at_ms\":2}");
    CHECK(v.fast == 1 && v.fast_ok && v.a.writethrough);
    CHECK_EQ_STR(v.a.content_type, "application/octet-stream");
}

/* Forms the fast reader must leave to jansson (which may still accept
 * them: an unknown member is kept for a later version, an escape is JSON). */
TEST(other_forms_are_left_to_jansson)
{
    static const char *const declined[] = {
        "{\"file\":\"f-\\u0030\",\"size\":1,\"protection\":\"readwrite\","
        "\"allocation\":\"sparse\",\"writethrough\":false,\"created_at_ms\":1,"
        "\"modified_at_ms\":1}",
        "{\"file\":\"f\",\"size\":1,\"protection\":\"readwrite\",\"x\":1,"
        "\"allocation\":\"sparse\",\"writethrough\":false,\"created_at_ms\":1,"
        "\"modified_at_ms\":1}",
        "{\"file\":\"f\", \"size\":1,\"protection\":\"readwrite\","
        "\"allocation\":\"sparse\",\"writethrough\":false,\"created_at_ms\":1,"
        "\"modified_at_ms\":1}",
        "{\"file\":\"f\",\"size\":1,\"size\":2,\"protection\":\"readwrite\","
        "\"allocation\":\"sparse\",\"writethrough\":false,\"created_at_ms\":1,"
        "\"modified_at_ms\":1}",
        "{\"file\":\"f\",\"size\":01,\"protection\":\"readwrite\","
        "\"allocation\":\"sparse\",\"writethrough\":false,\"created_at_ms\":1,"
        "\"modified_at_ms\":1}",
        "{\"file\":\"f\",\"size\":1e3,\"protection\":\"readwrite\","
        "\"allocation\":\"sparse\",\"writethrough\":false,\"created_at_ms\":1,"
        "\"modified_at_ms\":1}",
        "{\"file\":\"f\",\"size\":12345678901234567890,\"protection\":"
        "\"readwrite\",\"allocation\":\"sparse\",\"writethrough\":false,"
        "\"created_at_ms\":1,\"modified_at_ms\":1}",
        "{\"file\":\"f\",\"size\":1,\"protection\":\"readwrite\","
        "\"allocation\":\"sparse\",\"created_at_ms\":1,\"modified_at_ms\":1}",
        REC " ",
        "{\"file\":\"f\xc3\xa9\",\"size\":1,\"protection\":\"readwrite\","
        "\"allocation\":\"sparse\",\"writethrough\":false,\"created_at_ms\":1,"
        "\"modified_at_ms\":1}",
        "[]",
        "{",
        "",
    };

    for (size_t i = 0; i < sizeof declined / sizeof *declined; i++)
        CHECK(read_both(declined[i]).fast == 0);
    /* An unknown member is carried, not refused. */
    CHECK(read_both(declined[1]).json_ok);
}

/* Records in the fast form with bad values: both readers refuse them. */
TEST(bad_values_are_refused_by_both)
{
    static const char *const bad[] = {
        "{\"file\":\"../etc\",\"size\":1,\"protection\":\"readwrite\","
        "\"allocation\":\"sparse\",\"writethrough\":false,\"created_at_ms\":1,"
        "\"modified_at_ms\":1}",
        "{\"file\":\"f\",\"size\":0,\"protection\":\"readwrite\","
        "\"allocation\":\"sparse\",\"writethrough\":false,\"created_at_ms\":1,"
        "\"modified_at_ms\":1}",
        "{\"file\":\"f\",\"size\":-4,\"protection\":\"readwrite\","
        "\"allocation\":\"sparse\",\"writethrough\":false,\"created_at_ms\":1,"
        "\"modified_at_ms\":1}",
        "{\"file\":\"f\",\"size\":1,\"protection\":\"readwriteX\","
        "\"allocation\":\"sparse\",\"writethrough\":false,\"created_at_ms\":1,"
        "\"modified_at_ms\":1}",
        "{\"file\":\"f\",\"size\":1,\"protection\":\"readwrite\","
        "\"allocation\":\"lazy\",\"writethrough\":false,\"created_at_ms\":1,"
        "\"modified_at_ms\":1}",
        "{\"file\":\"f\",\"size\":1,\"protection\":\"readwrite\","
        "\"allocation\":\"sparse\",\"writethrough\":0,\"created_at_ms\":1,"
        "\"modified_at_ms\":1}",
        "{\"file\":\"\",\"size\":1,\"protection\":\"readwrite\","
        "\"allocation\":\"sparse\",\"writethrough\":false,\"created_at_ms\":1,"
        "\"modified_at_ms\":1}",
        "{\"file\":\"f\",\"size\":1,\"protection\":\"readwrite\","
        "\"allocation\":\"sparse\",\"writethrough\":false,\"created_at_ms\":1,"
        "\"modified_at_ms\":1,\"content_type\":\"text/plain\\r\\nX: y\"}",
    };

    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct verdict v = read_both(bad[i]);
        CHECK(!v.json_ok);
        CHECK(v.fast == 0 || !v.fast_ok);
    }
}

/* The start of a snapshot's record; each case adds its source members. */
#define SNAP_PREFIX                                                           \
    "{\"file\":\"s\",\"size\":1,\"protection\":\"readonly\","                 \
    "\"allocation\":\"commit\",\"writethrough\":false,\"created_at_ms\":1,"    \
    "\"modified_at_ms\":1,\"content_type\":\"text/plain\""

TEST(a_snapshots_record_names_its_source_and_etag)
{
    struct verdict v = read_both(SNAP_PREFIX ",\"source\":\"src-a\","
                                             "\"source_etag\":\"\\\"1f-2-3\\\"\"}");

    /* The etag's quotes are escapes in JSON: jansson reads it. */
    CHECK(v.json_ok);
    CHECK_EQ_STR(v.b.source, "src-a");
    CHECK_EQ_STR(v.b.source_etag, "\"1f-2-3\"");
    /* A record without them (every record of older releases) is not a
     * snapshot. */
    v = read_both(REC);
    CHECK(v.fast == 1 && v.fast_ok && v.a.source[0] == '\0' &&
          v.a.source_etag[0] == '\0');
}

/* Snapshot members that are wrong: both readers refuse the record. */
TEST(bad_snapshot_members_are_refused_by_both)
{
    static const char *const bad[] = {
        /* a source that is no mapping name */
        SNAP_PREFIX ",\"source\":\"../x\",\"source_etag\":\"\\\"1\\\"\"}",
        SNAP_PREFIX ",\"source\":\"\",\"source_etag\":\"\\\"1\\\"\"}",
        SNAP_PREFIX ",\"source\":\"a\\u0000b\",\"source_etag\":\"\\\"1\\\"\"}",
        /* an etag that is not a quoted string */
        SNAP_PREFIX ",\"source\":\"a\",\"source_etag\":\"1-2-3\"}",
        SNAP_PREFIX ",\"source\":\"a\",\"source_etag\":\"\\\"1\"}",
        SNAP_PREFIX ",\"source\":\"a\",\"source_etag\":\"\\\"\\\"\\\"\"}",
        SNAP_PREFIX ",\"source\":\"a\",\"source_etag\":\"\\\"a b\\\"\"}",
        SNAP_PREFIX ",\"source\":\"a\",\"source_etag\":\"\\\"\\r\\n\\\"\"}",
        SNAP_PREFIX ",\"source\":\"a\",\"source_etag\":7}",
        /* one without the other */
        SNAP_PREFIX ",\"source\":\"a\"}",
        SNAP_PREFIX ",\"source_etag\":\"\\\"1\\\"\"}",
        /* duplicates */
        SNAP_PREFIX ",\"source\":\"a\",\"source\":\"b\","
                    "\"source_etag\":\"\\\"1\\\"\"}",
        SNAP_PREFIX ",\"source\":\"a\",\"source_etag\":\"\\\"1\\\"\","
                    "\"source_etag\":\"\\\"2\\\"\"}",
    };

    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct verdict v = read_both(bad[i]);
        CHECK(!v.json_ok);
        CHECK(v.fast == 0 || !v.fast_ok);
    }
}

TEST_MAIN()
