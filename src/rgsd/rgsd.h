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
 * GKD trainer and the paper's token-level loss do.
 *
 * Teacher: with LoRA the same base weights with the adapters off (no second
 * copy); with full fine-tuning a frozen copy (bf16 by default) loaded from
 * the model folder before training.
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
} rg_rgsd_sequence;

typedef struct {
    double loss_sum;    /* sum of per-token (clipped) divergences */
    double clipped, clip_total; /* fraction clipped = clipped / clip_total */
    double gap_sum;     /* sum of log p_T(y_t) - log p_S(y_t) */
    double entropy_sum; /* sum of the student's entropy */
    long tokens;        /* loss positions */
    long seq_tokens;    /* tokens through the two forwards */
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
/* The same over a packed batch (no gradients): logprobs[i] = log p(targets[i])
 * at packed row rows[i] (ascending) of the forward over ids/seq_start/B. */
int rg_packed_logprobs(const rg_model *model, rg_train_acts *acts, const int32_t *ids, const int32_t *seq_start,
                       int B, const int32_t *rows, const int32_t *targets, int n_rows, double *logprobs);

#endif
