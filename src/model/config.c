/* config.c — config.json -> rg_model_config, with validation. */
#include "model/config.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/text.h"
#include "io/file.h"

const char *rg_arch_name(rg_arch arch) {
    switch (arch) {
    case RG_ARCH_LLAMA: return "LlamaForCausalLM";
    case RG_ARCH_QWEN2: return "Qwen2ForCausalLM";
    case RG_ARCH_QWEN3: return "Qwen3ForCausalLM";
    }
    return "?";
}

/* A string from the file, quoted in a message: escaped and cut short so the
 * rest of the message (what is expected) survives a megabyte-long value. */
#define QUOTE_CAP 80
static const char *quoted(char buf[QUOTE_CAP], const char *s) { return rg_text_escape(buf, QUOTE_CAP, s, 64); }

/* An integer field: required (no default) when def_value < 0 is passed with required = 1. */
static int get_int(const cJSON *root, const char *source, const char *field, int required, int def_value,
                   int *out) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, field);
    if (!item || cJSON_IsNull(item)) {
        if (required) return rg_error("%s: missing field '%s'", source, field);
        *out = def_value;
        return RG_OK;
    }
    if (!cJSON_IsNumber(item) || item->valuedouble != floor(item->valuedouble) || item->valuedouble < 0 ||
        item->valuedouble > 1e9)
        return rg_error("%s: field '%s' must be a non-negative integer", source, field);
    *out = (int)item->valuedouble;
    return RG_OK;
}

static int get_double(const cJSON *root, const char *source, const char *field, int required, double def_value,
                      double *out) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, field);
    if (!item || cJSON_IsNull(item)) {
        if (required) return rg_error("%s: missing field '%s'", source, field);
        *out = def_value;
        return RG_OK;
    }
    if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble))
        return rg_error("%s: field '%s' must be a number", source, field);
    *out = item->valuedouble;
    return RG_OK;
}

static int get_bool(const cJSON *root, const char *source, const char *field, int def_value, int *out) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, field);
    if (!item || cJSON_IsNull(item)) {
        *out = def_value;
        return RG_OK;
    }
    if (!cJSON_IsBool(item)) return rg_error("%s: field '%s' must be true or false", source, field);
    *out = cJSON_IsTrue(item);
    return RG_OK;
}

/* A token id from JSON: an integer in [0, vocab_size), checked before the
 * cast (1e20 cast to int is undefined behaviour). */
static int token_id(const cJSON *item, const char *source, const char *field, int vocab_size, int *out) {
    if (!cJSON_IsNumber(item) || item->valuedouble != floor(item->valuedouble))
        return rg_error("%s: field '%s' holds a value that is not a token id (an integer)", source, field);
    if (item->valuedouble < 0 || item->valuedouble >= vocab_size)
        return rg_error("%s: field '%s' holds %.17g, outside the vocabulary [0, %d)", source, field,
                        item->valuedouble, vocab_size);
    *out = (int)item->valuedouble;
    return RG_OK;
}

/* bos_token_id: absent or null leaves *bos as it is. */
static int get_bos(const cJSON *root, const char *source, int vocab_size, int *bos) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, "bos_token_id");
    if (!item || cJSON_IsNull(item)) return RG_OK;
    return token_id(item, source, "bos_token_id", vocab_size, bos);
}

int rg_config_check_sizes(const rg_model_config *cfg, const char *source) {
    /* The kernels index rows with int: the widths must fit one. */
    int64_t q_dim = (int64_t)cfg->n_heads * cfg->head_dim, kv_dim = (int64_t)cfg->n_kv_heads * cfg->head_dim;
    if (q_dim > INT_MAX || kv_dim > INT_MAX)
        return rg_error("%s: num_attention_heads (%d) * head_dim (%d) = %lld exceeds %d", source, cfg->n_heads,
                        cfg->head_dim, (long long)q_dim, INT_MAX);
    return RG_OK;
}

