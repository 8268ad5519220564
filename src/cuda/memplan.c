/* memplan.c — the memory plan of one RGSD step on one GPU (cuda_plan.h,
 * docs/cuda.md). A step has two phases that never overlap: rollouts (KV
 * cache, decode scratch) and training (one packed micro-batch's activations,
 * the teacher's final hidden states, the chunked LM head). Weights and
 * optimizer state persist through both; the peak is persistent + the larger
 * phase. */
#include "cuda/cuda_plan.h"

#include "base/error.h"

#define WORKSPACE_BYTES ((32.0 + 64.0) * 1024 * 1024) /* cuBLASLt workspace + small device buffers */

static int check_shape(const nn_cuda_model_shape *m) {
    if (m->vocab < 1 || m->hidden < 1 || m->layers < 1 || m->heads < 1 || m->kv_heads < 1 || m->head_dim < 1 ||
        m->intermediate < 1)
        return rg_error("memory plan: model %s has a non-positive size", m->name ? m->name : "?");
    if (m->heads % m->kv_heads != 0)
        return rg_error("memory plan: model %s: %d heads are not a multiple of %d kv heads", m->name ? m->name : "?",
                        m->heads, m->kv_heads);
    return RG_OK;
}

static int check_run(const nn_cuda_run *r) {
    if (r->lora_rank < 0) return rg_error("memory plan: LoRA rank %d is negative", r->lora_rank);
    if (r->prompts < 1 || r->prompt_tokens < 1 || r->teacher_prompt_tokens < 1 || r->new_tokens < 1)
        return rg_error("memory plan: prompts, prompt tokens and new tokens must be positive");
    if (r->micro_batch_tokens < 1 || r->head_chunk < 1)
        return rg_error("memory plan: micro-batch tokens and head chunk must be positive");
    return RG_OK;
}

/* Weights, master copy, gradients, optimizer and teacher copy. */
static void plan_persistent(nn_cuda_plan *p, const nn_cuda_model_shape *m, const nn_cuda_run *r) {
    p->params = nn_cuda_param_count(m);
    p->trainable = r->lora_rank ? nn_cuda_lora_param_count(m, r->lora_rank) : p->params;
    p->weights = 2 * p->params;                      /* bf16 */
    if (r->lora_rank) p->weights += 2 * p->trainable; /* bf16 copy of the adapters the kernels read */
    p->master = 4 * p->trainable;
    p->grads = 4 * p->trainable;
    p->optimizer = 8 * p->trainable;
    p->teacher_weights = r->lora_rank ? 0 : 2 * p->params;
    p->workspace = WORKSPACE_BYTES;
    p->persistent = p->weights + p->master + p->grads + p->optimizer + p->teacher_weights + p->workspace;
}

int nn_cuda_plan_rgsd(nn_cuda_plan *p, const nn_cuda_model_shape *m, const nn_cuda_run *r) {
    if (check_shape(m) || check_run(r)) return RG_ERR;
    *p = (nn_cuda_plan){0};
    plan_persistent(p, m, r);
    const double C = m->hidden, V = (double)m->vocab;
    /* Rollouts: every prompt decodes at once; the cache holds its whole context. */
    double positions = (double)r->prompts * (r->prompt_tokens + r->new_tokens);
    p->kv_cache = positions * m->layers * 2.0 * m->kv_heads * m->head_dim * 2;
    p->decode_scratch = r->prompts * (V * 4 + 8 * C * 4 + 2.0 * m->intermediate * 4);
    p->rollout_phase = p->kv_cache + p->decode_scratch;
    /* Training: one micro-batch's activations, plus the backward's transients
     * (one layer's activations in f32, the residual gradient in f32). The
     * teacher runs first, without backward, keeping only its final hidden
     * states; its logits are recomputed chunk by chunk in the fused head. */
    double tok = r->micro_batch_tokens, per_layer = nn_cuda_act_bytes_per_token_layer(m, r->lora_rank);
    p->activations = tok * (m->layers * per_layer + 2 * per_layer + 4 * C + 2 * C);
    p->teacher_hidden = tok * C * 2;
    int chunk = r->head_chunk < r->micro_batch_tokens ? r->head_chunk : r->micro_batch_tokens;
    p->head_scratch = (double)nn_cuda_lm_head_scratch_bytes(NN_CUDA_BF16, 1, r->micro_batch_tokens, (int)V, chunk);
    p->teacher_logits_dense = (double)r->prompts * r->new_tokens * V * 4;
    p->train_phase = p->activations + p->teacher_hidden + p->head_scratch;
    p->peak = p->persistent + (p->train_phase > p->rollout_phase ? p->train_phase : p->rollout_phase);
    return RG_OK;
}

int nn_cuda_plan_max_micro_batch(const nn_cuda_model_shape *m, const nn_cuda_run *run, double budget_bytes) {
    nn_cuda_run r = *run;
    int whole = run->prompts * (run->teacher_prompt_tokens + run->new_tokens), best = 0;
    for (int tok = 256; tok <= whole + 255; tok += 256) {
        r.micro_batch_tokens = tok;
        nn_cuda_plan p;
        if (nn_cuda_plan_rgsd(&p, m, &r)) return 0;
        if (p.peak > budget_bytes) break;
        best = tok;
    }
    return best;
}
