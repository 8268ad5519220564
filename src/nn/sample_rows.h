/* sample_rows.h — the sampler's whole-vocabulary passes, AVX2 (in src/nn, the
 * compute seam; used by src/gen). Each returns exactly what the obvious scalar loop returns; only
 * the time differs (tests/unit/test_sample.c checks them against those
 * loops). */
#ifndef RG_SAMPLE_ROWS_H
#define RG_SAMPLE_ROWS_H

#include "gen/nucleus.h"

typedef struct {
    int bad;      /* first index holding NaN or +inf, -1 if none */
    int best;     /* first index of the largest logit (-1 if all are -inf) */
    int n_finite; /* logits other than -inf */
} rg_logit_scan;

/* One pass over x[n]: the first bad logit, the argmax, the finite count.
 * When bad >= 0 the other fields are unspecified. */
rg_logit_scan rg_scan_logits(const float *x, int n);

/* The k-th largest finite value of x[n] (counting repeats), for
 * 0 < k < number of finite values; no NaN or +inf in x. heap: k floats. */
float rg_kth_largest(const float *x, int n, int k, float *heap);

/* The tokens i < n with (double)w[i] > floor or w[i] == 1, as nucleus keys
 * of (w[i], i) in increasing i, into out[] (which needs room for n).
 * Returns how many. 0 < floor < 1. */
int rg_select_above(const float *w, int n, double floor, uint64_t *out);

/* w[i] = (float)((double)w[i] / total), i < n. */
void rg_divide_row(float *w, int n, double total);

#endif
