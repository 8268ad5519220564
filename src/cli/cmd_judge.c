/* cmd_judge.c — `rgsd judge`: grade responses made by any system against
 * rubric data, score them, and report.
 *
 *   rgsd judge --data DATA.jsonl --responses RESPONSES.jsonl --judge SPEC
 *              [--out VERDICTS.jsonl] [--summary SUMMARY.json] [--cache FILE]
 *
 * A responses line is {"id": ..., "response": "..."}: with ids, each line is
 * matched to the example of that id (several responses may share one); with
 * no ids at all, line k is the response to example k and the counts must be
 * equal. Mixing the two is an error. Outputs are written atomically and only
 * when every criterion was judged; verdicts already paid for stay in the cache
 * either way, so a rerun resumes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/progress.h"
#include "base/text.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/data_flags.h"
#include "cli/judge_responses.h"
#include "io/file.h"
#include "io/records.h"
#include "judge/judge.h"
#include "rubric/rubric.h"
#include "rubric/score.h"

/* The rule judge grades only criteria that carry `match` patterns: say so
 * up front, with counts, rather than failing criterion by criterion. */
static int check_rule_patterns(const rg_dataset *data, const rg_response_set *set, const char *data_path) {
    size_t total = 0, without = 0;
    const rg_example *first_ex = NULL;
    size_t first_criterion = 0;
    for (size_t k = 0; k < set->count; k++) {
        const rg_example *ex = &data->examples[set->lines[k].example];
        for (size_t c = 0; c < ex->ncriteria; c++) {
            total++;
            if (ex->rubric[c].nmatch > 0) continue;
            if (!without++) first_ex = ex, first_criterion = c;
        }
    }
    if (without == 0) return RG_OK;
    return rg_error("rule judge: %zu of %zu criteria to judge in %s have no `match` patterns (first: example '%s' "
                    "criterion %zu), so the rule judge cannot grade them; use an http judge for this data",
                    without, total, data_path, first_ex->id, first_criterion + 1);
}

static void on_progress(void *ctx, int64_t done, int64_t total) {
    (void)total;
    rg_progress_update(ctx, done, NULL);
}

static cJSON *verdict_record(const rg_response_line *r, const rg_example *ex, const rg_verdict *verdicts, double score,
                             double balanced) {
    cJSON *record = cJSON_CreateObject();
    cJSON_AddStringToObject(record, "id", ex->id);
    cJSON_AddNumberToObject(record, "line", (double)r->line);
    if (isfinite(score)) cJSON_AddNumberToObject(record, "score", score);
    else cJSON_AddNullToObject(record, "score");
    if (isfinite(balanced)) cJSON_AddNumberToObject(record, "balanced_reward", balanced);
    else cJSON_AddNullToObject(record, "balanced_reward");
    cJSON *list = cJSON_AddArrayToObject(record, "verdicts");
    for (size_t c = 0; c < ex->ncriteria; c++) {
        cJSON *v = cJSON_CreateObject();
        cJSON_AddNumberToObject(v, "criterion", (double)(c + 1));
        cJSON_AddStringToObject(v, "text", ex->rubric[c].text);
        cJSON_AddNumberToObject(v, "weight", ex->rubric[c].weight);
        cJSON_AddBoolToObject(v, "met", verdicts[c].met == 1);
        cJSON_AddBoolToObject(v, "cached", verdicts[c].cached);
        if (verdicts[c].explanation) cJSON_AddStringToObject(v, "explanation", verdicts[c].explanation);
        cJSON_AddItemToArray(list, v);
    }
    return record;
}

static cJSON *stats_json(const rg_score_stats *s) {
    cJSON *o = cJSON_CreateObject();
    if (isfinite(s->mean)) cJSON_AddNumberToObject(o, "mean", s->mean);
    else cJSON_AddNullToObject(o, "mean");
    if (isfinite(s->std_error)) cJSON_AddNumberToObject(o, "std_error", s->std_error);
    else cJSON_AddNullToObject(o, "std_error");
    cJSON_AddNumberToObject(o, "n", (double)s->n);
    cJSON_AddNumberToObject(o, "n_undefined", (double)s->n_undefined);
    return o;
}

typedef struct {
    const char *data_path, *responses_path, *judge_text, *out_path, *summary_path, *cache_path, *failures_path;
    long resamples, seed;
    int skip_bad;
    const char *verifier_text;
    rg_verifier_criteria verifier;
} judge_args;

