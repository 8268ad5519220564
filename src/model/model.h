/* model.h — a loaded model: its config and its weights, llama2.c style.
 *
 * Memory layout (one owner, two buffers):
 *   params       every f32 tensor, one contiguous 64-byte aligned buffer. In an
 *                f32 model that is ALL parameters, so training (issue 4) can
 *                run one AdamW pass / one all-reduce over `params` and a
 *                gradient buffer of the same size; `entries` names each slice
 *                with its Hugging Face tensor name.
 *   params_bf16  in a bf16 model (frozen: teacher, judge, LoRA base), the 2-D
 *                matrices (embedding, projections, lm_head) live here as bf16
 *                and only the vectors (norms, biases) stay in `params`.
 * The per-layer structs just point into those buffers.
 *
 * Sources: a Hugging Face folder (model.safetensors or a sharded index; F32,
 * F16 or BF16 tensors, converted on load) or a GGUF v3 file (F32, F16, BF16,
 * Q8_0; llama.cpp tensor names, Q/K rows un-permuted for llama). Every tensor
 * is checked against the config (name present, shape, float dtype) before
 * anything is read. */
#ifndef RG_MODEL_H
#define RG_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "model/config.h"
#include "nn/nn.h"

typedef enum { RG_WEIGHTS_F32 = 0, RG_WEIGHTS_BF16 = 1 } rg_weight_dtype;

/* A weight matrix W[rows, cols] (HF Linear layout: y = x W^T), in exactly one
 * of the two precisions: nn's weight, applied by nn_linear (src/nn/nn.h). */
typedef nn_weight rg_matrix;

typedef struct {
    const float *input_norm;   /* [C] input_layernorm */
    rg_matrix wq;              /* [n_heads*hd, C] */
    rg_matrix wk;              /* [n_kv_heads*hd, C] */
    rg_matrix wv;              /* [n_kv_heads*hd, C] */
    const float *bq, *bk, *bv; /* [n_heads*hd], [n_kv*hd], [n_kv*hd]; NULL without qkv_bias */
    const float *q_norm;       /* [hd]; NULL without qk_norm */
    const float *k_norm;       /* [hd]; NULL without qk_norm */
    rg_matrix wo;              /* [C, n_heads*hd] */
    const float *post_norm;    /* [C] post_attention_layernorm */
    rg_matrix w_gate;          /* [I, C] */
    rg_matrix w_up;            /* [I, C] */
    rg_matrix w_down;          /* [C, I] */
} rg_layer_weights;

/* One named tensor of the parameter table. */
typedef struct {
    char name[96];  /* Hugging Face name, e.g. "model.layers.0.self_attn.q_proj.weight" */
    int ndim;       /* 1 or 2 */
    int64_t shape[2];
    size_t numel;
    int in_bf16;    /* 1: lives in params_bf16, else in params */
    size_t offset;  /* elements from the start of its buffer */
} rg_param_entry;

typedef struct {
    rg_model_config cfg;
    rg_weight_dtype dtype;
    float *params;          /* see the top of this file */
    size_t n_params;
    uint16_t *params_bf16;
    size_t n_params_bf16;
    rg_param_entry *entries;
    int n_entries;
    rg_layer_weights *layers; /* [n_layers] */
    rg_matrix embed;          /* [V, C] model.embed_tokens */
    rg_matrix lm_head;        /* [V, C]; the same memory as embed when tied */
    const float *final_norm;  /* [C] model.norm */
    float *rope_inv_freq;     /* [hd/2], llama3 scaling applied */
} rg_model;

/* Allocates the buffers for cfg (contents zero) and builds the table. */
int rg_model_alloc(rg_model *model, const rg_model_config *cfg, rg_weight_dtype dtype);
void rg_model_free(rg_model *model);

/* Loads `path`: a model folder (config.json + safetensors), or a .gguf file.
 * dtype is the in-memory precision (f32 for training, bf16 for frozen use). */
int rg_model_load(rg_model *model, const char *path, rg_weight_dtype dtype);

/* Fills every parameter with seeded random values (uniform, std scale/sqrt(cols)
 * for matrices, 0.1 for vectors; norm weights around 1),
 * for benchmarks and tests that need no file. */
void rg_model_init_random(rg_model *model, uint64_t seed, float scale);

const rg_param_entry *rg_model_find_param(const rg_model *model, const char *name);
/* Bytes of weights one decode step reads (every matrix and vector once). */
size_t rg_model_weight_bytes(const rg_model *model);

/* Elements of the largest per-layer matrix (the size of a widen buffer). */
size_t rg_model_largest_layer_matrix(const rg_model *model);
/* out[N, C] = embed_tokens[ids] (ids already checked to be < vocab_size). */
void rg_model_embed(const rg_model *model, float *out, const int32_t *ids, int N);

#endif
