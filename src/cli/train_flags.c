/* train_flags.c — see train_flags.h. */
#include "cli/train_flags.h"

rg_train_flags rg_train_flags_defaults(long batch_size) {
    return (rg_train_flags){
        .targets = "all",
        .schedule = "cosine",
        .save_dtype = "f32",
        .epochs = 1,
        .batch_size = batch_size,
        .grad_accum = 1,
        .head_chunk = 256,
        .beta1 = 0.9,
        .beta2 = 0.999,
        .eps = 1e-8,
        .max_grad_norm = 1.0,
    };
}

int rg_train_flags_in_range(const rg_train_flags *f) {
    /* written as the commands wrote it: a NaN passes only where it passed before */
    return !(f->lora_rank < 0 || f->batch_size < 1 || f->grad_accum < 1 || f->epochs < 1 || f->steps < 0 ||
             f->warmup < 0 || f->save_every < 0 || f->head_chunk < 1 || f->max_batch_tokens < 0 || f->max_batch_tokens > (1L << 24) || f->stop_after < 0 || f->lr < 0 || f->zero < 0 || f->zero > 1 ||
             !(f->beta1 >= 0 && f->beta1 < 1) || !(f->beta2 >= 0 && f->beta2 < 1) || !(f->eps > 0) ||
             f->weight_decay < 0 || f->max_grad_norm < 0);
}

rg_trainer_config rg_train_flags_config(const rg_train_flags *f) {
    return (rg_trainer_config){
        .adam = {.beta1 = f->beta1, .beta2 = f->beta2, .eps = f->eps, .weight_decay = f->weight_decay},
        .max_grad_norm = (float)f->max_grad_norm,
        .batch_size = (int)f->batch_size,
        .grad_accum = (int)f->grad_accum,
        .seed = (uint64_t)f->seed,
        .head_chunk = (int)f->head_chunk,
        .max_batch_tokens = (int)f->max_batch_tokens,
        .zero = (int)f->zero,
    };
}
