/* train_gap.c — see train_gap.h. */
#include "cli/train_gap.h"

#include <math.h>
#include <stdio.h>

#include "base/error.h"
#include "base/log.h"
#include "session/setup.h"

int rg_train_gap_setup(rg_train_gap *g, rg_session *s, const char *path, int skip_bad, rg_verifier_criteria verifier,
                       const rg_rgsd_data_options *data_options, int samples, const rg_gen_options *gen,
                       int keep_think) {
    rg_rubric_options load_options = {.skip_bad = skip_bad, .allow_empty_rubric = 1, .verifier_criteria = verifier};
    if (rg_rubric_load_all(path, &load_options, &g->data) != RG_OK) return rg_error_prefix("--gap-data"), RG_ERR;
    if (rg_rgsd_data_build(&g->prompts, &s->lm, g->data.examples, g->data.count, data_options) != RG_OK)
        return rg_error_prefix("--gap-data"), RG_ERR;
    if (g->prompts.skipped_empty || g->prompts.skipped_long)
        rg_warn("--gap-data: %zu examples skipped (%zu with nothing to condition on, %zu too long for the context)",
                g->prompts.skipped_empty + g->prompts.skipped_long, g->prompts.skipped_empty,
                g->prompts.skipped_long);
    if (g->prompts.n == 0) return rg_error("--gap-data %s: no example to measure", path);
    g->stop[0] = s->lm.end_of_turn;
    g->cfg = (rg_gap_config){.samples = samples, .gen = *gen};
    g->cfg.gen.stop_ids = g->stop;
    g->cfg.gen.n_stop_ids = s->lm.end_of_turn >= 0;
    g->cfg.gen.state = NULL;
    rg_think_tokens(&s->lm, keep_think, &g->cfg.think_open, &g->cfg.think_close);
    g->model = &s->lm.model;
    g->lora = s->cfg.lora_rank > 0 ? &s->trainer.lora : NULL;
    return RG_OK;
}

int rg_train_gap_measure(void *ctx, double *value, char *fields, size_t fields_size) {
    rg_train_gap *g = ctx;
    rg_gap_result r;
    if (rg_gap_measure(g->model, g->lora, &g->prompts, &g->cfg, &r, NULL) != RG_OK) return RG_ERR;
    if (r.n_rows == 0) {
        rg_gap_result_free(&r);
        return rg_error("--gap-data: no sampled response had a token to measure");
    }
    *value = r.gap;
    char se[32];
    if (isfinite(r.se)) snprintf(se, sizeof se, "%.6f", r.se);
    else snprintf(se, sizeof se, "null");
    snprintf(fields, fields_size, "\"heldout_gap_se\": %s, \"prompts\": %d, \"samples\": %d, \"tokens\": %ld", se,
             r.n_rows, r.samples, r.tokens);
    rg_gap_result_free(&r);
    return RG_OK;
}

void rg_train_gap_free(rg_train_gap *g) {
    rg_rgsd_data_free(&g->prompts);
    rg_dataset_free(&g->data);
}
