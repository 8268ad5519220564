/* grpo_step.c — one GRPO optimizer step (see grpo_run.h): G rollouts per
 * prompt from the policy, judged against each prompt's rubric, rewards,
 * group-normalised advantages, reference and policy passes, AdamW. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/timer.h"
#include "dist/dist.h"
#include "eval/eval.h"
#include "grpo/grpo_run.h"
#include "train/rollout.h"

int rg_grpo_run_init(rg_grpo_run *run, rg_trainer *trainer, const rg_model *reference, const rg_lm *lm,
                     const rg_example *examples, rg_judge *judge, const rg_grpo_config *cfg) {
    memset(run, 0, sizeof *run);
    run->trainer = trainer;
    run->reference = reference;
    run->lm = lm;
    run->examples = examples;
    run->judge = judge;
    run->cfg = *cfg;
    if (cfg->gen.max_new < 1) return rg_error("grpo: --max-new must be >= 1");
    if (cfg->group_size < 2) return rg_error("grpo: --group must be >= 2 (advantages compare rollouts of a prompt)");
    if (trainer->cfg.lora_rank == 0 && !reference && cfg->loss.kl_coef > 0)
        return rg_error("grpo: full fine-tuning with a KL term needs a frozen reference copy");
    if (cfg->iterations < 0) return rg_error("grpo: --iterations must be >= 1");
    if (cfg->reward == RG_GRPO_REWARD_POW3R && !cfg->pow3r) return rg_error("grpo: reward pow3r needs its state");
    if (run->cfg.iterations == 0) run->cfg.iterations = 1;
    /* mu AdamW updates per step: Adam's bias correction counts updates (a resume restores step x mu) */
    trainer->opt.step = trainer->step * run->cfg.iterations;
    run->ref_scratch = rg_malloc(sizeof(double) * (size_t)trainer->acts.max_tokens); /* a micro-batch's rows */
    if (!run->ref_scratch) goto fail;
    if (rg_rollout_state_init(&run->rollouts, trainer, &cfg->gen) != RG_OK) goto fail;
    return RG_OK;
fail:
    rg_grpo_run_free(run);
    return RG_ERR;
}

void rg_grpo_run_free(rg_grpo_run *run) {
    free(run->ref_scratch);
    rg_infer_free(&run->rollouts);
    memset(run, 0, sizeof *run);
}

/* The judge's cumulative counters after minus before: this step's work. */
static rg_judge_stats judge_delta(const rg_judge_stats *after, const rg_judge_stats *before) {
    rg_judge_stats d = {
        .verdicts = after->verdicts - before->verdicts,
        .cache_hits = after->cache_hits - before->cache_hits,
        .requests = after->requests - before->requests,
        .retries = after->retries - before->retries,
        .failures = after->failures - before->failures,
        .prompt_tokens = after->prompt_tokens - before->prompt_tokens,
        .completion_tokens = after->completion_tokens - before->completion_tokens,
        .seconds = after->seconds - before->seconds,
    };
    return d;
}

/* POW3R's rewards, group by group in data order: alpha takes the verdicts of an epoch when the first
 * prompt of the next one comes, then the group is rewarded, then its verdicts are recorded. met: G x
 * the most criteria. */
static void pow3r_rewards(rg_grpo_run *run, const rg_grpo_data *data, const rg_grpo_prompt **batch,
                          const rg_judge_item *items, int n_prompts, unsigned char *met, double *rewards,
                          rg_grpo_step_stats *st) {
    const int G = run->cfg.group_size;
    rg_pow3r *pw = run->cfg.pow3r;
    for (int p = 0; p < n_prompts; p++) {
        const size_t e = batch[p * G]->example;
        const rg_example *ex = &run->examples[e];
        st->alpha_updates += rg_pow3r_begin_epoch(pw, (int64_t)((run->trainer->cursor + (uint64_t)p) / data->n));
        for (int g = 0; g < G; g++) {
            unsigned char *m = met + (size_t)g * ex->ncriteria;
            for (size_t c = 0; c < ex->ncriteria; c++) m[c] = items[p * G + g].verdicts[c].met == 1;
            rewards[p * G + g] = rg_pow3r_reward(pw, e, ex, m);
        }
        rg_pow3r_observe(pw, e, ex, met, G);
    }
    st->alpha_min = INFINITY, st->alpha_max = -INFINITY;
    for (size_t j = 0; j < pw->n_criteria; j++)
        st->alpha_min = fmin(st->alpha_min, pw->alpha[j]), st->alpha_max = fmax(st->alpha_max, pw->alpha[j]);
}

