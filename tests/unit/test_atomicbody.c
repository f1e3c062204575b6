/* test_atomicbody.c - the body parser of POST .../atomic, above all what it
 * refuses (api/src/atomicbody.c): each refusal names the error the client
 * gets, and every accepted form comes out as the operations it says.
 */
#include <string.h>

#include "check.h"
#include "internal.h"

static struct mc_word w[MC_WORDS_MAX];
static size_t n;

static bool parse(const char *body, struct api_atomic_error *e)
{
    return api__atomic_parse(body, strlen(body), w, &n, e);
}

#define REFUSED(body, error, part)                                             \
    do {                                                                       \
        struct api_atomic_error e_ = {0};                                      \
        if (parse((body), &e_))                                                \
            TEST_FAIL("accepted: %s", (body));                                 \
        if (e_.err != (error) || strstr(e_.why, (part)) == NULL)               \
            TEST_FAIL("%s: error %d \"%s\"", (body), (int)e_.err, e_.why);     \
        CHECK_EQ_U64(n, 0);                                                    \
    } while (0)

TEST(accepts_one_op_and_batches)
{
    struct api_atomic_error e;

    CHECK(parse("{\"op\": \"add\", \"offset\": 16, \"width\": 8, "
                "\"value\": -3, \"overflow\": \"fail\"}",
                &e));
    CHECK_EQ_U64(n, 1);
    CHECK(w[0].op == MC_WORD_ADD && w[0].off == 16 && w[0].width == 8 &&
          w[0].value == -3 && w[0].checked);
    CHECK(parse("{\"ops\": [{\"op\": \"load\", \"offset\": 0, \"width\": 4},"
                " {\"op\": \"cas\", \"offset\": 8, \"width\": 8, "
                "\"expected\": 9223372036854775807, \"value\": "
                "-9223372036854775808}, {\"op\": \"load\", \"offset\": 0, "
                "\"width\": 4}, {\"width\": 4, \"value\": -2147483648, "
                "\"op\": \"xor\", \"offset\": 4}]}",
                &e));
    CHECK_EQ_U64(n, 4);
    CHECK(w[1].op == MC_WORD_CAS && w[1].expected == INT64_MAX &&
          w[1].value == INT64_MIN);
    CHECK(w[3].op == MC_WORD_XOR && w[3].value == INT32_MIN);
    static const char *const names[] = {"load", "store", "add", "swap",
                                        "cas",  "and",   "or",  "xor"};
    for (size_t i = 0; i < 8; i++) {
        char body[160];

        snprintf(body, sizeof body,
                 "{\"op\": \"%s\", \"offset\": 0, \"width\": 8%s%s}", names[i],
                 i == 0 ? "" : ", \"value\": 1",
                 i == 4 ? ", \"expected\": 0" : "");
        CHECK(parse(body, &e));
        CHECK(w[0].op == (enum mc_word_op)i);
    }
}

TEST(refuses_malformed_json)
{
    REFUSED("", API_EJSON, "JSON object");
    REFUSED("[]", API_EJSON, "JSON object");
    REFUSED("42", API_EJSON, "expected");
    REFUSED("{\"op\": ", API_EJSON, "malformed JSON");
    REFUSED("{\"op\": \"load\", \"offset\": 0, \"width\": 8} x", API_EJSON,
            "malformed JSON");
    REFUSED("{\"op\": \"load\", \"op\": \"load\", \"offset\": 0, "
            "\"width\": 8}",
            API_EJSON, "duplicate");
    REFUSED("{\"op\": \"load\", \"offset\": 99999999999999999999, "
            "\"width\": 8}",
            API_EFIELD, "out of range");
}

