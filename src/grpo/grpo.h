/* grpo.h — the GRPO baseline (DESIGN.md section 6): group-normalised
 * advantages, the clipped-surrogate + k3-KL loss head, and the reference and
 * policy passes of one step. grpo_run.h holds the whole step (rollouts,
 * judge, rewards).
 *
 * For a prompt q with G rollouts y_1..y_G and rewards r_1..r_G:
 *   A_i = (r_i - mean(r)) / (std(r) + eps)     std = SAMPLE std (divisor G-1),
 *                                                eps = 1e-4, as TRL's GRPOTrainer
 *   A_i = r_i - mean(r)                         with --no-std (Dr. GRPO)
 * A group whose rewards are all equal gets A = 0 exactly (no signal, no NaN).
 *
 * Per response token t of y_i (every token: GRPO has no think-span mask),
 * lp_t = log pi_theta(y_t | q, y_<t) (temperature 1, untruncated),
 * old_t = the rollout-time log-prob, ref_t = log pi_ref(y_t | q, y_<t):
 *   rho_t   = exp(lp_t - old_t)
 *   surr_t  = -min(rho_t A_i, clip(rho_t, 1 - eps_c, 1 + eps_c) A_i)
 *   k3_t    = exp(ref_t - lp_t) - (ref_t - lp_t) - 1
 *   loss    = sum over the batch's tokens of (surr_t + beta_kl k3_t) / N
 * N = all response tokens of the step (token mean, as DAPO / TRL "token").
 * Gradient w.r.t. lp_t (then d lp_t / d z = onehot(y_t) - softmax(z)):
 *   d surr_t = -rho_t A_i   unless clipped (A > 0 and rho > 1 + eps_c, or
 *                           A < 0 and rho < 1 - eps_c), where it is 0
 *   d k3_t   = 1 - exp(ref_t - lp_t)
 * The reference is the frozen base: under LoRA the same weights with the
 * adapters off, under full fine-tuning a frozen copy (bf16 by default).
 * beta_kl = 0 skips the reference pass. */
#ifndef RG_GRPO_H
#define RG_GRPO_H

#include <stdint.h>

#include "model/model.h"
#include "train/trainer.h"

#define RG_GRPO_STD_EPS 1e-4

/* rewards[n_groups * group_size] (group g = entries [g*G, (g+1)*G)) ->
 * advantages[same]. scale_by_std 0: mean-centred only. group_size >= 2.
 * *zero_std_groups (may be NULL) = groups whose rewards are all equal.
 * RG_ERR on a non-finite reward (naming its index) or group_size < 2. */
int rg_grpo_advantages(const double *rewards, int n_groups, int group_size, int scale_by_std, double *advantages,
                       int *zero_std_groups);

typedef struct {
    float clip_eps; /* 0.2 */
    float kl_coef;  /* beta_kl, 0.01; 0 = no KL term, no reference pass */
} rg_grpo_loss_config;

typedef struct {
    double loss_sum;      /* sum over tokens of surr_t + beta_kl k3_t */
    double surrogate_sum; /* sum of surr_t */
    double kl_sum;        /* sum of k3_t (0 when beta_kl = 0) */
    double ratio_sum;     /* sum of rho_t */
    long clipped;         /* tokens whose clipped branch was taken */
    long tokens;
} rg_grpo_head_stats;

/* The loss head over one sequence's chunks (rows in order): logits[n, V] ->
 * d(loss)/d(logits) * grad_scale. targets/old/ref indexed by row (running). */
typedef struct {
    const int32_t *targets;      /* [response_len] y_t */
    const float *old_logprobs;   /* [response_len] */
    const double *ref_logprobs;  /* [response_len], or NULL when kl_coef = 0 */
    float advantage;
    rg_grpo_loss_config cfg;
    float grad_scale;            /* 1 / N */
    int with_grad;
    int next_row;
    rg_grpo_head_stats stats;
} rg_grpo_head;
int rg_grpo_head_fn(void *ctx, const int32_t *positions, int n, float *logits, int V);

/* One rollout as the passes see it. */
typedef struct {
    const int32_t *prompt;       /* chat(q) with the generation prompt */
    int prompt_len;
    const int32_t *response;     /* y (the end token included when it stopped on the one known end token) */
    int response_len;
    const float *old_logprobs;   /* [response_len] rollout-time log-probs */
    float advantage;
} rg_grpo_sequence;

typedef struct {
    rg_grpo_head_stats head;
    long seq_tokens;             /* tokens through the forwards (reference + policy) */
    long skipped;                /* sequences with A = 0 and beta_kl = 0: no gradient, not run */
    double reference_s, student_s, backward_s;
} rg_grpo_stats;

/* The reference and policy passes of n sequences: gradients ACCUMULATE into
 * t->trainable_grads (the caller zeroes them), every token scaled by
 * 1 / (response tokens of all n; data parallel: of every rank's n, one scalar all-reduce). reference: the frozen copy, or NULL =
 * t->model with the adapters off (LoRA). Sequences are packed into
 * micro-batches of up to t->acts.max_tokens tokens (one reference forward,
 * one policy forward + head, one backward each). ref_scratch:
 * t->acts.max_tokens doubles. stats +=. */
int rg_grpo_accumulate(rg_trainer *t, const rg_model *reference, const rg_grpo_loss_config *cfg,
                       const rg_grpo_sequence *seqs, int n, double *ref_scratch, rg_grpo_stats *stats);

#endif
