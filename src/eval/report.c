/* report.c — the files `rgsd eval --out DIR` writes (see docs/evaluation.md):
 *   responses.jsonl  one line per response: prompt, response, lengths, verdicts, scores
 *   report.md        the summary as a readable table
 *   report.json      the summary as data (written last: its presence means the report is whole)
 * The folder is one unit (io/atomic_dir.h): written into a stage and switched
 * in at the end, so a kill never leaves new responses beside an old report and
 * a failure (a full disk) leaves no folder. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "eval/diagnostics.h"
#include "eval/eval.h"
#include "io/atomic_dir.h"
#include "io/file.h"

/* NAN (an undefined score) becomes JSON null. */
static cJSON *number_or_null(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

static void add_number(cJSON *object, const char *key, double v) { cJSON_AddItemToObject(object, key, number_or_null(v)); }

static cJSON *score_stats_json(const rg_score_stats *s) {
    cJSON *o = cJSON_CreateObject();
    add_number(o, "mean", s->mean);
    add_number(o, "std_error", s->std_error);
    cJSON_AddNumberToObject(o, "n", (double)s->n);
    cJSON_AddNumberToObject(o, "n_undefined", (double)s->n_undefined);
    return o;
}

static cJSON *length_json(const rg_length_stats *s) {
    cJSON *o = cJSON_CreateObject();
    add_number(o, "mean", s->mean);
    add_number(o, "median", s->median);
    add_number(o, "p90", s->p90);
    add_number(o, "max", s->max);
    return o;
}

static cJSON *judge_stats_json(const rg_judge_stats *s) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "verdicts", (double)s->verdicts);
    cJSON_AddNumberToObject(o, "cache_hits", (double)s->cache_hits);
    cJSON_AddNumberToObject(o, "requests", (double)s->requests);
    cJSON_AddNumberToObject(o, "retries", (double)s->retries);
    cJSON_AddNumberToObject(o, "failures", (double)s->failures);
    cJSON_AddNumberToObject(o, "prompt_tokens", (double)s->prompt_tokens);
    cJSON_AddNumberToObject(o, "completion_tokens", (double)s->completion_tokens);
    cJSON_AddNumberToObject(o, "seconds", s->seconds);
    return o;
}

static void add_string_or_null(cJSON *o, const char *key, const char *value) {
    if (value) cJSON_AddStringToObject(o, key, value);
    else cJSON_AddNullToObject(o, key);
}

static cJSON *report_json(const rg_eval_result *r, const rg_eval_report_info *info) {
    const rg_eval_summary *s = &r->summary;
    const rg_eval_options *o = info->options;
    cJSON *root = cJSON_CreateObject();
    add_string_or_null(root, "model", info->model);
    add_string_or_null(root, "adapter", info->adapter);
    add_string_or_null(root, "data", info->data);
    add_string_or_null(root, "judge", info->judge);
    if (o) {
        cJSON_AddBoolToObject(root, "with_rubric", o->with_rubric);
        cJSON_AddNumberToObject(root, "samples", o->samples);
        cJSON_AddNumberToObject(root, "seed", (double)o->seed);
        cJSON *sampling = cJSON_AddObjectToObject(root, "sampling");
        cJSON_AddNumberToObject(sampling, "temperature", o->sample.temperature);
        cJSON_AddNumberToObject(sampling, "top_p", o->sample.top_p);
        cJSON_AddNumberToObject(sampling, "top_k", o->sample.top_k);
        cJSON_AddNumberToObject(sampling, "max_new", o->max_new);
    }
    cJSON_AddNumberToObject(root, "examples", (double)s->n_examples);
    cJSON_AddNumberToObject(root, "skipped_too_long", (double)s->n_skipped);
    cJSON_AddNumberToObject(root, "responses", (double)s->n_responses);
    cJSON *hb = score_stats_json(&s->healthbench.overall);
    cJSON_AddItemToObject(root, "healthbench", hb);
    cJSON_AddItemToObject(root, "balanced", score_stats_json(&s->balanced));
    cJSON *tags = cJSON_AddObjectToObject(root, "tags");
    for (size_t t = 0; t < s->healthbench.ntags; t++)
        cJSON_AddItemToObject(tags, s->healthbench.tags[t].tag, score_stats_json(&s->healthbench.tags[t].stats));
    cJSON_AddItemToObject(root, "response_tokens", length_json(&s->response_tokens));
    cJSON_AddItemToObject(root, "response_chars", length_json(&s->response_chars));
    add_number(root, "stopped_fraction", s->stopped_fraction);
    cJSON *gen = cJSON_AddObjectToObject(root, "generation");
    cJSON_AddNumberToObject(gen, "prompt_tokens", (double)s->prompt_tokens);
    cJSON_AddNumberToObject(gen, "new_tokens", (double)s->new_tokens);
    cJSON_AddNumberToObject(gen, "seconds", s->generate_seconds);
    add_number(gen, "new_tokens_per_second", s->generate_seconds > 0 ? (double)s->new_tokens / s->generate_seconds : NAN);
    cJSON_AddItemToObject(root, "judge_stats", judge_stats_json(&s->judge));
    if (info->diagnostics) rg_diagnostics_json(root, info->diagnostics);
    return root;
}