/* The step's counts and sums over every rank's share (the identity in one process): one all-reduce. */
static int step_sums(rg_grpo_stats *pass, rg_grpo_step_stats *st, int *zero_std) {
    rg_judge_stats *j = &st->judge;
    double v[] = {pass->head.loss_sum, pass->head.surrogate_sum, pass->head.kl_sum, pass->head.ratio_sum,
                  (double)pass->head.clipped, (double)pass->head.tokens, (double)pass->seq_tokens,
                  (double)pass->skipped, (double)pass->measured, (double)*zero_std, (double)st->response_tokens,
                  st->stopped, (double)j->verdicts, (double)j->cache_hits, (double)j->requests, (double)j->retries,
                  (double)j->failures, (double)j->prompt_tokens, (double)j->completion_tokens,
                  pass->head.objective, (double)pass->masked};
    if (rg_dist_sum_f64(v, sizeof v / sizeof *v) != RG_OK) return RG_ERR;
    pass->head.loss_sum = v[0], pass->head.surrogate_sum = v[1], pass->head.kl_sum = v[2];
    pass->head.ratio_sum = v[3], pass->head.clipped = (long)v[4], pass->head.tokens = (long)v[5];
    pass->seq_tokens = (long)v[6], pass->skipped = (long)v[7], pass->measured = (long)v[8], *zero_std = (int)v[9];
    pass->head.objective = v[19], pass->masked = (long)v[20];
    st->response_tokens = (long)v[10], st->stopped = v[11];
    j->verdicts = (int64_t)v[12], j->cache_hits = (int64_t)v[13], j->requests = (int64_t)v[14];
    j->retries = (int64_t)v[15], j->failures = (int64_t)v[16], j->prompt_tokens = (int64_t)v[17];
    j->completion_tokens = (int64_t)v[18];
    return RG_OK;
}

/* Mean and population std of the step's rewards, over every rank's (n of n_total here): the mean first,
 * then the squared deviations from it, as one process sums them. */
static void reward_stats(const double *rewards, int n, int n_total, rg_grpo_step_stats *st) {
    double sum = 0, sum_sq = 0;
    for (int i = 0; i < n; i++) sum += rewards[i];
    rg_dist_sum_f64(&sum, 1);
    st->reward_mean = sum / n_total;
    for (int i = 0; i < n; i++) sum_sq += (rewards[i] - st->reward_mean) * (rewards[i] - st->reward_mean);
    rg_dist_sum_f64(&sum_sq, 1);
    st->reward_std = sqrt(sum_sq / n_total);
}

/* The step's rollouts and what GRPO adds to each, [n] each (this rank's share: n_prompts groups of G). */
typedef struct {
    rg_rollout_batch r;
    int n_prompts;
    const rg_grpo_prompt **prompts;
    rg_grpo_sequence *seqs;
    char **texts;
    rg_judge_item *items;
    unsigned char *met; /* a group's verdicts, G x the most criteria */
    double *rewards, *advantages;
} step_batch;

static void step_batch_free(step_batch *b) {
    for (int i = 0; i < b->r.n; i++) {
        if (b->texts) free(b->texts[i]);
        if (b->items && b->items[i].verdicts) {
            rg_verdicts_clear(b->items[i].verdicts, (int)b->items[i].example->ncriteria);
            free(b->items[i].verdicts);
        }
    }
    rg_rollout_batch_free(&b->r);
    free(b->prompts);
    free(b->seqs);
    free(b->texts);
    free(b->items);
    free(b->met);
    free(b->rewards);
    free(b->advantages);
    memset(b, 0, sizeof *b);
}

