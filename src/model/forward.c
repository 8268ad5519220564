/* forward.c — the whole-sequence forward pass (see forward.h). */
#include "model/forward.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "nn/nn.h"

int rg_model_forward(const rg_model *model, const int32_t *ids, int T, float *logits) {
    const rg_model_config *c = &model->cfg;
    const int C = c->hidden_size, I = c->intermediate_size, hd = c->head_dim;
    const int nh = c->n_heads, nkv = c->n_kv_heads, q_dim = nh * hd, kv_dim = nkv * hd;
    if (T <= 0) return rg_error("forward: empty sequence");
    if (T > c->max_position)
        return rg_error("sequence of %d tokens is longer than the context (max_position_embeddings %d)", T,
                        c->max_position);
    for (int t = 0; t < T; t++)
        if (ids[t] < 0 || ids[t] >= c->vocab_size)
            return rg_error("token id %d at position %d is outside the vocabulary (%d)", ids[t], t, c->vocab_size);

    /* The activations of one layer, reused by every layer. */
    size_t n_x = (size_t)T * C, n_q = (size_t)T * q_dim, n_kv = (size_t)T * kv_dim, n_ff = (size_t)T * I;
    size_t total = 3 * n_x + 2 * n_q + 2 * n_kv + 2 * n_ff + (size_t)nh * T * T + (size_t)T * hd;
    float *mem = rg_malloc_aligned(sizeof(float) * total);
    int32_t *positions = rg_malloc(sizeof(int32_t) * (size_t)T);
    /* bf16 weights: one matrix widened whole (or the LM head's panels), f32 activations throughout */
    nn_scratch scratch = {NULL, 0, 1};
    if (model->dtype == RG_WEIGHTS_BF16) {
        size_t largest = rg_model_largest_layer_matrix(model), head = nn_linear_bf16_f32_scratch_floats(C, c->vocab_size);
        scratch.floats = largest > head ? largest : head;
        scratch.buf = rg_malloc_aligned(sizeof(float) * scratch.floats);
    }
    if (!mem || !positions || (model->dtype == RG_WEIGHTS_BF16 && !scratch.buf)) {
        rg_free_aligned(mem);
        rg_free_aligned(scratch.buf);
        free(positions);
        return RG_ERR;
    }
    float *x = mem;                    /* [T, C] the residual stream */
    float *h = x + n_x;                /* [T, C] normed input of a block */
    float *proj = h + n_x;             /* [T, C] a block's output before the residual add */
    float *q = proj + n_x;             /* [T, nh, hd] */
    float *att = q + n_q;              /* [T, nh, hd] attention output */
    float *k = att + n_q;              /* [T, nkv, hd] */
    float *v = k + n_kv;               /* [T, nkv, hd] */
    float *gate = v + n_kv;            /* [T, I] */
    float *up = gate + n_ff;           /* [T, I] */
    float *probs = up + n_ff;          /* [nh, T, T] */
    float *cos_table = probs + (size_t)nh * T * T; /* [T, hd/2] */
    float *sin_table = cos_table + (size_t)T * hd / 2;

    for (int t = 0; t < T; t++) positions[t] = t;
    nn_rope_tables(cos_table, sin_table, positions, model->rope_inv_freq, T, hd);
    rg_model_embed(model, x, ids, T);
    for (int l = 0; l < c->n_layers; l++) {
        const rg_layer_weights *L = &model->layers[l];
        /* attention block */
        nn_rmsnorm_forward(h, NULL, x, L->input_norm, c->rms_norm_eps, T, C);
        nn_linear(q, h, &L->wq, L->bq, T, &scratch);
        nn_linear(k, h, &L->wk, L->bk, T, &scratch);
        nn_linear(v, h, &L->wv, L->bv, T, &scratch);
        if (c->qk_norm) { /* Qwen3: RMSNorm over each head's vector, before RoPE */
            nn_rmsnorm_forward(q, NULL, q, L->q_norm, c->rms_norm_eps, T * nh, hd);
            nn_rmsnorm_forward(k, NULL, k, L->k_norm, c->rms_norm_eps, T * nkv, hd);
        }
        nn_rope_forward(q, cos_table, sin_table, T, nh, hd);
        nn_rope_forward(k, cos_table, sin_table, T, nkv, hd);
        nn_attention_forward(att, probs, q, k, v, T, nh, nkv, hd);
        nn_linear(proj, att, &L->wo, NULL, T, &scratch);
        nn_add_inplace(x, proj, n_x);
        /* MLP block */
        nn_rmsnorm_forward(h, NULL, x, L->post_norm, c->rms_norm_eps, T, C);
        nn_linear(gate, h, &L->w_gate, NULL, T, &scratch);
        nn_linear(up, h, &L->w_up, NULL, T, &scratch);
        nn_swiglu_forward(gate, gate, up, n_ff);
        nn_linear(proj, gate, &L->w_down, NULL, T, &scratch);
        nn_add_inplace(x, proj, n_x);
    }
    nn_rmsnorm_forward(h, NULL, x, model->final_norm, c->rms_norm_eps, T, C);
    nn_linear(logits, h, &model->lm_head, NULL, T, &scratch);
    rg_free_aligned(mem);
    rg_free_aligned(scratch.buf);
    free(positions);
    return RG_OK;
}
