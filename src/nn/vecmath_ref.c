/* vecmath_ref.c — the plain-C row reductions of vecmath.h: libm expf/log,
 * one entry at a time in index order. The specification the AVX2 versions
 * (vecmath.c) are tested against, and the ref path (RGSD_KERNELS=ref, or a
 * CPU without AVX2/FMA). Every sum is in double: one f32 accumulator in
 * index order would be less accurate than the AVX2 versions' 8 f32 lanes (a
 * 150k-entry row: measured 1.8e-4 relative off), and the reference must be
 * the accurate side of the comparison. */

#include "nn/vecmath.h"

#include <math.h>

float nn_row_max_ref(const float *x, int n) {
    float max = -INFINITY;
    for (int i = 0; i < n; i++) max = x[i] > max ? x[i] : max;
    return max;
}

double nn_row_logsumexp_ref(const float *x, int n) {
    const float max = nn_row_max_ref(x, n);
    if (max == -INFINITY) return -INFINITY;
    double total = 0.0;
    for (int i = 0; i < n; i++) total += expf(x[i] - max);
    return (double)max + log(total);
}

void nn_row_exp_ref(float *out, const float *x, float shift, float scale, int n) {
    for (int i = 0; i < n; i++) out[i] = scale * expf(x[i] - shift);
}

void nn_row_softmax_ref(float *row, int valid) {
    const float max = nn_row_max_ref(row, valid);
    double sum = 0.0;
    for (int i = 0; i < valid; i++) {
        row[i] = expf(row[i] - max);
        sum += row[i];
    }
    const float inv = (float)(1.0 / sum);
    for (int i = 0; i < valid; i++) row[i] *= inv;
}

void nn_row_softmax_backward_ref(float *d, const float *p, int n) {
    double acc = 0.0;
    for (int i = 0; i < n; i++) acc += (double)p[i] * d[i];
    const float dot = (float)acc;
    for (int i = 0; i < n; i++) d[i] = p[i] * (d[i] - dot);
}
