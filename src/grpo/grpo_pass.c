/* grpo_pass.c — the reference and policy passes of a GRPO step (see grpo.h),
 * over packed micro-batches: one reference forward (log-probs, when the KL
 * term is on), one policy forward + GRPO head, one backward per micro-batch. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/stop.h"
#include "base/timer.h"
#include "dist/dist.h"
#include "grpo/grpo.h"
#include "model/train.h"
#include "rgsd/rgsd.h"

/* The GRPO head is per sequence (its advantage, old and reference log-probs);
 * this one hands each run of rows to the head of the sequence it belongs to.
 * Rows come in order, every response token of every packed sequence. */
typedef struct {
    rg_grpo_head *heads;
    const int *counts; /* [B] rows of each sequence */
    int seq, used;     /* the current sequence and its rows done */
} packed_head;

static int packed_head_fn(void *ctx, const int32_t *positions, int n, float *logits, int V) {
    packed_head *p = ctx;
    while (n > 0) {
        int m = p->counts[p->seq] - p->used < n ? p->counts[p->seq] - p->used : n;
        if (rg_grpo_head_fn(&p->heads[p->seq], positions, m, logits, V) != RG_OK) return RG_ERR;
        positions += m;
        logits += (size_t)m * (size_t)V;
        n -= m;
        if ((p->used += m) == p->counts[p->seq]) p->seq++, p->used = 0;
    }
    return RG_OK;
}

typedef struct {
    int32_t *ids, *starts, *rows, *targets;
    int *counts, *which; /* per packed sequence: its rows, its index in seqs */
    int N, B, n_rows;
} packed_batch;

/* Packs the sequences from *s on that need a forward, within the budget. */
static void pack(const rg_grpo_loss_config *cfg, const rg_grpo_sequence *seqs, int n, int *s, int cap, packed_batch *p,
                 rg_grpo_stats *stats) {
    p->N = p->B = p->n_rows = 0;
    p->starts[0] = 0;
    for (; *s < n; ++*s) {
        const rg_grpo_sequence *q = &seqs[*s];
        if (q->response_len == 0) continue;
        if (q->masked) { /* out of the loss: no gradient, no statistic, its tokens not counted */
            stats->masked++;
            continue;
        }
        if (q->advantage == 0.0f && cfg->kl_coef == 0.0f) { /* no gradient, no statistic: the tokens still count */
            stats->skipped++;
            stats->head.tokens += q->response_len;
            continue;
        }
        int T = q->prompt_len + q->response_len - 1;
        if (p->B > 0 && p->N + T > cap) break;
        memcpy(p->ids + p->N, q->prompt, sizeof(int32_t) * (size_t)q->prompt_len);
        memcpy(p->ids + p->N + q->prompt_len, q->response, sizeof(int32_t) * (size_t)(q->response_len - 1));
        for (int i = 0; i < q->response_len; i++) {
            p->targets[p->n_rows] = q->response[i];
            p->rows[p->n_rows++] = p->N + q->prompt_len - 1 + i;
        }
        p->counts[p->B] = q->response_len;
        p->which[p->B] = *s;
        p->N += T;
        p->starts[++p->B] = p->N;
    }
}

