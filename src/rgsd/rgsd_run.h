/* rgsd_run.h — an RGSD training run: the prompts both sides see, prepared
 * once from rubric data, and the whole step (rollout, teacher, student,
 * backward, optimizer) with its metrics. rgsd.h holds the passes. */
#ifndef RG_RGSD_RUN_H
#define RG_RGSD_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "lm/lm.h"
#include "model/generate.h"
#include "rgsd/rgsd.h"
#include "rgsd/rgsd_teacher.h"
#include "rubric/rubric.h"
#include "rubric/teacher_prompt.h"

/* One usable example: chat(q) and chat(teacher_prompt(q, R)), both with the
 * generation prompt, encoded. */
typedef struct {
    size_t example;             /* index into the data set */
    int32_t *student_prompt;
    int student_prompt_len;
    int32_t *teacher_prompt;
    int teacher_prompt_len;
    int starts_in_think;        /* the generation prompt opened a <think> span */
} rg_rgsd_prompt;

typedef struct {
    const rg_teacher_template *teacher_template; /* NULL: the default for the context */
    rg_teacher_context context; /* rubric | reference */
    rg_rubric_in rubric_in;     /* the rubric in the last user message (default) or in the system message */
    const char *system;         /* system message for conversations without one, or NULL */
    int enable_thinking;        /* Qwen3 template: 1 (default) or 0 */
    int max_new;                /* room the rollout needs after each prompt */
    int context_len;            /* tokens a sequence may span */
    int strict;                 /* 1: an example the teacher cannot take is an error */
} rg_rgsd_data_options;

typedef struct {
    rg_rgsd_prompt *prompts;
    int n;
    size_t skipped_empty;     /* no criteria to show (or, reference context, no reference) */
    size_t skipped_long;      /* teacher or student prompt + max_new past the context */
    int max_prompt_len;       /* the longest prompt of either side */
    int max_student_len;      /* the longest student prompt (what the rollouts' KV cache must hold) */
    long student_tokens, teacher_tokens;
} rg_rgsd_data;

/* Renders and encodes every example; those the teacher cannot take are
 * skipped and counted (or, strict, an error naming the example). */
int rg_rgsd_data_build(rg_rgsd_data *d, const rg_lm *lm, const rg_example *examples, size_t n_examples,
                       const rg_rgsd_data_options *o);
void rg_rgsd_data_free(rg_rgsd_data *d);

typedef struct {
    nn_jsd_config jsd;
    rg_teacher_mode teacher_mode; /* frozen | ema | live (rgsd_teacher.h) */
    float teacher_ema_decay;      /* ema: d in theta_T <- d theta_T + (1 - d) theta_S */
    rg_loss_mean loss_mean;       /* token | sequence */
    float is_clip;                /* > 0: the importance weight p_current / p_rollout, clipped here; 0: none */
    rg_gen_options gen;   /* max_new, sampling, batch, context, stop ids; seed = the run's seed */
    int32_t think_open, think_close; /* -1: not a thinking model (nothing masked) */
    int32_t end_token;    /* the one token every rollout stops on (scored with y), or -1: not scored */
} rg_rgsd_config;

typedef struct {
    rg_trainer *trainer;          /* the student and its optimizer (not owned) */
    rg_rgsd_teacher teacher;      /* the teacher's weights (frozen copy, live, EMA) */
    rg_rgsd_config cfg;
    rg_infer_state rollouts;      /* the rollouts' KV cache and scratch, sized once (cfg.gen.batch slots of
                                     cfg.gen.context rows); under LoRA it decodes through the adapter */
    float *teacher_logits;        /* [(max_new + 1), V] */
} rg_rgsd_run;

typedef struct {
    double loss;            /* token mean of the (clipped) divergence */
    double clip_fraction;   /* clipped tokens / tokens (token) or entries / entries (entry); 0 for none */
    double gap;             /* mean over loss positions of log p_T(y_t) - log p_S(y_t) */
    double entropy;         /* mean student entropy over loss positions */
    double is_weight;       /* --is-weight token: mean importance ratio before clipping; 0 otherwise */
    double is_clip_fraction; /* positions whose ratio was clipped / positions */
    double response_len;    /* mean response tokens (end token excluded) */
    double stopped;         /* fraction of rollouts that ended on an end token */
    long loss_tokens;       /* loss positions (think spans excluded) */
    long response_tokens;   /* generated tokens */
    long seq_tokens;        /* tokens through the teacher and student forwards */
    double gen_s, teacher_s, student_s, backward_s, optimizer_s, step_s;
    rg_step_stats opt;      /* grad norm, lr, clipped */
} rg_rgsd_step_stats;

/* trainer is set up over data->n examples with max_T >= max_prompt_len + max_new (and
 * resumed, if it is). teacher: full fine-tuning's copy (frozen, or f32 for ema;
 * NULL for live), NULL under LoRA. With cfg->teacher_mode ema the average is
 * registered with the trainer's checkpoint; rg_trainer_resume_method_state restores it. */
int rg_rgsd_run_init(rg_rgsd_run *run, rg_trainer *trainer, rg_model *teacher, const rg_rgsd_config *cfg);
void rg_rgsd_run_free(rg_rgsd_run *run);
/* One optimizer step over the next batch_size * grad_accum prompts. The
 * rollout seed is (cfg.gen.seed, step), so a resumed run draws the same rollouts. */
int rg_rgsd_step(rg_rgsd_run *run, const rg_rgsd_data *data, rg_rgsd_step_stats *st);

#endif
