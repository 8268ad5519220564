/* test_expf_exact.c — rg_expf_affine against the C library's scalar expf,
 * compared bit for bit (the reference is libm itself: the sampler's draws
 * must not change when its exp is vectorised).
 *   domain:  every 127th float bit pattern in [-104, -0] (8.8M inputs; all
 *            1,120,927,745 of them with RGSD_EXHAUSTIVE=1, ~15 s), plus +0,
 *            -inf, the underflow edge and the one input that tells a fused
 *            range reduction from an unfused one
 *   affine:  (float)((double)x * scale - shift) for the scales and shifts a
 *            sampler uses, every length 0..40 and unaligned starts
 *   odd:     inputs above 0 (overflow to +inf) and NaN take the scalar path */
#include <math.h>

#include "base/rng.h"
#include "nn/expf_exact.h"
#include "test_util.h"

static int same_bits(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

static void test_domain(void **state) {
    (void)state;
    printf("rg_expf_affine: %s path\n", rg_expf_exact_vectorised() ? "AVX2" : "scalar expf");
    uint32_t stride = getenv("RGSD_EXHAUSTIVE") ? 1 : getenv("RGSD_ASAN") ? 1021 : 127;
    enum { CHUNK = 1 << 14 };
    float *in = malloc(CHUNK * sizeof(float)), *out = malloc(CHUNK * sizeof(float));
    long checked = 0, bad = 0;
    uint64_t bits = 0x80000000u; /* -0.0 up to -104.0 = 0xC2D00000 */
    while (bits <= 0xC2D00000u) {
        int n = 0;
        for (; n < CHUNK && bits <= 0xC2D00000u; n++, bits += stride) {
            uint32_t b = (uint32_t)bits;
            memcpy(&in[n], &b, 4);
        }
        rg_expf_affine(out, in, 1.0, 0.0, n);
        for (int i = 0; i < n; i++)
            if (!same_bits(out[i], expf(in[i])) && bad++ < 5)
                printf("expf(%a): ours %a libm %a\n", (double)in[i], (double)out[i], (double)expf(in[i]));
        checked += n;
    }
    printf("%ld inputs, %ld differ\n", checked, bad);
    assert_int_equal(bad, 0);

    float edges[16] = {0.0f, -0.0f, -INFINITY, -0x1.9fe368p6f, -0x1.9fe366p6f, -0x1.9fe36ap6f, -0x1.f8cbb2p+5f,
                       -0x1p-149f, -1e-30f, -87.3365f, -103.5f, -0x1.62e42ep6f, -1.0f, -0.5f, -20.0f, -104.5f};
    float got[16];
    rg_expf_affine(got, edges, 1.0, 0.0, 16);
    for (int i = 0; i < 16; i++) assert_true(same_bits(got[i], expf(edges[i])));
    assert_true(got[2] == 0.0f && got[0] == 1.0f);
    free(in);
    free(out);
}

static void test_affine(void **state) {
    (void)state;
    enum { N = 4096 };
    float x[N + 8], out[N + 8];
    rg_rng rng;
    rg_rng_seed(&rng, 17);
    const double temperatures[] = {1.0, 0.7, 1.3, 1e-3, 50.0, 0.1f, 2.0};
    const float spreads[] = {0.1f, 3.0f, 30.0f, 1e4f};
    for (int t = 0; t < 7; t++)
        for (int sp = 0; sp < 4; sp++) {
            float max = -INFINITY;
            for (int i = 0; i < N + 8; i++) {
                x[i] = rg_rng_normal(&rng) * spreads[sp];
                if (rg_rng_below(&rng, 50) == 0) x[i] = -INFINITY;
                if (x[i] > max) max = x[i];
            }
            double scale = 1.0 / (double)(float)temperatures[t], shift = (double)max * scale;
            for (int start = 0; start < 3; start++)
                for (int n = 0; n <= 40; n++) {
                    rg_expf_affine(out, x + start, scale, shift, n);
                    for (int i = 0; i < n; i++)
                        assert_true(same_bits(out[i], expf((float)((double)x[start + i] * scale - shift))));
                }
            rg_expf_affine(out, x + 1, scale, shift, N);
            for (int i = 0; i < N; i++)
                if (!same_bits(out[i], expf((float)((double)x[1 + i] * scale - shift))))
                    fail_msg("T %g spread %g x %a: ours %a libm %a", temperatures[t], (double)spreads[sp],
                             (double)x[1 + i], (double)out[i], (double)expf((float)((double)x[1 + i] * scale - shift)));
        }
}

static void test_outside_domain(void **state) {
    (void)state;
    float x[16] = {1.0f, -1.0f, 88.0f, 89.0f, NAN, -2.0f, 0x1p-20f, 100.0f,
                   -3.0f, INFINITY, -4.0f, 5.0f, -NAN, 0.5f, 0.0f, -0.0f};
    float out[16];
    rg_expf_affine(out, x, 1.0, 0.0, 16);
    for (int i = 0; i < 16; i++) {
        if (isnan(x[i])) assert_true(isnan(out[i]));
        else assert_true(same_bits(out[i], expf(x[i])));
    }
    assert_true(out[3] == INFINITY && out[9] == INFINITY);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_domain),
        cmocka_unit_test(test_affine),
        cmocka_unit_test(test_outside_domain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
