/* progress.h — a one-line progress bar on stderr for long work.
 *
 * Redrawn at most ~10 times a second; when stderr is not a terminal it prints
 * a plain line every 10% instead, so logs stay readable. `extra` is free text
 * (loss, tokens/s) shown after the bar. */
#ifndef RG_PROGRESS_H
#define RG_PROGRESS_H

#include <stdint.h>

typedef struct {
    const char *label;
    int64_t total;
    int64_t done;
    double start_time;
    double last_draw;
    int last_decile;
    int is_tty;
    int enabled;
} rg_progress;

void rg_progress_start(rg_progress *p, const char *label, int64_t total);
void rg_progress_update(rg_progress *p, int64_t done, const char *extra);
void rg_progress_finish(rg_progress *p, const char *extra);

#endif
