/* loop.h — the run management of a training session (session.h; sft, train,
 * grpo): the metrics lines kept in memory and written into every checkpoint,
 * the metrics of a resumed run read back, Ctrl-C / SIGTERM turned into
 * "abandon the step at its next safe point (base/stop.h), save the last
 * complete one, exit 128 + signal" (a second signal exits at once), and the
 * checkpoints around the loop. */
#ifndef RG_SESSION_LOOP_H
#define RG_SESSION_LOOP_H

#include <signal.h>
#include <stddef.h>

#include "base/progress.h"
#include "base/stop.h"
#include "io/dtype.h"
#include "train/trainer.h"

/* A growing string (metrics.jsonl's text). */
typedef struct {
    char *text;
    size_t len, cap;
} rg_text_buf;

int rg_text_append(rg_text_buf *b, const char *s);
void rg_text_free(rg_text_buf *b);
/* Appends out_dir/metrics.jsonl when it exists (a resumed run keeps its history). */
int rg_text_append_metrics_of(rg_text_buf *b, const char *out_dir);

/* Between install and restore, the first SIGINT / SIGTERM sets
 * rg_stop_requested (base/stop.h); the second exits at once with 128 + signal
 * (every file rgsd writes is atomic: nothing is left half-written). */
typedef struct {
    struct sigaction old_int, old_term;
} rg_stop_signals;
void rg_stop_signals_install(rg_stop_signals *saved);
void rg_stop_signals_restore(const rg_stop_signals *saved);

/* The loop around the steps: Ctrl-C / SIGTERM caught, the progress line, the wall clock, and the step
 * this invocation stops at (--stop-after N steps of it, never past total_steps). */
typedef struct {
    rg_stop_signals saved_signals;
    rg_progress progress;
    double start;         /* rg_now() when the loop began */
    long first_step, stop_at;
} rg_train_loop;
void rg_train_loop_begin(rg_train_loop *loop, const char *name, long step, long stop_after, long total_steps,
                         int quiet);
/* Seconds left to stop_at after `step`, at the pace of this invocation so far (elapsed seconds). */
double rg_train_loop_eta(const rg_train_loop *loop, long step, double elapsed);
/* Finishes the progress line and gives the signals back, except after a stop
 * request: then rg_train_closing gives them back, after the final save. */
void rg_train_loop_end(rg_train_loop *loop);

/* --save-every N: a checkpoint after every N-th step but the last (the final save follows the loop). */
int rg_train_save_every(const rg_trainer *trainer, const char *model_dir, const char *out_dir, rg_dtype dtype,
                        long save_every, long total_steps, const rg_text_buf *metrics);
/* The checkpoint after the loop, metrics.jsonl included (empty when no step ran). */
int rg_train_save_final(const rg_trainer *trainer, const char *model_dir, const char *out_dir, rg_dtype dtype,
                        const rg_text_buf *metrics);
/* After a step or its evaluation failed: 1 when it was abandoned because a
 * stop was requested (then the trainer still holds the last complete step,
 * which the final save writes), 0 for a real failure. */
int rg_train_abandoned(void);
/* The closing log line; returns the exit code: 128 + signal after Ctrl-C (130) / SIGTERM (143) ("continue with
 * --resume"), else 0. */
int rg_train_closing(const rg_trainer *trainer, const char *out_dir, long lora_rank, long total_steps);

#endif
