/* matmul_bf16.c — the linear layer over a frozen bf16 weight W[out,in].
 *
 * Decode (N <= 8 rows) is memory bound: every weight byte is read once per
 * token, so the kernel streams each W row once and applies it to all N input
 * rows while it is in registers (AVX2 + FMA, bf16 -> f32 by a 16-bit shift).
 * Larger N is compute bound: W is widened to f32 a panel of rows at a time
 * and multiplied with sgemm, so the f32 copy never exceeds one panel. */
/* The release build is -march=x86-64-v3 already; this also lets the
 * sanitizer build (no -march) compile the AVX2 kernels. */
#pragma GCC target("avx2,fma")

#include <cblas.h>
#include <immintrin.h>
#include <omp.h>
#include <stdlib.h>

#include "nn/nn.h"

#define SMALL_N_MAX 8
#define PANEL_ROWS 256

/* 8 bf16 values -> 8 floats. */
static inline __m256 load_bf16x8(const uint16_t *p) {
    __m128i h = _mm_loadu_si128((const __m128i *)p);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

static inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

/* One row: y[o] = x . W[o,:], four independent accumulators to hide FMA latency. */
static void gemv_bf16_n1(float *y, const float *x, const uint16_t *W, int in, int o0, int o1) {
    for (int o = o0; o < o1; o++) {
        const uint16_t *w = W + (size_t)o * in;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        int i = 0;
        for (; i + 32 <= in; i += 32) {
            a0 = _mm256_fmadd_ps(load_bf16x8(w + i), _mm256_loadu_ps(x + i), a0);
            a1 = _mm256_fmadd_ps(load_bf16x8(w + i + 8), _mm256_loadu_ps(x + i + 8), a1);
            a2 = _mm256_fmadd_ps(load_bf16x8(w + i + 16), _mm256_loadu_ps(x + i + 16), a2);
            a3 = _mm256_fmadd_ps(load_bf16x8(w + i + 24), _mm256_loadu_ps(x + i + 24), a3);
        }
        for (; i + 8 <= in; i += 8) a0 = _mm256_fmadd_ps(load_bf16x8(w + i), _mm256_loadu_ps(x + i), a0);
        float sum = hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
        for (; i < in; i++) sum += nn_bf16_to_f32(w[i]) * x[i];
        y[o] = sum;
    }
}

/* 2..8 rows: each 8-wide slice of a W row is loaded once and used for every
 * input row; NROWS is a compile-time constant so the accumulators stay in
 * registers. y is [N,out]. */
#define DEFINE_GEMV_BF16(NROWS)                                                                          \
    static void gemv_bf16_n##NROWS(float *y, const float *x, const uint16_t *W, int in, int out, int o0,  \
                                   int o1) {                                                             \
        for (int o = o0; o < o1; o++) {                                                                  \
            const uint16_t *w = W + (size_t)o * in;                                                      \
            __m256 acc[NROWS];                                                                           \
            for (int n = 0; n < NROWS; n++) acc[n] = _mm256_setzero_ps();                                \
            int i = 0;                                                                                   \
            for (; i + 8 <= in; i += 8) {                                                                \
                __m256 wv = load_bf16x8(w + i);                                                          \
                for (int n = 0; n < NROWS; n++)                                                          \
                    acc[n] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + (size_t)n * in + i), acc[n]);       \
            }                                                                                            \
            for (int n = 0; n < NROWS; n++) {                                                            \
                float sum = hsum256(acc[n]);                                                             \
                for (int j = i; j < in; j++) sum += nn_bf16_to_f32(w[j]) * x[(size_t)n * in + j];        \
                y[(size_t)n * out + o] = sum;                                                            \
            }                                                                                            \
        }                                                                                                \
    }
DEFINE_GEMV_BF16(2)
DEFINE_GEMV_BF16(3)
DEFINE_GEMV_BF16(4)
DEFINE_GEMV_BF16(5)
DEFINE_GEMV_BF16(6)
DEFINE_GEMV_BF16(7)
DEFINE_GEMV_BF16(8)

