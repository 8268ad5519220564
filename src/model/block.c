/* block.c — the decoder layer of training and inference (see block.h). */
#include "model/block.h"

/* y[N, out] = x[N, in] W^T + b, through the layer's adapter when one is set. */
static void project(const rg_block_env *env, float *y, const float *x, const rg_matrix *W, const float *bias,
                    const rg_layer_acts *A, int layer, rg_lora_module m, int N) {
    rg_lora_project(y, x, W, bias, env->lora, A->lora_xa[m], layer, m, N, env->linear);
}

void rg_block_forward(const rg_block_env *env, int l, const rg_layer_acts *A, float *x_out, int N) {
    const rg_model_config *c = &env->model->cfg;
    const rg_layer_weights *W = &env->model->layers[l];
    const int C = c->hidden_size, hd = c->head_dim, nh = c->n_heads, nkv = c->n_kv_heads;
    const size_t n_x = (size_t)N * C, n_ff = (size_t)N * c->intermediate_size;
    const float eps = c->rms_norm_eps;
    /* attention block */
    nn_rmsnorm_forward(A->h_attn, A->rstd_attn, A->x_in, W->input_norm, eps, N, C);       /* [N, C] */
    float *q_pre = c->qk_norm && A->q_raw ? A->q_raw : A->q;                               /* [N, q_dim] */
    float *k_pre = c->qk_norm && A->k_raw ? A->k_raw : A->k;                               /* [N, kv_dim] */
    project(env, q_pre, A->h_attn, &W->wq, W->bq, A, l, RG_LORA_Q, N);
    project(env, k_pre, A->h_attn, &W->wk, W->bk, A, l, RG_LORA_K, N);
    project(env, A->v, A->h_attn, &W->wv, W->bv, A, l, RG_LORA_V, N);                      /* [N, kv_dim] */
    if (c->qk_norm) { /* Qwen3: RMSNorm over each head's vector, before RoPE */
        nn_rmsnorm_forward(A->q, A->rstd_q, q_pre, W->q_norm, eps, N * nh, hd);
        nn_rmsnorm_forward(A->k, A->rstd_k, k_pre, W->k_norm, eps, N * nkv, hd);
    }
    nn_rope_forward(A->q, env->cos_table, env->sin_table, N, nh, hd);
    nn_rope_forward(A->k, env->cos_table, env->sin_table, N, nkv, hd);
    env->attend(env->attend_ctx, l, A);                                                    /* att [N, q_dim] */
    project(env, A->x_mid, A->att, &W->wo, NULL, A, l, RG_LORA_O, N);                      /* [N, C] */
    nn_add_inplace(A->x_mid, A->x_in, n_x);
    /* MLP block */
    nn_rmsnorm_forward(A->h_mlp, A->rstd_mlp, A->x_mid, W->post_norm, eps, N, C);          /* [N, C] */
    project(env, A->gate, A->h_mlp, &W->w_gate, NULL, A, l, RG_LORA_GATE, N);              /* [N, I] */
    project(env, A->up, A->h_mlp, &W->w_up, NULL, A, l, RG_LORA_UP, N);                    /* [N, I] */
    nn_swiglu_forward(A->act, A->gate, A->up, n_ff);
    project(env, x_out, A->act, &W->w_down, NULL, A, l, RG_LORA_DOWN, N);                  /* [N, C] */
    nn_add_inplace(x_out, A->x_mid, n_x);
}
