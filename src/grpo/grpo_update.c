/* grpo_update.c — the mu optimizer updates of one GRPO step on one batch of
 * rollouts (see grpo.h, rg_grpo_update). */
#include <string.h>

#include "base/error.h"
#include "base/timer.h"
#include "grpo/grpo.h"

static void add_stats(rg_grpo_stats *to, const rg_grpo_stats *s) {
    to->head.loss_sum += s->head.loss_sum, to->head.surrogate_sum += s->head.surrogate_sum;
    to->head.kl_sum += s->head.kl_sum, to->head.ratio_sum += s->head.ratio_sum;
    to->head.objective += s->head.objective, to->head.clipped += s->head.clipped, to->head.tokens += s->head.tokens;
    to->seq_tokens += s->seq_tokens, to->skipped += s->skipped, to->masked += s->masked, to->measured += s->measured;
    to->reference_s += s->reference_s, to->student_s += s->student_s, to->backward_s += s->backward_s;
    to->optimizer_s += s->optimizer_s;
}

int rg_grpo_update(rg_trainer *t, const rg_model *reference, const rg_grpo_loss_config *cfg, int iterations,
                   const rg_grpo_sequence *seqs, int n, int n_examples, double *ref_scratch, rg_grpo_stats *total,
                   rg_grpo_stats *iter, rg_step_stats *opt) {
    if (iterations < 1) return rg_error("grpo: --iterations must be >= 1 (got %d)", iterations);
    int any_clipped = 0;
    rg_grpo_loss_config later = *cfg;
    later.finish = 1; /* after the first update the weights have moved: the step must finish */
    for (int k = 0; k < iterations; k++) {
        rg_grpo_stats pass = {0};
        memset(t->trainable_grads, 0, sizeof(float) * t->n_trainable);
        if (rg_grpo_accumulate(t, reference, k == 0 ? cfg : &later, seqs, n, ref_scratch, &pass) != RG_OK)
            return RG_ERR;
        double t0 = rg_now();
        rg_step_stats o = {.loss = pass.head.objective, .tokens = pass.head.tokens, .seq_tokens = pass.seq_tokens};
        /* the cursor moves once per batch of rollouts */
        if (rg_trainer_apply(t, k == 0 ? n_examples : 0, &o) != RG_OK) return RG_ERR;
        if (k + 1 < iterations) t->step--; /* the step counts batches of rollouts, not updates */
        pass.optimizer_s = rg_now() - t0;
        any_clipped |= o.clipped;
        if (k == 0) *opt = o;
        if (iter) iter[k] = pass;
        add_stats(total, &pass);
    }
    opt->clipped = any_clipped;
    return RG_OK;
}
