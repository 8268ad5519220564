/* divergence.c — the generalized Jensen-Shannon divergence of RGSD (DESIGN
 * section 5) between the student's and the teacher's next-token
 * distributions, fused with its gradient w.r.t. the student logits.
 *
 * Everything is in log space: log-probs are logits minus a logsumexp, the
 * mixture is log M = logaddexp(log beta + log P_T, log(1-beta) + log P_S),
 * so near-one-hot rows (logits like [100, -100, ...]) give exact zeros, not
 * 0 * inf. Per-entry arithmetic is f32 (the vocabulary is large); sums over
 * a row are in double.
 *
 * Gradient. The divergence is a sum of per-entry terms d_i, each depending
 * on the student only through its own probability p_i (for every beta), so
 * with pg_i = p_i * d d_i / d p_i and u_i = 1 unless the entry (or the whole
 * token) was clipped, the chain rule through the softmax gives
 *   dL/ds_j = pg_j u_j - p_j * sum_i pg_i u_i.
 * pg per mode:  0<beta<1: (1-beta) p (log p - log m);  beta = 0 (forward KL,
 * d = q (log q - log p)): -q;  beta = 1 (reverse KL, d = p (log p - log q)):
 * p (log p - log q + 1).
 * Top-k: the buckets are the teacher's top-k entries plus one tail bucket
 * holding the rest of each distribution's mass; a student entry j in the tail
 * gets (p_j / P_tail) * pg_tail in place of pg_j. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "base/error.h"
#include "nn/nn.h"

typedef enum { MODE_FORWARD_KL, MODE_REVERSE_KL, MODE_MIXTURE } divergence_mode;

typedef struct {
    divergence_mode mode;
    float beta, log_beta, log_one_minus_beta;
} divergence;

/* One entry (or bucket) with student log-prob ls and teacher log-prob lt:
 * its divergence term, returned, and pg = p * d term / d p. */
static inline float entry_term(const divergence *dv, float ls, float lt, float *pg) {
    float p = expf(ls), q = expf(lt);
    switch (dv->mode) {
    case MODE_FORWARD_KL:
        *pg = -q;
        return q > 0.0f ? q * (lt - ls) : 0.0f;
    case MODE_REVERSE_KL:
        *pg = p > 0.0f ? p * (ls - lt + 1.0f) : 0.0f;
        return p > 0.0f ? p * (ls - lt) : 0.0f;
    default: {
        float a = dv->log_beta + lt, b = dv->log_one_minus_beta + ls;
        float lm = fmaxf(a, b) + log1pf(expf(-fabsf(a - b)));
        float student_part = p > 0.0f ? (1.0f - dv->beta) * p * (ls - lm) : 0.0f;
        *pg = student_part;
        return (q > 0.0f ? dv->beta * q * (lt - lm) : 0.0f) + student_part;
    }
    }
}

/* max and log(sum(exp(row))) in double */
static double row_logsumexp(const float *row, int V) {
    float max = -INFINITY;
    for (int i = 0; i < V; i++) max = row[i] > max ? row[i] : max;
    double sum = 0.0;
    for (int i = 0; i < V; i++) sum += expf(row[i] - max);
    return (double)max + log(sum);
}

/* What one row adds to the stats. */
typedef struct {
    double loss, clipped, clip_total, entropy;
} row_result;

/* Clipping of one row given its per-bucket terms; fills u into pg (pg_i u_i)
 * and returns the loss; n terms. */
static double clip_terms(const nn_jsd_config *config, float *terms, float *pg, int n, row_result *res) {
    double divergence_sum = 0.0, loss = 0.0;
    for (int i = 0; i < n; i++) divergence_sum += terms[i];
    switch (config->clip) {
    case NN_CLIP_TOKEN:
        res->clip_total += 1;
        if (divergence_sum > config->tau) {
            res->clipped += 1;
            for (int i = 0; i < n; i++) pg[i] = 0.0f;
            return config->tau;
        }
        return divergence_sum;
    case NN_CLIP_ENTRY:
        res->clip_total += n;
        for (int i = 0; i < n; i++) {
            if (terms[i] > config->tau) {
                res->clipped += 1;
                pg[i] = 0.0f;
                loss += config->tau;
            } else {
                loss += terms[i];
            }
        }
        return loss;
    default:
        res->clip_total += 1;
        return divergence_sum;
    }
}

