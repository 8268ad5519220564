/* sample.c — time per token of rg_sample on Qwen2.5's 151,936-token
 * vocabulary, per setting, beside the sampler as it was before its passes
 * were vectorised (tests/unit/sample_ref.h, run in the same process on the
 * same rows) and beside one plain softmax pass (expf + sum + divide, what
 * any sampler over the full vocabulary must at least do in scalar code).
 * Two kinds of rows: normal logits (sd 3) and a Zipf-like row (logit =
 * -1.2 ln(rank) + noise), closer to a language model's long tail. Every
 * timed draw is also checked: both samplers give the same tokens.
 * Prints the median and best of REPS calls; never fails on timing.
 * RGSD_BENCH_SMALL=1 shrinks the vocabulary. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/unit/sample_ref.h"
#include "base/error.h"
#include "base/rng.h"
#include "base/timer.h"
#include "gen/expf_exact.h"
#include "gen/sample.h"

enum { REPS = 31 };

static volatile float sink;

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
    int n_settings = sizeof settings / sizeof settings[0], mismatches = 0;
    printf("vocabulary %d, one thread; exp: %s\n", vocab,
           rg_expf_exact_vectorised() ? "AVX2 replica of libm expf" : "libm expf (scalar)");
    rg_rng rows;
    rg_rng_seed(&rows, 2);
    for (int zipf = 0; zipf < 2; zipf++) {
        fill(logits, vocab, zipf, &rows);
        timing soft = time_softmax(logits, probs, vocab);
        printf("\n%s logits; plain softmax pass %.3f ms (median; best %.3f)\n", zipf ? "Zipf-like" : "normal (sd 3)",
               soft.median * 1e3, soft.best * 1e3);
        printf("%-24s %9s %9s %9s %9s %8s %7s\n", "setting", "old ms", "(best)", "new ms", "(best)", "speedup",
               "kept");
        for (int k = 0; k < n_settings; k++) {
            double t_old[REPS], t_new[REPS];
            rg_rng a, b;
            rg_rng_seed(&a, 100 + (uint64_t)k);
            b = a;
            for (int r = 0; r < REPS; r++) {
                rg_sample_result got = {0}, want = {0};
                double t0 = rg_now();
                int rc_old = ref_sample(&ref, logits, &settings[k].p, &b, &want);
                double t1 = rg_now();
                int rc_new = rg_sample(&s, logits, &settings[k].p, &a, &got);
                t_new[r] = rg_now() - t1;
                t_old[r] = t1 - t0;
                mismatches += rc_old || rc_new || got.token != want.token || got.logprob != want.logprob ||
                              got.sample_logprob != want.sample_logprob;
            }
            timing o = summarise(t_old), n = summarise(t_new);
            printf("%-24s %9.3f %9.3f %9.3f %9.3f %7.1fx %7d\n", settings[k].name, o.median * 1e3, o.best * 1e3,
                   n.median * 1e3, n.best * 1e3, o.median / n.median, s.n_kept);
        }
    }
    printf("\n%d of %d draws differ from the old sampler%s\n", mismatches, 2 * n_settings * REPS,
           mismatches ? " (BUG)" : "");
    rg_sampler_free(&s);
    ref_sampler_free(&ref);
    free(logits);
    free(probs);
    return 0;
}
