/* test_nn_cpu.c — the RGSD_KERNELS switch (src/nn/cpu.c): every accepted
 * value maps to its path, auto to the best the CPU runs, a path the CPU
 * cannot run and unknown values are refused with a one-line message naming
 * the value; the path in use is one this CPU can run. */
#include "test_util.h"

#include <string.h>

#include "base/error.h"
#include "nn/isa.h"
#include "nn/cpu.h"
#include "nn/nn.h"

static void parse_values(void **state) {
    (void)state;
    nn_kernel_path p;
    /* every CPU the switch knows: none of the SIMD sets, AVX2 + FMA, AVX-512 */
    for (nn_kernel_path best = NN_KERNELS_REF; best <= NN_KERNELS_AVX512; best++) {
        p = 99; assert_int_equal(nn_cpu_parse_kernels(NULL, best, &p), RG_OK); assert_int_equal(p, best);
        p = 99; assert_int_equal(nn_cpu_parse_kernels("", best, &p), RG_OK); assert_int_equal(p, best);
        p = 99; assert_int_equal(nn_cpu_parse_kernels("auto", best, &p), RG_OK); assert_int_equal(p, best);
        p = 99; assert_int_equal(nn_cpu_parse_kernels("ref", best, &p), RG_OK); assert_int_equal(p, NN_KERNELS_REF);
        p = 99;
        if (best >= NN_KERNELS_AVX2) {
            assert_int_equal(nn_cpu_parse_kernels("avx2", best, &p), RG_OK);
            assert_int_equal(p, NN_KERNELS_AVX2);
        } else {
            assert_int_equal(nn_cpu_parse_kernels("avx2", best, &p), RG_ERR);
            /* off x86-64 the message says why: no SIMD kernels in that build */
            assert_non_null(strstr(rg_errmsg(), RG_HAVE_X86_SIMD ? "runs at most ref" : "x86-64"));
        }
    }
    p = 99;
    assert_int_equal(nn_cpu_parse_kernels("avx512", NN_KERNELS_AVX512, &p), RG_OK);
    assert_int_equal(p, NN_KERNELS_AVX512);
    assert_int_equal(nn_cpu_parse_kernels("avx512", NN_KERNELS_AVX2, &p), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "runs at most avx2"));
    /* the avx512 path with bf16 inference in f32 activations (nn_cpu_bf16_infer tells them apart) */
    p = 99;
    assert_int_equal(nn_cpu_parse_kernels("avx512-nobf16", NN_KERNELS_AVX512, &p), RG_OK);
    assert_int_equal(p, NN_KERNELS_AVX512);
    assert_int_equal(nn_cpu_parse_kernels("avx512-nobf16", NN_KERNELS_AVX2, &p), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "avx512-nobf16"));
    assert_int_equal(nn_cpu_parse_kernels("avx512-bf16", NN_KERNELS_AVX512, &p), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "avx512-nobf16")); /* the message lists it */
    const char *bad[] = {"AVX2", "avx-512", "sse", "REF", " avx2", "reference"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(nn_cpu_parse_kernels(bad[i], NN_KERNELS_AVX512, &p), RG_ERR);
        assert_non_null(strstr(rg_errmsg(), bad[i]));
        assert_null(strchr(rg_errmsg(), '\n'));
    }
    assert_string_equal(nn_cpu_path_name(NN_KERNELS_AVX2), "avx2");
    assert_string_equal(nn_cpu_path_name(NN_KERNELS_AVX512), "avx512");
    assert_string_equal(nn_cpu_path_name(NN_KERNELS_REF), "ref");
}

static void path_in_use_runs_here(void **state) {
    (void)state;
    nn_kernel_path p = nn_cpu_path();
    if (p == NN_KERNELS_AVX512) assert_true(nn_cpu_has_avx512());
    assert_true(p <= nn_cpu_best());
    const char *env = getenv("RGSD_KERNELS");
    if (env && strcmp(env, "avx2") == 0) assert_int_equal(p, NN_KERNELS_AVX2);
    if (env && strcmp(env, "ref") == 0) assert_int_equal(p, NN_KERNELS_REF);
    /* bf16 inference: bf16 dot products on ref (plain C) and on avx512 where the
     * CPU has AVX-512 BF16, unless avx512-nobf16; f32 activations otherwise */
    nn_bf16_infer bf = nn_cpu_bf16_infer();
    if (p == NN_KERNELS_REF) assert_int_equal(bf, NN_BF16_INFER_DOT_REF);
    else if (p == NN_KERNELS_AVX512 && nn_cpu_has_avx512bf16() && !(env && strcmp(env, "avx512-nobf16") == 0))
        assert_int_equal(bf, NN_BF16_INFER_DOT_AVX512);
    else assert_int_equal(bf, NN_BF16_INFER_F32);
    assert_int_equal(nn_bf16dot_in_use(), bf != NN_BF16_INFER_F32);
    char line[128];
    nn_kernels_describe(line, sizeof line);
    assert_non_null(strstr(line, nn_cpu_path_name(p)));
    assert_non_null(strstr(line, bf == NN_BF16_INFER_F32 ? "bf16 inference: f32 activations" : "bf16 dot products"));
    fprintf(stderr, "note: %s\n", line);
}

#if !RG_HAVE_X86_SIMD
/* Off x86-64 (nn/isa.h) only the plain-C kernels are built: auto is ref,
 * the x86 names are refused with one line saying so, and the kernel line
 * (rgsd --kernels) says why the path is ref. */
static void other_cpus_run_ref(void **state) {
    (void)state;
    assert_int_equal(nn_cpu_best(), NN_KERNELS_REF);
    assert_false(nn_cpu_has_avx512());
    const char *x86[] = {"avx2", "avx512"};
    for (size_t i = 0; i < 2; i++) {
        nn_kernel_path p = 99;
        assert_int_equal(nn_cpu_parse_kernels(x86[i], nn_cpu_best(), &p), RG_ERR);
        assert_non_null(strstr(rg_errmsg(), x86[i]));
        assert_non_null(strstr(rg_errmsg(), "x86-64"));
        assert_null(strchr(rg_errmsg(), '\n'));
    }
    char line[128];
    nn_kernels_describe(line, sizeof line);
    assert_non_null(strstr(line, "rgsd ref ("));
    assert_non_null(strstr(line, "plain C only"));
}
#endif

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_values),
        cmocka_unit_test(path_in_use_runs_here),
#if !RG_HAVE_X86_SIMD
        cmocka_unit_test(other_cpus_run_ref),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
