/* gemv_avx512.c — the f32 decode kernels of gemv.c, 16 floats wide, for
 * CPUs with AVX-512 (chosen at run time; the build itself targets
 * x86-64-v3). With 32 registers a block of 4 weight rows meets 4 input rows
 * at once (16 accumulators), so the batched-decode case (N = 8) needs half
 * the loads per multiply-add of the AVX2 kernel and twice the width; one or
 * two input rows (N <= 2) get their own kernel instead of padding to 4.
 * Same blocking as gemv.c: 4 weight rows x K_CHUNK inputs, W read from
 * memory once. bf16 weights have their own kernel, gemv_bf16_avx512.c. */

#include "nn/isa.h"
#include "nn/gemv.h"
#include "nn/nn.h"

#if RG_HAVE_X86_SIMD /* the whole file: x86-64 only (nn/isa.h) */
#include <immintrin.h>
#include <omp.h>

/* AVX-512F + FMA: chosen at run time; the build itself targets x86-64-v3. */
RG_ISA_BEGIN("avx512f,fma")

#define ROW_BLOCK 4
#define K_CHUNK 1024

/* sums[r*4 + j] += W[r, 0:len] . x_j[0:len], r < 4, j < 4; f32 W rows ldw apart (len % 16 == 0). */
static inline void micro_4x4(float *sums, const float *w, size_t ldw, const float *const x[4], int len) {
    __m512 a[4][4];
    for (int r = 0; r < 4; r++)
        for (int j = 0; j < 4; j++) a[r][j] = _mm512_setzero_ps();
    for (int i = 0; i < len; i += 16) {
        __m512 x0 = _mm512_loadu_ps(x[0] + i), x1 = _mm512_loadu_ps(x[1] + i);
        __m512 x2 = _mm512_loadu_ps(x[2] + i), x3 = _mm512_loadu_ps(x[3] + i);
#pragma GCC unroll 4
        for (int r = 0; r < 4; r++) {
            __m512 wv = _mm512_loadu_ps(w + r * ldw + i);
            a[r][0] = _mm512_fmadd_ps(wv, x0, a[r][0]);
            a[r][1] = _mm512_fmadd_ps(wv, x1, a[r][1]);
            a[r][2] = _mm512_fmadd_ps(wv, x2, a[r][2]);
            a[r][3] = _mm512_fmadd_ps(wv, x3, a[r][3]);
        }
    }
    for (int r = 0; r < 4; r++)
        for (int j = 0; j < 4; j++) sums[r * 4 + j] += _mm512_reduce_add_ps(a[r][j]);
}

/* Few input rows (N <= 2): no padded input rows — the 4x4 kernel would
 * spend 2-4x the multiply-adds on repeated rows (measured: N = 1 f32 ran
 * below the AVX2 kernel). sums[r*2 + j] += W[r, 0:len] . x_j[0:len], r < 4, j < nx. */
static inline void micro_4xn_f32(float *sums, const float *w, size_t ldw, const float *x0, const float *x1, int nx,
                                 int len) {
    __m512 a00 = _mm512_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
    if (nx == 1) {
        for (int i = 0; i < len; i += 16) {
            __m512 xv = _mm512_loadu_ps(x0 + i);
            a00 = _mm512_fmadd_ps(_mm512_loadu_ps(w + i), xv, a00);
            a10 = _mm512_fmadd_ps(_mm512_loadu_ps(w + ldw + i), xv, a10);
            a20 = _mm512_fmadd_ps(_mm512_loadu_ps(w + 2 * ldw + i), xv, a20);
            a30 = _mm512_fmadd_ps(_mm512_loadu_ps(w + 3 * ldw + i), xv, a30);
        }
    } else {
        for (int i = 0; i < len; i += 16) {
            __m512 xa = _mm512_loadu_ps(x0 + i), xb = _mm512_loadu_ps(x1 + i);
            __m512 w0 = _mm512_loadu_ps(w + i), w1 = _mm512_loadu_ps(w + ldw + i);
            a00 = _mm512_fmadd_ps(w0, xa, a00), a01 = _mm512_fmadd_ps(w0, xb, a01);
            a10 = _mm512_fmadd_ps(w1, xa, a10), a11 = _mm512_fmadd_ps(w1, xb, a11);
            __m512 w2 = _mm512_loadu_ps(w + 2 * ldw + i), w3 = _mm512_loadu_ps(w + 3 * ldw + i);
            a20 = _mm512_fmadd_ps(w2, xa, a20), a21 = _mm512_fmadd_ps(w2, xb, a21);
            a30 = _mm512_fmadd_ps(w3, xa, a30), a31 = _mm512_fmadd_ps(w3, xb, a31);
        }
    }
    sums[0] += _mm512_reduce_add_ps(a00), sums[2] += _mm512_reduce_add_ps(a10);
    sums[4] += _mm512_reduce_add_ps(a20), sums[6] += _mm512_reduce_add_ps(a30);
    if (nx == 2) {
        sums[1] += _mm512_reduce_add_ps(a01), sums[3] += _mm512_reduce_add_ps(a11);
        sums[5] += _mm512_reduce_add_ps(a21), sums[7] += _mm512_reduce_add_ps(a31);
    }
}

