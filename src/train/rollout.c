/* rollout.c — see rollout.h. */
#include "train/rollout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "dist/dist.h"

int rg_rollout_context(int context_len, int longest_prompt, int max_new) {
    long rows = (long)longest_prompt + max_new;
    return rows < context_len ? (int)rows : context_len;
}

static const rg_lora *policy_adapter(const rg_trainer *t) { return t->cfg.lora_rank > 0 ? &t->lora : NULL; }

int rg_rollout_state_init(rg_infer_state *state, const rg_trainer *t, const rg_gen_options *gen) {
    const int batch = gen->batch > 0 ? gen->batch : 1;
    const int rows = rg_context_len(&t->model->cfg, gen->context);
    const int chunk = RG_GEN_PREFILL_CHUNK > batch ? RG_GEN_PREFILL_CHUNK : batch;
    if (rg_infer_init(state, t->model, batch, rows, chunk) != RG_OK)
        return rg_error_prefix("rollouts' KV cache (%d sequences x %d tokens)", batch, rows);
    if (rg_infer_set_lora(state, t->model, policy_adapter(t)) != RG_OK) {
        rg_infer_free(state);
        return RG_ERR;
    }
    return RG_OK;
}

/* RGSD_TEST_ROLLOUTS=DIR (tests/e2e/mpi.sh): each rank appends its rollouts to DIR/rollouts-RANK.txt, one
 * line "step position tokens..." per rollout, so a test can compare what N ranks drew with one process. */
static void trace_rollouts(const rg_trainer *t, uint64_t first, int n, const rg_gen_result *results) {
    const char *dir = getenv("RGSD_TEST_ROLLOUTS");
    if (!dir) return;
    char path[4096];
    snprintf(path, sizeof path, "%s/rollouts-%d.txt", dir, rg_dist_rank());
    FILE *f = fopen(path, "a");
    if (!f) return;
    for (int i = 0; i < n; i++) {
        fprintf(f, "%ld %llu", t->step + 1, (unsigned long long)(first + (uint64_t)i));
        for (int k = 0; k < results[i].n_tokens; k++) fprintf(f, " %d", results[i].tokens[k]);
        fprintf(f, "%s\n", results[i].stopped ? " stop" : "");
    }
    fclose(f);
}

int rg_rollouts_generate(rg_infer_state *state, const rg_trainer *t, const rg_gen_options *gen, int n,
                         const int32_t *const *prompt_ids, const int *prompt_lens, rg_gen_result *results) {
    rg_gen_options step_gen = *gen;
    step_gen.seed = gen->seed * 0x9E3779B97F4A7C15ull + (uint64_t)t->step + 1; /* (seed, step): resumable */
    step_gen.first_index = (uint64_t)rg_dist_rank() * (uint64_t)n; /* equal shares: this rank's first position */
    step_gen.lora = policy_adapter(t);
    step_gen.state = state;
    if (rg_generate(t->model, n, prompt_ids, prompt_lens, &step_gen, results, NULL, NULL) != RG_OK) return RG_ERR;
    trace_rollouts(t, step_gen.first_index, n, results);
    return RG_OK;
}

int32_t *rg_rollout_response(const rg_gen_result *g, int32_t end_token, int *len) {
    *len = g->n_tokens + (g->stopped && end_token >= 0);
    int32_t *response = rg_malloc(sizeof(int32_t) * (size_t)(*len ? *len : 1));
    if (!response) return NULL;
    memcpy(response, g->tokens, sizeof(int32_t) * (size_t)g->n_tokens);
    if (*len > g->n_tokens) response[g->n_tokens] = end_token;
    return response;
}

int rg_rollout_batch_init(rg_rollout_batch *b, int n) {
    *b = (rg_rollout_batch){.n = n,
                            .prompt_ids = rg_calloc((size_t)n, sizeof *b->prompt_ids),
                            .prompt_lens = rg_calloc((size_t)n, sizeof *b->prompt_lens),
                            .results = rg_calloc((size_t)n, sizeof *b->results),
                            .responses = rg_calloc((size_t)n, sizeof *b->responses),
                            .response_lens = rg_calloc((size_t)n, sizeof *b->response_lens)};
    if (b->prompt_ids && b->prompt_lens && b->results && b->responses && b->response_lens) return RG_OK;
    rg_rollout_batch_free(b);
    return RG_ERR;
}

void rg_rollout_batch_free(rg_rollout_batch *b) {
    if (b->generated) rg_gen_results_free(b->results, b->n);
    for (int i = 0; b->responses && i < b->n; i++) free(b->responses[i]);
    free(b->prompt_ids);
    free(b->prompt_lens);
    free(b->results);
    free(b->responses);
    free(b->response_lens);
    memset(b, 0, sizeof *b);
}

int rg_rollout_batch_generate(rg_rollout_batch *b, rg_infer_state *state, const rg_trainer *t,
                              const rg_gen_options *gen, int32_t end_token) {
    if (rg_rollouts_generate(state, t, gen, b->n, b->prompt_ids, b->prompt_lens, b->results) != RG_OK)
        return RG_ERR;
    b->generated = 1;
    for (int i = 0; i < b->n; i++)
        if (!(b->responses[i] = rg_rollout_response(&b->results[i], end_token, &b->response_lens[i]))) return RG_ERR;
    return RG_OK;
}
