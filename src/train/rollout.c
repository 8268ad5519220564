/* rollout.c — see rollout.h. */
#include "train/rollout.h"

#include <string.h>

#include "base/error.h"
#include "io/dtype.h"
#include "nn/nn.h"
#include "train/lora_merge.h"

int rg_rollout_model_refresh(rg_model *rollout, const rg_model *base, const rg_lora *lora) {
    if (rollout->dtype != RG_WEIGHTS_F32 || rollout->n_entries != base->n_entries)
        return rg_error("rgsd: the rollout model must be an f32 model of the base's config");
    for (int i = 0; i < base->n_entries; i++) {
        const rg_param_entry *from = &base->entries[i], *to = &rollout->entries[i];
        float *dst = rollout->params + to->offset;
        if (from->in_bf16)
            nn_bf16_to_f32_array(dst, base->params_bf16 + from->offset, from->numel);
        else
            memcpy(dst, base->params + from->offset, sizeof(float) * from->numel);
    }
    return lora ? rg_lora_merge(lora, rollout) : RG_OK;
}

int rg_rollouts_generate(rg_model *rollout, const rg_trainer *t, const rg_gen_options *gen, int n,
                         const int32_t *const *prompt_ids, const int *prompt_lens, rg_gen_result *results) {
    const rg_model *policy = t->model;
    if (t->cfg.lora_rank > 0) {
        if (rg_rollout_model_refresh(rollout, t->model, &t->lora) != RG_OK) return RG_ERR;
        policy = rollout;
    }
    rg_gen_options step_gen = *gen;
    step_gen.seed = gen->seed * 0x9E3779B97F4A7C15ull + (uint64_t)t->step + 1; /* (seed, step): resumable */
    return rg_generate(policy, n, prompt_ids, prompt_lens, &step_gen, results, NULL, NULL);
}

int32_t *rg_rollout_response(const rg_gen_result *g, int32_t end_token, int *len) {
    *len = g->n_tokens + (g->stopped && end_token >= 0);
    int32_t *response = rg_malloc(sizeof(int32_t) * (size_t)(*len ? *len : 1));
    if (!response) return NULL;
    memcpy(response, g->tokens, sizeof(int32_t) * (size_t)g->n_tokens);
    if (*len > g->n_tokens) response[g->n_tokens] = end_token;
    return response;
}
