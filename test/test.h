/* test.h: guidedbp's test harness, one header.
 *
 * A test program is a list of `static void test_xxx(void)` functions run
 * from main with RUN(test_xxx); checks inside them use CHECK / CHECK_MSG.
 * main ends with `return test_summary();`, which prints the line
 * "N passed, N failed" that test/run.sh adds up, and returns non-zero when
 * anything failed. A check that fails prints the file, line and why, and the
 * test goes on, so one run shows every failure.
 */
#ifndef GUIDEDBP_TEST_H
#define GUIDEDBP_TEST_H

#include <stdio.h>

static int test_passed_, test_failed_, test_current_failed_;

#define CHECK_MSG(cond, ...)                                                 \
    do {                                                                     \
        if (!(cond)) {                                                       \
            test_current_failed_ = 1;                                        \
            printf("  FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);         \
            printf(__VA_ARGS__);                                             \
            printf("\n");                                                    \
        }                                                                    \
    } while (0)

#define CHECK(cond) CHECK_MSG(cond, "%s", "")

/* Each RUN counts as one test: passed when none of its checks failed. */
#define RUN(fn)                                                              \
    do {                                                                     \
        test_current_failed_ = 0;                                            \
        fn();                                                                \
        if (test_current_failed_) {                                          \
            test_failed_++;                                                  \
            printf("not ok %s\n", #fn);                                      \
        } else {                                                             \
            test_passed_++;                                                  \
            printf("ok %s\n", #fn);                                          \
        }                                                                    \
        fflush(stdout);                                                      \
    } while (0)

static inline int test_summary(void) {
    printf("%d passed, %d failed\n", test_passed_, test_failed_);
    return test_failed_ != 0;
}

#endif
