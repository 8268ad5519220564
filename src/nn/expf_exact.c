/* expf_exact.c — the C library's expf, 8 lanes at a time (see expf_exact.h). */

/* The release build is -march=x86-64-v3 already; this also lets the
 * sanitizer build (no -march) compile the AVX2 code. The build's -std=c11
 * keeps -ffp-contract=off: every fused multiply-add below is written out,
 * and no other multiply-add may be fused (the affine step must not be). */
#include "nn/expf_exact.h"

#include "nn/isa.h"
#if RG_HAVE_X86_SIMD
#include <immintrin.h>
#endif
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "nn/cpu.h"

#if RG_HAVE_X86_SIMD
RG_ISA_BEGIN("avx2,fma")

/* 2^(i/32) rounded to double, minus i << 47 so that adding k << 47 (k the
 * reduced exponent, i = k mod 32) gives 2^(k/32) by integer addition.
 * Computed with Python's decimal at 60 digits, not copied. */
static const uint64_t EXP2_TABLE[32] = {
    0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51,
    0x3fef72b83c7d517b, 0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1,
    0x3fef06fe0a31b715, 0x3feef1a7373aa9cb, 0x3feedea64c123422, 0x3feece086061892d,
    0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429, 0x3feea47eb03a5585,
    0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13,
    0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d,
    0x3feee89f995ad3ad, 0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069,
    0x3fef5818dcfba487, 0x3fef7c97337b9b5f, 0x3fefa4afa2a490da, 0x3fefd0765b6e4540,
};
#define INV_LN2_32 (0x1.71547652b82fep0 * 32) /* 32 / ln 2 */
#define ROUND_SHIFT 0x1.8p52                  /* adding it rounds to an integer */
/* the cubic for 2^(r/32) - 1 over |r| <= 1/2: coefficients of r^3, r^2, r */
#define C3 (0x1.c6af84b912394p-5 / 32 / 32 / 32)
#define C2 (0x1.ebfce50fac4f3p-3 / 32 / 32)
#define C1 (0x1.62e42ff0c52d6p-1 / 32)
/* below this expf underflows to 0 (ln 2^-150, rounded up to a float) */
#define UNDERFLOW_BELOW (-0x1.9fe368p6f)

/* expf of four floats (widened to double): the library's steps, in order. */
static inline __m128 expf4(__m256d xd) {
    const __m256d inv = _mm256_set1_pd(INV_LN2_32), shift = _mm256_set1_pd(ROUND_SHIFT);
    /* x * 32/ln2 = k + r, k an integer, |r| <= 1/2 (fused, as glibc's FMA build) */
    __m256d kd = _mm256_fmadd_pd(inv, xd, shift);
    __m256i ki = _mm256_castpd_si256(kd);
    kd = _mm256_sub_pd(kd, shift);
    __m256d r = _mm256_fmsub_pd(inv, xd, kd);
    /* s = 2^(k/32): table entry for k mod 32, exponent bits added */
    __m256i t = _mm256_i64gather_epi64((const long long *)EXP2_TABLE, _mm256_and_si256(ki, _mm256_set1_epi64x(31)), 8);
    t = _mm256_add_epi64(t, _mm256_slli_epi64(ki, 47));
    __m256d s = _mm256_castsi256_pd(t);
    /* s * (C3 r^3 + C2 r^2 + C1 r + 1), grouped as the library groups it */
    __m256d z = _mm256_fmadd_pd(_mm256_set1_pd(C3), r, _mm256_set1_pd(C2));
    __m256d r2 = _mm256_mul_pd(r, r);
    __m256d y = _mm256_fmadd_pd(_mm256_set1_pd(C1), r, _mm256_set1_pd(1.0));
    y = _mm256_fmadd_pd(z, r2, y);
    return _mm256_cvtpd_ps(_mm256_mul_pd(y, s));
}

