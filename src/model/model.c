/* model.c — the parameter table, allocation, and loading from safetensors. */
#include "model/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/rng.h"
#include "io/atomic_dir.h"
#include "model/model_source.h"
#include "nn/nn.h"

/* Adds one table entry; is_matrix tensors go to bf16 in a bf16 model. */
static void add_entry(rg_model *model, const char *name, int ndim, int64_t rows, int64_t cols, int is_matrix) {
    rg_param_entry *e = &model->entries[model->n_entries++];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    e->ndim = ndim;
    e->shape[0] = rows;
    e->shape[1] = ndim == 2 ? cols : 0;
    e->numel = (size_t)rows * (size_t)(ndim == 2 ? cols : 1);
    e->in_bf16 = is_matrix && model->dtype == RG_WEIGHTS_BF16;
    if (e->in_bf16) {
        e->offset = model->n_params_bf16;
        model->n_params_bf16 += e->numel;
    } else {
        e->offset = model->n_params;
        model->n_params += e->numel;
    }
}

/* The tensors a config needs, in a fixed order (the layout of `params`). */
static void build_table(rg_model *model) {
    const rg_model_config *c = &model->cfg;
    const int C = c->hidden_size, I = c->intermediate_size, hd = c->head_dim;
    const int q_dim = c->n_heads * hd, kv_dim = c->n_kv_heads * hd;
    char name[96];
    model->n_entries = 0;
    model->n_params = model->n_params_bf16 = 0;
    add_entry(model, "model.embed_tokens.weight", 2, c->vocab_size, C, 1);
    for (int l = 0; l < c->n_layers; l++) {
#define ADD(suffix, nd, r, k, mat)                                            \
    do {                                                                      \
        snprintf(name, sizeof name, "model.layers.%d.%s", l, suffix);         \
        add_entry(model, name, nd, r, k, mat);                                \
    } while (0)
        ADD("input_layernorm.weight", 1, C, 0, 0);
        ADD("self_attn.q_proj.weight", 2, q_dim, C, 1);
        ADD("self_attn.k_proj.weight", 2, kv_dim, C, 1);
        ADD("self_attn.v_proj.weight", 2, kv_dim, C, 1);
        if (c->qkv_bias) {
            ADD("self_attn.q_proj.bias", 1, q_dim, 0, 0);
            ADD("self_attn.k_proj.bias", 1, kv_dim, 0, 0);
            ADD("self_attn.v_proj.bias", 1, kv_dim, 0, 0);
        }
        if (c->qk_norm) {
            ADD("self_attn.q_norm.weight", 1, hd, 0, 0);
            ADD("self_attn.k_norm.weight", 1, hd, 0, 0);
        }
        ADD("self_attn.o_proj.weight", 2, C, q_dim, 1);
        ADD("post_attention_layernorm.weight", 1, C, 0, 0);
        ADD("mlp.gate_proj.weight", 2, I, C, 1);
        ADD("mlp.up_proj.weight", 2, I, C, 1);
        ADD("mlp.down_proj.weight", 2, C, I, 1);
#undef ADD
    }
    add_entry(model, "model.norm.weight", 1, C, 0, 0);
    if (!c->tie_word_embeddings) add_entry(model, "lm_head.weight", 2, c->vocab_size, C, 1);
}

const rg_param_entry *rg_model_find_param(const rg_model *model, const char *name) {
    for (int i = 0; i < model->n_entries; i++)
        if (strcmp(model->entries[i].name, name) == 0) return &model->entries[i];
    return NULL;
}

static const float *vec(const rg_model *model, const char *name) {
    const rg_param_entry *e = rg_model_find_param(model, name);
    return e ? model->params + e->offset : NULL;
}

static rg_matrix mat(const rg_model *model, const char *name) {
    rg_matrix m = {0};
    const rg_param_entry *e = rg_model_find_param(model, name);
    if (!e) return m;
    m.rows = (int)e->shape[0];
    m.cols = (int)e->shape[1];
    if (e->in_bf16)
        m.bf16 = model->params_bf16 + e->offset;
    else
        m.f32 = model->params + e->offset;
    return m;
}

