/* session.c — see session.h. */
#include "session/session.h"

#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "base/timer.h"
#include "session/data_parallel.h"
#include "session/setup.h"

int rg_session_start(rg_session *s, int max_T, long n) {
    int per_step = s->cfg.batch_size * s->cfg.grad_accum;
    s->total_steps = rg_train_total_steps(s->opt.steps, n, s->opt.epochs, per_step);
    s->cfg.schedule.total_steps = s->total_steps;
    if (rg_trainer_init(&s->trainer, &s->lm.model, &s->cfg, max_T, (int)n) != RG_OK) return RG_ERR;
    s->trainer_ready = 1;
    if (s->start_adapter.params)
        memcpy(s->trainer.lora.params, s->start_adapter.params, sizeof(float) * s->trainer.lora.n_params);
    if (rg_dp_start(s) != RG_OK) return RG_ERR; /* --resume; on several ranks, rank 0's state to all */
    if (!s->opt.resume) return RG_OK;
    if (s->early_stop.every > 0 && rg_early_stop_restore(&s->early_stop, s->metrics.text) != RG_OK) return RG_ERR;
    rg_info("resuming at step %ld of %ld (%s %llu)", s->trainer.step, s->total_steps, s->opt.cursor_unit,
            (unsigned long long)s->trainer.cursor);
    return RG_OK;
}

void rg_session_evaluate_every(rg_session *s, long every, const char *eval_out) {
    s->evaluation = (rg_train_evaluation){.lm = &s->lm,
                                          .lora = s->cfg.lora_rank > 0 ? &s->trainer.lora : NULL,
                                          .eval_data = &s->eval_data, .judge = s->judge,
                                          .options = &s->eval_options, .every = every, .eval_out = eval_out};
}

const char *rg_session_mode(const rg_session *s) {
    if (s->cfg.lora_rank <= 0) return "full fine-tuning";
    return s->lm.model.dtype == RG_WEIGHTS_BF16 ? "LoRA on a bf16 base" : "LoRA on an f32 base";
}

/* Several ranks (data_parallel.h): every rank runs the steps; rank 0 alone
 * prints progress, evaluates and writes checkpoints (the other ranks hold the
 * same state); a failure on any rank ends the job. */
int rg_session_loop(rg_session *s, rg_session_step_fn step, void *method) {
    const int writer = rg_dist_rank() == 0;
    rg_train_loop_begin(&s->loop, s->opt.name, s->trainer.step, s->opt.stop_after, s->total_steps,
                        s->opt.quiet || !writer);
    rg_dp_loop_begin();
    int failed = 0;
    while (s->trainer.step < s->loop.stop_at && !rg_dp_stop_agreed() && !s->early_stop.stop) {
        char line[2048], extra[256];
        rg_dist_stats comm = rg_dist_get_stats();
        if (step(s, method, line, sizeof line, extra, sizeof extra) != RG_OK) {
            failed = !rg_train_abandoned(); /* stopped inside the step: the last complete one is saved */
            if (failed) rg_dp_fail_if_several(s);
            break;
        }
        rg_dp_metrics_fields(line, sizeof line, &comm);
        if (writer && rg_text_append(&s->metrics, line) != RG_OK) {
            failed = 1;
            break;
        }
        if (writer) rg_progress_update(&s->loop.progress, s->trainer.step, extra);
        if (writer &&
            rg_train_eval_if_due(&s->evaluation, s->trainer.step, s->total_steps, &s->metrics, &s->eval_s) != RG_OK) {
            failed = !rg_train_abandoned(); /* stopped inside the evaluation: this step is complete, saved */
            break;
        }
        if (writer && rg_early_stop_if_due(&s->early_stop, &s->trainer, s->opt.model_dir, s->opt.save_dtype,
                                           s->total_steps, &s->metrics) != RG_OK) {
            failed = !rg_train_abandoned(); /* stopped inside the measurement: this step is complete, saved */
            break;
        }
        if (rg_dp_save(s, 0) != RG_OK) {
            failed = 1;
            break;
        }
    }
    rg_train_loop_end(&s->loop);
    if (failed) rg_dp_fail_if_several(s);
    if (failed) return RG_ERR;
    rg_dp_closing_line(rg_session_wall(s), s->trainer.step - s->loop.first_step);
    return rg_dp_save(s, 1); /* rank 0 writes; under ZeRO-1 every rank sends its moments */
}

double rg_session_wall(const rg_session *s) {
    return rg_now() - s->loop.start;
}

int rg_session_close(const rg_session *s) {
    return rg_train_closing(&s->trainer, s->opt.out_dir, s->cfg.lora_rank, s->total_steps);
}

void rg_session_free(rg_session *s) {
    if (s->judge) rg_judge_close(s->judge);
    if (s->judge_spec_ready) rg_judge_spec_free(&s->judge_spec);
    if (s->trainer_ready) rg_trainer_free(&s->trainer);
    if (s->start_adapter.params) rg_lora_free(&s->start_adapter);
    rg_model_free(&s->frozen);
    rg_lm_close(&s->lm);
    rg_dataset_free(&s->data);
    rg_dataset_free(&s->eval_data);
    rg_text_free(&s->metrics);
    rg_early_stop_free(&s->early_stop);
    memset(s, 0, sizeof *s);
}
