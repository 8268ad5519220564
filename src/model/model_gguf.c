/* model_gguf.c — a model from a GGUF v3 file (llama.cpp's layout), for
 * inference-only use such as a local judge.
 *
 * Config: general.architecture (llama | qwen2 | qwen3) and its keys
 * ({arch}.block_count, .embedding_length, .feed_forward_length,
 * .attention.head_count[_kv], .attention.key_length, .context_length,
 * .attention.layer_norm_rms_epsilon, .rope.freq_base), tokenizer.ggml.*_token_id.
 * Tensors: llama.cpp names (token_embd, blk.N.attn_q, ..., output) mapped to
 * HF names; no output.weight means tied embeddings. llama.cpp's converter
 * permutes the rows of Q and K for the llama architecture (interleaved RoPE
 * pairs); they are permuted back here so the forward is the HF one. Llama 3
 * RoPE scaling is stored as rope_freqs.weight (one divisor per frequency),
 * applied to the inverse frequencies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "io/gguf.h"
#include "model/model_source.h"

static int get_dim(const rg_gguf_file *g, const char *arch, const char *key, int required, int def, int *out) {
    char full[128];
    snprintf(full, sizeof full, "%s.%s", arch, key);
    if (!rg_gguf_find(g, full)) {
        if (required) return rg_error("%s: metadata key '%s' is missing", g->path, full);
        *out = def;
        return RG_OK;
    }
    int64_t v;
    if (rg_gguf_get_int(g, full, &v)) return RG_ERR;
    if (v <= 0 || v > 1000000000) return rg_error("%s: metadata key '%s' = %lld is out of range", g->path, full, (long long)v);
    *out = (int)v;
    return RG_OK;
}

static int config_from_gguf(const rg_gguf_file *g, rg_model_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->bos_id = -1;
    const char *arch = rg_gguf_get_string(g, "general.architecture");
    if (!arch) return RG_ERR;
    if (strcmp(arch, "llama") == 0)
        cfg->arch = RG_ARCH_LLAMA;
    else if (strcmp(arch, "qwen2") == 0)
        cfg->arch = RG_ARCH_QWEN2, cfg->qkv_bias = 1;
    else if (strcmp(arch, "qwen3") == 0)
        cfg->arch = RG_ARCH_QWEN3, cfg->qk_norm = 1;
    else
        return rg_error("%s: general.architecture is '%s'; supported: llama, qwen2, qwen3", g->path, arch);
    if (get_dim(g, arch, "block_count", 1, 0, &cfg->n_layers) ||
        get_dim(g, arch, "embedding_length", 1, 0, &cfg->hidden_size) ||
        get_dim(g, arch, "feed_forward_length", 1, 0, &cfg->intermediate_size) ||
        get_dim(g, arch, "attention.head_count", 1, 0, &cfg->n_heads) ||
        get_dim(g, arch, "attention.head_count_kv", 0, cfg->n_heads, &cfg->n_kv_heads) ||
        get_dim(g, arch, "context_length", 1, 0, &cfg->max_position) ||
        get_dim(g, arch, "attention.key_length", 0, cfg->hidden_size / cfg->n_heads, &cfg->head_dim))
        return RG_ERR;
    if (cfg->n_heads % cfg->n_kv_heads || cfg->head_dim % 2)
        return rg_error("%s: head counts %d/%d or key_length %d are inconsistent", g->path, cfg->n_heads,
                        cfg->n_kv_heads, cfg->head_dim);
    if (rg_config_check_sizes(cfg, g->path)) return RG_ERR;
    char key[128];
    double value;
    snprintf(key, sizeof key, "%s.attention.layer_norm_rms_epsilon", arch);
    if (rg_gguf_get_float(g, key, &value)) return RG_ERR;
    cfg->rms_norm_eps = (float)value;
    snprintf(key, sizeof key, "%s.rope.freq_base", arch);
    cfg->rope_theta = 10000.0;
    if (rg_gguf_find(g, key) && rg_gguf_get_float(g, key, &cfg->rope_theta)) return RG_ERR;
    const rg_tensor *embed = rg_gguf_find_tensor(g, "token_embd.weight");
    if (!embed || embed->ndim != 2) return rg_error("%s: tensor token_embd.weight not found", g->path);
    if (embed->shape[0] <= 0 || embed->shape[0] > 1000000000)
        return rg_error("%s: tensor token_embd.weight has %lld rows; expected 1 to 1e9", g->path,
                        (long long)embed->shape[0]);
    cfg->vocab_size = (int)embed->shape[0];
    cfg->tie_word_embeddings = rg_gguf_find_tensor(g, "output.weight") == NULL;
    int64_t id;
    if (rg_gguf_find(g, "tokenizer.ggml.eos_token_id")) {
        if (rg_gguf_get_int(g, "tokenizer.ggml.eos_token_id", &id)) return RG_ERR;
        if (id >= 0 && id < cfg->vocab_size) cfg->eos_ids[cfg->n_eos++] = (int)id;
    }
    if (rg_gguf_find(g, "tokenizer.ggml.bos_token_id") && rg_gguf_get_int(g, "tokenizer.ggml.bos_token_id", &id) == RG_OK) {
        if (id < 0 || id >= cfg->vocab_size)
            return rg_error("%s: metadata key 'tokenizer.ggml.bos_token_id' = %lld is outside the vocabulary [0, %d)",
                            g->path, (long long)id, cfg->vocab_size);
        cfg->bos_id = (int)id;
    }
    snprintf(cfg->torch_dtype, sizeof cfg->torch_dtype, "gguf");
    return RG_OK;
}

int rg_model_gguf_open(rg_model_source *src, const char *path, rg_model_config *cfg) {
    rg_gguf_file *g = rg_calloc(1, sizeof *g);
    if (!g) return RG_ERR;
    if (rg_gguf_open(g, path)) {
        free(g);
        return RG_ERR;
    }
    if (config_from_gguf(g, cfg)) {
        rg_gguf_close(g);
        free(g);
        return RG_ERR;
    }
    src->is_gguf = 1;
    src->gguf = g;
    src->path = rg_strdup(path);
    return src->path ? RG_OK : RG_ERR;
}

void rg_model_gguf_close(rg_model_source *src) {
    if (src->gguf) {
        rg_gguf_close(src->gguf);
        free(src->gguf);
    }
    src->gguf = NULL;
}

/* HF tensor name -> llama.cpp's. */
static int gguf_name(const char *hf, char *out, size_t size) {
    static const struct { const char *hf, *gguf; } per_layer[] = {
        {"input_layernorm.weight", "attn_norm.weight"},   {"post_attention_layernorm.weight", "ffn_norm.weight"},
        {"self_attn.q_proj.weight", "attn_q.weight"},     {"self_attn.k_proj.weight", "attn_k.weight"},
        {"self_attn.v_proj.weight", "attn_v.weight"},     {"self_attn.o_proj.weight", "attn_output.weight"},
        {"self_attn.q_proj.bias", "attn_q.bias"},         {"self_attn.k_proj.bias", "attn_k.bias"},
        {"self_attn.v_proj.bias", "attn_v.bias"},         {"self_attn.q_norm.weight", "attn_q_norm.weight"},
        {"self_attn.k_norm.weight", "attn_k_norm.weight"}, {"mlp.gate_proj.weight", "ffn_gate.weight"},
        {"mlp.up_proj.weight", "ffn_up.weight"},          {"mlp.down_proj.weight", "ffn_down.weight"},
    };
    if (strcmp(hf, "model.embed_tokens.weight") == 0) return snprintf(out, size, "token_embd.weight"), RG_OK;
    if (strcmp(hf, "model.norm.weight") == 0) return snprintf(out, size, "output_norm.weight"), RG_OK;
    if (strcmp(hf, "lm_head.weight") == 0) return snprintf(out, size, "output.weight"), RG_OK;
    int layer, consumed = 0;
    if (sscanf(hf, "model.layers.%d.%n", &layer, &consumed) == 1 && consumed > 0)
        for (size_t i = 0; i < sizeof per_layer / sizeof per_layer[0]; i++)
            if (strcmp(hf + consumed, per_layer[i].hf) == 0)
                return snprintf(out, size, "blk.%d.%s", layer, per_layer[i].gguf), RG_OK;
    return rg_error("no GGUF name for tensor %s", hf);
}

