/* session.h — one training session, whatever the method (`rgsd sft`, `rgsd
 * train`, `rgsd grpo`): the model being trained with its tokenizer and
 * template, the frozen base copy a method may need, the rubric data and
 * held-out data, the judge of --eval-every, the trainer (optimizer, LoRA,
 * schedule, data order), the metrics, the checkpoints, Ctrl-C / SIGTERM and
 * the progress line. A command fills the options and the trainer config from
 * its flags, loads what its method needs into the session, calls
 * rg_session_start, and hands its step to rg_session_loop: the step runs the
 * method once and writes its metrics.jsonl line; the session does the rest. */
#ifndef RG_SESSION_H
#define RG_SESSION_H

#include <stddef.h>

#include "eval/eval.h"
#include "io/dtype.h"
#include "judge/judge.h"
#include "lm/lm.h"
#include "rubric/rubric.h"
#include "session/early_stop.h"
#include "session/evaluate.h"
#include "session/loop.h"
#include "train/trainer.h"

typedef struct {
    const char *name;        /* "sft" | "rgsd" | "grpo": the progress line's label */
    const char *model_dir;   /* the base: a full checkpoint copies its config.json and tokenizer files */
    const char *out_dir;     /* the checkpoint folder */
    const char *cursor_unit; /* "example" | "prompt": what --resume's log line counts */
    rg_dtype save_dtype;     /* full fine-tuning: model.safetensors' dtype */
    long steps, epochs;      /* --steps (0: epochs passes over the data) */
    long save_every, stop_after;
    int resume, quiet;
} rg_session_options;

typedef struct rg_session {
    rg_session_options opt;
    rg_trainer_config cfg;    /* optimizer, batching, schedule and LoRA; total_steps set by rg_session_start */
    rg_lm lm;                 /* the model trained (sft: the tokenizer and template may be NULL) */
    rg_lora start_adapter;    /* --adapter: the LoRA's starting weights (params NULL: none) */
    rg_model frozen;          /* full fine-tuning: the frozen base (teacher, reference) if the method needs one */
    rg_dataset data, eval_data; /* rubric data and --eval-data (sft reads its own) */
    rg_judge_spec judge_spec; /* --judge */
    int judge_spec_ready;
    rg_judge *judge;          /* grpo's reward and --eval-every's judge */
    rg_eval_options eval_options;
    rg_train_evaluation evaluation; /* every 0: no evaluation */
    rg_early_stop early_stop; /* every 0: off (rgsd train --gap-every); set up before rg_session_start */
    /* set by rg_session_start and the loop */
    rg_trainer trainer;
    int trainer_ready;
    long total_steps;
    rg_text_buf metrics;      /* metrics.jsonl: a resumed run's history and one line per step and evaluation */
    rg_train_loop loop;
    double eval_s;            /* seconds in --eval-every's evaluations */
} rg_session;

/* The trainer over n examples of up to max_T tokens: the step count (--steps, or enough steps of
 * batch_size x grad_accum for `epochs` passes), the --adapter start, and under --resume the state and
 * metrics of out_dir. */
int rg_session_start(rg_session *s, int max_T, long n);

/* --eval-every: evaluate every `every` steps and after the last with the session's judge on eval_data.
 * Under LoRA it decodes the base through the adapter (no merged copy). eval_out may be NULL. */
void rg_session_evaluate_every(rg_session *s, long every, const char *eval_out);

/* "LoRA on a bf16 base", "LoRA on an f32 base" or "full fine-tuning": the setup log lines' words. */
const char *rg_session_mode(const rg_session *s);

/* The method's step: runs it once (RG_ERR: it failed, or a stop request abandoned it), then writes its
 * metrics.jsonl line (with the newline) into line and the progress line's text into extra. */
typedef int (*rg_session_step_fn)(rg_session *s, void *method, char *line, size_t line_size, char *extra,
                                  size_t extra_size);

/* The training loop: steps until --stop-after, the last step or Ctrl-C / SIGTERM, each step's line kept,
 * --eval-every and --save-every after it, then the final checkpoint (metrics.jsonl in it). RG_OK when
 * that checkpoint is written; then the method's summary, then rg_session_close. */
int rg_session_loop(rg_session *s, rg_session_step_fn step, void *method);

/* Seconds since the loop began. */
double rg_session_wall(const rg_session *s);

/* The closing log line; the exit code: 0, or 128 + signal after a stop request ("continue with --resume"). */
int rg_session_close(const rg_session *s);

/* Frees what the session holds (after the method freed what refers to it). */
void rg_session_free(rg_session *s);

#endif
