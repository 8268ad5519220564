/* adamw.c — AdamW and gradient clipping (see adamw.h). */
#include "train/adamw.h"

#include <math.h>
#include <string.h>

#include "base/error.h"

int rg_adamw_init(rg_adamw *opt, size_t n) {
    memset(opt, 0, sizeof *opt);
    opt->m = rg_malloc_aligned(sizeof(float) * (n ? n : 1));
    opt->v = rg_malloc_aligned(sizeof(float) * (n ? n : 1));
    if (!opt->m || !opt->v) {
        rg_adamw_free(opt);
        return RG_ERR;
    }
    memset(opt->m, 0, sizeof(float) * n);
    memset(opt->v, 0, sizeof(float) * n);
    opt->n = n;
    return RG_OK;
}

void rg_adamw_free(rg_adamw *opt) {
    rg_free_aligned(opt->m);
    rg_free_aligned(opt->v);
    memset(opt, 0, sizeof *opt);
}

void rg_adamw_update(rg_adamw *opt, float *params, const float *grads, size_t offset, size_t count, double lr,
                     const rg_adamw_config *cfg, int decay) {
    const long t = opt->step + 1;
    /* torch computes the bias corrections in Python floats (double), then
     * the element ops in f32 */
    const double bc1 = 1.0 - pow(cfg->beta1, (double)t);
    const double bc2 = 1.0 - pow(cfg->beta2, (double)t);
    const float step_size = (float)(lr / bc1);
    const float bc2_sqrt = (float)sqrt(bc2);
    const float decay_factor = decay ? (float)(1.0 - lr * cfg->weight_decay) : 1.0f;
    const float b1 = (float)cfg->beta1, b2 = (float)cfg->beta2, eps = (float)cfg->eps;
    const float one_minus_b1 = (float)(1.0 - cfg->beta1), one_minus_b2 = (float)(1.0 - cfg->beta2);
    float *p = params + offset, *m = opt->m + offset, *v = opt->v + offset;
    const float *g = grads + offset;
#pragma omp parallel for schedule(static) if (count > (1u << 16))
    for (size_t i = 0; i < count; i++) {
        p[i] *= decay_factor;
        m[i] = m[i] * b1 + one_minus_b1 * g[i];
        v[i] = v[i] * b2 + one_minus_b2 * g[i] * g[i];
        float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        p[i] -= step_size * (m[i] / denom);
    }
}

void rg_adamw_finish_step(rg_adamw *opt) { opt->step++; }

double rg_grad_sq_sum(const float *grads, size_t n) {
    double sum = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : sum) if (n > (1u << 16))
    for (size_t i = 0; i < n; i++) sum += (double)grads[i] * grads[i];
    return sum;
}

float rg_grad_clip_factor(double norm, float max_norm) {
    if (!(max_norm > 0.0f)) return 1.0f;
    double coef = (double)max_norm / (norm + 1e-6);
    return coef < 1.0 ? (float)coef : 1.0f;
}

void rg_grad_scale(float *grads, size_t n, float factor) {
    if (factor == 1.0f) return;
#pragma omp parallel for schedule(static) if (n > (1u << 16))
    for (size_t i = 0; i < n; i++) grads[i] *= factor;
}
