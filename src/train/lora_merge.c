/* lora_merge.c — see lora_merge.h. */
#include "train/lora_merge.h"

#include <math.h>

#include "base/error.h"
#include "nn/nn.h"

static size_t count_not_finite(const float *x, size_t n) {
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) bad += !isfinite(x[i]);
    return bad;
}

int rg_lora_merge(const rg_lora *lora, rg_model *model) {
    if (model->dtype != RG_WEIGHTS_F32) return rg_error("merge: the base model must be loaded in f32");
    if (lora->n_layers != model->cfg.n_layers)
        return rg_error("merge: adapter has %d layers, model has %d", lora->n_layers, model->cfg.n_layers);
    for (int l = 0; l < lora->n_layers; l++) {
        rg_layer_weights *L = &model->layers[l];
        const rg_matrix *mats[RG_LORA_N_MODULES] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (int m = 0; m < RG_LORA_N_MODULES; m++) {
            const rg_lora_slot *s = rg_lora_slot_at(lora, l, (rg_lora_module)m);
            if (!s->active) continue;
            if (mats[m]->rows != s->out || mats[m]->cols != s->in)
                return rg_error("merge: layer %d %s is [%d, %d], adapter expects [%d, %d]", l,
                                rg_lora_module_name((rg_lora_module)m), mats[m]->rows, mats[m]->cols, s->out, s->in);
            /* W[out, in] += scaling * B[out, r] A[r, in] */
            nn_lora_merge((float *)mats[m]->f32, lora->params + s->a_offset, lora->params + s->b_offset,
                          lora->scaling, s->in, s->out, lora->rank);
            /* Huge adapter weights overflow even with a sane alpha: never
             * write a checkpoint of inf/NaN and call it merged. */
            size_t bad = count_not_finite(mats[m]->f32, (size_t)s->out * (size_t)s->in);
            if (bad)
                return rg_error("merge: layer %d %s: %zu weights are inf or NaN after adding the adapter "
                                "(lora_alpha %g, r %d: the adapter's values are out of range)",
                                l, rg_lora_module_name((rg_lora_module)m), bad, (double)lora->alpha, lora->rank);
        }
    }
    return RG_OK;
}
