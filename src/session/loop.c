/* loop.c — see loop.h. */
#include "session/loop.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/log.h"
#include "base/timer.h"
#include "io/file.h"

/* After a stop request the handlers stay until rg_train_closing, so that a
 * second signal during the final save still exits at once: restoring them
 * would give a background job (started with SIGINT ignored) no way out. */
static rg_stop_signals deferred_signals;
static int signals_deferred;

/* Async-signal-safe: write(2) and _exit only. */
static void say(const char *text) {
    size_t n = strlen(text);
    ssize_t w = write(STDERR_FILENO, text, n);
    (void)w;
}

static void on_stop_signal(int sig) {
    if (rg_stop_requested) { /* the second one: the user (or a scheduler) means now */
        say("\nrgsd: second signal: exiting now; --resume continues from the last checkpoint\n");
        _exit(128 + sig);
    }
    rg_stop_requested = sig;
    say("\nrgsd: stopping at the next safe point; the last complete step will be saved (signal again to exit now)\n");
}

void rg_stop_signals_install(rg_stop_signals *saved) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    rg_stop_requested = 0;
    sigaction(SIGINT, &sa, &saved->old_int);
    sigaction(SIGTERM, &sa, &saved->old_term);
}

void rg_stop_signals_restore(const rg_stop_signals *saved) {
    sigaction(SIGINT, &saved->old_int, NULL);
    sigaction(SIGTERM, &saved->old_term, NULL);
}

int rg_text_append(rg_text_buf *b, const char *s) {
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + n + 1) cap *= 2;
        char *grown = rg_realloc(b->text, cap);
        if (!grown) return RG_ERR;
        b->text = grown;
        b->cap = cap;
    }
    memcpy(b->text + b->len, s, n + 1);
    b->len += n;
    return RG_OK;
}

void rg_text_free(rg_text_buf *b) {
    free(b->text);
    memset(b, 0, sizeof *b);
}

int rg_text_append_metrics_of(rg_text_buf *b, const char *out_dir) {
    char *path = rg_path_join(out_dir, "metrics.jsonl");
    if (!path) return RG_ERR;
    int rc = RG_OK;
    if (rg_file_exists(path)) {
        char *old = NULL;
        size_t old_len = 0;
        rc = rg_read_file(path, &old, &old_len);
        if (rc == RG_OK) rc = rg_text_append(b, old);
        free(old);
    }
    free(path);
    return rc;
}

int rg_train_save_every(const rg_trainer *trainer, const char *model_dir, const char *out_dir, rg_dtype dtype,
                        long save_every, long total_steps, const rg_text_buf *metrics) {
    if (save_every <= 0 || trainer->step % save_every != 0 || trainer->step >= total_steps) return RG_OK;
    return rg_trainer_save(trainer, model_dir, out_dir, dtype, "metrics.jsonl", metrics->text);
}

int rg_train_save_final(const rg_trainer *trainer, const char *model_dir, const char *out_dir, rg_dtype dtype,
                        const rg_text_buf *metrics) {
    return rg_trainer_save(trainer, model_dir, out_dir, dtype, "metrics.jsonl", metrics->text ? metrics->text : "");
}

int rg_train_abandoned(void) {
    if (!rg_stop_requested) return 0;
    rg_error_clear();
    return 1;
}

int rg_train_closing(const rg_trainer *trainer, const char *out_dir, long lora_rank, long total_steps) {
    if (signals_deferred) {
        rg_stop_signals_restore(&deferred_signals);
        signals_deferred = 0;
    }
    if (rg_stop_requested) {
        rg_info("interrupted: step %ld saved to %s; continue with --resume", trainer->step, out_dir);
        return 128 + rg_stop_requested;
    }
    rg_info("saved %s (%s) after %ld of %ld steps", out_dir, lora_rank > 0 ? "PEFT adapter" : "model", trainer->step,
            total_steps);
    return 0;
}

void rg_train_loop_begin(rg_train_loop *loop, const char *name, long step, long stop_after, long total_steps,
                         int quiet) {
    rg_stop_signals_install(&loop->saved_signals);
    rg_progress_start(&loop->progress, name, total_steps);
    loop->progress.enabled = !quiet;
    loop->start = rg_now();
    loop->first_step = step;
    long stop_at = stop_after > 0 ? step + stop_after : total_steps;
    loop->stop_at = stop_at > total_steps ? total_steps : stop_at;
}

double rg_train_loop_eta(const rg_train_loop *loop, long step, double elapsed) {
    return elapsed / (double)(step - loop->first_step) * (double)(loop->stop_at - step);
}

void rg_train_loop_end(rg_train_loop *loop) {
    rg_progress_finish(&loop->progress, NULL);
    if (rg_stop_requested) {
        deferred_signals = loop->saved_signals;
        signals_deferred = 1;
    } else {
        rg_stop_signals_restore(&loop->saved_signals);
    }
}
