/* attention.c — causal grouped-query attention on sgemm.
 *
 * Per query head h (key/value head g = h / (n_heads / n_kv_heads)):
 *   S = scale * Q_h K_g^T (causal), P = softmax_rows(S), O_h = P V_g.
 * Heads run in parallel under OpenMP; the sgemm calls inside a parallel
 * region run single-threaded (OpenBLAS' OpenMP build), so the cores are
 * shared out by heads. Rows are done in blocks of ROW_BLOCK so that the
 * masked upper triangle is mostly not computed at all. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "nn/nn.h"
#include "nn/vecmath.h"

#define ROW_BLOCK 64

/* Softmax of row[0..valid) in place, zeroes row[valid..len). */
static void softmax_masked_row(float *row, int valid, int len) {
    nn_row_softmax(row, valid);
    memset(row + valid, 0, (size_t)(len - valid) * sizeof(float));
}

// q[T,n_heads,hd], k_cache/v_cache[P+T,n_kv_heads,hd] -> out[T,n_heads,hd], scratch[n_heads,T,P+T]
void nn_attention_forward_cached(float *out, float *scratch, const float *q, const float *k_cache,
                                 const float *v_cache, int T, int P, int n_heads, int n_kv_heads, int hd) {
    const int L = P + T, rep = n_heads / n_kv_heads;
    const int q_stride = n_heads * hd, kv_stride = n_kv_heads * hd;
    const float scale = 1.0f / sqrtf((float)hd);
    const int blocks = (T + ROW_BLOCK - 1) / ROW_BLOCK;
    /* Small work (decode: one query row per head) stays on one thread: a
     * parallel region costs more than ~1M multiply-adds, and far more when
     * the cores are shared. */
    const double work = (double)n_heads * T * L * hd;
#pragma omp parallel for schedule(dynamic) collapse(2) if (work > (1 << 22))
    for (int h = 0; h < n_heads; h++) {
        for (int b = 0; b < blocks; b++) {
            const int g = h / rep, t0 = b * ROW_BLOCK;
            const int rows = T - t0 < ROW_BLOCK ? T - t0 : ROW_BLOCK;
            const int cols = P + t0 + rows; /* keys the last row of the block can see */
            float *S = scratch + ((size_t)h * T + t0) * L;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, cols, hd, scale, q + (size_t)t0 * q_stride + h * hd,
                        q_stride, k_cache + (size_t)g * hd, kv_stride, 0.0f, S, L);
            for (int r = 0; r < rows; r++) softmax_masked_row(S + (size_t)r * L, P + t0 + r + 1, L);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, hd, cols, 1.0f, S, L,
                        v_cache + (size_t)g * hd, kv_stride, 0.0f, out + (size_t)t0 * q_stride + h * hd, q_stride);
        }
    }
}

// q[T,n_heads,hd], k/v[T,n_kv_heads,hd] -> out[T,n_heads,hd], probs[n_heads,T,T]
void nn_attention_forward(float *out, float *probs, const float *q, const float *k, const float *v, int T, int n_heads,
                          int n_kv_heads, int hd) {
    nn_attention_forward_cached(out, probs, q, k, v, T, 0, n_heads, n_kv_heads, hd);
}

size_t nn_attention_backward_scratch_floats(int T, int n_heads, int hd) {
    /* per head: dP[T,T], and its own dK, dV [T,hd] before the group sum */
    return (size_t)n_heads * ((size_t)T * T + 2 * (size_t)T * hd);
}

// dout[T,n_heads,hd], q, k, v, probs -> dq +=, dk +=, dv +=
void nn_attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dout, const float *q,
                           const float *k, const float *v, const float *probs, int T, int n_heads, int n_kv_heads,
                           int hd) {
    const int rep = n_heads / n_kv_heads;
    const int q_stride = n_heads * hd, kv_stride = n_kv_heads * hd;
    const float scale = 1.0f / sqrtf((float)hd);
    const size_t per_head = (size_t)T * T + 2 * (size_t)T * hd;
#pragma omp parallel for schedule(dynamic)
    for (int h = 0; h < n_heads; h++) {
        const int g = h / rep;
        const float *Ph = probs + (size_t)h * T * T;
        const float *dOh = dout + h * hd, *Qh = q + h * hd, *Kg = k + g * hd, *Vg = v + g * hd;
        float *dS = scratch + h * per_head, *dKh = dS + (size_t)T * T, *dVh = dKh + (size_t)T * hd;
        /* Query rows in blocks: rows t0.. see keys 0..t0+rows-1 only (causal). */
        for (int t0 = 0; t0 < T; t0 += ROW_BLOCK) {
            const int rows = T - t0 < ROW_BLOCK ? T - t0 : ROW_BLOCK, cols = t0 + rows;
            float *dSb = dS + (size_t)t0 * T;
            /* dP = dO_h V_g^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, cols, hd, 1.0f, dOh + (size_t)t0 * q_stride,
                        q_stride, Vg, kv_stride, 0.0f, dSb, T);
            /* softmax backward: dS = P * (dP - sum_j P dP); zero above the diagonal */
            for (int r = 0; r < rows; r++) {
                const int t = t0 + r;
                float *d = dSb + (size_t)r * T;
                nn_row_softmax_backward(d, Ph + (size_t)t * T, t + 1);
                memset(d + t + 1, 0, (size_t)(T - t - 1) * sizeof(float));
            }
            /* dQ_h += scale dS K_g */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, hd, cols, scale, dSb, T, Kg, kv_stride, 1.0f,
                        dq + (size_t)t0 * q_stride + h * hd, q_stride);
        }
        /* Key rows in blocks: keys j0.. are seen by queries j0..T-1 only.
         * dV_h = P^T dO_h ; dK_h = scale dS^T Q_h */
        for (int j0 = 0; j0 < T; j0 += ROW_BLOCK) {
            const int keys = T - j0 < ROW_BLOCK ? T - j0 : ROW_BLOCK, queries = T - j0;
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, keys, hd, queries, 1.0f, Ph + (size_t)j0 * T + j0, T,
                        dOh + (size_t)j0 * q_stride, q_stride, 0.0f, dVh + (size_t)j0 * hd, hd);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, keys, hd, queries, scale, dS + (size_t)j0 * T + j0, T,
                        Qh + (size_t)j0 * q_stride, q_stride, 0.0f, dKh + (size_t)j0 * hd, hd);
        }
    }
    /* Sum the per-head key/value gradients into their shared kv head. */
#pragma omp parallel for schedule(static) collapse(2)
    for (int g = 0; g < n_kv_heads; g++) {
        for (int t = 0; t < T; t++) {
            float *dk_row = dk + (size_t)t * kv_stride + g * hd, *dv_row = dv + (size_t)t * kv_stride + g * hd;
            for (int h = g * rep; h < (g + 1) * rep; h++) {
                const float *dKh = scratch + h * per_head + (size_t)T * T + (size_t)t * hd;
                const float *dVh = dKh + (size_t)T * hd;
                for (int i = 0; i < hd; i++) {
                    dk_row[i] += dKh[i];
                    dv_row[i] += dVh[i];
                }
            }
        }
    }
}
