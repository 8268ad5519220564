/* gemv_f32.h — the f32 linear layer for decode batches (see gemv_f32.c). */
#ifndef RG_GEMV_F32_H
#define RG_GEMV_F32_H

#include <stdint.h>

#include "base/isa.h"

#define RG_GEMV_MAX_ROWS 8

/* x[N,in] (1 <= N <= 8), W[out,in], bias[out] or NULL -> y[N,out] = x W^T + bias. */
void rg_gemv_f32(float *y, const float *x, const float *W, const float *bias, int N, int in, int out);

/* The same with a bf16 weight W[out,in]. */
void rg_gemv_bf16(float *y, const float *x, const uint16_t *W, const float *bias, int N, int in, int out);

/* Both follow nn_cpu_path() (src/nn/cpu.h): the AVX2 kernels below (also on
 * the AVX-512 path), or nn's plain-C GEMV on the ref path. */
#if RG_HAVE_X86_SIMD /* x86-64 only (base/isa.h) */
void rg_gemv_f32_avx2(float *y, const float *x, const float *W, const float *bias, int N, int in, int out);
void rg_gemv_bf16_avx2(float *y, const float *x, const uint16_t *W, const float *bias, int N, int in, int out);
#endif

#endif
