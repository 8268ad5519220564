/* lora.c — LoRA adapter layout, initialisation, and the forward and backward
 * of one slot through nn's kernels (see lora.h). */
#include "model/lora.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/rng.h"
#include "nn/nn.h"

static const char *const module_names[RG_LORA_N_MODULES] = {"q_proj", "k_proj", "v_proj", "o_proj",
                                                            "gate_proj", "up_proj", "down_proj"};
static const char *const module_paths[RG_LORA_N_MODULES] = {
    "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
    "mlp.gate_proj",    "mlp.up_proj",      "mlp.down_proj"};

const char *rg_lora_module_name(rg_lora_module m) { return module_names[m]; }
const char *rg_lora_module_path(rg_lora_module m) { return module_paths[m]; }

int rg_lora_parse_targets(const char *list, unsigned *targets) {
    *targets = 0;
    if (!list || strcmp(list, "all") == 0 || strcmp(list, "all-linear") == 0) {
        *targets = RG_LORA_ALL_MODULES;
        return RG_OK;
    }
    const char *p = list;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        int found = 0;
        for (int m = 0; m < RG_LORA_N_MODULES; m++)
            if (strlen(module_names[m]) == len && strncmp(p, module_names[m], len) == 0) {
                *targets |= 1u << m;
                found = 1;
            }
        if (!found)
            return rg_error("LoRA target module '%.*s' is not one of q_proj,k_proj,v_proj,o_proj,gate_proj,"
                            "up_proj,down_proj (or 'all')", (int)len, p);
        p = end ? end + 1 : p + len;
    }
    if (!*targets) return rg_error("LoRA target module list is empty");
    return RG_OK;
}

int rg_lora_init(rg_lora *lora, const rg_model_config *cfg, int rank, float alpha, unsigned targets) {
    memset(lora, 0, sizeof *lora);
    if (rank < 1) return rg_error("LoRA rank must be >= 1 (got %d)", rank);
    if (!(alpha > 0.0f)) return rg_error("LoRA alpha must be > 0 (got %g)", (double)alpha);
    if (!(targets & RG_LORA_ALL_MODULES)) return rg_error("LoRA needs at least one target module");
    const int C = cfg->hidden_size, ffn = cfg->intermediate_size;
    const int q_dim = cfg->n_heads * cfg->head_dim, kv_dim = cfg->n_kv_heads * cfg->head_dim;
    const int shape_in[RG_LORA_N_MODULES] = {C, C, C, q_dim, C, C, ffn};
    const int shape_out[RG_LORA_N_MODULES] = {q_dim, kv_dim, kv_dim, C, ffn, ffn, C};
    lora->rank = rank;
    lora->alpha = alpha;
    lora->scaling = alpha / (float)rank;
    lora->targets = targets & RG_LORA_ALL_MODULES;
    lora->enabled = 1;
    lora->n_layers = cfg->n_layers;
    lora->slots = rg_calloc((size_t)cfg->n_layers * RG_LORA_N_MODULES, sizeof *lora->slots);
    if (!lora->slots) return RG_ERR;
    size_t n = 0;
    for (int l = 0; l < cfg->n_layers; l++)
        for (int m = 0; m < RG_LORA_N_MODULES; m++) {
            if (!(lora->targets & (1u << m))) continue;
            rg_lora_slot *s = &lora->slots[(size_t)l * RG_LORA_N_MODULES + m];
            s->active = 1;
            s->in = shape_in[m];
            s->out = shape_out[m];
            s->a_offset = n;
            n += (size_t)rank * s->in;
            s->b_offset = n;
            n += (size_t)s->out * rank;
        }
    lora->n_params = n;
    lora->params = rg_malloc_aligned(sizeof(float) * n);
    lora->grads = rg_malloc_aligned(sizeof(float) * n);
    if (!lora->params || !lora->grads) {
        rg_lora_free(lora);
        return RG_ERR;
    }
    memset(lora->params, 0, sizeof(float) * n);
    memset(lora->grads, 0, sizeof(float) * n);
    return RG_OK;
}

void rg_lora_free(rg_lora *lora) {
    free(lora->slots);
    rg_free_aligned(lora->params);
    rg_free_aligned(lora->grads);
    memset(lora, 0, sizeof *lora);
}

void rg_lora_init_weights(rg_lora *lora, uint64_t seed) {
    rg_rng rng;
    rg_rng_seed(&rng, seed);
    for (int l = 0; l < lora->n_layers; l++)
        for (int m = 0; m < RG_LORA_N_MODULES; m++) {
            const rg_lora_slot *s = rg_lora_slot_at(lora, l, (rg_lora_module)m);
            if (!s->active) continue;
            float bound = 1.0f / sqrtf((float)s->in);
            float *A = lora->params + s->a_offset;
            for (size_t i = 0; i < (size_t)lora->rank * s->in; i++) A[i] = (2.0f * rg_rng_uniform(&rng) - 1.0f) * bound;
            memset(lora->params + s->b_offset, 0, sizeof(float) * (size_t)s->out * lora->rank);
        }
}

/* The arithmetic is nn's (nn/lora.c); here only where A and B live. */

// x[N,in] -> xa[N,r] = x A^T; y[N,out] += scaling * xa B^T
void rg_lora_forward(float *y, float *xa, const rg_lora *lora, const rg_lora_slot *slot, const float *x, int N) {
    nn_lora_forward(y, xa, x, lora->params + slot->a_offset, lora->params + slot->b_offset, lora->scaling, N,
                    slot->in, slot->out, lora->rank);
}

// x[N,in] -> y[N,out] = x W^T + b (+ scaling * (x A^T) B^T), xa[N,r] = x A^T when adapted
void rg_lora_project(float *y, const float *x, const rg_matrix *W, const float *bias, const rg_lora *lora, float *xa,
                     int layer, rg_lora_module m, int N, const nn_scratch *scratch) {
    nn_linear(y, x, W, bias, N, scratch);
    if (lora && lora->enabled) {
        const rg_lora_slot *slot = rg_lora_slot_at(lora, layer, m);
        if (slot->active) rg_lora_forward(y, xa, lora, slot, x, N);
    }
}

// dy[N,out], x[N,in], xa[N,r] -> dA[r,in] +=, dB[out,r] +=, dx[N,in] +=
void rg_lora_backward(float *dx, float *scratch, rg_lora *lora, const rg_lora_slot *slot, const float *dy,
                      const float *x, const float *xa, int N) {
    nn_lora_backward(dx, lora->grads + slot->a_offset, lora->grads + slot->b_offset, scratch, dy, x, xa,
                     lora->params + slot->a_offset, lora->params + slot->b_offset, lora->scaling, N, slot->in,
                     slot->out, lora->rank);
}