/* The prompts of global positions [first, first + n_prompts) of the step, each G times: group p = rollouts
 * [p*G, (p+1)*G). */
static int step_batch_init(step_batch *b, const rg_grpo_run *run, const rg_grpo_data *data, int first,
                           int n_prompts) {
    rg_trainer *t = run->trainer; /* example_at builds the epoch's order lazily */
    const int G = run->cfg.group_size, n = n_prompts * G;
    *b = (step_batch){.n_prompts = n_prompts,
                      .prompts = rg_calloc((size_t)n, sizeof *b->prompts),
                      .seqs = rg_calloc((size_t)n, sizeof *b->seqs),
                      .texts = rg_calloc((size_t)n, sizeof *b->texts),
                      .items = rg_calloc((size_t)n, sizeof *b->items),
                      .rewards = rg_calloc((size_t)n, sizeof *b->rewards),
                      .advantages = rg_calloc((size_t)n, sizeof *b->advantages)};
    if (rg_rollout_batch_init(&b->r, n) != RG_OK || !b->prompts || !b->seqs || !b->texts || !b->items ||
        !b->rewards || !b->advantages)
        return step_batch_free(b), RG_ERR;
    size_t max_criteria = 1;
    for (int p = 0; p < n_prompts; p++) {
        const rg_grpo_prompt *prompt = &data->prompts[rg_trainer_example_at(t, t->cursor + (uint64_t)(first + p))];
        size_t nc = run->examples[prompt->example].ncriteria;
        if (nc > max_criteria) max_criteria = nc;
        for (int i = p * G; i < (p + 1) * G; i++) {
            b->prompts[i] = prompt;
            b->r.prompt_ids[i] = prompt->prompt;
            b->r.prompt_lens[i] = prompt->prompt_len;
        }
    }
    if (!(b->met = rg_malloc(max_criteria * (size_t)G))) return step_batch_free(b), RG_ERR;
    return RG_OK;
}

/* Each response y with its prompt and pi_old (the sampler's log-probs); the decoded text of each rollout
 * as the judge's item. */
static int build_sequences(const rg_grpo_run *run, step_batch *b, rg_grpo_step_stats *st) {
    for (int i = 0; i < b->r.n; i++) {
        const rg_gen_result *g = &b->r.results[i];
        b->seqs[i] = (rg_grpo_sequence){.prompt = b->prompts[i]->prompt, .prompt_len = b->prompts[i]->prompt_len,
                                        .response = b->r.responses[i], .response_len = b->r.response_lens[i],
                                        .old_logprobs = g->logprobs};
        if (rg_tokenizer_decode(run->lm->tok, g->tokens, g->n_tokens, &b->texts[i], NULL) != RG_OK) return RG_ERR;
        if (!(b->texts[i] = rg_eval_valid_utf8(b->texts[i]))) return RG_ERR;
        const rg_example *ex = &run->examples[b->prompts[i]->example];
        b->items[i] = (rg_judge_item){.example = ex, .response = b->texts[i],
                                      .verdicts = rg_calloc(ex->ncriteria ? ex->ncriteria : 1, sizeof(rg_verdict))};
        if (!b->items[i].verdicts) return RG_ERR;
        st->response_tokens += g->n_tokens;
        st->stopped += g->stopped;
    }
    return RG_OK;
}

/* The judge's verdicts on every rollout, then each rollout's reward. */
static int judge_and_reward(rg_grpo_run *run, const rg_grpo_data *data, step_batch *b, rg_grpo_step_stats *st) {
    rg_judge_stats before = *rg_judge_get_stats(run->judge);
    int judged = rg_judge_run(run->judge, b->items, b->r.n);
    st->judge = judge_delta(rg_judge_get_stats(run->judge), &before);
    if (judged != RG_OK) return RG_ERR;
    if (run->cfg.reward == RG_GRPO_REWARD_POW3R) {
        pow3r_rewards(run, data, b->prompts, b->items, b->n_prompts, b->met, b->rewards, st);
        return RG_OK;
    }
    for (int i = 0; i < b->r.n; i++) {
        const rg_example *ex = b->items[i].example;
        for (size_t c = 0; c < ex->ncriteria; c++) b->met[c] = b->items[i].verdicts[c].met == 1;
        b->rewards[i] = rg_grpo_reward_of(run->cfg.reward, ex, b->met);
    }
    return RG_OK;
}

