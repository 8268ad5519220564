/* infer.c — KV-cache inference for one or many sequences (see infer.h). */
#include "model/infer.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "model/block.h"
#include "nn/nn.h"

int rg_infer_init(rg_infer_state *s, const rg_model *model, int max_batch, int max_seq, int max_tokens) {
    const rg_model_config *c = &model->cfg;
    memset(s, 0, sizeof *s);
    if (max_batch <= 0 || max_seq <= 0 || max_tokens <= 0)
        return rg_error("inference state: batch, context and chunk sizes must be > 0");
    if (max_seq > c->max_position) max_seq = c->max_position;
    if (max_tokens > max_seq * max_batch) max_tokens = max_seq * max_batch;
    s->max_batch = max_batch;
    s->max_seq = max_seq;
    s->max_tokens = max_tokens;
    s->kv_dim = c->n_kv_heads * c->head_dim;
    const size_t C = (size_t)c->hidden_size, I = (size_t)c->intermediate_size, M = (size_t)max_tokens;
    const size_t q_dim = (size_t)c->n_heads * c->head_dim;
    const size_t cache = (size_t)c->n_layers * max_batch * max_seq * s->kv_dim;
    s->k_cache = rg_malloc_aligned(sizeof(float) * cache);
    s->v_cache = rg_malloc_aligned(sizeof(float) * cache);
    s->cache_len = rg_calloc((size_t)max_batch, sizeof(int));
    s->x = rg_malloc_aligned(sizeof(float) * M * C);
    s->h = rg_malloc_aligned(sizeof(float) * M * C);
    s->proj = rg_malloc_aligned(sizeof(float) * M * C);
    s->q = rg_malloc_aligned(sizeof(float) * M * q_dim);
    s->att = rg_malloc_aligned(sizeof(float) * M * q_dim);
    s->k = rg_malloc_aligned(sizeof(float) * M * s->kv_dim);
    s->v = rg_malloc_aligned(sizeof(float) * M * s->kv_dim);
    s->gate = rg_malloc_aligned(sizeof(float) * M * I);
    s->up = rg_malloc_aligned(sizeof(float) * M * I);
    s->attn_scratch = rg_malloc_aligned(sizeof(float) * (size_t)c->n_heads * M * max_seq);
    s->cos_table = rg_malloc_aligned(sizeof(float) * M * (size_t)(c->head_dim / 2));
    s->sin_table = rg_malloc_aligned(sizeof(float) * M * (size_t)(c->head_dim / 2));
    s->positions = rg_malloc(sizeof(int32_t) * M);
    s->ids = rg_malloc(sizeof(int32_t) * M);
    if (model->params_bf16 && max_tokens > 8) {
        s->widen_floats = rg_model_largest_layer_matrix(model);
        s->widen = rg_malloc_aligned(sizeof(float) * s->widen_floats);
        if (!s->widen) s->widen_floats = 0; /* slower panel path, still correct */
    }
    if (!s->k_cache || !s->v_cache || !s->cache_len || !s->x || !s->h || !s->proj || !s->q || !s->att || !s->k ||
        !s->v || !s->gate || !s->up || !s->attn_scratch || !s->cos_table || !s->sin_table || !s->positions ||
        !s->ids) {
        rg_infer_free(s);
        return rg_error_prefix("inference state (batch %d, context %d)", max_batch, max_seq);
    }
    return RG_OK;
}

void rg_infer_free(rg_infer_state *s) {
    float *aligned[] = {s->k_cache, s->v_cache, s->x, s->h, s->proj, s->q, s->att, s->k,
                        s->v, s->gate, s->up, s->attn_scratch, s->cos_table, s->sin_table, s->widen};
    for (size_t i = 0; i < sizeof aligned / sizeof aligned[0]; i++) rg_free_aligned(aligned[i]);
    rg_free_aligned(s->lora_xa);
    free(s->cache_len);
    free(s->positions);
    free(s->ids);
    memset(s, 0, sizeof *s);
}

