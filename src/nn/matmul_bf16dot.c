/* matmul_bf16dot.c — the bf16 dot-product GEMM (bf16dot.h) on AVX-512 BF16:
 * vdpbf16ps multiplies 16 pairs of bf16 and adds each pair's two products
 * to one f32 lane, twice the multiply-adds of an f32 FMA per instruction.
 *
 * Blocking (docs/kernels.md has the measurements):
 * - x is rounded to bf16 once per call into scratch (16 at a time, integer
 *   round-to-nearest-even: the bits of nn_f32_to_bf16), row-major; the
 *   micro-kernel broadcasts one 32-bit pair per row from 8 row streams.
 * - W is packed per thread, a panel of 48 rows at a time (all of `in`),
 *   as [pair][48 rows] ("VNNI" order): 3 zmm of W per pair of inputs
 *   (16 x 16 transposes of 32-bit pairs; scalar, it took 7% of a prefill).
 * - The micro-kernel keeps an 8 x 48 tile of y in 24 zmm accumulators and
 *   streams the panel along `in` (per pair: 3 loads, 8 broadcasts, 24
 *   vdpbf16ps); the panel (<= 48 * in * 2 bytes) stays in L2 while every
 *   row block of x passes by. Each output is summed along `in` in one lane,
 *   in order, so the result is exactly nn_bf16dot_ref's (up to the
 *   instruction's denormal flushing).
 * - Threads share out (panel, row range) items; a thread repacks only when
 *   its panel changes. */
#include <omp.h>
#include <string.h>

#include "nn/isa.h"
#include "nn/bf16dot.h"
#include "nn/nn.h"

#if RG_HAVE_X86_SIMD /* the whole file: x86-64 only (nn/isa.h) */
#include <immintrin.h>

RG_ISA_BEGIN("avx512f,avx512bw,avx512bf16")

#include "nn/avx512_inline.h"

#define MR NN_BF16DOT_MR
#define NR NN_BF16DOT_NR
#define PANEL NN_BF16DOT_PANEL

static void *align64(void *p) { return (void *)(((uintptr_t)p + 63) & ~(uintptr_t)63); }

/* r[i] = row i of a 16 x 16 block of 32-bit words -> r[k] = column k. */
static inline void transpose16(__m512i r[16]) {
    __m512i t[16], u[16];
    for (int i = 0; i < 16; i += 2) { /* per 128-bit lane: (r_i, r_i+1) interleaved */
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int g = 0; g < 16; g += 4) { /* u[g + c], lane L: column 4L + c of rows g..g+3 */
        u[g] = _mm512_unpacklo_epi64(t[g], t[g + 2]);
        u[g + 1] = _mm512_unpackhi_epi64(t[g], t[g + 2]);
        u[g + 2] = _mm512_unpacklo_epi64(t[g + 1], t[g + 3]);
        u[g + 3] = _mm512_unpackhi_epi64(t[g + 1], t[g + 3]);
    }
    for (int c = 0; c < 4; c++) { /* gather lane L of u[c], u[4+c], u[8+c], u[12+c] */
        __m512i v = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x44), w = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xee);
        __m512i v2 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x44);
        __m512i w2 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xee);
        r[c] = _mm512_shuffle_i32x4(v, v2, 0x88), r[4 + c] = _mm512_shuffle_i32x4(v, v2, 0xdd);
        r[8 + c] = _mm512_shuffle_i32x4(w, w2, 0x88), r[12 + c] = _mm512_shuffle_i32x4(w, w2, 0xdd);
    }
}

/* W rows [o0, o0+rows) -> wp[pairs][PANEL] bf16 pairs (missing rows and the
 * odd column 0): 16 rows x 16 pairs at a time by a transpose, the last
 * pairs one by one. */
static void pack_w(uint32_t *wp, const uint16_t *W, int in, int o0, int rows, size_t pairs) {
    const size_t full = (size_t)in / 2, vec = full / 16 * 16;
    for (int j0 = 0; j0 < PANEL; j0 += 16)
        for (size_t p0 = 0; p0 < vec; p0 += 16) {
            __m512i r[16];
            for (int i = 0; i < 16; i++)
                r[i] = j0 + i < rows ? _mm512_loadu_si512(W + (size_t)(o0 + j0 + i) * in + 2 * p0)
                                     : _mm512_setzero_si512();
            transpose16(r);
            for (int k = 0; k < 16; k++) _mm512_storeu_si512(wp + (p0 + k) * PANEL + j0, r[k]);
        }
    for (size_t p = vec; p < pairs; p++) {
        uint32_t *dst = wp + p * PANEL;
        for (int j = 0; j < rows; j++) {
            const uint16_t *w = W + (size_t)(o0 + j) * in + 2 * p;
            uint32_t v = w[0];
            if (p < full) memcpy(&v, w, sizeof v);
            dst[j] = v;
        }
        for (int j = rows; j < PANEL; j++) dst[j] = 0;
    }
}

/* nn_bf16dot_pack_x, 16 at a time: rows [n0, n1) of x -> xp[n][pairs]. */
static void pack_x_rows(uint32_t *xp, const float *x, int in, size_t pairs, int n0, int n1) {
    for (int n = n0; n < n1; n++) {
        const float *src = x + (size_t)n * in;
        uint16_t *dst = (uint16_t *)(xp + (size_t)n * pairs);
        int i = 0;
        for (; i + 16 <= in; i += 16) _mm256_storeu_si256((__m256i *)(dst + i), nn_round_bf16x16(_mm512_loadu_ps(src + i)));
        for (; i < in; i++) dst[i] = nn_f32_to_bf16(src[i]);
        if (in & 1) dst[in] = 0; /* the odd row's pad */
    }
}