const rg_tensor *rg_model_gguf_get(rg_model_source *src, const char *hf_name) {
    char name[128];
    if (gguf_name(hf_name, name, sizeof name)) return NULL;
    const rg_tensor *t = rg_gguf_find_tensor(src->gguf, name);
    if (!t) rg_error("%s: tensor %s (%s) not found", src->path, name, hf_name);
    return t;
}

/* Rows of one head: GGUF row 2i + j holds HF row j*half + i. */
#define UNPERMUTE(type, data)                                                                          \
    do {                                                                                               \
        type *tmp = rg_malloc(sizeof(type) * (size_t)hd * cols);                                       \
        if (!tmp) return RG_ERR;                                                                       \
        for (int h = 0; h < n_heads; h++) {                                                            \
            type *head = (data) + (size_t)h * hd * cols;                                               \
            memcpy(tmp, head, sizeof(type) * (size_t)hd * cols);                                       \
            for (int i = 0; i < half; i++)                                                             \
                for (int j = 0; j < 2; j++)                                                            \
                    memcpy(head + (size_t)(j * half + i) * cols, tmp + (size_t)(2 * i + j) * cols,     \
                           sizeof(type) * (size_t)cols);                                               \
        }                                                                                              \
        free(tmp);                                                                                     \
    } while (0)