TEST(refuses_bad_members)
{
    REFUSED("{\"offset\": 0, \"width\": 8}", API_EFIELD, "\"op\" is required");
    REFUSED("{\"op\": \"inc\", \"offset\": 0, \"width\": 8}", API_EFIELD,
            "one of load");
    REFUSED("{\"op\": 1, \"offset\": 0, \"width\": 8}", API_EFIELD,
            "one of load");
    REFUSED("{\"op\": \"load\", \"width\": 8}", API_EFIELD,
            "\"offset\" is required");
    REFUSED("{\"op\": \"load\", \"offset\": 0}", API_EFIELD,
            "\"width\" is required");
    REFUSED("{\"op\": \"load\", \"offset\": 0, \"width\": 2}", API_EFIELD,
            "4 or 8");
    REFUSED("{\"op\": \"load\", \"offset\": 0, \"width\": \"8\"}", API_EFIELD,
            "integer");
    REFUSED("{\"op\": \"load\", \"offset\": -8, \"width\": 8}", API_EFIELD,
            "non-negative");
    REFUSED("{\"op\": \"load\", \"offset\": 8.0, \"width\": 8}", API_EFIELD,
            "integer");
    REFUSED("{\"op\": \"load\", \"offset\": 0, \"width\": 8, \"value\": 1}",
            API_EFIELD, "load takes no");
    REFUSED("{\"op\": \"store\", \"offset\": 0, \"width\": 8}", API_EFIELD,
            "store needs field \"value\"");
    REFUSED("{\"op\": \"add\", \"offset\": 0, \"width\": 8, \"value\": null}",
            API_EFIELD, "integer");
    REFUSED("{\"op\": \"add\", \"offset\": 0, \"width\": 8, \"value\": true}",
            API_EFIELD, "integer");
    REFUSED("{\"op\": \"cas\", \"offset\": 0, \"width\": 8, \"value\": 1}",
            API_EFIELD, "cas needs field \"expected\"");
    REFUSED("{\"op\": \"swap\", \"offset\": 0, \"width\": 8, \"value\": 1, "
            "\"expected\": 1}",
            API_EFIELD, "cas only");
    REFUSED("{\"op\": \"or\", \"offset\": 0, \"width\": 8, \"value\": 1, "
            "\"overflow\": \"wrap\"}",
            API_EFIELD, "add only");
    REFUSED("{\"op\": \"add\", \"offset\": 0, \"width\": 8, \"value\": 1, "
            "\"overflow\": \"clamp\"}",
            API_EFIELD, "\"wrap\" or \"fail\"");
    REFUSED("{\"op\": \"add\", \"offset\": 0, \"width\": 8, \"value\": 1, "
            "\"Op\": \"add\"}",
            API_EFIELD, "unknown field \"Op\"");
}

TEST(refuses_words_that_do_not_fit)
{
    REFUSED("{\"op\": \"store\", \"offset\": 0, \"width\": 4, "
            "\"value\": 2147483648}",
            API_EFIELD, "4-byte word");
    REFUSED("{\"op\": \"cas\", \"offset\": 0, \"width\": 4, "
            "\"value\": 0, \"expected\": -2147483649}",
            API_EFIELD, "4-byte word");
    REFUSED("{\"op\": \"load\", \"offset\": 4, \"width\": 8}",
            API_ERR_MC(MC_EMISALIGNED), "offset 4");
    REFUSED("{\"op\": \"load\", \"offset\": 2, \"width\": 4}",
            API_ERR_MC(MC_EMISALIGNED), "width 4");
    REFUSED("{\"ops\": [{\"op\": \"load\", \"offset\": 8, \"width\": 8}, "
            "{\"op\": \"load\", \"offset\": 12, \"width\": 4}]}",
            API_EFIELD, "ops[1] overlaps ops[0]");
}

TEST(refuses_bad_batches)
{
    char big[8192];
    size_t used;

    REFUSED("{\"ops\": []}", API_EFIELD, "1 to 64");
    REFUSED("{\"ops\": {}}", API_EFIELD, "1 to 64");
    REFUSED("{\"ops\": null}", API_EFIELD, "1 to 64");
    REFUSED("{\"ops\": [], \"op\": \"load\"}", API_EFIELD, "no other member");
    REFUSED("{\"ops\": [1]}", API_EFIELD, "ops[0]: an operation must be");
    REFUSED("{\"ops\": [{\"op\": \"load\", \"offset\": 0, \"width\": 8}, "
            "{\"op\": \"load\", \"offset\": 3, \"width\": 8}]}",
            API_ERR_MC(MC_EMISALIGNED), "ops[1]: ");
    REFUSED("{\"ops\": [{\"ops\": []}]}", API_EFIELD, "ops[0]: ");
    used = (size_t)snprintf(big, sizeof big, "{\"ops\": [");
    for (int i = 0; i < 65; i++)
        used += (size_t)snprintf(big + used, sizeof big - used,
                                 "%s{\"op\": \"load\", \"offset\": 0, "
                                 "\"width\": 8}",
                                 i ? ", " : "");
    snprintf(big + used, sizeof big - used, "]}");
    REFUSED(big, API_EFIELD, "1 to 64");
}

TEST_MAIN()
