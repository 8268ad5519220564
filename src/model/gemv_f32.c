/* gemv_f32.c — y[N,out] = x[N,in] W^T for a few rows (N <= 8) of f32 input
 * and an f32 or bf16 weight: the batched-decode case.
 *
 * Why it is here and not in src/nn: nn_linear_forward sends N >= 2 to
 * OpenBLAS sgemm, which packs W into a buffer before multiplying — for a
 * decode step that reads every weight byte twice and runs at a fraction of
 * memory bandwidth (measured: ~2 GB/s for N = 8 against ~11 GB/s for sgemv).
 * This kernel streams each W row once and applies it to all N input rows from
 * registers, so batch-8 decode costs about one weight read, like batch 1.
 * The bf16 twin exists because nn_linear_bf16_forward's 2..8-row kernel keeps
 * its accumulators in an array that GCC -O2 leaves in memory (measured ~3x
 * slower than this one at N = 8). Both are candidates to move into nn
 * (reported to the nn owner). */
#include "model/gemv_f32.h"

#include "base/isa.h"
#include "nn/cpu.h"
#include "nn/nn.h"

#if RG_HAVE_X86_SIMD /* x86-64 only (base/isa.h) */
#include <immintrin.h>
#include <omp.h>

/* AVX2 + FMA: even when the build flags do not say so (the sanitizer and fuzz builds). */
RG_ISA_BEGIN("avx2,fma")

static inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

/* NROWS is a compile-time constant: the accumulators a0..a7 are named
 * variables (not an array) so they stay in registers; unused ones vanish. */
#define ACC(k) if (nrows > k) a##k = _mm256_fmadd_ps(w, _mm256_loadu_ps(x + (size_t)(k) * in + i), a##k)
#define OUT(k)                                                                       \
    if (nrows > k) {                                                                 \
        float s = hsum(a##k);                                                        \
        for (int j = i; j < in; j++) s += w_one(w_row + j) * x[(size_t)(k) * in + j]; \
        y[(size_t)(k) * out + o] = s;                                                \
    }
static inline __m256 load_w8_f32(const float *p) { return _mm256_loadu_ps(p); }
static inline __m256 load_w8_bf16(const uint16_t *p) {
    __m128i h = _mm_loadu_si128((const __m128i *)p);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}
static inline float w_f32(const float *p) { return *p; }
static inline float w_bf16(const uint16_t *p) {
    union { uint32_t u; float f; } v = {.u = (uint32_t)*p << 16};
    return v.f;
}

#define DEFINE_GEMV(NROWS, WT, SUFFIX)                                                              \
    static void gemv_##SUFFIX##_n##NROWS(float *y, const float *x, const WT *W, int in, int out,   \
                                          int o0, int o1) {                                         \
        const int nrows = NROWS;                                                                    \
        for (int o = o0; o < o1; o++) {                                                             \
            const WT *w_row = W + (size_t)o * in;                                                   \
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0,   \
                   a7 = a0;                                                                         \
            int i = 0;                                                                              \
            for (; i + 8 <= in; i += 8) {                                                           \
                __m256 w = load_w8_##SUFFIX(w_row + i);                                             \
                ACC(0); ACC(1); ACC(2); ACC(3); ACC(4); ACC(5); ACC(6); ACC(7);                      \
            }                                                                                       \
            OUT(0); OUT(1); OUT(2); OUT(3); OUT(4); OUT(5); OUT(6); OUT(7);                          \
            (void)a1, (void)a2, (void)a3, (void)a4, (void)a5, (void)a6, (void)a7;                   \
        }                                                                                           \
    }
