/* config.h — the hyper-parameters of a decoder-only model, read from a
 * Hugging Face config.json (and generation_config.json for end tokens).
 *
 * Supported: LlamaForCausalLM (Llama 3.x, llama3 RoPE scaling),
 * Qwen2ForCausalLM (q/k/v bias), Qwen3ForCausalLM (per-head q/k RMSNorm).
 * Anything the forward pass would silently get wrong (another activation,
 * another RoPE scaling type, sliding windows, MLP bias, ...) is rejected with
 * an error naming the field. */
#ifndef RG_MODEL_CONFIG_H
#define RG_MODEL_CONFIG_H

#include <stddef.h>

typedef enum {
    RG_ARCH_LLAMA = 0, /* LlamaForCausalLM */
    RG_ARCH_QWEN2 = 1, /* Qwen2ForCausalLM */
    RG_ARCH_QWEN3 = 2, /* Qwen3ForCausalLM */
} rg_arch;

#define RG_MAX_EOS_IDS 8

typedef struct {
    rg_arch arch;
    int hidden_size;       /* d_model */
    int intermediate_size; /* SwiGLU hidden width */
    int n_layers;          /* num_hidden_layers */
    int n_heads;           /* num_attention_heads */
    int n_kv_heads;        /* num_key_value_heads (GQA; = n_heads when absent) */
    int head_dim;          /* head_dim, or hidden_size / n_heads */
    int vocab_size;
    int max_position;      /* max_position_embeddings: the context limit */
    float rms_norm_eps;
    double rope_theta;
    int qkv_bias;          /* q_proj/k_proj/v_proj carry a bias (Qwen2) */
    int qk_norm;           /* per-head RMSNorm on q and k before RoPE (Qwen3) */
    int tie_word_embeddings; /* lm_head shares embed_tokens */
    /* rope_scaling {"rope_type": "llama3", ...}; rope_llama3 = 0 when none. */
    int rope_llama3;
    double rope_factor, rope_low_freq_factor, rope_high_freq_factor;
    int rope_original_max_position;
    char torch_dtype[16];  /* "float32" | "bfloat16" | "float16" | "" */
    int bos_id;            /* -1 when not given */
    int eos_ids[RG_MAX_EOS_IDS]; /* config.json and generation_config.json, merged */
    int n_eos;
} rg_model_config;

const char *rg_arch_name(rg_arch arch);

/* Parses config.json text; `source` (a path) names the file in errors. */
int rg_config_parse(const char *json_text, const char *source, rg_model_config *cfg);
/* Reads DIR/config.json and, when present, DIR/generation_config.json's
 * eos_token_id / bos_token_id. */
int rg_config_load(const char *model_dir, rg_model_config *cfg);

/* The sizes derived from the dimensions fit the types that hold them
 * (n_heads * head_dim in an int); an error names `source`. */
int rg_config_check_sizes(const rg_model_config *cfg, const char *source);

int rg_config_is_eos(const rg_model_config *cfg, int token);

#endif