/* Everything a run holds, so one function can release it on every path. */
typedef struct {
    rg_dataset data;
    rg_response_set responses;
    rg_judge_spec spec;
    rg_judge *judge;
    rg_judge_item *items;
    rg_verdict *verdicts;      /* all criteria of all items, item after item */
    unsigned char *met;        /* the same as 0/1, for the score functions */
    rg_example *scored;        /* shallow copies: the example of each response, in order */
    const unsigned char **met_rows;
    double *scores, *balanced;
    rg_dataset_score dataset_score;
    char *failures_default;
} judge_run;

static void judge_run_free(judge_run *run, size_t n_verdicts) {
    if (run->verdicts) rg_verdicts_clear(run->verdicts, (int)n_verdicts);
    free(run->verdicts);
    free(run->items);
    free(run->met);
    free(run->scored);
    free(run->met_rows);
    free(run->scores);
    free(run->balanced);
    free(run->failures_default);
    rg_dataset_score_free(&run->dataset_score);
    rg_judge_close(run->judge);
    rg_judge_spec_free(&run->spec);
    rg_response_set_free(&run->responses);
    rg_dataset_free(&run->data);
}

static int write_outputs(const judge_args *a, judge_run *run, const rg_judge_stats *stats) {
    size_t n = run->responses.count;
    if (a->out_path) {
        rg_atomic_file f;
        if (rg_atomic_open(&f, a->out_path) != RG_OK) return RG_ERR;
        for (size_t k = 0; k < n; k++) {
            cJSON *record = verdict_record(&run->responses.lines[k], &run->scored[k], run->items[k].verdicts,
                                           run->scores[k], run->balanced[k]);
            char *line = record ? cJSON_PrintUnformatted(record) : NULL;
            cJSON_Delete(record);
            if (!line) {
                rg_atomic_abort(&f);
                return rg_error("out of memory writing %s", a->out_path);
            }
            fprintf(f.fp, "%s\n", line);
            free(line);
        }
        if (rg_atomic_commit(&f) != RG_OK) return RG_ERR;
    }
    if (a->summary_path) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "data", a->data_path);
        cJSON_AddStringToObject(root, "responses", a->responses_path);
        cJSON_AddStringToObject(root, "judge", a->judge_text);
        cJSON_AddNumberToObject(root, "responses_judged", (double)n);
        cJSON_AddItemToObject(root, "healthbench_score", stats_json(&run->dataset_score.overall));
        double sum = 0;
        size_t defined = 0;
        for (size_t k = 0; k < n; k++)
            if (isfinite(run->balanced[k])) sum += run->balanced[k], defined++;
        if (defined) cJSON_AddNumberToObject(root, "balanced_reward_mean", sum / (double)defined);
        else cJSON_AddNullToObject(root, "balanced_reward_mean");
        cJSON *tags = cJSON_AddObjectToObject(root, "tags");
        for (size_t t = 0; t < run->dataset_score.ntags; t++)
            cJSON_AddItemToObject(tags, run->dataset_score.tags[t].tag, stats_json(&run->dataset_score.tags[t].stats));
        cJSON *acc = cJSON_AddObjectToObject(root, "accounting");
        cJSON_AddNumberToObject(acc, "verdicts", (double)stats->verdicts);
        cJSON_AddNumberToObject(acc, "cache_hits", (double)stats->cache_hits);
        cJSON_AddNumberToObject(acc, "requests", (double)stats->requests);
        cJSON_AddNumberToObject(acc, "retries", (double)stats->retries);
        cJSON_AddNumberToObject(acc, "prompt_tokens", (double)stats->prompt_tokens);
        cJSON_AddNumberToObject(acc, "completion_tokens", (double)stats->completion_tokens);
        cJSON_AddNumberToObject(acc, "seconds", stats->seconds);
        char *text = cJSON_Print(root);
        cJSON_Delete(root);
        if (!text) return rg_error("out of memory writing %s", a->summary_path);
        int rc = rg_write_file_atomic(a->summary_path, text, strlen(text));
        free(text);
        if (rc != RG_OK) return RG_ERR;
    }
    return RG_OK;
}

static void print_stats_line(const char *label, const rg_score_stats *s) {
    if (isfinite(s->mean))
        printf("  %-28s %.4f ± %.4f  (n=%zu%s)\n", label, s->mean, s->std_error, s->n,
               s->n_undefined ? ", some without positive points left out" : "");
    else
        printf("  %-28s undefined (no response has positive points to earn)\n", label);
}

