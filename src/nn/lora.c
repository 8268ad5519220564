/* lora.c — the arithmetic of a LoRA adapter on one projection (nn.h):
 * y += scaling (x A^T) B^T, its backward, and the merge W += scaling B A.
 * Rank r is small (8-64), so each product is a thin sgemm; the order of the
 * operations is PEFT's: x A^T first, then the scaling with B. */
#include <cblas.h>

#include "nn/nn.h"

// x[N,in], A[r,in], B[out,r] -> xa[N,r] = x A^T (written); y[N,out] += scaling * xa B^T
void nn_lora_forward(float *y, float *xa, const float *x, const float *A, const float *B, float scaling, int N, int in,
                     int out, int r) {
    if (N <= 0) return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, r, in, 1.0f, x, in, A, in, 0.0f, xa, r);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, out, r, scaling, xa, r, B, r, 1.0f, y, out);
}

// dy[N,out], x[N,in], xa[N,r], A[r,in], B[out,r] -> dA[r,in] +=, dB[out,r] +=, dx[N,in] += (may be NULL)
void nn_lora_backward(float *dx, float *dA, float *dB, float *scratch, const float *dy, const float *x,
                      const float *xa, const float *A, const float *B, float scaling, int N, int in, int out, int r) {
    if (N <= 0) return;
    /* dB += s dy^T xa */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, r, N, scaling, dy, out, xa, r, 1.0f, dB, r);
    /* dxa[N, r] = s dy B */
    float *dxa = scratch;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, r, out, scaling, dy, out, B, r, 0.0f, dxa, r);
    /* dA += dxa^T x ; dx += dxa A */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r, in, N, 1.0f, dxa, r, x, in, 1.0f, dA, in);
    if (dx) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, in, r, 1.0f, dxa, r, A, in, 1.0f, dx, in);
}

// A[r,in], B[out,r] -> W[out,in] += scaling * B A
void nn_lora_merge(float *W, const float *A, const float *B, float scaling, int in, int out, int r) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, out, in, r, scaling, B, r, A, in, 1.0f, W, in);
}
