/* vecmath.c — vectorised max / logsumexp / exp over long rows (see
 * vecmath.h): the AVX2 versions, and the switch between them and the plain-C
 * ones of vecmath_ref.c. */

#include "nn/vecmath.h"

#include "nn/isa.h"
#if RG_HAVE_X86_SIMD
#include <immintrin.h>
#endif
#include <math.h>

#include "nn/cpu.h"

#if RG_HAVE_X86_SIMD
/* AVX2 + FMA: the release build is x86-64-v3 already; the sanitizer and fuzz builds are not. */
RG_ISA_BEGIN("avx2,fma")

/* glibc libmvec, AVX2 variants (linked through libm's AS_NEEDED group). */
__m256 _ZGVdN8v_expf(__m256 x);

static inline float hmax256(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

static inline double hsum256d(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return (double)_mm_cvtss_f32(s);
}

float nn_row_max_avx2(const float *x, int n) {
    __m256 m = _mm256_set1_ps(-INFINITY);
    int i = 0;
    for (; i + 8 <= n; i += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + i));
    float max = hmax256(m);
    for (; i < n; i++) max = x[i] > max ? x[i] : max;
    return max;
}

double nn_row_logsumexp_avx2(const float *x, int n) {
    float max = nn_row_max_avx2(x, n);
    if (max == -INFINITY) return -INFINITY;
    const __m256 vmax = _mm256_set1_ps(max);
    double total = 0.0;
    int i = 0;
    /* f32 lane sums over blocks of 1024 entries (each term <= 1), then double */
    while (i + 8 <= n) {
        __m256 acc = _mm256_setzero_ps();
        int end = i + 1024 < n ? i + 1024 : n;
        for (; i + 8 <= end; i += 8) acc = _mm256_add_ps(acc, _ZGVdN8v_expf(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmax)));
        total += hsum256d(acc);
    }
    for (; i < n; i++) total += expf(x[i] - max);
    return (double)max + log(total);
}

void nn_row_exp_avx2(float *out, const float *x, float shift, float scale, int n) {
    const __m256 vshift = _mm256_set1_ps(shift), vscale = _mm256_set1_ps(scale);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, _mm256_mul_ps(vscale, _ZGVdN8v_expf(_mm256_sub_ps(_mm256_loadu_ps(x + i), vshift))));
    for (; i < n; i++) out[i] = scale * expf(x[i] - shift);
}

static inline float hsum256f(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

void nn_row_softmax_avx2(float *row, int valid) {
    const float max = nn_row_max_avx2(row, valid);
    const __m256 vmax = _mm256_set1_ps(max);
    __m256 acc = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= valid; i += 8) {
        __m256 e = _ZGVdN8v_expf(_mm256_sub_ps(_mm256_loadu_ps(row + i), vmax));
        _mm256_storeu_ps(row + i, e);
        acc = _mm256_add_ps(acc, e);
    }
    float sum = hsum256f(acc);
    for (; i < valid; i++) {
        row[i] = expf(row[i] - max);
        sum += row[i];
    }
    const float inv = 1.0f / sum;
    const __m256 vinv = _mm256_set1_ps(inv);
    for (i = 0; i + 8 <= valid; i += 8) _mm256_storeu_ps(row + i, _mm256_mul_ps(_mm256_loadu_ps(row + i), vinv));
    for (; i < valid; i++) row[i] *= inv;
}

void nn_row_softmax_backward_avx2(float *d, const float *p, int n) {
    __m256 acc = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(p + i), _mm256_loadu_ps(d + i), acc);
    float dot = hsum256f(acc);
    for (; i < n; i++) dot += p[i] * d[i];
    const __m256 vdot = _mm256_set1_ps(dot);
    for (i = 0; i + 8 <= n; i += 8)
        _mm256_storeu_ps(d + i, _mm256_mul_ps(_mm256_loadu_ps(p + i), _mm256_sub_ps(_mm256_loadu_ps(d + i), vdot)));
    for (; i < n; i++) d[i] = p[i] * (d[i] - dot);
}

RG_ISA_END
#endif /* RG_HAVE_X86_SIMD */

/* ---- dispatch (outside the AVX2 region: it must run on any CPU) ---------- */
/* Off x86-64 only the ref calls are compiled (nn/isa.h). */

float nn_row_max(const float *x, int n) {
#if RG_HAVE_X86_SIMD
    if (nn_cpu_path() != NN_KERNELS_REF) return nn_row_max_avx2(x, n);
#endif
    return nn_row_max_ref(x, n);
}

double nn_row_logsumexp(const float *x, int n) {
#if RG_HAVE_X86_SIMD
    if (nn_cpu_path() != NN_KERNELS_REF) return nn_row_logsumexp_avx2(x, n);
#endif
    return nn_row_logsumexp_ref(x, n);
}

void nn_row_exp(float *out, const float *x, float shift, float scale, int n) {
#if RG_HAVE_X86_SIMD
    if (nn_cpu_path() != NN_KERNELS_REF) {
        nn_row_exp_avx2(out, x, shift, scale, n);
        return;
    }
#endif
    nn_row_exp_ref(out, x, shift, scale, n);
}

void nn_row_softmax(float *row, int valid) {
#if RG_HAVE_X86_SIMD
    if (nn_cpu_path() != NN_KERNELS_REF) {
        nn_row_softmax_avx2(row, valid);
        return;
    }
#endif
    nn_row_softmax_ref(row, valid);
}

void nn_row_softmax_backward(float *d, const float *p, int n) {
#if RG_HAVE_X86_SIMD
    if (nn_cpu_path() != NN_KERNELS_REF) {
        nn_row_softmax_backward_avx2(d, p, n);
        return;
    }
#endif
    nn_row_softmax_backward_ref(d, p, n);
}
