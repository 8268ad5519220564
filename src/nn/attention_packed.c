/* attention_packed.c — causal GQA attention over packed segments, saving
 * only a log-sum-exp per (row, head) for backward (FlashAttention-2 style).
 *
 * N rows hold B sequences back to back: segment s is rows
 * seq_start[s]..seq_start[s+1]-1, and a query attends to the keys of its own
 * segment up to itself, never across. Forward keeps lse[N, n_heads]; backward
 * recomputes each probability row as p_j = exp(scale q.k_j - lse) instead of
 * keeping probs[n_heads, T, T] per layer, so what training keeps per layer
 * grows as N, not as T^2.
 *
 * Both passes work on blocks of ROWS query rows with sgemm (the inner sgemm
 * runs single-threaded inside the OpenMP region); a block's score rows live
 * in the caller's scratch, one slot per thread, ROWS x (longest segment)
 * floats each, so nothing is allocated here. Forward runs in parallel over
 * (segment, head, row block); backward over (segment, kv head), so the query
 * heads that share one k/v head accumulate dk/dv in one thread (no race). */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "nn/nn.h"
#include "nn/vecmath.h"

#define ROWS 64

size_t nn_attention_packed_scratch_floats(int max_len) { return 2 * (size_t)ROWS * (size_t)(max_len > 0 ? max_len : 1); }

static int longest(const int32_t *seq_start, int B) {
    int m = 0;
    for (int s = 0; s < B; s++) m = seq_start[s + 1] - seq_start[s] > m ? seq_start[s + 1] - seq_start[s] : m;
    return m;
}

/* Row r of a block: causal softmax over keys [0, valid) in place, zero after; returns the lse. */
static float softmax_row_lse(float *row, int valid, int cols) {
    float m = nn_row_max(row, valid);
    nn_row_exp(row, row, m, 1.0f, valid);
    double sum = 0;
    for (int j = 0; j < valid; j++) sum += row[j];
    const float inv = (float)(1.0 / sum);
    for (int j = 0; j < valid; j++) row[j] *= inv;
    memset(row + valid, 0, (size_t)(cols - valid) * sizeof(float));
    return m + (float)log(sum);
}

/* One (segment, head, row block): rows t0..t0+rows-1 of a segment of len rows at q/k/v/out/lse. */
static void forward_block(float *out, float *lse, const float *q, const float *k, const float *v, float *S, int t0,
                          int rows, int h, int g, int n_heads, int n_kv_heads, int hd) {
    const int q_stride = n_heads * hd, kv_stride = n_kv_heads * hd, cols = t0 + rows;
    const float scale = 1.0f / sqrtf((float)hd);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, cols, hd, scale, q + (size_t)t0 * q_stride + h * hd,
                q_stride, k + (size_t)g * hd, kv_stride, 0.0f, S, cols);
    for (int r = 0; r < rows; r++)
        lse[(size_t)(t0 + r) * n_heads + h] = softmax_row_lse(S + (size_t)r * cols, t0 + r + 1, cols);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, hd, cols, 1.0f, S, cols, v + (size_t)g * hd,
                kv_stride, 0.0f, out + (size_t)t0 * q_stride + h * hd, q_stride);
}

// q[N,n_heads,hd], k/v[N,n_kv_heads,hd], seq_start[B+1] -> out[N,n_heads,hd], lse[N,n_heads]
void nn_attention_packed_forward(float *out, float *lse, const float *q, const float *k, const float *v,
                                 const int32_t *seq_start, int B, int n_heads, int n_kv_heads, int hd, float *scratch,
                                 int n_slots) {
    const int rep = n_heads / n_kv_heads;
    const size_t scratch_stride = nn_attention_packed_scratch_floats(longest(seq_start, B));
    const double work = (double)n_heads * hd * seq_start[B] * (seq_start[B] / (B > 0 ? B : 1));
#pragma omp parallel num_threads(n_slots) if (work > (1 << 22))
    {
        float *S = scratch + (size_t)omp_get_thread_num() * scratch_stride;
        for (int s = 0; s < B; s++) { /* every thread walks the segments; the (head, block) pairs are shared out */
            const int start = seq_start[s], len = seq_start[s + 1] - start, blocks = (len + ROWS - 1) / ROWS;
            const size_t qo = (size_t)start * n_heads * hd, ko = (size_t)start * n_kv_heads * hd;
#pragma omp for schedule(dynamic) collapse(2) nowait
            for (int h = 0; h < n_heads; h++)
                for (int b = 0; b < blocks; b++) {
                    const int t0 = b * ROWS, rows = len - t0 < ROWS ? len - t0 : ROWS;
                    forward_block(out + qo, lse + (size_t)start * n_heads, q + qo, k + ko, v + ko, S, t0, rows, h,
                                  h / rep, n_heads, n_kv_heads, hd);
                }
        }
    }
}

