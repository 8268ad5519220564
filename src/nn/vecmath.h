/* vecmath.h — vectorised reductions over long rows (internal to src/nn):
 * the vocabulary rows of softmax, cross-entropy and the JSD, where scalar
 * expf would dominate. AVX2 + glibc's libmvec (8-wide expf/logf, <= 4 ulp),
 * or plain C with libm (vecmath_ref.c) on the ref path (cpu.h); each entry
 * point below runs the one nn_cpu_path() names. AVX-512 uses the AVX2 ones. */
#ifndef RG_NN_VECMATH_H
#define RG_NN_VECMATH_H

#include "nn/isa.h"

// x[n] -> max (-inf when n == 0)
float nn_row_max(const float *x, int n);
// x[n] -> log(sum(exp(x))), stable; the sum in double; -inf when every x is -inf
double nn_row_logsumexp(const float *x, int n);
// x[n] -> out[n] = scale * exp(x - shift); out may alias x
void nn_row_exp(float *out, const float *x, float shift, float scale, int n);

// row[valid] -> softmax in place, in f32 (attention rows: short, sums in f32)
void nn_row_softmax(float *row, int valid);
// d[n], p[n] -> d = p * (d - sum(p * d)) in place: softmax backward of one row
void nn_row_softmax_backward(float *d, const float *p, int n);

/* The implementations behind them (tests compare the two); AVX2 on x86-64 only (nn/isa.h). */
#if RG_HAVE_X86_SIMD
float nn_row_max_avx2(const float *x, int n);
double nn_row_logsumexp_avx2(const float *x, int n);
void nn_row_exp_avx2(float *out, const float *x, float shift, float scale, int n);
void nn_row_softmax_avx2(float *row, int valid);
void nn_row_softmax_backward_avx2(float *d, const float *p, int n);
#endif
float nn_row_max_ref(const float *x, int n);
double nn_row_logsumexp_ref(const float *x, int n);
void nn_row_exp_ref(float *out, const float *x, float shift, float scale, int n);
void nn_row_softmax_ref(float *row, int valid);
void nn_row_softmax_backward_ref(float *d, const float *p, int n);

#endif
