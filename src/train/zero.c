/* zero.c — see zero.h. */
#include "train/zero.h"

#include <math.h>

#include "base/error.h"
#include "dist/dist.h"

/* AdamW over this rank's range: the parameter entries (full fine-tuning: decay on matrices only) cut to it. */
static void update_range(rg_trainer *t, float lr) {
    const size_t lo = t->shard_lo, hi = t->shard_hi;
    float *params = t->trainable + lo, *grads = t->trainable_grads + lo;
    if (t->cfg.lora_rank > 0) {
        rg_adamw_update(&t->opt, params, grads, 0, hi - lo, lr, &t->cfg.adam, 1);
        return;
    }
    for (int i = 0; i < t->model->n_entries; i++) {
        const rg_param_entry *e = &t->model->entries[i];
        size_t a = e->offset > lo ? e->offset : lo, b = e->offset + e->numel < hi ? e->offset + e->numel : hi;
        if (a < b) rg_adamw_update(&t->opt, params, grads, a - lo, b - a, lr, &t->cfg.adam, e->ndim == 2);
    }
}

int rg_zero_apply(rg_trainer *t, int n, rg_step_stats *stats) {
    const size_t lo = t->shard_lo, count = t->shard_hi - t->shard_lo;
    float *grads = t->trainable_grads + lo;
    if (rg_dist_reduce_scatter_f32(t->trainable_grads, t->n_trainable) != RG_OK) return RG_ERR;
    double sq = rg_grad_sq_sum(grads, count);
    if (rg_dist_sum_f64(&sq, 1) != RG_OK) return RG_ERR;
    stats->grad_norm = sqrt(sq);
    if (!isfinite(stats->grad_norm)) /* the same on every rank: all of them stop here */
        return rg_error("step %ld: the gradient is not finite (loss %g); lower the learning rate", t->step + 1,
                        stats->loss);
    float factor = rg_grad_clip_factor(stats->grad_norm, t->cfg.max_grad_norm);
    stats->clipped = factor < 1.0f;
    rg_grad_scale(grads, count, factor);
    stats->lr = rg_schedule_lr(&t->cfg.schedule, t->step);
    update_range(t, stats->lr);
    rg_adamw_finish_step(&t->opt);
    if (rg_dist_allgather_f32(t->trainable, t->n_trainable) != RG_OK) return RG_ERR;
    t->step++;
    t->cursor += (uint64_t)n;
    return RG_OK;
}

int rg_zero_gather_moments(const rg_trainer *t, rg_adamw *full) {
    const int root = rg_dist_rank() == 0;
    int ok = !root || rg_adamw_init(full, t->n_trainable) == RG_OK;
    if (rg_dist_max_int(!ok)) { /* rank 0 out of memory: every rank gives up the save together */
        if (root && ok) rg_adamw_free(full);
        return root ? RG_ERR : rg_error("rank 0 could not gather the optimizer state");
    }
    if (root) full->step = t->opt.step;
    if (rg_dist_gather_f32(root ? full->m : NULL, t->opt.m, t->n_trainable) != RG_OK ||
        rg_dist_gather_f32(root ? full->v : NULL, t->opt.v, t->n_trainable) != RG_OK)
        return RG_ERR;
    return RG_OK;
}

int rg_zero_scatter_moments(rg_trainer *t, const rg_adamw *full) {
    const int root = rg_dist_rank() == 0;
    if (rg_dist_scatter_f32(root ? full->m : NULL, t->opt.m, t->n_trainable) != RG_OK ||
        rg_dist_scatter_f32(root ? full->v : NULL, t->opt.v, t->n_trainable) != RG_OK)
        return RG_ERR;
    return RG_OK;
}
