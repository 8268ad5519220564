/* sample.c — time per token of rg_sample on Qwen2.5's 151,936-token
 * vocabulary, per setting, beside the sampler as it was before its passes
 * were vectorised (tests/unit/sample_ref.h, run in the same process on the
 * same rows) and beside one plain softmax pass (expf + sum + divide, what
 * any sampler over the full vocabulary must at least do in scalar code).
 * Two kinds of rows: normal logits (sd 3) and a Zipf-like row (logit =
 * -1.2 ln(rank) + noise), closer to a language model's long tail. Every
 * timed draw is also checked: both samplers give the same tokens.
 * Prints the median of REPS calls, warm (the same row again and again: the
 * logits and the sampler's scratch stay in cache) and cold (64 MB written
 * before each call, as a decode step's weight reads evict them in
 * `rgsd generate`). Never fails on timing. RGSD_BENCH_SMALL=1 shrinks the
 * vocabulary. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/unit/sample_ref.h"
#include "base/error.h"
#include "base/rng.h"
#include "base/timer.h"
#include "nn/expf_exact.h"
#include "gen/sample.h"

enum { REPS = 31, EVICT_BYTES = 64 << 20 };

static volatile float sink;
static unsigned char *evict_buffer;

/* Pushes the logits and the samplers' scratch out of every cache level. */
static void evict(void) {
    for (size_t i = 0; i < EVICT_BYTES; i += 64) evict_buffer[i]++;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    double median, best;
} timing;

static timing summarise(double *t) {
    qsort(t, REPS, sizeof *t, by_value);
    return (timing){t[REPS / 2], t[0]};
}

static timing time_softmax(const float *logits, float *probs, int n) {
    double t[REPS];
    for (int r = 0; r < REPS; r++) {
        double t0 = rg_now();
        float max = logits[0];
        for (int i = 1; i < n; i++) max = logits[i] > max ? logits[i] : max;
        double sum = 0;
        for (int i = 0; i < n; i++) sum += probs[i] = expf(logits[i] - max);
        float inv = (float)(1.0 / sum);
        for (int i = 0; i < n; i++) probs[i] *= inv;
        t[r] = rg_now() - t0;
    }
    sink = probs[7];
    return summarise(t);
}

static void fill(float *x, int n, int zipf, rg_rng *rng) {
    for (int i = 0; i < n; i++) {
        float g = rg_rng_normal(rng);
        x[i] = zipf ? -1.2f * logf(1.0f + (float)rg_rng_below(rng, (uint64_t)n)) + 0.3f * g : 3.0f * g;
    }
}

int main(void) {
    int vocab = getenv("RGSD_BENCH_SMALL") ? 4096 : 151936;
    float *logits = rg_malloc((size_t)vocab * sizeof(float)), *probs = rg_malloc((size_t)vocab * sizeof(float));
    rg_sampler s;
    ref_sampler ref;
    if (!logits || !probs || rg_sampler_init(&s, vocab) != RG_OK || ref_sampler_init(&ref, vocab) != RG_OK) return 1;
    struct {
        const char *name;
        rg_sample_params p;
    } settings[] = {
        {"greedy (T=0)", {0.0f, 0, 1.0f}},
        {"T=1", {1.0f, 0, 1.0f}},
        {"T=0.7", {0.7f, 0, 1.0f}},
        {"T=0.7 top_k=50", {0.7f, 50, 1.0f}},
        {"T=0.7 top_p=0.9", {0.7f, 0, 0.9f}},
        {"T=1 top_p=0.95", {1.0f, 0, 0.95f}},
        {"T=1 top_k=50 top_p=0.9", {1.0f, 50, 0.9f}},
    };
    int n_settings = sizeof settings / sizeof settings[0], mismatches = 0, draws = 0;
    evict_buffer = calloc(EVICT_BYTES, 1);
    if (!evict_buffer) return 1;
    printf("vocabulary %d, one thread; exp: %s\n", vocab,
           rg_expf_exact_vectorised() ? "AVX2 replica of libm expf" : "libm expf (scalar)");
    rg_rng rows;
    rg_rng_seed(&rows, 2);
    for (int zipf = 0; zipf < 2; zipf++) {
        fill(logits, vocab, zipf, &rows);
        timing soft = time_softmax(logits, probs, vocab);
        printf("\n%s logits; plain softmax pass %.3f ms (warm)\n", zipf ? "Zipf-like" : "normal (sd 3)",
               soft.median * 1e3);
        printf("%-24s %8s %8s %8s | %8s %8s %8s | %7s\n", "setting", "old ms", "new ms", "speedup", "cold old",
               "cold new", "speedup", "kept");
        for (int k = 0; k < n_settings; k++) {
            timing t[2][2]; /* [cold][new] */
            for (int cold = 0; cold < 2; cold++) {
                double t_old[REPS], t_new[REPS];
                rg_rng a, b;
                rg_rng_seed(&a, 100 + (uint64_t)k);
                b = a;
                for (int r = 0; r < REPS; r++) {
                    rg_sample_result got = {0}, want = {0};
                    if (cold) evict();
                    double t0 = rg_now();
                    int rc_old = ref_sample(&ref, logits, &settings[k].p, &b, &want);
                    double t1 = rg_now();
                    if (cold) evict();
                    double t2 = rg_now();
                    int rc_new = rg_sample(&s, logits, &settings[k].p, &a, &got);
                    t_new[r] = rg_now() - t2;
                    t_old[r] = t1 - t0;
                    mismatches += rc_old || rc_new || got.token != want.token || got.logprob != want.logprob ||
                                  got.sample_logprob != want.sample_logprob;
                    draws++;
                }
                t[cold][0] = summarise(t_old);
                t[cold][1] = summarise(t_new);
            }
            printf("%-24s %8.3f %8.3f %7.1fx | %8.3f %8.3f %7.1fx | %7d\n", settings[k].name, t[0][0].median * 1e3,
                   t[0][1].median * 1e3, t[0][0].median / t[0][1].median, t[1][0].median * 1e3, t[1][1].median * 1e3,
                   t[1][0].median / t[1][1].median, s.n_kept);
        }
    }
    printf("(medians of %d calls)\n%d of %d draws differ from the old sampler%s\n", REPS, mismatches, draws,
           mismatches ? " (BUG)" : "");
    rg_sampler_free(&s);
    ref_sampler_free(&ref);
    free(logits);
    free(probs);
    free(evict_buffer);
    return 0;
}
