/* grpo_run.h — a GRPO run: the prompts chat(q), encoded once, and the whole
 * step (G rollouts per prompt, judge, rewards, advantages, reference and
 * policy passes, AdamW) with its metrics. grpo.h holds the loss and passes.
 *
 * Rollout-time log-probs (pi_old): each rollout token's log-prob under the
 * UNTRUNCATED TEMPERATURE-1 softmax of the policy that sampled it
 * (rg_gen_result.logprobs), not its log-prob under the sampling distribution
 * (temperature / top-p). The ratio rho = pi_theta / pi_old then measures how
 * far the policy moved since the rollout, in the same units as pi_theta in the
 * loss head (temperature 1): at the first of the mu updates of a batch of
 * rollouts it is 1 up to float rounding, so the surrogate's gradient is
 * A grad log pi; from the second on (--iterations) the clip acts. The
 * sampling distribution's log-prob would make rho != 1 before any update (by
 * the temperature and truncation alone) and clip tokens for no reason. What
 * this leaves uncorrected is the off-policy-ness of sampling at T != 1 or
 * top-p < 1 itself, as in TRL's and verl's defaults for top-p. */
#ifndef RG_GRPO_RUN_H
#define RG_GRPO_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "grpo/grpo.h"
#include "grpo/pow3r.h"
#include "judge/judge.h"
#include "lm/lm.h"
#include "model/generate.h"
#include "rubric/rubric.h"

typedef enum { RG_GRPO_REWARD_BALANCED, RG_GRPO_REWARD_HEALTHBENCH, RG_GRPO_REWARD_POW3R } rg_grpo_reward;

typedef struct {
    size_t example;  /* index into the data set */
    int32_t *prompt; /* chat(q) with the generation prompt */
    int prompt_len;
} rg_grpo_prompt;

typedef struct {
    const char *system;  /* for conversations without one, or NULL */
    int enable_thinking; /* Qwen3 template: 1 (default) or 0 */
    int max_new;
    int context_len;
    int strict;          /* an example that cannot be trained on is an error */
    rg_grpo_reward reward;
} rg_grpo_data_options;

typedef struct {
    rg_grpo_prompt *prompts;
    int n;
    size_t skipped_no_reward; /* no criterion, or (HealthBench) no positive weight: the reward is undefined */
    size_t skipped_long;      /* prompt + max_new past the context */
    int max_prompt_len;
} rg_grpo_data;

int rg_grpo_data_build(rg_grpo_data *d, const rg_lm *lm, const rg_example *examples, size_t n_examples,
                       const rg_grpo_data_options *o);
void rg_grpo_data_free(rg_grpo_data *d);

typedef struct {
    rg_grpo_loss_config loss;
    int group_size;        /* G rollouts per prompt */
    rg_grpo_scale scale;   /* --scale-rewards (--no-std = none) */
    int iterations;        /* mu: optimizer updates per batch of rollouts, each against pi_old (0 = 1) */
    int mask_truncated;    /* rollouts that did not end on an end token leave the loss */
    rg_grpo_reward reward;
    rg_pow3r *pow3r;       /* reward pow3r: the alpha_j state (not owned; the caller saves and resumes it) */
    rg_gen_options gen;    /* max_new, sampling, batch, context, stop ids; seed = the run's seed */
    int32_t end_token;     /* the one end token (scored with y when a rollout stopped on it), or -1 */
} rg_grpo_config;

typedef struct {
    rg_trainer *trainer;     /* the policy and its optimizer (not owned) */
    const rg_model *reference; /* full fine-tuning: the frozen copy; LoRA: NULL (adapters off) */
    const rg_lm *lm;         /* tokenizer (decoding rollouts for the judge) */
    const rg_example *examples;
    rg_judge *judge;         /* not owned */
    rg_grpo_config cfg;
    rg_infer_state rollouts; /* the rollouts' KV cache and scratch, sized once (cfg.gen.batch slots of
                                cfg.gen.context rows); under LoRA it decodes through the adapter */
    double *ref_scratch;     /* [max_new + 1] */
} rg_grpo_run;

typedef struct {
    double loss;             /* the loss of the loss type (dapo: token mean of surrogate + beta k3), mean over mu */
    double surrogate, kl;    /* token means, over the mu updates' passes */
    double ratio;            /* mean rho (over the mu passes) */
    double clip_fraction;    /* clipped tokens / tokens (over the mu passes) */
    long masked;             /* rollouts out of the loss (--mask-truncated) */
    double alpha_min, alpha_max; /* pow3r: the alpha_j range after this step */
    long alpha_updates;      /* pow3r: epochs whose verdicts updated alpha during this step */
    double reward_mean, reward_std; /* over the step's rollouts (population std) */
    double zero_std_fraction;       /* groups with all rewards equal: no signal */
    double response_len;     /* mean generated tokens */
    double stopped;          /* fraction of rollouts that ended on an end token */
    long rollouts, response_tokens, loss_tokens, seq_tokens, skipped;
    rg_judge_stats judge;    /* this step's judge work (difference of the cumulative stats) */
    double gen_s, judge_s, reference_s, student_s, backward_s, optimizer_s, step_s;
    rg_step_stats opt;
} rg_grpo_step_stats;

/* Sets the optimizer's update count to mu x the trainer's step (after a resume: the updates that step
 * count stands for). */
int rg_grpo_run_init(rg_grpo_run *run, rg_trainer *trainer, const rg_model *reference, const rg_lm *lm,
                     const rg_example *examples, rg_judge *judge, const rg_grpo_config *cfg);
void rg_grpo_run_free(rg_grpo_run *run);
/* One step over the next batch_size * grad_accum prompts, G rollouts each:
 * mu optimizer updates on these rollouts (the trainer's step advances by one,
 * the schedule's lr is the step's for all mu). Rollout seed (cfg.gen.seed,
 * step): a resumed run draws the same rollouts. */
int rg_grpo_step(rg_grpo_run *run, const rg_grpo_data *data, rg_grpo_step_stats *st);

/* The reward of one response from its verdicts (met[i] in {0,1}). */
double rg_grpo_reward_of(rg_grpo_reward kind, const rg_example *ex, const unsigned char *met);

#endif
