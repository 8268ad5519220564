/* rollout.h — the rollout half of an on-policy step, shared by RGSD
 * (rgsd_step.c) and GRPO (grpo_step.c): sample from the current policy (under
 * LoRA the base decoded through the adapter, the same projection code as the
 * training forward, so the rollout policy is exactly the trained one and no
 * merged copy of the weights exists) with a (seed, step) seed, so a resumed
 * run draws the same tokens; and turn one rollout into the trained response y.
 *
 * The KV cache belongs to the run: allocated once, for gen->batch sequences of
 * gen->context rows (the trainer sets that to its longest prompt + max_new,
 * rg_rollout_context), and reused by every step. */
#ifndef RG_ROLLOUT_H
#define RG_ROLLOUT_H

#include <stdint.h>

#include "model/generate.h"
#include "train/trainer.h"

/* Rows per sequence of a run's rollout cache: the longest prompt + max_new, within context_len. */
int rg_rollout_context(int context_len, int longest_prompt, int max_new);
/* The run's rollout state for trainer t: gen->batch slots of gen->context rows (0: the default context),
 * decoding through t's adapter when it trains one. Free with rg_infer_free. */
int rg_rollout_state_init(rg_infer_state *state, const rg_trainer *t, const rg_gen_options *gen);
/* n rollouts of prompt_ids[i] (prompt_lens[i] tokens) by gen (its seed mixed with t->step) in the run's
 * state. Data parallel: the n are this rank's equal share of the step's, so rollout i is seeded by its
 * global position rank * n + i and N ranks draw exactly the rollouts one process draws. On success the caller frees results with rg_gen_results_free. */
int rg_rollouts_generate(rg_infer_state *state, const rg_trainer *t, const rg_gen_options *gen, int n,
                         const int32_t *const *prompt_ids, const int *prompt_lens, rg_gen_result *results);

/* y = the generated ids, plus end_token when it is known for certain (>= 0) and the rollout stopped;
 * malloc'd (never of size 0), length in *len; NULL (error set) when out of memory. */
int32_t *rg_rollout_response(const rg_gen_result *g, int32_t end_token, int *len);

/* One step's rollouts, [n] each: the trainer fills prompt_ids / prompt_lens, rg_rollout_batch_generate
 * fills results and each response y (rg_rollout_response) with its length. */
typedef struct {
    int n;
    const int32_t **prompt_ids;
    int *prompt_lens;
    rg_gen_result *results;
    int32_t **responses;
    int *response_lens;
    int generated; /* results hold tokens to free */
} rg_rollout_batch;

int rg_rollout_batch_init(rg_rollout_batch *b, int n);
void rg_rollout_batch_free(rg_rollout_batch *b);
/* rg_rollouts_generate over the batch's prompts, then every response y with end_token. */
int rg_rollout_batch_generate(rg_rollout_batch *b, rg_infer_state *state, const rg_trainer *t,
                              const rg_gen_options *gen, int32_t end_token);

#endif
