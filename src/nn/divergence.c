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
 * Top-k: the buckets are the support's entries (the teacher's top-k, the
 * student's, or their union) plus one tail bucket holding the rest of each
 * distribution's mass; a student entry j in the tail gets (p_j / P_tail) *
 * pg_tail in place of pg_j. Renormalised (no tail): the same formulas over
 * the support with P' = p / sum_S p, and no gradient outside it. */

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "base/error.h"
#include "nn/isa.h"
#include "nn/cpu.h"
#include "nn/nn.h"
#include "nn/vecmath.h"

#if RG_HAVE_X86_SIMD /* x86-64 only (nn/isa.h): elsewhere the scalar code does every entry */
#include <immintrin.h>

/* AVX2 + FMA only around the 8-wide loops (the release build is x86-64-v3
 * already; the sanitizer and fuzz builds are not): everything else, the
 * scalar tails and the whole ref path (RGSD_KERNELS=ref) included, is
 * compiled for the build's -march and so runs on any CPU it targets. */
RG_ISA_BEGIN("avx2,fma")

/* glibc libmvec, AVX2 variants (linked through libm's AS_NEEDED group). */
__m256 _ZGVdN8v_expf(__m256 x);
__m256 _ZGVdN8v_logf(__m256 x);

static inline double hsum256d(__m256 v) {
    __m128 r = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    r = _mm_add_ps(r, _mm_movehl_ps(r, r));
    r = _mm_add_ss(r, _mm_shuffle_ps(r, r, 1));
    return (double)_mm_cvtss_f32(r);
}

RG_ISA_END

/* 1 when the 8-wide loops run (cpu.h); 0 on the ref path, where the scalar
 * code, which each 8-wide loop leaves its tail to, does every entry. */
static int use_avx2(void) { return nn_cpu_path() != NN_KERNELS_REF; }
#endif /* RG_HAVE_X86_SIMD */

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

/* Entries [i0, i1) of a full-vocabulary row, one at a time: the tail of
 * the row, and 8-blocks where the mixture underflows f32 (log space then). */
static double scalar_entries(const divergence *dv, const float *s, const float *t, float lse_s, float lse_t, int i0,
                             int i1, float *terms, float *pg, float *p_all) {
    double minus_entropy = 0.0;
    for (int i = i0; i < i1; i++) {
        float ls = s[i] - lse_s;
        terms[i] = entry_term(dv, ls, t[i] - lse_t, &pg[i]);
        float p = expf(ls);
        p_all[i] = p;
        if (p > 0.0f) minus_entropy += (double)p * ls;
    }
    return minus_entropy;
}

/* Full vocabulary, 8 entries at a time. scratch: 3*V floats (terms, pg, p).
 * The mixture's log m is taken in linear space, log(beta q + (1-beta) p),
 * one logf instead of exp + log1p; a block where m underflows f32 goes
 * through the log-space scalar path. */
