/* infer.h — inference with a KV cache: prefill a prompt, then decode token by
 * token; several sequences of different lengths advance together.
 *
 * The cache has `max_batch` slots; a slot holds one sequence's keys and values
 * for every layer and its own length (its next position). One rg_infer_step
 * appends n_new[i] tokens to each listed slot: all their rows go through each
 * weight matrix together (a batch-8 decode reads each weight once for the 8
 * sequences), while RoPE positions and attention are per sequence. Prefill is
 * a step with many new tokens for one slot; decode is a step with one token
 * for each of B slots.
 *
 * Each layer is rg_block_forward (model/block.h), the decoder block the
 * training forward runs too, here over the state's scratch (x updated in
 * place) with a KV-cache attention step. With LoRA adapters set
 * (rg_infer_set_lora), every projection in it adds the adapter's share
 * through rg_lora_project: rollouts sample from base + adapter directly,
 * with no merged copy of the weights (a bf16 base stays bf16).
 *
 * Sizing: the cache holds max_batch * max_seq rows per layer, so a trainer
 * sizes it once per run to its longest prompt + max_new (rg_generate sizes
 * one to its inputs when given none). */
#ifndef RG_INFER_H
#define RG_INFER_H

#include <stdint.h>

#include "model/lora.h"
#include "model/model.h"

typedef struct {
    int max_batch;  /* slots */
    int max_seq;    /* cache rows per slot: the context limit here (<= max_position_embeddings) */
    int max_tokens; /* rows one step may process (longer prompts are fed in chunks) */
    int kv_dim;     /* n_kv_heads * head_dim */
    float *k_cache; /* [n_layers, max_batch, max_seq, kv_dim] keys after RoPE */
    float *v_cache; /* [n_layers, max_batch, max_seq, kv_dim] */
    int *cache_len; /* [max_batch] tokens held per slot */
    /* Scratch for one step of up to max_tokens rows (the block's tensors, see scratch_acts in infer.c). */
    float *x, *h, *proj;  /* [max_tokens, C] residual stream, normed input, x_mid */
    float *q, *att;       /* [max_tokens, n_heads*hd] */
    float *k, *v;         /* [max_tokens, kv_dim] */
    float *gate, *up;     /* [max_tokens, I] */
    float *attn_scratch;  /* [n_heads, max_tokens, max_seq] */
    float *cos_table, *sin_table; /* [max_tokens, hd/2] */
    int32_t *positions;   /* [max_tokens] */
    int32_t *ids;         /* [max_tokens] the new tokens of a step, gathered */
    float *widen;         /* bf16 models: one layer matrix widened to f32 for prefill sgemm */
    size_t widen_floats;
    const rg_lora *lora;  /* adapters every projection goes through, or NULL (not owned) */
    float *lora_xa;       /* [max_tokens, lora_rank]: x A^T of one projection */
    int lora_rank;        /* rank lora_xa was sized for */
} rg_infer_state;

/* max_seq is clamped to the model's max_position_embeddings. */
int rg_infer_init(rg_infer_state *state, const rg_model *model, int max_batch, int max_seq, int max_tokens);
void rg_infer_free(rg_infer_state *state);
/* Decode through `lora` from now on (NULL: the base model alone; an adapter
 * with enabled = 0 also gives the base). Sizes its scratch here, never in a
 * step; the adapter's weights may change between steps (they are read, not
 * copied). RG_ERR when it was laid out for another layer count. */
int rg_infer_set_lora(rg_infer_state *state, const rg_model *model, const rg_lora *lora);
/* Empties a slot (a new sequence starts at position 0). */
void rg_infer_reset(rg_infer_state *state, int slot);

/* Appends tokens[i][0 .. n_new[i]) to slot slots[i] for i < n_seqs (distinct
 * slots, sum of n_new <= max_tokens) and writes logits:
 *   all_logits = 0: logits[n_seqs, V], the next-token logits after each sequence's last new token;
 *   all_logits = 1: logits[sum n_new, V], one row per new token, sequences in order.
 * Fails, changing nothing, when a sequence would outgrow max_seq ("longer
 * than the context") or a token id is outside the vocabulary. */
int rg_infer_step(rg_infer_state *state, const rg_model *model, int n_seqs, const int *slots,
                  const int32_t *const *tokens, const int *n_new, float *logits, int all_logits);

/* Feeds a whole prompt to one slot in chunks of max_tokens; logits[V] after the
 * last token (all_logits = 0) or logits[T, V] (all_logits = 1). */
int rg_infer_prefill(rg_infer_state *state, const rg_model *model, int slot, const int32_t *tokens, int T,
                     float *logits, int all_logits);

#endif
