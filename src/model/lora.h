/* lora.h — LoRA adapters on the projections of every layer (PEFT semantics).
 *
 * For a targeted projection y = x W^T (+ b), with W[out, in] frozen:
 *   y = x W^T (+ b) + scaling * (x A^T) B^T,   A[r, in], B[out, r],
 *   scaling = alpha / r   (PEFT's LoraConfig default, use_rslora = False).
 * A starts as PEFT's kaiming_uniform_(a = sqrt(5)) draw, U(-1/sqrt(in), 1/sqrt(in));
 * B starts at zero, so a fresh adapter leaves the model unchanged.
 *
 * All A and B matrices live in ONE contiguous f32 buffer `params` (and their
 * gradients in `grads`, same layout), so one AdamW pass and later one
 * all-reduce cover them. `enabled = 0` switches every adapter off: the RGSD
 * teacher is the same base weights with the adapters off, no second copy. */
#ifndef RG_LORA_H
#define RG_LORA_H

#include <stddef.h>
#include <stdint.h>

#include "model/config.h"
#include "model/model.h"

typedef enum {
    RG_LORA_Q = 0, RG_LORA_K, RG_LORA_V, RG_LORA_O, RG_LORA_GATE, RG_LORA_UP, RG_LORA_DOWN,
    RG_LORA_N_MODULES
} rg_lora_module;

#define RG_LORA_ALL_MODULES ((1u << RG_LORA_N_MODULES) - 1u)

/* "q_proj", ..., "down_proj" (PEFT target_modules names). */
const char *rg_lora_module_name(rg_lora_module m);
/* "self_attn.q_proj", ..., "mlp.down_proj" (the path inside a layer). */
const char *rg_lora_module_path(rg_lora_module m);

/* One adapted projection. A is at params + a_offset, B at params + b_offset. */
typedef struct {
    int active; /* 0: the module is not targeted */
    int in, out;
    size_t a_offset, b_offset;
} rg_lora_slot;

typedef struct {
    int rank;
    float alpha;
    float scaling;      /* alpha / rank */
    unsigned targets;   /* bit m set: module m is adapted */
    int enabled;        /* 0: adapters off (forward = base model) */
    int n_layers;
    rg_lora_slot *slots; /* [n_layers * RG_LORA_N_MODULES] */
    float *params;       /* every A and B */
    float *grads;        /* same layout as params */
    size_t n_params;
} rg_lora;

/* Lays out adapters for cfg (A and B zero; grads zero). rank >= 1, targets != 0. */
int rg_lora_init(rg_lora *lora, const rg_model_config *cfg, int rank, float alpha, unsigned targets);
void rg_lora_free(rg_lora *lora);
/* PEFT's initialisation: A ~ U(-1/sqrt(in), 1/sqrt(in)) from a seeded RNG, B = 0. */
void rg_lora_init_weights(rg_lora *lora, uint64_t seed);

/* "all" or a comma list of module names ("q_proj,v_proj") -> bit mask. */
int rg_lora_parse_targets(const char *list, unsigned *targets);

static inline const rg_lora_slot *rg_lora_slot_at(const rg_lora *lora, int layer, rg_lora_module m) {
    return &lora->slots[(size_t)layer * RG_LORA_N_MODULES + m];
}

/* The adapter's share of a projection, added into y: xa[N, r] = x A^T is
 * written (kept for backward), then y[N, out] += scaling * xa B^T. */
void rg_lora_forward(float *y, float *xa, const rg_lora *lora, const rg_lora_slot *slot, const float *x, int N);
/* y[N, W.rows] = x W^T + bias, plus scaling * (x A^T) B^T when the adapters
 * are on (lora non-NULL, enabled) and adapt module m of `layer`; then
 * xa[N, r] receives x A^T (kept for backward). scratch: nn_linear's (NULL:
 * none). The one projection of the decoder block (block.c)
 * that training and decoding share, so a rollout samples from exactly the policy
 * that is trained, without a merged copy of the weights. */
void rg_lora_project(float *y, const float *x, const rg_matrix *W, const float *bias, const rg_lora *lora, float *xa,
                     int layer, rg_lora_module m, int N, const nn_scratch *scratch);
/* dy[N, out], x[N, in], xa[N, r] as in forward -> dA +=, dB += (in lora->grads),
 * dx[N, in] += (may be NULL). scratch: N * r floats. */
void rg_lora_backward(float *dx, float *scratch, rg_lora *lora, const rg_lora_slot *slot, const float *dy,
                      const float *x, const float *xa, int N);

#endif