#if RG_HAVE_X86_SIMD
RG_ISA_BEGIN("avx2,fma")
/* The 8-blocks of row_full: entries [0, returned), -entropy += their sum. */
static int row_full_avx2(const divergence *dv, const float *s, const float *t, float lse_s, float lse_t, int V,
                         float *terms, float *pg, float *p_all, double *minus_entropy_out) {
    const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f), tiny = _mm256_set1_ps(FLT_MIN);
    const __m256 vlse_s = _mm256_set1_ps(lse_s), vlse_t = _mm256_set1_ps(lse_t);
    const __m256 vbeta = _mm256_set1_ps(dv->beta), vone_minus_beta = _mm256_set1_ps(1.0f - dv->beta);
    double minus_entropy = 0.0;
    __m256 ent = zero;
    int i = 0;
    for (; i + 8 <= V; i += 8) {
        __m256 ls = _mm256_sub_ps(_mm256_loadu_ps(s + i), vlse_s), lt = _mm256_sub_ps(_mm256_loadu_ps(t + i), vlse_t);
        __m256 p = _ZGVdN8v_expf(ls), q = _ZGVdN8v_expf(lt);
        /* terms with a zero probability are exactly 0 (masks, not 0 * inf) */
        __m256 p_pos = _mm256_cmp_ps(p, zero, _CMP_GT_OQ), q_pos = _mm256_cmp_ps(q, zero, _CMP_GT_OQ);
        __m256 e, g;
        if (dv->mode == MODE_FORWARD_KL) {
            e = _mm256_and_ps(_mm256_mul_ps(q, _mm256_sub_ps(lt, ls)), q_pos);
            g = _mm256_sub_ps(zero, q);
        } else if (dv->mode == MODE_REVERSE_KL) {
            __m256 d = _mm256_sub_ps(ls, lt);
            e = _mm256_and_ps(_mm256_mul_ps(p, d), p_pos);
            g = _mm256_and_ps(_mm256_mul_ps(p, _mm256_add_ps(d, one)), p_pos);
        } else {
            __m256 m = _mm256_fmadd_ps(vbeta, q, _mm256_mul_ps(vone_minus_beta, p));
            if (_mm256_movemask_ps(_mm256_cmp_ps(m, tiny, _CMP_LT_OQ))) {
                minus_entropy += scalar_entries(dv, s, t, lse_s, lse_t, i, i + 8, terms, pg, p_all);
                continue;
            }
            __m256 lm = _ZGVdN8v_logf(m);
            g = _mm256_and_ps(_mm256_mul_ps(vone_minus_beta, _mm256_mul_ps(p, _mm256_sub_ps(ls, lm))), p_pos);
            e = _mm256_add_ps(_mm256_and_ps(_mm256_mul_ps(vbeta, _mm256_mul_ps(q, _mm256_sub_ps(lt, lm))), q_pos), g);
        }
        ent = _mm256_add_ps(ent, _mm256_and_ps(_mm256_mul_ps(p, ls), p_pos));
        _mm256_storeu_ps(terms + i, e);
        _mm256_storeu_ps(pg + i, g);
        _mm256_storeu_ps(p_all + i, p);
        if ((i & 1023) == 1016) { /* f32 lanes over 1024 entries, then double */
            minus_entropy += hsum256d(ent);
            ent = zero;
        }
    }
    minus_entropy += hsum256d(ent);
    *minus_entropy_out += minus_entropy;
    return i;
}
RG_ISA_END
#endif

