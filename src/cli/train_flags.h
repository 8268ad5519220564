/* train_flags.h — the flags `rgsd sft`, `rgsd train` and `rgsd grpo` share:
 * model, data and out, LoRA, learning-rate schedule, steps / epochs, batch,
 * AdamW, seed and checkpointing. The values live in one struct; the table
 * rows `rgsd train` and `rgsd grpo` word alike come from the macros below
 * (`rgsd sft` keeps its own rows: its help text also names each default). */
#ifndef RG_TRAIN_FLAGS_H
#define RG_TRAIN_FLAGS_H

#include "cli/args.h"
#include "train/trainer.h"

typedef struct {
    const char *model_dir, *data_path, *out_dir, *targets, *schedule, *save_dtype, *chat_family, *adapter_dir;
    long lora_rank, warmup, epochs, steps, batch_size, grad_accum, seed, save_every, head_chunk, stop_after,
        max_batch_tokens, zero;
    double lora_alpha, lr, weight_decay, beta1, beta2, eps, max_grad_norm, min_lr_ratio;
    int resume, f32_base, quiet;
} rg_train_flags;

/* The defaults every trainer has; batch_size is the command's own. */
rg_train_flags rg_train_flags_defaults(long batch_size);

/* 1 when the shared numeric flags are in range, 0 otherwise (the caller's message names the command). */
int rg_train_flags_in_range(const rg_train_flags *f);

/* The trainer config's optimizer, batching, seed and head-chunk parts (LoRA and schedule come later:
 * rg_train_config_lora in train_setup.h). */
rg_trainer_config rg_train_flags_config(const rg_train_flags *f);

/* Sequences are packed into micro-batches of up to N tokens (one forward, head
 * and backward each); 0 sizes the budget to the run's longest sequence, so
 * activation memory stays what one sequence needed before packing. */
#define RG_MAX_BATCH_TOKENS_HELP \
    "tokens per packed micro-batch; memory grows with N (0 = the longest sequence; longer ones go alone)"

/* Table rows, worded alike in `rgsd train` and `rgsd grpo`; each command places them in its own table. */
#define RG_TRAIN_FLAG_ROWS_LORA(f) \
    {"lora-targets", RG_ARG_STRING, &(f).targets, "LIST", \
     "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj or all", 0}, \
    {"adapter", RG_ARG_STRING, &(f).adapter_dir, "DIR", "start LoRA from this PEFT adapter (rank/targets from it)", 0}, \
    {"f32-base", RG_ARG_FLAG, &(f).f32_base, NULL, "LoRA: keep the frozen base in f32", 0}

#define RG_TRAIN_FLAG_ROWS_SCHEDULE(f) \
    {"schedule", RG_ARG_STRING, &(f).schedule, "NAME", "constant | cosine", 0}, \
    {"min-lr-ratio", RG_ARG_FLOAT, &(f).min_lr_ratio, "F", "cosine floor as a fraction of --lr", 0}, \
    {"warmup", RG_ARG_INT, &(f).warmup, "N", "linear warmup steps", 0}, \
    {"epochs", RG_ARG_INT, &(f).epochs, "N", "passes over the prompts", 0}, \
    {"steps", RG_ARG_INT, &(f).steps, "N", "optimizer steps (overrides --epochs)", 0}

#define RG_TRAIN_FLAG_ROWS_OPTIMIZER(f) \
    {"weight-decay", RG_ARG_FLOAT, &(f).weight_decay, "F", "AdamW decay on matrices", 0}, \
    {"beta1", RG_ARG_FLOAT, &(f).beta1, "F", "AdamW beta1", 0}, \
    {"beta2", RG_ARG_FLOAT, &(f).beta2, "F", "AdamW beta2", 0}, \
    {"eps", RG_ARG_FLOAT, &(f).eps, "F", "AdamW epsilon", 0}, \
    {"max-grad-norm", RG_ARG_FLOAT, &(f).max_grad_norm, "F", "global-norm clipping; 0 = off", 0}, \
    {"seed", RG_ARG_INT, &(f).seed, "N", "seed of the data order, rollouts and LoRA init", 0}, \
    {"stop-after", RG_ARG_INT, &(f).stop_after, "N", "save and stop after N steps of this invocation", 0}, \
    {"save-every", RG_ARG_INT, &(f).save_every, "N", "also checkpoint every N steps (default: at the end only)", 0}, \
    {"save-dtype", RG_ARG_STRING, &(f).save_dtype, "f32|bf16", "full fine-tuning: model.safetensors dtype", 0}, \
    {"head-chunk", RG_ARG_INT, &(f).head_chunk, "N", "LM-head positions per chunk", 0}, \
    {"max-batch-tokens", RG_ARG_INT, &(f).max_batch_tokens, "N", RG_MAX_BATCH_TOKENS_HELP, 0}, \
    {"chat-template", RG_ARG_STRING, &(f).chat_family, "FAMILY", "override the model's chat template", 0}

#define RG_ZERO_HELP "1: shard the AdamW state over the mpirun ranks (ZeRO-1, docs/distributed.md); 0: each holds all"

#define RG_TRAIN_FLAG_ROWS_RUN(f) \
    {"resume", RG_ARG_FLAG, &(f).resume, NULL, "continue exactly from the checkpoint in --out", 0}, \
    {"zero", RG_ARG_INT, &(f).zero, "0|1", RG_ZERO_HELP, 0}, \
    {"no-progress", RG_ARG_FLAG, &(f).quiet, NULL, "no progress line", 0}

#endif
