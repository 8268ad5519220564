/* diagnostics_report.c — the length drift and the audit in the eval report:
 * report.json ("length_drift", "audit"), the printed summary and report.md
 * (diagnostics.h; docs/evaluation.md says how to read them). */
#include <math.h>
#include <stdio.h>

#include "eval/diagnostics.h"

static cJSON *number_or_null(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

static cJSON *drift_stat_json(const rg_drift_stat *s) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "mean", number_or_null(s->run_mean));
    cJSON_AddItemToObject(o, "baseline_mean", number_or_null(s->base_mean));
    cJSON_AddItemToObject(o, "median", number_or_null(s->run_median));
    cJSON_AddItemToObject(o, "baseline_median", number_or_null(s->base_median));
    cJSON_AddItemToObject(o, "ratio_mean", number_or_null(s->ratio_mean));
    cJSON_AddItemToObject(o, "ratio_median", number_or_null(s->ratio_median));
    cJSON_AddItemToObject(o, "paired_diff", number_or_null(s->diff_mean));
    cJSON *ci = cJSON_AddArrayToObject(o, "paired_diff_ci95");
    cJSON_AddItemToArray(ci, number_or_null(s->diff_lo));
    cJSON_AddItemToArray(ci, number_or_null(s->diff_hi));
    return o;
}

static cJSON *audit_json(const rg_audit_result *a, const char *judge) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "judge", judge ? judge : "");
    cJSON_AddNumberToObject(o, "newly_credited", (double)a->n_items);
    cJSON_AddNumberToObject(o, "rejected", (double)a->n_rejected);
    cJSON_AddNumberToObject(o, "weight_newly_credited", a->weight_credited);
    cJSON_AddNumberToObject(o, "weight_rejected", a->weight_rejected);
    cJSON_AddItemToObject(o, "exploitation_rate", number_or_null(a->exploitation_rate));
    cJSON *items = cJSON_AddArrayToObject(o, "items");
    for (size_t i = 0; i < a->n_items; i++) {
        const rg_audit_item *it = &a->items[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "id", it->id ? it->id : "");
        cJSON_AddNumberToObject(x, "sample", it->sample);
        cJSON_AddNumberToObject(x, "criterion", it->criterion);
        cJSON_AddStringToObject(x, "text", it->text ? it->text : "");
        cJSON_AddNumberToObject(x, "weight", it->weight);
        cJSON_AddBoolToObject(x, "rejected", it->rejected);
        if (it->explanation) cJSON_AddStringToObject(x, "explanation", it->explanation);
        cJSON_AddItemToArray(items, x);
    }
    cJSON *j = cJSON_AddObjectToObject(o, "judge_stats");
    cJSON_AddNumberToObject(j, "verdicts", (double)a->judge.verdicts);
    cJSON_AddNumberToObject(j, "cache_hits", (double)a->judge.cache_hits);
    cJSON_AddNumberToObject(j, "requests", (double)a->judge.requests);
    return o;
}

void rg_diagnostics_json(cJSON *root, const rg_eval_diagnostics *d) {
    if (d->drift) {
        cJSON *o = cJSON_AddObjectToObject(root, "length_drift");
        cJSON_AddStringToObject(o, "baseline", d->baseline ? d->baseline : "");
        cJSON_AddNumberToObject(o, "prompts", (double)d->drift->n_prompts);
        cJSON_AddNumberToObject(o, "responses", (double)d->drift->n_run);
        cJSON_AddNumberToObject(o, "baseline_responses", (double)d->drift->n_base);
        cJSON_AddNumberToObject(o, "resamples", d->drift->resamples);
        cJSON_AddItemToObject(o, "tokens", drift_stat_json(&d->drift->tokens));
        cJSON_AddItemToObject(o, "chars", drift_stat_json(&d->drift->chars));
    }
    if (d->audit) cJSON_AddItemToObject(root, "audit", audit_json(d->audit, d->audit_judge));
}

static void drift_line(FILE *out, const char *what, const rg_drift_stat *s, const char *row) {
    fprintf(out, row, what, s->run_mean, s->base_mean, s->ratio_mean, s->run_median, s->base_median, s->ratio_median,
            s->diff_mean, s->diff_lo, s->diff_hi);
}

void rg_diagnostics_text(FILE *out, const rg_eval_diagnostics *d) {
    const char *row = "    %-28s mean %.1f vs %.1f (x%.3f), median %.1f vs %.1f (x%.3f), per prompt %+.2f "
                      "[%+.2f, %+.2f]\n";
    if (d->drift) {
        fprintf(out, "  length drift vs %s (%zu prompts; this run vs baseline, paired difference with 95%% interval)\n",
                d->baseline, d->drift->n_prompts);
        drift_line(out, "response tokens", &d->drift->tokens, row);
        drift_line(out, "response characters", &d->drift->chars, row);
    }
    if (d->audit) {
        const rg_audit_result *a = d->audit;
        char rate[32] = "undefined"; /* nothing newly credited */
        if (isfinite(a->exploitation_rate)) snprintf(rate, sizeof rate, "%.4f", a->exploitation_rate);
        fprintf(out, "  %-30s %s  (%zu of %zu newly credited criteria rejected by %s; weight %g of %g)\n",
                "exploitation rate", rate, a->n_rejected, a->n_items, d->audit_judge, a->weight_rejected,
                a->weight_credited);
    }
}

void rg_diagnostics_markdown(FILE *out, const rg_eval_diagnostics *d) {
    if (d->drift) {
        fprintf(out, "\n## Length drift against `%s` (%zu prompts)\n\n", d->baseline, d->drift->n_prompts);
        fputs("| length | mean (baseline) | ratio | median (baseline) | ratio | per-prompt difference [95% interval] "
              "|\n|---|---|---|---|---|---|\n",
              out);
        const char *row = "| %s | %.1f (%.1f) | %.3f | %.1f (%.1f) | %.3f | %+.2f [%+.2f, %+.2f] |\n";
        drift_line(out, "tokens", &d->drift->tokens, row);
        drift_line(out, "characters", &d->drift->chars, row);
    }
    if (d->audit) {
        char rate[32] = "undefined";
        if (isfinite(d->audit->exploitation_rate)) snprintf(rate, sizeof rate, "%.4f", d->audit->exploitation_rate);
        fprintf(out,
                "\n## Audit of newly credited criteria (judge `%s`)\n\n%zu criteria credited here but never to the "
                "baseline on the same prompt; %zu rejected by the audit judge. Exploitation rate (weighted share "
                "rejected): **%s** (weight %g of %g).\n",
                d->audit_judge, d->audit->n_items, d->audit->n_rejected, rate, d->audit->weight_rejected,
                d->audit->weight_credited);
    }
}
