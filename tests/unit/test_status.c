/* test_status.c - the error table of api/src/status.c against the core's
 * error list and against api/openapi.yaml.
 *
 * Proves: every mc_err except MC_OK has exactly one row; every row's status
 * is a 4xx or 5xx and its code is snake_case; every row's code is listed in
 * the Problem schema's code enum of openapi.yaml, and every code listed
 * there comes from some row. A new error without a row or without
 * documentation fails here rather than in front of a client.
 */
#include <ctype.h>
#include <stdbool.h>

#include "api/api_status.h"
#include "check.h"

#ifndef OPENAPI_PATH
#error "OPENAPI_PATH must name api/openapi.yaml"
#endif

#define MAX_CODES 128

static char doc_codes[MAX_CODES][64];
static size_t ndoc_codes;

static const char *skip_blank(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Collect the list items under "enum:" that follows the "code:" property
 * of the "Problem:" schema. The YAML is ours, so a line-based reading that
 * relies on its indentation is enough and keeps the test dependency-free. */
static void load_doc_codes(void)
{
    FILE *f = fopen(OPENAPI_PATH, "r");
    char line[512];
    int state = 0; /* 0 before Problem, 1 in it, 2 after code:, 3 in enum */
    size_t enum_indent = 0;

    if (f == NULL)
        TEST_FAIL("cannot open %s", OPENAPI_PATH);
    while (fgets(line, sizeof(line), f) != NULL) {
        const char *p = skip_blank(line);
        size_t indent = (size_t)(p - line);

        line[strcspn(line, "\r\n")] = '\0';
        if (state == 0 && strcmp(p, "Problem:") == 0)
            state = 1;
        else if (state == 1 && strcmp(p, "code:") == 0)
            state = 2;
        else if (state == 2 && strcmp(p, "enum:") == 0) {
            state = 3;
            enum_indent = indent;
        } else if (state == 3) {
            if (p[0] != '-' || indent < enum_indent)
                break;
            p = skip_blank(p + 1);
            if (ndoc_codes == MAX_CODES)
                TEST_FAIL("too many codes in %s", OPENAPI_PATH);
            snprintf(doc_codes[ndoc_codes++], sizeof(doc_codes[0]), "%s", p);
        }
    }
    fclose(f);
    if (ndoc_codes == 0)
        TEST_FAIL("no Problem code enum found in %s", OPENAPI_PATH);
}

static bool doc_has(const char *code)
{
    for (size_t i = 0; i < ndoc_codes; i++) {
        if (strcmp(doc_codes[i], code) == 0)
            return true;
    }
    return false;
}

TEST(every_mc_err_has_one_row)
{
    size_t n = 0;
    const struct api_status_entry *t = api_status_table(&n);

    for (int e = 1; e < MC_ERR_COUNT; e++) {
        int rows = 0;

        for (size_t i = 0; i < n; i++)
            rows += t[i].err == API_ERR_MC(e);
        if (rows != 1)
            TEST_FAIL("%s has %d rows", mc_errname((enum mc_err)e), rows);
    }
}

TEST(every_api_err_has_one_row)
{
    size_t n = 0;
    const struct api_status_entry *t = api_status_table(&n);

    for (int e = API_ERR_BASE; e < API_ERR_END; e++) {
        int rows = 0;

        for (size_t i = 0; i < n; i++)
            rows += t[i].err == (enum api_err)e;
        if (rows != 1)
            TEST_FAIL("api error %d has %d rows", e, rows);
    }
    /* And the table holds nothing else: no MC_OK, no stray values. */
    for (size_t i = 0; i < n; i++) {
        int e = (int)t[i].err;

        CHECK((e > 0 && e < MC_ERR_COUNT) ||
              (e >= API_ERR_BASE && e < API_ERR_END));
    }
}

TEST(statuses_are_errors)
{
    size_t n = 0;
    const struct api_status_entry *t = api_status_table(&n);

    CHECK(n > 0);
    for (size_t i = 0; i < n; i++) {
        if (t[i].status < 400 || t[i].status > 599)
            TEST_FAIL("%s has status %u", t[i].code, t[i].status);
        CHECK(t[i].title != NULL && t[i].title[0] != '\0');
    }
}

TEST(codes_are_snake_case)
{
    size_t n = 0;
    const struct api_status_entry *t = api_status_table(&n);

    for (size_t i = 0; i < n; i++) {
        const char *c = t[i].code;

        CHECK(c != NULL && islower((unsigned char)c[0]));
        for (; *c != '\0'; c++) {
            if (!islower((unsigned char)*c) && *c != '_')
                TEST_FAIL("code \"%s\" is not snake_case", t[i].code);
        }
    }
}

TEST(same_code_same_status)
{
    size_t n = 0;
    const struct api_status_entry *t = api_status_table(&n);

    /* A code may sit on several rows, but a client keying on it must
     * always see the same status. */
    for (size_t i = 0; i < n; i++) {
        for (size_t k = i + 1; k < n; k++) {
            if (strcmp(t[i].code, t[k].code) == 0 && t[i].status != t[k].status)
                TEST_FAIL("%s is both %u and %u", t[i].code, t[i].status,
                          t[k].status);
        }
    }
}

TEST(lookup)
{
    CHECK_EQ_U64(api_status_lookup(API_ERR_MC(MC_ERANGE))->status, 416);
    CHECK_EQ_STR(api_status_lookup(API_ERR_MC(MC_ERANGE))->code,
                 "range_not_satisfiable");
    CHECK_EQ_U64(api_status_lookup(API_ERR_MC(MC_ENOSPC))->status, 507);
    CHECK_EQ_U64(api_status_lookup(API_EMETHOD)->status, 405);
    /* Unknown errors answer as internal_error, never crash. */
    CHECK_EQ_STR(api_status_lookup(API_ERR_END)->code, "internal_error");
    CHECK_EQ_STR(api_status_lookup(API_OK)->code, "internal_error");
}

/* The server's own answer when it cannot even start an exchange: the same
 * code as the table's (it once said "internal" for "internal_error"). */
TEST(problem_without_the_api)
{
    char buf[256];
    size_t n = api_status_problem(API_EINTERNAL, "out of memory", buf,
                                  sizeof(buf));

    CHECK_EQ_U64(n, strlen(buf));
    CHECK_EQ_STR(buf, "{\"type\":\"about:blank\",\"title\":\"Internal error\","
                      "\"status\":500,\"detail\":\"out of memory\","
                      "\"code\":\"internal_error\"}");
    CHECK(api_status_problem(API_EINTERNAL, "x", buf, 8) > 8);
    CHECK_EQ_U64(strlen(buf), 7);
}

TEST(codes_documented_in_openapi)
{
    size_t n = 0;
    const struct api_status_entry *t = api_status_table(&n);

    load_doc_codes();
    for (size_t i = 0; i < n; i++) {
        if (!doc_has(t[i].code))
            TEST_FAIL("code %s is missing from openapi.yaml", t[i].code);
    }
}

TEST(openapi_codes_exist)
{
    size_t n = 0;
    const struct api_status_entry *t = api_status_table(&n);

    load_doc_codes();
    for (size_t d = 0; d < ndoc_codes; d++) {
        bool found = false;

        for (size_t i = 0; i < n && !found; i++)
            found = strcmp(t[i].code, doc_codes[d]) == 0;
        if (!found)
            TEST_FAIL("openapi.yaml lists %s, which no error produces",
                      doc_codes[d]);
    }
}

TEST_MAIN()
