/* train_run.h — run management the training commands share (sft, train,
 * grpo): the metrics lines kept in memory and written into every checkpoint,
 * the metrics of a resumed run read back, and Ctrl-C / SIGTERM turned into
 * "finish the step, save, exit 130". */
#ifndef RG_TRAIN_RUN_H
#define RG_TRAIN_RUN_H

#include <signal.h>
#include <stddef.h>

/* A growing string (metrics.jsonl's text). */
typedef struct {
    char *text;
    size_t len, cap;
} rg_text_buf;

int rg_text_append(rg_text_buf *b, const char *s);
void rg_text_free(rg_text_buf *b);
/* Appends out_dir/metrics.jsonl when it exists (a resumed run keeps its history). */
int rg_text_append_metrics_of(rg_text_buf *b, const char *out_dir);

/* Set by SIGINT / SIGTERM between rg_stop_signals_install and _restore. */
extern volatile sig_atomic_t rg_stop_requested;
typedef struct {
    struct sigaction old_int, old_term;
} rg_stop_signals;
void rg_stop_signals_install(rg_stop_signals *saved);
void rg_stop_signals_restore(const rg_stop_signals *saved);

#endif