static cJSON *response_json(const rg_eval_result *r, const rg_example *examples, size_t i) {
    const rg_eval_response *resp = &r->responses[i];
    const rg_example *ex = &examples[resp->example];
    cJSON *o = cJSON_CreateObject();
    add_string_or_null(o, "id", ex->id);
    cJSON_AddNumberToObject(o, "example", (double)resp->example);
    cJSON_AddNumberToObject(o, "sample", resp->sample);
    add_string_or_null(o, "prompt", r->prompts[resp->example]);
    cJSON *messages = cJSON_AddArrayToObject(o, "messages"); /* the conversation: what rgsd compare shows a judge */
    for (size_t m = 0; m < ex->nmessages; m++) {
        cJSON *message = cJSON_CreateObject();
        cJSON_AddStringToObject(message, "role", rg_role_name(ex->messages[m].role));
        cJSON_AddStringToObject(message, "content", ex->messages[m].content ? ex->messages[m].content : "");
        cJSON_AddItemToArray(messages, message);
    }
    cJSON_AddStringToObject(o, "response", resp->response ? resp->response : "");
    cJSON_AddNumberToObject(o, "prompt_tokens", resp->prompt_tokens);
    cJSON_AddNumberToObject(o, "response_tokens", resp->response_tokens);
    cJSON_AddNumberToObject(o, "response_chars", resp->response_chars);
    cJSON_AddStringToObject(o, "finish_reason", resp->stopped ? "stop" : "length");
    add_number(o, "score", resp->score);
    add_number(o, "balanced_reward", resp->balanced);
    cJSON *verdicts = cJSON_AddArrayToObject(o, "verdicts");
    for (int c = 0; c < resp->n_verdicts; c++) {
        cJSON *v = cJSON_CreateObject();
        cJSON_AddNumberToObject(v, "criterion", c + 1);
        cJSON_AddStringToObject(v, "text", ex->rubric[c].text ? ex->rubric[c].text : "");
        cJSON_AddNumberToObject(v, "weight", ex->rubric[c].weight);
        cJSON_AddBoolToObject(v, "met", resp->verdicts[c].met == 1);
        cJSON_AddBoolToObject(v, "cached", resp->verdicts[c].cached);
        if (resp->verdicts[c].explanation) cJSON_AddStringToObject(v, "explanation", resp->verdicts[c].explanation);
        cJSON_AddItemToArray(verdicts, v);
    }
    return o;
}

static int write_responses(const rg_eval_result *r, const rg_example *examples, const char *path) {
    rg_atomic_file f;
    if (rg_atomic_open(&f, path)) return RG_ERR;
    for (size_t i = 0; i < r->n_responses; i++) {
        cJSON *line = response_json(r, examples, i);
        char *text = line ? cJSON_PrintUnformatted(line) : NULL;
        cJSON_Delete(line);
        if (!text) {
            rg_atomic_abort(&f);
            return rg_error("%s: out of memory", path);
        }
        fputs(text, f.fp);
        fputc('\n', f.fp);
        free(text);
    }
    return rg_atomic_commit(&f);
}

