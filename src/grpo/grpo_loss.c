/* grpo_loss.c — group-normalised advantages and the GRPO loss head (the
 * formulas are in grpo.h). */
#include <math.h>

#include "base/error.h"
#include "grpo/grpo.h"
#include "nn/nn.h"

int rg_grpo_advantages(const double *rewards, int n_groups, int group_size, int scale_by_std, double *advantages,
                       int *zero_std_groups) {
    if (group_size < 2) return rg_error("grpo: a group needs at least 2 rollouts (got %d)", group_size);
    int zero = 0;
    for (int g = 0; g < n_groups; g++) {
        const double *r = rewards + (size_t)g * (size_t)group_size;
        double *a = advantages + (size_t)g * (size_t)group_size;
        double mean = 0;
        for (int i = 0; i < group_size; i++) {
            if (!isfinite(r[i])) return rg_error("grpo: reward %d of group %d is not a finite number", i, g);
            mean += r[i];
        }
        mean /= group_size;
        double ss = 0;
        int all_equal = 1;
        for (int i = 0; i < group_size; i++) {
            ss += (r[i] - mean) * (r[i] - mean);
            all_equal &= r[i] == r[0];
        }
        /* Sample std (divisor G - 1), as TRL's rewards.view(-1, G).std(dim=1). */
        double std = sqrt(ss / (group_size - 1));
        zero += all_equal;
        for (int i = 0; i < group_size; i++) {
            /* all equal: exactly 0 (r - mean may round to a tiny non-zero, amplified by 1/eps) */
            double centred = all_equal ? 0.0 : r[i] - mean;
            a[i] = scale_by_std ? centred / (std + RG_GRPO_STD_EPS) : centred;
        }
    }
    if (zero_std_groups) *zero_std_groups = zero;
    return RG_OK;
}

/* The loss head of one sequence, chunk by chunk: the per-token arithmetic
 * is nn's (nn_policy_loss); here the rows' running index into the
 * sequence's targets and log-probs, and the sums. */
int rg_grpo_head_fn(void *ctx, const int32_t *positions, int n, float *logits, int V) {
    (void)positions;
    rg_grpo_head *h = ctx;
    const int row0 = h->next_row;
    const nn_policy_loss_config config = {.clip_eps = h->cfg.clip_eps, .kl_coef = h->cfg.kl_coef};
    nn_policy_loss_stats chunk = {0};
    if (nn_policy_loss(h->with_grad ? logits : NULL, &chunk, logits, h->targets + row0, h->old_logprobs + row0,
                       h->ref_logprobs ? h->ref_logprobs + row0 : NULL, h->advantage, &config, h->grad_scale, n,
                       V) != RG_OK)
        return rg_error_prefix("grpo");
    h->stats.loss_sum += chunk.loss_sum;
    h->stats.surrogate_sum += chunk.surrogate_sum;
    h->stats.kl_sum += chunk.kl_sum;
    h->stats.ratio_sum += chunk.ratio_sum;
    h->stats.clipped += chunk.clipped;
    h->stats.tokens += chunk.count;
    h->next_row += n;
    return RG_OK;
}
