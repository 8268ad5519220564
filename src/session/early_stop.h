/* early_stop.h — judge-free early stopping for a training session (`rgsd
 * train --gap-data FILE --gap-every N --early-stop PATIENCE`): every N steps
 * and after the last, a held-out signal is measured (the method's callback:
 * for RGSD the self-internalisation gap, rgsd/gap_measure.h; higher is
 * better), logged as one metrics line
 *
 *     {"step", "gap_eval": true, "heldout_gap", <the callback's fields>, "best_step", "best_gap",
 *      "since_best", "gap_s"}
 *
 * and, when it beats every earlier value (strictly, on the value as logged,
 * 6 decimals), the checkpoint is also written to best_dir (a whole checkpoint
 * folder, atomic like the others, metrics.jsonl included). After PATIENCE
 * measurements in a row without a new best the loop stops (exit 0, the last
 * step saved as usual). --resume rebuilds the best value, its step and the
 * count since it from the gap lines of the checkpoint's metrics.jsonl, so a
 * resumed run decides exactly as an uninterrupted one. */
#ifndef RG_SESSION_EARLY_STOP_H
#define RG_SESSION_EARLY_STOP_H

#include <stddef.h>

#include "io/dtype.h"
#include "session/loop.h"
#include "train/trainer.h"

/* Measures the signal of the current policy: *value (higher is better) and `fields`, more JSON members
 * for the metrics line ("\"heldout_gap_se\": 0.01, ..."; may be empty). */
typedef int (*rg_early_stop_measure_fn)(void *ctx, double *value, char *fields, size_t fields_size);

typedef struct {
    long every;                       /* 0: off */
    long patience;                    /* 0: measure and keep the best, never stop */
    char *best_dir;                   /* where the best checkpoint goes (malloc'd) */
    rg_early_stop_measure_fn measure;
    void *ctx;
    /* state: rebuilt from metrics.jsonl on --resume */
    int have_best;
    double best;
    long best_step, since_best;
    int stop;                         /* patience ran out: the loop ends */
    double seconds;
} rg_early_stop;

/* best_dir = out_dir without trailing slashes + "-best" (beside the checkpoint, not in it: every save
 * replaces the whole out_dir). */
int rg_early_stop_init(rg_early_stop *e, const char *out_dir, long every, long patience,
                       rg_early_stop_measure_fn measure, void *ctx);
void rg_early_stop_free(rg_early_stop *e);

/* The state from the "gap_eval" lines of a resumed run's metrics text; logs it. */
int rg_early_stop_restore(rg_early_stop *e, const char *metrics_text);

/* After step `step` of total_steps: when due, measure, log the line into metrics, save the best
 * checkpoint on a new best, and set e->stop when patience ran out. */
int rg_early_stop_if_due(rg_early_stop *e, const rg_trainer *t, const char *model_dir, rg_dtype dtype,
                         long total_steps, rg_text_buf *metrics);

#endif
