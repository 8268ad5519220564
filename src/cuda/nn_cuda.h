/* nn_cuda.h — the CUDA back end of src/nn (docs/cuda.md): the kernels of
 * nn.h over device arrays, same shapes, same conventions (backward kernels
 * ACCUMULATE into gradients, nothing kept between calls, what backward needs
 * is an explicit output of forward). Every pointer named in a shape comment
 * is device memory unless it says "host". Activations are f32 or bf16
 * (nn_cuda_dtype, `dt`); accumulation is always f32; norm weights, biases,
 * gradients of trained weights and optimizer state are f32.
 *
 * Every function returns RG_OK or RG_ERR with a one-line message
 * (rg_errmsg()) naming the CUDA / cuBLASLt call that failed and where.
 * Work goes onto the context's stream; functions that return host numbers
 * (the LM head's stats) synchronize it.
 *
 * Plain C header: the implementation is in the .cu files of src/cuda (nvcc), built by
 * `make CUDA=1` into build/librgsd_cuda.a; the host arithmetic it relies on
 * (launch grids, layouts, the memory plan) is cuda_plan.h. */
#ifndef RG_NN_CUDA_H
#define RG_NN_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include "cuda/cuda_plan.h"
#include "nn/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- context (context.cu) ---------------------------------------------- */
typedef struct nn_cuda nn_cuda;
/* Devices the runtime sees -> *count (0 with RG_OK when the driver or the
 * device is missing; *why says which, for the "skipped: no GPU" line). */
int nn_cuda_device_count(int *count, char *why, size_t why_size);
/* Opens `device`: a stream, a cuBLASLt handle, `workspace_bytes` of GEMM workspace. */
int nn_cuda_open(nn_cuda **out, int device, size_t workspace_bytes);
void nn_cuda_close(nn_cuda *ctx);
int nn_cuda_sync(nn_cuda *ctx);
/* "NVIDIA H100 80GB HBM3 (sm_90, 79.1 GiB)" */
const char *nn_cuda_device_name(const nn_cuda *ctx);

/* Memory. `what` names the buffer in the error message. */
int nn_cuda_malloc(void **p, size_t bytes, const char *what);
void nn_cuda_free(void *p);
int nn_cuda_upload(nn_cuda *ctx, void *dst, const void *host_src, size_t bytes);
int nn_cuda_download(nn_cuda *ctx, void *host_dst, const void *src, size_t bytes);
int nn_cuda_copy(nn_cuda *ctx, void *dst, const void *src, size_t bytes);
/* Every byte of p[bytes] = byte (0xff poisons f32 and bf16 with NaN). */
int nn_cuda_memset(nn_cuda *ctx, void *p, int byte, size_t bytes);

/* One device allocation per kind of buffer (cuda_plan.h's layout). */
typedef struct {
    nn_cuda_layout layout;
    unsigned char *base[NN_CUDA_KINDS];
} nn_cuda_buffers;
int nn_cuda_buffers_alloc(nn_cuda_buffers *b, const nn_cuda_layout *layout);
void nn_cuda_buffers_free(nn_cuda_buffers *b);
/* The device address of slot i of the layout. */
void *nn_cuda_slot(const nn_cuda_buffers *b, int i);

/* Milliseconds of GPU time for `reps` runs of fn(arg) on the stream (CUDA events). */
int nn_cuda_time_ms(nn_cuda *ctx, int (*fn)(nn_cuda *, void *), void *arg, int reps, double *ms);

/* ---- GEMM (gemm.cu, cuBLASLt, f32 accumulation, no TF32) --------------- */
/* Column-major, as BLAS: C[m,n] = alpha op(A) op(B) + beta C; A and B of type
 * ab, C of type c (f32 C with bf16 A/B is allowed). */
int nn_cuda_matmul(nn_cuda *ctx, nn_cuda_dtype ab, nn_cuda_dtype c, int transa, int transb, int m, int n, int k,
                   float alpha, const void *A, int lda, const void *B, int ldb, float beta, void *C, int ldc);