int rg_infer_set_lora(rg_infer_state *s, const rg_model *model, const rg_lora *lora) {
    if (lora && lora->n_layers != model->cfg.n_layers)
        return rg_error("inference: the LoRA adapter has %d layers, the model %d", lora->n_layers,
                        model->cfg.n_layers);
    if (lora && lora->rank > s->lora_rank) {
        float *xa = rg_malloc_aligned(sizeof(float) * (size_t)s->max_tokens * lora->rank);
        if (!xa) return rg_error_prefix("inference: LoRA scratch (rank %d)", lora->rank);
        rg_free_aligned(s->lora_xa);
        s->lora_xa = xa;
        s->lora_rank = lora->rank;
    }
    s->lora = lora;
    return RG_OK;
}

void rg_infer_reset(rg_infer_state *s, int slot) {
    if (slot >= 0 && slot < s->max_batch) s->cache_len[slot] = 0;
}

/* The cache rows of one layer and slot: [max_seq, kv_dim]. */
static float *cache_at(const rg_infer_state *s, float *cache, int layer, int slot) {
    return cache + (((size_t)layer * s->max_batch + slot) * s->max_seq) * s->kv_dim;
}

typedef struct {
    rg_infer_state *s;
    const rg_model_config *cfg;
    int n_seqs;
    const int *slots, *n_new;
} cached_attention;

/* Sequence i of the step (its rows from row r): append its keys/values to its cache, attend over the
 * whole prefix. Its part of the scratch starts at row r too ([n_heads, T, P + T] <= n_heads x T x
 * max_seq floats from r x n_heads x max_seq), so sequences never share memory. */
static void attend_one(const cached_attention *a, int l, const rg_layer_acts *A, int i, int r) {
    rg_infer_state *s = a->s;
    const int nh = a->cfg->n_heads, nkv = a->cfg->n_kv_heads, hd = a->cfg->head_dim;
    const int q_dim = nh * hd, kv_dim = s->kv_dim;
    const int P = s->cache_len[a->slots[i]], T = a->n_new[i];
    float *k_cache = cache_at(s, s->k_cache, l, a->slots[i]);
    float *v_cache = cache_at(s, s->v_cache, l, a->slots[i]);
    memcpy(k_cache + (size_t)P * kv_dim, A->k + (size_t)r * kv_dim, sizeof(float) * T * kv_dim);
    memcpy(v_cache + (size_t)P * kv_dim, A->v + (size_t)r * kv_dim, sizeof(float) * T * kv_dim);
    nn_attention_forward_cached(A->att + (size_t)r * q_dim, s->attn_scratch + (size_t)r * nh * s->max_seq,
                                A->q + (size_t)r * q_dim, k_cache, v_cache, T, P, nh, nkv, hd);
}

/* Every sequence of the step (ctx: cached_attention). A decode step (one row per sequence: too small
 * for the kernel's own threads) runs its sequences on all threads; a sequence's arithmetic is the same
 * on any thread. */
static void attend_cached(void *ctx, int l, const rg_layer_acts *A) {
    const cached_attention *a = ctx;
    int one_row_each = a->n_seqs > 1;
    for (int i = 0; i < a->n_seqs && one_row_each; i++) one_row_each = a->n_new[i] == 1;
    if (one_row_each) {
#pragma omp parallel for schedule(static)
        for (int i = 0; i < a->n_seqs; i++) attend_one(a, l, A, i, i);
        return;
    }
    for (int i = 0, r = 0; i < a->n_seqs; r += a->n_new[i], i++) attend_one(a, l, A, i, r);
}

/* The state's scratch as one layer's tensors: nothing kept for backward (no
 * rstd, no lse), q/k normed in place, SwiGLU in place in gate, the residual
 * stream x updated in place (x_mid lives in proj). */
static rg_layer_acts scratch_acts(rg_infer_state *s) {
    rg_layer_acts A = {.x_in = s->x, .h_attn = s->h, .q = s->q, .k = s->k, .v = s->v, .att = s->att,
                       .x_mid = s->proj, .h_mlp = s->h, .gate = s->gate, .up = s->up, .act = s->gate};
    for (int m = 0; m < RG_LORA_N_MODULES; m++) A.lora_xa[m] = s->lora_xa;
    return A;
}

