/* setup.h — the setup steps the training sessions share before their loops
 * that are not about flags: the step count, the <think> tokens (also `rgsd
 * gap`), the one end token of a rollout, the frozen teacher / reference copy,
 * the rubric data, and --eval-every's generation options. */
#ifndef RG_SESSION_SETUP_H
#define RG_SESSION_SETUP_H

#include <stdint.h>

#include "eval/eval.h"
#include "lm/lm.h"
#include "model/model.h"
#include "rubric/rubric.h"

/* Optimizer steps: --steps, else enough batches of per_step examples for `epochs` passes over n. */
long rg_train_total_steps(long steps, long n, long epochs, int per_step);

/* The <think> / </think> token ids whose span is left out (rgsd train: of the loss; rgsd gap: of the
 * measured tokens); both -1 under --keep-think or when the tokenizer lacks either. */
void rg_think_tokens(const rg_lm *lm, int keep_think, int32_t *think_open, int32_t *think_close);

/* The one token every rollout can stop on, or -1 when there are several (then the end token is left
 * out of the trained response: which one ended a rollout is not recorded). */
int32_t rg_single_end_token(const rg_lm *lm);

/* The frozen copy of the base (teacher or reference) for full fine-tuning, in "f32" or bf16. */
int rg_train_load_frozen(rg_model *copy, const char *model_dir, const char *dtype_name);

/* The training rubric data (warning about --skip-bad lines) and, when eval_path is given, the held-out data. */
int rg_train_load_rubric(const char *data_path, const char *eval_path, int skip_bad, int allow_empty_rubric,
                         rg_verifier_criteria verifier_criteria,
                         rg_dataset *data, rg_dataset *eval_data);

/* --eval-every's options: the rollouts' prompt rendering, seed, batch and context; eval_max_new 0 = max_new. */
rg_eval_options rg_train_eval_options(long eval_samples, const char *system, int no_thinking, long eval_max_new,
                                      long max_new, long seed, long gen_batch, int context_len);

#endif
