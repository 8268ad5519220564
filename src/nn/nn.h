/* nn.h — the kernels of rgsd: each a forward/backward pair over plain float
 * arrays (llm.c style), with its shapes in a one-line comment.
 *
 * Conventions (docs/kernels.md has the long form):
 * - Every array is dense, row-major, and its shape is written [rows, cols].
 *   "T" = positions, "C" = channels, "V" = vocabulary, "hd" = head_dim.
 * - Weights use the Hugging Face layouts as stored in safetensors:
 *   Linear weight W[out, in], so y = x W^T + b; embedding table [V, C].
 * - Backward kernels ACCUMULATE (+=) into every gradient they are given, so
 *   residual branches and shared weights just add up; the caller zeroes
 *   gradients once per step. A NULL gradient pointer means "not needed".
 * - No kernel keeps state between calls. What backward needs from forward is
 *   an explicit output of forward (e.g. rmsnorm's rstd, attention's probs).
 * - Threading is OpenMP only (OpenBLAS is its OpenMP build): kernels
 *   parallelise inside, and BLAS called inside an OpenMP region runs on one
 *   thread, so nothing oversubscribes.
 * - Kernels cannot fail except the loss kernels, which validate target ids
 *   and return RG_OK / RG_ERR (base/error.h) like the rest of rgsd.
 * - bf16 is stored as uint16_t (the top half of an IEEE f32), used for frozen
 *   weights only; all arithmetic is f32, with double accumulators where a
 *   long sum (a vocabulary row) would lose precision.
 */
#ifndef RG_NN_H
#define RG_NN_H

#include <stddef.h>
#include <stdint.h>

/* ---- set-up (blas.c) ---------------------------------------------------- */

/* Call once at program start, before any thread uses BLAS: where OpenBLAS
 * fell back to legacy kernels on a CPU it does not know (Debian 12's 0.3.21
 * on recent Xeons picks SSE3 "Prescott", ~5x slower), selects its AVX-512
 * (SkylakeX) or AVX2 (Haswell) kernels. Respects a user's OPENBLAS_CORETYPE.
 * Returns the name of the kernel set in use. */
const char *nn_blas_init(void);

/* ---- kernel choice (cpu.c) ---------------------------------------------- */

/* Call once at program start (after nn_blas_init): checks RGSD_KERNELS
 * (auto | avx2 | avx512), which forces rgsd's own SIMD kernels the way
 * OPENBLAS_CORETYPE forces OpenBLAS's, and logs both at debug level.
 * RG_ERR with a one-line message for an unknown value, or avx512 on a CPU
 * without it. */
int nn_kernels_init(void);
/* "OpenBLAS SkylakeX, rgsd avx512 (auto)" — for logs and reports. */
void nn_kernels_describe(char *buf, size_t size);

/* ---- bf16 helpers ------------------------------------------------------ */

