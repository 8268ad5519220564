/* fuzz_tiny_model.h — a tiny random model and its trainers, for the harnesses
 * whose parser checks a file against a model (PEFT adapters, train states).
 * Small so that a fuzzed file that does fit is loaded in microseconds. */
#ifndef RG_FUZZ_TINY_MODEL_H
#define RG_FUZZ_TINY_MODEL_H

#include <string.h>

#include "fuzz_util.h"
#include "model/config.h"
#include "model/model.h"
#include "train/trainer.h"

/* Qwen2 (q/k/v bias), 2 layers, grouped-query attention, tied embeddings. */
static const char fuzz_tiny_config_json[] =
    "{\"architectures\": [\"Qwen2ForCausalLM\"], \"hidden_size\": 16, \"intermediate_size\": 32,"
    " \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"vocab_size\": 24,"
    " \"max_position_embeddings\": 32, \"rms_norm_eps\": 1e-06, \"rope_theta\": 10000.0, \"hidden_act\": \"silu\","
    " \"tie_word_embeddings\": true, \"torch_dtype\": \"float32\", \"model_type\": \"qwen2\"}";

static inline int fuzz_tiny_model(rg_model *model) {
    rg_model_config cfg;
    if (rg_config_parse(fuzz_tiny_config_json, "tiny config.json", &cfg) != 0) return -1;
    if (rg_model_alloc(model, &cfg, RG_WEIGHTS_F32) != 0) return -1;
    rg_model_init_random(model, 7, 1.0f);
    return 0;
}

/* lora_rank 0: full fine-tuning. */
static inline int fuzz_tiny_trainer(rg_trainer *t, rg_model *model, int lora_rank) {
    rg_trainer_config c = {
        .lora_rank = lora_rank, .lora_alpha = 2.0f * (float)lora_rank, .lora_targets = RG_LORA_ALL_MODULES,
        .adam = {.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.01},
        .schedule = {.kind = RG_SCHEDULE_CONSTANT, .lr = 1e-3f, .total_steps = 10},
        .batch_size = 1, .grad_accum = 1, .seed = 3, .head_chunk = 4,
    };
    return rg_trainer_init(t, model, &c, 8, 4);
}

#endif
