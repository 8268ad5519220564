/* rgsd.h — Rubric-Guided Self-Distillation (DESIGN.md section 5): one
 * optimizer step of the student towards the rubric-conditioned teacher.
 *
 * Per step, for a batch of examples (q, R):
 *   1. rollout   y ~ student(. | chat(q)), one per prompt (rg_generate; under
 *                LoRA the base decoded through the adapter by the training
 *                forward's projection code, so the rollout policy is exactly
 *                the student, with no merged copy of the weights);
 *   2. teacher   the frozen base over chat(teacher_prompt(q, R)) + y (the SAME
 *                ids of y): its logits at every loss position of y, kept as
 *                [n_loss, V] floats for the sequence (see "memory" below);
 *   3. student   the training forward over chat(q) + y, its LM head in chunks
 *                with the loss head = nn_jsd against the teacher rows;
 *   4. backward  into the student only (full parameters or adapters);
 *   5. optimizer rg_trainer_apply (clipping, schedule, AdamW).
 *
 * Loss positions: every response token (the end-of-turn token included when
 * the rollout stopped on it: the student learns where to stop), minus the
 * <think>...</think> span of thinking models (the teacher's reasoning leaks
 * the rubric). Aggregation: the token mean over all loss positions of the
 * batch — each position's gradient is scaled by 1 / (loss positions in the
 * batch), so a long response weighs in proportion to its length, as TRL's
 * GKD trainer and the paper's token-level loss do. Options (rg_rgsd_pass_config):
 * the sequence mean, and a detached importance weight per position for
 * rollouts whose policy differs from the trained one.
 *
 * Teacher (--teacher frozen, the default): with LoRA the same base weights
 * with the adapters off (no second copy); with full fine-tuning a frozen copy
 * (bf16 by default) loaded from the model folder before training. live: the
 * student itself (its weights, or the base through the current adapters);
 * ema: an f32 EMA copy of the weights or of the adapters (rgsd_run.h).
 *
 * Memory: the teacher's logits for one packed micro-batch's loss rows (at
 * most max_tokens x V f32: 0.6 MB per row for Qwen, 311 MB for 512 rows). The student
 * side never holds more than head_chunk x V. Recomputing the teacher chunk by
 * chunk would need both forwards alive at once (two activation sets), which
 * costs more than the one logits buffer for the response lengths used here. */
#ifndef RG_RGSD_H
#define RG_RGSD_H

#include <stdint.h>

#include "model/model.h"
#include "nn/nn.h"
#include "train/trainer.h"

/* One sequence pair of a step: what both passes score. */
typedef struct {
    const int32_t *student_prompt; /* chat(q) with the generation prompt */
    int student_prompt_len;
    const int32_t *teacher_prompt; /* chat(teacher_prompt(q, R)) with the generation prompt */
    int teacher_prompt_len;
    const int32_t *response;       /* y: the rollout ids (end token included when it stopped) */
    int response_len;
    const uint8_t *loss_mask;      /* [response_len] 1 = a loss position; NULL = every token */
    const float *rollout_logprobs; /* [response_len] log p(y_i) under the rollout policy at sampling time
                                      (temperature 1), for the importance weight; NULL: none */
} rg_rgsd_sequence;

/* How the per-position divergences become the step's loss (docs/rgsd.md). */
typedef enum { RG_LOSS_MEAN_TOKEN = 0, RG_LOSS_MEAN_SEQUENCE = 1 } rg_loss_mean;

typedef struct {
    const rg_model *teacher;     /* the teacher's weights; NULL = the student's own (t->model) */
    const rg_lora *teacher_lora; /* adapters the teacher runs through; NULL = adapters off */
    nn_jsd_config jsd;
    rg_loss_mean mean;           /* TOKEN: every loss position of the step weighs 1/(positions of the step);
                                    SEQUENCE: 1/(sequences with a loss position x that sequence's positions) */
    float is_clip;               /* > 0: each position also weighs w = min(p_current(y)/p_rollout(y), is_clip),
                                    detached (every sequence needs rollout_logprobs); 0: no weight */
} rg_rgsd_pass_config;