static inline float nn_bf16_to_f32(uint16_t h) {
    union { uint32_t u; float f; } v = {.u = (uint32_t)h << 16};
    return v.f;
}
/* Round to nearest even, as torch's .to(torch.bfloat16); NaN stays NaN. */
static inline uint16_t nn_f32_to_bf16(float f) {
    union { float f; uint32_t u; } v = {.f = f};
    if ((v.u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((v.u >> 16) | 0x40);
    return (uint16_t)((v.u + 0x7fffu + ((v.u >> 16) & 1u)) >> 16);
}
void nn_bf16_to_f32_array(float *out, const uint16_t *in, size_t n);
void nn_f32_to_bf16_array(uint16_t *out, const float *in, size_t n);

/* ---- linear (matmul.c, matmul_bf16.c, gemv.c) --------------------------- */

/* x[N,in], W[out,in], bias[out] or NULL -> y[N,out] = x W^T + bias.
 * N <= 8 (decode): a kernel that streams W once for all rows (gemv.c);
 * larger N: sgemm. */
void nn_linear_forward(float *y, const float *x, const float *W, const float *bias, int N, int in, int out);
/* dy[N,out], x[N,in], W[out,in] -> dx[N,in] +=, dW[out,in] +=, dbias[out] += (each may be NULL). */
void nn_linear_backward(float *dx, float *dW, float *dbias, const float *dy, const float *x, const float *W, int N,
                        int in, int out);
/* Frozen bf16 weight. x[N,in], W[out,in] bf16, bias[out] f32 or NULL -> y[N,out].
 * N <= 8: the streaming kernel of gemv.c (decode); larger N: W widened to
 * f32 panel by panel (per thread, ~4 MiB each) and multiplied with sgemm. */
void nn_linear_bf16_forward(float *y, const float *x, const uint16_t *W, const float *bias, int N, int in, int out);
/* dy[N,out], W[out,in] bf16 -> dx[N,in] += dy W (the weight itself is frozen). */
void nn_linear_bf16_backward_input(float *dx, const float *dy, const uint16_t *W, int N, int in, int out);

/* A weight W[rows, cols] (HF Linear layout: y = x W^T) in exactly one
 * precision: f32 (trained) or bf16 (frozen); the other pointer is NULL. */
typedef struct {
    const float *f32;
    const uint16_t *bf16;
    int rows, cols;
} nn_weight;

/* (linear.c) x[N, W.cols], bias[W.rows] or NULL -> y[N, W.rows] = x W^T + bias, in W's precision
 * (N <= 8 streams W once). widen[widen_floats] is optional scratch (NULL, 0: none): a bf16 W with
 * N > 8 and rows*cols <= widen_floats is widened into it whole for one sgemm (prefill). */
void nn_linear(float *y, const float *x, const nn_weight *W, const float *bias, int N, float *widen,
               size_t widen_floats);

/* ---- embedding (embedding.c) ------------------------------------------- */

/* ids[N] (each in [0,V)), table[V,C] -> out[N,C]. */
void nn_embedding_forward(float *out, const int32_t *ids, const float *table, int N, int C);
void nn_embedding_bf16_forward(float *out, const int32_t *ids, const uint16_t *table, int N, int C);
/* dout[N,C] -> dtable[V,C] += scatter-add by ids (repeated ids add up). */
void nn_embedding_backward(float *dtable, const float *dout, const int32_t *ids, int N, int C);

/* ---- RMSNorm (norm.c) -------------------------------------------------- */

/* x[N,C], weight[C] -> y[N,C] = x * rsqrt(mean(x^2) + eps) * weight; rstd[N] saved
 * for backward (may be NULL). y may alias x. Also per head for Qwen3 q/k norm:
 * N = T*n_heads, C = hd. */
void nn_rmsnorm_forward(float *y, float *rstd, const float *x, const float *weight, float eps, int N, int C);
/* dy[N,C], x[N,C], weight[C], rstd[N] -> dx[N,C] +=, dweight[C] += (either may be NULL). */
void nn_rmsnorm_backward(float *dx, float *dweight, const float *dy, const float *x, const float *weight,
                         const float *rstd, int N, int C);

/* ---- RoPE (rope.c) ----------------------------------------------------- */

/* rope_scaling from config.json; type NN_ROPE_DEFAULT ignores the rest. */
typedef enum { NN_ROPE_DEFAULT = 0, NN_ROPE_LLAMA3 = 1 } nn_rope_type;
typedef struct {
    nn_rope_type type;
    float theta;                      /* rope_theta */
    float factor;                     /* llama3: rope_scaling.factor */
    float low_freq_factor;            /* llama3 */
    float high_freq_factor;           /* llama3 */
    int original_max_position;        /* llama3: original_max_position_embeddings */
} nn_rope_config;

/* -> inv_freq[hd/2], as transformers' _compute_default/_compute_llama3_parameters. */
void nn_rope_inv_freq(float *inv_freq, const nn_rope_config *config, int hd);
/* positions[T], inv_freq[hd/2] -> cos[T, hd/2], sin[T, hd/2] (angle = pos*inv_freq in f32, like HF). */
void nn_rope_tables(float *cos_table, float *sin_table, const int32_t *positions, const float *inv_freq, int T,
                    int hd);
/* x[T, n_heads, hd] rotated in place: pairs (i, i+hd/2) (HF rotate_half, non-interleaved),
 * x1' = x1 cos - x2 sin, x2' = x2 cos + x1 sin; cos/sin[T, hd/2]. */
void nn_rope_forward(float *x, const float *cos_table, const float *sin_table, int T, int n_heads, int hd);
/* dx[T, n_heads, hd] in place: the gradient through the rotation (rotation by -angle). */
void nn_rope_backward(float *dx, const float *cos_table, const float *sin_table, int T, int n_heads, int hd);

/* ---- causal GQA attention (attention.c) -------------------------------- */
/* Heads: query head h reads key/value head h / (n_heads / n_kv_heads) (HF
 * repeat_kv). Scale 1/sqrt(hd), causal, softmax in f32. One sequence per call. */

/* q[T, n_heads, hd], k/v[T, n_kv_heads, hd] -> out[T, n_heads, hd], probs[n_heads, T, T]
 * (softmax rows, zero above the diagonal; keep it for backward). */
void nn_attention_forward(float *out, float *probs, const float *q, const float *k, const float *v, int T, int n_heads,
                          int n_kv_heads, int hd);
/* Floats of scratch nn_attention_backward needs. */
size_t nn_attention_backward_scratch_floats(int T, int n_heads, int hd);
/* dout[T,n_heads,hd], q, k, v, probs as in forward -> dq[T,n_heads,hd] +=,
 * dk[T,n_kv_heads,hd] +=, dv[T,n_kv_heads,hd] +=. scratch as sized above. */
void nn_attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dout, const float *q,
                           const float *k, const float *v, const float *probs, int T, int n_heads, int n_kv_heads,
                           int hd);
/* With a key/value prefix (the KV cache): q[T, n_heads, hd] for positions
 * P..P+T-1; k_cache/v_cache[P+T, n_kv_heads, hd] hold the prefix AND the new
 * keys/values (rows P..P+T-1 already written) -> out[T, n_heads, hd]. Query t
 * attends to cache rows 0..P+t. scratch[n_heads, T, P+T] floats. */
void nn_attention_forward_cached(float *out, float *scratch, const float *q, const float *k_cache,
                                 const float *v_cache, int T, int P, int n_heads, int n_kv_heads, int hd);

/* ---- SwiGLU (activation.c) --------------------------------------------- */

/* gate[n], up[n] -> out[n] = silu(gate) * up, silu(g) = g / (1 + exp(-g)). out may alias either. */
void nn_swiglu_forward(float *out, const float *gate, const float *up, size_t n);
/* dout[n], gate[n], up[n] -> dgate[n] +=, dup[n] += . */
void nn_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate, const float *up, size_t n);

