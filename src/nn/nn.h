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
 *   an explicit output of forward (e.g. rmsnorm's rstd, attention's lse).
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
 * (auto | ref | avx2 | avx512 | avx512-nobf16), which forces rgsd's own SIMD kernels the way
 * OPENBLAS_CORETYPE forces OpenBLAS's, and logs both at debug level.
 * RG_ERR with a one-line message for an unknown value, or avx512 on a CPU
 * without it. */
int nn_kernels_init(void);
/* "OpenBLAS SkylakeX, rgsd avx512 (auto), bf16 inference: bf16 dot products
 * (AVX-512 BF16)" — for logs and reports (rgsd --kernels). */
void nn_kernels_describe(char *buf, size_t size);
/* The threads a kernel may run on (OpenMP's maximum; 1 without OpenMP): what
 * callers size per-thread scratch by. */
int nn_max_threads(void);

/* ---- bf16 and f16 conversions (convert.c) ------------------------------ */
/* The one implementation of rgsd's half-precision conversions (io's
 * safetensors/GGUF readers and writers call these too). Exact where the
 * target holds the value, round to nearest even otherwise (as numpy and
 * torch); NaN stays NaN (quietened, sign kept). Arrays run the AVX2 (+F16C)
 * path or plain C per RGSD_KERNELS, with the same bits either way. */

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
float nn_f16_to_f32(uint16_t h);
uint16_t nn_f32_to_f16(float f); /* overflow -> inf, gradual underflow into subnormals */
// in[n] -> out[n] (out first, as every nn kernel)
void nn_bf16_to_f32_array(float *out, const uint16_t *in, size_t n);
void nn_f32_to_bf16_array(uint16_t *out, const float *in, size_t n);
void nn_f16_to_f32_array(float *out, const uint16_t *in, size_t n);
void nn_f32_to_f16_array(uint16_t *out, const float *in, size_t n);

/* ---- linear (matmul.c, matmul_bf16.c, gemv.c) --------------------------- */

/* x[N,in], W[out,in], bias[out] or NULL -> y[N,out] = x W^T + bias.
 * N <= 8 (decode): a kernel that streams W once for all rows (gemv.c);
 * larger N: sgemm. */
void nn_linear_forward(float *y, const float *x, const float *W, const float *bias, int N, int in, int out);
/* dy[N,out], x[N,in], W[out,in] -> dx[N,in] +=, dW[out,in] +=, dbias[out] += (each may be NULL). */
void nn_linear_backward(float *dx, float *dW, float *dbias, const float *dy, const float *x, const float *W, int N,
                        int in, int out);
/* Frozen bf16 weight. x[N,in], W[out,in] bf16, bias[out] f32 or NULL -> y[N,out],
 * scratch[scratch_floats] from the caller (nn_linear_bf16_scratch_floats).
 * Where nn_bf16dot_in_use(): x rounded to bf16 (as torch's .to(bfloat16)),
 * bf16 dot products summed in f32 (AVX-512 BF16, or its plain-C definition
 * under RGSD_KERNELS=ref): N <= 8 the bf16 dot decode kernel of gemv.c (no
 * scratch); larger N as many rows at a time as the scratch holds (too
 * little: the decode kernel, 8 rows at a time, slow). Otherwise f32
 * activations: N <= 8 the streaming kernel of gemv.c; larger N W widened to
 * f32 panel by panel (per thread) and multiplied with sgemm; too little
 * scratch: the streaming kernel (slow). */
void nn_linear_bf16_forward_ws(float *y, const float *x, const uint16_t *W, const float *bias, int N, int in, int out,
                               float *scratch, size_t scratch_floats);
/* Floats of scratch nn_linear_bf16_forward_ws needs to take all N rows in
 * one pass (0 for N <= 8), for the current omp_get_max_threads(). */
size_t nn_linear_bf16_scratch_floats(int N, int in, int out);
/* The same in f32 activations on every path (never bf16 dot products): N <= 8
 * the streaming kernel; larger N W widened to f32 panel by panel (per thread,
 * in scratch[scratch_floats]) and sgemm; too little scratch (or NULL): the
 * streaming kernel (slow). For forwards whose backward is f32 (training). */
