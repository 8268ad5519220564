/* loss.c — cross-entropy of logits against target ids with a per-position
 * mask, fused with its gradient so the caller can run the LM head over a
 * chunk of positions, take the loss and gradient for that chunk, and move on
 * without ever holding a whole [T, V] tensor. */
#include <math.h>
#include <string.h>

#include "base/error.h"
#include "nn/nn.h"
#include "nn/vecmath.h"

// logits[N,V], targets[N], mask[N] or NULL -> stats +=, token_loss[N], dlogits[N,V]
int nn_cross_entropy(float *dlogits, float *token_loss, nn_ce_stats *stats, const float *logits,
                     const int32_t *targets, const uint8_t *mask, float grad_scale, int N, int V) {
    for (int n = 0; n < N; n++) {
        if (targets[n] != NN_IGNORE_INDEX && (targets[n] < 0 || targets[n] >= V))
            return rg_error("cross_entropy: target %d at position %d is outside the vocabulary [0, %d)", targets[n],
                            n, V);
    }
    double loss_sum = 0.0;
    long count = 0;
#pragma omp parallel for schedule(static) reduction(+ : loss_sum, count)
    for (int n = 0; n < N; n++) {
        const float *row = logits + (size_t)n * V;
        float *drow = dlogits ? dlogits + (size_t)n * V : NULL;
        int counted = targets[n] != NN_IGNORE_INDEX && (!mask || mask[n]);
        if (!counted) {
            if (token_loss) token_loss[n] = 0.0f;
            if (drow) memset(drow, 0, (size_t)V * sizeof(float));
            continue;
        }
        double lse = nn_row_logsumexp(row, V);
        double loss = lse - (double)row[targets[n]];
        loss_sum += loss;
        count++;
        if (token_loss) token_loss[n] = (float)loss;
        if (drow) {
            /* d loss / d logit_i = softmax_i - [i == target]; drow may alias row. */
            float target_logit = row[targets[n]];
            nn_row_exp(drow, row, (float)lse, grad_scale, V);
            drow[targets[n]] = grad_scale * ((float)exp((double)target_logit - lse) - 1.0f);
        }
    }
    stats->loss_sum += loss_sum;
    stats->count += count;
    return RG_OK;
}
