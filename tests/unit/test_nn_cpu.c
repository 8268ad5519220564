/* test_nn_cpu.c — the RGSD_KERNELS switch (src/nn/cpu.c): every accepted
 * value maps to its path, auto to the best the CPU runs, avx512 on a CPU
 * without it and unknown values are refused with a one-line message naming
 * the value; the path in use is one this CPU can run. */
#include "test_util.h"

#include <string.h>

#include "base/error.h"
#include "nn/cpu.h"
#include "nn/nn.h"

static void parse_values(void **state) {
    (void)state;
    nn_kernel_path p;
    for (int has = 0; has < 2; has++) {
        const nn_kernel_path best = has ? NN_KERNELS_AVX512 : NN_KERNELS_AVX2;
        p = 99; assert_int_equal(nn_cpu_parse_kernels(NULL, has, &p), RG_OK); assert_int_equal(p, best);
        p = 99; assert_int_equal(nn_cpu_parse_kernels("", has, &p), RG_OK); assert_int_equal(p, best);
        p = 99; assert_int_equal(nn_cpu_parse_kernels("auto", has, &p), RG_OK); assert_int_equal(p, best);
        p = 99; assert_int_equal(nn_cpu_parse_kernels("avx2", has, &p), RG_OK); assert_int_equal(p, NN_KERNELS_AVX2);
    }
    p = 99;
    assert_int_equal(nn_cpu_parse_kernels("avx512", 1, &p), RG_OK);
    assert_int_equal(p, NN_KERNELS_AVX512);
    assert_int_equal(nn_cpu_parse_kernels("avx512", 0, &p), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "does not run AVX-512"));
    const char *bad[] = {"AVX2", "avx-512", "sse", "ref", " avx2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(nn_cpu_parse_kernels(bad[i], 1, &p), RG_ERR);
        assert_non_null(strstr(rg_errmsg(), bad[i]));
        assert_null(strchr(rg_errmsg(), '\n'));
    }
    assert_string_equal(nn_cpu_path_name(NN_KERNELS_AVX2), "avx2");
    assert_string_equal(nn_cpu_path_name(NN_KERNELS_AVX512), "avx512");
}

static void path_in_use_runs_here(void **state) {
    (void)state;
    nn_kernel_path p = nn_cpu_path();
    if (p == NN_KERNELS_AVX512) assert_true(nn_cpu_has_avx512());
    const char *env = getenv("RGSD_KERNELS");
    if (env && strcmp(env, "avx2") == 0) assert_int_equal(p, NN_KERNELS_AVX2);
    char line[128];
    nn_kernels_describe(line, sizeof line);
    assert_non_null(strstr(line, nn_cpu_path_name(p)));
    fprintf(stderr, "note: %s\n", line);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_values),
        cmocka_unit_test(path_in_use_runs_here),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
