/* cpu.c — the RGSD_KERNELS switch: which of rgsd's own kernel sets (plain-C
 * reference, AVX2 or AVX-512) every dispatch uses.
 *
 * Why a switch at all: float sums in a different order round differently,
 * so a CPU with AVX-512 and one without train to (slightly) different
 * models. Forcing each path on one machine lets the test suite measure that
 * spread and set its learning thresholds above it (tools/kernel_paths.sh).
 * OpenBLAS has its own switch, OPENBLAS_CORETYPE; the two are independent. */
#include "nn/cpu.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "nn/isa.h"
#include "base/log.h"
#include "nn/nn.h"

#if RG_HAVE_X86_SIMD
#include <cpuid.h>
#endif
#include <cblas.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* RGSD_KERNELS=avx512-nobf16: the AVX-512 kernels, but bf16 prefill on f32
 * sgemm, to measure the bf16 dot products against it or to get f32
 * activations (the numbers of a CPU without AVX-512 BF16). */
#define NOBF16 "avx512-nobf16"

#if RG_HAVE_X86_SIMD
/* __builtin_cpu_supports reads CPUID and, for AVX/AVX-512, the OS's XCR0
 * (libgcc checks that the OS saves the wide registers). */
int nn_cpu_has_avx512(void) { return __builtin_cpu_supports("avx512f"); }
int nn_cpu_has_avx512bf16(void) { return nn_cpu_has_avx512() && __builtin_cpu_supports("avx512bf16"); }

int nn_cpu_has_f16c(void) {
    /* AVX2 from the compiler runtime's flags (OS support for the YMM state
     * included); F16C straight from CPUID leaf 1, because clang 14's
     * __builtin_cpu_supports does not know "f16c". CPUID is slow under a
     * hypervisor, so the answer is kept: every thread computes the same
     * value, and the store is atomic, so the race is benign. */
    static _Atomic int known = -1;
    int have = atomic_load_explicit(&known, memory_order_relaxed);
    if (have < 0) {
        unsigned eax, ebx, ecx, edx;
        have = __builtin_cpu_supports("avx2") && __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C);
        atomic_store_explicit(&known, have, memory_order_relaxed);
    }
    return have;
}

nn_kernel_path nn_cpu_best(void) {
    if (nn_cpu_has_avx512()) return NN_KERNELS_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return NN_KERNELS_AVX2;
    return NN_KERNELS_REF;
}
#else
/* Other CPUs (arm64): only the plain-C kernels are built (nn/isa.h). */
int nn_cpu_has_avx512(void) { return 0; }
int nn_cpu_has_f16c(void) { return 0; }
int nn_cpu_has_avx512bf16(void) { return 0; }
nn_kernel_path nn_cpu_best(void) { return NN_KERNELS_REF; }
#endif

const char *nn_cpu_path_name(nn_kernel_path path) {
    switch (path) {
    case NN_KERNELS_REF: return "ref";
    case NN_KERNELS_AVX512: return "avx512";
    case NN_KERNELS_AVX2: break;
    }
    return "avx2";
}

int nn_cpu_parse_kernels(const char *value, nn_kernel_path best, nn_kernel_path *path) {
    if (!value || !*value || strcmp(value, "auto") == 0) {
        *path = best;
        return RG_OK;
    }
    const char *name = strcmp(value, NOBF16) == 0 ? "avx512" : value; /* the avx512 path */
    static const nn_kernel_path all[] = {NN_KERNELS_REF, NN_KERNELS_AVX2, NN_KERNELS_AVX512};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        if (strcmp(name, nn_cpu_path_name(all[i])) != 0) continue;
        if (all[i] > best && best == NN_KERNELS_REF && !RG_HAVE_X86_SIMD)
            return rg_error("RGSD_KERNELS=%s: x86-64 SIMD kernels, not in this build for another CPU; use auto or ref",
                            value);
        if (all[i] > best)
            return rg_error("RGSD_KERNELS=%s, but this CPU (or OS) runs at most %s", value, nn_cpu_path_name(best));
        *path = all[i];
        return RG_OK;
    }
    return rg_error("RGSD_KERNELS='%s' is not one of auto, ref, avx2, avx512, " NOBF16, value);
}

static pthread_once_t resolve_once = PTHREAD_ONCE_INIT;
static nn_kernel_path chosen;
static int chosen_ok, bf16dot_on;

static void resolve(void) {
    const char *env = getenv("RGSD_KERNELS");
    chosen_ok = nn_cpu_parse_kernels(env, nn_cpu_best(), &chosen) == RG_OK;
    bf16dot_on = !(chosen_ok && env && strcmp(env, NOBF16) == 0);
    /* A caller that skipped nn_kernels_init (a bench, a library user) still
     * gets a path it can run; the CLI refuses a bad value before this. */
    if (!chosen_ok) nn_cpu_parse_kernels(NULL, nn_cpu_best(), &chosen);
}

nn_kernel_path nn_cpu_path(void) {
    pthread_once(&resolve_once, resolve);
    return chosen;
}

void nn_cpu_set_path_for_tests(nn_kernel_path path) {
    nn_cpu_path(); /* resolve first, so the once-only resolve cannot overwrite it */
    chosen = path;
}

int nn_max_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

nn_bf16_infer nn_cpu_bf16_infer(void) {
    nn_kernel_path path = nn_cpu_path();
    if (path == NN_KERNELS_REF) return bf16dot_on ? NN_BF16_INFER_DOT_REF : NN_BF16_INFER_F32;
    if (path == NN_KERNELS_AVX512 && bf16dot_on && nn_cpu_has_avx512bf16()) return NN_BF16_INFER_DOT_AVX512;
    return NN_BF16_INFER_F32;
}

void nn_cpu_set_bf16dot(int on) {
    nn_cpu_path();
    bf16dot_on = on;
}

void nn_kernels_describe(char *buf, size_t size) {
    static const char *const infer[] = {"f32 activations", "bf16 dot products (plain C)",
                                          "bf16 dot products (AVX-512 BF16)"};
    const char *env = getenv("RGSD_KERNELS");
    /* Off x86-64 the line says why the path is ref (no SIMD kernels built). */
    snprintf(buf, size, "OpenBLAS %s, rgsd %s (%s%s), bf16 inference: %s", openblas_get_corename(),
             nn_cpu_path_name(nn_cpu_path()), env && *env && strcmp(env, "auto") != 0 ? "RGSD_KERNELS" : "auto",
             RG_HAVE_X86_SIMD ? "" : "; plain C only, no SIMD kernels for this CPU", infer[nn_cpu_bf16_infer()]);
}

int nn_kernels_init(void) {
    nn_cpu_path();
    if (!chosen_ok) {
        nn_kernel_path ignored;
        return nn_cpu_parse_kernels(getenv("RGSD_KERNELS"), nn_cpu_best(), &ignored);
    }
    char line[128];
    nn_kernels_describe(line, sizeof line);
    rg_debug("kernels: %s", line);
    return RG_OK;
}
