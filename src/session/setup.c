/* setup.c — see setup.h. */
#include "session/setup.h"

#include <string.h>

#include "base/error.h"
#include "base/log.h"

void rg_think_tokens(const rg_lm *lm, int keep_think, int32_t *think_open, int32_t *think_close) {
    *think_open = rg_tokenizer_token_id(lm->tok, "<think>");
    *think_close = rg_tokenizer_token_id(lm->tok, "</think>");
    if (keep_think || *think_open < 0 || *think_close < 0) *think_open = *think_close = -1;
}

long rg_train_total_steps(long steps, long n, long epochs, int per_step) {
    return steps > 0 ? steps : (n * epochs + per_step - 1) / per_step;
}

int32_t rg_single_end_token(const rg_lm *lm) {
    int32_t end = lm->end_of_turn;
    for (int i = 0; i < lm->model.cfg.n_eos; i++) {
        if (end < 0) end = lm->model.cfg.eos_ids[i];
        else if (lm->model.cfg.eos_ids[i] != end) return -1;
    }
    return end;
}

int rg_train_load_frozen(rg_model *copy, const char *model_dir, const char *dtype_name) {
    return rg_model_load(copy, model_dir, strcmp(dtype_name, "f32") == 0 ? RG_WEIGHTS_F32 : RG_WEIGHTS_BF16);
}

int rg_train_load_rubric(const char *data_path, const char *eval_path, int skip_bad, int allow_empty_rubric,
                         rg_verifier_criteria verifier_criteria, rg_dataset *data, rg_dataset *eval_data) {
    rg_rubric_options load_options = {.skip_bad = skip_bad, .allow_empty_rubric = allow_empty_rubric,
                                      .verifier_criteria = verifier_criteria};
    if (rg_rubric_load_all(data_path, &load_options, data) != RG_OK) return RG_ERR;
    if (data->skipped) rg_warn("%s: %zu invalid lines skipped (--skip-bad)", data_path, data->skipped);
    /* Evaluation data is scored, so an empty rubric stays an error there. */
    rg_rubric_options eval_options = {.skip_bad = skip_bad, .verifier_criteria = verifier_criteria};
    if (eval_path && rg_rubric_load_all(eval_path, &eval_options, eval_data) != RG_OK) return RG_ERR;
    return RG_OK;
}

rg_eval_options rg_train_eval_options(long eval_samples, const char *system, int no_thinking, long eval_max_new,
                                      long max_new, long seed, long gen_batch, int context_len) {
    rg_eval_options options = rg_eval_defaults();
    options.samples = (int)eval_samples;
    options.system = system;
    options.enable_thinking = !no_thinking;
    options.max_new = (int)(eval_max_new > 0 ? eval_max_new : max_new);
    options.seed = (uint64_t)seed;
    options.batch = (int)gen_batch;
    options.context = context_len;
    options.skip_long = 1;
    return options;
}
