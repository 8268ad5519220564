/* sample_ref.h — the sampler as it was before its passes were vectorised
 * (src/gen/sample.c at cb3e69f: scalar libm expf per token, a candidate
 * list of the whole vocabulary, a walk over it for each draw), kept as the
 * reference the current sampler must equal bit for bit: same probabilities,
 * kept sets, tokens, log-probs and random numbers consumed. Only renamed
 * (ref_ prefix, its own scratch type), and ref_nucleus reports how many
 * candidates it sorted. */
#ifndef RG_TEST_SAMPLE_REF_H
#define RG_TEST_SAMPLE_REF_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "gen/sample.h"

typedef struct {
    int vocab_size;
    float *probs;
    int *order;
    int n_kept;
    double log_norm;
    double max_scaled;
} ref_sampler;

typedef struct {
    double weight; /* exp(scaled logit - max) */
    int token;
} ref_candidate;

static void ref_sampler_free(ref_sampler *s);
static int ref_nucleus_sorted; /* how many candidates the last ref_nucleus sorted */

/* Sampler scratch for candidates lives behind order[]: allocated together. */
static inline ref_candidate *ref_scratch_of(ref_sampler *s) {
    return (ref_candidate *)(void *)(s->order + s->vocab_size + (s->vocab_size & 1));
}

static int ref_sampler_init(ref_sampler *s, int vocab_size) {
    memset(s, 0, sizeof *s);
    if (vocab_size <= 0) return rg_error("sampler: vocabulary size %d", vocab_size);
    s->vocab_size = vocab_size;
    s->probs = rg_malloc((size_t)vocab_size * sizeof(float));
    size_t ints = (size_t)vocab_size + (size_t)(vocab_size & 1); /* keep candidates 8-aligned */
    s->order = rg_malloc(ints * sizeof(int) + (size_t)vocab_size * sizeof(ref_candidate));
    if (!s->probs || !s->order) {
        ref_sampler_free(s);
        return RG_ERR;
    }
    return RG_OK;
}

static void ref_sampler_free(ref_sampler *s) {
    free(s->probs);
    free(s->order);
    memset(s, 0, sizeof *s);
}

static int ref_argmax(const float *logits, int n) {
    int best = -1;
    for (int i = 0; i < n; i++)
        if (!isnan(logits[i]) && (best < 0 || logits[i] > logits[best])) best = i;
    return best;
}

static float ref_token_logprob(const float *logits, int n, int token) {
    int best = ref_argmax(logits, n);
    if (best < 0 || token < 0 || token >= n) return NAN;
    double max = logits[best], sum = 0.0;
    for (int i = 0; i < n; i++) sum += expf((float)((double)logits[i] - max));
    return (float)((double)logits[token] - max - log(sum));
}

/* Min-heap of the k largest values seen: its root is the k-th largest. */
static void ref_sift_down(float *heap, int size, int at) {
    for (;;) {
        int smallest = at, left = 2 * at + 1, right = left + 1;
        if (left < size && heap[left] < heap[smallest]) smallest = left;
        if (right < size && heap[right] < heap[smallest]) smallest = right;
        if (smallest == at) return;
        float t = heap[at];
        heap[at] = heap[smallest];
        heap[smallest] = t;
        at = smallest;
    }
}

static float ref_kth_largest(const float *logits, int n, int k, float *heap) {
    int size = 0;
    for (int i = 0; i < n; i++) {
        float v = logits[i];
        if (v == -INFINITY) continue;
        if (size < k) {
            heap[size++] = v;
            if (size == k)
                for (int j = k / 2 - 1; j >= 0; j--) ref_sift_down(heap, k, j);
        } else if (v > heap[0]) {
            heap[0] = v;
            ref_sift_down(heap, k, 0);
        }
    }
    return heap[0];
}

/* Most probable first. On equal weight the higher token id goes first: HF's
 * top-p sorts ascending with a stable sort and keeps from the top end, so of
 * two tied tokens at the ref_nucleus edge it keeps the later one. */
static int ref_by_weight(const void *a, const void *b) {
    const ref_candidate *x = a, *y = b;
    if (x->weight != y->weight) return x->weight > y->weight ? -1 : 1;
    return y->token - x->token;
}

static void ref_swap(ref_candidate *a, ref_candidate *b) {
    ref_candidate t = *a;
    *a = *b;
    *b = t;
}

/* Moves the ref_nucleus (the smallest most-probable prefix holding >= top_p of
 * the mass) to the front of c[0..n), sorted most probable first, and returns
 * its size. Expected O(n): three-way partitions around a pivot narrow the
 * range the cut can fall in, then only that range and what precedes it are
 * sorted. The final walk sums in sorted order, like a full sort would. */
