/* trainer.h — one optimizer step of supervised training, and the state that
 * makes a run resumable bit for bit.
 *
 * A step takes batch_size * grad_accum examples (sequences of any lengths,
 * each with its own loss positions), packs them in order into micro-batches
 * of at most max_batch_tokens tokens (a longer sequence goes alone) and runs
 * one forward / chunked cross-entropy head / backward per micro-batch
 * (memory bounded by the budget), so gradients accumulate across the step; the loss is the
 * token mean over every loss position of the step (padding never exists:
 * sequences are never padded). Then global-norm clipping, the scheduled
 * learning rate, and AdamW over the trainable buffer: the model's `params`
 * (full fine-tuning, decay on matrices only) or the adapters' buffer (LoRA,
 * base frozen, in bf16 when loaded so).
 *
 * Data order: epoch e visits the examples in a permutation drawn from
 * (seed, e), so the position in the data is one number, `cursor` (examples
 * consumed); resuming restores it with the step, the optimizer moments, the
 * f32 trainable weights and the RNG. */
#ifndef RG_TRAINER_H
#define RG_TRAINER_H

#include <stdint.h>

#include "base/rng.h"
#include "io/dtype.h"
#include "model/lora.h"
#include "model/model.h"
#include "model/train.h"
#include "train/adamw.h"
#include "train/schedule.h"

/* One training sequence: position t of loss_positions predicts ids[t + 1]. */
typedef struct {
    int32_t *ids;
    int T;
    int32_t *loss_positions; /* ascending, each < T - 1 */
    int n_loss;
} rg_train_example;

/* A method's own resumable state, owned by the method: saved with every
 * checkpoint as one more tensor (the metadata names it) and restored by
 * rg_trainer_resume_method_state. */
typedef struct {
    const char *name;   /* the tensor's name, e.g. "teacher.ema" */
    rg_dtype dtype;     /* RG_F32 or RG_F64 */
    void *data;
    size_t n;
} rg_method_state;

typedef struct {
    int lora_rank;           /* 0: full fine-tuning */
    float lora_alpha;
    unsigned lora_targets;
    rg_adamw_config adam;
    rg_schedule schedule;    /* lr, warmup, total steps */
    float max_grad_norm;     /* 0: no clipping */
    int batch_size;          /* sequences per step = batch_size * grad_accum */
    int grad_accum;
    int max_batch_tokens;    /* packed micro-batch budget in tokens; 0: the longest sequence */
    uint64_t seed;
    int head_chunk;          /* LM-head positions per chunk */
    int zero;                /* 1: ZeRO-1, the AdamW state sharded over the ranks (train/zero.h) */
} rg_trainer_config;

typedef struct {
    rg_trainer_config cfg;
    rg_model *model;         /* not owned */
    rg_lora lora;            /* used when cfg.lora_rank > 0 */
    float *grads;            /* full fine-tuning: [model->n_params] */
    float *trainable;        /* what AdamW updates: model->params or lora.params */
    float *trainable_grads;
    size_t n_trainable;
    rg_adamw opt;            /* [n_trainable], or under ZeRO-1 this rank's range [shard_lo, shard_hi) only */
    size_t shard_lo, shard_hi;
    rg_train_acts acts;
    long step;               /* optimizer steps done */
    uint64_t cursor;         /* examples consumed */
    rg_rng rng;
    uint32_t *order;         /* the current epoch's permutation */
    int64_t order_epoch;
    int n_examples;
    float *scratch;          /* a loss head's kernel scratch (rg_trainer_scratch) */
    size_t scratch_floats;
    rg_method_state method_state; /* RGSD's EMA teacher, GRPO's POW3R factors; data NULL: none */
} rg_trainer;

typedef struct {
    double loss;        /* token mean over the step */
    long tokens;        /* loss positions in the step */
    long seq_tokens;    /* all tokens processed (forward) */
    double grad_norm;   /* before clipping */
    float lr;
    int clipped;
} rg_step_stats;

/* max_T: the longest sequence; n_examples: the data set size (for the order).
 * The training buffers hold max(cfg->max_batch_tokens, max_T) tokens. */
int rg_trainer_init(rg_trainer *t, rg_model *model, const rg_trainer_config *cfg, int max_T, int n_examples);
void rg_trainer_free(rg_trainer *t);
/* Scratch of at least `floats` floats owned by the trainer, for the kernels
 * of a loss head (nn_jsd): allocated the first time, grown when a later call
 * needs more, so steps do not allocate. NULL (with the error) on failure. */
float *rg_trainer_scratch(rg_trainer *t, size_t floats);
/* The index (into the data set) of the example at cursor position c. */
int rg_trainer_example_at(rg_trainer *t, uint64_t c);
/* One optimizer step over the next batch_size * grad_accum examples (data parallel: this rank's
 * share of them, rg_dist_shard; the loss and token counts are the whole step's). */
int rg_trainer_step(rg_trainer *t, const rg_train_example *examples, rg_step_stats *stats);
/* The second half of a step, for trainers with their own loss (RGSD, GRPO):
 * the gradients of the step's n examples are in t->trainable_grads (zeroed by
 * the caller before the first one); fills stats->grad_norm, clipped and lr,
 * clips, applies AdamW, and advances step and cursor (by n). Data parallel: n is the step's global
 * count, and the gradients are first summed over the ranks (dist/dist.h). */
int rg_trainer_apply(rg_trainer *t, int n, rg_step_stats *stats);

/* The checkpoint folder (atomic): the model (HF folder, dtype RG_F32 or
 * RG_BF16) or the adapter (PEFT folder), train_state.safetensors, and
 * extra_name/extra_text (e.g. metrics.jsonl) when given. */
int rg_trainer_save(const rg_trainer *t, const char *model_dir, const char *out_dir, rg_dtype dtype,
                    const char *extra_name, const char *extra_text);
/* Restores step, cursor, RNG, moments and trainable weights from
 * dir/train_state.safetensors into a trainer set up with the same config
 * (checked: mode, rank, targets, sizes). First repairs what a save killed
 * midway left beside dir (rg_dir_recover, io/atomic_dir.h). */
int rg_trainer_resume(rg_trainer *t, const char *dir);
/* Registers the method's state (after rg_trainer_init; name and data stay
 * the caller's); data NULL unregisters it. */
void rg_trainer_set_method_state(rg_trainer *t, const char *name, rg_dtype dtype, void *data, size_t n);
/* After rg_trainer_resume: restores the registered method state from
 * dir/train_state.safetensors. The checkpoint must hold exactly the state
 * this run registered (same name and size, or none on both sides); a
 * mismatch (an EMA checkpoint resumed without --teacher ema, POW3R without
 * --reward pow3r, or the reverse) is an error naming both. */
int rg_trainer_resume_method_state(rg_trainer *t, const char *dir);

#endif
