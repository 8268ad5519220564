/* gemv_bf16dot_avx512.c — bf16 decode on bf16 dot products (AVX-512 BF16):
 * y[N,out] = bf16(x)[N,in] W^T for N <= 8 rows, W read from memory once, in
 * exactly the order gemv.h defines ("bf16 dot decode"), so the result is
 * nn_gemv_bf16dot_ref's bit for bit (up to vdpbf16ps's denormal flushing).
 *
 * Why: at 8 rows decode is bound by multiply-adds, not by memory. One
 * vdpbf16ps does 32 of them (16 lanes x a pair), an f32 FMA 16, and W needs
 * no widening: it is loaded as it lies, 16 pairs per vector, lane l holding
 * pair l of the block. The inputs are rounded to bf16 (as the bf16 prefill
 * does; nn_f32_to_bf16's bits) once per call into a small per-thread
 * buffer, in the same pair layout.
 *
 * Blocking as in gemv_bf16_avx512.c: N = 2..8, 3 weight rows x N inputs per
 * step (up to 24 accumulators, each weight vector used N times, each input
 * vector 3 times), with a prefetch into L2 of the next 3 rows at the same
 * offset; N = 1, one row after another (one sequential stream). Each thread
 * streams its own contiguous range of output rows. */

#include "nn/isa.h"
#include "nn/gemv.h"
#include "nn/nn.h"

#if RG_HAVE_X86_SIMD /* the whole file: x86-64 only (nn/isa.h) */
#include <immintrin.h>
#include <omp.h>

RG_ISA_BEGIN("avx512f,avx512bw,avx512bf16")

#include "nn/avx512_inline.h"

#define ROWS 3       /* weight rows per step */
#define SPLIT_ROWS 4 /* threads split the output rows in multiples of this */
#define KEEP_IN_REGISTER(v) __asm__("" : "+v"(v)) /* see gemv_bf16_avx512.c */

/* The inputs of one chunk [k0, k0 + len) as bf16 pairs, interleaved by blocks
 * of 16 pairs: block b holds, for each input row j < N in turn, its 16 pairs
 * (32 bf16); one pointer and constant offsets reach every row in the kernel.
 * The tail (len % 32 inputs) follows, row by row, unrounded (scalar code). */
static void pack_x(uint32_t *xp, float *tail_x, const float *x, int N, int in, int k0, int len) {
    const int len32 = len & ~31, tail = len - len32;
    for (int j = 0; j < N; j++) {
        const float *xr = x + (size_t)j * in + k0;
        for (int b = 0; b < len32; b += 32) {
            uint32_t *pb = xp + (size_t)(b / 2) * N + 16 * j;
            _mm256_storeu_si256((__m256i *)pb, nn_round_bf16x16(_mm512_loadu_ps(xr + b)));
            _mm256_storeu_si256((__m256i *)(pb + 8), nn_round_bf16x16(_mm512_loadu_ps(xr + b + 16)));
        }
        for (int t = 0; t < tail; t++) tail_x[j * tail + t] = xr[len32 + t];
    }
}

/* y[j, o + r] (+)= W[o + r, k0:k0+len] . bf16(x_j) for r < R, j < NX (both
 * constants once inlined); w = &W[o, k0]; pf: where to prefetch (the next R rows). */
static inline __attribute__((always_inline)) void block(float *y, const uint32_t *xp, const float *tail_x,
                                                        const uint16_t *w, const uint16_t *pf, int in, int out,
                                                        int len, int add, const int R, const int NX,
                                                        const int PF) {
    const int len32 = len & ~31;
    __m512 a[ROWS][NN_GEMV_MAX_ROWS];
#pragma GCC unroll 3
    for (int r = 0; r < R; r++)
#pragma GCC unroll 8
        for (int j = 0; j < NX; j++) a[r][j] = _mm512_setzero_ps();
    const uint32_t *xb = xp;
    for (int i = 0; i < len32; i += 32, xb += 16 * NX) {
        __m512bh wv[ROWS];
#pragma GCC unroll 3
        for (int r = 0; r < R; r++) {
            if (PF) _mm_prefetch((const char *)(pf + (size_t)r * in + i), _MM_HINT_T1);
            wv[r] = (__m512bh)_mm512_loadu_si512(w + (size_t)r * in + i);
        }
#pragma GCC unroll 8
        for (int j = 0; j < NX; j++) {
            __m512i xi = _mm512_loadu_si512(xb + 16 * j);
            KEEP_IN_REGISTER(xi);
            __m512bh xv = (__m512bh)xi;
#pragma GCC unroll 3
            for (int r = 0; r < R; r++) a[r][j] = _mm512_dpbf16_ps(a[r][j], xv, wv[r]);
        }
    }
    const int tail = len - len32;
    float sums[ROWS][NN_GEMV_MAX_ROWS];
#pragma GCC unroll 3
    for (int r = 0; r < R; r++)
#pragma GCC unroll 2
        for (int j = 0; j < NX; j += 4) /* past NX: repeats of the last accumulator, not stored */
            nn_hsum4(&sums[r][j], a[r][j], a[r][j + 1 < NX ? j + 1 : NX - 1], a[r][j + 2 < NX ? j + 2 : NX - 1],
                  a[r][j + 3 < NX ? j + 3 : NX - 1]);
    for (int r = 0; r < R; r++)
        for (int j = 0; j < NX; j++) {
            float sum = nn_gemv_bf16dot_tail(sums[r][j], tail_x + j * tail, w + (size_t)r * in + len32, tail);
            float *yo = y + (size_t)j * out + r;
            *yo = add ? *yo + sum : sum;
        }
}

