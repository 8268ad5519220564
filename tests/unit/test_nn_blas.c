/* test_nn_blas.c — nn_blas_init() leaves OpenBLAS on kernels this CPU runs
 * (not the SSE3 fallback of an OpenBLAS that does not know the CPU), and
 * sgemm still computes the right numbers afterwards: nn_linear_forward at
 * N = 37 (the sgemm path) against a plain double loop, atol 1e-5 + rtol 1e-5. */
#include <math.h>

#include "nn/isa.h"
#include "base/rng.h"
#include "nn/nn.h"
#include "test_util.h"

#include <cblas.h>

static void blas_init_selects_modern_kernels(void **state) {
    (void)state;
    int user_choice = getenv("OPENBLAS_CORETYPE") != NULL;
    const char *name = nn_blas_init();
    assert_non_null(name);
    assert_string_equal(name, openblas_get_corename());
    assert_string_equal(nn_blas_init(), name); /* idempotent */
    if (user_choice) {
        fprintf(stderr, "note: OPENBLAS_CORETYPE=%s set by the user; left as is\n", getenv("OPENBLAS_CORETYPE"));
    }
#if RG_HAVE_X86_SIMD /* x86-64 kernel sets; elsewhere OpenBLAS's own choice stands */
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        if (strcmp(name, "Prescott") == 0 || strcmp(name, "Core2") == 0 || strcmp(name, "Nehalem") == 0 ||
            strcmp(name, "Sandybridge") == 0)
            fail_msg("OpenBLAS still on legacy kernels (%s) on an AVX2 CPU", name);
    }
#endif
}

static void sgemm_correct_after_init(void **state) {
    (void)state;
    nn_blas_init();
    enum { N = 37, IN = 53, OUT = 29 };
    rg_rng rng;
    rg_rng_seed(&rng, 7);
    static float x[N * IN], W[OUT * IN], bias[OUT], y[N * OUT];
    for (int i = 0; i < N * IN; i++) x[i] = rg_rng_normal(&rng);
    for (int i = 0; i < OUT * IN; i++) W[i] = rg_rng_normal(&rng);
    for (int i = 0; i < OUT; i++) bias[i] = rg_rng_normal(&rng);
    nn_linear_forward(y, x, W, bias, N, IN, OUT);
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OUT; o++) {
            double want = bias[o];
            for (int i = 0; i < IN; i++) want += (double)x[n * IN + i] * W[o * IN + i];
            if (fabs(y[n * OUT + o] - want) > 1e-5 + 1e-5 * fabs(want))
                fail_msg("y[%d,%d] = %.9g, expected %.9g", n, o, (double)y[n * OUT + o], want);
        }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(blas_init_selects_modern_kernels),
        cmocka_unit_test(sgemm_correct_after_init),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
