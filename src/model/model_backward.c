/* model_backward.c — the backward pass of the decoder over the packed batch
 * of the last forward (all N rows at once, attention per segment), from the
 * gradient of the final hidden states (left by rg_train_head) down to the
 * embedding table, each op the mirror of its step in rg_train_forward (train.h). */
#include <string.h>

#include "base/error.h"
#include "model/train.h"
#include "nn/nn.h"

static float *grad_of(const rg_model *model, float *grads, const float *param) {
    return grads && param ? grads + (param - model->params) : NULL;
}

/* The mirror of project(): dx += dy W (+ adapter); dW, dbias += when the base
 * is trained; the adapter's dA, dB += when adapters are on. */
static void project_backward(const rg_model *model, rg_lora *lora, float *grads, rg_train_acts *acts, float *dx,
                             const float *dy, const float *x, const rg_matrix *W, const float *bias,
                             const float *lora_xa, int layer, rg_lora_module m, int T) {
    if (W->f32)
        nn_linear_backward(dx, grad_of(model, grads, W->f32), grad_of(model, grads, bias), dy, x, W->f32, T, W->cols,
                           W->rows);
    else
        nn_linear_bf16_backward_input(dx, dy, W->bf16, T, W->cols, W->rows, acts->linear.buf, acts->linear.floats);
    if (lora && lora->enabled) {
        const rg_lora_slot *slot = rg_lora_slot_at(lora, layer, m);
        if (slot->active) rg_lora_backward(dx, acts->lora_scratch, lora, slot, dy, x, lora_xa, T);
    }
}