int rg_model_gguf_fixup(rg_model_source *src, const char *hf_name, const rg_param_entry *entry, rg_model *model) {
    const rg_model_config *c = &model->cfg;
    if (strcmp(hf_name, "model.norm.weight") == 0) {
        /* Llama 3 RoPE scaling, llama.cpp style: theta_i / rope_freqs[i]. */
        const rg_tensor *freqs = rg_gguf_find_tensor(src->gguf, "rope_freqs.weight");
        if (freqs) {
            int half = c->head_dim / 2;
            if (freqs->numel != half)
                return rg_error("%s: rope_freqs.weight has %lld values, expected %d", src->path,
                                (long long)freqs->numel, half);
            float *factors = rg_malloc(sizeof(float) * (size_t)half);
            if (!factors || rg_tensor_to_f32(freqs, factors, (size_t)half)) {
                free(factors);
                return RG_ERR;
            }
            for (int i = 0; i < half; i++) {
                if (!(factors[i] > 0)) {
                    free(factors);
                    return rg_error("%s: rope_freqs.weight[%d] is not positive", src->path, i);
                }
                model->rope_inv_freq[i] /= factors[i];
            }
            free(factors);
        }
        return RG_OK;
    }
    if (c->arch != RG_ARCH_LLAMA) return RG_OK;
    int is_q = strstr(hf_name, "self_attn.q_proj.weight") != NULL;
    int is_k = strstr(hf_name, "self_attn.k_proj.weight") != NULL;
    if (!is_q && !is_k) return RG_OK;
    const int n_heads = is_q ? c->n_heads : c->n_kv_heads, hd = c->head_dim, half = hd / 2;
    const int cols = (int)entry->shape[1];
    if (entry->in_bf16)
        UNPERMUTE(uint16_t, model->params_bf16 + entry->offset);
    else
        UNPERMUTE(float, model->params + entry->offset);
    return RG_OK;
}