/* Full vocabulary. scratch: 2*V floats. */
static void row_full(const divergence *dv, const nn_jsd_config *config, float *drow, const float *s, const float *t,
                     float lse_s, float lse_t, int V, float grad_scale, float *scratch, row_result *res) {
    float *terms = scratch, *pg = scratch + V;
    double entropy = 0.0;
    for (int i = 0; i < V; i++) {
        float ls = s[i] - lse_s;
        terms[i] = entry_term(dv, ls, t[i] - lse_t, &pg[i]);
        float p = expf(ls);
        if (p > 0.0f) entropy -= (double)p * ls;
    }
    res->entropy = entropy;
    res->loss = clip_terms(config, terms, pg, V, res);
    if (!drow) return;
    double pg_sum = 0.0;
    for (int i = 0; i < V; i++) pg_sum += pg[i];
    for (int i = 0; i < V; i++) drow[i] = grad_scale * (pg[i] - expf(s[i] - lse_s) * (float)pg_sum);
}

/* Sifts the heap of the k largest teacher logits (a min-heap by value). */
static void heap_sift_down(int32_t *heap, const float *t, int k, int at) {
    for (;;) {
        int smallest = at, l = 2 * at + 1, r = l + 1;
        if (l < k && t[heap[l]] < t[heap[smallest]]) smallest = l;
        if (r < k && t[heap[r]] < t[heap[smallest]]) smallest = r;
        if (smallest == at) return;
        int32_t tmp = heap[at];
        heap[at] = heap[smallest];
        heap[smallest] = tmp;
        at = smallest;
    }
}

static int compare_int32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Indices of the k largest entries of t, ascending by index. */
static void top_k_indices(int32_t *idx, const float *t, int V, int k) {
    for (int i = 0; i < k; i++) idx[i] = i;
    for (int i = k / 2 - 1; i >= 0; i--) heap_sift_down(idx, t, k, i);
    for (int i = k; i < V; i++) {
        if (t[i] > t[idx[0]]) {
            idx[0] = i;
            heap_sift_down(idx, t, k, 0);
        }
    }
    qsort(idx, (size_t)k, sizeof *idx, compare_int32);
}

/* log(sum(exp(row[i]))) over the i NOT in idx[k] (ascending), in double;
 * -inf when nothing is left. */
static double tail_logsumexp(const float *row, int V, const int32_t *idx, int k) {
    float max = -INFINITY;
    for (int i = 0, j = 0; i < V; i++) {
        if (j < k && idx[j] == i) { j++; continue; }
        max = row[i] > max ? row[i] : max;
    }
    if (max == -INFINITY) return -INFINITY;
    double sum = 0.0;
    for (int i = 0, j = 0; i < V; i++) {
        if (j < k && idx[j] == i) { j++; continue; }
        sum += expf(row[i] - max);
    }
    return (double)max + log(sum);
}

/* Teacher top-k + tail bucket (k < V). scratch: k ints + 2(k+1) floats. */
static void row_top_k(const divergence *dv, const nn_jsd_config *config, float *drow, const float *s, const float *t,
                      float lse_s, float lse_t, int V, float grad_scale, void *scratch, row_result *res) {
    const int k = config->top_k;
    int32_t *idx = scratch;
    float *terms = (float *)(idx + k), *pg = terms + k + 1;
    top_k_indices(idx, t, V, k);
    for (int b = 0; b < k; b++) terms[b] = entry_term(dv, s[idx[b]] - lse_s, t[idx[b]] - lse_t, &pg[b]);
    float ls_tail = (float)(tail_logsumexp(s, V, idx, k) - lse_s);
    float lt_tail = (float)(tail_logsumexp(t, V, idx, k) - lse_t);
    terms[k] = entry_term(dv, ls_tail, lt_tail, &pg[k]);
    res->loss = clip_terms(config, terms, pg, k + 1, res);
    double pg_sum = 0.0;
    for (int b = 0; b <= k; b++) pg_sum += pg[b];
    /* The top-k student probabilities, read before drow (which may alias s) is written. */
    float *p_top = terms;
    for (int b = 0; b < k; b++) p_top[b] = expf(s[idx[b]] - lse_s);
    double entropy = 0.0;
    for (int i = 0; i < V; i++) {
        float ls = s[i] - lse_s, p = expf(ls);
        if (p > 0.0f) entropy -= (double)p * ls;
        /* tail entry j: (p_j / P_tail) pg_tail - p_j sum pg; the top-k entries are overwritten below */
        if (drow) drow[i] = grad_scale * (expf(ls - ls_tail) * pg[k] - p * (float)pg_sum);
    }
    res->entropy = entropy;
    if (drow)
        for (int b = 0; b < k; b++) drow[idx[b]] = grad_scale * (pg[b] - p_top[b] * (float)pg_sum);
}

