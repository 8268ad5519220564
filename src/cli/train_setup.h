/* train_setup.h — the setup steps `rgsd sft`, `rgsd train` and `rgsd grpo`
 * share before their loops: the --save-dtype name (also `rgsd merge`'s
 * --dtype), the LoRA / --adapter / learning-rate part of the trainer config,
 * the step count, --teacher-context and the <think> tokens (also `rgsd gap`),
 * the frozen teacher / reference copy, the rubric data, --resume, and
 * --eval-every's generation options. Each command keeps its own error
 * messages (they name the command). */
#ifndef RG_TRAIN_SETUP_H
#define RG_TRAIN_SETUP_H

#include <stdint.h>

#include "cli/train_flags.h"
#include "eval/eval.h"
#include "io/dtype.h"
#include "lm/lm.h"
#include "rubric/rubric.h"
#include "rubric/teacher_prompt.h"
#include "session/loop.h"
#include "train/trainer.h"

/* "f32" | "bf16"; RG_ERR without a message otherwise (the caller's message names its command and flag). */
int rg_save_dtype_parse(const char *name, rg_dtype *out);

/* --adapter DIR (may be NULL) loads start_adapter and takes rank, alpha and targets from it; then
 * cfg gets the LoRA rank, alpha (0 = 2 x rank) and the schedule's lr (0 = 1e-4 under LoRA, 1e-5
 * full), warmup and floor. flags->lora_rank and lora_alpha become the adapter's. */
int rg_train_config_lora(rg_trainer_config *cfg, const rg_model_config *model_cfg, rg_train_flags *flags,
                         rg_lora *start_adapter);

/* Optimizer steps: --steps, else enough batches of per_step examples for `epochs` passes over n. */
long rg_train_total_steps(long steps, long n, long epochs, int per_step);

/* --teacher-context (rgsd train, rgsd gap): "rubric" | "reference"; RG_ERR without a message otherwise. */
int rg_teacher_context_parse(const char *name, rg_teacher_context *out);

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

/* --resume: the trainer state and metrics of out_dir; what_name names the cursor's unit in the log line. */
int rg_train_resume_from(rg_trainer *trainer, const char *out_dir, rg_text_buf *metrics, long total_steps,
                         const char *what_name);

/* --eval-every's options: the rollouts' prompt rendering, seed, batch and context; eval_max_new 0 = max_new. */
rg_eval_options rg_train_eval_options(long eval_samples, const char *system, int no_thinking, long eval_max_new,
                                      long max_new, long seed, long gen_batch, int context_len);

#endif
