/* data_parallel.h — what a training session does differently on several
 * ranks (mpirun; dist/dist.h, docs/distributed.md). Each call is the
 * single-process behaviour when the job has one rank, so session.c calls them
 * unconditionally.
 *
 *   start   every rank the same trainer state: rank 0's (its --resume
 *           checkpoint, read by rank 0 alone, so other machines need no copy
 *           of the output folder) broadcast to all; the global batch must
 *           divide into equal shares; stops wait for step boundaries.
 *   stop    a stop request on any rank (SIGINT / SIGTERM to that process) is
 *           agreed at the step boundary: every rank stops after the same step.
 *   fail    a rank whose step fails ends the job (MPI_Abort) with a line
 *           naming the rank; the last checkpoint rank 0 wrote is intact.
 *   metrics each step's line gains the seconds and bytes of its collectives.
 *   judge   GRPO's --judge concurrency is shared out over the ranks. */
#ifndef RG_SESSION_DATA_PARALLEL_H
#define RG_SESSION_DATA_PARALLEL_H

#include <stddef.h>

#include "dist/dist.h"

struct rg_session;

/* After rg_trainer_init: the shares checked, then --resume (rank 0) and the state broadcast. */
int rg_dp_start(struct rg_session *s);
/* --save-every's checkpoint when due (final: the one after the loop): rank 0 writes it; under ZeRO-1
 * every rank first sends its range of the moments to rank 0. */
int rg_dp_save(struct rg_session *s, int final);
/* The stop signal all ranks agree on at this step boundary (0: go on); sets rg_stop_requested to it. */
int rg_dp_stop_agreed(void);
/* One rank failed (the error is set): print it with the rank and end the job. Returns only in one process. */
void rg_dp_fail_if_several(const struct rg_session *s);
/* Appends "comm_s" and "comm_bytes" (since `before`) to a metrics line ending in "}\n" (several ranks only). */
void rg_dp_metrics_fields(char *line, size_t size, const rg_dist_stats *before);
/* A judge's request concurrency is the job's (an endpoint's rate limit does not grow with the ranks):
 * each rank's share, concurrency / ranks, at least 1. */
int rg_dp_judge_concurrency(int concurrency);
/* Marks the start of the loop (what the closing line counts). */
void rg_dp_loop_begin(void);
/* The closing line of a run on several ranks: ranks, communication seconds and share, bytes per step. */
void rg_dp_closing_line(double loop_s, long steps);

#endif
