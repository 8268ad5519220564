/* rgsd_step.c — one RGSD optimizer step (see rgsd_run.h): rollouts from the
 * student, teacher and student passes over the same ids, AdamW. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/timer.h"
#include "dist/dist.h"
#include "rgsd/rgsd_run.h"
#include "train/rollout.h"

int rg_rgsd_run_init(rg_rgsd_run *run, rg_trainer *trainer, rg_model *teacher, const rg_rgsd_config *cfg) {
    memset(run, 0, sizeof *run);
    run->trainer = trainer;
    run->cfg = *cfg;
    if (cfg->gen.max_new < 1) return rg_error("rgsd: --max-new must be >= 1");
    if (rg_rgsd_teacher_init(&run->teacher, trainer, teacher, cfg->teacher_mode, cfg->teacher_ema_decay) != RG_OK)
        goto fail;
    int rows = trainer->acts.max_tokens; /* a micro-batch's loss rows: at most its tokens */
    run->teacher_logits = rg_malloc(sizeof(float) * rg_rgsd_teacher_floats(trainer->model, rows));
    if (!run->teacher_logits) goto fail;
    if (rg_rollout_state_init(&run->rollouts, trainer, &cfg->gen) != RG_OK) goto fail;
    return RG_OK;
fail:
    rg_rgsd_run_free(run);
    return RG_ERR;
}

void rg_rgsd_run_free(rg_rgsd_run *run) {
    rg_rgsd_teacher_free(&run->teacher, run->trainer);
    free(run->teacher_logits);
    rg_infer_free(&run->rollouts);
    memset(run, 0, sizeof *run);
}

