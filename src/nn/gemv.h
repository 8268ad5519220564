/* gemv.h — decode kernels (internal to src/nn): y[N,out] = x[N,in] W^T for
 * N <= NN_GEMV_MAX_ROWS rows, reading the weight W[out,in] exactly once.
 * nn_linear_forward and nn_linear_bf16_forward call them for small N. */
#ifndef RG_NN_GEMV_H
#define RG_NN_GEMV_H

#include <stdint.h>

#include "nn/isa.h"

#define NN_GEMV_MAX_ROWS 8

// x[N,in], W[out,in] bf16 -> y[N,out], 1 <= N <= 8 (the path of nn_cpu_path, cpu.h)
void nn_gemv_bf16(float *y, const float *x, const uint16_t *W, int N, int in, int out);
// x[N,in], W[out,in] f32 -> y[N,out], 1 <= N <= 8 (the path of nn_cpu_path, cpu.h)
void nn_gemv_f32(float *y, const float *x, const float *W, int N, int in, int out);

/* The implementations behind them (tests compare each SIMD one with ref): */
void nn_gemv_bf16_ref(float *y, const float *x, const uint16_t *W, int N, int in, int out);
void nn_gemv_f32_ref(float *y, const float *x, const float *W, int N, int in, int out);
#if RG_HAVE_X86_SIMD /* x86-64 only (nn/isa.h) */
void nn_gemv_bf16_avx2(float *y, const float *x, const uint16_t *W, int N, int in, int out);
void nn_gemv_f32_avx2(float *y, const float *x, const float *W, int N, int in, int out);
void nn_gemv_bf16_avx512(float *y, const float *x, const uint16_t *W, int N, int in, int out);
void nn_gemv_f32_avx512(float *y, const float *x, const float *W, int N, int in, int out);
#endif

#endif