/* Runs the 4x4 kernel over input rows n0.. (up to 4; missing ones repeat the last, results dropped). */
static inline void block_inputs(float acc[][ROW_BLOCK], const float *w, size_t ldw, const float *x, int in, int k0,
                                int len, int N) {
    for (int n0 = 0; n0 < N; n0 += 4) {
        const float *xs[4];
        for (int j = 0; j < 4; j++) xs[j] = x + (size_t)(n0 + j < N ? n0 + j : N - 1) * in + k0;
        float sums[16] = {0};
        micro_4x4(sums, w, ldw, xs, len);
        for (int j = 0; j < 4 && n0 + j < N; j++)
            for (int r = 0; r < ROW_BLOCK; r++) acc[n0 + j][r] += sums[r * 4 + j];
    }
}

/* y[N,out] rows [o0, o1), f32 W. */
static void gemv_rows(float *y, const float *x, const float *W, int N, int in, int out, int o0, int o1) {
    const int in16 = in & ~15;
    int o = o0;
    for (; o + ROW_BLOCK <= o1; o += ROW_BLOCK) {
        float acc[NN_GEMV_MAX_ROWS][ROW_BLOCK] = {{0}};
        for (int k0 = 0; k0 < in16; k0 += K_CHUNK) {
            int len = in16 - k0 < K_CHUNK ? in16 - k0 : K_CHUNK;
            if (N <= 2) {
                float sums[8] = {0};
                const float *x1 = x + (size_t)(N - 1) * in + k0;
                micro_4xn_f32(sums, W + (size_t)o * in + k0, (size_t)in, x + k0, x1, N, len);
                for (int j = 0; j < N; j++)
                    for (int r = 0; r < ROW_BLOCK; r++) acc[j][r] += sums[r * 2 + j];
            } else {
                block_inputs(acc, W + (size_t)o * in + k0, (size_t)in, x, in, k0, len, N);
            }
        }
        for (int n = 0; n < N; n++)
            for (int r = 0; r < ROW_BLOCK; r++) {
                float tail = 0.0f;
                for (int i = in16; i < in; i++) tail += W[(size_t)(o + r) * in + i] * x[(size_t)n * in + i];
                y[(size_t)n * out + o + r] = acc[n][r] + tail;
            }
    }
    for (; o < o1; o++)
        for (int n = 0; n < N; n++) {
            float sum = 0.0f;
            for (int i = 0; i < in; i++) sum += W[(size_t)o * in + i] * x[(size_t)n * in + i];
            y[(size_t)n * out + o] = sum;
        }
}

void nn_gemv_f32_avx512(float *y, const float *x, const float *W, int N, int in, int out) {
#pragma omp parallel
    {
        int o0, o1;
        nn_gemv_thread_rows(out, ROW_BLOCK, &o0, &o1);
        if (o0 < o1) gemv_rows(y, x, W, N, in, out, o0, o1);
    }
}

RG_ISA_END
#endif /* RG_HAVE_X86_SIMD */
