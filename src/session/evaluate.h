/* evaluate.h — --eval-every for the training sessions: evaluate the
 * current policy on held-out rubric data with a judge, append one
 * {"step": N, "eval": true, ...} line to the metrics, and optionally write
 * the full report into eval_out/step-N (beside the checkpoint, not in it).
 * `rgsd train` and `rgsd grpo` both use it. */
#ifndef RG_SESSION_EVALUATE_H
#define RG_SESSION_EVALUATE_H

#include "eval/eval.h"
#include "judge/judge.h"
#include "lm/lm.h"
#include "rubric/rubric.h"
#include "session/loop.h"

/* The policy to evaluate: lm's model, decoded through lora when it is not NULL
 * (no merged copy); lm also gives the tokenizer and template. eval_out may be NULL. */
int rg_train_eval(const rg_lm *lm, const rg_lora *lora, const rg_dataset *eval_data, rg_judge *judge,
                  const rg_eval_options *options, long step, rg_text_buf *metrics, const char *eval_out);

/* What --eval-every needs inside a training loop. */
typedef struct {
    const rg_lm *lm;
    const rg_lora *lora;      /* the adapter being trained; NULL in full fine-tuning (the policy is lm->model) */
    const rg_dataset *eval_data;
    rg_judge *judge;
    const rg_eval_options *options;
    long every;               /* 0: never */
    const char *eval_out;     /* may be NULL */
} rg_train_evaluation;

/* After step `step` of total_steps: rg_train_eval when step is a multiple of ev->every or the last step,
 * its seconds added to *eval_s; nothing otherwise. */
int rg_train_eval_if_due(const rg_train_evaluation *ev, long step, long total_steps, rg_text_buf *metrics,
                         double *eval_s);

#endif