static void row_full(const divergence *dv, const nn_jsd_config *config, float *drow, const float *s, const float *t,
                     double lse_s_exact, double lse_t_exact, int V, float grad_scale, float *scratch, row_result *res) {
    const float lse_s = (float)lse_s_exact, lse_t = (float)lse_t_exact;
    float *terms = scratch, *pg = scratch + V, *p_all = scratch + 2 * (size_t)V;
    double minus_entropy = 0.0;
    int i = 0;
#if RG_HAVE_X86_SIMD
    if (use_avx2()) i = row_full_avx2(dv, s, t, lse_s, lse_t, V, terms, pg, p_all, &minus_entropy);
#endif
    minus_entropy += scalar_entries(dv, s, t, lse_s, lse_t, i, V, terms, pg, p_all);
    res->entropy = -minus_entropy;
    res->loss = clip_terms(config, terms, pg, V, res);
    if (!drow) return;
    double pg_sum = 0.0;
    for (int j = 0; j < V; j++) pg_sum += pg[j];
    const float S = (float)pg_sum;
    if (dv->mode == MODE_REVERSE_KL) {
        /* p_j (log p_j - log q_j + 1 - S): against a peaked teacher both parts
         * are ~200 and the gradient their small difference, so S is summed in
         * double and the gradient taken as p_j ((s_j - t_j) - C) with C formed
         * in double. pg_j == 0 marks a clipped entry (or p_j == 0, where both
         * forms agree). */
        const double offset = lse_s_exact - lse_t_exact - 1.0;
        /* sum_j p_j (log p_j - log q_j + 1) over unclipped j, in double, over
         * sum_j p_j: a rounding error in lse_s then cancels */
        double mean = 0.0, mass = 0.0;
        for (int j = 0; j < V; j++) {
            if (pg[j] != 0.0f) mean += (double)p_all[j] * (((double)s[j] - (double)t[j]) - offset);
            mass += p_all[j];
        }
        mean /= mass;
        const float C = (float)(offset + mean);
        for (int j = 0; j < V; j++)
            drow[j] = grad_scale * (pg[j] != 0.0f ? p_all[j] * ((s[j] - t[j]) - C) : -p_all[j] * (float)mean);
        return;
    }
    for (int j = 0; j < V; j++) drow[j] = grad_scale * (pg[j] - p_all[j] * S);
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
 * -inf when nothing is left. Summed directly over the tail — never as
 * total - top-k, which cancels for peaked rows. 8-blocks holding no top-k
 * index (all but at most k) go 8 wide. */
#if RG_HAVE_X86_SIMD
RG_ISA_BEGIN("avx2,fma")
static double tail_logsumexp_avx2(const float *row, int V, const int32_t *idx, int k) {
    float max = -INFINITY;
    __m256 vmax = _mm256_set1_ps(-INFINITY);
    int j = 0, i = 0;
    for (; i + 8 <= V; i += 8) {
        if (j < k && idx[j] < i + 8) {
            for (int l = i; l < i + 8; l++) {
                if (j < k && idx[j] == l) { j++; continue; }
                max = row[l] > max ? row[l] : max;
            }
        } else {
            vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(row + i));
        }
    }
    for (; i < V; i++) {
        if (j < k && idx[j] == i) { j++; continue; }
        max = row[i] > max ? row[i] : max;
    }
    {
        float lanes[8];
        _mm256_storeu_ps(lanes, vmax);
        for (int l = 0; l < 8; l++) max = lanes[l] > max ? lanes[l] : max;
    }
    if (max == -INFINITY) return -INFINITY;
    const __m256 shift = _mm256_set1_ps(max);
    __m256 acc = _mm256_setzero_ps();
    double sum = 0.0;
    j = 0, i = 0;
    for (; i + 8 <= V; i += 8) {
        if (j < k && idx[j] < i + 8) {
            for (int l = i; l < i + 8; l++) {
                if (j < k && idx[j] == l) { j++; continue; }
                sum += expf(row[l] - max);
            }
        } else {
            acc = _mm256_add_ps(acc, _ZGVdN8v_expf(_mm256_sub_ps(_mm256_loadu_ps(row + i), shift)));
        }
        if ((i & 1023) == 1016) {
            sum += hsum256d(acc);
            acc = _mm256_setzero_ps();
        }
    }
    sum += hsum256d(acc);
    for (; i < V; i++) {
        if (j < k && idx[j] == i) { j++; continue; }
        sum += expf(row[i] - max);
    }
    return (double)max + log(sum);
}
RG_ISA_END
#endif

