/* train.h — the training forward and the exact backward pass (llm.c style).
 *
 * One sequence at a time: rg_train_forward keeps every activation the
 * backward needs (rg_train_acts says what, per layer, in one allocation);
 * rg_train_head runs the LM head over the LOSS POSITIONS ONLY, in chunks of
 * `head_chunk` positions, handing each chunk's logits [n, V] to a pluggable
 * loss head (cross-entropy for SFT, JSD for RGSD, clipped surrogate for GRPO)
 * that overwrites them with d(loss)/d(logits); rg_train_backward then runs
 * from those gradients down to the embeddings. A whole [T, V] logits or
 * gradient tensor never exists.
 *
 * Batches of sequences of different lengths are trained by calling the three
 * steps per sequence: gradients ACCUMULATE (+=) into `grads` (same layout and
 * size as model->params, so one AdamW pass covers it) and into lora->grads.
 * The loss head scales its gradient (e.g. 1 / tokens in the whole batch), so
 * the sum over sequences is the batch token-mean gradient.
 *
 * Memory (activations, f32, per sequence of T tokens, L layers):
 *   per layer  T*(4C + 2q + 2kv [+ q + kv with q/k norm] + 3I + 3) + n_heads*T*T
 *              (+ T*rank per adapted projection)
 *   plus the backward's work buffers (one layer's worth) and the head chunk
 *   head_chunk*V*2. Memory is bounded by the longest sequence, not the batch:
 *   a batch is a sequence of micro-batches of one sequence each.
 *
 * Modes: full fine-tuning (f32 model, grads != NULL), LoRA (lora != NULL with
 * adapters enabled; base frozen, f32 or bf16, grads == NULL), or forward only
 * (the RGSD teacher: grads NULL and no lora; rg_train_head with with_grad 0). */
#ifndef RG_TRAIN_H
#define RG_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "model/lora.h"
#include "model/model.h"

/* The loss head. logits[n, V] are the logits at sequence positions
 * positions[0..n) (each predicting the token after it). The callback
 * accumulates its own statistics and, when the head runs with gradients,
 * overwrites logits with d(loss)/d(logits), already scaled. */
typedef int (*rg_loss_head_fn)(void *ctx, const int32_t *positions, int n, float *logits, int V);

/* What one layer keeps for backward (pointers into rg_train_acts.mem). */
typedef struct {
    float *x_in;        /* [T, C] the residual stream entering the layer */
    float *h_attn;      /* [T, C] input_layernorm(x_in) */
    float *rstd_attn;   /* [T] */
    float *q_raw;       /* [T, q_dim] q before the per-head norm (q/k norm only) */
    float *k_raw;       /* [T, kv_dim] (q/k norm only) */
    float *rstd_q;      /* [T * n_heads] (q/k norm only) */
    float *rstd_k;      /* [T * n_kv_heads] (q/k norm only) */
    float *q, *k, *v;   /* after norm and RoPE: what attention saw */
    float *probs;       /* [n_heads, T, T] */
    float *att;         /* [T, q_dim] attention output (input of o_proj) */
    float *x_mid;       /* [T, C] residual after the attention block */
    float *h_mlp;       /* [T, C] post_attention_layernorm(x_mid) */
    float *rstd_mlp;    /* [T] */
    float *gate, *up;   /* [T, I] before SwiGLU */
    float *act;         /* [T, I] silu(gate) * up (input of down_proj) */
    float *lora_xa[RG_LORA_N_MODULES]; /* [T, rank] x A^T per adapted projection */
} rg_layer_acts;

typedef struct {
    int max_T, head_chunk, T, lora_rank;
    float *mem;         /* the one allocation */
    size_t n_floats;
    rg_layer_acts *layers;
    float *x_final;     /* [T, C] residual after the last layer */
    float *h_final;     /* [T, C] model.norm(x_final) */
    float *rstd_final;  /* [T] */
    float *cos_table, *sin_table; /* [T, hd/2] */
    /* backward work buffers, reused by every layer */
    float *d_res;       /* [T, C] gradient of the residual stream */
    float *d_h;         /* [T, C] */
    float *d_h_final;   /* [T, C] */
    float *d_q, *d_q2;  /* [T, q_dim] */
    float *d_k, *d_k2, *d_v; /* [T, kv_dim] */
    float *d_att;       /* [T, q_dim] */
    float *d_gate, *d_up, *d_act; /* [T, I] */
    float *attn_scratch;
    float *lora_scratch; /* [T, rank] */
    float *head_h;      /* [head_chunk, C] gathered rows of h_final */
    float *head_dh;     /* [head_chunk, C] */
    float *head_logits; /* [head_chunk, V] logits, then their gradient */
} rg_train_acts;

/* Floats rg_train_acts_alloc would allocate (for memory planning and docs). */
size_t rg_train_acts_floats(const rg_model_config *cfg, int lora_rank, unsigned lora_targets, int max_T,
                            int head_chunk);
/* lora may be NULL. head_chunk: positions per LM-head chunk (e.g. 64). */
int rg_train_acts_alloc(rg_train_acts *acts, const rg_model_config *cfg, const rg_lora *lora, int max_T,
                        int head_chunk);
void rg_train_acts_free(rg_train_acts *acts);

/* ids[T] -> every activation up to h_final. lora may be NULL (or disabled). */
int rg_train_forward(const rg_model *model, const rg_lora *lora, rg_train_acts *acts, const int32_t *ids, int T);
/* LM head + loss head over positions[n] (ascending, each < T), in chunks.
 * with_grad: the head's gradients go into acts->d_h_final (zeroed here) and,
 * for full fine-tuning, the lm_head gradient into grads. */
int rg_train_head(const rg_model *model, float *grads, rg_train_acts *acts, const int32_t *positions, int n,
                  rg_loss_head_fn loss_head, void *ctx, int with_grad);
/* From acts->d_h_final down to the embeddings: grads += (full fine-tuning;
 * NULL when the base is frozen), lora->grads += (when lora is enabled). */
int rg_train_backward(const rg_model *model, rg_lora *lora, float *grads, rg_train_acts *acts, const int32_t *ids);

/* ---- the cross-entropy loss head (SFT) ---------------------------------- */
/* Position t predicts targets[t] (= ids[t+1]); loss = sum over counted
 * positions of -log p / the batch's token count (grad_scale = 1 / count). */
typedef struct {
    const int32_t *targets; /* [T] indexed by position */
    float grad_scale;
    double loss_sum;
    long count;
} rg_ce_head;
int rg_ce_head_fn(void *ctx, const int32_t *positions, int n, float *logits, int V);

#endif
