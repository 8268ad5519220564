/* gemv.c — the decode kernels: y[N,out] = x[N,in] W^T for a few rows
 * (N <= NN_GEMV_MAX_ROWS), memory bound, so W must be read exactly once per
 * call whatever N is. (sgemm packs W into a buffer first — a second pass over
 * every weight byte — and sgemv handles one row only.)
 *
 * Both weight types share one scheme: blocks of ROW_BLOCK weight rows x a
 * chunk of K_CHUNK inputs; the W chunk (16 KiB f32 / 8 KiB bf16) and the x
 * chunk (up to 32 KiB for 8 rows) stay in L1 while every input row passes
 * over them. Two input rows at a time: 8 accumulators + 4 weight vectors +
 * 1 x vector fit the 16 AVX2 registers. Output rows are split into one
 * contiguous range per thread, so each thread streams its own part of W. */

#include "nn/gemv.h"
#include "nn/cpu.h"

#include "nn/isa.h"
#if RG_HAVE_X86_SIMD
#include <immintrin.h>
#endif
#include <omp.h>

#include "nn/nn.h"

#if RG_HAVE_X86_SIMD
/* AVX2 + FMA: the release build is x86-64-v3 already; the sanitizer and fuzz builds are not. */
RG_ISA_BEGIN("avx2,fma")

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

#define ROW_BLOCK 4
#define K_CHUNK 1024

/* sums[r*2 + j] = W[r, 0:len] . x_j[0:len] for r < 4, j < 2 (len % 8 == 0). */
static inline void micro_4x2(float *sums, const uint16_t *w, size_t ldw, const float *x0, const float *x1, int len) {
    __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
    for (int i = 0; i < len; i += 8) {
        __m256 w0 = load_bf16x8(w + i), w1 = load_bf16x8(w + ldw + i);
        __m256 w2 = load_bf16x8(w + 2 * ldw + i), w3 = load_bf16x8(w + 3 * ldw + i);
        __m256 xv = _mm256_loadu_ps(x0 + i);
        a00 = _mm256_fmadd_ps(w0, xv, a00);
        a10 = _mm256_fmadd_ps(w1, xv, a10);
        a20 = _mm256_fmadd_ps(w2, xv, a20);
        a30 = _mm256_fmadd_ps(w3, xv, a30);
        xv = _mm256_loadu_ps(x1 + i);
        a01 = _mm256_fmadd_ps(w0, xv, a01);
        a11 = _mm256_fmadd_ps(w1, xv, a11);
        a21 = _mm256_fmadd_ps(w2, xv, a21);
        a31 = _mm256_fmadd_ps(w3, xv, a31);
    }
    sums[0] = hsum256(a00), sums[1] = hsum256(a01), sums[2] = hsum256(a10), sums[3] = hsum256(a11);
    sums[4] = hsum256(a20), sums[5] = hsum256(a21), sums[6] = hsum256(a30), sums[7] = hsum256(a31);
}

/* As micro_4x2 over f32 weight rows ldw floats apart: an f32 weight, or a
 * bf16 chunk already widened (N >= 3: converted once, not once per pair). */
static inline void micro_4x2_f32(float *sums, const float *w, int ldw, const float *x0, const float *x1, int len) {
    __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
    for (int i = 0; i < len; i += 8) {
        __m256 x0v = _mm256_loadu_ps(x0 + i), x1v = _mm256_loadu_ps(x1 + i);
        __m256 w0 = _mm256_loadu_ps(w + i), w1 = _mm256_loadu_ps(w + ldw + i);
        a00 = _mm256_fmadd_ps(w0, x0v, a00);
        a01 = _mm256_fmadd_ps(w0, x1v, a01);
        a10 = _mm256_fmadd_ps(w1, x0v, a10);
        a11 = _mm256_fmadd_ps(w1, x1v, a11);
        __m256 w2 = _mm256_loadu_ps(w + 2 * ldw + i), w3 = _mm256_loadu_ps(w + 3 * ldw + i);
        a20 = _mm256_fmadd_ps(w2, x0v, a20);
        a21 = _mm256_fmadd_ps(w2, x1v, a21);
        a30 = _mm256_fmadd_ps(w3, x0v, a30);
        a31 = _mm256_fmadd_ps(w3, x1v, a31);
    }
    sums[0] = hsum256(a00), sums[1] = hsum256(a01), sums[2] = hsum256(a10), sums[3] = hsum256(a11);
    sums[4] = hsum256(a20), sums[5] = hsum256(a21), sums[6] = hsum256(a30), sums[7] = hsum256(a31);
}

