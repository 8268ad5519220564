/* train_eval.h — --eval-every for the training commands: evaluate the
 * current policy on held-out rubric data with a judge, append one
 * {"step": N, "eval": true, ...} line to the metrics, and optionally write
 * the full report into eval_out/step-N (beside the checkpoint, not in it).
 * `rgsd train` and `rgsd grpo` both use it. */
#ifndef RG_TRAIN_EVAL_H
#define RG_TRAIN_EVAL_H

#include "cli/lm_cli.h"
#include "cli/train_run.h"
#include "eval/eval.h"
#include "judge/judge.h"
#include "rubric/rubric.h"

/* policy: the weights to evaluate (under LoRA a merged copy); lm gives the
 * tokenizer and template. eval_out may be NULL. */
int rg_train_eval(const rg_lm *lm, const rg_model *policy, const rg_dataset *eval_data, rg_judge *judge,
                  const rg_eval_options *options, long step, rg_text_buf *metrics, const char *eval_out);

/* The same inside a training loop: under LoRA (lora not NULL) the policy is the base with the adapter
 * merged into `rollout` first; in full fine-tuning it is lm->model itself. */
int rg_train_eval_policy(const rg_lm *lm, rg_model *rollout, const rg_lora *lora, const rg_dataset *eval_data,
                         rg_judge *judge, const rg_eval_options *options, long step, rg_text_buf *metrics,
                         const char *eval_out);

#endif