/* eos_token_id may be an integer or a list of integers; adds the new ones. */
static int add_token_ids(const cJSON *item, const char *source, const char *field, rg_model_config *cfg) {
    if (!item || cJSON_IsNull(item)) return RG_OK;
    const cJSON *one;
    if (cJSON_IsNumber(item)) {
        one = item;
        goto single;
    }
    if (!cJSON_IsArray(item)) return rg_error("%s: field '%s' must be an integer or a list", source, field);
    cJSON_ArrayForEach(one, item) {
        int id, seen;
    single: /* a label before a declaration is C23, which clang -std=c11 refuses */
        seen = 0;
        if (token_id(one, source, field, cfg->vocab_size, &id)) return RG_ERR;
        for (int i = 0; i < cfg->n_eos; i++) seen |= cfg->eos_ids[i] == id;
        if (!seen) {
            if (cfg->n_eos == RG_MAX_EOS_IDS) return rg_error("%s: field '%s' lists too many ids", source, field);
            cfg->eos_ids[cfg->n_eos++] = id;
        }
        if (one == item) break;
    }
    return RG_OK;
}

static int parse_rope_scaling(const cJSON *root, const char *source, rg_model_config *cfg) {
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(root, "rope_scaling");
    cfg->rope_llama3 = 0;
    if (!rs || cJSON_IsNull(rs)) return RG_OK;
    if (!cJSON_IsObject(rs)) return rg_error("%s: field 'rope_scaling' must be an object or null", source);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(rs, "rope_type");
    if (!type) type = cJSON_GetObjectItemCaseSensitive(rs, "type");
    if (!cJSON_IsString(type)) return rg_error("%s: field 'rope_scaling.rope_type' is missing", source);
    if (strcmp(type->valuestring, "default") == 0) return RG_OK;
    if (strcmp(type->valuestring, "llama3") != 0)
        return rg_error("%s: field 'rope_scaling.rope_type' is '%s'; only 'llama3' (or none) is supported", source,
                        quoted((char[QUOTE_CAP]){0}, type->valuestring));
    cfg->rope_llama3 = 1;
    if (get_double(rs, source, "factor", 1, 0, &cfg->rope_factor) ||
        get_double(rs, source, "low_freq_factor", 1, 0, &cfg->rope_low_freq_factor) ||
        get_double(rs, source, "high_freq_factor", 1, 0, &cfg->rope_high_freq_factor) ||
        get_int(rs, source, "original_max_position_embeddings", 1, 0, &cfg->rope_original_max_position))
        return rg_error_prefix("rope_scaling");
    if (cfg->rope_factor <= 0 || cfg->rope_low_freq_factor <= 0 ||
        cfg->rope_high_freq_factor <= cfg->rope_low_freq_factor || cfg->rope_original_max_position <= 0)
        return rg_error("%s: field 'rope_scaling' has inconsistent values (need factor > 0, high_freq_factor > "
                        "low_freq_factor > 0, original_max_position_embeddings > 0)",
                        source);
    return RG_OK;
}

/* 'architectures'[0] -> cfg->arch. */
static int parse_arch(const cJSON *root, const char *source, rg_model_config *cfg) {
    const cJSON *archs = cJSON_GetObjectItemCaseSensitive(root, "architectures");
    const cJSON *arch0 = cJSON_IsArray(archs) ? cJSON_GetArrayItem(archs, 0) : NULL;
    if (!cJSON_IsString(arch0))
        return rg_error("%s: field 'architectures' must be a list holding the model class name", source);
    const char *arch = arch0->valuestring;
    if (strcmp(arch, "LlamaForCausalLM") == 0)
        cfg->arch = RG_ARCH_LLAMA;
    else if (strcmp(arch, "Qwen2ForCausalLM") == 0)
        cfg->arch = RG_ARCH_QWEN2;
    else if (strcmp(arch, "Qwen3ForCausalLM") == 0)
        cfg->arch = RG_ARCH_QWEN3;
    else
        return rg_error("%s: field 'architectures' is '%s'; supported: LlamaForCausalLM, Qwen2ForCausalLM, "
                        "Qwen3ForCausalLM",
                        source, quoted((char[QUOTE_CAP]){0}, arch));
    return RG_OK;
}