/* sums[r] = W[r, 0:len] . x[0:len] for r < 4 (len % 8 == 0). */
static inline void micro_4x1(float *sums, const uint16_t *w, size_t ldw, const float *x, int len) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int i = 0; i < len; i += 8) {
        __m256 xv = _mm256_loadu_ps(x + i);
        a0 = _mm256_fmadd_ps(load_bf16x8(w + i), xv, a0);
        a1 = _mm256_fmadd_ps(load_bf16x8(w + ldw + i), xv, a1);
        a2 = _mm256_fmadd_ps(load_bf16x8(w + 2 * ldw + i), xv, a2);
        a3 = _mm256_fmadd_ps(load_bf16x8(w + 3 * ldw + i), xv, a3);
    }
    sums[0] = hsum256(a0), sums[1] = hsum256(a1), sums[2] = hsum256(a2), sums[3] = hsum256(a3);
}

/* W[o, 0:len] . x[0:len], any len: for the rows left over after the blocks of 4 and the tails. */
static float dot_bf16(const uint16_t *w, const float *x, int len) {
    __m256 acc = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= len; i += 8) acc = _mm256_fmadd_ps(load_bf16x8(w + i), _mm256_loadu_ps(x + i), acc);
    float sum = hsum256(acc);
    for (; i < len; i++) sum += nn_bf16_to_f32(w[i]) * x[i];
    return sum;
}

/* y[N,out] rows [o0, o1) for N <= 8 (o0 a multiple of ROW_BLOCK). */
static void gemv_bf16_rows(float *y, const float *x, const uint16_t *W, int N, int in, int out, int o0, int o1) {
    const int in8 = in & ~7;
    int o = o0;
    for (; o + ROW_BLOCK <= o1; o += ROW_BLOCK) {
        float acc[NN_GEMV_MAX_ROWS][ROW_BLOCK] = {{0}};
        for (int k0 = 0; k0 < in8; k0 += K_CHUNK) {
            int len = in8 - k0 < K_CHUNK ? in8 - k0 : K_CHUNK;
            const uint16_t *w = W + (size_t)o * in + k0;
            int n = 0;
            if (N >= 3) {
                /* widen this 4 x len block once (16 KiB, stays in L1) for all the input rows */
                _Alignas(32) float wide[ROW_BLOCK * K_CHUNK];
                for (int r = 0; r < ROW_BLOCK; r++)
                    for (int i = 0; i < len; i += 8)
                        _mm256_store_ps(wide + r * K_CHUNK + i, load_bf16x8(w + (size_t)r * in + i));
                for (; n + 2 <= N; n += 2) {
                    float sums[8];
                    micro_4x2_f32(sums, wide, K_CHUNK, x + (size_t)n * in + k0, x + (size_t)(n + 1) * in + k0, len);
                    for (int r = 0; r < ROW_BLOCK; r++) acc[n][r] += sums[2 * r], acc[n + 1][r] += sums[2 * r + 1];
                }
            }
            for (; n + 2 <= N; n += 2) {
                float sums[8];
                micro_4x2(sums, w, (size_t)in, x + (size_t)n * in + k0, x + (size_t)(n + 1) * in + k0, len);
                for (int r = 0; r < ROW_BLOCK; r++) acc[n][r] += sums[2 * r], acc[n + 1][r] += sums[2 * r + 1];
            }
            if (n < N) {
                float sums[4];
                micro_4x1(sums, w, (size_t)in, x + (size_t)n * in + k0, len);
                for (int r = 0; r < ROW_BLOCK; r++) acc[n][r] += sums[r];
            }
        }
        for (int n = 0; n < N; n++) {
            for (int r = 0; r < ROW_BLOCK; r++) {
                const uint16_t *w = W + (size_t)(o + r) * in;
                float tail = 0.0f;
                for (int i = in8; i < in; i++) tail += nn_bf16_to_f32(w[i]) * x[(size_t)n * in + i];
                y[(size_t)n * out + o + r] = acc[n][r] + tail;
            }
        }
    }
    for (; o < o1; o++)
        for (int n = 0; n < N; n++) y[(size_t)n * out + o] = dot_bf16(W + (size_t)o * in, x + (size_t)n * in, in);
}