/* The metrics line's means from the step's sums over every rank (mu updates summed in pass). */
static void step_means(const rg_grpo_stats *pass, int mu, long rollouts, rg_grpo_step_stats *st) {
    const long tokens = pass->head.tokens;
    st->loss = st->opt.loss = pass->head.objective / mu;
    /* statistics over the tokens that ran (skipped sequences have A = 0, no KL: nothing to report) */
    st->surrogate = tokens ? pass->head.surrogate_sum / (double)tokens : 0.0;
    st->kl = tokens ? pass->head.kl_sum / (double)tokens : 0.0;
    st->ratio = pass->measured ? pass->head.ratio_sum / (double)pass->measured : 1.0;
    st->masked = pass->masked / mu;
    st->clip_fraction = tokens ? (double)pass->head.clipped / (double)tokens : 0.0;
    st->rollouts = rollouts;
    st->response_len = (double)st->response_tokens / (double)rollouts;
    st->stopped /= (double)rollouts;
    st->loss_tokens = tokens / mu;
    st->seq_tokens = pass->seq_tokens;
    st->skipped = pass->skipped / mu;
    st->reference_s = pass->reference_s;
    st->student_s = pass->student_s;
    st->backward_s = pass->backward_s;
    st->optimizer_s = pass->optimizer_s;
}

int rg_grpo_step(rg_grpo_run *run, const rg_grpo_data *data, rg_grpo_step_stats *st) {
    memset(st, 0, sizeof *st);
    rg_trainer *t = run->trainer;
    const int G = run->cfg.group_size;
    const int n_global = t->cfg.batch_size * t->cfg.grad_accum;
    int first, n_prompts; /* this rank's share of the step's prompts (all of them in one process) */
    rg_dist_shard(n_global, &first, &n_prompts);
    double step_start = rg_now();
    step_batch b;
    if (step_batch_init(&b, run, data, first, n_prompts) != RG_OK) return RG_ERR;
    const int n = b.r.n;
    int rc = RG_ERR;

    /* 1. rollouts from the policy (under LoRA: the base decoded through this step's adapter) */
    double t0 = rg_now();
    if (rg_rollout_batch_generate(&b.r, &run->rollouts, t, &run->cfg.gen, run->cfg.end_token) != RG_OK) goto done;
    st->gen_s = rg_now() - t0;
    if (build_sequences(run, &b, st) != RG_OK) goto done;

    /* 2. judge every (prompt, rollout) against the prompt's rubric; rewards */
    double t1 = rg_now();
    if (judge_and_reward(run, data, &b, st) != RG_OK) goto done;
    st->judge_s = rg_now() - t1;

    /* 3. advantages, per group */
    int zero_std = 0;
    if (rg_grpo_advantages(b.rewards, n_prompts, G, run->cfg.scale, b.advantages, &zero_std) != RG_OK) goto done;
    for (int i = 0; i < n; i++) {
        b.seqs[i].advantage = (float)b.advantages[i];
        b.seqs[i].masked = run->cfg.mask_truncated && !b.r.results[i].stopped;
    }

    /* 4-5. mu times: reference, policy, backward (gradients accumulate over the batch), clip, AdamW */
    rg_grpo_stats pass = {0};
    if (rg_grpo_update(t, run->reference, &run->cfg.loss, run->cfg.iterations, b.seqs, n, n_global,
                       run->ref_scratch, &pass, NULL, &st->opt) != RG_OK)
        goto done;
    if (step_sums(&pass, st, &zero_std) != RG_OK) goto done; /* every rank's share */
    reward_stats(b.rewards, n, n_global * G, st);
    st->zero_std_fraction = (double)zero_std / n_global;
    step_means(&pass, run->cfg.iterations, (long)n_global * G, st);
    st->step_s = rg_now() - step_start;
    rc = RG_OK;
done:
    step_batch_free(&b);
    return rc;
}
