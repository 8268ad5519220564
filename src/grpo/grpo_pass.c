/* grpo_pass.c — the reference and policy passes of a GRPO step (see grpo.h). */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/stop.h"
#include "base/timer.h"
#include "grpo/grpo.h"
#include "model/train.h"
#include "rgsd/rgsd.h"

int rg_grpo_accumulate(rg_trainer *t, const rg_model *reference, const rg_grpo_loss_config *cfg,
                       const rg_grpo_sequence *seqs, int n, double *ref_scratch, rg_grpo_stats *stats) {
    long total = 0;
    int max_len = 0;
    for (int s = 0; s < n; s++) {
        total += seqs[s].response_len;
        if (seqs[s].response_len > max_len) max_len = seqs[s].response_len;
    }
    if (total == 0) return RG_OK;
    rg_lora *lora = t->cfg.lora_rank > 0 ? &t->lora : NULL;
    const rg_model *ref_model = reference ? reference : t->model; /* LoRA: the base, adapters off */
    int32_t *ids = rg_malloc(sizeof(int32_t) * (size_t)(t->acts.max_T + 1));
    int32_t *positions = rg_malloc(sizeof(int32_t) * (size_t)max_len);
    int rc = RG_ERR;
    if (!ids || !positions) goto done;
    for (int s = 0; s < n; s++) {
        if (rg_stop_check() != RG_OK) goto done; /* a safe point: only gradients are touched so far */
        const rg_grpo_sequence *q = &seqs[s];
        if (q->response_len == 0) continue;
        /* No gradient and no statistic worth a forward: the tokens still count in N. */
        if (q->advantage == 0.0f && cfg->kl_coef == 0.0f) {
            stats->skipped++;
            stats->head.tokens += q->response_len;
            continue;
        }
        int T = q->prompt_len + q->response_len - 1;
        if (q->prompt_len < 1 || T > t->acts.max_T) {
            rg_error("grpo: sequence %d is %d tokens, more than the %d planned (or an empty prompt)", s, T,
                     t->acts.max_T);
            goto done;
        }
        double t0 = rg_now();
        if (cfg->kl_coef > 0) {
            if (rg_rgsd_response_logprobs(ref_model, &t->acts, q->prompt, q->prompt_len, q->response,
                                          q->response_len, ref_scratch) != RG_OK)
                goto done;
            stats->seq_tokens += T;
        }
        double t1 = rg_now();
        memcpy(ids, q->prompt, sizeof(int32_t) * (size_t)q->prompt_len);
        memcpy(ids + q->prompt_len, q->response, sizeof(int32_t) * (size_t)q->response_len);
        for (int i = 0; i < q->response_len; i++) positions[i] = q->prompt_len - 1 + i;
        rg_grpo_head head = {.targets = q->response, .old_logprobs = q->old_logprobs,
                             .ref_logprobs = cfg->kl_coef > 0 ? ref_scratch : NULL, .advantage = q->advantage,
                             .cfg = *cfg, .grad_scale = 1.0f / (float)total, .with_grad = 1};
        if (rg_train_forward(t->model, lora, &t->acts, ids, T) != RG_OK ||
            rg_train_head(t->model, t->grads, &t->acts, positions, q->response_len, rg_grpo_head_fn, &head, 1) !=
                RG_OK)
            goto done;
        double t2 = rg_now();
        if (rg_train_backward(t->model, lora, t->grads, &t->acts, ids) != RG_OK) goto done;
        double t3 = rg_now();
        stats->reference_s += t1 - t0;
        stats->student_s += t2 - t1;
        stats->backward_s += t3 - t2;
        stats->seq_tokens += T;
        stats->head.loss_sum += head.stats.loss_sum;
        stats->head.surrogate_sum += head.stats.surrogate_sum;
        stats->head.kl_sum += head.stats.kl_sum;
        stats->head.ratio_sum += head.stats.ratio_sum;
        stats->head.clipped += head.stats.clipped;
        stats->head.tokens += head.stats.tokens;
    }
    rc = RG_OK;
done:
    free(ids);
    free(positions);
    return rc;
}
