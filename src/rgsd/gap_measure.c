/* gap_measure.c — the judge-free self-internalisation gap (see gap_measure.h). */
#include "rgsd/gap_measure.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "model/train.h"
#include "rgsd/rgsd.h"

void rg_gap_result_free(rg_gap_result *r) {
    free(r->rows);
    memset(r, 0, sizeof *r);
}

/* Per-token means of one response's counted log-probs under the plain and the rubric context; 0 counted
 * tokens leaves *plain and *rubric untouched. Returns the count, or -1 on failure. */
static int score_one(const rg_model *model, const rg_lora *lora, rg_train_acts *acts, const rg_rgsd_prompt *p,
                     const rg_gen_result *g, int32_t think_open, int32_t think_close, double *buf, uint8_t *mask,
                     double *plain, double *rubric) {
    int n = g->n_tokens;
    int counted = rg_rgsd_think_mask(g->tokens, n, think_open, think_close, p->starts_in_think, mask);
    if (counted == 0) return 0;
    double *with = buf, *without = buf + n;
    if (rg_rgsd_response_logprobs_with(model, lora, acts, p->teacher_prompt, p->teacher_prompt_len, g->tokens, n,
                                       with) != RG_OK ||
        rg_rgsd_response_logprobs_with(model, lora, acts, p->student_prompt, p->student_prompt_len, g->tokens, n,
                                       without) != RG_OK)
        return -1;
    double sw = 0, so = 0;
    for (int t = 0; t < n; t++)
        if (mask[t]) sw += with[t], so += without[t];
    *plain = so / counted;
    *rubric = sw / counted;
    return counted;
}

/* Mean over rows and its standard error over rows (NAN below 2 rows). */
static void summarise(rg_gap_result *r) {
    double sum = 0, ss = 0;
    for (int i = 0; i < r->n_rows; i++) sum += r->rows[i].gap;
    r->gap = r->n_rows ? sum / r->n_rows : NAN;
    for (int i = 0; i < r->n_rows; i++) ss += (r->rows[i].gap - r->gap) * (r->rows[i].gap - r->gap);
    r->se = r->n_rows > 1 ? sqrt(ss / (r->n_rows - 1) / r->n_rows) : NAN;
}

int rg_gap_score(const rg_model *model, const rg_lora *lora, rg_train_acts *acts, const rg_rgsd_data *prompts,
                 const rg_gen_result *responses, int K, int32_t think_open, int32_t think_close, rg_gap_result *out) {
    memset(out, 0, sizeof *out);
    int longest = 1;
    for (int i = 0; i < prompts->n * K; i++) longest = responses[i].n_tokens > longest ? responses[i].n_tokens : longest;
    double *buf = rg_malloc(sizeof(double) * 2 * (size_t)longest);
    uint8_t *mask = rg_malloc((size_t)longest);
    out->rows = rg_calloc(prompts->n ? (size_t)prompts->n : 1, sizeof *out->rows);
    int rc = buf && mask && out->rows ? RG_OK : RG_ERR;
    for (int p = 0; p < prompts->n && rc == RG_OK; p++) {
        rg_gap_row row = {.prompt = (size_t)p};
        double plain_sum = 0, rubric_sum = 0;
        for (int k = 0; k < K; k++) {
            double plain = 0, rubric = 0;
            int counted = score_one(model, lora, acts, &prompts->prompts[p], &responses[p * K + k], think_open,
                                    think_close, buf, mask, &plain, &rubric);
            if (counted < 0) {
                rc = RG_ERR;
                break;
            }
            if (counted == 0) continue;
            plain_sum += plain, rubric_sum += rubric;
            row.samples++, row.tokens += counted;
        }
        if (rc != RG_OK) break;
        if (row.samples == 0) {
            out->empty++;
            continue;
        }
        row.logp_plain = plain_sum / row.samples;
        row.logp_rubric = rubric_sum / row.samples;
        row.gap = row.logp_plain - row.logp_rubric;
        out->samples += row.samples, out->tokens += row.tokens;
        out->rows[out->n_rows++] = row;
    }
    free(buf);
    free(mask);
    if (rc != RG_OK) {
        rg_gap_result_free(out);
        return RG_ERR;
    }
    summarise(out);
    return RG_OK;
}

/* Scoring activations for the longest prompt + response (the adapter's rank included). */
static int score_responses(const rg_model *model, const rg_lora *lora, const rg_rgsd_data *prompts,
                           const rg_gap_config *cfg, const rg_gen_result *results, rg_gap_result *out) {
    int longest = 1;
    for (int i = 0; i < prompts->n * cfg->samples; i++)
        longest = results[i].n_tokens > longest ? results[i].n_tokens : longest;
    rg_train_acts acts;
    if (rg_train_acts_alloc(&acts, &model->cfg, lora, prompts->max_prompt_len + longest, 64) != RG_OK) return RG_ERR;
    int rc = rg_gap_score(model, lora, &acts, prompts, results, cfg->samples, cfg->think_open, cfg->think_close, out);
    rg_train_acts_free(&acts);
    return rc;
}

int rg_gap_measure(const rg_model *model, const rg_lora *lora, const rg_rgsd_data *prompts, const rg_gap_config *cfg,
                   rg_gap_result *out, rg_gen_result **responses) {
    memset(out, 0, sizeof *out);
    if (responses) *responses = NULL;
    int K = cfg->samples, n = prompts->n * K;
    if (K < 1 || prompts->n < 1) return rg_error("gap: %d prompts x %d samples: nothing to measure", prompts->n, K);
    const int32_t **ids = rg_calloc((size_t)n, sizeof *ids);
    int *lens = rg_calloc((size_t)n, sizeof *lens);
    rg_gen_result *results = rg_calloc((size_t)n, sizeof *results);
    int rc = RG_ERR;
    if (ids && lens && results) {
        for (int i = 0; i < n; i++) {
            ids[i] = prompts->prompts[i / K].teacher_prompt;
            lens[i] = prompts->prompts[i / K].teacher_prompt_len;
        }
        rg_gen_options gen = cfg->gen;
        gen.lora = lora;
        if (rg_generate(model, n, ids, lens, &gen, results, NULL, NULL) == RG_OK) {
            rc = score_responses(model, lora, prompts, cfg, results, out);
            if (rc == RG_OK && responses) *responses = results, results = NULL;
            if (results) rg_gen_results_free(results, n);
        }
    }
    free(results);
    free(ids);
    free(lens);
    return rc;
}
