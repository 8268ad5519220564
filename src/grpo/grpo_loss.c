/* grpo_loss.c — group-normalised advantages and the GRPO loss head (the
 * formulas are in grpo.h). */
#include <math.h>
#include <string.h>

#include "base/error.h"
#include "grpo/grpo.h"

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

/* Per row: log-softmax at the target, then the surrogate, k3 and the gradient
 * d loss / d logits = g * (onehot(y) - softmax), g = d loss / d lp * scale.
 * Rows are independent: one thread each. */
int rg_grpo_head_fn(void *ctx, const int32_t *positions, int n, float *logits, int V) {
    (void)positions;
    rg_grpo_head *h = ctx;
    const int row0 = h->next_row;
    const double A = h->advantage, eps = h->cfg.clip_eps, beta = h->cfg.kl_coef;
    for (int i = 0; i < n; i++) {
        int32_t y = h->targets[row0 + i];
        if (y < 0 || y >= V) return rg_error("grpo: target token %d outside the vocabulary (%d)", y, V);
    }
    double loss = 0, surr_sum = 0, kl_sum = 0, ratio_sum = 0;
    long clipped = 0;
#pragma omp parallel for schedule(static) reduction(+ : loss, surr_sum, kl_sum, ratio_sum, clipped)
    for (int i = 0; i < n; i++) {
        float *z = logits + (size_t)i * (size_t)V;
        const int row = row0 + i;
        const int32_t y = h->targets[row];
        float zmax = z[0];
        for (int v = 1; v < V; v++) zmax = z[v] > zmax ? z[v] : zmax;
        double sum = 0;
        for (int v = 0; v < V; v++) sum += exp((double)z[v] - zmax);
        const double lse = zmax + log(sum);
        const double lp = (double)z[y] - lse;
        const double ratio = exp(lp - (double)h->old_logprobs[row]);
        const double clipped_ratio = fmin(fmax(ratio, 1.0 - eps), 1.0 + eps);
        const double surr = -fmin(ratio * A, clipped_ratio * A);
        const int is_clipped = (A > 0 && ratio > 1.0 + eps) || (A < 0 && ratio < 1.0 - eps);
        double dlp = is_clipped ? 0.0 : -ratio * A;
        double k3 = 0;
        if (beta > 0) {
            const double d = (double)h->ref_logprobs[row] - lp;
            k3 = exp(d) - d - 1.0;
            dlp += beta * (1.0 - exp(d));
        }
        loss += surr + beta * k3;
        surr_sum += surr;
        kl_sum += k3;
        ratio_sum += ratio;
        clipped += is_clipped;
        if (h->with_grad) {
            const double g = dlp * h->grad_scale;
            for (int v = 0; v < V; v++) z[v] = (float)(-g * exp((double)z[v] - lse));
            z[y] += (float)g;
        }
    }
    h->stats.loss_sum += loss;
    h->stats.surrogate_sum += surr_sum;
    h->stats.kl_sum += kl_sum;
    h->stats.ratio_sum += ratio_sum;
    h->stats.clipped += clipped;
    h->stats.tokens += n;
    h->next_row += n;
    return RG_OK;
}