/* Eight lanes of out = expf((float)(x * scale - shift)). */
static void affine8(float *out, const float *x, __m256d scale, __m256d shift) {
    __m256 v = _mm256_loadu_ps(x);
    __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v)), hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    __m128 xlo = _mm256_cvtpd_ps(_mm256_sub_pd(_mm256_mul_pd(lo, scale), shift));
    __m128 xhi = _mm256_cvtpd_ps(_mm256_sub_pd(_mm256_mul_pd(hi, scale), shift));
    __m256 xf = _mm256_set_m128(xhi, xlo);
    __m256 y = _mm256_set_m128(expf4(_mm256_cvtps_pd(xhi)), expf4(_mm256_cvtps_pd(xlo)));
    y = _mm256_andnot_ps(_mm256_cmp_ps(xf, _mm256_set1_ps(UNDERFLOW_BELOW), _CMP_LT_OQ), y);
    _mm256_storeu_ps(out, y);
    /* x > 0 (overflow checks) and NaN: the library's own code */
    int odd = _mm256_movemask_ps(_mm256_cmp_ps(xf, _mm256_setzero_ps(), _CMP_NLE_UQ));
    if (odd) {
        float xs[8];
        _mm256_storeu_ps(xs, xf);
        for (int j = 0; j < 8; j++)
            if (odd >> j & 1) out[j] = expf(xs[j]);
    }
}

/* Blocks of 8 from the start; returns where the scalar loop goes on. */
static int affine_vector_blocks(float *out, const float *x, double scale, double shift, int n) {
    const __m256d vscale = _mm256_set1_pd(scale), vshift = _mm256_set1_pd(shift);
    int i = 0;
    for (; i + 8 <= n; i += 8) affine8(out + i, x + i, vscale, vshift);
    return i;
}

RG_ISA_END
#endif /* RG_HAVE_X86_SIMD */

/* From here on plain C for the build's -march: the probe and the switch must
 * run on a CPU without AVX2, and the scalar loop is the ref path. */

static void affine_scalar(float *out, const float *x, double scale, double shift, int n) {
    for (int i = 0; i < n; i++) out[i] = expf((float)((double)x[i] * scale - shift));
}

#if RG_HAVE_X86_SIMD
static void affine_vector(float *out, const float *x, double scale, double shift, int n) {
    int i = affine_vector_blocks(out, x, scale, shift, n);
    affine_scalar(out + i, x + i, scale, shift, n - i);
}

/* Probe inputs: the one float in [-104, 0] where an unfused range reduction
 * rounds differently, the underflow and denormal edges, zeros, -inf, and a
 * spread of 4096 bit patterns over the whole domain. */
static int probe_matches(void) {
    static const float edges[] = {-0x1.f8cbb2p+5f, UNDERFLOW_BELOW, -0x1.9fe366p6f, -0x1.9fe36ap6f,
                                  -0x1.9d1d9ep6f, -0x1.5d589ep6f, -0x1.5d58a0p6f, -0x1.62e42ep6f,
                                  -0.0f, 0.0f, -0x1p-149f, -0x1p-30f, -INFINITY, -1.0f, -0.5f, -88.0f};
    enum { N_EDGES = sizeof edges / sizeof edges[0], N_SPREAD = 4096, N = N_EDGES + N_SPREAD };
    float in[N], want[N], got[N];
    memcpy(in, edges, sizeof edges);
    for (int i = 0; i < N_SPREAD; i++) {
        uint32_t bits = 0x80000000u + (uint32_t)((uint64_t)i * (0xC2D00000u - 0x80000000u) / N_SPREAD) + (uint32_t)i % 7u;
        memcpy(&in[N_EDGES + i], &bits, 4);
    }
    for (int i = 0; i < N; i++) want[i] = expf(in[i]);
    affine_vector(got, in, 1.0, 0.0, N);
    return memcmp(want, got, sizeof want) == 0;
}

/* 0: not probed yet, 1: vector path, 2: scalar path. Threads that race on
 * the first call probe alike and store the same answer. */
static atomic_int state;
#endif /* RG_HAVE_X86_SIMD */

int rg_expf_exact_vectorised(void) {
#if !RG_HAVE_X86_SIMD
    return 0; /* no vector version on this CPU: the scalar expf (nn/isa.h) */
#else
    int s = atomic_load_explicit(&state, memory_order_relaxed);
    if (s == 0) {
        __builtin_cpu_init();
        s = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && probe_matches() ? 1 : 2;
        atomic_store_explicit(&state, s, memory_order_relaxed);
    }
    /* RGSD_KERNELS=ref (src/nn/cpu.h) takes the scalar expf itself: the
     * same bits, so the draws do not depend on the path (tested). */
    return s == 1 && nn_cpu_path() != NN_KERNELS_REF;
#endif
}

void rg_expf_affine(float *out, const float *x, double scale, double shift, int n) {
#if RG_HAVE_X86_SIMD
    if (rg_expf_exact_vectorised()) {
        affine_vector(out, x, scale, shift, n);
        return;
    }
#endif
    affine_scalar(out, x, scale, shift, n);
}
