/* gap_measure.h — the self-internalisation gap of a model on held-out rubric
 * prompts, judge-free (the definition of the rubric reward-hacking study,
 * arXiv 2605.12474): for each prompt x with rubric R, K responses are sampled
 * from the rubric-conditioned context, y ~ p(. | chat(teacher_prompt(x, R))),
 * and scored under both contexts:
 *
 *     gap(y) = (1/|y|) sum_t log p(y_t | chat(x), y<t) - (1/|y|) sum_t log p(y_t | chat(x, R), y<t)
 *     gap(x) = mean over its K samples of gap(y)
 *     gap    = mean over prompts of gap(x),  se = std over prompts (n - 1) / sqrt(n)
 *
 * |y| counts the response tokens (end token excluded) outside a <think> span.
 * It is <= 0 on average and rises towards 0 as the model internalises the
 * rubric (its rubric-guided answers become as likely without the rubric).
 * `rgsd gap` prints it; `rgsd train --gap-every` watches it for early stopping. */
#ifndef RG_GAP_MEASURE_H
#define RG_GAP_MEASURE_H

#include <stddef.h>
#include <stdint.h>

#include "model/generate.h"
#include "model/lora.h"
#include "model/model.h"
#include "rgsd/rgsd_run.h"

typedef struct {
    int samples;               /* K responses per prompt */
    rg_gen_options gen;        /* max_new, sampling, seed, batch, context, stop ids, lora (the policy's adapter) */
    int32_t think_open, think_close; /* -1: nothing masked */
} rg_gap_config;

typedef struct {
    size_t prompt;             /* index into the rg_rgsd_data prompts */
    double gap;                /* mean over its counted samples of gap(y) */
    double logp_plain, logp_rubric; /* the same means of the per-token mean log-probs */
    int samples;               /* samples with at least one counted token */
    long tokens;               /* counted tokens over its samples */
} rg_gap_row;

typedef struct {
    rg_gap_row *rows;          /* prompts with at least one counted sample */
    int n_rows;
    double gap, se;            /* mean over rows; standard error over rows (NAN below 2 rows) */
    long tokens;
    int samples;               /* counted samples over all rows */
    int empty;                 /* prompts none of whose samples had a counted token (left out) */
} rg_gap_result;

/* Scores given responses: responses[p * K + k] is sample k of prompt p (the
 * n = prompts->n prompts in order). lora: the adapter the policy decodes
 * through, or NULL. acts: sized for prompts->max_prompt_len + the longest
 * response (with lora's rank when lora is given). */
int rg_gap_score(const rg_model *model, const rg_lora *lora, rg_train_acts *acts, const rg_rgsd_data *prompts,
                 const rg_gen_result *responses, int K, int32_t think_open, int32_t think_close, rg_gap_result *out);

/* Samples K responses per prompt from its teacher (rubric) prompt with
 * rg_generate (prompt p's sample k is sequence p * K + k: RNG (seed, p * K + k))
 * and scores them (rg_gap_score). responses may be NULL; else it receives
 * the n * K results (free with rg_gen_results_free). */
int rg_gap_measure(const rg_model *model, const rg_lora *lora, const rg_rgsd_data *prompts, const rg_gap_config *cfg,
                   rg_gap_result *out, rg_gen_result **responses);

void rg_gap_result_free(rg_gap_result *r);

#endif