/* x[N,in], W[out,in], bias[out] f32 or NULL -> y[N,out] = x W^T + bias (written). */
int nn_cuda_linear_forward(nn_cuda *ctx, nn_cuda_dtype dt, void *y, const void *x, const void *W, const float *bias,
                           int N, int in, int out);
/* dy[N,out], x[N,in], W[out,in] -> dx[N,in] += (dt), dW[out,in] += (f32), dbias[out] += (f32); each may be NULL. */
int nn_cuda_linear_backward(nn_cuda *ctx, nn_cuda_dtype dt, void *dx, float *dW, float *dbias, const void *dy,
                            const void *x, const void *W, int N, int in, int out);

/* ---- fused element kernels (elementwise.cu) ---------------------------- */
// x[N,C], weight[C] f32 -> y[N,C] (written; may alias x), rstd[N] f32 (may be NULL)
int nn_cuda_rmsnorm_forward(nn_cuda *ctx, nn_cuda_dtype dt, void *y, float *rstd, const void *x, const float *weight,
                            float eps, int N, int C);
// dy[N,C], x[N,C], weight[C], rstd[N] -> dx[N,C] += (dt), dweight[C] += (f32); either may be NULL
int nn_cuda_rmsnorm_backward(nn_cuda *ctx, nn_cuda_dtype dt, void *dx, float *dweight, const void *dy, const void *x,
                             const float *weight, const float *rstd, int N, int C);
// x[T, n_heads, hd] rotated in place by cos/sin[T, hd/2] f32 (nn_rope_tables, uploaded)
int nn_cuda_rope_forward(nn_cuda *ctx, nn_cuda_dtype dt, void *x, const float *cos_table, const float *sin_table,
                         int T, int n_heads, int hd);
// dx[T, n_heads, hd] in place (rotation by -angle)
int nn_cuda_rope_backward(nn_cuda *ctx, nn_cuda_dtype dt, void *dx, const float *cos_table, const float *sin_table,
                          int T, int n_heads, int hd);
// gate[n], up[n] -> out[n] = silu(gate) * up (written; may alias either)
int nn_cuda_swiglu_forward(nn_cuda *ctx, nn_cuda_dtype dt, void *out, const void *gate, const void *up, size_t n);
// dout[n], gate[n], up[n] -> dgate[n] +=, dup[n] += (either may be NULL)
int nn_cuda_swiglu_backward(nn_cuda *ctx, nn_cuda_dtype dt, void *dgate, void *dup, const void *dout,
                            const void *gate, const void *up, size_t n);
// x[n] += y[n] (the residual add)
int nn_cuda_add_inplace(nn_cuda *ctx, nn_cuda_dtype dt, void *x, const void *y, size_t n);
// in[n] f32 -> out[n] bf16 (round to nearest even) and back
int nn_cuda_f32_to_bf16(nn_cuda *ctx, uint16_t *out, const float *in, size_t n);
int nn_cuda_bf16_to_f32(nn_cuda *ctx, float *out, const uint16_t *in, size_t n);
/* AdamW as nn_adamw_step on f32 params/m/v/grads[n]; bf16_out[n] (or NULL)
 * receives the updated params rounded to bf16 (the weights the kernels read). */
int nn_cuda_adamw_step(nn_cuda *ctx, float *params, float *m, float *v, const float *grads, size_t n,
                       const nn_adamw_config *cfg, double lr, long t, int decay, uint16_t *bf16_out);

/* ---- embedding, gradient norm (rows.cu) -------------------------------- */
// ids[N] (each in [0,V)), table[V,C] (table_dt) -> out[N,C] (dt)
int nn_cuda_embedding_forward(nn_cuda *ctx, nn_cuda_dtype dt, nn_cuda_dtype table_dt, void *out, const int32_t *ids,
                              const void *table, int N, int C);
