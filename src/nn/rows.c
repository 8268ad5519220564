/* rows.c — row bookkeeping on activations: the residual add and the LM
 * head's gather of loss rows and its scatter-add backward (see nn.h). */
#include <string.h>

#include "nn/nn.h"

// x[n] += y[n]
void nn_add_inplace(float *x, const float *y, size_t n) {
#pragma omp parallel for schedule(static) if (n > (1u << 15))
    for (size_t i = 0; i < n; i++) x[i] += y[i];
}

// src[*,C], rows[n] -> dst[n,C]
void nn_gather_rows(float *dst, const float *src, const int32_t *rows, int n, int C) {
    for (int i = 0; i < n; i++) memcpy(dst + (size_t)i * C, src + (size_t)rows[i] * C, sizeof(float) * (size_t)C);
}

// src[n,C], rows[n] -> dst[rows[i],C] +=
void nn_scatter_add_rows(float *dst, const float *src, const int32_t *rows, int n, int C) {
    for (int i = 0; i < n; i++) {
        float *d = dst + (size_t)rows[i] * C;
        const float *s = src + (size_t)i * C;
        for (int k = 0; k < C; k++) d[k] += s[k];
    }
}
