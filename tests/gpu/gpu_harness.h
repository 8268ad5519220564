/* gpu_harness.h — the few cmocka calls test_gpu.c uses, on setjmp, so the
 * GPU test binary needs no libcmocka: a bare GPU machine (tools/gpu_check.sh)
 * may not have it. It prints cmocka's lines ("[  PASSED  ] N test(s).", ...)
 * so tests/run_unit.sh counts it like any unit test. */
#ifndef RG_GPU_HARNESS_H
#define RG_GPU_HARNESS_H

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct CMUnitTest {
    const char *name;
    void (*fn)(void **state);
    void *state;
};
#define cmocka_unit_test(f) {#f, f, NULL}

static jmp_buf gh_jump;
static int gh_outcome; /* 0 passed, 1 failed, 2 skipped */

#define GH_FAIL(...)                                                                                          \
    do {                                                                                                      \
        fprintf(stderr, __VA_ARGS__);                                                                         \
        fprintf(stderr, " (%s:%d)\n", __FILE__, __LINE__);                                                    \
        gh_outcome = 1;                                                                                       \
        longjmp(gh_jump, 1);                                                                                  \
    } while (0)
#define fail_msg(...) GH_FAIL(__VA_ARGS__)
#define skip()                                                                                                \
    do {                                                                                                      \
        gh_outcome = 2;                                                                                       \
        longjmp(gh_jump, 1);                                                                                  \
    } while (0)
#define assert_true(c)                                                                                        \
    do {                                                                                                      \
        if (!(c)) GH_FAIL("assert_true(%s)", #c);                                                             \
    } while (0)
#define assert_int_equal(a, b)                                                                                \
    do {                                                                                                      \
        long long a_ = (long long)(a), b_ = (long long)(b);                                                   \
        if (a_ != b_) GH_FAIL("%s is %lld, want %lld", #a, a_, b_);                                           \
    } while (0)
#define assert_ptr_equal(a, b) assert_true((const void *)(a) == (const void *)(b))
#define assert_null(p) assert_true((p) == NULL)
#define assert_non_null(p) assert_true((p) != NULL)
#define assert_memory_equal(a, b, n) assert_true(memcmp((a), (b), (n)) == 0)
#define print_message(...) printf(__VA_ARGS__)

/* One test: 0 passed, 1 failed, 2 skipped (alone, so no counter lives across the longjmp). */
static int gh_one(const struct CMUnitTest *t) {
    void *state = t->state;
    gh_outcome = 0;
    if (setjmp(gh_jump) == 0) t->fn(&state);
    return gh_outcome;
}

/* Runs each test (only those whose name contains $RGSD_GPU_TEST when it is
 * set), prints cmocka's lines, returns the number failed. */
static int gh_run(const struct CMUnitTest *tests, size_t n) {
    int passed = 0, failed = 0, skipped = 0;
    const char *only = getenv("RGSD_GPU_TEST");
    printf("[==========] Running %zu test(s).\n", n);
    for (size_t i = 0; i < n; i++) {
        if (only && !strstr(tests[i].name, only)) continue;
        printf("[ RUN      ] %s\n", tests[i].name);
        fflush(stdout);
        int outcome = gh_one(&tests[i]);
        const char *tag = outcome == 0 ? "[       OK ]" : outcome == 1 ? "[  FAILED  ]" : "[  SKIPPED ]";
        printf("%s %s\n", tag, tests[i].name);
        fflush(stdout);
        passed += outcome == 0, failed += outcome == 1, skipped += outcome == 2;
    }
    printf("[==========] %zu test(s) run.\n[  PASSED  ] %d test(s).\n", n, passed);
    if (skipped) printf("[  SKIPPED ] %d test(s).\n", skipped);
    if (failed) printf("[  FAILED  ] %d test(s).\n", failed);
    return failed;
}
#define cmocka_run_group_tests(tests, setup, teardown) gh_run((tests), sizeof(tests) / sizeof((tests)[0]))

#endif