static void print_summary(const judge_args *a, judge_run *run, const rg_judge_stats *stats) {
    size_t n = run->responses.count;
    double sum = 0;
    size_t defined = 0;
    for (size_t k = 0; k < n; k++)
        if (isfinite(run->balanced[k])) sum += run->balanced[k], defined++;
    printf("judged %zu responses from %s against %s with %s\n", n, a->responses_path, a->data_path, a->judge_text);
    print_stats_line("HealthBench score (clipped)", &run->dataset_score.overall);
    if (defined) printf("  %-28s %.4f\n", "balanced reward (mean)", sum / (double)defined);
    if (run->dataset_score.ntags) {
        printf("  per tag:\n");
        for (size_t t = 0; t < run->dataset_score.ntags; t++) {
            char label[128] = "  "; /* a tag from the data: printed as one safe line */
            rg_text_escape(label + 2, sizeof label - 2, run->dataset_score.tags[t].tag, 100);
            print_stats_line(label, &run->dataset_score.tags[t].stats);
        }
    }
    char line[512];
    rg_judge_stats_format(stats, line, sizeof line);
    printf("  judge: %s\n", line);
}

static int run_judge(const judge_args *a, judge_run *run, size_t *n_verdicts) {
    rg_rubric_options load_options = {.skip_bad = a->skip_bad, .verifier_criteria = a->verifier};
    if (rg_judge_spec_parse(a->judge_text, &run->spec) != RG_OK) return RG_ERR;
    if (rg_rubric_load_all(a->data_path, &load_options, &run->data) != RG_OK) return RG_ERR;
    if (rg_read_responses(a->responses_path, &run->responses) != RG_OK) return RG_ERR;
    if (rg_match_responses(a->responses_path, a->data_path, &run->data, &run->responses) != RG_OK) return RG_ERR;
    size_t n = run->responses.count;
    if (run->spec.kind == RG_JUDGE_RULE && check_rule_patterns(&run->data, &run->responses, a->data_path) != RG_OK)
        return RG_ERR;

    size_t total = 0;
    for (size_t k = 0; k < n; k++) total += run->data.examples[run->responses.lines[k].example].ncriteria;
    run->items = rg_calloc(n, sizeof *run->items);
    run->verdicts = rg_calloc(total, sizeof *run->verdicts);
    run->met = rg_calloc(total, 1);
    run->scored = rg_calloc(n, sizeof *run->scored);
    run->met_rows = rg_calloc(n, sizeof *run->met_rows);
    run->scores = rg_calloc(n, sizeof *run->scores);
    run->balanced = rg_calloc(n, sizeof *run->balanced);
    if (!run->items || !run->verdicts || !run->met || !run->scored || !run->met_rows || !run->scores || !run->balanced)
        return RG_ERR;
    *n_verdicts = total;
    size_t offset = 0;
    for (size_t k = 0; k < n; k++) {
        const rg_example *ex = &run->data.examples[run->responses.lines[k].example];
        run->items[k] = (rg_judge_item){.example = ex, .response = run->responses.lines[k].response,
                                        .verdicts = run->verdicts + offset};
        run->scored[k] = *ex;
        run->met_rows[k] = run->met + offset;
        offset += ex->ncriteria;
    }

    const char *failures = a->failures_path;
    if (!failures) {
        run->failures_default = a->out_path ? rg_sprintf("%s.failures.jsonl", a->out_path)
                                            : rg_strdup("rgsd-judge-failures.jsonl");
        if (!run->failures_default) return RG_ERR;
        failures = run->failures_default;
    }
    rg_progress progress;
    rg_progress_start(&progress, "judging", (int64_t)total);
    rg_judge_options options = {.cache_path = a->cache_path, .failures_path = failures, .on_progress = on_progress,
                                .progress_ctx = &progress};
    if (rg_judge_open(&run->judge, &run->spec, &options) != RG_OK) return RG_ERR;
    int judged = rg_judge_run(run->judge, run->items, (int)n);
    const rg_judge_stats *stats = rg_judge_get_stats(run->judge);
    char line[512];
    rg_judge_stats_format(stats, line, sizeof line);
    rg_progress_finish(&progress, line);
    if (judged != RG_OK) {
        char *why = rg_strdup(rg_errmsg());
        if (a->cache_path)
            rg_error("%s (no output written; the verdicts obtained are kept in %s for a rerun)", why ? why : "?",
                     a->cache_path);
        else
            rg_error("%s (no output written)", why ? why : "?");
        free(why);
        return RG_ERR;
    }

    for (size_t i = 0; i < total; i++) run->met[i] = run->verdicts[i].met == 1;
    for (size_t k = 0; k < n; k++) {
        run->scores[k] = rg_score_healthbench(run->scored[k].rubric, run->scored[k].ncriteria, run->met_rows[k]);
        run->balanced[k] = rg_score_balanced(run->scored[k].rubric, run->scored[k].ncriteria, run->met_rows[k]);
    }
    if (rg_score_dataset(run->scored, n, run->met_rows, (int)a->resamples, (uint64_t)a->seed, &run->dataset_score) !=
        RG_OK)
        return RG_ERR;
    if (write_outputs(a, run, stats) != RG_OK) return RG_ERR;
    print_summary(a, run, stats);
    return RG_OK;
}

