/* data_parallel.c — see data_parallel.h. */
#include "session/data_parallel.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "base/stop.h"
#include "session/session.h"
#include "train/zero.h"

/* Everything rg_trainer_resume restores, as one broadcastable block. */
typedef struct {
    long step, opt_step;
    uint64_t cursor, rng[4];
} trainer_scalars;

/* Rank 0's trainer state to every rank: scalars and weights broadcast; the Adam moments broadcast, or
 * under ZeRO-1 after --resume scattered from rank 0's full copy (`full`, rank 0 only) into each rank's
 * range (a fresh run's moments are zero everywhere). */
static int broadcast_state(rg_trainer *t, int resumed, const rg_adamw *full) {
    trainer_scalars sc = {.step = t->step, .opt_step = t->opt.step, .cursor = t->cursor};
    memcpy(sc.rng, t->rng.s, sizeof sc.rng);
    const size_t bytes = sizeof(float) * t->n_trainable;
    if (rg_dist_bcast(&sc, sizeof sc) != RG_OK || rg_dist_bcast(t->trainable, bytes) != RG_OK) return RG_ERR;
    if (t->cfg.zero ? resumed && rg_zero_scatter_moments(t, full) != RG_OK
                    : rg_dist_bcast(t->opt.m, bytes) != RG_OK || rg_dist_bcast(t->opt.v, bytes) != RG_OK)
        return RG_ERR;
    t->step = sc.step, t->opt.step = sc.opt_step, t->cursor = sc.cursor;
    memcpy(t->rng.s, sc.rng, sizeof sc.rng);
    return RG_OK;
}

/* --resume on rank 0; under ZeRO-1 into full-size moments (held in `full`, the trainer's range restored). */
static int resume_on_rank0(rg_session *s, rg_adamw *full) {
    rg_trainer *t = &s->trainer;
    rg_adamw range = t->opt;
    if (t->cfg.zero) {
        if (rg_adamw_init(full, t->n_trainable) != RG_OK) return RG_ERR;
        t->opt = *full;
    }
    int rc = rg_trainer_resume(t, s->opt.out_dir);
    if (t->cfg.zero) {
        *full = t->opt;
        t->opt = range;
        t->opt.step = full->step;
    }
    if (rc == RG_OK) rc = rg_text_append_metrics_of(&s->metrics, s->opt.out_dir);
    return rc;
}

int rg_dp_start(rg_session *s) {
    const int size = rg_dist_size(), rank = rg_dist_rank();
    if (size > 1) {
        if (rg_dist_check_divides(s->cfg.batch_size * s->cfg.grad_accum, "the global batch (--batch x --grad-accum)"))
            return RG_ERR;
        rg_stop_at_step_boundaries = 1;
    }
    rg_adamw full = {0};
    int ok = !(s->opt.resume && rank == 0) || resume_on_rank0(s, &full) == RG_OK;
    if (size == 1 || !ok) { /* one process under ZeRO: its range is everything */
        if (ok && full.m) ok = rg_zero_scatter_moments(&s->trainer, &full) == RG_OK;
        rg_adamw_free(&full);
        if (size == 1) return ok ? RG_OK : RG_ERR;
    }
    int rc = rg_dist_bcast(&ok, sizeof ok);
    if (rc == RG_OK && !ok)
        rc = rank == 0 ? RG_ERR : rg_error("rank 0 could not resume from %s (its message says why)", s->opt.out_dir);
    if (rc == RG_OK) rc = broadcast_state(&s->trainer, s->opt.resume, &full);
    rg_adamw_free(&full);
    return rc;
}

int rg_dp_stop_agreed(void) {
    if (rg_dist_size() == 1) return rg_stop_requested;
    int sig = rg_dist_max_int((int)rg_stop_requested);
    if (sig && !rg_stop_requested) rg_stop_requested = sig; /* another rank's: this one closes the same way */
    return sig;
}

void rg_dp_fail_if_several(const rg_session *s) {
    if (rg_dist_size() == 1) return;
    fprintf(stderr, "rgsd: rank %d of %d: %s; ending the job (the last checkpoint in %s is intact: --resume)\n",
            rg_dist_rank(), rg_dist_size(), rg_errmsg(), s->opt.out_dir);
    fflush(stderr);
    rg_dist_abort(1);
}

void rg_dp_metrics_fields(char *line, size_t size, const rg_dist_stats *before) {
    if (rg_dist_size() == 1) return;
    size_t len = strlen(line);
    if (len < 2 || strcmp(line + len - 2, "}\n") != 0) return;
    rg_dist_stats now = rg_dist_get_stats();
    snprintf(line + len - 2, size - (len - 2), ", \"ranks\": %d, \"comm_s\": %.4f, \"comm_bytes\": %" PRIu64 "}\n",
             rg_dist_size(), now.seconds - before->seconds, now.bytes - before->bytes);
}

int rg_dp_judge_concurrency(int concurrency) {
    int share = concurrency / rg_dist_size();
    if (share < 1) {
        if (rg_dist_rank() == 0)
            rg_warn("judge concurrency %d is below the %d ranks: each rank keeps 1 request in flight", concurrency,
                    rg_dist_size());
        share = 1;
    }
    return share;
}

static rg_dist_stats at_loop_start;

void rg_dp_loop_begin(void) { at_loop_start = rg_dist_get_stats(); }

void rg_dp_closing_line(double loop_s, long steps) {
    if (rg_dist_size() == 1 || steps <= 0) return;
    rg_dist_stats st = rg_dist_get_stats();
    st.seconds -= at_loop_start.seconds, st.bytes -= at_loop_start.bytes, st.calls -= at_loop_start.calls;
    rg_info("data parallel: %d ranks (%s), %ld steps in %.1f s; communication %.2f s (%.1f%% of the loop on rank 0), "
            "%.2f MB per step per rank in %.0f collectives",
            rg_dist_size(), rg_dist_backend(), steps, loop_s, st.seconds, 100.0 * st.seconds / (loop_s > 0 ? loop_s : 1),
            (double)st.bytes / 1e6 / (double)steps, (double)st.calls / (double)steps);
}

int rg_dp_save(rg_session *s, int final) {
    rg_trainer *t = &s->trainer;
    if (!final && (s->opt.save_every <= 0 || t->step % s->opt.save_every != 0 || t->step >= s->total_steps))
        return RG_OK; /* rg_train_save_every's rule, decided alike on every rank */
    const int writer = rg_dist_rank() == 0;
    rg_adamw range = t->opt, full = {0};
    if (t->cfg.zero) { /* checkpoints hold the whole state: the moments gathered to rank 0 for the save */
        if (rg_zero_gather_moments(t, &full) != RG_OK) return RG_ERR;
        if (writer) t->opt = full;
    }
    int rc = RG_OK;
    if (writer)
        rc = final ? rg_train_save_final(t, s->opt.model_dir, s->opt.out_dir, s->opt.save_dtype, &s->metrics)
                   : rg_train_save_every(t, s->opt.model_dir, s->opt.out_dir, s->opt.save_dtype, s->opt.save_every,
                                         s->total_steps, &s->metrics);
    t->opt = range;
    rg_adamw_free(&full);
    return rc;
}
