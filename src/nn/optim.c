/* optim.c — the element arithmetic of the optimizer step (nn.h): AdamW as
 * torch.optim.AdamW (torch 1.13, single-tensor path), the squared norm of a
 * gradient buffer, and a scale. The caller keeps the schedule, the moments'
 * storage and the step count. */
#include <math.h>

#include "nn/nn.h"

// params[n], m[n], v[n] updated in place from grads[n] for step t (1-based)
void nn_adamw_step(float *params, float *m, float *v, const float *grads, size_t n, const nn_adamw_config *cfg,
                   double lr, long t, int decay) {
    /* torch computes the bias corrections in Python floats (double), then
     * the element ops in f32 */
    const double bc1 = 1.0 - pow(cfg->beta1, (double)t);
    const double bc2 = 1.0 - pow(cfg->beta2, (double)t);
    const float step_size = (float)(lr / bc1);
    const float bc2_sqrt = (float)sqrt(bc2);
    const float decay_factor = decay ? (float)(1.0 - lr * cfg->weight_decay) : 1.0f;
    const float b1 = (float)cfg->beta1, b2 = (float)cfg->beta2, eps = (float)cfg->eps;
    const float one_minus_b1 = (float)(1.0 - cfg->beta1), one_minus_b2 = (float)(1.0 - cfg->beta2);
#pragma omp parallel for schedule(static) if (n > (1u << 16))
    for (size_t i = 0; i < n; i++) {
        params[i] *= decay_factor;
        m[i] = m[i] * b1 + one_minus_b1 * grads[i];
        v[i] = v[i] * b2 + one_minus_b2 * grads[i] * grads[i];
        float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        params[i] -= step_size * (m[i] / denom);
    }
}

// x[n] -> sum x^2, each square and the sum in double
double nn_sum_sq(const float *x, size_t n) {
    double sum = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : sum) if (n > (1u << 16))
    for (size_t i = 0; i < n; i++) sum += (double)x[i] * x[i];
    return sum;
}

// x[n] *= factor
void nn_scale(float *x, size_t n, float factor) {
#pragma omp parallel for schedule(static) if (n > (1u << 16))
    for (size_t i = 0; i < n; i++) x[i] *= factor;
}