#define w_one w_f32
DEFINE_GEMV(1, float, f32)
DEFINE_GEMV(2, float, f32)
DEFINE_GEMV(3, float, f32)
DEFINE_GEMV(4, float, f32)
DEFINE_GEMV(5, float, f32)
DEFINE_GEMV(6, float, f32)
DEFINE_GEMV(7, float, f32)
DEFINE_GEMV(8, float, f32)
#undef w_one
#define w_one w_bf16
DEFINE_GEMV(1, uint16_t, bf16)
DEFINE_GEMV(2, uint16_t, bf16)
DEFINE_GEMV(3, uint16_t, bf16)
DEFINE_GEMV(4, uint16_t, bf16)
DEFINE_GEMV(5, uint16_t, bf16)
DEFINE_GEMV(6, uint16_t, bf16)
DEFINE_GEMV(7, uint16_t, bf16)
DEFINE_GEMV(8, uint16_t, bf16)
#undef w_one

#define DISPATCH(SUFFIX)                                                                 \
    switch (N) {                                                                         \
    case 1: gemv_##SUFFIX##_n1(y, x, W, in, out, o0, o1); break;                         \
    case 2: gemv_##SUFFIX##_n2(y, x, W, in, out, o0, o1); break;                         \
    case 3: gemv_##SUFFIX##_n3(y, x, W, in, out, o0, o1); break;                         \
    case 4: gemv_##SUFFIX##_n4(y, x, W, in, out, o0, o1); break;                         \
    case 5: gemv_##SUFFIX##_n5(y, x, W, in, out, o0, o1); break;                         \
    case 6: gemv_##SUFFIX##_n6(y, x, W, in, out, o0, o1); break;                         \
    case 7: gemv_##SUFFIX##_n7(y, x, W, in, out, o0, o1); break;                         \
    default: gemv_##SUFFIX##_n8(y, x, W, in, out, o0, o1); break;                        \
    }

/* Contiguous blocks of output rows per thread: each streams its own part of W. */
#define PARALLEL_GEMV(SUFFIX)                                                            \
    _Pragma("omp parallel") {                                                            \
        int nth = omp_get_num_threads(), tid = omp_get_thread_num();                     \
        int o0 = (int)((long)out * tid / nth), o1 = (int)((long)out * (tid + 1) / nth);  \
        DISPATCH(SUFFIX)                                                                 \
        if (bias)                                                                        \
            for (int n = 0; n < N; n++)                                                  \
                for (int o = o0; o < o1; o++) y[(size_t)n * out + o] += bias[o];         \
    }

void rg_gemv_f32_avx2(float *y, const float *x, const float *W, const float *bias, int N, int in, int out) {
    PARALLEL_GEMV(f32)
}

void rg_gemv_bf16_avx2(float *y, const float *x, const uint16_t *W, const float *bias, int N, int in, int out) {
    PARALLEL_GEMV(bf16)
}

RG_ISA_END
#endif /* RG_HAVE_X86_SIMD */

/* The ref path (RGSD_KERNELS=ref, or a CPU without AVX2/FMA) goes through
 * nn's public linear layer, whose N <= 8 case is nn's own switch on the same
 * path (src/nn/gemv_ref.c): one plain-C GEMV for the whole program. Outside
 * the AVX2 region, so that a CPU without AVX2 can run the switch; off x86-64
 * only this path is compiled (base/isa.h). */
void rg_gemv_f32(float *y, const float *x, const float *W, const float *bias, int N, int in, int out) {
#if RG_HAVE_X86_SIMD
    if (nn_cpu_path() != NN_KERNELS_REF) {
        rg_gemv_f32_avx2(y, x, W, bias, N, in, out);
        return;
    }
#endif
    nn_linear_forward(y, x, W, bias, N, in, out);
}

void rg_gemv_bf16(float *y, const float *x, const uint16_t *W, const float *bias, int N, int in, int out) {
#if RG_HAVE_X86_SIMD
    if (nn_cpu_path() != NN_KERNELS_REF) {
        rg_gemv_bf16_avx2(y, x, W, bias, N, in, out);
        return;
    }
#endif
    nn_linear_bf16_forward(y, x, W, bias, N, in, out);
}