/* The sizes (hidden, heads, layers, vocabulary, context), head_dim, and the norm and RoPE constants. */
static int parse_shape(const cJSON *root, const char *source, rg_model_config *cfg) {
    if (get_int(root, source, "hidden_size", 1, 0, &cfg->hidden_size) ||
        get_int(root, source, "intermediate_size", 1, 0, &cfg->intermediate_size) ||
        get_int(root, source, "num_hidden_layers", 1, 0, &cfg->n_layers) ||
        get_int(root, source, "num_attention_heads", 1, 0, &cfg->n_heads) ||
        get_int(root, source, "num_key_value_heads", 0, cfg->n_heads, &cfg->n_kv_heads) ||
        get_int(root, source, "vocab_size", 1, 0, &cfg->vocab_size) ||
        get_int(root, source, "max_position_embeddings", 1, 0, &cfg->max_position))
        return RG_ERR;
    if (cfg->hidden_size <= 0 || cfg->intermediate_size <= 0 || cfg->n_layers <= 0 || cfg->n_heads <= 0 ||
        cfg->n_kv_heads <= 0 || cfg->vocab_size <= 0 || cfg->max_position <= 0)
        return rg_error("%s: hidden_size, intermediate_size, num_hidden_layers, num_attention_heads, "
                        "num_key_value_heads, vocab_size and max_position_embeddings must all be > 0",
                        source);
    if (cfg->n_heads % cfg->n_kv_heads != 0)
        return rg_error("%s: field 'num_key_value_heads' (%d) must divide num_attention_heads (%d)", source,
                        cfg->n_kv_heads, cfg->n_heads);
    int default_head_dim = cfg->hidden_size / cfg->n_heads;
    if (get_int(root, source, "head_dim", 0, default_head_dim, &cfg->head_dim)) return RG_ERR;
    if (cfg->head_dim <= 0 || cfg->head_dim % 2 != 0)
        return rg_error("%s: field 'head_dim' must be a positive even number (got %d)", source, cfg->head_dim);
    if (rg_config_check_sizes(cfg, source)) return RG_ERR;
    double eps, theta;
    if (get_double(root, source, "rms_norm_eps", 0, 1e-6, &eps) ||
        get_double(root, source, "rope_theta", 0, 10000.0, &theta))
        return RG_ERR;
    if (eps <= 0 || theta <= 0) return rg_error("%s: fields 'rms_norm_eps' and 'rope_theta' must be > 0", source);
    cfg->rms_norm_eps = (float)eps;
    cfg->rope_theta = theta;
    return RG_OK;
}

/* The block's features: SwiGLU only, tied embeddings, biases (Qwen2's q/k/v), Qwen3's q/k norm, RoPE scaling. */
static int parse_features(const cJSON *root, const char *source, rg_model_config *cfg) {
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(root, "hidden_act");
    if (act && !(cJSON_IsString(act) && strcmp(act->valuestring, "silu") == 0))
        return rg_error("%s: field 'hidden_act' must be \"silu\" (SwiGLU)", source);
    int tie, attention_bias, mlp_bias, sliding;
    if (get_bool(root, source, "tie_word_embeddings", 0, &tie) ||
        get_bool(root, source, "attention_bias", 0, &attention_bias) ||
        get_bool(root, source, "mlp_bias", 0, &mlp_bias) ||
        get_bool(root, source, "use_sliding_window", 0, &sliding))
        return RG_ERR;
    cfg->tie_word_embeddings = tie;
    if (mlp_bias) return rg_error("%s: field 'mlp_bias' is true; MLP biases are not supported", source);
    if (sliding)
        return rg_error("%s: field 'use_sliding_window' is true; sliding-window attention is not supported", source);
    switch (cfg->arch) {
    case RG_ARCH_QWEN2: cfg->qkv_bias = 1; break; /* Qwen2 always has q/k/v biases */
    case RG_ARCH_QWEN3: cfg->qk_norm = 1; /* fall through */
    case RG_ARCH_LLAMA:
        if (attention_bias)
            return rg_error("%s: field 'attention_bias' is true; attention biases are supported only for "
                            "Qwen2ForCausalLM",
                            source);
        break;
    }
    return parse_rope_scaling(root, source, cfg);
}