/* y rows [n0, n0+mr) x outputs [o0, o0+cols) of the tile = x rows . wp[pairs][PANEL] (+ bias);
 * x row n at xp + n * pairs (rows past mr repeat the last, their sums dropped). */
static inline void tile(float *y, int out, int n0, int mr, int o0, int cols, const uint32_t *xp, const uint32_t *wp,
                        size_t pairs, const float *bias) {
    const uint32_t *xr[MR];
    for (int r = 0; r < MR; r++) xr[r] = xp + (size_t)(n0 + (r < mr ? r : mr - 1)) * pairs;
    __m512 acc[MR][NR];
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++)
#pragma GCC unroll 3
        for (int j = 0; j < NR; j++) acc[r][j] = _mm512_setzero_ps();
    for (size_t p = 0; p < pairs; p++) {
        __m512bh w[NR];
#pragma GCC unroll 3
        for (int j = 0; j < NR; j++) w[j] = (__m512bh)_mm512_loadu_si512(wp + p * PANEL + 16 * j);
#pragma GCC unroll 8
        for (int r = 0; r < MR; r++) {
            __m512bh xv = (__m512bh)_mm512_set1_epi32((int)xr[r][p]);
#pragma GCC unroll 3
            for (int j = 0; j < NR; j++) acc[r][j] = _mm512_dpbf16_ps(acc[r][j], xv, w[j]);
        }
    }
    for (int j = 0; j < NR; j++) {
        int left = cols - 16 * j;
        if (left <= 0) break;
        __mmask16 m = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
        __m512 b = bias ? _mm512_maskz_loadu_ps(m, bias + o0 + 16 * j) : _mm512_setzero_ps();
        for (int r = 0; r < mr; r++)
            _mm512_mask_storeu_ps(y + (size_t)(n0 + r) * out + o0 + 16 * j, m, _mm512_add_ps(acc[r][j], b));
    }
}

// x[N,in], W[out,in] bf16, bias[out] or NULL -> y[N,out]; scratch: nn_bf16dot_scratch_floats(N, in, out, threads)
void nn_bf16dot_avx512(float *y, const float *x, const uint16_t *W, const float *bias, int N, int in, int out,
                       int threads, float *scratch) {
    if (N <= 0 || out <= 0) return;
    const size_t pairs = ((size_t)in + 1) / 2;
    uint32_t *xp = align64(scratch);
    uint32_t *wbase = align64(xp + nn_bf16dot_packed_x_words(N, in));
    const int panels = (out + PANEL - 1) / PANEL, blocks = (N + MR - 1) / MR, nth = threads;
    /* Items of (panel, row range), at least 16 per thread so that dynamic
     * scheduling evens out (a panel split over threads is packed by each,
     * cheap next to its multiply), each at least 4 row blocks. */
    int chunks = (16 * nth + panels - 1) / panels;
    if (chunks > blocks / 4) chunks = blocks / 4 > 1 ? blocks / 4 : 1;
#pragma omp parallel num_threads(nth)
    {
        const int tid = omp_get_thread_num();
        pack_x_rows(xp, x, in, pairs, (int)((long)N * tid / nth), (int)((long)N * (tid + 1) / nth));
        uint32_t *wp = wbase + (size_t)tid * (pairs * PANEL + 16);
        int packed = -1;
#pragma omp barrier
#pragma omp for schedule(dynamic)
        for (int it = 0; it < panels * chunks; it++) {
            int panel = it / chunks, chunk = it % chunks;
            int o0 = panel * PANEL, cols = out - o0 < PANEL ? out - o0 : PANEL;
            if (packed != panel) pack_w(wp, W, in, o0, cols, pairs), packed = panel;
            int b1 = (int)((long)blocks * (chunk + 1) / chunks);
            for (int b = (int)((long)blocks * chunk / chunks); b < b1; b++) {
                int n0 = b * MR, mr = N - n0 < MR ? N - n0 : MR;
                tile(y, out, n0, mr, o0, cols, xp, wp, pairs, bias);
            }
        }
    }
}

/* One thread's share of the peak loop. A function of its own: clang outlines
 * an OpenMP region into a function that does not inherit the ISA attribute,
 * so no AVX-512 value may live in the region itself. Returns the sum of the
 * accumulators (kept so the loop cannot be folded). */
static double peak_one_thread(long rounds) {
    __m512 acc[24];
    for (int i = 0; i < 24; i++) acc[i] = _mm512_setzero_ps();
    __m512bh x = (__m512bh)_mm512_set1_epi32(0x3f803f80), w = (__m512bh)_mm512_set1_epi32(0x24002400);
    for (long it = 0; it < rounds; it++) {
#pragma GCC unroll 24
        for (int i = 0; i < 24; i++) acc[i] = _mm512_dpbf16_ps(acc[i], x, w);
        __asm__ volatile("" : "+v"(x)); /* keeps the loop from being folded */
    }
    __m512 sum = acc[0];
    for (int i = 1; i < 24; i++) sum = _mm512_add_ps(sum, acc[i]);
    return _mm512_reduce_add_ps(sum);
}

double nn_bf16dot_peak_run(long rounds) {
    double flops = 0, sink = 0;
#pragma omp parallel reduction(+ : flops, sink)
    {
        sink = peak_one_thread(rounds);
        flops = (double)rounds * 24 * 16 * 2 * 2;
    }
    return sink < 0 ? -flops : flops; /* sink >= 0: the sums are used */
}

RG_ISA_END
#endif /* RG_HAVE_X86_SIMD */
