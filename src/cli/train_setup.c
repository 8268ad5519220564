/* train_setup.c — see train_setup.h. */
#include "cli/train_setup.h"

#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "session/setup.h"
#include "train/checkpoint.h"

int rg_save_dtype_parse(const char *name, rg_dtype *out) {
    if (strcmp(name, "f32") == 0) *out = RG_F32;
    else if (strcmp(name, "bf16") == 0) *out = RG_BF16;
    else return RG_ERR;
    return RG_OK;
}

int rg_train_config_lora(rg_trainer_config *cfg, const rg_model_config *model_cfg, rg_train_flags *flags,
                         rg_lora *start_adapter) {
    if (flags->adapter_dir) {
        if (rg_peft_load(start_adapter, model_cfg, flags->adapter_dir) != RG_OK) return RG_ERR;
        flags->lora_rank = start_adapter->rank;
        flags->lora_alpha = start_adapter->alpha;
        cfg->lora_targets = start_adapter->targets;
    }
    long rank = flags->lora_rank;
    cfg->lora_rank = (int)rank;
    cfg->lora_alpha = (float)(flags->lora_alpha > 0 ? flags->lora_alpha : 2.0 * (double)rank);
    cfg->schedule.lr = (float)(flags->lr > 0 ? flags->lr : (rank > 0 ? 1e-4 : 1e-5));
    cfg->schedule.warmup_steps = flags->warmup;
    cfg->schedule.min_ratio = (float)flags->min_lr_ratio;
    return RG_OK;
}

int rg_teacher_context_parse(const char *name, rg_teacher_context *out) {
    if (strcmp(name, "rubric") == 0) *out = RG_TEACHER_CONTEXT_RUBRIC;
    else if (strcmp(name, "reference") == 0) *out = RG_TEACHER_CONTEXT_REFERENCE;
    else return RG_ERR;
    return RG_OK;
}


int rg_train_session_from_flags(rg_session *s, const rg_train_flags *f, const char *name, const char *cursor_unit,
                                rg_dtype save_dtype) {
    s->opt = (rg_session_options){.name = name, .model_dir = f->model_dir, .out_dir = f->out_dir,
                                  .cursor_unit = cursor_unit, .save_dtype = save_dtype, .steps = f->steps,
                                  .epochs = f->epochs, .save_every = f->save_every, .stop_after = f->stop_after,
                                  .resume = f->resume, .quiet = f->quiet};
    s->cfg = rg_train_flags_config(f);
    s->eval_options = rg_eval_defaults();
    if (rg_schedule_parse(f->schedule, &s->cfg.schedule.kind) != RG_OK) return RG_ERR;
    return rg_lora_parse_targets(f->targets, &s->cfg.lora_targets);
}

int rg_train_open_model(rg_session *s, rg_train_flags *f, const char *frozen_dtype) {
    int lora_mode = f->lora_rank > 0 || f->adapter_dir;
    if (rg_lm_open(&s->lm, f->model_dir, NULL, f->chat_family, lora_mode && !f->f32_base) != RG_OK) return RG_ERR;
    if (!lora_mode && frozen_dtype && rg_train_load_frozen(&s->frozen, f->model_dir, frozen_dtype) != RG_OK)
        return RG_ERR;
    return rg_train_config_lora(&s->cfg, &s->lm.model.cfg, f, &s->start_adapter);
}