/* Policy forward + head + backward of one packed batch; the heads' stats go to stats. */
static int policy_pass(rg_trainer *t, const rg_grpo_loss_config *cfg, const rg_grpo_sequence *seqs,
                       const packed_batch *p, const double *ref, const float *weights, rg_grpo_head *heads,
                       rg_grpo_stats *stats) {
    rg_lora *lora = t->cfg.lora_rank > 0 ? &t->lora : NULL;
    for (int b = 0, row = 0; b < p->B; row += p->counts[b++]) {
        const rg_grpo_sequence *q = &seqs[p->which[b]];
        heads[b] = (rg_grpo_head){.targets = q->response, .old_logprobs = q->old_logprobs,
                                  .ref_logprobs = cfg->kl_coef > 0 ? ref + row : NULL, .advantage = q->advantage,
                                  .cfg = *cfg, .grad_scale = weights[p->which[b]], .with_grad = 1};
    }
    packed_head ph = {.heads = heads, .counts = p->counts};
    double t1 = rg_now();
    if (rg_train_forward(t->model, lora, &t->acts, p->ids, p->starts, p->B) != RG_OK ||
        rg_train_head(t->model, t->grads, &t->acts, p->rows, p->n_rows, packed_head_fn, &ph, 1) != RG_OK)
        return RG_ERR;
    double t2 = rg_now();
    stats->student_s += t2 - t1;
    if (rg_train_backward(t->model, lora, t->grads, &t->acts, p->ids) != RG_OK) return RG_ERR;
    stats->backward_s += rg_now() - t2;
    for (int b = 0; b < p->B; b++) {
        const rg_grpo_head_stats *h = &heads[b].stats;
        stats->head.loss_sum += h->loss_sum;
        stats->head.surrogate_sum += h->surrogate_sum;
        stats->head.kl_sum += h->kl_sum;
        stats->head.ratio_sum += h->ratio_sum;
        stats->head.objective += h->objective;
        stats->head.clipped += h->clipped;
        stats->head.tokens += h->tokens;
        stats->measured += h->tokens;
    }
    return RG_OK;
}

int rg_grpo_accumulate(rg_trainer *t, const rg_model *reference, const rg_grpo_loss_config *cfg,
                       const rg_grpo_sequence *seqs, int n, double *ref_scratch, rg_grpo_stats *stats) {
    const int cap = t->acts.max_tokens;
    long total = 0;
    for (int s = 0; s < n; s++) {
        total += seqs[s].response_len;
        if (seqs[s].response_len > 0 && (seqs[s].prompt_len < 1 || seqs[s].prompt_len + seqs[s].response_len - 1 > cap))
            return rg_error("grpo: sequence %d is %d tokens, more than the %d planned (or an empty prompt)", s,
                            seqs[s].prompt_len + seqs[s].response_len - 1, cap);
    }
    /* data parallel: the loss's normalisers count the whole step's tokens and sequences (every rank's) */
    double step[3] = {(double)total, (double)rg_grpo_loss_tokens(seqs, n), (double)n};
    if (rg_dist_sum_f64(step, 3) != RG_OK) return RG_ERR;
    if (step[0] == 0) return RG_OK;
    const rg_model *ref_model = reference ? reference : t->model; /* LoRA: the base, adapters off */
    int32_t *buf = rg_malloc(sizeof(int32_t) * (6 * (size_t)cap + 1));
    rg_grpo_head *heads = rg_malloc(sizeof *heads * (size_t)cap);
    float *weights = rg_malloc(sizeof(float) * (size_t)n);
    packed_batch p = {0};
    int rc = RG_ERR;
    if (!buf || !heads || !weights) goto done;
    rg_grpo_loss_weights(cfg, seqs, n, (long)step[1], (int)step[2], weights);
    p = (packed_batch){.ids = buf, .rows = buf + cap, .targets = buf + 2 * (size_t)cap,
                       .counts = (int *)(buf + 3 * (size_t)cap), .which = (int *)(buf + 4 * (size_t)cap),
                       .starts = buf + 5 * (size_t)cap};
    for (int s = 0; s < n;) {
        /* a safe point: only gradients are touched so far (unless an update of this step was applied) */
        if (!cfg->finish && rg_stop_check() != RG_OK) goto done;
        pack(cfg, seqs, n, &s, cap, &p, stats);
        if (p.B == 0) break;
        double t0 = rg_now();
        if (cfg->kl_coef > 0) {
            if (rg_packed_logprobs(ref_model, &t->acts, p.ids, p.starts, p.B, p.rows, p.targets, p.n_rows,
                                   ref_scratch) != RG_OK)
                goto done;
            stats->seq_tokens += p.N;
        }
        double t1 = rg_now();
        if (policy_pass(t, cfg, seqs, &p, ref_scratch, weights, heads, stats) != RG_OK) goto done;
        stats->reference_s += t1 - t0;
        stats->seq_tokens += p.N;
    }
    rc = RG_OK;
done:
    free(buf);
    free(heads);
    free(weights);
    return rc;
}
