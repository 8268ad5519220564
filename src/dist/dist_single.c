/* dist_single.c — dist.h for one process (the plain build, librgsd, the unit
 * tests): rank 0 of 1, every collective the identity. */
#include "dist/dist.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"

int rg_dist_init(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    return RG_OK;
}
void rg_dist_finalize(void) {}
int rg_dist_rank(void) { return 0; }
int rg_dist_size(void) { return 1; }
const char *rg_dist_backend(void) { return "single"; }

int rg_dist_sum_f32(float *buf, size_t n) {
    (void)buf;
    (void)n;
    return RG_OK;
}
int rg_dist_sum_f64(double *buf, size_t n) {
    (void)buf;
    (void)n;
    return RG_OK;
}
int rg_dist_max_int(int v) { return v; }
int rg_dist_reduce_scatter_f32(float *buf, size_t n) {
    (void)buf;
    (void)n;
    return RG_OK;
}
int rg_dist_allgather_f32(float *buf, size_t n) {
    (void)buf;
    (void)n;
    return RG_OK;
}
int rg_dist_gather_f32(float *full, const float *shard, size_t n) {
    if (full != shard) memmove(full, shard, sizeof(float) * n);
    return RG_OK;
}
int rg_dist_scatter_f32(const float *full, float *shard, size_t n) {
    if (full != shard) memmove(shard, full, sizeof(float) * n);
    return RG_OK;
}
int rg_dist_bcast(void *buf, size_t bytes) {
    (void)buf;
    (void)bytes;
    return RG_OK;
}
void rg_dist_barrier(void) {}
_Noreturn void rg_dist_abort(int code) { exit(code); }
rg_dist_stats rg_dist_get_stats(void) { return (rg_dist_stats){0}; }