int rg_rgsd_step(rg_rgsd_run *run, const rg_rgsd_data *data, rg_rgsd_step_stats *st) {
    memset(st, 0, sizeof *st);
    rg_trainer *t = run->trainer;
    const int n_global = t->cfg.batch_size * t->cfg.grad_accum;
    int first, n; /* this rank's share of the step's prompts (all of them in one process) */
    rg_dist_shard(n_global, &first, &n);
    double step_start = rg_now();
    const rg_rgsd_prompt **batch = rg_calloc((size_t)n, sizeof *batch);
    const int32_t **prompt_ids = rg_calloc((size_t)n, sizeof *prompt_ids);
    int *prompt_lens = rg_calloc((size_t)n, sizeof *prompt_lens);
    rg_gen_result *rollouts = rg_calloc((size_t)n, sizeof *rollouts);
    rg_rgsd_sequence *seqs = rg_calloc((size_t)n, sizeof *seqs);
    int32_t **responses = rg_calloc((size_t)n, sizeof *responses);
    uint8_t **masks = rg_calloc((size_t)n, sizeof *masks);
    int rc = RG_ERR, generated = 0;
    if (!batch || !prompt_ids || !prompt_lens || !rollouts || !seqs || !responses || !masks) goto done;
    for (int i = 0; i < n; i++) {
        batch[i] = &data->prompts[rg_trainer_example_at(t, t->cursor + (uint64_t)(first + i))];
        prompt_ids[i] = batch[i]->student_prompt;
        prompt_lens[i] = batch[i]->student_prompt_len;
    }

    /* 1. rollouts from the student (under LoRA: the base decoded through this step's adapter) */
    double t0 = rg_now();
    if (rg_rollouts_generate(&run->rollouts, t, &run->cfg.gen, n, prompt_ids, prompt_lens, rollouts) != RG_OK)
        goto done;
    generated = 1;
    st->gen_s = rg_now() - t0;

    /* y = the generated ids, plus the end token when it is known for certain */
    for (int i = 0; i < n; i++) {
        const rg_gen_result *g = &rollouts[i];
        int len;
        if (!(responses[i] = rg_rollout_response(g, run->cfg.end_token, &len))) goto done;
        if (!(masks[i] = rg_malloc((size_t)(len ? len : 1)))) goto done;
        rg_rgsd_think_mask(responses[i], len, run->cfg.think_open, run->cfg.think_close, batch[i]->starts_in_think,
                           masks[i]);
        seqs[i] = (rg_rgsd_sequence){.student_prompt = batch[i]->student_prompt,
                                     .student_prompt_len = batch[i]->student_prompt_len,
                                     .teacher_prompt = batch[i]->teacher_prompt,
                                     .teacher_prompt_len = batch[i]->teacher_prompt_len,
                                     .response = responses[i],
                                     .response_len = len,
                                     .loss_mask = masks[i],
                                     .rollout_logprobs = g->logprobs}; /* [n_tokens + stopped] covers y */
        st->response_tokens += g->n_tokens;
        st->stopped += g->stopped;
    }

    /* 2-4. teacher (frozen, live or EMA weights), student, backward: gradients accumulate over the batch */
    memset(t->trainable_grads, 0, sizeof(float) * t->n_trainable);
    rg_rgsd_stats pass = {0};
    rg_rgsd_pass_config pc = {.jsd = run->cfg.jsd, .mean = run->cfg.loss_mean, .is_clip = run->cfg.is_clip};
    rg_rgsd_teacher_select(&run->teacher, t, &pc);
    if (rg_rgsd_accumulate_with(t, &pc, seqs, n, run->teacher_logits, &pass) != RG_OK) goto done;

    /* the step's statistics over every rank's share (the identity in one process) */
    double sums[] = {pass.loss_sum, (double)pass.tokens, (double)pass.seq_tokens, pass.clipped, pass.clip_total,
                     pass.gap_sum, pass.entropy_sum, (double)st->response_tokens, st->stopped, pass.objective,
                     pass.is_weight_sum, pass.is_clipped};
    rg_dist_sum_f64(sums, sizeof sums / sizeof *sums);
    pass.loss_sum = sums[0], pass.tokens = (long)sums[1], pass.seq_tokens = (long)sums[2], pass.clipped = sums[3];
    pass.clip_total = sums[4], pass.gap_sum = sums[5], pass.entropy_sum = sums[6];
    st->response_tokens = (long)sums[7], st->stopped = sums[8];
    pass.objective = sums[9], pass.is_weight_sum = sums[10], pass.is_clipped = sums[11];

    /* 5. clip, schedule, AdamW; then an EMA teacher follows the student */
    double t4 = rg_now();
    const int weighted = pc.mean != RG_LOSS_MEAN_TOKEN || pc.is_clip > 0;
    st->opt.loss = weighted ? pass.objective : pass.tokens ? pass.loss_sum / (double)pass.tokens : 0.0;
    st->opt.tokens = pass.tokens;
    st->opt.seq_tokens = pass.seq_tokens;
    if (rg_trainer_apply(t, n_global, &st->opt) != RG_OK) goto done;
    rg_rgsd_teacher_update(&run->teacher, t);
    st->optimizer_s = rg_now() - t4;
    if (pc.is_clip > 0 && pass.tokens) {
        st->is_weight = pass.is_weight_sum / (double)pass.tokens;
        st->is_clip_fraction = pass.is_clipped / (double)pass.tokens;
    }

    st->loss = st->opt.loss;
    st->clip_fraction = pass.clip_total > 0 ? pass.clipped / pass.clip_total : 0.0;
    st->gap = pass.tokens ? pass.gap_sum / (double)pass.tokens : 0.0;
    st->entropy = pass.tokens ? pass.entropy_sum / (double)pass.tokens : 0.0;
    st->response_len = (double)st->response_tokens / n_global;
    st->stopped /= n_global;
    st->loss_tokens = pass.tokens;
    st->seq_tokens = pass.seq_tokens;
    st->teacher_s = pass.teacher_s;
    st->student_s = pass.student_s;
    st->backward_s = pass.backward_s;
    st->step_s = rg_now() - step_start;
    rc = RG_OK;
done:
    if (generated) rg_gen_results_free(rollouts, n);
    if (responses)
        for (int i = 0; i < n; i++) free(responses[i]);
    if (masks)
        for (int i = 0; i < n; i++) free(masks[i]);
    free(batch);
    free(prompt_ids);
    free(prompt_lens);
    free(rollouts);
    free(seqs);
    free(responses);
    free(masks);
    return rc;
}