int rg_infer_step(rg_infer_state *s, const rg_model *model, int n_seqs, const int *slots,
                  const int32_t *const *tokens, const int *n_new, float *logits, int all_logits) {
    const rg_model_config *c = &model->cfg;
    const int C = c->hidden_size, hd = c->head_dim;

    /* Validate everything before touching the caches. */
    int rows = 0;
    for (int i = 0; i < n_seqs; i++) {
        int slot = slots[i];
        if (slot < 0 || slot >= s->max_batch) return rg_error("inference: slot %d out of range", slot);
        for (int j = 0; j < i; j++)
            if (slots[j] == slot) return rg_error("inference: slot %d listed twice in one step", slot);
        if (n_new[i] <= 0) return rg_error("inference: sequence %d has no new tokens", i);
        if (s->cache_len[slot] + n_new[i] > s->max_seq)
            return rg_error("sequence of %d tokens is longer than the context (%d tokens)",
                            s->cache_len[slot] + n_new[i], s->max_seq);
        for (int t = 0; t < n_new[i]; t++)
            if (tokens[i][t] < 0 || tokens[i][t] >= c->vocab_size)
                return rg_error("token id %d is outside the vocabulary (%d)", tokens[i][t], c->vocab_size);
        rows += n_new[i];
    }
    if (rows > s->max_tokens)
        return rg_error("inference: %d tokens in one step, more than the %d the state was sized for", rows,
                        s->max_tokens);

    /* Gather the new tokens of all sequences into rows, with their positions. */
    int32_t *ids = s->ids;
    for (int i = 0, r = 0; i < n_seqs; i++)
        for (int t = 0; t < n_new[i]; t++, r++) {
            ids[r] = tokens[i][t];
            s->positions[r] = s->cache_len[slots[i]] + t;
        }
    rg_model_embed(model, s->x, ids, rows);
    nn_rope_tables(s->cos_table, s->sin_table, s->positions, model->rope_inv_freq, rows, hd);

    const nn_scratch scratch = {s->widen, s->widen_floats, 0}; /* prefill may use bf16 dot products */
    cached_attention attention = {s, c, n_seqs, slots, n_new};
    const rg_block_env env = {model, s->lora, &scratch, s->cos_table, s->sin_table, attend_cached, &attention};
    const rg_layer_acts A = scratch_acts(s);
    for (int l = 0; l < c->n_layers; l++) rg_block_forward(&env, l, &A, s->x, rows); /* x[rows, C] in place */
    for (int i = 0; i < n_seqs; i++) s->cache_len[slots[i]] += n_new[i];

    /* Final norm and LM head only for the rows whose logits are wanted. */
    int n_out = 0;
    if (all_logits)
        n_out = rows;
    else {
        for (int i = 0, r = 0; i < n_seqs; r += n_new[i], i++) {
            int last = r + n_new[i] - 1;
            if (last != n_out) memcpy(s->x + (size_t)n_out * C, s->x + (size_t)last * C, sizeof(float) * C);
            n_out++;
        }
    }
    nn_rmsnorm_forward(s->h, NULL, s->x, model->final_norm, c->rms_norm_eps, n_out, C);
    const nn_scratch head_scratch = {s->widen, s->widen_floats, 1}; /* the LM head keeps f32 activations */
    nn_linear(logits, s->h, &model->lm_head, NULL, n_out, &head_scratch);
    return RG_OK;
}

int rg_infer_prefill(rg_infer_state *s, const rg_model *model, int slot, const int32_t *tokens, int T,
                     float *logits, int all_logits) {
    if (T <= 0) return rg_error("inference: empty prompt");
    if (slot < 0 || slot >= s->max_batch) return rg_error("inference: slot %d out of range", slot);
    if (s->cache_len[slot] + T > s->max_seq)
        return rg_error("prompt of %d tokens is longer than the context (%d tokens)", s->cache_len[slot] + T,
                        s->max_seq);
    const size_t V = (size_t)model->cfg.vocab_size;
    for (int start = 0; start < T; start += s->max_tokens) {
        int n = T - start < s->max_tokens ? T - start : s->max_tokens;
        const int32_t *chunk = tokens + start;
        int last_chunk = start + n >= T;
        /* Logits of intermediate chunks are only needed with all_logits. */
        if (!all_logits && !last_chunk) {
            /* Still run the step (it fills the cache); logits of its last row go to the
             * caller's buffer and are overwritten by the last chunk. */
            if (rg_infer_step(s, model, 1, &slot, &chunk, &n, logits, 0)) return RG_ERR;
            continue;
        }
        float *out = all_logits ? logits + (size_t)start * V : logits;
        if (rg_infer_step(s, model, 1, &slot, &chunk, &n, out, all_logits)) return RG_ERR;
    }
    return RG_OK;
}
