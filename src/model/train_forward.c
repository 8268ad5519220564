/* train_forward.c — the activation buffers, the packed training forward
 * pass (block.c's decoder layer over every layer, keeping what backward
 * needs in each layer's rg_layer_acts) and the
 * chunked LM head with its pluggable loss head. See train.h. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "model/train.h"
#include "nn/nn.h"

/* Walks the layout once: with base == NULL it only counts floats. Every
 * block is rounded up to 16 floats so each array starts 64-byte aligned. */
static size_t layout(rg_train_acts *a, float *base, const rg_model_config *c, int rank, unsigned targets, int T,
                     int chunk, int slots) {
    const size_t C = (size_t)c->hidden_size, I = (size_t)c->intermediate_size;
    const size_t qd = (size_t)c->n_heads * c->head_dim, kvd = (size_t)c->n_kv_heads * c->head_dim;
    const size_t nh = (size_t)c->n_heads, nkv = (size_t)c->n_kv_heads, V = (size_t)c->vocab_size;
    size_t used = 0;
#define TAKE(ptr, n)                                                  \
    do {                                                              \
        size_t n_ = (n);                                              \
        if (base) (ptr) = base + used;                                \
        used += (n_ + 15) & ~(size_t)15;                              \
    } while (0)
    float *dummy = NULL;
    for (int l = 0; l < c->n_layers; l++) {
        rg_layer_acts *L = base ? &a->layers[l] : NULL;
#define SLOT(field, n) TAKE(*(L ? &L->field : &dummy), n)
        SLOT(x_in, T * C);
        SLOT(h_attn, T * C);
        SLOT(rstd_attn, (size_t)T);
        if (c->qk_norm) {
            SLOT(q_raw, T * qd);
            SLOT(k_raw, T * kvd);
            SLOT(rstd_q, T * nh);
            SLOT(rstd_k, T * nkv);
        }
        SLOT(q, T * qd);
        SLOT(k, T * kvd);
        SLOT(v, T * kvd);
        SLOT(lse, T * nh);
        SLOT(att, T * qd);
        SLOT(x_mid, T * C);
        SLOT(h_mlp, T * C);
        SLOT(rstd_mlp, (size_t)T);
        SLOT(gate, T * I);
        SLOT(up, T * I);
        SLOT(act, T * I);
        for (int m = 0; m < RG_LORA_N_MODULES; m++)
            if (rank > 0 && (targets & (1u << m))) SLOT(lora_xa[m], (size_t)T * rank);
#undef SLOT
    }
#define TOP(field, n) TAKE(*(base ? &a->field : &dummy), n)
    TOP(x_final, T * C);
    TOP(h_final, T * C);
    TOP(rstd_final, (size_t)T);
    TOP(cos_table, (size_t)T * c->head_dim / 2);
    TOP(sin_table, (size_t)T * c->head_dim / 2);
    TOP(d_res, T * C);
    TOP(d_h, T * C);
    TOP(d_h_final, T * C);
    TOP(d_q, T * qd);
    TOP(d_q2, T * qd);
    TOP(d_k, T * kvd);
    TOP(d_k2, T * kvd);
    TOP(d_v, T * kvd);
    TOP(d_att, T * qd);
    TOP(d_gate, T * I);
    TOP(d_up, T * I);
    TOP(d_act, T * I);
    TOP(attn_scratch, (size_t)slots * nn_attention_packed_scratch_floats(T));
    TOP(lora_scratch, (size_t)T * (rank > 0 ? rank : 1));
    TOP(head_h, (size_t)chunk * C);
    TOP(head_dh, (size_t)chunk * C);
    TOP(head_logits, (size_t)chunk * V);
#undef TOP
#undef TAKE
    return used;
}

size_t rg_train_acts_floats(const rg_model_config *cfg, int lora_rank, unsigned lora_targets, int max_tokens,
                            int head_chunk) {
    return layout(NULL, NULL, cfg, lora_rank, lora_targets, max_tokens, head_chunk, omp_get_max_threads());
}

/* Scratch for a bf16 weight's products: the largest layer matrix widened
 * whole (one sgemm), or the LM head's per-thread panels, whichever is more. */
