/* dist_mpi.c — dist.h on MPI (Open MPI from Debian; any MPI-3 library). Linked
 * into build/rgsd instead of dist_single.c when the build has MPI (Makefile,
 * MPI=1). MPI is initialised only when mpirun started this process (its
 * environment variables), so the same binary run plainly is one process and
 * never pays for MPI_Init. The default error handler (MPI_ERRORS_ARE_FATAL)
 * stays: a failed collective ends the job rather than returning. */
#include "dist/dist.h"

#include <limits.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/timer.h"

static int active, rank, size = 1;
static rg_dist_stats stats;

/* Open MPI's mpirun sets OMPI_COMM_WORLD_SIZE; PMIx / PMI launchers (srun, hydra) theirs. */
static int launched_by_mpirun(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
}

int rg_dist_init(int *argc, char ***argv) {
    if (!launched_by_mpirun()) return RG_OK;
    int provided;
    /* FUNNELED: OpenMP threads compute, only the main thread talks to MPI. */
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return rg_error("MPI_Init_thread failed");
    active = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    return RG_OK;
}

void rg_dist_finalize(void) {
    if (active) MPI_Finalize();
    active = 0;
}

int rg_dist_rank(void) { return rank; }
int rg_dist_size(void) { return size; }
const char *rg_dist_backend(void) { return "mpi"; }

static void account(double start, size_t bytes) {
    stats.seconds += rg_now() - start;
    stats.bytes += bytes;
    stats.calls++;
}

/* MPI counts are ints: large buffers go in chunks of at most 2^30 elements. */
static int sum_in_place(void *buf, size_t n, MPI_Datatype type, size_t elem) {
    if (size == 1) return RG_OK;
    double start = rg_now();
    for (size_t off = 0; off < n;) {
        size_t chunk = n - off < (1u << 30) ? n - off : (1u << 30);
        MPI_Allreduce(MPI_IN_PLACE, (char *)buf + off * elem, (int)chunk, type, MPI_SUM, MPI_COMM_WORLD);
        off += chunk;
    }
    account(start, n * elem);
    return RG_OK;
}

int rg_dist_sum_f32(float *buf, size_t n) { return sum_in_place(buf, n, MPI_FLOAT, sizeof(float)); }
int rg_dist_sum_f64(double *buf, size_t n) { return sum_in_place(buf, n, MPI_DOUBLE, sizeof(double)); }

int rg_dist_max_int(int v) {
    if (size == 1) return v;
    double start = rg_now();
    int out;
    MPI_Allreduce(&v, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    account(start, sizeof(int));
    return out;
}

#define CHUNK ((size_t)1 << 30) /* elements per call: MPI counts are ints */

/* The ZeRO movements as one rooted collective (or send/receive) per rank's range, in chunks: simple and
 * safe for any buffer size (MPI_Reduce_scatter and MPI_Allgatherv take int displacements); a ring
 * reduce-scatter would move the same bytes in fewer steps. */
int rg_dist_reduce_scatter_f32(float *buf, size_t n) {
    if (size == 1) return RG_OK;
    double start = rg_now();
    for (int r = 0; r < size; r++) {
        size_t lo, hi;
        rg_dist_range_of(r, n, &lo, &hi);
        for (size_t off = lo; off < hi; off += CHUNK) {
            int count = (int)(hi - off < CHUNK ? hi - off : CHUNK);
            MPI_Reduce(r == rank ? MPI_IN_PLACE : buf + off, buf + off, count, MPI_FLOAT, MPI_SUM, r, MPI_COMM_WORLD);
        }
    }
    account(start, n * sizeof(float));
    return RG_OK;
}

int rg_dist_allgather_f32(float *buf, size_t n) {
    if (size == 1) return RG_OK;
    double start = rg_now();
    for (int r = 0; r < size; r++) {
        size_t lo, hi;
        rg_dist_range_of(r, n, &lo, &hi);
        for (size_t off = lo; off < hi; off += CHUNK)
            MPI_Bcast(buf + off, (int)(hi - off < CHUNK ? hi - off : CHUNK), MPI_FLOAT, r, MPI_COMM_WORLD);
    }
    account(start, n * sizeof(float));
    return RG_OK;
}

/* Rank 0 <-> rank r, range by range (to_root: shards to rank 0's full buffer, else the reverse). */
static void move_ranges(float *full, float *shard, size_t n, int to_root) {
    for (int r = 0; r < size; r++) {
        size_t lo, hi;
        rg_dist_range_of(r, n, &lo, &hi);
        for (size_t off = lo; off < hi; off += CHUNK) {
            int count = (int)(hi - off < CHUNK ? hi - off : CHUNK);
            float *mine = shard + (off - lo), *whole = full + off;
            if (r == 0 && rank == 0) {
                if (to_root) memmove(whole, mine, sizeof(float) * (size_t)count);
                else memmove(mine, whole, sizeof(float) * (size_t)count);
            } else if (rank == 0) {
                if (to_root) MPI_Recv(whole, count, MPI_FLOAT, r, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                else MPI_Send(whole, count, MPI_FLOAT, r, 7, MPI_COMM_WORLD);
            } else if (rank == r) {
                if (to_root) MPI_Send(mine, count, MPI_FLOAT, 0, 7, MPI_COMM_WORLD);
                else MPI_Recv(mine, count, MPI_FLOAT, 0, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            }
        }
    }
}

int rg_dist_gather_f32(float *full, const float *shard, size_t n) {
    double start = rg_now();
    move_ranges(full, (float *)shard, n, 1); /* shard is only read when to_root */
    account(start, n * sizeof(float));
    return RG_OK;
}

int rg_dist_scatter_f32(const float *full, float *shard, size_t n) {
    double start = rg_now();
    move_ranges((float *)full, shard, n, 0); /* full is only read when not to_root */
    account(start, n * sizeof(float));
    return RG_OK;
}

int rg_dist_bcast(void *buf, size_t bytes) {
    if (size == 1) return RG_OK;
    double start = rg_now();
    for (size_t off = 0; off < bytes;) {
        size_t chunk = bytes - off < (1u << 30) ? bytes - off : (1u << 30);
        MPI_Bcast((char *)buf + off, (int)chunk, MPI_BYTE, 0, MPI_COMM_WORLD);
        off += chunk;
    }
    account(start, bytes);
    return RG_OK;
}

void rg_dist_barrier(void) {
    if (size > 1) MPI_Barrier(MPI_COMM_WORLD);
}

_Noreturn void rg_dist_abort(int code) {
    if (active) MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}

rg_dist_stats rg_dist_get_stats(void) { return stats; }
