/* gemv_bf16_avx512.c — the bf16 decode kernel for CPUs with AVX-512
 * (chosen at run time; the build itself targets x86-64-v3): y[N,out] =
 * x[N,in] W^T for N <= 8 rows, bf16 W read from memory exactly once, f32
 * activations and f32 products (the same products as gemv_ref.c; only the
 * order of the sums differs).
 *
 * Widening by halves. A bf16 value is the top half of an f32, so 32 bf16
 * weights loaded as 16 32-bit lanes give their 16 even-indexed weights as
 * f32 by a left shift of 16 and their 16 odd-indexed ones by clearing the
 * low half: two one-cycle integer ops per 32 weights (vpmovzxwd + shift,
 * 16 at a time, took four). The inputs are permuted to match, once per
 * call: each block of 32 becomes its 16 even inputs, then its 16 odd ones.
 *
 * N = 1: each thread walks its rows as one sequential stream (the
 * hardware prefetcher's best case). N = 2..8: 3 weight rows x N inputs per
 * step (up to 24 accumulators, each weight vector used N times, each input
 * vector 3 times), with a prefetch into L2 of the next 3 rows at the same
 * offset: without it three interleaved streams ran at half the speed of one.
 * Measured in docs/kernels.md ("bf16 decode by halves"). */

#include "nn/isa.h"
#include "nn/gemv.h"
#include "nn/nn.h"

#if RG_HAVE_X86_SIMD /* the whole file: x86-64 only (nn/isa.h) */
#include <immintrin.h>
#include <omp.h>

RG_ISA_BEGIN("avx512f,fma")

#include "nn/avx512_inline.h"

/* Permuted inputs of one chunk of `in`, per thread, on its stack (160 KiB):
 * all of `in` up to 5120 inputs at N = 8 (Qwen2.5-0.5B's 4864; one chunk
 * measured 0-4% faster than three), 40960 at N = 1. */
#define XP_FLOATS 40960
#define ROWS 3        /* weight rows per step at N >= 2 */
#define SPLIT_ROWS 4  /* threads split the output rows in multiples of this */
/* Keeps a loaded vector in a register: GCC would otherwise fold the load into
 * each of the R multiply-adds that use it, tripling the loads (Zen 4 does one
 * 64-byte load per cycle, one per multiply-add then: measured 1.3x slower). */
#define KEEP_IN_REGISTER(v) __asm__("" : "+v"(v))

/* The inputs of one chunk [k0, k0 + len), interleaved by blocks of 32: block
 * b holds, for each input row j < N in turn, x[j, k0 + 32b + 2k] (k < 16)
 * then x[j, k0 + 32b + 2k + 1]; so one pointer and constant offsets reach
 * every row in the kernels. The tail (len % 32 inputs) follows, row by row. */
static void permute_x(float *xp, const float *x, int N, int in, int k0, int len) {
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const int len32 = len & ~31, tail = len - len32;
    for (int j = 0; j < N; j++) {
        const float *xr = x + (size_t)j * in + k0;
        for (int b = 0; b < len32; b += 32) {
            __m512 lo = _mm512_loadu_ps(xr + b), hi = _mm512_loadu_ps(xr + b + 16);
            float *pb = xp + (size_t)b * N + 32 * j;
            _mm512_storeu_ps(pb, _mm512_permutex2var_ps(lo, even, hi));
            _mm512_storeu_ps(pb + 16, _mm512_permutex2var_ps(lo, odd, hi));
        }
        for (int t = 0; t < tail; t++) xp[(size_t)len32 * N + j * tail + t] = xr[len32 + t];
    }
}

/* The 16 even / 16 odd weights of 32 bf16 as f32. */
static inline __m512 even_half(const uint16_t *w) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_loadu_si512(w), 16));
}
static inline __m512 odd_half(const uint16_t *w) {
    return _mm512_castsi512_ps(_mm512_and_si512(_mm512_loadu_si512(w), _mm512_set1_epi32((int)0xFFFF0000u)));
}

/* y[o] (+)= W[o, k0:k0+len] . x for o in [o0, o1), N = 1 (xp: this chunk, permuted). */
static void rows_x1(float *y, const float *xp, const uint16_t *W, int in, int k0, int len, int o0, int o1) {
    const int len64 = len & ~63, len32 = len & ~31;
    for (int o = o0; o < o1; o++) {
        const uint16_t *w = W + (size_t)o * in + k0;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0; /* 4 chains: FMA latency */
        int i = 0;
        for (; i < len64; i += 64) {
            a0 = _mm512_fmadd_ps(even_half(w + i), _mm512_loadu_ps(xp + i), a0);
            a1 = _mm512_fmadd_ps(odd_half(w + i), _mm512_loadu_ps(xp + i + 16), a1);
            a2 = _mm512_fmadd_ps(even_half(w + i + 32), _mm512_loadu_ps(xp + i + 32), a2);
            a3 = _mm512_fmadd_ps(odd_half(w + i + 32), _mm512_loadu_ps(xp + i + 48), a3);
        }
        if (i < len32) {
            a0 = _mm512_fmadd_ps(even_half(w + i), _mm512_loadu_ps(xp + i), a0);
            a1 = _mm512_fmadd_ps(odd_half(w + i), _mm512_loadu_ps(xp + i + 16), a1);
            i += 32;
        }
        float sum = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
        for (; i < len; i++) sum += nn_bf16_to_f32(w[i]) * xp[i];
        y[o] = k0 ? y[o] + sum : sum;
    }
}