typedef struct {
    double loss_sum;    /* sum of per-token (clipped) divergences */
    double clipped, clip_total; /* fraction clipped = clipped / clip_total */
    double gap_sum;     /* sum of log p_T(y_t) - log p_S(y_t) */
    double entropy_sum; /* sum of the student's entropy */
    long tokens;        /* loss positions */
    long seq_tokens;    /* tokens through the two forwards */
    double objective;   /* the loss optimised: sum over positions of weight x divergence (the token mean by default) */
    double is_weight_sum, is_clipped; /* importance weights before clipping, summed; positions clipped at is_clip */
    double teacher_s, student_s, backward_s;
} rg_rgsd_stats;

/* The teacher and student passes of n sequences, packed in order into
 * micro-batches of up to t->acts.max_tokens tokens per side: per micro-batch
 * one teacher forward + head (its loss rows' logits kept), one student
 * forward + JSD head, one backward. Gradients ACCUMULATE into
 * t->trainable_grads (the caller zeroes them), each loss position scaled by
 * 1 / (loss positions of all n; data parallel: of every rank's n, one scalar all-reduce). teacher: the frozen copy, or NULL = t->model
 * with the adapters off (LoRA). teacher_logits: a buffer of at least
 * t->acts.max_tokens x V floats (rg_rgsd_teacher_floats). stats +=. */
int rg_rgsd_accumulate(rg_trainer *t, const rg_model *teacher, const nn_jsd_config *jsd, const rg_rgsd_sequence *seqs,
                       int n, float *teacher_logits, rg_rgsd_stats *stats);
/* The same with every option: the teacher's weights and adapters, the loss
 * mean and the importance weight (rg_rgsd_accumulate is pc = {teacher,
 * adapters off, *jsd, token mean, no weight}). */
int rg_rgsd_accumulate_with(rg_trainer *t, const rg_rgsd_pass_config *pc, const rg_rgsd_sequence *seqs, int n,
                            float *teacher_logits, rg_rgsd_stats *stats);

/* Floats of the teacher-logits buffer for micro-batches of up to max_rows loss rows. */
size_t rg_rgsd_teacher_floats(const rg_model *model, int max_rows);

/* The thinking mask: mask[i] = 0 for response tokens inside a think span
 * (the <think> and </think> tokens included), 1 elsewhere. starts_inside: the
 * prompt already opened a span (the template ended with "<think>\n"). An
 * unclosed span runs to the end. think_open/think_close < 0: nothing masked.
 * Returns the number of tokens left as loss positions. */
int rg_rgsd_think_mask(const int32_t *response, int n, int32_t think_open, int32_t think_close, int starts_inside,
                       uint8_t *mask);

/* log p(response[i] | prompt, response[<i]) for i < response_len, by the
 * training forward (no gradients) of model over prompt + response; acts sized
 * for prompt_len + response_len. For the judge-free gap of `rgsd gap`. */
int rg_rgsd_response_logprobs(const rg_model *model, rg_train_acts *acts, const int32_t *prompt, int prompt_len,
                              const int32_t *response, int response_len, double *logprobs);
/* The same through an adapter (lora NULL = the model alone; acts allocated with it). */
int rg_rgsd_response_logprobs_with(const rg_model *model, const rg_lora *lora, rg_train_acts *acts,
                                   const int32_t *prompt, int prompt_len, const int32_t *response, int response_len,
                                   double *logprobs);
/* The same over a packed batch (no gradients): logprobs[i] = log p(targets[i])
 * at packed row rows[i] (ascending) of the forward over ids/seq_start/B. */
int rg_packed_logprobs(const rg_model *model, rg_train_acts *acts, const int32_t *ids, const int32_t *seq_start,
                       int B, const int32_t *rows, const int32_t *targets, int n_rows, double *logprobs);

#endif
