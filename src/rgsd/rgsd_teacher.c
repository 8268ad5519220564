/* rgsd_teacher.c — the RGSD teacher's weights: frozen, live or an EMA of the
 * student (see rgsd_teacher.h). */
#include "rgsd/rgsd_teacher.h"

#include <string.h>

#include "base/error.h"

int rg_teacher_mode_parse(const char *name, rg_teacher_mode *mode) {
    if (strcmp(name, "frozen") == 0) *mode = RG_TEACHER_FROZEN;
    else if (strcmp(name, "ema") == 0) *mode = RG_TEACHER_EMA;
    else if (strcmp(name, "live") == 0) *mode = RG_TEACHER_LIVE;
    else return RG_ERR;
    return RG_OK;
}

const char *rg_teacher_mode_name(rg_teacher_mode mode) {
    return mode == RG_TEACHER_EMA ? "ema" : mode == RG_TEACHER_LIVE ? "live" : "frozen";
}

void rg_ema_update(float *ema, const float *w, size_t n, float decay) {
    const float keep = decay, take = 1.0f - decay;
    for (size_t i = 0; i < n; i++) ema[i] = keep * ema[i] + take * w[i];
}

/* Full fine-tuning's average lives in the teacher copy: it must be the student's f32 layout. */
static int check_full_copy(const rg_model *copy, size_t n_trainable) {
    if (copy->dtype != RG_WEIGHTS_F32 || copy->n_params_bf16 != 0 || copy->n_params != n_trainable)
        return rg_error("rgsd: --teacher ema needs an f32 teacher copy of the student's size (--teacher-dtype f32)");
    return RG_OK;
}

int rg_rgsd_teacher_init(rg_rgsd_teacher *tc, rg_trainer *t, rg_model *copy, rg_teacher_mode mode, float ema_decay) {
    memset(tc, 0, sizeof *tc);
    tc->mode = mode;
    tc->ema_decay = ema_decay;
    const int lora = t->cfg.lora_rank > 0;
    if (mode == RG_TEACHER_EMA && !(ema_decay >= 0.0f && ema_decay < 1.0f))
        return rg_error("rgsd: --teacher-ema-decay %g must be in [0, 1)", (double)ema_decay);
    if (!lora && mode != RG_TEACHER_LIVE && !copy) return rg_error("rgsd: full fine-tuning needs a teacher copy");
    if (lora || mode == RG_TEACHER_LIVE) copy = NULL;
    tc->copy = copy;
    if (mode != RG_TEACHER_EMA) return RG_OK;
    if (lora) {
        if (rg_lora_init(&tc->ema_lora, &t->model->cfg, t->lora.rank, t->lora.alpha, t->lora.targets) != RG_OK)
            return RG_ERR;
        tc->ema = tc->ema_lora.params;
        tc->n_ema = tc->ema_lora.n_params;
    } else {
        if (check_full_copy(copy, t->n_trainable) != RG_OK) return RG_ERR;
        tc->ema = copy->params;
        tc->n_ema = copy->n_params;
    }
    /* the average starts at the student as it is now (the base, an --adapter, or a resumed state) */
    memcpy(tc->ema, t->trainable, sizeof(float) * tc->n_ema);
    rg_trainer_set_method_state(t, "teacher.ema", RG_F32, tc->ema, tc->n_ema);
    return RG_OK;
}

void rg_rgsd_teacher_free(rg_rgsd_teacher *tc, rg_trainer *t) {
    if (t && tc->ema && t->method_state.data == tc->ema) rg_trainer_set_method_state(t, NULL, RG_F32, NULL, 0);
    if (tc->ema_lora.params) rg_lora_free(&tc->ema_lora);
    memset(tc, 0, sizeof *tc);
}

void rg_rgsd_teacher_update(rg_rgsd_teacher *tc, const rg_trainer *t) {
    if (tc->mode != RG_TEACHER_EMA) return;
    rg_ema_update(tc->ema, t->trainable, tc->n_ema, tc->ema_decay);
}

void rg_rgsd_teacher_select(const rg_rgsd_teacher *tc, const rg_trainer *t, rg_rgsd_pass_config *pc) {
    const int lora = t->cfg.lora_rank > 0;
    pc->teacher = tc->copy; /* NULL: the student's model (LoRA's base, or live full fine-tuning) */
    pc->teacher_lora = NULL;
    if (lora && tc->mode == RG_TEACHER_LIVE) pc->teacher_lora = &t->lora;
    if (lora && tc->mode == RG_TEACHER_EMA) pc->teacher_lora = &tc->ema_lora;
}