// student[N,V], teacher[N,V], targets[N] or NULL, mask[N] or NULL -> stats +=, dstudent[N,V], token_*[N]
int nn_jsd(float *dstudent, float *token_loss, float *token_gap, float *token_entropy, nn_jsd_stats *stats,
           const float *student, const float *teacher, const int32_t *targets, const uint8_t *mask,
           const nn_jsd_config *config, float grad_scale, int N, int V) {
    if (!(config->beta >= 0.0f && config->beta <= 1.0f))
        return rg_error("jsd: beta %g is outside [0, 1]", (double)config->beta);
    if (config->clip != NN_CLIP_NONE && config->clip != NN_CLIP_TOKEN && config->clip != NN_CLIP_ENTRY)
        return rg_error("jsd: unknown clip mode %d", (int)config->clip);
    if (config->clip != NN_CLIP_NONE && !(config->tau > 0.0f))
        return rg_error("jsd: clip threshold tau %g must be > 0", (double)config->tau);
    if (config->top_k < 0) return rg_error("jsd: top_k %d is negative", config->top_k);
    if (targets)
        for (int n = 0; n < N; n++)
            if (targets[n] < 0 || targets[n] >= V)
                return rg_error("jsd: target %d at position %d is outside the vocabulary [0, %d)", targets[n], n, V);

    divergence dv = {.beta = config->beta};
    dv.mode = config->beta == 0.0f ? MODE_FORWARD_KL : config->beta == 1.0f ? MODE_REVERSE_KL : MODE_MIXTURE;
    if (dv.mode == MODE_MIXTURE) {
        dv.log_beta = logf(config->beta);
        dv.log_one_minus_beta = log1pf(-config->beta);
    }
    const int top_k = config->top_k > 0 && config->top_k < V ? config->top_k : 0;
#ifdef _OPENMP
    const int threads = omp_get_max_threads();
#else
    const int threads = 1;
#endif
    /* per thread: full vocabulary: terms and pg [V] each; top-k: k ids + 2(k+1) floats */
    size_t scratch_bytes = top_k ? (size_t)top_k * sizeof(int32_t) + 2 * ((size_t)top_k + 1) * sizeof(float)
                                 : 2 * (size_t)V * sizeof(float);
    scratch_bytes = (scratch_bytes + 63) & ~(size_t)63;
    char *scratch = rg_malloc(scratch_bytes * (size_t)threads);
    if (!scratch) return rg_error_prefix("jsd scratch");

    double loss_sum = 0.0, clipped = 0.0, clip_total = 0.0, gap_sum = 0.0, entropy_sum = 0.0;
    long count = 0;
#pragma omp parallel for schedule(dynamic) reduction(+ : loss_sum, clipped, clip_total, gap_sum, entropy_sum, count)
    for (int n = 0; n < N; n++) {
#ifdef _OPENMP
        char *my_scratch = scratch + scratch_bytes * (size_t)omp_get_thread_num();
#else
        char *my_scratch = scratch;
#endif
        const float *s = student + (size_t)n * V, *t = teacher + (size_t)n * V;
        float *drow = dstudent ? dstudent + (size_t)n * V : NULL;
        if (mask && !mask[n]) {
            if (drow) memset(drow, 0, (size_t)V * sizeof(float));
            if (token_loss) token_loss[n] = 0.0f;
            if (token_gap) token_gap[n] = 0.0f;
            if (token_entropy) token_entropy[n] = 0.0f;
            continue;
        }
        double lse_s = row_logsumexp(s, V), lse_t = row_logsumexp(t, V);
        float gap = 0.0f;
        if (targets) gap = (float)(((double)t[targets[n]] - lse_t) - ((double)s[targets[n]] - lse_s));
        row_result res = {0};
        if (top_k)
            row_top_k(&dv, config, drow, s, t, (float)lse_s, (float)lse_t, V, grad_scale, my_scratch, &res);
        else
            row_full(&dv, config, drow, s, t, (float)lse_s, (float)lse_t, V, grad_scale, (float *)my_scratch, &res);
        loss_sum += res.loss;
        clipped += res.clipped;
        clip_total += res.clip_total;
        gap_sum += gap;
        entropy_sum += res.entropy;
        count++;
        if (token_loss) token_loss[n] = (float)res.loss;
        if (token_gap) token_gap[n] = gap;
        if (token_entropy) token_entropy[n] = (float)res.entropy;
    }
    free(scratch);
    stats->loss_sum += loss_sum;
    stats->clipped += clipped;
    stats->clip_total += clip_total;
    stats->gap_sum += gap_sum;
    stats->entropy_sum += entropy_sum;
    stats->count += count;
    return RG_OK;
}