/* Points the layer structs into the buffers. */
static void bind_pointers(rg_model *model) {
    const rg_model_config *c = &model->cfg;
    char name[96];
    model->embed = mat(model, "model.embed_tokens.weight");
    model->lm_head = c->tie_word_embeddings ? model->embed : mat(model, "lm_head.weight");
    model->final_norm = vec(model, "model.norm.weight");
    for (int l = 0; l < c->n_layers; l++) {
        rg_layer_weights *L = &model->layers[l];
#define NAME(suffix) (snprintf(name, sizeof name, "model.layers.%d.%s", l, suffix), name)
        L->input_norm = vec(model, NAME("input_layernorm.weight"));
        L->wq = mat(model, NAME("self_attn.q_proj.weight"));
        L->wk = mat(model, NAME("self_attn.k_proj.weight"));
        L->wv = mat(model, NAME("self_attn.v_proj.weight"));
        L->bq = vec(model, NAME("self_attn.q_proj.bias"));
        L->bk = vec(model, NAME("self_attn.k_proj.bias"));
        L->bv = vec(model, NAME("self_attn.v_proj.bias"));
        L->q_norm = vec(model, NAME("self_attn.q_norm.weight"));
        L->k_norm = vec(model, NAME("self_attn.k_norm.weight"));
        L->wo = mat(model, NAME("self_attn.o_proj.weight"));
        L->post_norm = vec(model, NAME("post_attention_layernorm.weight"));
        L->w_gate = mat(model, NAME("mlp.gate_proj.weight"));
        L->w_up = mat(model, NAME("mlp.up_proj.weight"));
        L->w_down = mat(model, NAME("mlp.down_proj.weight"));
#undef NAME
    }
}

/* The table and the per-layer structs, no parameter memory yet: enough to
 * check a checkpoint's tensors against the config before paying for them. */
static int model_plan(rg_model *model, const rg_model_config *cfg, rg_weight_dtype dtype) {
    memset(model, 0, sizeof *model);
    model->cfg = *cfg;
    model->dtype = dtype;
    size_t max_entries = 3 + (size_t)cfg->n_layers * 14;
    model->entries = rg_calloc(max_entries, sizeof *model->entries);
    model->layers = rg_calloc((size_t)cfg->n_layers, sizeof *model->layers);
    if (!model->entries || !model->layers) return RG_ERR;
    build_table(model);
    return RG_OK;
}

/* The parameter buffers (zeroed) for a planned model. */
static int model_alloc_buffers(rg_model *model) {
    const rg_model_config *cfg = &model->cfg;
    model->rope_inv_freq = rg_malloc(sizeof(float) * (size_t)(cfg->head_dim / 2));
    if (!model->rope_inv_freq) return RG_ERR;
    model->params = rg_malloc_aligned(sizeof(float) * model->n_params);
    if (!model->params) return RG_ERR;
    memset(model->params, 0, sizeof(float) * model->n_params);
    if (model->n_params_bf16) {
        model->params_bf16 = rg_malloc_aligned(sizeof(uint16_t) * model->n_params_bf16);
        if (!model->params_bf16) return RG_ERR;
        memset(model->params_bf16, 0, sizeof(uint16_t) * model->n_params_bf16);
    }
    bind_pointers(model);
    nn_rope_config rope = {.type = cfg->rope_llama3 ? NN_ROPE_LLAMA3 : NN_ROPE_DEFAULT,
                           .theta = (float)cfg->rope_theta,
                           .factor = (float)cfg->rope_factor,
                           .low_freq_factor = (float)cfg->rope_low_freq_factor,
                           .high_freq_factor = (float)cfg->rope_high_freq_factor,
                           .original_max_position = cfg->rope_original_max_position};
    nn_rope_inv_freq(model->rope_inv_freq, &rope, cfg->head_dim);
    return RG_OK;
}

int rg_model_alloc(rg_model *model, const rg_model_config *cfg, rg_weight_dtype dtype) {
    if (model_plan(model, cfg, dtype) != RG_OK || model_alloc_buffers(model) != RG_OK) {
        rg_model_free(model);
        return RG_ERR;
    }
    return RG_OK;
}

void rg_model_free(rg_model *model) {
    if (!model) return;
    rg_free_aligned(model->params);
    rg_free_aligned(model->params_bf16);
    free(model->entries);
    free(model->layers);
    free(model->rope_inv_freq);
    memset(model, 0, sizeof *model);
}

size_t rg_model_largest_layer_matrix(const rg_model *model) {
    size_t largest = 0;
    for (int i = 0; i < model->n_entries; i++) {
        const rg_param_entry *e = &model->entries[i];
        if (e->ndim == 2 && strncmp(e->name, "model.layers.", 13) == 0 && e->numel > largest) largest = e->numel;
    }
    return largest;
}

