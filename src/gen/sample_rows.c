/* sample_rows.c — the sampler's whole-vocabulary passes in AVX2 lanes (see
 * sample_rows.h). None of them rounds: they compare, count, select and
 * divide element by element, so lanes change nothing but the speed. */

/* The release build is -march=x86-64-v3 already; this also lets the
 * sanitizer build (no -march) compile the AVX2 code. */

#include "gen/sample_rows.h"

#include <immintrin.h>
#include <math.h>

#include "base/isa.h"

RG_ISA_BEGIN("avx2,fma")

rg_logit_scan rg_scan_logits(const float *x, int n) {
    rg_logit_scan r = {-1, -1, 0};
    const __m256 pinf = _mm256_set1_ps(INFINITY), ninf = _mm256_set1_ps(-INFINITY);
    /* per lane: its largest value and the first index holding it */
    __m256 lane_max = ninf, bad = _mm256_setzero_ps();
    __m256i lane_at = _mm256_set1_epi32(-1), at = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i infinite = _mm256_setzero_si256(); /* minus the count of -inf per lane */
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        bad = _mm256_or_ps(bad, _mm256_cmp_ps(v, pinf, _CMP_EQ_UQ)); /* NaN or +inf */
        infinite = _mm256_add_epi32(infinite, _mm256_castps_si256(_mm256_cmp_ps(v, ninf, _CMP_EQ_OQ)));
        __m256 greater = _mm256_cmp_ps(v, lane_max, _CMP_GT_OQ);
        lane_max = _mm256_blendv_ps(lane_max, v, greater);
        lane_at = _mm256_castps_si256(
            _mm256_blendv_ps(_mm256_castsi256_ps(lane_at), _mm256_castsi256_ps(at), greater));
        at = _mm256_add_epi32(at, _mm256_set1_epi32(8));
    }
    if (_mm256_movemask_ps(bad)) i = 0; /* find the first one below, in order */
    float maxes[8];
    int ats[8], ninfs[8];
    _mm256_storeu_ps(maxes, lane_max);
    _mm256_storeu_si256((__m256i *)ats, lane_at);
    _mm256_storeu_si256((__m256i *)ninfs, infinite);
    float best_value = -INFINITY;
    int n_inf = 0;
    if (i > 0) /* every lane pass was clean: combine the lanes */
        for (int l = 0; l < 8; l++) {
            n_inf -= ninfs[l];
            if (ats[l] >= 0 && (r.best < 0 || maxes[l] > best_value || (maxes[l] == best_value && ats[l] < r.best))) {
                best_value = maxes[l];
                r.best = ats[l];
            }
        }
    for (; i < n; i++) {
        float v = x[i];
        if (isnan(v) || v == INFINITY) {
            r.bad = i;
            return r;
        }
        n_inf += v == -INFINITY;
        if (v > best_value || (r.best < 0 && v != -INFINITY)) {
            best_value = v;
            r.best = i;
        }
    }
    r.n_finite = n - n_inf;
    return r;
}

/* Min-heap of the k largest values seen: its root is the k-th largest. */
static void sift_down(float *heap, int size, int at) {
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

static void offer(float *heap, int k, float v) {
    if (v > heap[0]) {
        heap[0] = v;
        sift_down(heap, k, 0);
    }
}

float rg_kth_largest(const float *x, int n, int k, float *heap) {
    int size = 0, i = 0;
    for (; i < n && size < k; i++)
        if (x[i] != -INFINITY) heap[size++] = x[i];
    for (int j = k / 2 - 1; j >= 0; j--) sift_down(heap, k, j);
    /* most values are below the root: test eight at once, offer the rest */
    for (; i + 8 <= n; i += 8) {
        int above = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + i), _mm256_set1_ps(heap[0]), _CMP_GT_OQ));
        for (; above; above &= above - 1) offer(heap, k, x[i + __builtin_ctz((unsigned)above)]);
    }
    for (; i < n; i++) offer(heap, k, x[i]);
    return heap[0];
}

int rg_select_above(const float *w, int n, double floor, uint64_t *out) {
    /* For a float w, (double)w > floor exactly when w > the largest float
     * <= floor (the next float up is > floor); w == 1 passes too, as
     * floor < 1. So one float compare decides; within a block of eight
     * every key is written and the count advances past the ones that pass
     * (no branch to mispredict). */
    float below = (float)floor;
    if ((double)below > floor) below = nextafterf(below, -INFINITY);
    const __m256 vbelow = _mm256_set1_ps(below);
    int m = 0, i = 0;
    for (; i + 8 <= n; i += 8) { /* blocks with none above (top-k, peaked rows) cost one compare */
        int above = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(w + i), vbelow, _CMP_GT_OQ));
        if (above)
            for (int j = 0; j < 8; j++) {
                out[m] = rg_nucleus_key(w[i + j], i + j);
                m += above >> j & 1;
            }
    }
    for (; i < n; i++) {
        out[m] = rg_nucleus_key(w[i], i);
        m += w[i] > below;
    }
    return m;
}

void rg_divide_row(float *w, int n, double total) {
    const __m256d vtotal = _mm256_set1_pd(total);
    int i = 0;
    for (; i + 4 <= n; i += 4)
        _mm_storeu_ps(w + i, _mm256_cvtpd_ps(_mm256_div_pd(_mm256_cvtps_pd(_mm_loadu_ps(w + i)), vtotal)));
    for (; i < n; i++) w[i] = (float)((double)w[i] / total);
}

RG_ISA_END