/* y[j, o + r] (+)= W[o + r, k0:k0+len] . x_j for r < R, j < NX (both constants
 * once inlined); w = &W[o, k0]; pf: where to prefetch (the next R rows). */
static inline __attribute__((always_inline)) void block(float *y, const float *xp, const uint16_t *w,
                                                        const uint16_t *pf, int in, int out, int len, int add,
                                                        const int R, const int NX) {
    const int len32 = len & ~31;
    __m512 a[ROWS][NN_GEMV_MAX_ROWS];
#pragma GCC unroll 3
    for (int r = 0; r < R; r++)
#pragma GCC unroll 8
        for (int j = 0; j < NX; j++) a[r][j] = _mm512_setzero_ps();
    const float *xb = xp;
    for (int i = 0; i < len32; i += 32, xb += 32 * NX) {
        __m512 wv[ROWS];
#pragma GCC unroll 3
        for (int r = 0; r < R; r++) _mm_prefetch((const char *)(pf + (size_t)r * in + i), _MM_HINT_T1);
#pragma GCC unroll 2
        for (int half = 0; half < 2; half++) {
#pragma GCC unroll 3
            for (int r = 0; r < R; r++) wv[r] = half ? odd_half(w + (size_t)r * in + i) : even_half(w + (size_t)r * in + i);
#pragma GCC unroll 8
            for (int j = 0; j < NX; j++) {
                __m512 xv = _mm512_loadu_ps(xb + 32 * j + 16 * half);
                KEEP_IN_REGISTER(xv);
#pragma GCC unroll 3
                for (int r = 0; r < R; r++) a[r][j] = _mm512_fmadd_ps(wv[r], xv, a[r][j]);
            }
        }
    }
    const int tail = len - len32;
    const float *xt = xp + (size_t)len32 * NX;
    float sums[ROWS][NN_GEMV_MAX_ROWS];
#pragma GCC unroll 3
    for (int r = 0; r < R; r++)
#pragma GCC unroll 2
        for (int j = 0; j < NX; j += 4) /* past NX: repeats of the last accumulator, not stored */
            nn_hsum4(&sums[r][j], a[r][j], a[r][j + 1 < NX ? j + 1 : NX - 1], a[r][j + 2 < NX ? j + 2 : NX - 1],
                  a[r][j + 3 < NX ? j + 3 : NX - 1]);
    for (int r = 0; r < R; r++)
        for (int j = 0; j < NX; j++) {
            float sum = sums[r][j];
            for (int t = 0; t < tail; t++) sum += nn_bf16_to_f32(w[(size_t)r * in + len32 + t]) * xt[j * tail + t];
            float *yo = y + (size_t)j * out + r;
            *yo = add ? *yo + sum : sum;
        }
}

/* Rows [o0, o1) at NX inputs: blocks of ROWS, then single rows. */
static inline __attribute__((always_inline)) void rows_xn(float *y, const float *xp, const uint16_t *W, int in,
                                                          int out, int k0, int len, int o0, int o1, const int NX) {
    int o = o0;
    for (; o + ROWS <= o1; o += ROWS) {
        const uint16_t *w = W + (size_t)o * in + k0;
        block(y + o, xp, w, o + 2 * ROWS <= o1 ? w + (size_t)ROWS * in : w, in, out, len, k0 > 0, ROWS, NX);
    }
    for (; o < o1; o++) {
        const uint16_t *w = W + (size_t)o * in + k0;
        block(y + o, xp, w, w, in, out, len, k0 > 0, 1, NX);
    }
}

static void rows_any(float *y, const float *xp, const uint16_t *W, int N, int in, int out, int k0, int len, int o0,
                     int o1) {
    switch (N) {
    case 1: rows_x1(y, xp, W, in, k0, len, o0, o1); break;
    case 2: rows_xn(y, xp, W, in, out, k0, len, o0, o1, 2); break;
    case 3: rows_xn(y, xp, W, in, out, k0, len, o0, o1, 3); break;
    case 4: rows_xn(y, xp, W, in, out, k0, len, o0, o1, 4); break;
    case 5: rows_xn(y, xp, W, in, out, k0, len, o0, o1, 5); break;
    case 6: rows_xn(y, xp, W, in, out, k0, len, o0, o1, 6); break;
    case 7: rows_xn(y, xp, W, in, out, k0, len, o0, o1, 7); break;
    default: rows_xn(y, xp, W, in, out, k0, len, o0, o1, 8); break;
    }
}

/* One thread's output rows [o0, o1), `in` in chunks whose permuted inputs fit xp. */
static void thread_rows(float *y, const float *x, const uint16_t *W, int N, int in, int out, int o0, int o1) {
    _Alignas(64) float xp[XP_FLOATS];
    const int chunk = in <= XP_FLOATS / N ? in : (XP_FLOATS / N) & ~31;
    for (int k0 = 0; k0 < in; k0 += chunk) {
        const int len = in - k0 < chunk ? in - k0 : chunk;
        permute_x(xp, x, N, in, k0, len);
        rows_any(y, xp, W, N, in, out, k0, len, o0, o1);
    }
}

RG_ISA_END

/* Output rows split into one contiguous range per thread: each thread streams its own part of W. */
void nn_gemv_bf16_avx512(float *y, const float *x, const uint16_t *W, int N, int in, int out) {
#pragma omp parallel
    {
        int o0, o1;
        nn_gemv_thread_rows(out, SPLIT_ROWS, &o0, &o1);
        if (o0 < o1) thread_rows(y, x, W, N, in, out, o0, o1);
    }
}

#endif /* RG_HAVE_X86_SIMD */