void nn_linear_bf16_forward(float *y, const float *x, const uint16_t *W, const float *bias, int N, int in, int out,
                            float *scratch, size_t scratch_floats);
/* 1 when nn_linear_bf16_forward_ws rounds x to bf16 for bf16 dot products
 * (AVX-512 BF16 where the CPU has it and RGSD_KERNELS is auto or avx512, or
 * RGSD_KERNELS=ref); 0 when it keeps f32 activations (avx2, avx512-nobf16,
 * or a CPU without AVX-512 BF16). */
int nn_bf16dot_in_use(void);
/* dy[N,out], W[out,in] bf16 -> dx[N,in] += dy W (the weight itself is frozen). N > 8 widens W
 * to f32 a panel at a time into scratch[scratch_floats] for sgemm; too little scratch (or NULL):
 * a plain loop (slow, same sums up to order). */
void nn_linear_bf16_backward_input(float *dx, const float *dy, const uint16_t *W, int N, int in, int out,
                                   float *scratch, size_t scratch_floats);
/* Floats of scratch the f32-activation paths (nn_linear_bf16_forward, _backward_input) use at
 * most for a W[out,in]: per-thread panels of ~4 MiB (for the current omp_get_max_threads()). */
size_t nn_linear_bf16_f32_scratch_floats(int in, int out);

/* ---- LoRA adapter (lora.c) --------------------------------------------- */
/* One adapted projection y = x W^T + scaling (x A^T) B^T, A[r,in], B[out,r]
 * (PEFT: scaling = alpha / r); the frozen x W^T is the caller's linear. */

// x[N,in], A[r,in], B[out,r] -> xa[N,r] = x A^T (written, keep for backward); y[N,out] += scaling * xa B^T
void nn_lora_forward(float *y, float *xa, const float *x, const float *A, const float *B, float scaling, int N, int in,
                     int out, int r);
// dy[N,out], x[N,in], xa[N,r] as in forward -> dA[r,in] +=, dB[out,r] +=, dx[N,in] += (may be NULL); scratch[N,r]
void nn_lora_backward(float *dx, float *dA, float *dB, float *scratch, const float *dy, const float *x,
                      const float *xa, const float *A, const float *B, float scaling, int N, int in, int out, int r);
// A[r,in], B[out,r] -> W[out,in] += scaling * B A (folds the adapter into the weight)
void nn_lora_merge(float *W, const float *A, const float *B, float scaling, int in, int out, int r);

/* ---- optimizer step (optim.c) ------------------------------------------ */

/* AdamW (decoupled weight decay) exactly as torch.optim.AdamW, torch 1.13's
 * single-tensor path: doubles, as torch's Python floats. */
typedef struct {
    double beta1, beta2, eps, weight_decay;
} nn_adamw_config;
/* params[n], m[n], v[n] (first/second moments) updated in place from grads[n]
 * for step t (1-based), per element:
 *   p *= 1 - lr * weight_decay                 (only when decay != 0)
 *   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
 *   p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * bias corrections in double, element ops in f32 (torch's order). */
void nn_adamw_step(float *params, float *m, float *v, const float *grads, size_t n, const nn_adamw_config *cfg,
                   double lr, long t, int decay);
// x[n] -> sum of x^2 in double (a gradient norm is the sqrt of the sum over buffers)
double nn_sum_sq(const float *x, size_t n);
// x[n] *= factor (in place)
void nn_scale(float *x, size_t n, float factor);

/* A weight W[rows, cols] (HF Linear layout: y = x W^T) in exactly one
 * precision: f32 (trained) or bf16 (frozen); the other pointer is NULL. */
typedef struct {
    const float *f32;
    const uint16_t *bf16;
    int rows, cols;
} nn_weight;

/* The caller's scratch for nn_linear over a bf16 weight (no kernel allocates).
 * f32_activations: never round x to bf16 — for a forward whose backward is f32
 * (training: the gradient must be that of the forward computed) and for the
 * LM head; 0 lets inference (prefill and decode) use the bf16 dot products
 * where they are in use. */
typedef struct {
    float *buf;
    size_t floats;
    int f32_activations;
} nn_scratch;

