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

/* ---- bf16 dot decode (gemv.h gives the order; the AVX-512 BF16 kernel keeps it) ---- */

static float bf16_rounded(float v) { return nn_bf16_to_f32(nn_f32_to_bf16(v)); }

float nn_gemv_bf16dot_tail(float sum, const float *xt, const uint16_t *wt, int n) {
    for (int i = 0; i < n; i += 2) {
        if (i + 1 < n) sum += bf16_rounded(xt[i + 1]) * nn_bf16_to_f32(wt[i + 1]); /* exact product, one rounding */
        sum += bf16_rounded(xt[i]) * nn_bf16_to_f32(wt[i]);
    }
    return sum;
}

/* One chunk of one output: w, x at the chunk's start, len inputs. */
static float dot_chunk(const uint16_t *w, const float *x, int len) {
    const int len32 = len & ~31;
    float acc[16] = {0};
    for (int b = 0; b < len32; b += 32)
        for (int l = 0; l < 16; l++) {
            int i = b + 2 * l;
            acc[l] += bf16_rounded(x[i + 1]) * nn_bf16_to_f32(w[i + 1]);
            acc[l] += bf16_rounded(x[i]) * nn_bf16_to_f32(w[i]);
        }
    float q[4];
    for (int k = 0; k < 4; k++) q[k] = (acc[4 * k] + acc[4 * k + 2]) + (acc[4 * k + 1] + acc[4 * k + 3]);
    float sum = (q[0] + q[2]) + (q[1] + q[3]);
    return nn_gemv_bf16dot_tail(sum, x + len32, w + len32, len - len32);
}

void nn_gemv_bf16dot_ref(float *y, const float *x, const uint16_t *W, int N, int in, int out) {
#pragma omp parallel for schedule(static)
    for (int o = 0; o < out; o++) {
        const uint16_t *w = W + (size_t)o * in;
        for (int n = 0; n < N; n++) {
            const float *xr = x + (size_t)n * in;
            float sum = 0.0f;
            for (int k0 = 0; k0 < in; k0 += NN_GEMV_DOT_CHUNK) {
                int len = in - k0 < NN_GEMV_DOT_CHUNK ? in - k0 : NN_GEMV_DOT_CHUNK;
                float part = dot_chunk(w + k0, xr + k0, len);
                sum = k0 ? sum + part : part;
            }
            y[(size_t)n * out + o] = sum;
        }
    }
}
