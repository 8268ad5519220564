/* embedding.c — token embedding lookup and its scatter-add gradient.
 * Ids are trusted here: the tokenizer and the data loader validate them
 * against the vocabulary before they reach a kernel. */
#include <string.h>

#include "nn/nn.h"

// ids[N], table[V,C] -> out[N,C]
void nn_embedding_forward(float *out, const int32_t *ids, const float *table, int N, int C) {
#pragma omp parallel for schedule(static) if ((size_t)N * C > (1u << 16))
    for (int n = 0; n < N; n++) memcpy(out + (size_t)n * C, table + (size_t)ids[n] * C, (size_t)C * sizeof(float));
}

// ids[N], table[V,C] bf16 -> out[N,C]
void nn_embedding_bf16_forward(float *out, const int32_t *ids, const uint16_t *table, int N, int C) {
#pragma omp parallel for schedule(static) if ((size_t)N * C > (1u << 16))
    for (int n = 0; n < N; n++) {
        const uint16_t *row = table + (size_t)ids[n] * C;
        float *o = out + (size_t)n * C;
        for (int c = 0; c < C; c++) o[c] = nn_bf16_to_f32(row[c]);
    }
}

// dout[N,C], ids[N] -> dtable[V,C] +=
void nn_embedding_backward(float *dtable, const float *dout, const int32_t *ids, int N, int C) {
    /* Threads split the channels, not the positions: a repeated id then
     * never has two writers, and each thread's sums stay in id order. */
#pragma omp parallel for schedule(static) if ((size_t)N * C > (1u << 16))
    for (int c0 = 0; c0 < C; c0 += 64) {
        int c1 = c0 + 64 < C ? c0 + 64 : C;
        for (int n = 0; n < N; n++) {
            float *d = dtable + (size_t)ids[n] * C;
            const float *g = dout + (size_t)n * C;
            for (int c = c0; c < c1; c++) d[c] += g[c];
        }
    }
}