/* (linear.c) x[N, W.cols], bias[W.rows] or NULL -> y[N, W.rows] = x W^T + bias, in W's precision
 * (N <= 8 streams W once). A bf16 W with N > 8 uses `scratch` (NULL: none; slow streaming then):
 * the bf16 dot products (unless f32_activations), else W widened whole into it for one sgemm when
 * rows*cols fit, else W widened panel by panel into it. */
void nn_linear(float *y, const float *x, const nn_weight *W, const float *bias, int N, const nn_scratch *scratch);

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

/* ---- packed causal GQA attention (attention_packed.c) ------------------ */
/* B sequences packed into N = seq_start[B] rows: segment s is rows
 * seq_start[s]..seq_start[s+1]-1, causal inside a segment, never across.
 * Forward saves lse[N, n_heads] (log-sum-exp of each scaled score row), not
 * the probabilities; backward recomputes them (FlashAttention-2 style).
 * scratch: n_slots * nn_attention_packed_scratch_floats(longest segment)
 * floats from the caller; at most n_slots threads run (n_slots >= 1). */

/* Floats of scratch per thread slot for segments of up to max_len rows. */
size_t nn_attention_packed_scratch_floats(int max_len);
/* q[N, n_heads, hd], k/v[N, n_kv_heads, hd], seq_start[B+1] -> out[N, n_heads, hd], lse[N, n_heads]. */
void nn_attention_packed_forward(float *out, float *lse, const float *q, const float *k, const float *v,
                                 const int32_t *seq_start, int B, int n_heads, int n_kv_heads, int hd, float *scratch,
                                 int n_slots);
/* dout[N, n_heads, hd], out/lse/q/k/v/seq_start as in forward -> dq[N, n_heads, hd] +=,
 * dk/dv[N, n_kv_heads, hd] += . */
void nn_attention_packed_backward(float *dq, float *dk, float *dv, const float *dout, const float *out,
                                  const float *lse, const float *q, const float *k, const float *v,
                                  const int32_t *seq_start, int B, int n_heads, int n_kv_heads, int hd, float *scratch,
                                  int n_slots);

/* ---- rows: residual add, gather, scatter-add (rows.c) ------------------ */

/* x[n] += y[n] (the residual add). */
void nn_add_inplace(float *x, const float *y, size_t n);
/* src[*, C], rows[n] -> dst[n, C] = src[rows[i]] (the LM head's loss rows). */
void nn_gather_rows(float *dst, const float *src, const int32_t *rows, int n, int C);
/* src[n, C], rows[n] -> dst[rows[i]] += src[i] (gather's backward; repeated rows add up). */
void nn_scatter_add_rows(float *dst, const float *src, const int32_t *rows, int n, int C);

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
 * top_k > 0: the divergence over a support S of vocabulary entries, per row
 * the teacher's top-k (topk_from TEACHER, the default), the student's top-k
 * (STUDENT, TRL's SDFT/SDPO) or the union of both (UNION, k..2k entries;
 * ProRubric), with
 *   tail BUCKET: one more bucket holding the rest of each distribution's
 *          mass (P_b = p_b for b in S, P_tail = 1 - sum_S p), or
 *   RENORM: no tail, each distribution renormalised over S (P'_b = p_b /
 *          sum_S p; OPSD); the gradient is 0 outside S.
 * A support covering the whole vocabulary has no tail either way. */