void rg_model_embed(const rg_model *model, float *out, const int32_t *ids, int N) {
    if (model->embed.bf16)
        nn_embedding_bf16_forward(out, ids, model->embed.bf16, N, model->cfg.hidden_size);
    else
        nn_embedding_forward(out, ids, model->embed.f32, N, model->cfg.hidden_size);
}

size_t rg_model_weight_bytes(const rg_model *model) {
    return model->n_params * sizeof(float) + model->n_params_bf16 * sizeof(uint16_t);
}

static uint16_t f32_to_bf16(float f) {
    union { float f; uint32_t u; } v = {.f = f};
    return (uint16_t)((v.u + 0x7fffu + ((v.u >> 16) & 1u)) >> 16);
}

void rg_model_init_random(rg_model *model, uint64_t seed, float scale) {
    rg_rng rng;
    rg_rng_seed(&rng, seed);
    for (int i = 0; i < model->n_entries; i++) {
        const rg_param_entry *e = &model->entries[i];
        int is_norm = strstr(e->name, "norm") != NULL;
        float s = e->ndim == 2 ? scale / sqrtf((float)e->shape[1]) : 0.1f;
        for (size_t j = 0; j < e->numel; j++) {
            /* uniform with the variance of N(0, s^2): cheap enough for 0.5B parameters */
            float value = (is_norm ? 1.0f : 0.0f) + s * 1.7320508f * (2.0f * rg_rng_uniform(&rng) - 1.0f);
            if (e->in_bf16)
                model->params_bf16[e->offset + j] = f32_to_bf16(value);
            else
                model->params[e->offset + j] = value;
        }
    }
}

/* ---- loading ------------------------------------------------------------ */

/* Every tensor the table names is present, of that shape and a float dtype:
 * checked from the headers alone, before any parameter memory is taken (a
 * 1 KB config.json could otherwise claim gigabytes, zeroed, before the first
 * shape error). */
static int check_source(const rg_model *model, rg_model_source *src) {
    for (int i = 0; i < model->n_entries; i++) {
        const rg_param_entry *e = &model->entries[i];
        const rg_tensor *t = rg_model_source_get(src, e->name);
        if (!t) return RG_ERR;
        if (rg_tensor_expect_shape(t, e->ndim, e->shape)) return RG_ERR;
        if (!rg_dtype_is_float(t->dtype))
            return rg_error("%s: tensor %s has dtype %s; expected F32, F16 or BF16", t->path, t->name,
                            rg_dtype_name(t->dtype));
    }
    return RG_OK;
}

/* Converts each (checked) tensor into its slot. */
static int fill_from_source(rg_model *model, rg_model_source *src) {
    for (int i = 0; i < model->n_entries; i++) {
        const rg_param_entry *e = &model->entries[i];
        const rg_tensor *t = rg_model_source_get(src, e->name);
        if (!t) return RG_ERR;
        int rc = e->in_bf16 ? rg_tensor_to_bf16(t, model->params_bf16 + e->offset, e->numel)
                            : rg_tensor_to_f32(t, model->params + e->offset, e->numel);
        if (rc) return RG_ERR;
        if (rg_model_source_fixup(src, e->name, e, model)) return RG_ERR;
        rg_model_source_release(src, t);
    }
    return RG_OK;
}

int rg_model_load(rg_model *model, const char *path, rg_weight_dtype dtype) {
    memset(model, 0, sizeof *model);
    rg_model_source src;
    rg_model_config cfg;
    /* a checkpoint folder whose save was killed midway may sit beside its name */
    if (rg_dir_recover_missing(path) != RG_OK) return RG_ERR;
    if (rg_model_source_open(&src, path, &cfg)) return RG_ERR;
    /* Even the table is sized by a claim: every layer has at least 9 tensors. */
    int rc = RG_OK;
    int n_tensors = rg_model_source_n_tensors(&src);
    if ((int64_t)cfg.n_layers * 9 > (int64_t)n_tensors)
        rc = rg_error("%s: the config claims %d layers (at least %lld tensors) but the checkpoint holds %d tensors",
                      path, cfg.n_layers, (long long)cfg.n_layers * 9, n_tensors);
    if (rc == RG_OK) rc = model_plan(model, &cfg, dtype);
    if (rc == RG_OK) rc = check_source(model, &src);
    if (rc == RG_OK) rc = model_alloc_buffers(model);
    if (rc == RG_OK) rc = fill_from_source(model, &src);
    rg_model_source_close(&src);
    if (rc) rg_model_free(model);
    return rc;
}
