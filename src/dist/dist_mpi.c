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