/* Rows [o0, o1) at NX inputs: blocks of ROWS, then single rows. */
static inline __attribute__((always_inline)) void rows_xn(float *y, const uint32_t *xp, const float *tail_x,
                                                          const uint16_t *W, int in, int out, int k0, int len,
                                                          int o0, int o1, const int NX) {
    int o = o0;
    for (; o + ROWS <= o1; o += ROWS) {
        const uint16_t *w = W + (size_t)o * in + k0;
        block(y + o, xp, tail_x, w, o + 2 * ROWS <= o1 ? w + (size_t)ROWS * in : w, in, out, len, k0 > 0, ROWS, NX,
              1);
    }
    for (; o < o1; o++) {
        const uint16_t *w = W + (size_t)o * in + k0;
        block(y + o, xp, tail_x, w, w, in, out, len, k0 > 0, 1, NX, 0);
    }
}

/* N = 1: one row after another, one sequential stream per thread (the
 * hardware prefetcher's best case; three interleaved rows read ~30% slower). */
static void rows_x1(float *y, const uint32_t *xp, const float *tail_x, const uint16_t *W, int in, int out, int k0,
                    int len, int o0, int o1) {
    for (int o = o0; o < o1; o++) {
        const uint16_t *w = W + (size_t)o * in + k0;
        block(y + o, xp, tail_x, w, w, in, out, len, k0 > 0, 1, 1, 0);
    }
}

static void rows_any(float *y, const uint32_t *xp, const float *tail_x, const uint16_t *W, int N, int in, int out,
                     int k0, int len, int o0, int o1) {
    switch (N) {
    case 1: rows_x1(y, xp, tail_x, W, in, out, k0, len, o0, o1); break;
    case 2: rows_xn(y, xp, tail_x, W, in, out, k0, len, o0, o1, 2); break;
    case 3: rows_xn(y, xp, tail_x, W, in, out, k0, len, o0, o1, 3); break;
    case 4: rows_xn(y, xp, tail_x, W, in, out, k0, len, o0, o1, 4); break;
    case 5: rows_xn(y, xp, tail_x, W, in, out, k0, len, o0, o1, 5); break;
    case 6: rows_xn(y, xp, tail_x, W, in, out, k0, len, o0, o1, 6); break;
    case 7: rows_xn(y, xp, tail_x, W, in, out, k0, len, o0, o1, 7); break;
    default: rows_xn(y, xp, tail_x, W, in, out, k0, len, o0, o1, 8); break;
    }
}

/* One thread's output rows [o0, o1), `in` in gemv.h's chunks (the packed
 * inputs of one chunk, on this thread's stack: 128 KiB at N = 8). */
static void thread_rows(float *y, const float *x, const uint16_t *W, int N, int in, int out, int o0, int o1) {
    _Alignas(64) uint32_t xp[NN_GEMV_MAX_ROWS * NN_GEMV_DOT_CHUNK / 2];
    float tail_x[NN_GEMV_MAX_ROWS * 32];
    for (int k0 = 0; k0 < in; k0 += NN_GEMV_DOT_CHUNK) {
        const int len = in - k0 < NN_GEMV_DOT_CHUNK ? in - k0 : NN_GEMV_DOT_CHUNK;
        pack_x(xp, tail_x, x, N, in, k0, len);
        rows_any(y, xp, tail_x, W, N, in, out, k0, len, o0, o1);
    }
}

RG_ISA_END

void nn_gemv_bf16dot_avx512(float *y, const float *x, const uint16_t *W, int N, int in, int out) {
#pragma omp parallel
    {
        int o0, o1;
        nn_gemv_thread_rows(out, SPLIT_ROWS, &o0, &o1);
        if (o0 < o1) thread_rows(y, x, W, N, in, out, o0, o1);
    }
}

#endif /* RG_HAVE_X86_SIMD */