/* x[N,in] (N <= 8), W[out,in] -> y[N,out]; output rows split across threads. */
void nn_gemv_bf16_avx2(float *y, const float *x, const uint16_t *W, int N, int in, int out) {
#pragma omp parallel
    {
        int o0, o1;
        nn_gemv_thread_rows(out, ROW_BLOCK, &o0, &o1);
        if (o0 < o1) gemv_bf16_rows(y, x, W, N, in, out, o0, o1);
    }
}


/* ---- f32 weights --------------------------------------------------------- */

/* sums[r] = W[r, 0:len] . x[0:len] for r < 4, f32 rows ldw apart (len % 8 == 0). */
static inline void micro_4x1_f32(float *sums, const float *w, int ldw, const float *x, int len) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int i = 0; i < len; i += 8) {
        __m256 xv = _mm256_loadu_ps(x + i);
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), xv, a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + ldw + i), xv, a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w + 2 * ldw + i), xv, a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w + 3 * ldw + i), xv, a3);
    }
    sums[0] = hsum256(a0), sums[1] = hsum256(a1), sums[2] = hsum256(a2), sums[3] = hsum256(a3);
}

/* y[N,out] rows [o0, o1) for N <= 8, f32 W. */
static void gemv_f32_rows(float *y, const float *x, const float *W, int N, int in, int out, int o0, int o1) {
    const int in8 = in & ~7;
    int o = o0;
    for (; o + ROW_BLOCK <= o1; o += ROW_BLOCK) {
        float acc[NN_GEMV_MAX_ROWS][ROW_BLOCK] = {{0}};
        for (int k0 = 0; k0 < in8; k0 += K_CHUNK) {
            int len = in8 - k0 < K_CHUNK ? in8 - k0 : K_CHUNK;
            const float *w = W + (size_t)o * in + k0;
            int n = 0;
            for (; n + 2 <= N; n += 2) {
                float sums[8];
                micro_4x2_f32(sums, w, in, x + (size_t)n * in + k0, x + (size_t)(n + 1) * in + k0, len);
                for (int r = 0; r < ROW_BLOCK; r++) acc[n][r] += sums[2 * r], acc[n + 1][r] += sums[2 * r + 1];
            }
            if (n < N) {
                float sums[4];
                micro_4x1_f32(sums, w, in, x + (size_t)n * in + k0, len);
                for (int r = 0; r < ROW_BLOCK; r++) acc[n][r] += sums[r];
            }
        }
        for (int n = 0; n < N; n++) {
            for (int r = 0; r < ROW_BLOCK; r++) {
                const float *w = W + (size_t)(o + r) * in;
                float tail = 0.0f;
                for (int i = in8; i < in; i++) tail += w[i] * x[(size_t)n * in + i];
                y[(size_t)n * out + o + r] = acc[n][r] + tail;
            }
        }
    }
    for (; o < o1; o++) {
        const float *w = W + (size_t)o * in;
        for (int n = 0; n < N; n++) {
            const float *xr = x + (size_t)n * in;
            __m256 a = _mm256_setzero_ps();
            int i = 0;
            for (; i + 8 <= in; i += 8) a = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(xr + i), a);
            float sum = hsum256(a);
            for (; i < in; i++) sum += w[i] * xr[i];
            y[(size_t)n * out + o] = sum;
        }
    }
}

