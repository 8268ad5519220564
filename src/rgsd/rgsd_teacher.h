/* rgsd_teacher.h — which weights the RGSD teacher runs (--teacher):
 *
 *   frozen  full fine-tuning: the copy loaded before training; LoRA: the base
 *           with the adapters off. Never changes (the default, DESIGN.md 5).
 *   live    the student itself, teacher-forced with the rubric, no gradient:
 *           full fine-tuning: the student's weights; LoRA: the base through
 *           the current adapters.
 *   ema     an f32 exponential moving average of the student, updated after
 *           every optimizer step: theta_T <- d theta_T + (1 - d) theta_S
 *           (d = --teacher-ema-decay, 0.999), starting from the student's
 *           weights; full fine-tuning: a copy of all weights (the frozen copy,
 *           loaded in f32, becomes the average); LoRA: a copy of the adapters
 *           over the shared base. Saved in train_state.safetensors as
 *           "teacher.ema" and restored by --resume, so a resumed run is
 *           bit-identical. */
#ifndef RG_RGSD_TEACHER_H
#define RG_RGSD_TEACHER_H

#include <stddef.h>

#include "model/lora.h"
#include "model/model.h"
#include "rgsd/rgsd.h"
#include "train/trainer.h"

typedef enum { RG_TEACHER_FROZEN = 0, RG_TEACHER_EMA = 1, RG_TEACHER_LIVE = 2 } rg_teacher_mode;

/* "frozen" | "ema" | "live" -> mode; RG_ERR on anything else (no message). */
int rg_teacher_mode_parse(const char *name, rg_teacher_mode *mode);
const char *rg_teacher_mode_name(rg_teacher_mode mode);

typedef struct {
    rg_teacher_mode mode;
    float ema_decay;
    rg_model *copy;     /* full fine-tuning, frozen or ema: the teacher's own weights (not owned) */
    rg_lora ema_lora;   /* LoRA, ema: the averaged adapters (owned) */
    float *ema;         /* what the average updates: copy->params or ema_lora.params; NULL unless ema */
    size_t n_ema;
} rg_rgsd_teacher;

/* Sets the teacher up for trainer t (after any --resume of t: the average
 * starts from the student's current weights; rg_rgsd_teacher_resume then
 * restores a saved one). copy: full fine-tuning's frozen copy (f32 for ema),
 * or NULL (LoRA, or live). Registers the average with t so rg_trainer_save
 * writes it. */
int rg_rgsd_teacher_init(rg_rgsd_teacher *tc, rg_trainer *t, rg_model *copy, rg_teacher_mode mode, float ema_decay);
void rg_rgsd_teacher_free(rg_rgsd_teacher *tc, rg_trainer *t);
/* ema: theta_T <- d theta_T + (1 - d) theta_S, after an optimizer step. Otherwise nothing. */
void rg_rgsd_teacher_update(rg_rgsd_teacher *tc, const rg_trainer *t);
/* ema[i] = decay ema[i] + (1 - decay) w[i], in f32. */
void rg_ema_update(float *ema, const float *w, size_t n, float decay);
/* The teacher's weights and adapters for a pass (pc->teacher, pc->teacher_lora). */
void rg_rgsd_teacher_select(const rg_rgsd_teacher *tc, const rg_trainer *t, rg_rgsd_pass_config *pc);

#endif
