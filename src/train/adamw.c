/* adamw.c — the optimizer's state (moments, step count) and gradient
 * clipping's decision; the element arithmetic is nn's (nn/optim.c). */
#include "train/adamw.h"

#include <string.h>

#include "base/error.h"
#include "nn/nn.h"

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
    nn_adamw_step(params + offset, opt->m + offset, opt->v + offset, grads + offset, count, cfg, lr, opt->step + 1,
                  decay);
}

void rg_adamw_finish_step(rg_adamw *opt) { opt->step++; }

double rg_grad_sq_sum(const float *grads, size_t n) { return nn_sum_sq(grads, n); }

float rg_grad_clip_factor(double norm, float max_norm) {
    if (!(max_norm > 0.0f)) return 1.0f;
    double coef = (double)max_norm / (norm + 1e-6);
    return coef < 1.0 ? (float)coef : 1.0f;
}

void rg_grad_scale(float *grads, size_t n, float factor) {
    if (factor == 1.0f) return;
    nn_scale(grads, n, factor);
}
