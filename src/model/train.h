/* train.h — the training forward and the exact backward pass (llm.c style).
 *
 * Packed batches: rg_train_forward takes B sequences back to back, ids[N]
 * with offsets seq_start[B+1] (N = seq_start[B]); RoPE positions restart at
 * 0 in each segment and attention stays inside a segment, while every
 * matmul, norm and SwiGLU runs over all N rows at once. Each layer is
 * rg_block_forward (model/block.h, the decoder block inference runs too)
 * writing into that layer's rg_layer_acts, so it keeps every activation the
 * backward needs (rg_train_acts says what, per layer, in one allocation);
 * rg_train_head runs the LM head over the LOSS ROWS ONLY (row
 * indices into the N packed rows), in chunks of `head_chunk` rows, handing
 * each chunk's logits [n, V] to a pluggable loss head (cross-entropy for SFT,
 * JSD for RGSD, clipped surrogate for GRPO) that overwrites them with
 * d(loss)/d(logits); rg_train_backward then runs from those gradients down to
 * the embeddings. A whole [N, V] logits or gradient tensor never exists.
 *
 * A batch larger than the buffers is a sequence of micro-batches (packed up
 * to a token budget, --max-batch-tokens): gradients ACCUMULATE (+=) into
 * `grads` (same layout and size as model->params, so one AdamW pass covers
 * it) and into lora->grads. The loss head scales its gradient (e.g. 1 /
 * tokens in the whole batch), so the sum is the batch token-mean gradient.
 *
 * Memory (activations, f32, per packed token, L layers; nothing grows as T^2):
 *   per layer  4C + 2q + 2kv + 3I + 2 + n_heads
 *              (+ q + kv + n_heads + n_kv_heads with q/k norm, + rank per adapted projection)
 *   plus, once: 2C + 1 + hd (final norm, RoPE tables) and the backward's
 *   work buffers (one layer's worth, 3C + 3q + 3kv + 3I [+ rank]); and not
 *   per token: attention scratch 2*64*(longest segment) per thread and the
 *   head chunk head_chunk*(V + 2C). (q = n_heads*hd, kv = n_kv_heads*hd.) Buffers are sized by
 *   max_tokens, the micro-batch budget (at least the longest sequence).
 *
 * Modes: full fine-tuning (f32 model, grads != NULL), LoRA (lora != NULL with
 * adapters enabled; base frozen, f32 or bf16, grads == NULL), or forward only
 * (the RGSD teacher: grads NULL and no lora; rg_train_head with with_grad 0). */
#ifndef RG_TRAIN_H
#define RG_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "model/block.h"
#include "model/lora.h"
#include "model/model.h"

/* The loss head. logits[n, V] are the logits at packed rows positions[0..n)
 * (each predicting the token after it in its sequence). The callback
 * accumulates its own statistics and, when the head runs with gradients,
 * overwrites logits with d(loss)/d(logits), already scaled. */
typedef int (*rg_loss_head_fn)(void *ctx, const int32_t *positions, int n, float *logits, int V);

/* What one layer keeps for backward: rg_layer_acts (model/block.h), the
 * tensors of the decoder block that rg_train_forward runs for each layer. */

typedef struct {
    int max_tokens, head_chunk, lora_rank;
    int N, B;           /* the packed batch of the last forward: N rows, B segments */
    int32_t *seq_start; /* [max_tokens + 1] copy of the last forward's offsets (backward reads it) */
    int32_t *rope_pos;  /* [max_tokens] position of each row inside its segment */
    int attn_slots;     /* threads the attention kernels may use (scratch slots) */
    float *mem;         /* the one allocation */
    size_t n_floats;
    rg_layer_acts *layers;
    float *x_final;     /* [N, C] residual after the last layer */
    float *h_final;     /* [N, C] model.norm(x_final) */
    float *rstd_final;  /* [N] */
    float *cos_table, *sin_table; /* [N, hd/2] */
    /* backward work buffers, reused by every layer */
    float *d_res;       /* [N, C] gradient of the residual stream */
    float *d_h;         /* [N, C] */
    float *d_h_final;   /* [N, C] */
    float *d_q, *d_q2;  /* [N, q_dim] */
    float *d_k, *d_k2, *d_v; /* [N, kv_dim] */
    float *d_att;       /* [N, q_dim] */
    float *d_gate, *d_up, *d_act; /* [N, I] */
    float *attn_scratch; /* [attn_slots, nn_attention_packed_scratch_floats(max_tokens)] */
    float *lora_scratch; /* [N, rank] */
    float *head_h;      /* [head_chunk, C] gathered rows of h_final */
    float *head_dh;     /* [head_chunk, C] */
    float *head_logits; /* [head_chunk, V] logits, then their gradient */
    /* bf16 weights: the f32 panels (or whole widened matrix) of their
     * products, forward and backward; a separate allocation, only touched
     * (so only resident) for a bf16 model. f32 activations always. */
    nn_scratch linear;
} rg_train_acts;

/* Floats rg_train_acts_alloc would allocate (for memory planning and docs). */
size_t rg_train_acts_floats(const rg_model_config *cfg, int lora_rank, unsigned lora_targets, int max_tokens,
                            int head_chunk);
/* Buffers for packed batches of up to max_tokens rows. lora may be NULL.
 * head_chunk: rows per LM-head chunk (e.g. 64). */
int rg_train_acts_alloc(rg_train_acts *acts, const rg_model_config *cfg, const rg_lora *lora, int max_tokens,
                        int head_chunk);
void rg_train_acts_free(rg_train_acts *acts);

/* ids[N], seq_start[B+1] (seq_start[0] = 0, strictly increasing, N =
 * seq_start[B] <= max_tokens) -> every activation up to h_final[N, C].
 * lora may be NULL (or disabled). */
int rg_train_forward(const rg_model *model, const rg_lora *lora, rg_train_acts *acts, const int32_t *ids,
                     const int32_t *seq_start, int B);
/* LM head + loss head over packed rows positions[n] (ascending, each < N), in chunks.
 * with_grad: the head's gradients go into acts->d_h_final (zeroed here) and,
 * for full fine-tuning, the lm_head gradient into grads. */
int rg_train_head(const rg_model *model, float *grads, rg_train_acts *acts, const int32_t *positions, int n,
                  rg_loss_head_fn loss_head, void *ctx, int with_grad);
/* ids[N] as in the last forward. From acts->d_h_final down to the embeddings: grads += (full fine-tuning;
 * NULL when the base is frozen), lora->grads += (when lora is enabled). */
int rg_train_backward(const rg_model *model, rg_lora *lora, float *grads, rg_train_acts *acts, const int32_t *ids);

/* ---- the cross-entropy loss head (SFT) ---------------------------------- */
/* Row t predicts targets[t] (= ids[t+1] inside its sequence); loss = sum over counted
 * positions of -log p / the batch's token count (grad_scale = 1 / count). */
typedef struct {
    const int32_t *targets; /* [N] indexed by packed row */
    float grad_scale;
    double loss_sum;
    long count;
} rg_ce_head;
int rg_ce_head_fn(void *ctx, const int32_t *positions, int n, float *logits, int V);

#endif