/* ---- softmax (softmax.c) ----------------------------------------------- */

/* x[N,V] -> y[N,V] (y may alias x). */
void nn_softmax_forward(float *y, const float *x, int N, int V);
void nn_log_softmax_forward(float *y, const float *x, int N, int V);
/* dy[N,V], y = softmax output -> dx[N,V] += y * (dy - sum(dy*y)). */
void nn_softmax_backward(float *dx, const float *dy, const float *y, int N, int V);
/* dy[N,V], y = log_softmax output -> dx[N,V] += dy - exp(y) * sum(dy). */
void nn_log_softmax_backward(float *dx, const float *dy, const float *y, int N, int V);

/* ---- cross-entropy (loss.c) -------------------------------------------- */
/* Positions are processed in chunks by the caller (the LM head is huge):
 * logits for a chunk in, gradient for the same chunk out, sums accumulated
 * in the stats. A position counts when mask is NULL or mask[t] != 0, and
 * its target is not NN_IGNORE_INDEX (-100, as HF). */
#define NN_IGNORE_INDEX (-100)
typedef struct {
    double loss_sum; /* sum over counted positions of -log p(target) */
    long count;      /* counted positions */
} nn_ce_stats;
/* logits[N,V], targets[N], mask[N] or NULL -> stats += ; token_loss[N] (0 where not
 * counted; may be NULL); dlogits[N,V] = grad_scale * (softmax - onehot) on counted
 * rows, 0 elsewhere (written, not accumulated; may alias logits; may be NULL).
 * RG_ERR on a target outside [0,V) other than the ignore index. */
