/* dist.h — data-parallel training across processes: the one seam between a
 * training step and the engine that joins the processes (docs/distributed.md).
 *
 * Two implementations with the same symbols: dist_single.c (one process;
 * always in librgsd, so the library and the unit tests need no MPI) and
 * dist_mpi.c (Open MPI; linked into build/rgsd instead when the build has
 * MPI). A CUDA back end would add NCCL behind the same calls.
 *
 * Every rank runs the same program on the same data; a step's global batch
 * is split into equal contiguous shares by rank (rg_dist_shard). The
 * collectives are blocking and must be reached by every rank in the same
 * order; a rank that fails in between ends the whole job (rg_dist_abort), so
 * no rank ever waits for one that is gone. */
#ifndef RG_DIST_H
#define RG_DIST_H

#include <stddef.h>
#include <stdint.h>

/* Joins the job when this process was started by mpirun (its environment
 * says so); otherwise, or in the single build, one process of one. */
int rg_dist_init(int *argc, char ***argv);
/* Leaves the job (after the last collective). */
void rg_dist_finalize(void);
int rg_dist_rank(void);
int rg_dist_size(void);
/* "single" or "mpi": what this binary was built with. */
const char *rg_dist_backend(void);

/* In place, the element-wise sum over ranks, the same result on every rank. */
int rg_dist_sum_f32(float *buf, size_t n);
int rg_dist_sum_f64(double *buf, size_t n);
/* The largest v over ranks (an agreed flag: any rank's 1 is everyone's). */
int rg_dist_max_int(int v);
/* bytes from rank 0 to every rank. */
int rg_dist_bcast(void *buf, size_t bytes);
void rg_dist_barrier(void);
/* ZeRO-1 (train/zero.h): a buffer of n floats is cut into one contiguous range per rank,
 * rg_dist_range; these four move whole buffers by those ranges. */
/* In place: this rank's range of buf becomes the sum over ranks of that range (the rest is left as
 * scratch). */
int rg_dist_reduce_scatter_f32(float *buf, size_t n);
/* In place: every rank's range of buf, from that rank, to every rank. */
int rg_dist_allgather_f32(float *buf, size_t n);
/* Rank 0's full[n] gets every rank's range (shard: this rank's range, its length); full is used on rank 0 only. */
int rg_dist_gather_f32(float *full, const float *shard, size_t n);
/* The inverse: each rank's shard gets its range of rank 0's full[n]. */
int rg_dist_scatter_f32(const float *full, float *shard, size_t n);

/* Ends every process of the job with exit status code (mpirun names the rank). Never returns. */
_Noreturn void rg_dist_abort(int code);

/* Seconds inside collectives and their payload bytes (each rank's buffer size,
 * summed), since the start: a step's share is the difference. */
typedef struct {
    double seconds;
    uint64_t bytes;
    long calls;
} rg_dist_stats;
rg_dist_stats rg_dist_get_stats(void);

/* This rank's share of n global positions: [*first, *first + *count). n must
 * be a multiple of the size (rg_dist_check_divides), so every share is n / size. */
void rg_dist_shard(int n, int *first, int *count);
/* Rank r's range [*lo, *hi) of n elements: n / size each, the first n % size ranks one more. */
void rg_dist_range(size_t n, size_t *lo, size_t *hi);
void rg_dist_range_of(int r, size_t n, size_t *lo, size_t *hi);
/* RG_OK, or the error "what (n) is not divisible by the N ranks". */
int rg_dist_check_divides(int n, const char *what);

#endif