/* 'torch_dtype' (or 'dtype'), when given: the checkpoint's stored precision. */
static int parse_dtype(const cJSON *root, const char *source, rg_model_config *cfg) {
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(root, "torch_dtype");
    if (!dtype) dtype = cJSON_GetObjectItemCaseSensitive(root, "dtype");
    if (!cJSON_IsString(dtype)) return RG_OK;
    if (strcmp(dtype->valuestring, "float32") && strcmp(dtype->valuestring, "bfloat16") &&
        strcmp(dtype->valuestring, "float16"))
        return rg_error("%s: field 'torch_dtype' is '%s'; expected float32, bfloat16 or float16", source,
                        quoted((char[QUOTE_CAP]){0}, dtype->valuestring));
    snprintf(cfg->torch_dtype, sizeof cfg->torch_dtype, "%s", dtype->valuestring);
    return RG_OK;
}

int rg_config_parse(const char *json_text, const char *source, rg_model_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->bos_id = -1;
    cJSON *root = cJSON_Parse(json_text);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return rg_error("%s: not a JSON object", source);
    }
    int rc = RG_OK;
    if (parse_arch(root, source, cfg) || parse_shape(root, source, cfg) || parse_features(root, source, cfg) ||
        parse_dtype(root, source, cfg) || get_bos(root, source, cfg->vocab_size, &cfg->bos_id) ||
        add_token_ids(cJSON_GetObjectItemCaseSensitive(root, "eos_token_id"), source, "eos_token_id", cfg))
        rc = RG_ERR;
    cJSON_Delete(root);
    return rc;
}

int rg_config_load(const char *model_dir, rg_model_config *cfg) {
    char *path = rg_path_join(model_dir, "config.json");
    if (!path) return RG_ERR;
    char *text = NULL;
    size_t len = 0;
    int rc = rg_read_file(path, &text, &len);
    if (rc == RG_OK) rc = rg_config_parse(text, path, cfg);
    free(text);
    free(path);
    if (rc) return rc;

    /* generation_config.json: the chat end tokens (e.g. Llama 3.1's <|eot_id|>) often live only here. */
    path = rg_path_join(model_dir, "generation_config.json");
    if (!path) return RG_ERR;
    if (rg_file_exists(path)) {
        if (rg_read_file(path, &text, &len) == RG_OK) {
            cJSON *root = cJSON_Parse(text);
            if (!root) rc = rg_error("%s: not valid JSON", path);
            else {
                rc = add_token_ids(cJSON_GetObjectItemCaseSensitive(root, "eos_token_id"), path, "eos_token_id", cfg);
                int bos = cfg->bos_id;
                if (rc == RG_OK) rc = get_bos(root, path, cfg->vocab_size, &bos);
                if (rc == RG_OK && cfg->bos_id < 0) cfg->bos_id = bos; /* config.json's wins */
            }
            cJSON_Delete(root);
            free(text);
        } else
            rc = RG_ERR;
    }
    free(path);
    return rc;
}

int rg_config_is_eos(const rg_model_config *cfg, int token) {
    for (int i = 0; i < cfg->n_eos; i++)
        if (cfg->eos_ids[i] == token) return 1;
    return 0;
}