int nn_cross_entropy(float *dlogits, float *token_loss, nn_ce_stats *stats, const float *logits,
                     const int32_t *targets, const uint8_t *mask, float grad_scale, int N, int V);

/* ---- generalized Jensen-Shannon divergence (divergence.c) -------------- */
/* Per position, P_S = softmax(student logits), P_T = softmax(teacher logits),
 * M = beta P_T + (1-beta) P_S:
 *   JSD_beta = beta KL(P_T||M) + (1-beta) KL(P_S||M)      0 < beta < 1
 *   beta = 0: KL(P_T||P_S) (forward KL), beta = 1: KL(P_S||P_T) (reverse KL),
 * each computed by its own formula (as TRL's generalized_jsd_loss). The
 * teacher is stop-gradient. Clip modes (tau):
 *   NONE:  loss = D.
 *   TOKEN: loss = min(D, tau); gradient 0 on a clipped token; fraction = clipped tokens / tokens.
 *   ENTRY: loss = sum_i min(d_i, tau) over the per-entry terms d_i of D (one
 *          per vocabulary entry, or per top-k bucket); gradient 0 through a
 *          clipped entry; fraction = clipped entries / entries.
 * top_k > 0: the divergence over k+1 buckets — the teacher's top-k entries
 * and one tail bucket with the rest of each distribution's mass. */
typedef enum { NN_CLIP_NONE = 0, NN_CLIP_TOKEN = 1, NN_CLIP_ENTRY = 2 } nn_clip_mode;
typedef struct {
    float beta;        /* in [0, 1] */
    nn_clip_mode clip; /* NONE | TOKEN | ENTRY */
    float tau;         /* clip threshold (the paper: 0.05) */
    int top_k;         /* 0 = full vocabulary */
} nn_jsd_config;
typedef struct {
    double loss_sum;      /* sum of (clipped) per-token losses over counted positions */
    double clipped;       /* clipped tokens (TOKEN) or entries (ENTRY) */
    double clip_total;    /* tokens (TOKEN) or entries (ENTRY); fraction = clipped / clip_total */
    double gap_sum;       /* sum of log p_T(y_t) - log p_S(y_t) (needs targets) */
    double entropy_sum;   /* sum of the student entropy -sum_i p_S log p_S */
    long count;           /* counted positions */
} nn_jsd_stats;
/* student[N,V], teacher[N,V], targets[N] (the sampled tokens y_t; NULL: no gap),
 * mask[N] or NULL -> stats +=; dstudent[N,V] = grad_scale * dloss/dstudent on
 * counted rows, 0 elsewhere (written; may alias student; may be NULL);
 * token_loss/token_gap/token_entropy[N] (each may be NULL; 0 where not counted).
 * RG_ERR on a bad config or a target outside [0,V). */
int nn_jsd(float *dstudent, float *token_loss, float *token_gap, float *token_entropy, nn_jsd_stats *stats,
           const float *student, const float *teacher, const int32_t *targets, const uint8_t *mask,
           const nn_jsd_config *config, float grad_scale, int N, int V);

#endif
