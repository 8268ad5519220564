/* policy_loss.c — the clipped-surrogate policy loss with a k3 KL term per
 * token (GRPO / PPO, nn.h), computed from a chunk of logits rows.
 *
 * Per row, in double: lp = z[y] - logsumexp(z) (the row's log-softmax at
 * the target), then the ratio, the clip, k3 and d loss / d lp; the logits
 * gradient is d lp/dz = onehot(y) - softmax(z) times that. Rows are
 * independent: one thread each. */
#include <math.h>

#include "base/error.h"
#include "nn/nn.h"

typedef struct {
    double loss, surrogate, kl, ratio;
    int clipped;
    double dlp; /* d loss / d lp */
} token_terms;

/* The per-token formulas (nn.h): lp and the stored old/ref log-probs -> terms. */
static token_terms token_loss(double lp, double old_lp, const double *ref_lp, double A, double eps, double eps_hi,
                              double beta) {
    token_terms t = {0};
    t.ratio = exp(lp - old_lp);
    const double clipped_ratio = fmin(fmax(t.ratio, 1.0 - eps), 1.0 + eps_hi);
    t.surrogate = -fmin(t.ratio * A, clipped_ratio * A);
    t.clipped = (A > 0 && t.ratio > 1.0 + eps_hi) || (A < 0 && t.ratio < 1.0 - eps);
    t.dlp = t.clipped ? 0.0 : -t.ratio * A;
    if (beta > 0) {
        const double d = *ref_lp - lp;
        t.kl = exp(d) - d - 1.0;
        t.dlp += beta * (1.0 - exp(d));
    }
    t.loss = t.surrogate + beta * t.kl;
    return t;
}

// logits[N,V], targets[N], old_logprobs[N], ref_logprobs[N] or NULL -> stats +=, dlogits[N,V]
int nn_policy_loss(float *dlogits, nn_policy_loss_stats *stats, const float *logits, const int32_t *targets,
                   const float *old_logprobs, const double *ref_logprobs, float advantage,
                   const nn_policy_loss_config *config, float grad_scale, int N, int V) {
    for (int i = 0; i < N; i++)
        if (targets[i] < 0 || targets[i] >= V)
            return rg_error("policy loss: target token %d outside the vocabulary (%d)", targets[i], V);
    if (config->kl_coef > 0 && !ref_logprobs) return rg_error("policy loss: kl_coef > 0 needs reference log-probs");
    const double A = advantage, eps = config->clip_eps, beta = config->kl_coef;
    const double eps_hi = config->clip_eps_high > 0 ? config->clip_eps_high : config->clip_eps;
    double loss = 0, surr_sum = 0, kl_sum = 0, ratio_sum = 0;
    long clipped = 0;
#pragma omp parallel for schedule(static) reduction(+ : loss, surr_sum, kl_sum, ratio_sum, clipped)
    for (int i = 0; i < N; i++) {
        const float *z = logits + (size_t)i * (size_t)V;
        const int32_t y = targets[i];
        float zmax = z[0];
        for (int v = 1; v < V; v++) zmax = z[v] > zmax ? z[v] : zmax;
        double sum = 0;
        for (int v = 0; v < V; v++) sum += exp((double)z[v] - zmax);
        const double lse = zmax + log(sum);
        const double lp = (double)z[y] - lse;
        const token_terms t = token_loss(lp, (double)old_logprobs[i], ref_logprobs ? &ref_logprobs[i] : NULL, A, eps,
                                         eps_hi, beta);
        loss += t.loss;
        surr_sum += t.surrogate;
        kl_sum += t.kl;
        ratio_sum += t.ratio;
        clipped += t.clipped;
        if (dlogits) {
            /* written element by element from z: dlogits may alias logits */
            float *d = dlogits + (size_t)i * (size_t)V;
            const double g = t.dlp * grad_scale;
            for (int v = 0; v < V; v++) d[v] = (float)(-g * exp((double)z[v] - lse));
            d[y] += (float)g;
        }
    }
    stats->loss_sum += loss;
    stats->surrogate_sum += surr_sum;
    stats->kl_sum += kl_sum;
    stats->ratio_sum += ratio_sum;
    stats->clipped += clipped;
    stats->count += N;
    return RG_OK;
}
