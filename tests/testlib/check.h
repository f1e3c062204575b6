/* check.h - the tiny test harness shared by every unit and integration test.
 *
 * A test file defines cases with TEST(name) { ... } and ends with
 * TEST_MAIN(). The executable runs the case named by argv[1], or every case
 * without an argument. tests/CMakeLists.txt finds the TEST(...) lines and
 * registers one ctest test per case, so `ctest -R name` runs one alone.
 *
 * A failed CHECK prints file, line, the expression and both values, then
 * ends the case (and the process) with exit status 1.
 */
#ifndef TESTLIB_CHECK_H
#define TESTLIB_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct test_case {
    const char *name;
    void (*fn)(void);
};

#define TEST_MAX_CASES 256
extern struct test_case test_cases[TEST_MAX_CASES];
extern int test_ncases;

#define TEST(name)                                                           \
    static void test_##name(void);                                           \
    __attribute__((constructor)) static void test_register_##name(void)      \
    {                                                                        \
        if (test_ncases < TEST_MAX_CASES)                                    \
            test_cases[test_ncases++] = (struct test_case){#name, test_##name}; \
    }                                                                        \
    static void test_##name(void)

#define TEST_FAIL(...)                                                       \
    do {                                                                     \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                      \
        fprintf(stderr, __VA_ARGS__);                                        \
        fputc('\n', stderr);                                                 \
        exit(1);                                                             \
    } while (0)

#define CHECK(expr)                                                          \
    do {                                                                     \
        if (!(expr))                                                         \
            TEST_FAIL("CHECK(%s) failed", #expr);                            \
    } while (0)

#define CHECK_EQ_U64(a, b)                                                   \
    do {                                                                     \
        uint64_t check_a_ = (uint64_t)(a), check_b_ = (uint64_t)(b);         \
        if (check_a_ != check_b_)                                            \
            TEST_FAIL("CHECK_EQ_U64(%s, %s): %" PRIu64 " != %" PRIu64, #a,   \
                      #b, check_a_, check_b_);                               \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                   \
    do {                                                                     \
        const char *check_a_ = (a), *check_b_ = (b);                         \
        if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0)       \
            TEST_FAIL("CHECK_EQ_STR(%s, %s): \"%s\" != \"%s\"", #a, #b,      \
                      check_a_ ? check_a_ : "(null)",                        \
                      check_b_ ? check_b_ : "(null)");                       \
    } while (0)

#define CHECK_MEM(a, b, n)                                                   \
    do {                                                                     \
        if (memcmp((a), (b), (n)) != 0)                                      \
            TEST_FAIL("CHECK_MEM(%s, %s, %s): bytes differ", #a, #b, #n);    \
    } while (0)

int test_main(int argc, char **argv);

#define TEST_MAIN()                                                          \
    struct test_case test_cases[TEST_MAX_CASES];                             \
    int test_ncases;                                                         \
    int main(int argc, char **argv) { return test_main(argc, argv); }

#endif