static int ref_nucleus(ref_candidate *c, int n, double total, double top_p) {
    /* A token with weight <= total * (1 - p) / n can never be in the
     * ref_nucleus (the tokens at or below it would hold more than 1 - p of the
     * mass): drop those first. Halved for safety against rounding. */
    double floor_weight = 0.5 * total * (1.0 - top_p) / n;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (c[i].weight > floor_weight || c[i].weight == 1.0) c[m++] = c[i];
    double target = top_p * total, fixed_mass = 0.0;
    int lo = 0, hi = m; /* c[0..lo) is surely kept; the cut lies in [lo, hi) */
    rg_rng pivots;
    rg_rng_seed(&pivots, 0x5eed);
    while (hi - lo > 64) {
        double pivot = c[lo + (int)rg_rng_below(&pivots, (uint64_t)(hi - lo))].weight;
        /* [lo, gt): > pivot, [gt, eq): == pivot, [eq, hi): < pivot */
        int gt = lo, eq = lo;
        double mass_gt = 0.0, mass_eq = 0.0;
        for (int i = lo; i < hi; i++) {
            double w = c[i].weight;
            if (w > pivot) {
                mass_gt += w;
                ref_swap(&c[i], &c[eq]);
                ref_swap(&c[eq], &c[gt]);
                gt++, eq++;
            } else if (w == pivot) {
                mass_eq += w;
                ref_swap(&c[i], &c[eq]);
                eq++;
            }
        }
        /* margins keep a decision that rounding could flip out of this loop */
        if (fixed_mass + mass_gt > target * (1.0 + 1e-9)) {
            hi = gt;
        } else if (fixed_mass + mass_gt + mass_eq < target * (1.0 - 1e-9)) {
            fixed_mass += mass_gt + mass_eq;
            lo = eq;
        } else {
            hi = eq; /* the cut is at the pivot value: sort it all out below */
            break;
        }
    }
    ref_nucleus_sorted = hi; /* added: the partitions' end point, for tests */
    qsort(c, (size_t)hi, sizeof *c, ref_by_weight);
    double mass = 0.0;
    int kept = 0;
    while (kept < hi && mass < target) mass += c[kept++].weight;
    return kept;
}

static int ref_check_params(const rg_sample_params *p) {
    if (isnan(p->temperature)) return rg_error("sampling: temperature is NaN");
    if (p->top_k < 0) return rg_error("sampling: top_k %d must be >= 0 (0 = off)", p->top_k);
    if (!(p->top_p > 0.0f && p->top_p <= 1.0f))
        return rg_error("sampling: top_p %g must be in (0, 1] (1 = off)", (double)p->top_p);
    return RG_OK;
}

static int ref_sample_distribution(ref_sampler *s, const float *logits, const rg_sample_params *p) {
    if (ref_check_params(p) != RG_OK) return RG_ERR;
    int n = s->vocab_size, n_finite = 0;
    for (int i = 0; i < n; i++) {
        if (isnan(logits[i])) return rg_error("sampling: logit %d is NaN", i);
        if (logits[i] == INFINITY) return rg_error("sampling: logit %d is +inf", i);
        n_finite += logits[i] != -INFINITY;
    }
    if (n_finite == 0) return rg_error("sampling: all %d logits are -inf", n);
    int best = ref_argmax(logits, n);
    if (p->temperature <= 0.0f) {
        memset(s->probs, 0, (size_t)n * sizeof(float));
        s->probs[best] = 1.0f;
        s->order[0] = best;
        s->n_kept = 1;
        s->max_scaled = logits[best];
        s->log_norm = 0.0;
        return RG_OK;
    }
    double inv_temperature = 1.0 / (double)p->temperature;
    double max_scaled = (double)logits[best] * inv_temperature;

    /* top-k: a threshold on the logit (temperature keeps the order) */
    float threshold = -INFINITY;
    if (p->top_k > 0 && p->top_k < n_finite) threshold = ref_kth_largest(logits, n, p->top_k, s->probs);

    ref_candidate *kept = ref_scratch_of(s);
    int n_kept = 0;
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        if (logits[i] == -INFINITY || logits[i] < threshold) continue;
        double weight = expf((float)((double)logits[i] * inv_temperature - max_scaled));
        kept[n_kept++] = (ref_candidate){weight, i};
        total += weight;
    }

    if (p->top_p < 1.0f) n_kept = ref_nucleus(kept, n_kept, total, (double)p->top_p);
    if (n_kept < 1) n_kept = 1;
    total = 0.0;
    for (int i = 0; i < n_kept; i++) total += kept[i].weight;

    s->n_kept = n_kept;
    s->max_scaled = max_scaled;
    s->log_norm = log(total);
    memset(s->probs, 0, (size_t)n * sizeof(float)); /* top-k used it as a heap */
    for (int i = 0; i < n_kept; i++) {
        s->order[i] = kept[i].token;
        s->probs[kept[i].token] = (float)(kept[i].weight / total);
    }
    return RG_OK;
}

static int ref_sample(ref_sampler *s, const float *logits, const rg_sample_params *p, rg_rng *rng,
                      rg_sample_result *out) {
    if (ref_sample_distribution(s, logits, p) != RG_OK) return RG_ERR;
    int token = s->order[0];
    double sample_logprob = 0.0;
    if (p->temperature > 0.0f) {
        /* 53 random bits, walked over the kept tokens in order[] order */
        ref_candidate *kept = ref_scratch_of(s);
        double u = (double)(rg_rng_u64(rng) >> 11) * 0x1p-53 * exp(s->log_norm), mass = 0.0;
        token = kept[s->n_kept - 1].token;
        for (int i = 0; i < s->n_kept; i++) {
            mass += kept[i].weight;
            if (u < mass) {
                token = kept[i].token;
                break;
            }
        }
        sample_logprob = (double)logits[token] / (double)p->temperature - s->max_scaled - s->log_norm;
    }
    out->token = token;
    out->sample_logprob = (float)sample_logprob;
    out->logprob = ref_token_logprob(logits, s->vocab_size, token);
    return RG_OK;
}

#endif