typedef enum { NN_CLIP_NONE = 0, NN_CLIP_TOKEN = 1, NN_CLIP_ENTRY = 2 } nn_clip_mode;
typedef enum { NN_TOPK_TEACHER = 0, NN_TOPK_STUDENT = 1, NN_TOPK_UNION = 2 } nn_topk_from;
typedef enum { NN_TOPK_TAIL_BUCKET = 0, NN_TOPK_RENORM = 1 } nn_topk_tail;
typedef struct {
    float beta;        /* in [0, 1] */
    nn_clip_mode clip; /* NONE | TOKEN | ENTRY */
    float tau;         /* clip threshold (the paper: 0.05) */
    int top_k;         /* 0 = full vocabulary */
    nn_topk_from topk_from; /* whose top-k entries form the support (TEACHER) */
    nn_topk_tail topk_tail; /* the rest of the mass: one bucket, or renormalise over the support (BUCKET) */
} nn_jsd_config;
typedef struct {
    double loss_sum;      /* sum of (clipped) per-token losses over counted positions */
    double clipped;       /* clipped tokens (TOKEN) or entries (ENTRY) */
    double clip_total;    /* tokens (TOKEN) or entries (ENTRY); fraction = clipped / clip_total */
    double gap_sum;       /* sum of log p_T(y_t) - log p_S(y_t) (needs targets) */
    double entropy_sum;   /* sum of the student entropy -sum_i p_S log p_S */
    long count;           /* counted positions */
} nn_jsd_stats;
/* Floats of scratch nn_jsd needs to run on `threads` threads (3 V per thread
 * for the full vocabulary, ~5 top_k with top-k, ~10 top_k for the union). Allocate once, reuse. */
size_t nn_jsd_scratch_floats(const nn_jsd_config *config, int V, int threads);
/* student[N,V], teacher[N,V], targets[N] (the sampled tokens y_t; NULL: no gap),
 * mask[N] or NULL -> stats +=; dstudent[N,V] = grad_scale * dloss/dstudent on
 * counted rows, 0 elsewhere (written; may alias student; may be NULL);
 * token_loss/token_gap/token_entropy[N] (each may be NULL; 0 where not counted).
 * scratch[scratch_floats]: runs on as many threads as it holds (at most
 * nn_max_threads()); per-row outputs do not depend on how many (the stats'
 * double sums may round differently). RG_ERR on a bad config,
 * a target outside [0,V), or scratch too small for one thread. */
int nn_jsd(float *dstudent, float *token_loss, float *token_gap, float *token_entropy, nn_jsd_stats *stats,
           float *scratch, size_t scratch_floats, const float *student, const float *teacher, const int32_t *targets,
           const uint8_t *mask, const nn_jsd_config *config, float grad_scale, int N, int V);

/* ---- clipped policy-gradient loss (policy_loss.c) --------------------- */
/* GRPO / PPO per token, for a sequence with advantage A: lp = log softmax(z)[y]
 * (temperature 1), old = the rollout-time log-prob, ref = the reference
 * model's:
 *   ratio = exp(lp - old),  surr = -min(ratio A, clip(ratio, 1-eps, 1+eps_hi) A)
 *   k3 = exp(ref - lp) - (ref - lp) - 1,  loss = surr + kl_coef k3
 * d loss/d lp = (clipped ? 0 : -ratio A) + kl_coef (1 - exp(ref - lp)), where
 * clipped = (A > 0 and ratio > 1+eps_hi) or (A < 0 and ratio < 1-eps). All in
 * double per row. */
typedef struct {
    float clip_eps;      /* eps (0.2): the lower bound 1 - eps (TRL's epsilon) */
    float kl_coef;       /* 0: no KL term (ref_logprobs may be NULL) */
    float clip_eps_high; /* eps_hi: the upper bound 1 + eps_hi (TRL's epsilon_high); 0 = eps */
} nn_policy_loss_config;
typedef struct {
    double loss_sum;      /* sum of surr + kl_coef k3 */
    double surrogate_sum; /* sum of surr */
    double kl_sum;        /* sum of k3 (0 when kl_coef = 0) */
    double ratio_sum;     /* sum of ratio */
    long clipped;         /* tokens whose clipped branch was taken */
    long count;           /* tokens */
} nn_policy_loss_stats;
/* logits[N,V], targets[N], old_logprobs[N], ref_logprobs[N] (or NULL when
 * kl_coef = 0) -> stats +=; dlogits[N,V] = grad_scale * d loss/d logits
 * (written, not accumulated; may alias logits; may be NULL). RG_ERR on a
 * target outside [0,V). */
int nn_policy_loss(float *dlogits, nn_policy_loss_stats *stats, const float *logits, const int32_t *targets,
                   const float *old_logprobs, const double *ref_logprobs, float advantage,
                   const nn_policy_loss_config *config, float grad_scale, int N, int V);

#endif
