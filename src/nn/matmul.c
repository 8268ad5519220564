/* matmul.c — the f32 linear layer (Hugging Face layout W[out,in]) on
 * OpenBLAS sgemm (few rows: the streaming kernel of gemv.c). */
#include <cblas.h>

#include "nn/gemv.h"
#include "nn/nn.h"

/* Adds bias[out] to every row of y[N,out]. */
static void add_bias_rows(float *y, const float *bias, int N, int out) {
    if (!bias) return;
#pragma omp parallel for schedule(static) if ((size_t)N * out > (1u << 16))
    for (int n = 0; n < N; n++) {
        float *row = y + (size_t)n * out;
        for (int o = 0; o < out; o++) row[o] += bias[o];
    }
}

// x[N,in], W[out,in], bias[out] or NULL -> y[N,out]
void nn_linear_forward(float *y, const float *x, const float *W, const float *bias, int N, int in, int out) {
    if (N <= 0 || out <= 0) return;
    if (N <= NN_GEMV_MAX_ROWS) {
        /* Decode: memory bound. sgemm packs W (a second pass over every
         * byte) and sgemv takes one row; gemv.c reads W once for all N rows
         * (measured ~2x sgemm at N = 2..8 and ~1.5x sgemv at N = 1, see
         * docs/kernels.md). */
        nn_gemv_f32(y, x, W, N, in, out);
    } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, out, in, 1.0f, x, in, W, in, 0.0f, y, out);
    }
    add_bias_rows(y, bias, N, out);
}

// dy[N,out], x[N,in], W[out,in] -> dx[N,in] +=, dW[out,in] +=, dbias[out] +=
void nn_linear_backward(float *dx, float *dW, float *dbias, const float *dy, const float *x, const float *W, int N,
                        int in, int out) {
    if (N <= 0 || out <= 0 || in <= 0) return;
    if (dx) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, in, out, 1.0f, dy, out, W, in, 1.0f, dx, in);
    if (dW) cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, N, 1.0f, dy, out, x, in, 1.0f, dW, in);
    if (dbias) {
#pragma omp parallel for schedule(static) if ((size_t)N * out > (1u << 16))
        for (int o = 0; o < out; o++) {
            float sum = 0.0f;
            for (int n = 0; n < N; n++) sum += dy[(size_t)n * out + o];
            dbias[o] += sum;
        }
    }
}