static void format_stats(char *buf, size_t size, const rg_score_stats *s) {
    if (isfinite(s->mean))
        snprintf(buf, size, "%.4f ± %.4f", s->mean, s->std_error);
    else
        snprintf(buf, size, "undefined");
}

/* Appends printf-style text to a memory stream. */
char *rg_eval_summary_text(const rg_eval_result *r, const rg_eval_report_info *info) {
    const rg_eval_summary *s = &r->summary;
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (!out) return rg_error("out of memory"), NULL;
    char buf[64];
    const rg_eval_options *o = info ? info->options : NULL;
    fprintf(out, "evaluated %s on %s (%zu examples x %d samples = %zu responses%s), judge %s\n",
            info && info->model ? info->model : "the model", info && info->data ? info->data : "the data",
            s->n_examples, r->samples, s->n_responses, o && o->with_rubric ? ", rubric in the prompt" : "",
            info && info->judge ? info->judge : "?");
    if (s->n_skipped) fprintf(out, "  skipped (prompt longer than the context): %zu examples\n", s->n_skipped);
    format_stats(buf, sizeof buf, &s->healthbench.overall);
    fprintf(out, "  %-30s %s  (n=%zu", "HealthBench score (clipped)", buf, s->healthbench.overall.n);
    if (s->healthbench.overall.n_undefined) fprintf(out, ", %zu undefined", s->healthbench.overall.n_undefined);
    fputs(")\n", out);
    format_stats(buf, sizeof buf, &s->balanced);
    fprintf(out, "  %-30s %s\n", "balanced reward", buf);
    for (size_t t = 0; t < s->healthbench.ntags; t++) {
        format_stats(buf, sizeof buf, &s->healthbench.tags[t].stats);
        fprintf(out, "    %-28s %s  (n=%zu)\n", s->healthbench.tags[t].tag, buf, s->healthbench.tags[t].stats.n);
    }
    fprintf(out, "  %-30s mean %.1f, median %.1f, p90 %.1f, max %.0f\n", "response tokens", s->response_tokens.mean,
            s->response_tokens.median, s->response_tokens.p90, s->response_tokens.max);
    fprintf(out, "  %-30s mean %.1f, median %.1f, p90 %.1f, max %.0f\n", "response characters",
            s->response_chars.mean, s->response_chars.median, s->response_chars.p90, s->response_chars.max);
    fprintf(out, "  %-30s %.1f%%\n", "ended on an end token", 100.0 * s->stopped_fraction);
    fprintf(out, "  %-30s %lld new tokens in %.1f s\n", "generation", (long long)s->new_tokens, s->generate_seconds);
    char judge_line[256];
    rg_judge_stats_format(&s->judge, judge_line, sizeof judge_line);
    fprintf(out, "  %-30s %s\n", "judge", judge_line);
    if (info && info->diagnostics) rg_diagnostics_text(out, info->diagnostics);
    if (fclose(out) != 0 || !text) {
        free(text);
        return rg_error("out of memory"), NULL;
    }
    return text;
}

