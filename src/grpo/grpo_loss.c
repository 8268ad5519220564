/* grpo_loss.c — group-normalised advantages and the GRPO loss head (the
 * formulas are in grpo.h). */
#include <math.h>
#include <string.h>

#include "base/error.h"
#include "grpo/grpo.h"
#include "nn/nn.h"

/* Sample std (divisor n - 1) of n values, as torch's default .std(). */
static double sample_std(const double *r, size_t n) {
    double mean = 0, ss = 0;
    for (size_t i = 0; i < n; i++) mean += r[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++) ss += (r[i] - mean) * (r[i] - mean);
    return sqrt(ss / (double)(n - 1));
}

int rg_grpo_advantages(const double *rewards, int n_groups, int group_size, rg_grpo_scale scale, double *advantages,
                       int *zero_std_groups) {
    if (group_size < 2) return rg_error("grpo: a group needs at least 2 rollouts (got %d)", group_size);
    for (size_t i = 0; i < (size_t)n_groups * (size_t)group_size; i++)
        if (!isfinite(rewards[i]))
            return rg_error("grpo: reward %d of group %d is not a finite number", (int)(i % (size_t)group_size),
                            (int)(i / (size_t)group_size));
    /* "batch": one std over every reward of the step (TRL: rewards.std() over the whole batch) */
    const double batch_std = scale == RG_GRPO_SCALE_BATCH ? sample_std(rewards, (size_t)n_groups * group_size) : 0;
    int zero = 0;
    for (int g = 0; g < n_groups; g++) {
        const double *r = rewards + (size_t)g * (size_t)group_size;
        double *a = advantages + (size_t)g * (size_t)group_size;
        double mean = 0;
        for (int i = 0; i < group_size; i++) mean += r[i];
        mean /= group_size;
        double ss = 0;
        int all_equal = 1;
        for (int i = 0; i < group_size; i++) {
            ss += (r[i] - mean) * (r[i] - mean);
            all_equal &= r[i] == r[0];
        }
        /* Sample std (divisor G - 1), as TRL's rewards.view(-1, G).std(dim=1). */
        double std = scale == RG_GRPO_SCALE_BATCH ? batch_std : sqrt(ss / (group_size - 1));
        zero += all_equal;
        for (int i = 0; i < group_size; i++) {
            /* all equal: exactly 0 (r - mean may round to a tiny non-zero, amplified by 1/eps) */
            double centred = all_equal ? 0.0 : r[i] - mean;
            a[i] = scale != RG_GRPO_SCALE_NONE ? centred / (std + RG_GRPO_STD_EPS) : centred;
        }
    }
    if (zero_std_groups) *zero_std_groups = zero;
    return RG_OK;
}

static const char *const loss_type_names[] = {"dapo", "bnpo", "grpo", "dr_grpo"};

const char *rg_grpo_loss_type_name(rg_grpo_loss_type t) {
    return (unsigned)t < sizeof loss_type_names / sizeof *loss_type_names ? loss_type_names[t] : NULL;
}

int rg_grpo_loss_type_parse(const char *name, rg_grpo_loss_type *out) {
    for (unsigned i = 0; i < sizeof loss_type_names / sizeof *loss_type_names; i++)
        if (strcmp(name, loss_type_names[i]) == 0) return *out = (rg_grpo_loss_type)i, RG_OK;
    return RG_ERR;
}

/* Loss tokens (unmasked response tokens) of sequences [from, to). */
static long loss_tokens_of(const rg_grpo_sequence *seqs, int from, int to) {
    long total = 0;
    for (int s = from; s < to; s++) total += seqs[s].masked ? 0 : seqs[s].response_len;
    return total;
}

long rg_grpo_loss_tokens(const rg_grpo_sequence *seqs, int n) { return loss_tokens_of(seqs, 0, n); }

void rg_grpo_loss_weights(const rg_grpo_loss_config *cfg, const rg_grpo_sequence *seqs, int n, long step_loss_tokens,
                          int step_seqs, float *weights) {
    const long total = step_loss_tokens;
    const int per_batch = cfg->batch_seqs > 0 && cfg->batch_seqs < n ? cfg->batch_seqs : n;
    const int batches = (n + per_batch - 1) / per_batch;
    for (int s = 0; s < n; s++) {
        const rg_grpo_sequence *q = &seqs[s];
        float c = 0.0f;
        if (q->masked || q->response_len == 0) c = 0.0f;
        else if (cfg->loss_type == RG_GRPO_LOSS_DAPO) c = 1.0f / (float)total; /* as before loss types: bit for bit */
        else if (cfg->loss_type == RG_GRPO_LOSS_BNPO) {
            const int b0 = s / per_batch * per_batch, b1 = b0 + per_batch < n ? b0 + per_batch : n;
            c = (float)(1.0 / ((double)batches * (double)loss_tokens_of(seqs, b0, b1)));
        } else if (cfg->loss_type == RG_GRPO_LOSS_GRPO) c = (float)(1.0 / ((double)step_seqs * q->response_len));
        else c = (float)(1.0 / ((double)step_seqs * (cfg->max_new > 0 ? cfg->max_new : 1)));
        weights[s] = c;
    }
}

/* The loss head of one sequence, chunk by chunk: the per-token arithmetic
 * is nn's (nn_policy_loss); here the rows' running index into the
 * sequence's targets and log-probs, and the sums. */
int rg_grpo_head_fn(void *ctx, const int32_t *positions, int n, float *logits, int V) {
    (void)positions;
    rg_grpo_head *h = ctx;
    const int row0 = h->next_row;
    const nn_policy_loss_config config = {.clip_eps = h->cfg.clip_eps, .kl_coef = h->cfg.kl_coef,
                                          .clip_eps_high = h->cfg.clip_eps_high};
    nn_policy_loss_stats chunk = {0};
    if (nn_policy_loss(h->with_grad ? logits : NULL, &chunk, logits, h->targets + row0, h->old_logprobs + row0,
                       h->ref_logprobs ? h->ref_logprobs + row0 : NULL, h->advantage, &config, h->grad_scale, n,
                       V) != RG_OK)
        return rg_error_prefix("grpo");
    h->stats.loss_sum += chunk.loss_sum;
    h->stats.surrogate_sum += chunk.surrogate_sum;
    h->stats.kl_sum += chunk.kl_sum;
    h->stats.ratio_sum += chunk.ratio_sum;
    h->stats.objective += chunk.loss_sum * (double)h->grad_scale;
    h->stats.clipped += chunk.clipped;
    h->stats.tokens += chunk.count;
    h->next_row += n;
    return RG_OK;
}