/* The same one entry at a time (the ref path). */
static double tail_logsumexp_ref(const float *row, int V, const int32_t *idx, int k) {
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

static double tail_logsumexp(const float *row, int V, const int32_t *idx, int k) {
#if RG_HAVE_X86_SIMD
    if (use_avx2()) return tail_logsumexp_avx2(row, V, idx, k);
#endif
    return tail_logsumexp_ref(row, V, idx, k);
}

/* dD/dP of one bucket in double (0 < beta <= 1), from its log-probs. */
static double bucket_slope(const divergence *dv, double ls, double lt) {
    if (dv->mode == MODE_REVERSE_KL) return ls - lt + 1.0;
    double a = log(dv->beta) + lt, b = log1p(-(double)dv->beta) + ls;
    double lm = fmax(a, b) + log1p(exp(-fabs(a - b)));
    return (1.0 - dv->beta) * (ls - lm);
}

#if RG_HAVE_X86_SIMD
RG_ISA_BEGIN("avx2,fma")
/* The 8-blocks of row_top_k's pass over every entry: [0, returned), -entropy += their sum. */
static int top_k_entries_avx2(float *drow, const float *s, double lse_s, double ls_tail, int V, float grad_scale,
                              float pg_tail, double pg_sum, float tail_factor, int forward, double *minus_entropy_out) {
    const __m256 zero = _mm256_setzero_ps(), vlse_s = _mm256_set1_ps((float)lse_s);
    const __m256 vls_tail = _mm256_set1_ps((float)ls_tail), vscale = _mm256_set1_ps(grad_scale);
    const __m256 vpg_tail = _mm256_set1_ps(pg_tail), vsum = _mm256_set1_ps((float)pg_sum);
    const __m256 vtail_factor = _mm256_set1_ps(tail_factor);
    double minus_entropy = 0.0;
    __m256 ent = zero;
    int i = 0;
    for (; i + 8 <= V; i += 8) {
        __m256 ls = _mm256_sub_ps(_mm256_loadu_ps(s + i), vlse_s), p = _ZGVdN8v_expf(ls);
        ent = _mm256_add_ps(ent, _mm256_and_ps(_mm256_mul_ps(p, ls), _mm256_cmp_ps(p, zero, _CMP_GT_OQ)));
        if (drow) {
            __m256 g;
            if (forward) /* (p_j / P_tail) pg_tail - p_j sum pg */
                g = _mm256_fmsub_ps(_ZGVdN8v_expf(_mm256_sub_ps(ls, vls_tail)), vpg_tail, _mm256_mul_ps(p, vsum));
            else
                g = _mm256_mul_ps(p, vtail_factor);
            _mm256_storeu_ps(drow + i, _mm256_mul_ps(vscale, g));
        }
        if ((i & 1023) == 1016) {
            minus_entropy += hsum256d(ent);
            ent = zero;
        }
    }
    minus_entropy += hsum256d(ent);
    *minus_entropy_out += minus_entropy;
    return i;
}
RG_ISA_END
#endif

/* Support capacity: k entries, 2k for the union (k < V). */
static int support_capacity(const nn_jsd_config *config, int k) {
    return config->topk_from == NN_TOPK_UNION ? 2 * k : k;
}

/* The support of a row, ascending by index: the teacher's top-k, the
 * student's, or their union (merged, each index once). tmp: 2k ints (union).
 * Returns its size. */
static int support_indices(int32_t *idx, int32_t *tmp, const nn_jsd_config *config, const float *s, const float *t,
                           int V, int k) {
    if (config->topk_from == NN_TOPK_STUDENT) {
        top_k_indices(idx, s, V, k);
        return k;
    }
    if (config->topk_from != NN_TOPK_UNION) {
        top_k_indices(idx, t, V, k);
        return k;
    }
    int32_t *a = tmp, *b = tmp + k;
    top_k_indices(a, t, V, k);
    top_k_indices(b, s, V, k);
    int i = 0, j = 0, n = 0;
    while (i < k || j < k) {
        if (j == k || (i < k && a[i] < b[j])) idx[n++] = a[i++];
        else if (i == k || b[j] < a[i]) idx[n++] = b[j++];
        else idx[n++] = a[i++], j++;
    }
    return n;
}

/* log(sum(exp(row[idx[b]]))) over the support, in double. */
static double support_logsumexp(const float *row, const int32_t *idx, int n) {
    float max = -INFINITY;
    for (int b = 0; b < n; b++) max = row[idx[b]] > max ? row[idx[b]] : max;
    double sum = 0.0;
    for (int b = 0; b < n; b++) sum += exp((double)row[idx[b]] - max);
    return (double)max + log(sum);
}

/* Top-k support + tail bucket, or renormalised over the support (nn.h).
 * scratch: see thread_scratch_floats. With the tail, the buckets' log-probs
 * are against the whole row; renormalised, against the support's logsumexp
 * (norm_s, norm_t), and entries outside the support get no gradient: with
 * P'_b = p_b / sum_S p, dL/ds_j = P'_j (G_j - sum_S P'_b G_b) for j in S. */
static void row_top_k(const divergence *dv, const nn_jsd_config *config, float *drow, const float *s, const float *t,
                      double lse_s, double lse_t, int V, float grad_scale, void *scratch, row_result *res) {
    const int cap = support_capacity(config, config->top_k);
    int32_t *idx = scratch, *tmp = idx + cap;
    float *terms = (float *)(tmp + (config->topk_from == NN_TOPK_UNION ? cap : 0)), *pg = terms + cap + 1;
    double *slope_minus_mean = (double *)(((uintptr_t)(pg + cap + 1) + 7) & ~(uintptr_t)7);
    const int k = support_indices(idx, tmp, config, s, t, V, config->top_k);
    const int tail = config->topk_tail == NN_TOPK_TAIL_BUCKET && k < V;
    const double norm_s = tail ? lse_s : support_logsumexp(s, idx, k);
    const double norm_t = tail ? lse_t : support_logsumexp(t, idx, k);
    for (int b = 0; b < k; b++)
        terms[b] = entry_term(dv, (float)(s[idx[b]] - norm_s), (float)(t[idx[b]] - norm_t), &pg[b]);
    double ls_tail = -INFINITY, lt_tail = -INFINITY;
    if (tail) {
        ls_tail = tail_logsumexp(s, V, idx, k) - lse_s, lt_tail = tail_logsumexp(t, V, idx, k) - lse_t;
        terms[k] = entry_term(dv, (float)ls_tail, (float)lt_tail, &pg[k]);
    }
    const int buckets = k + tail;
    res->loss = clip_terms(config, terms, pg, buckets, res);
    double pg_sum = 0.0;
    for (int b = 0; b < buckets; b++) pg_sum += pg[b];
    /* dL/ds_j = p_j (G_b(j) - sum_b P_b G_b), G_b = dD/dP_b (0 where clipped). For
     * beta > 0 the difference is taken in double: in reverse KL against a peaked
     * teacher both terms are ~200 and their difference small. Forward KL uses
     * pg = -q directly (G = -q/p overflows for a tiny student tail). */
    if (dv->mode != MODE_FORWARD_KL) {
        /* the mean over P is divided by sum(P): a rounding error in lse_s then
         * cancels instead of being multiplied by slopes of ~200 */
        double mean = 0.0, mass = 0.0;
        for (int b = 0; b < buckets; b++) {
            double ls = b < k ? s[idx[b]] - norm_s : ls_tail, lt = b < k ? t[idx[b]] - norm_t : lt_tail;
            slope_minus_mean[b] = pg[b] != 0.0f ? bucket_slope(dv, ls, lt) : 0.0;
            mean += exp(ls) * slope_minus_mean[b];
            mass += exp(ls);
        }
        mean /= mass;
        for (int b = 0; b < buckets; b++) slope_minus_mean[b] -= mean;
    }
    /* The support's student probabilities, read before drow (which may alias s) is written. */
    float *p_top = terms;
    for (int b = 0; b < k; b++) p_top[b] = (float)exp(s[idx[b]] - norm_s);
    /* every entry: the entropy, and with the tail its formula (the support's entries are overwritten below) */
    const int forward = dv->mode == MODE_FORWARD_KL;
    float *dtail = tail ? drow : NULL;
    const float tail_factor = forward || !tail ? 0.0f : (float)slope_minus_mean[k];
    const float pg_tail = tail ? pg[k] : 0.0f;
    double minus_entropy = 0.0;
    int i = 0;
#if RG_HAVE_X86_SIMD
    if (use_avx2())
        i = top_k_entries_avx2(dtail, s, lse_s, ls_tail, V, grad_scale, pg_tail, pg_sum, tail_factor, forward,
                               &minus_entropy);
#endif
    for (; i < V; i++) {
        float ls = s[i] - (float)lse_s, p = expf(ls);
        if (p > 0.0f) minus_entropy += (double)p * ls;
        if (dtail)
            dtail[i] = grad_scale * (forward ? expf(ls - (float)ls_tail) * pg_tail - p * (float)pg_sum : p * tail_factor);
    }
    res->entropy = -minus_entropy;
    if (!drow) return;
    if (!tail) memset(drow, 0, sizeof(float) * (size_t)V);
    for (int b = 0; b < k; b++)
        drow[idx[b]] = grad_scale * (forward ? pg[b] - p_top[b] * (float)pg_sum : p_top[b] * (float)slope_minus_mean[b]);
}

static int effective_top_k(const nn_jsd_config *config, int V) {
    return config->top_k > 0 && config->top_k < V ? config->top_k : 0;
}

/* One thread's scratch in floats, a whole number of 64-byte lines: full
 * vocabulary: terms, pg, p [V] each; top-k with a support of up to c entries
 * (k, or 2k for the union): c ids (+ 2k for the union's two lists) + 2(c+1)
 * floats + 8 bytes to align + (c+1) doubles (row_top_k). */
static size_t thread_scratch_floats(const nn_jsd_config *config, int top_k, int V) {
    size_t floats = 3 * (size_t)V;
    if (top_k) {
        size_t c = (size_t)support_capacity(config, top_k);
        floats = c + (config->topk_from == NN_TOPK_UNION ? c : 0) + 2 * (c + 1) + 2 + 2 * (c + 1);
    }
    return (floats + 15) & ~(size_t)15;
}

size_t nn_jsd_scratch_floats(const nn_jsd_config *config, int V, int threads) {
    return thread_scratch_floats(config, effective_top_k(config, V), V) * (size_t)(threads > 0 ? threads : 1);
}

// student[N,V], teacher[N,V], targets[N] or NULL, mask[N] or NULL -> stats +=, dstudent[N,V], token_*[N]
int nn_jsd(float *dstudent, float *token_loss, float *token_gap, float *token_entropy, nn_jsd_stats *stats,
           float *scratch, size_t scratch_floats, const float *student, const float *teacher, const int32_t *targets,
           const uint8_t *mask, const nn_jsd_config *config, float grad_scale, int N, int V) {
    if (!(config->beta >= 0.0f && config->beta <= 1.0f))
        return rg_error("jsd: beta %g is outside [0, 1]", (double)config->beta);
    if (config->clip != NN_CLIP_NONE && config->clip != NN_CLIP_TOKEN && config->clip != NN_CLIP_ENTRY)
        return rg_error("jsd: unknown clip mode %d", (int)config->clip);
    if (config->clip != NN_CLIP_NONE && !(config->tau > 0.0f))
        return rg_error("jsd: clip threshold tau %g must be > 0", (double)config->tau);
    if (config->top_k < 0) return rg_error("jsd: top_k %d is negative", config->top_k);
    if (config->topk_from != NN_TOPK_TEACHER && config->topk_from != NN_TOPK_STUDENT &&
        config->topk_from != NN_TOPK_UNION)
        return rg_error("jsd: unknown top-k support %d", (int)config->topk_from);
    if (config->topk_tail != NN_TOPK_TAIL_BUCKET && config->topk_tail != NN_TOPK_RENORM)
        return rg_error("jsd: unknown top-k tail %d", (int)config->topk_tail);
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
    const int top_k = effective_top_k(config, V);
    /* The caller's scratch decides how many threads run (one row each at a time). */
    const size_t per_thread = thread_scratch_floats(config, top_k, V);
    if (N > 0 && (!scratch || scratch_floats < per_thread))
        return rg_error("jsd: scratch of %zu floats, one thread needs %zu (nn_jsd_scratch_floats)", scratch_floats,
                        per_thread);
#ifdef _OPENMP
    int threads = omp_get_max_threads();
    if ((size_t)threads > scratch_floats / per_thread) threads = (int)(scratch_floats / per_thread);
#endif

    double loss_sum = 0.0, clipped = 0.0, clip_total = 0.0, gap_sum = 0.0, entropy_sum = 0.0;
    long count = 0;
#pragma omp parallel for schedule(dynamic) num_threads(threads) \
    reduction(+ : loss_sum, clipped, clip_total, gap_sum, entropy_sum, count)
    for (int n = 0; n < N; n++) {
#ifdef _OPENMP
        float *my_scratch = scratch + per_thread * (size_t)omp_get_thread_num();
#else
        float *my_scratch = scratch;
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
        double lse_s = nn_row_logsumexp(s, V), lse_t = nn_row_logsumexp(t, V);
        float gap = 0.0f;
        if (targets) gap = (float)(((double)t[targets[n]] - lse_t) - ((double)s[targets[n]] - lse_s));
        row_result res = {0};
        if (top_k)
            row_top_k(&dv, config, drow, s, t, lse_s, lse_t, V, grad_scale, my_scratch, &res);
        else
            row_full(&dv, config, drow, s, t, lse_s, lse_t, V, grad_scale, my_scratch, &res);
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
    stats->loss_sum += loss_sum;
    stats->clipped += clipped;
    stats->clip_total += clip_total;
    stats->gap_sum += gap_sum;
    stats->entropy_sum += entropy_sum;
    stats->count += count;
    return RG_OK;
}