static char *report_markdown(const rg_eval_result *r, const rg_eval_report_info *info) {
    const rg_eval_summary *s = &r->summary;
    const rg_eval_options *o = info->options;
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (!out) return rg_error("out of memory"), NULL;
    char buf[64];
    fputs("# rgsd eval report\n\n", out);
    fprintf(out, "- model: `%s`%s%s%s\n", info->model ? info->model : "?", info->adapter ? " + adapter `" : "",
            info->adapter ? info->adapter : "", info->adapter ? "`" : "");
    fprintf(out, "- data: `%s` (%zu examples", info->data ? info->data : "?", s->n_examples);
    if (s->n_skipped) fprintf(out, ", %zu skipped: prompt longer than the context", s->n_skipped);
    fputs(")\n", out);
    fprintf(out, "- judge: `%s`\n", info->judge ? info->judge : "?");
    if (o)
        fprintf(out,
                "- prompt: %s\n- sampling: %d sample(s) per example, temperature %g, top-p %g, top-k %d, at most %d "
                "new tokens, seed %llu\n",
                o->with_rubric ? "with the rubric (the teacher's view)" : "the conversation only", o->samples,
                (double)o->sample.temperature, (double)o->sample.top_p, o->sample.top_k, o->max_new,
                (unsigned long long)o->seed);
    fputs("\n| metric | value |\n|---|---|\n", out);
    format_stats(buf, sizeof buf, &s->healthbench.overall);
    fprintf(out, "| HealthBench score (mean clipped to [0, 1] ± bootstrap s.e.) | %s (n = %zu", buf,
            s->healthbench.overall.n);
    if (s->healthbench.overall.n_undefined) fprintf(out, ", %zu undefined", s->healthbench.overall.n_undefined);
    fputs(") |\n", out);
    format_stats(buf, sizeof buf, &s->balanced);
    fprintf(out, "| balanced reward | %s |\n", buf);
    fprintf(out, "| response tokens (mean / median / p90 / max) | %.1f / %.1f / %.1f / %.0f |\n",
            s->response_tokens.mean, s->response_tokens.median, s->response_tokens.p90, s->response_tokens.max);
    fprintf(out, "| response characters (mean / median / p90 / max) | %.1f / %.1f / %.1f / %.0f |\n",
            s->response_chars.mean, s->response_chars.median, s->response_chars.p90, s->response_chars.max);
    fprintf(out, "| ended on an end token | %.1f%% |\n", 100.0 * s->stopped_fraction);
    fprintf(out, "| generation | %zu responses, %lld new tokens, %.1f s |\n", s->n_responses,
            (long long)s->new_tokens, s->generate_seconds);
    fprintf(out,
            "| judge | %lld verdicts (%lld cached, %lld failed), %lld requests (%lld retries), %lld prompt + %lld "
            "completion tokens, %.1f s |\n",
            (long long)s->judge.verdicts, (long long)s->judge.cache_hits, (long long)s->judge.failures,
            (long long)s->judge.requests, (long long)s->judge.retries, (long long)s->judge.prompt_tokens,
            (long long)s->judge.completion_tokens, s->judge.seconds);
    if (s->healthbench.ntags) {
        fputs("\n## Per tag\n\n| tag | score | n |\n|---|---|---|\n", out);
        for (size_t t = 0; t < s->healthbench.ntags; t++) {
            format_stats(buf, sizeof buf, &s->healthbench.tags[t].stats);
            fprintf(out, "| %s | %s | %zu |\n", s->healthbench.tags[t].tag, buf, s->healthbench.tags[t].stats.n);
        }
    }
    if (info->diagnostics) rg_diagnostics_markdown(out, info->diagnostics);
    if (fclose(out) != 0 || !text) {
        free(text);
        return rg_error("out of memory"), NULL;
    }
    return text;
}

static char *join_path(const char *dir, const char *name) { return rg_sprintf("%s/%s", dir, name); }

int rg_eval_write_report(const rg_eval_result *r, const rg_example *examples, const rg_eval_report_info *info,
                         const char *dir) {
    rg_eval_report_info none = {0};
    if (!info) info = &none;
    char *stage = rg_dir_begin(dir);
    if (!stage) return RG_ERR;
    char *responses_path = join_path(stage, "responses.jsonl"), *md_path = join_path(stage, "report.md"),
         *json_path = join_path(stage, "report.json");
    char *markdown = NULL, *json_text = NULL;
    int rc = RG_ERR;
    if (!responses_path || !md_path || !json_path) goto done;
    if (write_responses(r, examples, responses_path)) goto done;
    if (!(markdown = report_markdown(r, info))) goto done;
    if (rg_write_file_atomic(md_path, markdown, strlen(markdown))) goto done;
    cJSON *root = report_json(r, info);
    json_text = root ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!json_text) {
        rg_error("%s: out of memory", json_path);
        goto done;
    }
    size_t len = strlen(json_text);
    json_text[len] = '\0';
    char *with_newline = rg_sprintf("%s\n", json_text);
    if (!with_newline) goto done;
    rc = rg_write_file_atomic(json_path, with_newline, len + 1);
    free(with_newline);
    if (rc == RG_OK) {
        rc = rg_dir_commit(stage, dir);
        stage = NULL; /* commit frees it, on failure too */
    }
done:
    rg_dir_abort(stage);
    free(markdown);
    free(json_text);
    free(responses_path);
    free(md_path);
    free(json_path);
    return rc;
}
