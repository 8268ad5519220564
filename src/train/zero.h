/* zero.h — ZeRO stage 1 (--zero 1, docs/distributed.md): the AdamW moments
 * sharded over the ranks, so each rank holds 1/N of the optimizer state. The
 * trainable buffer is cut into one contiguous range per rank (rg_dist_range);
 * a step reduce-scatters the gradients (each rank gets the sum of its range),
 * takes the global norm from the ranges' squared sums, clips and updates its
 * range with its moments, and all-gathers the weights, so every rank again
 * holds all of them. Checkpoints stay whole: the moments are gathered to rank
 * 0 for a save and scattered from it on --resume, so a run resumes on any
 * rank count, with or without --zero. In one process the range is everything
 * and the step is rg_trainer_apply's. */
#ifndef RG_TRAIN_ZERO_H
#define RG_TRAIN_ZERO_H

#include "train/trainer.h"

/* rg_trainer_apply under cfg.zero. */
int rg_zero_apply(rg_trainer *t, int n, rg_step_stats *stats);
/* Collective: rank 0's full[n_trainable] moments (full allocated there, left empty elsewhere) from every
 * rank's range; free with rg_adamw_free. */
int rg_zero_gather_moments(const rg_trainer *t, rg_adamw *full);
/* Collective: every rank's range of its moments from rank 0's full ones (full read on rank 0 only). */
int rg_zero_scatter_moments(rg_trainer *t, const rg_adamw *full);

#endif
