/* grpo.h — the GRPO baseline (DESIGN.md section 6): group-normalised
 * advantages, the clipped-surrogate + k3-KL loss head, and the reference and
 * policy passes of one step. grpo_run.h holds the whole step (rollouts,
 * judge, rewards). The names in brackets are TRL GRPOConfig's.
 *
 * For a prompt q with G rollouts y_1..y_G and rewards r_1..r_G:
 *   A_i = (r_i - mean(r)) / (std + eps)   std = SAMPLE std (divisor G-1), eps = 1e-4, as
 *                                         TRL; [scale_rewards] "group": std of the group's G
 *                                         rewards; "batch": of all the step's rewards
 *   A_i = r_i - mean(r)                   [scale_rewards="none"] (--no-std, Dr. GRPO)
 * mean is always the group's. A group whose rewards are all equal gets A = 0
 * exactly (no signal, no NaN).
 *
 * Per response token t of y_i (every token: GRPO has no think-span mask),
 * lp_t = log pi_theta(y_t | q, y_<t) (temperature 1, untruncated),
 * old_t = the rollout-time log-prob, ref_t = log pi_ref(y_t | q, y_<t):
 *   rho_t   = exp(lp_t - old_t)
 *   surr_t  = -min(rho_t A_i, clip(rho_t, 1 - eps_lo, 1 + eps_hi) A_i)   [epsilon, epsilon_high]
 *   k3_t    = exp(ref_t - lp_t) - (ref_t - lp_t) - 1
 *   loss    = sum_i c_i sum_t (surr_t + beta_kl k3_t)
 * with the per-sequence factor c_i of the loss type [loss_type] (n = the
 * step's sequences, L = max_new [max_completion_length], N = the step's loss
 * tokens, N_b = the loss tokens of y_i's accumulation batch, K = grad_accum):
 *   dapo (default)  c_i = 1 / N                 token mean over the step
 *   bnpo            c_i = 1 / (K N_b)           token mean per accumulation batch, mean over the K
 *   grpo            c_i = 1 / (n |y_i|)         token mean per sequence, mean over sequences
 *   dr_grpo         c_i = 1 / (n L)             token sum over a constant
 * A masked sequence (--mask-truncated: it did not end on an end token
 * [mask_truncated_completions]) has c_i = 0, and its tokens leave N and N_b;
 * it still counts in n (TRL: its row of completion_mask is zero).
 * Gradient w.r.t. lp_t (then d lp_t / d z = onehot(y_t) - softmax(z)):
 *   d surr_t = -rho_t A_i   unless clipped (A > 0 and rho > 1 + eps_hi, or
 *                           A < 0 and rho < 1 - eps_lo), where it is 0
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

/* How advantages are scaled [scale_rewards]; the values 0 and 1 are the old
 * scale_by_std flag's. */
typedef enum { RG_GRPO_SCALE_NONE = 0, RG_GRPO_SCALE_GROUP = 1, RG_GRPO_SCALE_BATCH = 2 } rg_grpo_scale;

/* rewards[n_groups * group_size] (group g = entries [g*G, (g+1)*G)) ->
 * advantages[same]. group_size >= 2. *zero_std_groups (may be NULL) = groups
 * whose rewards are all equal. RG_ERR on a non-finite reward (naming its
 * index) or group_size < 2. */
int rg_grpo_advantages(const double *rewards, int n_groups, int group_size, rg_grpo_scale scale, double *advantages,
                       int *zero_std_groups);

/* The normalisation of the loss [loss_type] (grpo.h's top comment). */
typedef enum { RG_GRPO_LOSS_DAPO = 0, RG_GRPO_LOSS_BNPO, RG_GRPO_LOSS_GRPO, RG_GRPO_LOSS_DR_GRPO } rg_grpo_loss_type;

typedef struct {
    float clip_eps;      /* eps_lo, 0.2 [epsilon] */
    float kl_coef;       /* beta_kl, 0.01; 0 = no KL term, no reference pass [beta] */
    float clip_eps_high; /* eps_hi [epsilon_high]; 0 = clip_eps */
    rg_grpo_loss_type loss_type;
    int max_new;         /* L of dr_grpo [max_completion_length] */
    int batch_seqs;      /* bnpo: sequences per accumulation batch (batch x G); 0 = all n */
    int finish;          /* 1: a stop request does not abandon the passes (rg_grpo_update's later updates) */
} rg_grpo_loss_config;

