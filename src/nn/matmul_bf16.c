/* matmul_bf16.c — the linear layer over a frozen bf16 weight W[out,in].
 *
 * Decode (N <= 8 rows) is memory bound: gemv.c streams W once for all
 * rows (AVX2 + FMA, bf16 -> f32 by a 16-bit shift).
 * Larger N is compute bound: W is widened to f32 a panel of rows at a time
 * and multiplied with sgemm, so the f32 copy never exceeds one panel. */
#include <cblas.h>
#include <stdlib.h>

#include "nn/gemv.h"
#include "nn/nn.h"

#define SMALL_N_MAX NN_GEMV_MAX_ROWS
#define PANEL_ROWS 256

/* Panels of W widened to f32 for sgemm; NULL when memory is short (callers
 * then fall back to the streaming kernel, slower but correct). */
static float *panel_buffer(int in) { return malloc((size_t)PANEL_ROWS * in * sizeof(float)); }

// x[N,in], W[out,in] bf16, bias[out] or NULL -> y[N,out]
void nn_linear_bf16_forward(float *y, const float *x, const uint16_t *W, const float *bias, int N, int in, int out) {
    if (N <= 0 || out <= 0) return;
    float *panel = N > SMALL_N_MAX ? panel_buffer(in) : NULL;
    if (!panel) {
        for (int n0 = 0; n0 < N; n0 += SMALL_N_MAX) {
            int rows = N - n0 < SMALL_N_MAX ? N - n0 : SMALL_N_MAX;
            nn_gemv_bf16(y + (size_t)n0 * out, x + (size_t)n0 * in, W, rows, in, out);
        }
    } else {
        for (int o0 = 0; o0 < out; o0 += PANEL_ROWS) {
            int rows = out - o0 < PANEL_ROWS ? out - o0 : PANEL_ROWS;
            nn_bf16_to_f32_array(panel, W + (size_t)o0 * in, (size_t)rows * in);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, rows, in, 1.0f, x, in, panel, in, 0.0f, y + o0,
                        out);
        }
        free(panel);
    }
    if (bias) {
#pragma omp parallel for schedule(static) if ((size_t)N * out > (1u << 16))
        for (int n = 0; n < N; n++)
            for (int o = 0; o < out; o++) y[(size_t)n * out + o] += bias[o];
    }
}

// dy[N,out], W[out,in] bf16 -> dx[N,in] +=
void nn_linear_bf16_backward_input(float *dx, const float *dy, const uint16_t *W, int N, int in, int out) {
    if (N <= 0 || out <= 0 || in <= 0) return;
    float *panel = N > SMALL_N_MAX ? panel_buffer(in) : NULL;
    if (panel) {
        for (int o0 = 0; o0 < out; o0 += PANEL_ROWS) {
            int rows = out - o0 < PANEL_ROWS ? out - o0 : PANEL_ROWS;
            nn_bf16_to_f32_array(panel, W + (size_t)o0 * in, (size_t)rows * in);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, in, rows, 1.0f, dy + o0, out, panel, in, 1.0f,
                        dx, in);
        }
        free(panel);
        return;
    }
    /* Few rows (or no memory for a panel): each thread owns a slice of the
     * input columns, so the accumulation into dx has no races. */
#pragma omp parallel for schedule(static)
    for (int c0 = 0; c0 < in; c0 += 64) {
        int c1 = c0 + 64 < in ? c0 + 64 : in;
        for (int o = 0; o < out; o++) {
            const uint16_t *w = W + (size_t)o * in;
            for (int n = 0; n < N; n++) {
                float g = dy[(size_t)n * out + o];
                float *d = dx + (size_t)n * in;
                for (int c = c0; c < c1; c++) d[c] += g * nn_bf16_to_f32(w[c]);
            }
        }
    }
}