static size_t linear_scratch_floats(const rg_model_config *c) {
    const size_t C = (size_t)c->hidden_size, I = (size_t)c->intermediate_size;
    const size_t qd = (size_t)c->n_heads * c->head_dim;
    size_t largest = I * C > qd * C ? I * C : qd * C;
    size_t head = nn_linear_bf16_f32_scratch_floats(c->hidden_size, c->vocab_size);
    return largest > head ? largest : head;
}

int rg_train_acts_alloc(rg_train_acts *acts, const rg_model_config *cfg, const rg_lora *lora, int max_tokens,
                        int head_chunk) {
    memset(acts, 0, sizeof *acts);
    if (max_tokens < 1 || head_chunk < 1)
        return rg_error("training buffers: max_tokens and head_chunk must be >= 1");
    int rank = lora ? lora->rank : 0;
    unsigned targets = lora ? lora->targets : 0;
    acts->max_tokens = max_tokens;
    acts->head_chunk = head_chunk;
    acts->lora_rank = rank;
    acts->attn_slots = omp_get_max_threads();
    acts->n_floats = layout(NULL, NULL, cfg, rank, targets, max_tokens, head_chunk, acts->attn_slots);
    acts->layers = rg_calloc((size_t)cfg->n_layers, sizeof *acts->layers);
    acts->mem = rg_malloc_aligned(sizeof(float) * acts->n_floats);
    acts->seq_start = rg_malloc(sizeof(int32_t) * ((size_t)max_tokens + 1));
    acts->rope_pos = rg_malloc(sizeof(int32_t) * (size_t)max_tokens);
    acts->linear = (nn_scratch){.floats = linear_scratch_floats(cfg), .f32_activations = 1};
    acts->linear.buf = rg_malloc_aligned(sizeof(float) * acts->linear.floats);
    if (!acts->layers || !acts->mem || !acts->seq_start || !acts->rope_pos || !acts->linear.buf) {
        rg_train_acts_free(acts);
        return rg_error("training buffers: out of memory for %zu floats (%d tokens)", acts->n_floats, max_tokens);
    }
    layout(acts, acts->mem, cfg, rank, targets, max_tokens, head_chunk, acts->attn_slots);
    return RG_OK;
}

void rg_train_acts_free(rg_train_acts *acts) {
    rg_free_aligned(acts->mem);
    rg_free_aligned(acts->linear.buf);
    free(acts->layers);
    free(acts->seq_start);
    free(acts->rope_pos);
    memset(acts, 0, sizeof *acts);
}

/* Checks the packed batch and keeps its offsets and per-row RoPE positions in acts. */
static int set_batch(const rg_model_config *c, rg_train_acts *acts, const int32_t *ids, const int32_t *seq_start,
                     int B) {
    if (B < 1 || seq_start[0] != 0) return rg_error("training forward: a batch needs B >= 1 and seq_start[0] = 0");
    for (int s = 0; s < B; s++) {
        int len = seq_start[s + 1] - seq_start[s];
        if (len < 1 || seq_start[s + 1] > acts->max_tokens)
            return rg_error("training forward: sequence %d spans rows %d..%d (buffers hold %d rows, each "
                            "sequence >= 1)", s, seq_start[s], seq_start[s + 1], acts->max_tokens);
        if (len > c->max_position)
            return rg_error("sequence of %d tokens is longer than the context (max_position_embeddings %d)", len,
                            c->max_position);
    }
    const int N = seq_start[B];
    for (int t = 0; t < N; t++)
        if (ids[t] < 0 || ids[t] >= c->vocab_size)
            return rg_error("token id %d at row %d is outside the vocabulary (%d)", ids[t], t, c->vocab_size);
    acts->N = N;
    acts->B = B;
    memcpy(acts->seq_start, seq_start, sizeof(int32_t) * ((size_t)B + 1));
    for (int s = 0; s < B; s++)
        for (int t = seq_start[s]; t < seq_start[s + 1]; t++) acts->rope_pos[t] = t - seq_start[s];
    return RG_OK;
}

typedef struct {
    const rg_model_config *cfg;
    const rg_train_acts *acts;
} packed_attention;

