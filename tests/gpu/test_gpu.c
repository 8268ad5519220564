/* test_gpu.c — every kernel of the CUDA back end (src/cuda, nn_cuda.h)
 * against src/nn's CPU kernels (themselves checked against PyTorch float64
 * by the unit suite), on fresh random inputs each run (the seed is printed;
 * RGSD_TEST_SEED replays it). Outputs that are written start as NaN (0xff
 * bytes), gradients that accumulate start at random values the CPU side
 * starts from too, and NaN never passes (gpu_check.h). Each test runs on the
 * f32 path (tolerance ~1e-5 relative, 1e-4 for gradients) and the bf16 path
 * (inputs rounded to bf16 for both sides, 1e-2).
 *
 * Without a GPU (no driver, no device) it prints "skipped: no GPU (...)",
 * counts one skipped test and exits 0: `make test` runs it on CPU machines.
 * It links no libcmocka (gpu_harness.h) and OpenBLAS statically
 * (mk/cuda.mk), so a binary built on a CPU machine runs on a bare GPU one. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gpu_harness.h"

#include "base/error.h"
#include "cuda/nn_cuda.h"
#include "gpu_check.h"

static nn_cuda *ctx;
static uint64_t rng;
static const nn_cuda_dtype F32 = NN_CUDA_F32, BF16 = NN_CUDA_BF16;

#define OK(call)                                                                                              \
    do {                                                                                                      \
        if ((call) != RG_OK) fail_msg("%s: %s", #call, rg_errmsg());                                          \
    } while (0)

static nn_cuda_dtype dtype_of(void **state) { return *(const nn_cuda_dtype *)*state; }
static double tol(nn_cuda_dtype dt, double f32_tol) { return dt == NN_CUDA_BF16 ? 1e-2 : f32_tol; }

static float *host(size_t n) {
    float *p = calloc(n ? n : 1, sizeof(float));
    assert_non_null(p);
    return p;
}
/* n random floats in [-scale, scale), rounded to bf16 when dt is. */
static float *draw(nn_cuda_dtype dt, size_t n, float scale) {
    float *x = host(n);
    gc_fill(&rng, x, n, scale);
    if (dt == NN_CUDA_BF16) gc_round_bf16(x, n);
    return x;
}
static float *copy_of(const float *x, size_t n) {
    float *y = host(n);
    memcpy(y, x, n * sizeof(float));
    return y;
}
/* A device copy of x[n] in dt. */
static void *put(nn_cuda_dtype dt, const float *x, size_t n) {
    void *p = NULL;
    OK(nn_cuda_malloc(&p, n * nn_cuda_dtype_bytes(dt), "test buffer"));
    if (dt == NN_CUDA_BF16) {
        uint16_t *h = calloc(n ? n : 1, sizeof(uint16_t));
        nn_f32_to_bf16_array(h, x, n);
        OK(nn_cuda_upload(ctx, p, h, n * 2));
        free(h);
    } else {
        OK(nn_cuda_upload(ctx, p, x, n * 4));
    }
    return p;
}
static void *put_bytes(const void *x, size_t bytes) {
    void *p = NULL;
    OK(nn_cuda_malloc(&p, bytes, "test buffer"));
    OK(nn_cuda_upload(ctx, p, x, bytes));
    return p;
}
/* A device buffer of n elements, every byte 0xff (NaN in f32 and bf16). */
static void *poisoned(nn_cuda_dtype dt, size_t n) {
    void *p = NULL;
    OK(nn_cuda_malloc(&p, n * nn_cuda_dtype_bytes(dt), "test output"));
    OK(nn_cuda_memset(ctx, p, 0xff, n * nn_cuda_dtype_bytes(dt)));
    return p;
}
/* Downloads p[n] (dt) into a new f32 array. */
static float *get(nn_cuda_dtype dt, const void *p, size_t n) {
    float *x = host(n);
    OK(nn_cuda_sync(ctx));
    if (dt == NN_CUDA_BF16) {
        uint16_t *h = calloc(n ? n : 1, sizeof(uint16_t));
        OK(nn_cuda_download(ctx, h, p, n * 2));
        nn_bf16_to_f32_array(x, h, n);
        free(h);
    } else {
        OK(nn_cuda_download(ctx, x, p, n * 4));
    }
    return x;
}
/* Downloads p[n] (dt), compares with want, frees the download. */
static void expect(const char *name, nn_cuda_dtype dt, const void *p, const float *want, size_t n, double t) {
    float *got = get(dt, p, n);
    size_t bad = gc_mismatches(name, got, want, n, tol(dt, t), tol(dt, t));
    free(got);
    if (bad) fail_msg("%s (%s): %zu mismatches", name, dt == NN_CUDA_BF16 ? "bf16" : "f32", bad);
}

#include "test_gpu_kernels.h"
#include "test_gpu_heads.h"

static void no_gpu(void **state) {
    (void)state;
    skip();
}

int main(void) {
    int count = 0;
    char why[256] = "";
    OK(nn_cuda_device_count(&count, why, sizeof why));
    if (count == 0) {
        printf("skipped: no GPU (%s)\n", why);
        const struct CMUnitTest none[] = {cmocka_unit_test(no_gpu)};
        return cmocka_run_group_tests(none, NULL, NULL);
    }
    const char *env = getenv("RGSD_TEST_SEED");
    rng = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    printf("test_gpu: seed %llu (RGSD_TEST_SEED=%llu replays)\n", (unsigned long long)rng, (unsigned long long)rng);
    OK(nn_cuda_open(&ctx, 0, 32u << 20));
    printf("test_gpu: %s\n", nn_cuda_device_name(ctx));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(buffers_one_allocation_per_kind),
        cmocka_unit_test(bf16_conversion_bit_exact),
        cmocka_unit_test(adamw_matches_cpu),
#define BOTH(fn) {#fn " (f32)", fn, (void *)&F32}, {#fn " (bf16)", fn, (void *)&BF16}
        BOTH(linear_matches_cpu),
        BOTH(rmsnorm_matches_cpu),
        BOTH(rope_matches_cpu),
        BOTH(swiglu_and_add_match_cpu),
        BOTH(embedding_matches_cpu),
        cmocka_unit_test(sum_sq_and_scale_match_cpu),
        BOTH(attention_matches_cpu),
        BOTH(lm_head_ce_matches_cpu),
        BOTH(lm_head_jsd_matches_cpu),
#undef BOTH
        cmocka_unit_test(lm_head_refuses_bad_input),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    nn_cuda_close(ctx);
    return failed;
}
