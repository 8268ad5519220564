/* train_setup.h — from the flags `rgsd sft`, `rgsd train` and `rgsd grpo`
 * share to a training session (session/session.h): the --save-dtype name
 * (also `rgsd merge`'s --dtype), the session's options and trainer config,
 * the LoRA / --adapter / learning-rate part of the config, the model of a
 * rubric trainer, and --teacher-context (also `rgsd gap`). Each command keeps
 * its own error messages (they name the command). */
#ifndef RG_TRAIN_SETUP_H
#define RG_TRAIN_SETUP_H

#include "cli/train_flags.h"
#include "io/dtype.h"
#include "rubric/teacher_prompt.h"
#include "session/session.h"
#include "train/trainer.h"

/* "f32" | "bf16"; RG_ERR without a message otherwise (the caller's message names its command and flag). */
int rg_save_dtype_parse(const char *name, rg_dtype *out);

/* s->opt and s->cfg from the shared flags, --schedule and --lora-targets parsed (an error names the
 * value). name: the progress line's label; cursor_unit: "example" | "prompt". */
int rg_train_session_from_flags(rg_session *s, const rg_train_flags *f, const char *name, const char *cursor_unit,
                                rg_dtype save_dtype);

/* --adapter DIR (may be NULL) loads start_adapter and takes rank, alpha and targets from it; then
 * cfg gets the LoRA rank, alpha (0 = 2 x rank) and the schedule's lr (0 = 1e-4 under LoRA, 1e-5
 * full), warmup and floor. flags->lora_rank and lora_alpha become the adapter's. */
int rg_train_config_lora(rg_trainer_config *cfg, const rg_model_config *model_cfg, rg_train_flags *flags,
                         rg_lora *start_adapter);

/* The model of `rgsd train` / `rgsd grpo` into s->lm (a bf16 base under LoRA unless --f32-base); under full
 * fine-tuning with frozen_dtype ("bf16" | "f32") also the frozen copy into s->frozen; then
 * rg_train_config_lora. */
int rg_train_open_model(rg_session *s, rg_train_flags *f, const char *frozen_dtype);

/* --teacher-context (rgsd train, rgsd gap): "rubric" | "reference"; RG_ERR without a message otherwise. */
int rg_teacher_context_parse(const char *name, rg_teacher_context *out);

#endif