/* Attention inside each packed segment, keeping lse for backward (ctx: packed_attention). */
static void attend_packed(void *ctx, int layer, const rg_layer_acts *A) {
    (void)layer;
    const packed_attention *p = ctx;
    const rg_model_config *c = p->cfg;
    const rg_train_acts *acts = p->acts;
    nn_attention_packed_forward(A->att, A->lse, A->q, A->k, A->v, acts->seq_start, acts->B, c->n_heads,
                                c->n_kv_heads, c->head_dim, acts->attn_scratch, acts->attn_slots);
}

int rg_train_forward(const rg_model *model, const rg_lora *lora, rg_train_acts *acts, const int32_t *ids,
                     const int32_t *seq_start, int B) {
    const rg_model_config *c = &model->cfg;
    const int C = c->hidden_size, hd = c->head_dim;
    if (lora && lora->enabled && lora->rank != acts->lora_rank)
        return rg_error("training forward: buffers were sized for LoRA rank %d, adapter has rank %d",
                        acts->lora_rank, lora->rank);
    if (set_batch(c, acts, ids, seq_start, B) != RG_OK) return RG_ERR;
    const int T = acts->N; /* every row-wise op below runs over all N packed rows */
    nn_rope_tables(acts->cos_table, acts->sin_table, acts->rope_pos, model->rope_inv_freq, T, hd);

    /* layer l reads layers[l].x_in and writes the next layer's x_in (x_final after the last) */
    rg_model_embed(model, acts->layers[0].x_in, ids, T);
    packed_attention attention = {c, acts};
    const rg_block_env env = {model, lora, &acts->linear, acts->cos_table, acts->sin_table, attend_packed,
                              &attention};
    for (int l = 0; l < c->n_layers; l++)
        rg_block_forward(&env, l, &acts->layers[l], l + 1 < c->n_layers ? acts->layers[l + 1].x_in : acts->x_final,
                         T);
    nn_rmsnorm_forward(acts->h_final, acts->rstd_final, acts->x_final, model->final_norm, c->rms_norm_eps, T, C);
    return RG_OK;
}

static float *grad_of(const rg_model *model, float *grads, const float *param) {
    return grads && param ? grads + (param - model->params) : NULL;
}

int rg_train_head(const rg_model *model, float *grads, rg_train_acts *acts, const int32_t *positions, int n,
                  rg_loss_head_fn loss_head, void *ctx, int with_grad) {
    const int C = model->cfg.hidden_size, V = model->cfg.vocab_size, T = acts->N;
    const rg_matrix *head = &model->lm_head;
    float *d_head = with_grad ? grad_of(model, grads, head->f32) : NULL;
    if (with_grad) memset(acts->d_h_final, 0, sizeof(float) * (size_t)T * C);
    for (int i = 0; i < n; i++)
        if (positions[i] < 0 || positions[i] >= T || (i > 0 && positions[i] <= positions[i - 1]))
            return rg_error("loss rows must be ascending and inside the packed batch (row %d at index %d, "
                            "N=%d)", positions[i], i, T);
    for (int start = 0; start < n; start += acts->head_chunk) {
        int len = n - start < acts->head_chunk ? n - start : acts->head_chunk;
        const int32_t *pos = positions + start;
        nn_gather_rows(acts->head_h, acts->h_final, pos, len, C);
        nn_linear(acts->head_logits, acts->head_h, head, NULL, len, &acts->linear);
        if (loss_head(ctx, pos, len, acts->head_logits, V) != RG_OK) return RG_ERR;
        if (!with_grad) continue;
        /* head_logits now holds d loss / d logits for this chunk */
        memset(acts->head_dh, 0, sizeof(float) * (size_t)len * C);
        if (head->f32)
            nn_linear_backward(acts->head_dh, d_head, NULL, acts->head_logits, acts->head_h, head->f32, len, C, V);
        else
            nn_linear_bf16_backward_input(acts->head_dh, acts->head_logits, head->bf16, len, C, V, acts->linear.buf,
                                          acts->linear.floats);
        nn_scatter_add_rows(acts->d_h_final, acts->head_dh, pos, len, C);
    }
    return RG_OK;
}