/* y[N,out] for N <= 8 over output rows [o0, o1). */
static void gemv_bf16_rows(float *y, const float *x, const uint16_t *W, int N, int in, int out, int o0, int o1) {
    switch (N) {
    case 1: gemv_bf16_n1(y, x, W, in, o0, o1); break;
    case 2: gemv_bf16_n2(y, x, W, in, out, o0, o1); break;
    case 3: gemv_bf16_n3(y, x, W, in, out, o0, o1); break;
    case 4: gemv_bf16_n4(y, x, W, in, out, o0, o1); break;
    case 5: gemv_bf16_n5(y, x, W, in, out, o0, o1); break;
    case 6: gemv_bf16_n6(y, x, W, in, out, o0, o1); break;
    case 7: gemv_bf16_n7(y, x, W, in, out, o0, o1); break;
    default: gemv_bf16_n8(y, x, W, in, out, o0, o1); break;
    }
}

/* x[N,in] (N <= 8), W[out,in] -> y[N,out]; output rows split across threads. */
static void gemv_bf16(float *y, const float *x, const uint16_t *W, int N, int in, int out) {
#pragma omp parallel
    {
#ifdef _OPENMP
        int nth = omp_get_num_threads(), tid = omp_get_thread_num();
#else
        int nth = 1, tid = 0;
#endif
        /* Contiguous blocks of rows: each thread streams its own part of W. */
        int o0 = (int)((long)out * tid / nth), o1 = (int)((long)out * (tid + 1) / nth);
        gemv_bf16_rows(y, x, W, N, in, out, o0, o1);
    }
}

/* Panels of W widened to f32 for sgemm; NULL when memory is short (callers
 * then fall back to the streaming kernel, slower but correct). */
static float *panel_buffer(int in) { return malloc((size_t)PANEL_ROWS * in * sizeof(float)); }

// x[N,in], W[out,in] bf16, bias[out] or NULL -> y[N,out]
void nn_linear_bf16_forward(float *y, const float *x, const uint16_t *W, const float *bias, int N, int in, int out) {
    if (N <= 0 || out <= 0) return;
    float *panel = N > SMALL_N_MAX ? panel_buffer(in) : NULL;
    if (!panel) {
        for (int n0 = 0; n0 < N; n0 += SMALL_N_MAX) {
            int rows = N - n0 < SMALL_N_MAX ? N - n0 : SMALL_N_MAX;
            gemv_bf16(y + (size_t)n0 * out, x + (size_t)n0 * in, W, rows, in, out);
        }
    } else {
        for (int o0 = 0; o0 < out; o0 += PANEL_ROWS) {
            int rows = out - o0 < PANEL_ROWS ? out - o0 : PANEL_ROWS;
            nn_bf16_to_f32_array(panel, W + (size_t)o0 * in, (size_t)rows * in);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, rows, in, 1.0f, x, in, panel, in, 0.0f, y + o0,
                        out);
        }
        free(panel);
    }
    if (bias) {
#pragma omp parallel for schedule(static) if ((size_t)N * out > (1u << 16))
        for (int n = 0; n < N; n++)
            for (int o = 0; o < out; o++) y[(size_t)n * out + o] += bias[o];
    }
}

// dy[N,out], W[out,in] bf16 -> dx[N,in] +=
void nn_linear_bf16_backward_input(float *dx, const float *dy, const uint16_t *W, int N, int in, int out) {
    if (N <= 0 || out <= 0 || in <= 0) return;
    float *panel = N > SMALL_N_MAX ? panel_buffer(in) : NULL;
    if (panel) {
        for (int o0 = 0; o0 < out; o0 += PANEL_ROWS) {
            int rows = out - o0 < PANEL_ROWS ? out - o0 : PANEL_ROWS;
            nn_bf16_to_f32_array(panel, W + (size_t)o0 * in, (size_t)rows * in);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, in, rows, 1.0f, dy + o0, out, panel, in, 1.0f,
                        dx, in);
        }
        free(panel);
        return;
    }
    /* Few rows (or no memory for a panel): each thread owns a slice of the
     * input columns, so the accumulation into dx has no races. */
#pragma omp parallel for schedule(static)
    for (int c0 = 0; c0 < in; c0 += 64) {
        int c1 = c0 + 64 < in ? c0 + 64 : in;
        for (int o = 0; o < out; o++) {
            const uint16_t *w = W + (size_t)o * in;
            for (int n = 0; n < N; n++) {
                float g = dy[(size_t)n * out + o];
                float *d = dx + (size_t)n * in;
                for (int c = c0; c < c1; c++) d[c] += g * nn_bf16_to_f32(w[c]);
            }
        }
    }
}
