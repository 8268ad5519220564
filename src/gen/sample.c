/* sample.c — temperature / top-k / top-p sampling with log-probs.
 *
 * Every value is the one the plain scalar loops gave (tests/unit/
 * sample_ref.h keeps the sampler as it was; test_sample.c compares bit for
 * bit): the weights are libm's expf (computed in lanes by expf_exact.c),
 * and every sum that decides a token runs in the same order, one addition
 * at a time. What changed is what is not done: the vocabulary is not
 * copied into a candidate list unless top-p needs one (then as 8-byte keys,
 * radix-sorted: nucleus.c), the draw does not walk the vocabulary (the
 * running mass is kept at block ends, so the draw searches those and
 * re-adds one block), and the temperature-1 sum for the log-prob shares
 * the weights' pass. */
#include "gen/sample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "nn/expf_exact.h"
#include "gen/nucleus.h"
#include "nn/sample_rows.h"

/* Tokens per block: the draw re-adds at most one block. */
enum { BLOCK = 256 };

static int n_blocks(int vocab_size) { return (vocab_size + BLOCK - 1) / BLOCK; }

int rg_sampler_init(rg_sampler *s, int vocab_size) {
    memset(s, 0, sizeof *s);
    if (vocab_size <= 0) return rg_error("sampler: vocabulary size %d", vocab_size);
    s->vocab_size = vocab_size;
    s->probs = rg_malloc((size_t)vocab_size * sizeof(float));
    s->order = rg_malloc((size_t)vocab_size * sizeof(int));
    s->block_mass = rg_malloc((size_t)n_blocks(vocab_size) * sizeof(double));
    s->sort_keys = rg_malloc(2 * (size_t)vocab_size * sizeof *s->sort_keys);
    if (!s->probs || !s->order || !s->block_mass || !s->sort_keys) {
        rg_sampler_free(s);
        return RG_ERR;
    }
    return RG_OK;
}

void rg_sampler_free(rg_sampler *s) {
    free(s->probs);
    free(s->order);
    free(s->block_mass);
    free(s->sort_keys);
    memset(s, 0, sizeof *s);
}

int rg_argmax(const float *logits, int n) {
    int best = -1;
    for (int i = 0; i < n; i++)
        if (!isnan(logits[i]) && (best < 0 || logits[i] > logits[best])) best = i;
    return best;
}

/* sum of expf((float)((double)x[i] - max)) over i < n, in index order */
static double sum_exp(const float *x, int n, double max) {
    float e[BLOCK];
    double sum = 0.0;
    for (int b0 = 0; b0 < n; b0 += BLOCK) {
        int len = n - b0 < BLOCK ? n - b0 : BLOCK;
        rg_expf_affine(e, x + b0, 1.0, max, len);
        for (int j = 0; j < len; j++) sum += e[j];
    }
    return sum;
}

float rg_token_logprob(const float *logits, int n, int token) {
    int best = rg_argmax(logits, n);
    if (best < 0 || token < 0 || token >= n) return NAN;
    double max = logits[best];
    return (float)((double)logits[token] - max - log(sum_exp(logits, n, max)));
}

/* One pass over the vocabulary, a block at a time: the weights
 * expf((float)(logit / T - max / T)) of the tokens top-k keeps, 0 for the
 * rest, into probs[]; the running kept mass at each block's end into
 * block_mass[]; the kept ids into order[]; and the temperature-1 sum for
 * the log-prob. Returns the kept mass. Both sums add one token at a time
 * in id order, as the plain loops do, so they round the same way (adding
 * a 0 for a dropped token changes no sum). */
static double masses(rg_sampler *s, const float *logits, double *sum1_out) {
    const int n = s->vocab_size;
    const float threshold = s->threshold;
    const double max1 = logits[s->best];
    const int same = s->inv_temperature == 1.0; /* the weights are the temperature-1 terms */
    float e1_block[BLOCK];
    double total = 0.0, sum1 = 0.0;
    int n_kept = 0, last = -1;
    for (int b = 0, b0 = 0; b0 < n; b++, b0 += BLOCK) {
        int len = n - b0 < BLOCK ? n - b0 : BLOCK;
        const float *x = logits + b0;
        float *w = s->probs + b0;
        rg_expf_affine(w, x, s->inv_temperature, s->max_scaled, len);
        const float *e1 = w;
        if (!same) {
            rg_expf_affine(e1_block, x, 1.0, max1, len);
            e1 = e1_block;
        }
        for (int j = 0; j < len; j++) {
            int keep = x[j] >= threshold && x[j] != -INFINITY;
            sum1 += e1[j]; /* before w[j] (maybe e1[j]) is zeroed */
            float weight = keep ? w[j] : 0.0f;
            w[j] = weight;
            total += weight;
            s->order[n_kept] = b0 + j;
            n_kept += keep;
            last = keep ? b0 + j : last;
        }
        s->block_mass[b] = total;
    }
    s->n_kept = n_kept;
    s->last_kept = last;
    *sum1_out = sum1;
    return total;
}

static int check_params(const rg_sample_params *p) {
    if (isnan(p->temperature)) return rg_error("sampling: temperature is NaN");
    if (p->top_k < 0) return rg_error("sampling: top_k %d must be >= 0 (0 = off)", p->top_k);
    if (!(p->top_p > 0.0f && p->top_p <= 1.0f))
        return rg_error("sampling: top_p %g must be in (0, 1] (1 = off)", (double)p->top_p);
    return RG_OK;
}

