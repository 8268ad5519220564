/* gemv_ref.c — the plain-C decode kernels: y[N,out] = x[N,in] W^T, one dot
 * product per output, summed in input order in f32.
 *
 * The specification the AVX2 / AVX-512 kernels (gemv.c, gemv_avx512.c) are
 * tested against, and what RGSD_KERNELS=ref or a CPU without AVX2/FMA runs.
 * Compiled for the build's -march only (no isa.h region), so a portable
 * build runs it anywhere. Output rows are split across threads as in the
 * SIMD kernels; the result does not depend on the thread count. */

#include "nn/gemv.h"

#include "nn/nn.h"

void nn_gemv_bf16_ref(float *y, const float *x, const uint16_t *W, int N, int in, int out) {
#pragma omp parallel for schedule(static)
    for (int o = 0; o < out; o++) {
        const uint16_t *w = W + (size_t)o * in;
        for (int n = 0; n < N; n++) {
            const float *xr = x + (size_t)n * in;
            float sum = 0.0f;
            for (int i = 0; i < in; i++) sum += nn_bf16_to_f32(w[i]) * xr[i];
            y[(size_t)n * out + o] = sum;
        }
    }
}

void nn_gemv_f32_ref(float *y, const float *x, const float *W, int N, int in, int out) {
#pragma omp parallel for schedule(static)
    for (int o = 0; o < out; o++) {
        const float *w = W + (size_t)o * in;
        for (int n = 0; n < N; n++) {
            const float *xr = x + (size_t)n * in;
            float sum = 0.0f;
            for (int i = 0; i < in; i++) sum += w[i] * xr[i];
            y[(size_t)n * out + o] = sum;
        }
    }
}