/* The names of the loss types, "dapo" ... (NULL for an invalid one), and back (RG_ERR for an unknown name). */
const char *rg_grpo_loss_type_name(rg_grpo_loss_type t);
int rg_grpo_loss_type_parse(const char *name, rg_grpo_loss_type *out);

typedef struct {
    double loss_sum;      /* sum over tokens of surr_t + beta_kl k3_t */
    double surrogate_sum; /* sum of surr_t */
    double kl_sum;        /* sum of k3_t (0 when beta_kl = 0) */
    double ratio_sum;     /* sum of rho_t */
    double objective;     /* sum of c_i (surr_t + beta_kl k3_t): the loss the gradient is of */
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
    float grad_scale;            /* c_i */
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
    int masked;                  /* 1: out of the loss (--mask-truncated) */
} rg_grpo_sequence;

typedef struct {
    rg_grpo_head_stats head;
    long seq_tokens;             /* tokens through the forwards (reference + policy) */
    long skipped;                /* sequences with A = 0 and beta_kl = 0: no gradient, not run */
    long masked;                 /* sequences out of the loss (masked): not run, tokens not counted */
    long measured;               /* tokens through the loss head (rho and clipping were measured on) */
    double reference_s, student_s, backward_s, optimizer_s;
} rg_grpo_stats;

/* c_i of every sequence (grpo.h's top comment) into weights[n]: N = step_loss_tokens and n = step_seqs
 * count the whole step (data parallel: every rank's); bnpo's N_b and K count seqs[0..n) (one process). */
void rg_grpo_loss_weights(const rg_grpo_loss_config *cfg, const rg_grpo_sequence *seqs, int n, long step_loss_tokens,
                          int step_seqs, float *weights);
/* Unmasked response tokens of seqs[0..n): the token mean's count on one rank. */
long rg_grpo_loss_tokens(const rg_grpo_sequence *seqs, int n);

/* The reference and policy passes of n sequences: gradients ACCUMULATE into
 * t->trainable_grads (the caller zeroes them), sequence i's tokens scaled by
 * its c_i (rg_grpo_loss_weights over the whole step's counts: data parallel, every rank's, one all-reduce;
 * masked sequences are not run). reference: the frozen copy, or NULL =
 * t->model with the adapters off (LoRA). Sequences are packed into
 * micro-batches of up to t->acts.max_tokens tokens (one reference forward,
 * one policy forward + head, one backward each). ref_scratch:
 * t->acts.max_tokens doubles. stats +=. */
int rg_grpo_accumulate(rg_trainer *t, const rg_model *reference, const rg_grpo_loss_config *cfg,
                       const rg_grpo_sequence *seqs, int n, double *ref_scratch, rg_grpo_stats *stats);

/* The mu = iterations optimizer updates of one step on the same n sequences (TRL num_iterations), each
 * a full rg_grpo_accumulate + rg_trainer_apply against the sequences' rollout-time log-probs, so the
 * ratio moves off 1 from the second update on and the clip acts. The trainer's step advances ONCE (the
 * step is the batch of rollouts: the mu updates share its scheduled lr) and the data cursor by
 * n_examples; Adam's own update count (bias correction) advances mu times. total += every update's
 * stats; iter[k] (may be NULL) = update k's alone; opt = the first update's (clipped: any update's).
 * A stop request (Ctrl-C) abandons the step only during the first update, before any weight changed;
 * once one update is applied the step finishes, so the checkpoint saved is a whole step's. */
int rg_grpo_update(rg_trainer *t, const rg_model *reference, const rg_grpo_loss_config *cfg, int iterations,
                   const rg_grpo_sequence *seqs, int n, int n_examples, double *ref_scratch, rg_grpo_stats *total,
                   rg_grpo_stats *iter, rg_step_stats *opt);

#endif
