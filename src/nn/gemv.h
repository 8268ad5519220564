/* gemv.h — decode kernels (internal to src/nn): y[N,out] = x[N,in] W^T for
 * N <= NN_GEMV_MAX_ROWS rows, reading the weight W[out,in] exactly once.
 * nn_linear_forward and nn_linear_bf16_forward call them for small N. */
#ifndef RG_NN_GEMV_H
#define RG_NN_GEMV_H

#include <stdint.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "nn/isa.h"

#define NN_GEMV_MAX_ROWS 8

/* Inside an OpenMP parallel region: the calling thread's rows [*o0, *o1) of
 * `out`, contiguous and in multiples of `block` (each thread streams its own
 * part of W); empty when *o0 >= *o1. */
static inline void nn_gemv_thread_rows(int out, int block, int *o0, int *o1) {
#ifdef _OPENMP
    const int nth = omp_get_num_threads(), tid = omp_get_thread_num();
#else
    const int nth = 1, tid = 0;
#endif
    const int blocks = (out + block - 1) / block;
    *o0 = (int)((long)blocks * tid / nth) * block;
    *o1 = (int)((long)blocks * (tid + 1) / nth) * block;
    if (*o1 > out) *o1 = out;
}

// x[N,in], W[out,in] bf16 -> y[N,out], 1 <= N <= 8 (the path of nn_cpu_path, cpu.h)
void nn_gemv_bf16(float *y, const float *x, const uint16_t *W, int N, int in, int out);
// x[N,in], W[out,in] f32 -> y[N,out], 1 <= N <= 8 (the path of nn_cpu_path, cpu.h)
void nn_gemv_f32(float *y, const float *x, const float *W, int N, int in, int out);

/* bf16 dot decode: y[N,out] = bf16(x)[N,in] W^T for 1 <= N <= 8, x rounded
 * to bf16 as nn_f32_to_bf16 does (as the bf16 prefill of matmul_bf16dot.c),
 * every product exact in f32. What inference runs over a bf16 weight where
 * nn_bf16dot_in_use() (AVX-512 BF16, or RGSD_KERNELS=ref), so a rollout's
 * prompt and its generated tokens see the same rounding. The order of the
 * sums, which the AVX-512 BF16 kernel and the plain-C one share (so they
 * agree bit for bit, up to vdpbf16ps's denormal flushing), and which does not
 * depend on N or on the thread count:
 *   - `in` in chunks of NN_GEMV_DOT_CHUNK inputs; y = chunk 0's sum, then
 *     y += each next chunk's sum;
 *   - in a chunk, 16 lanes; block b (inputs 32b .. 32b+31 of the chunk)
 *     gives lane l the pair (i, i+1), i = 32b + 2l, as vdpbf16ps does:
 *     acc_l = (acc_l + x[i+1] w[i+1]) + x[i] w[i];
 *   - the lanes summed as a tree: q_k = (acc_4k + acc_4k+2) + (acc_4k+1 +
 *     acc_4k+3), sum = (q_0 + q_2) + (q_1 + q_3);
 *   - the chunk's last len % 32 inputs after it, pair by pair in the same
 *     way (nn_gemv_bf16dot_tail; an odd last input pairs with 0). */
#define NN_GEMV_DOT_CHUNK 8192
void nn_gemv_bf16dot(float *y, const float *x, const uint16_t *W, int N, int in, int out);
// sum + the pairs of xt[0:n] (f32, rounded here) . wt[0:n], in the order above
float nn_gemv_bf16dot_tail(float sum, const float *xt, const uint16_t *wt, int n);

/* The implementations behind them (tests compare each SIMD one with ref): */
void nn_gemv_bf16dot_ref(float *y, const float *x, const uint16_t *W, int N, int in, int out);
void nn_gemv_bf16_ref(float *y, const float *x, const uint16_t *W, int N, int in, int out);
void nn_gemv_f32_ref(float *y, const float *x, const float *W, int N, int in, int out);
#if RG_HAVE_X86_SIMD /* x86-64 only (nn/isa.h) */
void nn_gemv_bf16_avx2(float *y, const float *x, const uint16_t *W, int N, int in, int out);
void nn_gemv_f32_avx2(float *y, const float *x, const float *W, int N, int in, int out);
void nn_gemv_bf16_avx512(float *y, const float *x, const uint16_t *W, int N, int in, int out);
void nn_gemv_f32_avx512(float *y, const float *x, const float *W, int N, int in, int out);
// only where nn_cpu_has_avx512bf16() (cpu.h)
void nn_gemv_bf16dot_avx512(float *y, const float *x, const uint16_t *W, int N, int in, int out);
#endif

#endif