/* One query head's block in backward: recompute P, then dS = P (dP - D), and the three products. */
static void backward_block(float *dq, float *dk, float *dv, float *P, float *dS, const float *dout, const float *out,
                           const float *q, const float *k, const float *v, const float *lse, int t0, int rows, int h,
                           int g, int n_heads, int n_kv_heads, int hd) {
    const int q_stride = n_heads * hd, kv_stride = n_kv_heads * hd, cols = t0 + rows;
    const float scale = 1.0f / sqrtf((float)hd);
    const float *Qb = q + (size_t)t0 * q_stride + h * hd, *dOb = dout + (size_t)t0 * q_stride + h * hd;
    const float *Kg = k + (size_t)g * hd, *Vg = v + (size_t)g * hd;
    /* P = exp(scale Q K^T - lse), dP = dO V^T */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, cols, hd, scale, Qb, q_stride, Kg, kv_stride, 0.0f, P,
                cols);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, cols, hd, 1.0f, dOb, q_stride, Vg, kv_stride, 0.0f, dS,
                cols);
    for (int r = 0; r < rows; r++) {
        const int t = t0 + r, valid = t + 1;
        float *p = P + (size_t)r * cols, *ds = dS + (size_t)r * cols;
        nn_row_exp(p, p, lse[(size_t)t * n_heads + h], 1.0f, valid);
        const float *o = out + (size_t)t * q_stride + h * hd, *d_o = dout + (size_t)t * q_stride + h * hd;
        float D = 0; /* D_t = dout_t . out_t = sum_j p_j dp_j */
        for (int i = 0; i < hd; i++) D += d_o[i] * o[i];
        for (int j = 0; j < valid; j++) ds[j] = p[j] * (ds[j] - D);
        memset(p + valid, 0, (size_t)(cols - valid) * sizeof(float));
        memset(ds + valid, 0, (size_t)(cols - valid) * sizeof(float));
    }
    /* dQ += scale dS K ; dK += scale dS^T Q ; dV += P^T dO */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, hd, cols, scale, dS, cols, Kg, kv_stride, 1.0f,
                dq + (size_t)t0 * q_stride + h * hd, q_stride);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, cols, hd, rows, scale, dS, cols, Qb, q_stride, 1.0f,
                dk + (size_t)g * hd, kv_stride);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, cols, hd, rows, 1.0f, P, cols, dOb, q_stride, 1.0f,
                dv + (size_t)g * hd, kv_stride);
}

// dout[N,n_heads,hd], out, lse, q, k, v, seq_start as in forward -> dq[N,n_heads,hd] +=, dk/dv[N,n_kv_heads,hd] +=
void nn_attention_packed_backward(float *dq, float *dk, float *dv, const float *dout, const float *out,
                                  const float *lse, const float *q, const float *k, const float *v,
                                  const int32_t *seq_start, int B, int n_heads, int n_kv_heads, int hd, float *scratch,
                                  int n_slots) {
    const int rep = n_heads / n_kv_heads;
    const size_t scratch_stride = nn_attention_packed_scratch_floats(longest(seq_start, B));
    const double work = (double)n_heads * hd * seq_start[B] * (seq_start[B] / (B > 0 ? B : 1));
#pragma omp parallel for num_threads(n_slots) schedule(dynamic) collapse(2) if (work > (1 << 22))
    for (int s = 0; s < B; s++)
        for (int g = 0; g < n_kv_heads; g++) {
            float *P = scratch + (size_t)omp_get_thread_num() * scratch_stride;
            float *dS = P + scratch_stride / 2;
            const int start = seq_start[s], len = seq_start[s + 1] - start;
            const size_t qo = (size_t)start * n_heads * hd, ko = (size_t)start * n_kv_heads * hd;
            for (int h = g * rep; h < (g + 1) * rep; h++)
                for (int t0 = 0; t0 < len; t0 += ROWS)
                    backward_block(dq + qo, dk + ko, dv + ko, P, dS, dout + qo, out + qo, q + qo, k + ko, v + ko,
                                   lse + (size_t)start * n_heads, t0, len - t0 < ROWS ? len - t0 : ROWS, h, g,
                                   n_heads, n_kv_heads, hd);
        }
}