int rg_sample_distribution(rg_sampler *s, const float *logits, const rg_sample_params *p) {
    if (check_params(p) != RG_OK) return RG_ERR;
    int n = s->vocab_size;
    rg_logit_scan scan = rg_scan_logits(logits, n);
    if (scan.bad >= 0) {
        if (isnan(logits[scan.bad])) return rg_error("sampling: logit %d is NaN", scan.bad);
        return rg_error("sampling: logit %d is +inf", scan.bad);
    }
    if (scan.n_finite == 0) return rg_error("sampling: all %d logits are -inf", n);
    int best = scan.best;
    s->best = best;
    s->nucleus = 0;
    s->log_sum1 = NAN; /* greedy: rg_sample sums when it needs it */
    if (p->temperature <= 0.0f) {
        memset(s->probs, 0, (size_t)n * sizeof(float));
        s->probs[best] = 1.0f;
        s->order[0] = best;
        s->n_kept = 1;
        s->max_scaled = logits[best];
        s->log_norm = 0.0;
        return RG_OK;
    }
    s->inv_temperature = 1.0 / (double)p->temperature;
    s->max_scaled = (double)logits[best] * s->inv_temperature;

    /* top-k: a threshold on the logit (temperature keeps the order); probs[]
     * is the heap until the weights overwrite it */
    s->threshold = -INFINITY;
    if (p->top_k > 0 && p->top_k < scan.n_finite) s->threshold = rg_kth_largest(logits, n, p->top_k, s->probs);

    double sum1, total = masses(s, logits, &sum1);
    s->log_sum1 = log(sum1);
    if (p->top_p < 1.0f) {
        /* the candidates above the floor, in id order, then the cut */
        uint64_t *keys = s->sort_keys;
        int m = rg_select_above(s->probs, n, rg_nucleus_floor(total, s->n_kept, (double)p->top_p), keys);
        const uint64_t *nucleus;
        int kept = rg_nucleus(keys, m, total, (double)p->top_p, keys + n, &nucleus, NULL);
        if (kept < 1) kept = 1;
        total = 0.0;
        for (int i = 0; i < kept; i++) total += rg_key_weight(nucleus[i]);
        memset(s->probs, 0, (size_t)n * sizeof(float));
        for (int i = 0; i < kept; i++) {
            s->order[i] = rg_key_token(nucleus[i]);
            s->probs[s->order[i]] = (float)(rg_key_weight(nucleus[i]) / total);
        }
        s->nucleus_keys = nucleus;
        s->n_kept = kept;
        s->nucleus = 1;
    } else {
        rg_divide_row(s->probs, n, total); /* dropped tokens: 0 / total = 0 */
    }
    s->log_norm = log(total);
    return RG_OK;
}

/* The first kept token whose running mass exceeds u, the mass summed in
 * id order; the last kept token if none does (u rounds up to the total).
 * The running mass never decreases, so the crossing lies in the first
 * block whose end mass exceeds u: that block is re-added from the mass
 * before it, giving the very sums a walk from token 0 would. */
static int draw_blocks(const rg_sampler *s, const float *logits, double u) {
    int n = s->vocab_size, lo = 0, hi = n_blocks(n);
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (u < s->block_mass[mid]) hi = mid;
        else lo = mid + 1;
    }
    if (lo == n_blocks(n)) return s->last_kept;
    int b0 = lo * BLOCK, len = n - b0 < BLOCK ? n - b0 : BLOCK;
    float w[BLOCK];
    rg_expf_affine(w, logits + b0, s->inv_temperature, s->max_scaled, len);
    double mass = lo > 0 ? s->block_mass[lo - 1] : 0.0;
    for (int j = 0; j < len; j++) {
        float x = logits[b0 + j];
        if (x == -INFINITY || x < s->threshold) continue;
        mass += w[j];
        if (u < mass) return b0 + j;
    }
    return s->last_kept; /* not reached: the block's end mass exceeds u */
}

/* The same walk over the nucleus, most probable first. */
static int draw_nucleus(const uint64_t *keys, int n, double u) {
    double mass = 0.0;
    for (int i = 0; i < n; i++) {
        mass += rg_key_weight(keys[i]);
        if (u < mass) return rg_key_token(keys[i]);
    }
    return rg_key_token(keys[n - 1]);
}

int rg_sample(rg_sampler *s, const float *logits, const rg_sample_params *p, rg_rng *rng,
              rg_sample_result *out) {
    if (rg_sample_distribution(s, logits, p) != RG_OK) return RG_ERR;
    int token = s->order[0];
    double sample_logprob = 0.0, log_sum1 = s->log_sum1, max = logits[s->best];
    if (p->temperature > 0.0f) {
        /* 53 random bits, scaled to the kept mass */
        double u = (double)(rg_rng_u64(rng) >> 11) * 0x1p-53 * exp(s->log_norm);
        token = s->nucleus ? draw_nucleus(s->nucleus_keys, s->n_kept, u) : draw_blocks(s, logits, u);
        sample_logprob = (double)logits[token] / (double)p->temperature - s->max_scaled - s->log_norm;
    } else {
        log_sum1 = log(sum_exp(logits, s->vocab_size, max));
    }
    out->token = token;
    out->sample_logprob = (float)sample_logprob;
    out->logprob = (float)((double)logits[token] - max - log_sum1);
    return RG_OK;
}
