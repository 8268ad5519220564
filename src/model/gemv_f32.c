/* gemv_f32.c — y[N,out] = x[N,in] W^T for a few rows (N <= 8) of f32 input
 * and an f32 weight: the batched-decode case.
 *
 * Why it is here and not in src/nn: nn_linear_forward sends N >= 2 to
 * OpenBLAS sgemm, which packs W into a buffer before multiplying — for a
 * decode step that reads every weight byte twice and runs at a fraction of
 * memory bandwidth (measured: ~2 GB/s for N = 8 against ~11 GB/s for sgemv).
 * This kernel streams each W row once and applies it to all N input rows from
 * registers, so batch-8 decode costs about one weight read, like batch 1.
 * A candidate to move into nn_linear_forward (reported to the nn owner). */
#include "model/gemv_f32.h"

#include <immintrin.h>
#include <omp.h>

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
        for (int j = i; j < in; j++) s += w_row[j] * x[(size_t)(k) * in + j];        \
        y[(size_t)(k) * out + o] = s;                                                \
    }
#define DEFINE_GEMV(NROWS)                                                                          \
    static void gemv_n##NROWS(float *y, const float *x, const float *W, int in, int out, int o0,     \
                              int o1) {                                                             \
        const int nrows = NROWS;                                                                    \
        for (int o = o0; o < o1; o++) {                                                             \
            const float *w_row = W + (size_t)o * in;                                                \
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0,   \
                   a7 = a0;                                                                         \
            int i = 0;                                                                              \
            for (; i + 8 <= in; i += 8) {                                                           \
                __m256 w = _mm256_loadu_ps(w_row + i);                                              \
                ACC(0); ACC(1); ACC(2); ACC(3); ACC(4); ACC(5); ACC(6); ACC(7);                      \
            }                                                                                       \
            OUT(0); OUT(1); OUT(2); OUT(3); OUT(4); OUT(5); OUT(6); OUT(7);                          \
            (void)a1, (void)a2, (void)a3, (void)a4, (void)a5, (void)a6, (void)a7;                   \
        }                                                                                           \
    }
DEFINE_GEMV(1)
DEFINE_GEMV(2)
DEFINE_GEMV(3)
DEFINE_GEMV(4)
DEFINE_GEMV(5)
DEFINE_GEMV(6)
DEFINE_GEMV(7)
DEFINE_GEMV(8)

static void gemv_rows(float *y, const float *x, const float *W, int N, int in, int out, int o0, int o1) {
    switch (N) {
    case 1: gemv_n1(y, x, W, in, out, o0, o1); break;
    case 2: gemv_n2(y, x, W, in, out, o0, o1); break;
    case 3: gemv_n3(y, x, W, in, out, o0, o1); break;
    case 4: gemv_n4(y, x, W, in, out, o0, o1); break;
    case 5: gemv_n5(y, x, W, in, out, o0, o1); break;
    case 6: gemv_n6(y, x, W, in, out, o0, o1); break;
    case 7: gemv_n7(y, x, W, in, out, o0, o1); break;
    default: gemv_n8(y, x, W, in, out, o0, o1); break;
    }
}

void rg_gemv_f32(float *y, const float *x, const float *W, const float *bias, int N, int in, int out) {
#pragma omp parallel
    {
        int nth = omp_get_num_threads(), tid = omp_get_thread_num();
        /* Contiguous blocks of output rows: each thread streams its own part of W. */
        int o0 = (int)((long)out * tid / nth), o1 = (int)((long)out * (tid + 1) / nth);
        gemv_rows(y, x, W, N, in, out, o0, o1);
        if (bias)
            for (int n = 0; n < N; n++)
                for (int o = o0; o < o1; o++) y[(size_t)n * out + o] += bias[o];
    }
}
