/* trainer.c — the optimizer step and the data order (see trainer.h). */
#include "train/trainer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/stop.h"
#include "dist/dist.h"
#include "train/zero.h"

int rg_trainer_init(rg_trainer *t, rg_model *model, const rg_trainer_config *cfg, int max_T, int n_examples) {
    memset(t, 0, sizeof *t);
    t->cfg = *cfg;
    t->model = model;
    t->order_epoch = -1;
    t->n_examples = n_examples;
    if (cfg->batch_size < 1 || cfg->grad_accum < 1) return rg_error("batch size and grad accumulation must be >= 1");
    if (n_examples < 1) return rg_error("no training examples");
    rg_rng_seed(&t->rng, cfg->seed);
    t->order = rg_malloc(sizeof(uint32_t) * (size_t)n_examples);
    if (!t->order) return RG_ERR;
    if (cfg->lora_rank > 0) {
        if (rg_lora_init(&t->lora, &model->cfg, cfg->lora_rank, cfg->lora_alpha, cfg->lora_targets) != RG_OK)
            goto fail;
        rg_lora_init_weights(&t->lora, rg_rng_u64(&t->rng));
        t->trainable = t->lora.params;
        t->trainable_grads = t->lora.grads;
        t->n_trainable = t->lora.n_params;
    } else {
        if (model->dtype != RG_WEIGHTS_F32)
            return rg_error("full fine-tuning needs the model in f32 (it was loaded in bf16; use LoRA)");
        t->grads = rg_malloc_aligned(sizeof(float) * model->n_params);
        if (!t->grads) goto fail;
        t->trainable = model->params;
        t->trainable_grads = t->grads;
        t->n_trainable = model->n_params;
    }
    t->shard_lo = 0, t->shard_hi = t->n_trainable;
    if (cfg->zero) rg_dist_range(t->n_trainable, &t->shard_lo, &t->shard_hi);
    if (rg_adamw_init(&t->opt, t->shard_hi - t->shard_lo) != RG_OK) goto fail;
    if (cfg->max_batch_tokens < 0) return rg_error("--max-batch-tokens must be >= 0");
    if (rg_train_acts_alloc(&t->acts, &model->cfg, cfg->lora_rank > 0 ? &t->lora : NULL,
                            cfg->max_batch_tokens > max_T ? cfg->max_batch_tokens : max_T,
                            cfg->head_chunk > 0 ? cfg->head_chunk : 64) != RG_OK)
        goto fail;
    return RG_OK;
fail:
    rg_trainer_free(t);
    return RG_ERR;
}

void rg_trainer_free(rg_trainer *t) {
    if (t->lora.params) rg_lora_free(&t->lora);
    rg_free_aligned(t->grads);
    rg_adamw_free(&t->opt);
    rg_train_acts_free(&t->acts);
    free(t->order);
    rg_free_aligned(t->scratch);
    memset(t, 0, sizeof *t);
}

float *rg_trainer_scratch(rg_trainer *t, size_t floats) {
    if (floats <= t->scratch_floats && t->scratch) return t->scratch;
    rg_free_aligned(t->scratch);
    t->scratch_floats = 0;
    t->scratch = rg_malloc_aligned(sizeof(float) * (floats ? floats : 1));
    if (t->scratch) t->scratch_floats = floats;
    return t->scratch;
}

int rg_trainer_example_at(rg_trainer *t, uint64_t c) {
    int64_t epoch = (int64_t)(c / (uint64_t)t->n_examples);
    if (epoch != t->order_epoch) { /* Fisher-Yates from (seed, epoch): independent of the run's history */
        rg_rng r;
        rg_rng_seed(&r, t->cfg.seed * 0x9E3779B97F4A7C15ull + (uint64_t)epoch + 1);
        for (int i = 0; i < t->n_examples; i++) t->order[i] = (uint32_t)i;
        for (int i = t->n_examples - 1; i > 0; i--) {
            int j = (int)rg_rng_below(&r, (uint64_t)i + 1);
            uint32_t tmp = t->order[i];
            t->order[i] = t->order[j];
            t->order[j] = tmp;
        }
        t->order_epoch = epoch;
    }
    return (int)t->order[c % (uint64_t)t->n_examples];
}

/* Packs examples from index *i on (in step order) until the next would pass
 * the budget: ids, seq_start[B+1], the loss rows and the row-indexed targets.
 * Examples without loss positions are skipped. Returns B (0: none left). */