// dout[N,C] (dt), ids[N] -> dtable[V,C] += (f32; repeated ids add up in position order)
int nn_cuda_embedding_backward(nn_cuda *ctx, nn_cuda_dtype dt, float *dtable, const void *dout, const int32_t *ids,
                               int N, int C);
#define NN_CUDA_SUM_SQ_BLOCKS 1024
/* x[n] -> *sum (host) = sum of x^2 in double (a gradient norm is the sqrt of the sum over buffers);
 * scratch[NN_CUDA_SUM_SQ_BLOCKS + 1] doubles on the device. Synchronizes. */
int nn_cuda_sum_sq(nn_cuda *ctx, double *sum, const float *x, size_t n, double *scratch);
// x[n] *= factor (in place)
int nn_cuda_scale(nn_cuda *ctx, float *x, size_t n, float factor);

/* ---- causal GQA attention, packed segments (attention.cu) -------------- */
/* As nn_attention_packed_*: B segments in N rows, seq_start[B+1] on the
 * device AND seq_start_host (the same numbers) for the argument check.
 * Flash-style: K/V stream through shared memory in tiles, online softmax,
 * lse[N, H] saved; backward recomputes the probabilities. O(N) memory. */
// q[N,H,hd], k/v[N,KVH,hd] -> out[N,H,hd] (written), lse[N,H] f32
int nn_cuda_attention_forward(nn_cuda *ctx, nn_cuda_dtype dt, void *out, float *lse, const void *q, const void *k,
                              const void *v, const int32_t *seq_start, const int32_t *seq_start_host, int B, int N,
                              int H, int KVH, int hd);
/* dout[N,H,hd], out/lse/q/k/v as in forward -> dq[N,H,hd] +=, dk/dv[N,KVH,hd] +=;
 * scratch[N*H] f32 (the row dot products dout . out). */
int nn_cuda_attention_backward(nn_cuda *ctx, nn_cuda_dtype dt, void *dq, void *dk, void *dv, float *scratch,
                               const void *dout, const void *out, const float *lse, const void *q, const void *k,
                               const void *v, const int32_t *seq_start, const int32_t *seq_start_host, int B, int N,
                               int H, int KVH, int hd);

/* ---- chunked LM head fused with the losses (lm_head.cu) ---------------- */
/* The head W[V,C] over h[N,C], chunk by chunk into scratch
 * (nn_cuda_lm_head_chunk_rows rows at a time), the loss row kernel writing
 * the logits' gradient in place, then dh += dlogits W and dW += dlogits^T h.
 * No [N, V] array exists. targets[N] and mask[N] (or NULL) on the device. */
// h[N,C], W[V,C], targets[N] -> stats +=, dh[N,C] += (dt), dW[V,C] += (f32) (either may be NULL)
int nn_cuda_lm_head_ce(nn_cuda *ctx, nn_cuda_dtype dt, void *dh, float *dW, nn_ce_stats *stats, const void *h,
                       const void *W, const int32_t *targets, const uint8_t *mask, float grad_scale, int N, int C,
                       int V, void *scratch, size_t scratch_bytes);
/* Student h[N,C] with Ws[V,C], teacher ht[N,C] with Wt[V,C] (stop-gradient;
 * the same rows) -> stats += as nn_jsd, dh/dW of the student. Full
 * vocabulary; top_k > 0 is refused (not on the device yet). targets may be
 * NULL (no gap). */
int nn_cuda_lm_head_jsd(nn_cuda *ctx, nn_cuda_dtype dt, void *dh, float *dW, nn_jsd_stats *stats, const void *h,
                        const void *Ws, const void *ht, const void *Wt, const int32_t *targets, const uint8_t *mask,
                        const nn_jsd_config *config, float grad_scale, int N, int C, int V, void *scratch,
                        size_t scratch_bytes);

#ifdef __cplusplus
}
#endif

#endif