int cmd_judge(int argc, char **argv) {
    judge_args a = {.resamples = RG_BOOTSTRAP_RESAMPLES, .seed = 0, .verifier_text = "skip"};
    const rg_arg args[] = {
        {"data", RG_ARG_STRING, &a.data_path, "FILE", "rubric data (JSONL, any supported format)", 1},
        {"responses", RG_ARG_STRING, &a.responses_path, "FILE", "responses, one {\"id\", \"response\"} per line", 1},
        {"judge", RG_ARG_STRING, &a.judge_text, "SPEC", "http:URL#model=NAME[&...] | local:MODEL_DIR | rule", 1},
        {"out", RG_ARG_STRING, &a.out_path, "FILE", "write per-response verdicts and scores (JSONL)", 0},
        {"summary", RG_ARG_STRING, &a.summary_path, "FILE", "write the scores and accounting (JSON)", 0},
        {"cache", RG_ARG_STRING, &a.cache_path, "FILE", "SQLite verdict cache: reruns and resumed runs pay once", 0},
        {"failures", RG_ARG_STRING, &a.failures_path, "FILE",
         "append unjudgeable criteria with the raw answer (default OUT.failures.jsonl)", 0},
        {"resamples", RG_ARG_INT, &a.resamples, "N", "bootstrap resamples for the standard error", 0},
        {"seed", RG_ARG_INT, &a.seed, "N", "seed of the bootstrap (default 0)", 0},
        {"skip-bad", RG_ARG_FLAG, &a.skip_bad, NULL, "skip invalid data lines and count them instead of failing", 0},
        RG_VERIFIER_CRITERIA_ROW(a.verifier_text),
    };
    const rg_command_spec spec = {
        "judge",
        "--data FILE --responses FILE --judge SPEC [--out FILE] [--summary FILE] [--cache FILE]",
        "Grades responses made by any system against the rubrics of a data set and prints the\n"
        "HealthBench score (mean clipped to [0, 1], bootstrap s.e.), the balanced reward, per-tag\n"
        "scores and the judge's accounting (requests, retries, tokens, seconds, cache hits).\n"
        "Responses lines {\"id\": ..., \"response\": \"...\"} are matched to examples by id; without ids,\n"
        "line k answers example k. A criterion the judge cannot grade is an error (exit 1), never\n"
        "\"not met\"; outputs are then not written, and verdicts already obtained stay in the cache.\n"
        "The http judge reads its API key from the variable named by key_env (default\n"
        "OPENAI_API_KEY) and never prints it. Spec syntax and prompts: docs/judges.md",
        "  rgsd judge --data hb.jsonl --responses answers.jsonl \\\n"
        "      --judge 'http:https://api.openai.com/v1#model=gpt-4.1&concurrency=16' --cache verdicts.sqlite\n"
        "  rgsd judge --data world.jsonl --responses out.jsonl --judge rule --out verdicts.jsonl",
        args,
        (int)(sizeof args / sizeof args[0]),
        0,
    };
    int parsed = rg_args_parse(&spec, argc, argv, NULL, NULL);
    if (parsed != 0) return parsed == 1 ? 0 : rg_cli_fail();
    if (rg_cli_verifier_criteria("judge", a.verifier_text, &a.verifier)) return rg_cli_fail();
    if (a.resamples < 1 || a.resamples > 1000000) {
        rg_usage_error("rgsd judge: --resamples must be in [1, 1000000], got %ld (see rgsd judge --help)", a.resamples);
        return rg_cli_fail();
    }
    judge_run run = {0};
    size_t n_verdicts = 0;
    int rc = run_judge(&a, &run, &n_verdicts);
    judge_run_free(&run, n_verdicts);
    return rc == RG_OK ? 0 : rg_cli_fail();
}