static int pack_examples(rg_trainer *t, const rg_train_example *examples, int n, int *i, int32_t *ids,
                         int32_t *starts, int32_t *rows, int32_t *targets, int *n_rows, rg_step_stats *stats) {
    int B = 0, N = 0;
    *n_rows = 0;
    starts[0] = 0;
    for (; *i < n; ++*i) {
        const rg_train_example *ex = &examples[rg_trainer_example_at(t, t->cursor + (uint64_t)*i)];
        if (ex->n_loss > 0 && B > 0 && N + ex->T > t->acts.max_tokens) break;
        stats->seq_tokens += ex->T;
        if (ex->n_loss == 0) continue; /* nothing to learn from: no forward */
        memcpy(ids + N, ex->ids, sizeof(int32_t) * (size_t)ex->T);
        for (int p = 0; p + 1 < ex->T; p++) targets[N + p] = ex->ids[p + 1];
        for (int j = 0; j < ex->n_loss; j++) rows[(*n_rows)++] = N + ex->loss_positions[j];
        N += ex->T;
        starts[++B] = N;
    }
    return B;
}

int rg_trainer_step(rg_trainer *t, const rg_train_example *examples, rg_step_stats *stats) {
    memset(stats, 0, sizeof *stats);
    const int n = t->cfg.batch_size * t->cfg.grad_accum, cap = t->acts.max_tokens;
    long tokens = 0;
    for (int i = 0; i < n; i++) tokens += examples[rg_trainer_example_at(t, t->cursor + (uint64_t)i)].n_loss;
    memset(t->trainable_grads, 0, sizeof(float) * t->n_trainable);
    double loss_sum = 0;
    rg_lora *lora = t->cfg.lora_rank > 0 ? &t->lora : NULL;
    int32_t *buf = rg_malloc(sizeof(int32_t) * (4 * (size_t)cap + 1));
    if (!buf) return RG_ERR;
    int32_t *ids = buf, *rows = buf + cap, *targets = buf + 2 * (size_t)cap, *starts = buf + 3 * (size_t)cap;
    int rc = RG_ERR, first, count;
    rg_dist_shard(n, &first, &count); /* this rank's share; tokens above counts the whole step's */
    for (int i = first, B, n_rows; i < first + count;) {
        if (rg_stop_check() != RG_OK) goto done; /* a safe point: only gradients are touched so far */
        if ((B = pack_examples(t, examples, first + count, &i, ids, starts, rows, targets, &n_rows, stats)) == 0)
            break;
        rg_ce_head head = {.targets = targets, .grad_scale = 1.0f / (float)tokens};
        if (rg_train_forward(t->model, lora, &t->acts, ids, starts, B) != RG_OK ||
            rg_train_head(t->model, t->grads, &t->acts, rows, n_rows, rg_ce_head_fn, &head, 1) != RG_OK ||
            rg_train_backward(t->model, lora, t->grads, &t->acts, ids) != RG_OK)
            goto done;
        loss_sum += head.loss_sum;
    }
    double sums[2] = {loss_sum, (double)stats->seq_tokens}; /* over every rank's share */
    rg_dist_sum_f64(sums, 2);
    stats->seq_tokens = (long)sums[1];
    stats->tokens = tokens;
    stats->loss = tokens ? sums[0] / (double)tokens : 0.0;
    rc = rg_trainer_apply(t, n, stats);
done:
    free(buf);
    return rc;
}

int rg_trainer_apply(rg_trainer *t, int n, rg_step_stats *stats) {
    if (t->cfg.zero) return rg_zero_apply(t, n, stats);
    rg_lora *lora = t->cfg.lora_rank > 0 ? &t->lora : NULL;
    /* Data parallel: every rank's share of the step's gradient (each already
     * scaled by 1 / the step's global token count) summed, the one collective
     * over the contiguous trainable buffer; every rank then applies the same update. */
    rg_dist_sum_f32(t->trainable_grads, t->n_trainable);
    stats->grad_norm = sqrt(rg_grad_sq_sum(t->trainable_grads, t->n_trainable));
    if (!isfinite(stats->grad_norm))
        return rg_error("step %ld: the gradient is not finite (loss %g); lower the learning rate", t->step + 1,
                        stats->loss);
    float factor = rg_grad_clip_factor(stats->grad_norm, t->cfg.max_grad_norm);
    stats->clipped = factor < 1.0f;
    rg_grad_scale(t->trainable_grads, t->n_trainable, factor);
    stats->lr = rg_schedule_lr(&t->cfg.schedule, t->step);
    if (lora) {
        rg_adamw_update(&t->opt, t->trainable, t->trainable_grads, 0, t->n_trainable, stats->lr, &t->cfg.adam, 1);
    } else { /* weight decay on matrices only, never on norms or biases */
        for (int i = 0; i < t->model->n_entries; i++) {
            const rg_param_entry *e = &t->model->entries[i];
            rg_adamw_update(&t->opt, t->trainable, t->trainable_grads, e->offset, e->numel, stats->lr, &t->cfg.adam,
                            e->ndim == 2);
        }
    }
    rg_adamw_finish_step(&t->opt);
    t->step++;
    t->cursor += (uint64_t)n;
    return RG_OK;
}
