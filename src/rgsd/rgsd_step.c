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

/* The step's rollouts and what RGSD adds to each, [n] each (this rank's share). */
typedef struct {
    rg_rollout_batch r;
    const rg_rgsd_prompt **prompts;
    rg_rgsd_sequence *seqs;
    uint8_t **masks;
} step_batch;

static void step_batch_free(step_batch *b) {
    for (int i = 0; b->masks && i < b->r.n; i++) free(b->masks[i]);
    rg_rollout_batch_free(&b->r);
    free(b->prompts);
    free(b->seqs);
    free(b->masks);
    memset(b, 0, sizeof *b);
}

/* The prompts of global positions [first, first + n) of the step. */
static int step_batch_init(step_batch *b, rg_trainer *t, const rg_rgsd_data *data, int first, int n) {
    *b = (step_batch){.prompts = rg_calloc((size_t)n, sizeof *b->prompts),
                      .seqs = rg_calloc((size_t)n, sizeof *b->seqs),
                      .masks = rg_calloc((size_t)n, sizeof *b->masks)};
    if (rg_rollout_batch_init(&b->r, n) != RG_OK || !b->prompts || !b->seqs || !b->masks)
        return step_batch_free(b), RG_ERR;
    for (int i = 0; i < n; i++) {
        b->prompts[i] = &data->prompts[rg_trainer_example_at(t, t->cursor + (uint64_t)(first + i))];
        b->r.prompt_ids[i] = b->prompts[i]->student_prompt;
        b->r.prompt_lens[i] = b->prompts[i]->student_prompt_len;
    }
    return RG_OK;
}

/* Each response y with both prompts; the think span masked out of the loss. */
static int build_sequences(const rg_rgsd_run *run, step_batch *b, rg_rgsd_step_stats *st) {
    for (int i = 0; i < b->r.n; i++) {
        const rg_gen_result *g = &b->r.results[i];
        const rg_rgsd_prompt *p = b->prompts[i];
        const int len = b->r.response_lens[i];
        if (!(b->masks[i] = rg_malloc((size_t)(len ? len : 1)))) return RG_ERR;
        rg_rgsd_think_mask(b->r.responses[i], len, run->cfg.think_open, run->cfg.think_close, p->starts_in_think,
                           b->masks[i]);
        b->seqs[i] = (rg_rgsd_sequence){.student_prompt = p->student_prompt,
                                        .student_prompt_len = p->student_prompt_len,
                                        .teacher_prompt = p->teacher_prompt,
                                        .teacher_prompt_len = p->teacher_prompt_len,
                                        .response = b->r.responses[i],
                                        .response_len = len,
                                        .loss_mask = b->masks[i],
                                        .rollout_logprobs = g->logprobs}; /* [n_tokens + stopped] covers y */
        st->response_tokens += g->n_tokens;
        st->stopped += g->stopped;
    }
    return RG_OK;
}

/* The step's sums over every rank's share (the identity in one process): one all-reduce. */
static int sum_over_ranks(rg_rgsd_stats *pass, rg_rgsd_step_stats *st) {
    double v[] = {pass->loss_sum, (double)pass->tokens, (double)pass->seq_tokens, pass->clipped, pass->clip_total,
                  pass->gap_sum, pass->entropy_sum, (double)st->response_tokens, st->stopped, pass->objective,
                  pass->is_weight_sum, pass->is_clipped};
    if (rg_dist_sum_f64(v, sizeof v / sizeof *v) != RG_OK) return RG_ERR;
    pass->loss_sum = v[0], pass->tokens = (long)v[1], pass->seq_tokens = (long)v[2], pass->clipped = v[3];
    pass->clip_total = v[4], pass->gap_sum = v[5], pass->entropy_sum = v[6];
    st->response_tokens = (long)v[7], st->stopped = v[8];
    pass->objective = v[9], pass->is_weight_sum = v[10], pass->is_clipped = v[11];
    return RG_OK;
}

/* The metrics line's means, from the step's sums over n_global rollouts (sums over no token are 0). */
static void step_means(const rg_rgsd_stats *pass, const rg_rgsd_pass_config *pc, int n_global, rg_rgsd_step_stats *st) {
    const double tokens = pass->tokens ? (double)pass->tokens : 1.0;
    const int weighted = pc->mean != RG_LOSS_MEAN_TOKEN || pc->is_clip > 0; /* the loss is the weighted objective */
    st->loss = weighted ? pass->objective : pass->loss_sum / tokens;
    if (pc->is_clip > 0) st->is_weight = pass->is_weight_sum / tokens, st->is_clip_fraction = pass->is_clipped / tokens;
    st->clip_fraction = pass->clip_total > 0 ? pass->clipped / pass->clip_total : 0.0;
    st->gap = pass->gap_sum / tokens;
    st->entropy = pass->entropy_sum / tokens;
    st->response_len = (double)st->response_tokens / n_global;
    st->stopped /= n_global;
    st->loss_tokens = pass->tokens;
    st->seq_tokens = pass->seq_tokens;
    st->teacher_s = pass->teacher_s;
    st->student_s = pass->student_s;
    st->backward_s = pass->backward_s;
}

int rg_rgsd_step(rg_rgsd_run *run, const rg_rgsd_data *data, rg_rgsd_step_stats *st) {
    memset(st, 0, sizeof *st);
    rg_trainer *t = run->trainer;
    const int n_global = t->cfg.batch_size * t->cfg.grad_accum;
    int first, n; /* this rank's share of the step's prompts (all of them in one process) */
    rg_dist_shard(n_global, &first, &n);
    double step_start = rg_now();
    step_batch b;
    if (step_batch_init(&b, t, data, first, n) != RG_OK) return RG_ERR;
    int rc = RG_ERR;

    /* 1. rollouts from the student (under LoRA: the base decoded through this step's adapter) */
    double t0 = rg_now();
    if (rg_rollout_batch_generate(&b.r, &run->rollouts, t, &run->cfg.gen, run->cfg.end_token) != RG_OK) goto done;
    st->gen_s = rg_now() - t0;
    if (build_sequences(run, &b, st) != RG_OK) goto done;

    /* 2-4. teacher (frozen, live or EMA weights), student, backward: gradients accumulate over the batch */
    memset(t->trainable_grads, 0, sizeof(float) * t->n_trainable);
    rg_rgsd_stats pass = {0};
    rg_rgsd_pass_config pc = {.jsd = run->cfg.jsd, .mean = run->cfg.loss_mean, .is_clip = run->cfg.is_clip};
    rg_rgsd_teacher_select(&run->teacher, t, &pc);
    if (rg_rgsd_accumulate_with(t, &pc, b.seqs, n, run->teacher_logits, &pass) != RG_OK) goto done;
    if (sum_over_ranks(&pass, st) != RG_OK) goto done;
    step_means(&pass, &pc, n_global, st);

    /* 5. clip, schedule, AdamW; then an EMA teacher follows the student */
    double t4 = rg_now();
    st->opt.loss = st->loss;
    st->opt.tokens = pass.tokens;
    st->opt.seq_tokens = pass.seq_tokens;
    if (rg_trainer_apply(t, n_global, &st->opt) != RG_OK) goto done;
    rg_rgsd_teacher_update(&run->teacher, t);
    st->optimizer_s = rg_now() - t4;
    st->step_s = rg_now() - step_start;
    rc = RG_OK;
done:
    step_batch_free(&b);
    return rc;
}
