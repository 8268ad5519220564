/* adamw.h — AdamW (decoupled weight decay) exactly as torch.optim.AdamW
 * (torch 1.13, single-tensor path), and global-norm gradient clipping as
 * torch.nn.utils.clip_grad_norm_.
 *
 * Per step t (1-based), per element:
 *   p -= lr * weight_decay * p                 (only where decay applies)
 *   m  = beta1 m + (1 - beta1) g
 *   v  = beta2 v + (1 - beta2) g^2
 *   p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * Weight decay is applied to matrices only (embeddings, projections, lm_head,
 * LoRA A/B), never to norm weights or biases. The moments m and v are one
 * contiguous buffer each, the same layout as the parameters they follow. */
#ifndef RG_ADAMW_H
#define RG_ADAMW_H

#include <stddef.h>

#include "nn/nn.h"

/* beta1, beta2, eps, weight_decay: doubles, as torch's Python floats */
typedef nn_adamw_config rg_adamw_config;

typedef struct {
    float *m, *v; /* [n] first and second moments */
    size_t n;
    long step;    /* optimizer steps taken */
} rg_adamw;

int rg_adamw_init(rg_adamw *opt, size_t n);
void rg_adamw_free(rg_adamw *opt);
/* Updates params[offset, offset+count) from grads at the same offsets, for
 * step number opt->step + 1 (call rg_adamw_finish_step after all ranges). */
void rg_adamw_update(rg_adamw *opt, float *params, const float *grads, size_t offset, size_t count, double lr,
                     const rg_adamw_config *cfg, int decay);
void rg_adamw_finish_step(rg_adamw *opt);

/* sqrt(sum g^2) in double. */
double rg_grad_sq_sum(const float *grads, size_t n);
/* Given the global norm over every gradient: when norm > max_norm (> 0),
 * scales grads by max_norm / (norm + 1e-6), as clip_grad_norm_. Returns the
 * factor applied (1 when not clipped). */
float rg_grad_clip_factor(double norm, float max_norm);
void rg_grad_scale(float *grads, size_t n, float factor);

#endif
