/* bf16dot.h — the prefill GEMM over a frozen bf16 weight with bf16 dot
 * products (internal to src/nn; nn_linear_bf16_forward dispatches to it):
 *   y[N,out] = bf16(x)[N,in] W^T (+ bias),   W[out,in] bf16 (HF layout),
 * x rounded to bf16 (nearest even, as torch's .to(torch.bfloat16)), every
 * product exact in f32 (8-bit x 8-bit significands), summed in f32 along
 * `in` in the order vdpbf16ps defines: for each pair of inputs (2p, 2p+1),
 * acc += x[2p+1] w[2p+1], then acc += x[2p] w[2p]; bias added last.
 * matmul_bf16dot_ref.c is that definition in plain C; matmul_bf16dot.c runs
 * it with AVX-512 BF16 (docs/kernels.md: blocking, numerics). */
#ifndef RG_NN_BF16DOT_H
#define RG_NN_BF16DOT_H

#include <stddef.h>
#include <stdint.h>

#include "nn/isa.h"

/* Register blocking of the AVX-512 kernel, which also shapes the scratch:
 * NN_BF16DOT_MR rows of x meet NN_BF16DOT_NR * 16 rows of W per micro-tile. */
#define NN_BF16DOT_MR 8
#define NN_BF16DOT_NR 3
#define NN_BF16DOT_PANEL (16 * NN_BF16DOT_NR) /* W rows per packed panel */

/* Floats of scratch either kernel needs for these sizes on `threads`
 * OpenMP threads (each packs its own panel of W). */
size_t nn_bf16dot_scratch_floats(int N, int in, int out, int threads);

// x[N,in] f32, W[out,in] bf16, bias[out] or NULL, scratch as sized above -> y[N,out]
void nn_bf16dot_ref(float *y, const float *x, const uint16_t *W, const float *bias, int N, int in, int out,
                    int threads, float *scratch);
#if RG_HAVE_X86_SIMD
// the same on AVX-512 BF16 (only where nn_cpu_has_avx512bf16(), cpu.h)
void nn_bf16dot_avx512(float *y, const float *x, const uint16_t *W, const float *bias, int N, int in, int out,
                       int threads, float *scratch);

/* The bf16 dot roof, for benches: `rounds` x 24 independent vdpbf16ps (16
 * lanes x 2 multiply-adds each) on every OpenMP thread; returns the FLOPs
 * done (2 per multiply-add), to divide by the time it took. Only where
 * nn_cpu_has_avx512bf16(). */
double nn_bf16dot_peak_run(long rounds);
#endif

/* x[N,in] rounded to bf16, row by row, each row padded to an even length
 * with 0: xp[N][ceil(in/2)] words, word p = x[2p] | x[2p+1] << 16 (the bf16
 * in their natural order). Plain C; the AVX-512 kernel has its own. */
void nn_bf16dot_pack_x(uint32_t *xp, const float *x, int N, int in);
/* Words nn_bf16dot_pack_x writes. */
size_t nn_bf16dot_packed_x_words(int N, int in);

#endif
