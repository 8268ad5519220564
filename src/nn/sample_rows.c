/* sample_rows.c — the sampler's whole-vocabulary passes in AVX2 lanes (see
 * sample_rows.h). None of them rounds: they compare, count, select and
 * divide element by element, so lanes change nothing but the speed — and
 * the draws do not depend on the kernel path.
 *
 * Each pass is an AVX2 loop over blocks of 8 (inside RG_ISA_BEGIN: the
 * release build is -march=x86-64-v3 already, the sanitizer build has no
 * -march) that hands its position to the plain scalar loop, which finishes
 * the row. On the ref path (RGSD_KERNELS=ref, or a CPU without AVX2/FMA;
 * src/nn/cpu.h) the AVX2 loop is skipped and the scalar loop does it all. */

#include "nn/sample_rows.h"

#include <math.h>

#include "nn/isa.h"
#include "nn/cpu.h"

#if RG_HAVE_X86_SIMD /* x86-64 only (nn/isa.h): elsewhere the scalar loops do every row */
#include <immintrin.h>
#endif

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

#if RG_HAVE_X86_SIMD
RG_ISA_BEGIN("avx2,fma")

/* Blocks of 8 from the start: returns where the scalar loop goes on, with
 * *r, *best_value, *n_inf set for [0, returned) (0: a bad logit is among the
 * blocks, so the scalar loop finds the first one, in order, from scratch). */
static int scan_logits_avx2(const float *x, int n, rg_logit_scan *r, float *best_value, int *n_inf) {
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
    if (i == 0 || _mm256_movemask_ps(bad)) return 0;
    float maxes[8];
    int ats[8], ninfs[8];
    _mm256_storeu_ps(maxes, lane_max);
    _mm256_storeu_si256((__m256i *)ats, lane_at);
    _mm256_storeu_si256((__m256i *)ninfs, infinite);
    /* every lane pass was clean: combine the lanes */
    for (int l = 0; l < 8; l++) {
        *n_inf -= ninfs[l];
        if (ats[l] >= 0 && (r->best < 0 || maxes[l] > *best_value || (maxes[l] == *best_value && ats[l] < r->best))) {
            *best_value = maxes[l];
            r->best = ats[l];
        }
    }
    return i;
}

/* 8 at a time from x[i]: the values above the heap's root are offered. */
static int kth_largest_avx2(const float *x, int i, int n, int k, float *heap) {
    for (; i + 8 <= n; i += 8) {
        int above = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + i), _mm256_set1_ps(heap[0]), _CMP_GT_OQ));
        for (; above; above &= above - 1) offer(heap, k, x[i + __builtin_ctz((unsigned)above)]);
    }
    return i;
}

/* Blocks of 8 of rg_select_above: every key of a block with one above is
 * written and the count advances past the ones that pass (no branch to
 * mispredict); blocks with none above (top-k, peaked rows) cost one compare. */
static int select_above_avx2(const float *w, int n, float below, uint64_t *out, int *count) {
    const __m256 vbelow = _mm256_set1_ps(below);
    int m = *count, i = 0;
    for (; i + 8 <= n; i += 8) {
        int above = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(w + i), vbelow, _CMP_GT_OQ));
        if (above)
            for (int j = 0; j < 8; j++) {
                out[m] = rg_nucleus_key(w[i + j], i + j);
                m += above >> j & 1;
            }
    }
    *count = m;
    return i;
}

static int divide_row_avx2(float *w, int n, double total) {
    const __m256d vtotal = _mm256_set1_pd(total);
    int i = 0;
    for (; i + 4 <= n; i += 4)
        _mm_storeu_ps(w + i, _mm256_cvtpd_ps(_mm256_div_pd(_mm256_cvtps_pd(_mm_loadu_ps(w + i)), vtotal)));
    return i;
}

RG_ISA_END

static int use_avx2(void) { return nn_cpu_path() != NN_KERNELS_REF; }
#endif /* RG_HAVE_X86_SIMD */

rg_logit_scan rg_scan_logits(const float *x, int n) {
    rg_logit_scan r = {-1, -1, 0};
    float best_value = -INFINITY;
    int n_inf = 0;
    int i = 0;
#if RG_HAVE_X86_SIMD
    if (use_avx2()) i = scan_logits_avx2(x, n, &r, &best_value, &n_inf);
#endif
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

float rg_kth_largest(const float *x, int n, int k, float *heap) {
    int size = 0, i = 0;
    for (; i < n && size < k; i++)
        if (x[i] != -INFINITY) heap[size++] = x[i];
    for (int j = k / 2 - 1; j >= 0; j--) sift_down(heap, k, j);
    /* most values are below the root: test eight at once, offer the rest */
#if RG_HAVE_X86_SIMD
    if (use_avx2()) i = kth_largest_avx2(x, i, n, k, heap);
#endif
    for (; i < n; i++) offer(heap, k, x[i]);
    return heap[0];
}

int rg_select_above(const float *w, int n, double floor, uint64_t *out) {
    /* For a float w, (double)w > floor exactly when w > the largest float
     * <= floor (the next float up is > floor); w == 1 passes too, as
     * floor < 1. So one float compare decides. */
    float below = (float)floor;
    if ((double)below > floor) below = nextafterf(below, -INFINITY);
    int m = 0;
    int i = 0;
#if RG_HAVE_X86_SIMD
    if (use_avx2()) i = select_above_avx2(w, n, below, out, &m);
#endif
    for (; i < n; i++) {
        out[m] = rg_nucleus_key(w[i], i);
        m += w[i] > below;
    }
    return m;
}

void rg_divide_row(float *w, int n, double total) {
    int i = 0;
#if RG_HAVE_X86_SIMD
    if (use_avx2()) i = divide_row_avx2(w, n, total);
#endif
    for (; i < n; i++) w[i] = (float)((double)w[i] / total);
}
