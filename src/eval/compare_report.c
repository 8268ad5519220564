/* compare_report.c — what `rgsd compare` prints and writes (diagnostics.h):
 *   pairs.jsonl   one line per pair: both orders' preferences and reasons, the outcome
 *   compare.json  the counts, the win rate and its interval, the judge's cost (written last)
 * as one folder (io/atomic_dir.h), so a kill never leaves a half report. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "eval/diagnostics.h"
#include "io/atomic_dir.h"
#include "io/file.h"

static cJSON *number_or_null(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

static const char *outcome_name(int outcome) { return outcome > 0 ? "a" : outcome < 0 ? "b" : "tie"; }

static cJSON *pair_json(const rg_compare_pair *p) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", p->id);
    cJSON_AddNumberToObject(o, "sample", p->sample);
    cJSON_AddStringToObject(o, "a_first", p->a_first_pref ? "a" : "b"); /* preferred with A shown first */
    cJSON_AddStringToObject(o, "b_first", p->b_first_pref ? "a" : "b"); /* preferred with B shown first */
    cJSON_AddStringToObject(o, "winner", outcome_name(p->outcome));
    if (p->why_ab) cJSON_AddStringToObject(o, "why_a_first", p->why_ab);
    if (p->why_ba) cJSON_AddStringToObject(o, "why_b_first", p->why_ba);
    return o;
}

static cJSON *compare_json(const rg_compare_result *r, const rg_compare_info *info) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "a", info->a ? info->a : "");
    cJSON_AddStringToObject(root, "b", info->b ? info->b : "");
    cJSON_AddStringToObject(root, "judge", info->judge ? info->judge : "");
    cJSON_AddNumberToObject(root, "prompts", (double)r->n_prompts);
    cJSON_AddNumberToObject(root, "pairs", (double)r->n_pairs);
    cJSON_AddNumberToObject(root, "wins", (double)r->wins);
    cJSON_AddNumberToObject(root, "ties", (double)r->ties);
    cJSON_AddNumberToObject(root, "losses", (double)r->losses);
    cJSON_AddItemToObject(root, "win_rate", number_or_null(r->win_rate));
    cJSON *ci = cJSON_AddArrayToObject(root, "win_rate_ci95");
    cJSON_AddItemToArray(ci, number_or_null(r->win_lo));
    cJSON_AddItemToArray(ci, number_or_null(r->win_hi));
    cJSON_AddNumberToObject(root, "resamples", r->resamples);
    cJSON *j = cJSON_AddObjectToObject(root, "judge_stats");
    cJSON_AddNumberToObject(j, "verdicts", (double)r->judge.verdicts);
    cJSON_AddNumberToObject(j, "cache_hits", (double)r->judge.cache_hits);
    cJSON_AddNumberToObject(j, "requests", (double)r->judge.requests);
    cJSON_AddNumberToObject(j, "retries", (double)r->judge.retries);
    cJSON_AddNumberToObject(j, "prompt_tokens", (double)r->judge.prompt_tokens);
    cJSON_AddNumberToObject(j, "completion_tokens", (double)r->judge.completion_tokens);
    cJSON_AddNumberToObject(j, "seconds", r->judge.seconds);
    return root;
}

/* cJSON to text, freed; NULL with an error on out of memory. */
static char *json_text(cJSON *value, int formatted) {
    char *text = value ? (formatted ? cJSON_Print(value) : cJSON_PrintUnformatted(value)) : NULL;
    cJSON_Delete(value);
    if (!text) rg_error("out of memory writing the comparison");
    return text;
}

static int write_pairs(const rg_compare_result *r, const char *path) {
    rg_atomic_file f;
    if (rg_atomic_open(&f, path)) return RG_ERR;
    for (size_t q = 0; q < r->n_pairs; q++) {
        char *line = json_text(pair_json(&r->pairs[q]), 0);
        if (!line) return rg_atomic_abort(&f), RG_ERR;
        fprintf(f.fp, "%s\n", line);
        free(line);
    }
    return rg_atomic_commit(&f);
}

int rg_compare_write(const rg_compare_result *r, const rg_compare_info *info, const char *dir) {
    char *stage = rg_dir_begin(dir);
    if (!stage) return RG_ERR;
    char *pairs_path = rg_path_join(stage, "pairs.jsonl"), *json_path = rg_path_join(stage, "compare.json");
    char *text = NULL;
    int rc = RG_ERR;
    if (!pairs_path || !json_path || write_pairs(r, pairs_path)) goto done;
    char *body = json_text(compare_json(r, info), 1);
    if (body) text = rg_sprintf("%s\n", body);
    free(body);
    if (!text || rg_write_file_atomic(json_path, text, strlen(text))) goto done;
    rc = rg_dir_commit(stage, dir);
    stage = NULL; /* commit frees it, on failure too */
done:
    rg_dir_abort(stage);
    free(text);
    free(pairs_path);
    free(json_path);
    return rc;
}

char *rg_compare_summary_text(const rg_compare_result *r, const rg_compare_info *info) {
    char judge_line[256];
    rg_judge_stats_format(&r->judge, judge_line, sizeof judge_line);
    double n = r->n_pairs ? (double)r->n_pairs : NAN;
    char *text = rg_sprintf("compared A = %s with B = %s (%zu prompts, %zu pairs, each judged in both orders), "
                            "judge %s\n"
                            "  %-30s %zu / %zu / %zu  (%.1f%% / %.1f%% / %.1f%%)\n"
                            "  %-30s %.4f  (95%% bootstrap interval %.4f .. %.4f)\n"
                            "  %-30s %s\n",
                            info->a, info->b, r->n_prompts, r->n_pairs, info->judge, "A wins / ties / B wins",
                            r->wins, r->ties, r->losses, 100.0 * r->wins / n, 100.0 * r->ties / n,
                            100.0 * r->losses / n, "A's win rate (ties count 1/2)", r->win_rate, r->win_lo, r->win_hi,
                            "judge", judge_line);
    return text;
}
