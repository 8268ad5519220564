/* blas.c — makes OpenBLAS use the kernels this CPU can run.
 *
 * Debian 12's OpenBLAS 0.3.21 (DYNAMIC_ARCH) picks its kernels from a table
 * of known CPU models; a newer Xeon (e.g. family 6, model 207) is not in it,
 * and it falls back to the SSE3 "Prescott" kernels: measured here, sgemm at
 * 26 instead of 130 GFLOP/s per core. OpenBLAS reads OPENBLAS_CORETYPE only
 * when it loads, so this sets it and re-runs OpenBLAS's own kernel selection
 * (gotoblas_dynamic_init, exported by DYNAMIC_ARCH builds; weak, so other
 * builds simply skip this). */
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "nn/isa.h"
#include "base/log.h"
#include "nn/nn.h"

#if RG_HAVE_X86_SIMD
void gotoblas_dynamic_init(void) __attribute__((weak));
void gotoblas_dynamic_quit(void) __attribute__((weak));

/* OpenBLAS kernel sets older than what a current x86-64 CPU runs. */
static int is_legacy_kernel_set(const char *name) {
    static const char *const legacy[] = {"Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Sandybridge"};
    for (size_t i = 0; i < sizeof legacy / sizeof legacy[0]; i++)
        if (strcmp(name, legacy[i]) == 0) return 1;
    return 0;
}

const char *nn_blas_init(void) {
    const char *name = openblas_get_corename();
    if (getenv("OPENBLAS_CORETYPE") || !gotoblas_dynamic_init || !gotoblas_dynamic_quit || !is_legacy_kernel_set(name))
        return name;
    const char *better = NULL;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        better = "SkylakeX";
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        better = "Haswell";
    if (!better) return name;
    rg_debug("OpenBLAS chose its %s kernels on a CPU that runs %s ones; switching", name, better);
    setenv("OPENBLAS_CORETYPE", better, 1); /* child processes get it at load time */
    gotoblas_dynamic_quit();
    gotoblas_dynamic_init();
    return openblas_get_corename();
}
#else
/* Elsewhere (arm64) OpenBLAS's own choice stands: the fallback above is a
 * table of x86 kernel sets. */
const char *nn_blas_init(void) { return openblas_get_corename(); }
#endif
