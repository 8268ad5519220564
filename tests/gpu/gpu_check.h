/* gpu_check.h — host-side helpers of the GPU tests (tests/gpu/test_gpu.c):
 * the random draws and the comparison that decides pass or fail. Plain C
 * with no CUDA, so tests/unit/test_cuda_plan.c checks the checker on CPU
 * (NaN never passes, a wrong value fails, the tolerance is what it says). */
#ifndef RG_GPU_CHECK_H
#define RG_GPU_CHECK_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nn/nn.h"

/* splitmix64: the test's draws, from a seed printed at start (RGSD_TEST_SEED replays). */
static inline uint64_t gc_next(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
/* uniform in [-scale, scale) */
static inline float gc_uniform(uint64_t *s, float scale) {
    return scale * (2.0f * (float)((gc_next(s) >> 40) * (1.0 / 16777216.0)) - 1.0f);
}
static inline void gc_fill(uint64_t *s, float *x, size_t n, float scale) {
    for (size_t i = 0; i < n; i++) x[i] = gc_uniform(s, scale);
}
/* x rounded to bf16 in place: the bf16 path's inputs, so the CPU reference
 * sees exactly the numbers the GPU does. */
static inline void gc_round_bf16(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = nn_bf16_to_f32(nn_f32_to_bf16(x[i]));
}

/* Elements of got[n] outside atol * max|want| + rtol * |want| of want[n];
 * a NaN or infinity in got (or want) always counts. Prints the first few
 * misses under `name`. */
static inline size_t gc_mismatches(const char *name, const float *got, const float *want, size_t n, double atol,
                                   double rtol) {
    double scale = 0.0;
    for (size_t i = 0; i < n; i++)
        if (fabs((double)want[i]) > scale) scale = fabs((double)want[i]);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)want[i]);
        int ok = isfinite(got[i]) && isfinite(want[i]) && d <= atol * scale + rtol * fabs((double)want[i]);
        if (!ok && bad++ < 5)
            fprintf(stderr, "  %s[%zu]: got %.9g, want %.9g (|diff| %.3g, max|want| %.3g)\n", name, i, (double)got[i],
                    (double)want[i], d, scale);
    }
    if (bad) fprintf(stderr, "  %s: %zu of %zu outside atol %.1e x max + rtol %.1e\n", name, bad, n, atol, rtol);
    return bad;
}

/* One number against its reference: |got - want| <= tol * (1 + |want|), NaN fails. */
static inline int gc_close(const char *name, double got, double want, double tol) {
    int ok = isfinite(got) && isfinite(want) && fabs(got - want) <= tol * (1.0 + fabs(want));
    if (!ok) fprintf(stderr, "  %s: got %.12g, want %.12g (tol %.1e)\n", name, got, want, tol);
    return ok;
}

#endif