/* y[o] = W[o, :] . x for o in [o0, o1), one weight row at a time (N = 1,
 * short rows). One sequential stream per thread, x (<= 16 KiB) from L1:
 * streaming W from memory this beat the 4-row blocks here and in the AVX-512
 * kernel by 10-45% on f32 batch-1 decode shapes with in <= 2048; with long
 * rows (in = 11008) x no longer fits L1 and the blocks won by 40%
 * (docs/kernels.md). Hence ONE_ROW_MAX_IN. */
#define ONE_ROW_MAX_IN 4096
static void gemv_f32_one_row(float *y, const float *x, const float *W, int in, int o0, int o1) {
    for (int o = o0; o < o1; o++) {
        const float *w = W + (size_t)o * in;
        __m256 a = _mm256_setzero_ps();
        int i = 0;
        for (; i + 8 <= in; i += 8) a = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(x + i), a);
        float sum = hsum256(a);
        for (; i < in; i++) sum += w[i] * x[i];
        y[o] = sum;
    }
}

void nn_gemv_f32_avx2(float *y, const float *x, const float *W, int N, int in, int out) {
#pragma omp parallel
    {
        int o0, o1;
        nn_gemv_thread_rows(out, ROW_BLOCK, &o0, &o1);
        if (o0 < o1) {
            if (N == 1 && in <= ONE_ROW_MAX_IN) gemv_f32_one_row(y, x, W, in, o0, o1);
            else gemv_f32_rows(y, x, W, N, in, out, o0, o1);
        }
    }
}

RG_ISA_END
#endif /* RG_HAVE_X86_SIMD */

/* ---- dispatch ------------------------------------------------------------ */

/* nn_cpu_path (cpu.c): the CPU's best, or what RGSD_KERNELS forces. Outside
 * the AVX2 region: a CPU without AVX2 must be able to run the switch itself.
 * Off x86-64 only the ref call is compiled (nn/isa.h). */

void nn_gemv_bf16(float *y, const float *x, const uint16_t *W, int N, int in, int out) {
#if RG_HAVE_X86_SIMD
    switch (nn_cpu_path()) {
    case NN_KERNELS_AVX512: nn_gemv_bf16_avx512(y, x, W, N, in, out); return;
    case NN_KERNELS_AVX2: nn_gemv_bf16_avx2(y, x, W, N, in, out); return;
    case NN_KERNELS_REF: break;
    }
#endif
    nn_gemv_bf16_ref(y, x, W, N, in, out);
}

void nn_gemv_bf16dot(float *y, const float *x, const uint16_t *W, int N, int in, int out) {
#if RG_HAVE_X86_SIMD
    if (nn_cpu_bf16_infer() == NN_BF16_INFER_DOT_AVX512) {
        nn_gemv_bf16dot_avx512(y, x, W, N, in, out);
        return;
    }
#endif
    nn_gemv_bf16dot_ref(y, x, W, N, in, out);
}

void nn_gemv_f32(float *y, const float *x, const float *W, int N, int in, int out) {
#if RG_HAVE_X86_SIMD
    switch (nn_cpu_path()) {
    case NN_KERNELS_AVX512:
        if (N == 1 && in <= ONE_ROW_MAX_IN) { /* the one-row AVX2 kernel streams faster (gemv_f32_one_row) */
            nn_gemv_f32_avx2(y, x, W, N, in, out);
            return;
        }
        nn_gemv_f32_avx512(y, x, W, N, in, out);
        return;
    case NN_KERNELS_AVX2: nn_gemv_f32_avx2(y, x, W, N, in, out); return;
    case NN_KERNELS_REF: break;
    }
#endif
    nn_gemv_f32_ref(y, x, W, N, in, out);
}

