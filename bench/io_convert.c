/* io_convert.c — bulk dtype conversion and sampling speed, each beside a
 * reference measured in the same run:
 *   conversions: AVX2/F16C bulk vs the scalar functions, and vs memcpy of
 *                the same output bytes (the single-thread bandwidth roof);
 *   sampling:    one sampler call on a 151936-token vocabulary (Qwen2.5's)
 *                vs one plain softmax pass over the same logits (scalar
 *                expf + sum + divide); bench/sample.c has the per-setting
 *                comparison with the sampler before vectorising.
 * Prints ratios; never fails. RGSD_BENCH_SMALL=1 shrinks the arrays. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/rng.h"
#include "base/timer.h"
#include "gen/sample.h"
#include "io/dtype.h"
#include "nn/nn.h"

static volatile float sink;

/* Best of `reps` timings of fn over n values. */
#define TIME_BEST(reps, body)                        \
    ({                                               \
        double best_ = 1e30;                         \
        for (int r_ = 0; r_ < (reps); r_++) {        \
            double t0_ = rg_now();                   \
            body;                                    \
            double dt_ = rg_now() - t0_;             \
            if (dt_ < best_) best_ = dt_;            \
        }                                            \
        best_;                                       \
    })

static void bench_conversions(size_t n) {
    uint16_t *half = rg_malloc_aligned(n * 2), *half_out = rg_malloc_aligned(n * 2);
    float *f32 = rg_malloc_aligned(n * 4), *f32_out = rg_malloc_aligned(n * 4);
    rg_rng rng;
    rg_rng_seed(&rng, 1);
    for (size_t i = 0; i < n; i++) {
        f32[i] = rg_rng_normal(&rng);
        half[i] = nn_f32_to_bf16(f32[i]);
    }
    double copy4 = TIME_BEST(5, memcpy(f32_out, f32, n * 4));
    double copy2 = TIME_BEST(5, memcpy(half_out, half, n * 2));
    printf("memcpy reference: %.2f GB/s (f32 out), %.2f GB/s (16-bit out)\n", n * 8 / copy4 / 1e9,
           n * 4 / copy2 / 1e9);
    struct {
        const char *name;
        int to_f32;
    } kinds[] = {{"f16->f32", 1}, {"bf16->f32", 1}, {"f32->f16", 0}, {"f32->bf16", 0}};
    for (int k = 0; k < 4; k++) {
        double bulk, scalar;
        switch (k) {
        case 0:
            bulk = TIME_BEST(5, nn_f16_to_f32_array(f32_out, half, n));
            scalar = TIME_BEST(3, for (size_t i = 0; i < n; i++) f32_out[i] = nn_f16_to_f32(half[i]));
            break;
        case 1:
            bulk = TIME_BEST(5, nn_bf16_to_f32_array(f32_out, half, n));
            scalar = TIME_BEST(3, for (size_t i = 0; i < n; i++) f32_out[i] = nn_bf16_to_f32(half[i]));
            break;
        case 2:
            bulk = TIME_BEST(5, nn_f32_to_f16_array(half_out, f32, n));
            scalar = TIME_BEST(3, for (size_t i = 0; i < n; i++) half_out[i] = nn_f32_to_f16(f32[i]));
            break;
        default:
            bulk = TIME_BEST(5, nn_f32_to_bf16_array(half_out, f32, n));
            scalar = TIME_BEST(3, for (size_t i = 0; i < n; i++) half_out[i] = nn_f32_to_bf16(f32[i]));
            break;
        }
        double copy = copy4; /* 8 bytes moved per value: at least what a conversion moves */
        printf("%-10s bulk %6.2f Gvalues/s  scalar %6.2f Gvalues/s  bulk/scalar %5.1fx  "
               "bulk time / memcpy time %4.2f\n",
               kinds[k].name, n / bulk / 1e9, n / scalar / 1e9, scalar / bulk, bulk / copy);
    }
    sink = f32_out[n / 2] + half_out[n / 3];
    rg_free_aligned(half), rg_free_aligned(half_out), rg_free_aligned(f32), rg_free_aligned(f32_out);
}

static void bench_sampling(int vocab) {
    float *logits = rg_malloc((size_t)vocab * sizeof(float));
    float *probs = rg_malloc((size_t)vocab * sizeof(float));
    rg_rng rng;
    rg_rng_seed(&rng, 2);
    for (int i = 0; i < vocab; i++) logits[i] = rg_rng_normal(&rng) * 3.0f;
    double softmax = TIME_BEST(20, {
        float max = logits[0];
        for (int i = 1; i < vocab; i++) max = logits[i] > max ? logits[i] : max;
        double sum = 0;
        for (int i = 0; i < vocab; i++) sum += probs[i] = expf(logits[i] - max);
        float inv = (float)(1.0 / sum);
        for (int i = 0; i < vocab; i++) probs[i] *= inv;
    });
    sink = probs[7];
    printf("softmax reference over %d logits: %.3f ms\n", vocab, softmax * 1e3);
    rg_sampler s;
    if (rg_sampler_init(&s, vocab) != RG_OK) return;
    struct {
        const char *name;
        rg_sample_params p;
    } settings[] = {
        {"greedy", {0.0f, 0, 1.0f}},
        {"T=1", {1.0f, 0, 1.0f}},
        {"T=0.7 top_k=50", {0.7f, 50, 1.0f}},
        {"T=0.7 top_p=0.9", {0.7f, 0, 0.9f}},
        {"T=1 top_k=50 top_p=0.9", {1.0f, 50, 0.9f}},
    };
    for (size_t k = 0; k < sizeof settings / sizeof settings[0]; k++) {
        rg_sample_result r;
        double t = TIME_BEST(20, rg_sample(&s, logits, &settings[k].p, &rng, &r));
        printf("sample %-24s %.3f ms  = %.2fx the softmax pass  (kept %d tokens)\n", settings[k].name,
               t * 1e3, t / softmax, s.n_kept);
    }
    rg_sampler_free(&s);
    free(logits);
    free(probs);
}

int main(void) {
    int small = getenv("RGSD_BENCH_SMALL") != NULL;
    size_t n = small ? (1u << 16) : (1u << 24);
    printf("== dtype conversions, %zu values (single thread)\n", n);
    bench_conversions(n);
    printf("== sampling (includes the log-prob of the drawn token)\n");
    bench_sampling(small ? 4096 : 151936);
    return 0;
}
