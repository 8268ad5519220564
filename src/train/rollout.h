/* rollout.h — the rollout half of an on-policy step, shared by RGSD
 * (rgsd_step.c) and GRPO (grpo_step.c): sample from the current policy (under
 * LoRA the adapter merged into an f32 copy first, so the rollout policy is
 * exactly the trained one) with a (seed, step) seed, so a resumed run draws
 * the same tokens; and turn one rollout into the trained response y. */
#ifndef RG_ROLLOUT_H
#define RG_ROLLOUT_H

#include <stdint.h>

#include "model/generate.h"
#include "train/trainer.h"

/* The rollout model under LoRA: f32 `rollout` (rg_model_alloc'd with base's
 * config) = base (f32 or bf16-decoded) with every adapter merged in. */
int rg_rollout_model_refresh(rg_model *rollout, const rg_model *base, const rg_lora *lora);

/* n rollouts of prompt_ids[i] (prompt_lens[i] tokens) by gen (its seed mixed with t->step). rollout: the
 * f32 copy used when t trains a LoRA adapter. On success the caller frees results with rg_gen_results_free. */
int rg_rollouts_generate(rg_model *rollout, const rg_trainer *t, const rg_gen_options *gen, int n,
                         const int32_t *const *prompt_ids, const int *prompt_lens, rg_gen_result *results);

/* y = the generated ids, plus end_token when it is known for certain (>= 0) and the rollout stopped;
 * malloc'd (never of size 0), length in *len; NULL (error set) when out of memory. */
int32_t *rg_rollout_response(const rg_gen_result *g, int32_t end_token, int *len);

#endif