int rg_train_backward(const rg_model *model, rg_lora *lora, float *grads, rg_train_acts *acts, const int32_t *ids) {
    const rg_model_config *c = &model->cfg;
    const int T = acts->N, C = c->hidden_size, I = c->intermediate_size, hd = c->head_dim;
    const int nh = c->n_heads, nkv = c->n_kv_heads, qd = nh * hd, kvd = nkv * hd;
    if (grads && model->dtype != RG_WEIGHTS_F32)
        return rg_error("full fine-tuning needs f32 weights (this model is held in bf16; use LoRA)");
    if (!grads && !(lora && lora->enabled)) return rg_error("backward: nothing to train (no grads and no adapter)");
    const size_t n_x = (size_t)T * C, n_ff = (size_t)T * I;

    /* model.norm */
    float *d_res = acts->d_res; /* gradient of the residual stream, flowing down */
    memset(d_res, 0, sizeof(float) * n_x);
    nn_rmsnorm_backward(d_res, grad_of(model, grads, model->final_norm), acts->d_h_final, acts->x_final,
                        model->final_norm, acts->rstd_final, T, C);

    for (int l = c->n_layers - 1; l >= 0; l--) {
        const rg_layer_weights *W = &model->layers[l];
        rg_layer_acts *A = &acts->layers[l];
        /* MLP block: x_out = x_mid + down(silu(gate(h)) * up(h)), h = norm(x_mid) */
        memset(acts->d_act, 0, sizeof(float) * n_ff);
        project_backward(model, lora, grads, acts, acts->d_act, d_res, A->act, &W->w_down, NULL,
                         A->lora_xa[RG_LORA_DOWN], l, RG_LORA_DOWN, T);
        memset(acts->d_gate, 0, sizeof(float) * n_ff);
        memset(acts->d_up, 0, sizeof(float) * n_ff);
        nn_swiglu_backward(acts->d_gate, acts->d_up, acts->d_act, A->gate, A->up, n_ff);
        memset(acts->d_h, 0, sizeof(float) * n_x);
        project_backward(model, lora, grads, acts, acts->d_h, acts->d_gate, A->h_mlp, &W->w_gate, NULL,
                         A->lora_xa[RG_LORA_GATE], l, RG_LORA_GATE, T);
        project_backward(model, lora, grads, acts, acts->d_h, acts->d_up, A->h_mlp, &W->w_up, NULL,
                         A->lora_xa[RG_LORA_UP], l, RG_LORA_UP, T);
        nn_rmsnorm_backward(d_res, grad_of(model, grads, W->post_norm), acts->d_h, A->x_mid, W->post_norm,
                            A->rstd_mlp, T, C); /* d_res is now d x_mid */

        /* attention block: x_mid = x_in + o(attention(rope(q), rope(k), v)), q,k,v from norm(x_in) */
        memset(acts->d_att, 0, sizeof(float) * (size_t)T * qd);
        project_backward(model, lora, grads, acts, acts->d_att, d_res, A->att, &W->wo, NULL, A->lora_xa[RG_LORA_O],
                         l, RG_LORA_O, T);
        memset(acts->d_q, 0, sizeof(float) * (size_t)T * qd);
        memset(acts->d_k, 0, sizeof(float) * (size_t)T * kvd);
        memset(acts->d_v, 0, sizeof(float) * (size_t)T * kvd);
        nn_attention_packed_backward(acts->d_q, acts->d_k, acts->d_v, acts->d_att, A->att, A->lse, A->q, A->k, A->v,
                                     acts->seq_start, acts->B, nh, nkv, hd, acts->attn_scratch, acts->attn_slots);
        nn_rope_backward(acts->d_q, acts->cos_table, acts->sin_table, T, nh, hd);
        nn_rope_backward(acts->d_k, acts->cos_table, acts->sin_table, T, nkv, hd);
        float *d_q_raw = acts->d_q, *d_k_raw = acts->d_k;
        if (c->qk_norm) {
            memset(acts->d_q2, 0, sizeof(float) * (size_t)T * qd);
            memset(acts->d_k2, 0, sizeof(float) * (size_t)T * kvd);
            nn_rmsnorm_backward(acts->d_q2, grad_of(model, grads, W->q_norm), acts->d_q, A->q_raw, W->q_norm,
                                A->rstd_q, T * nh, hd);
            nn_rmsnorm_backward(acts->d_k2, grad_of(model, grads, W->k_norm), acts->d_k, A->k_raw, W->k_norm,
                                A->rstd_k, T * nkv, hd);
            d_q_raw = acts->d_q2;
            d_k_raw = acts->d_k2;
        }
        memset(acts->d_h, 0, sizeof(float) * n_x);
        project_backward(model, lora, grads, acts, acts->d_h, d_q_raw, A->h_attn, &W->wq, W->bq,
                         A->lora_xa[RG_LORA_Q], l, RG_LORA_Q, T);
        project_backward(model, lora, grads, acts, acts->d_h, d_k_raw, A->h_attn, &W->wk, W->bk,
                         A->lora_xa[RG_LORA_K], l, RG_LORA_K, T);
        project_backward(model, lora, grads, acts, acts->d_h, acts->d_v, A->h_attn, &W->wv, W->bv,
                         A->lora_xa[RG_LORA_V], l, RG_LORA_V, T);
        nn_rmsnorm_backward(d_res, grad_of(model, grads, W->input_norm), acts->d_h, A->x_in, W->input_norm,
                            A->rstd_attn, T, C); /* d_res is now d x_in */
    }
    float *d_embed = grad_of(model, grads, model->embed.f32);
    if (d_embed) nn_embedding_backward(d_embed, d_res, ids, T, C);
    return RG_OK;
}

int rg_ce_head_fn(void *ctx, const int32_t *positions, int n, float *logits, int V) {
    rg_ce_head *head = ctx;
    int32_t targets[256];
    nn_ce_stats stats = {0};
    for (int start = 0; start < n; start += 256) {
        int len = n - start < 256 ? n - start : 256;
        for (int i = 0; i < len; i++) targets[i] = head->targets[positions[start + i]];
        float *rows = logits + (size_t)start * V;
        if (nn_cross_entropy(rows, NULL, &stats, rows, targets, NULL, head->grad_scale, len, V) != RG_OK)
            return RG_ERR;
    }
    head->loss_sum += stats.loss_sum;
    head->count += stats.count;
    return RG_OK;
}
