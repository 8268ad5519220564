/* block.h — one decoder layer, the one forward that both the training pass
 * (train_forward.c) and KV-cache inference (infer.c) run:
 *
 *   h = input_norm(x_in); q, k, v = h Wq^T, h Wk^T, h Wv^T (+ adapters)
 *   [Qwen3: per-head RMSNorm of q and k]; RoPE(q, k); att = attention(q, k, v)
 *   x_mid = x_in + att Wo^T; h = post_norm(x_mid)
 *   x_out = x_mid + (silu(h Wg^T) * h Wu^T) Wd^T
 *
 * The caller says where each intermediate tensor lives (rg_layer_acts: the
 * training pass points it at the per-layer arrays backward reads; inference
 * at its reusable scratch, with the optional pieces NULL or aliased) and how
 * attention runs (rg_block_attend_fn: training attends inside each packed
 * segment and saves the log-sum-exp; inference appends k/v to each
 * sequence's cache and attends over its whole prefix). */
#ifndef RG_BLOCK_H
#define RG_BLOCK_H

#include "model/lora.h"
#include "model/model.h"
#include "nn/nn.h"

/* Where one layer's tensors live, N rows (pointers, not owned). In training
 * it is what the layer keeps for backward (pointers into rg_train_acts.mem). */
typedef struct {
    float *x_in;        /* [N, C] the residual stream entering the layer */
    float *h_attn;      /* [N, C] input_layernorm(x_in) */
    float *rstd_attn;   /* [N] or NULL (not kept) */
    float *q_raw;       /* [N, q_dim] q before the per-head norm (q/k norm only; NULL: normed in place in q) */
    float *k_raw;       /* [N, kv_dim] (q/k norm only; NULL: in place in k) */
    float *rstd_q;      /* [N * n_heads] (q/k norm only) or NULL */
    float *rstd_k;      /* [N * n_kv_heads] (q/k norm only) or NULL */
    float *q, *k, *v;   /* after norm and RoPE: what attention saw */
    float *lse;         /* [N, n_heads] attention log-sum-exp (backward recomputes the probabilities); NULL: not kept */
    float *att;         /* [N, q_dim] attention output (input of o_proj) */
    float *x_mid;       /* [N, C] residual after the attention block */
    float *h_mlp;       /* [N, C] post_attention_layernorm(x_mid) */
    float *rstd_mlp;    /* [N] or NULL */
    float *gate, *up;   /* [N, I] before SwiGLU */
    float *act;         /* [N, I] silu(gate) * up (input of down_proj); may be gate */
    float *lora_xa[RG_LORA_N_MODULES]; /* [N, rank] x A^T per adapted projection (may all share one buffer) */
} rg_layer_acts;

/* The attention step: A->q, A->k, A->v [N rows, after RoPE] -> A->att [N, q_dim]
 * (and A->lse when the caller keeps it) for layer `layer`. */
typedef void (*rg_block_attend_fn)(void *ctx, int layer, const rg_layer_acts *A);

/* What every layer of one forward shares. */
typedef struct {
    const rg_model *model;
    const rg_lora *lora;             /* adapters every projection goes through, or NULL */
    const nn_scratch *linear;        /* bf16 weights' product scratch */
    const float *cos_table, *sin_table; /* [N, hd/2] RoPE of each row's position */
    rg_block_attend_fn attend;
    void *attend_ctx;
} rg_block_env;

/* Layer `layer` over N rows: A->x_in[N, C] -> x_out[N, C], filling A's tensors.
 * x_out may be A->x_in (read for the last time before x_out is written) but
 * not A->x_mid. */
void rg_block_forward(const rg_block_env *env, int layer, const rg_layer_acts *A, float *x_out, int N);

#endif
