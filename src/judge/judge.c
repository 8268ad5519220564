/* judge.c — the judge front end: cache look-ups, dispatch to a back end,
 * recording verdicts and failures, accounting. See judge.h. */
#include "judge/judge.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "base/text.h"
#include "base/timer.h"
#include "judge/grader.h"
#include "judge/judge_internal.h"

void rg_verdicts_clear(rg_verdict *verdicts, int n) {
    for (int i = 0; i < n; i++) {
        free(verdicts[i].explanation);
        verdicts[i] = (rg_verdict){.met = -1};
    }
}

static int copy_spec(rg_judge_spec *to, const rg_judge_spec *from) {
    *to = *from;
    to->text = from->text ? rg_strdup(from->text) : NULL;
    to->url = from->url ? rg_strdup(from->url) : NULL;
    to->model = from->model ? rg_strdup(from->model) : NULL;
    to->key_env = from->key_env ? rg_strdup(from->key_env) : NULL;
    to->model_dir = from->model_dir ? rg_strdup(from->model_dir) : NULL;
    to->local_chat_template = from->local_chat_template ? rg_strdup(from->local_chat_template) : NULL;
    if ((from->local_chat_template && !to->local_chat_template) || (from->text && !to->text) || (from->url && !to->url) || (from->model && !to->model) ||
        (from->key_env && !to->key_env) || (from->model_dir && !to->model_dir))
        return RG_ERR;
    return RG_OK;
}

int rg_judge_open(rg_judge **out, const rg_judge_spec *spec, const rg_judge_options *options) {
    *out = NULL;
    rg_judge *judge = rg_calloc(1, sizeof *judge);
    if (!judge) return RG_ERR;
    if (options) judge->options = *options;
    if (options && options->pairwise && spec->kind != RG_JUDGE_HTTP) {
        rg_error("judge spec '%s': a pairwise comparison needs an http judge (http:URL#model=NAME)", spec->text);
        goto fail;
    }
    if (copy_spec(&judge->spec, spec) != RG_OK || !(judge->identity = rg_judge_spec_identity(spec))) goto fail;
    if (judge->options.pairwise) { /* its own cache keys: a preference is not a verdict */
        char *pairwise = rg_sprintf("%s|%s", judge->identity, RG_PAIRWISE_PROMPT_VERSION);
        if (!pairwise) goto fail;
        free(judge->identity);
        judge->identity = pairwise;
    }
    /* The judge keeps its own copies of the paths. */
    if (options && options->cache_path && !(judge->cache_path = rg_strdup(options->cache_path))) goto fail;
    if (options && options->failures_path && !(judge->failures_path = rg_strdup(options->failures_path))) goto fail;
    judge->options.cache_path = judge->cache_path;
    judge->options.failures_path = judge->failures_path;
    if (spec->kind == RG_JUDGE_HTTP) {
        const char *key = getenv(spec->key_env);
        if (key && *key) {
            if (!(judge->api_key = rg_strdup(key))) goto fail;
        } else if (spec->key_env_explicit) {
            rg_error("judge spec '%s': environment variable %s (key_env) is not set", spec->text, spec->key_env);
            goto fail;
        } else {
            rg_debug("judge: %s is not set; requests go without an Authorization header", spec->key_env);
        }
    }
    if (spec->kind == RG_JUDGE_LOCAL && local_judge_open(judge) != RG_OK) goto fail;
    /* The rule judge is exact and free: nothing to cache. */
    if (judge->cache_path && spec->kind != RG_JUDGE_RULE && rg_cache_open(&judge->cache, judge->cache_path) != RG_OK)
        goto fail;
    *out = judge;
    return RG_OK;
fail:
    rg_judge_close(judge);
    return RG_ERR;
}

void rg_judge_close(rg_judge *judge) {
    if (!judge) return;
    local_judge_close(judge);
    rg_cache_close(judge->cache);
    rg_judge_spec_free(&judge->spec);
    if (judge->api_key) {
        memset(judge->api_key, 0, strlen(judge->api_key));
        free(judge->api_key);
    }
    free(judge->identity);
    free(judge->cache_path);
    free(judge->failures_path);
    free(judge->first_failure);
    free(judge->cache_error);
    free(judge);
}

const rg_judge_stats *rg_judge_get_stats(const rg_judge *judge) { return &judge->stats; }

void rg_judge_stats_format(const rg_judge_stats *s, char *buf, int size) {
    snprintf(buf, (size_t)size,
             "%lld verdicts (%lld cached, %lld failed), %lld requests (%lld retries), %lld prompt + %lld completion "
             "tokens, %.1f s",
             (long long)s->verdicts, (long long)s->cache_hits, (long long)s->failures, (long long)s->requests,
             (long long)s->retries, (long long)s->prompt_tokens, (long long)s->completion_tokens, s->seconds);
}

static void report_progress(rg_judge *judge) {
    judge->progress_done++;
    if (judge->options.on_progress)
        judge->options.on_progress(judge->options.progress_ctx, judge->progress_done, judge->progress_total);
}

void judge_redact_secret(const rg_judge *judge, char *text) {
    if (!judge->api_key || !text) return;
    size_t key_len = strlen(judge->api_key);
    for (char *hit = strstr(text, judge->api_key); hit; hit = strstr(hit + key_len, judge->api_key))
        memset(hit, '*', key_len);
}

void judge_record_verdict(rg_judge *judge, rg_judge_item *items, const judge_slot *slot, int met,
                          const char *explanation) {
    rg_judge_item *item = &items[slot->item];
    rg_verdict *v = &item->verdicts[slot->criterion];
    free(v->explanation);
    v->met = met ? 1 : 0;
    v->cached = 0;
    /* From a model (endpoint or local): made valid UTF-8 once, here, so the
     * cache and every JSONL written from the verdict stay parseable. */
    v->explanation = explanation ? rg_utf8_repair(explanation, strlen(explanation)) : NULL;
    judge->stats.verdicts++;
    if (judge->cache && rg_cache_put(judge->cache, slot->cache_key, judge->identity, met, v->explanation) != RG_OK) {
        judge->unstored++;
        if (!judge->cache_error) judge->cache_error = rg_strdup(rg_errmsg());
    }
    report_progress(judge);
}

static void append_failure_record(rg_judge *judge, const rg_judge_item *item, int criterion, const char *why,
                                  const char *raw_answer) {
    /* the error and the raw answer quote the endpoint: valid UTF-8 only */
    char *why_text = rg_utf8_repair(why, strlen(why));
    char *raw_text = raw_answer ? rg_utf8_repair(raw_answer, strlen(raw_answer)) : NULL;
    cJSON *record = cJSON_CreateObject();
    cJSON_AddStringToObject(record, "id", item->example->id ? item->example->id : "");
    cJSON_AddNumberToObject(record, "criterion", criterion + 1);
    cJSON_AddStringToObject(record, "criterion_text", item->example->rubric[criterion].text);
    cJSON_AddStringToObject(record, "judge", judge->spec.text);
    cJSON_AddStringToObject(record, "error", why_text ? why_text : "?");
    if (raw_text) cJSON_AddStringToObject(record, "raw", raw_text);
    else cJSON_AddNullToObject(record, "raw");
    char *line = cJSON_PrintUnformatted(record);
    cJSON_Delete(record);
    free(why_text);
    free(raw_text);
    FILE *f = line ? fopen(judge->failures_path, "a") : NULL;
    if (f) {
        judge_redact_secret(judge, line);
        fprintf(f, "%s\n", line);
        fflush(f);
        fclose(f);
    } else {
        rg_warn("judge: cannot append to %s", judge->failures_path);
    }
    free(line);
}

void judge_record_failure(rg_judge *judge, rg_judge_item *items, const judge_slot *slot, const char *why,
                          const char *raw_answer) {
    rg_judge_item *item = &items[slot->item];
    rg_verdict *v = &item->verdicts[slot->criterion];
    free(v->explanation);
    *v = (rg_verdict){.met = -1};
    item->failed++;
    judge->stats.failures++;
    if (judge->failures_path) append_failure_record(judge, item, slot->criterion, why, raw_answer);
    if (!judge->first_failure) {
        judge->first_failure = rg_sprintf("judge: example '%s' criterion %d: %s%s%s", item->example->id ? item->example->id : "?",
                                          slot->criterion + 1, why, raw_answer && judge->failures_path ? "; raw answer saved to " : "",
                                          raw_answer && judge->failures_path ? judge->failures_path : "");
        if (judge->first_failure) judge_redact_secret(judge, judge->first_failure);
    }
    report_progress(judge);
}

/* Fills verdicts from the cache; returns the slots left to the back end. */
static int collect_uncached(rg_judge *judge, rg_judge_item *items, int n_items, judge_slot **out, int *n_out) {
    int total = 0;
    for (int i = 0; i < n_items; i++) total += (int)items[i].example->ncriteria;
    judge_slot *slots = rg_calloc((size_t)(total ? total : 1), sizeof *slots);
    if (!slots) return RG_ERR;
    int n = 0;
    for (int i = 0; i < n_items; i++) {
        for (int c = 0; c < (int)items[i].example->ncriteria; c++) {
            /* A weight of 0 counts for nothing in any score: never sent to a
             * judge (no request, no cache entry), marked in the explanation. */
            if (items[i].example->rubric[c].weight == 0) {
                rg_verdict *v = &items[i].verdicts[c];
                free(v->explanation);
                *v = (rg_verdict){.met = 0, .explanation = rg_strdup("not judged: weight 0 counts for nothing")};
                continue;
            }
            judge_slot slot = {.item = i, .criterion = c};
            if (judge->cache) {
                rg_cache_key(judge->identity, &items[i], c, slot.cache_key);
                int met;
                char *explanation;
                int hit = rg_cache_get(judge->cache, slot.cache_key, &met, &explanation);
                if (hit < 0) {
                    free(slots);
                    return RG_ERR;
                }
                if (hit) {
                    rg_verdict *v = &items[i].verdicts[c];
                    free(v->explanation);
                    *v = (rg_verdict){.met = (signed char)met, .cached = 1, .explanation = explanation};
                    judge->stats.verdicts++;
                    judge->stats.cache_hits++;
                    report_progress(judge);
                    continue;
                }
            }
            slots[n++] = slot;
        }
    }
    *out = slots;
    *n_out = n;
    return RG_OK;
}

int rg_judge_run(rg_judge *judge, rg_judge_item *items, int n_items) {
    double start = rg_now();
    free(judge->first_failure);
    judge->first_failure = NULL;
    free(judge->cache_error);
    judge->cache_error = NULL;
    judge->unstored = 0;
    int64_t failures_before = judge->stats.failures;
    judge->progress_done = 0;
    judge->progress_total = 0;
    for (int i = 0; i < n_items; i++) {
        items[i].failed = 0;
        rg_verdicts_clear(items[i].verdicts, (int)items[i].example->ncriteria);
        for (size_t c = 0; c < items[i].example->ncriteria; c++)
            judge->progress_total += items[i].example->rubric[c].weight != 0;
    }
    judge_slot *slots;
    int n_slots;
    if (collect_uncached(judge, items, n_items, &slots, &n_slots) != RG_OK) return RG_ERR;
    int rc = RG_OK;
    if (n_slots > 0) {
        rc = judge->spec.kind == RG_JUDGE_HTTP    ? http_judge_run(judge, items, slots, n_slots)
             : judge->spec.kind == RG_JUDGE_LOCAL ? local_judge_run(judge, items, slots, n_slots)
                                                  : rule_judge_run(judge, items, slots, n_slots);
    }
    free(slots);
    judge->stats.seconds += rg_now() - start;
    int64_t failed = judge->stats.failures - failures_before;
    if (judge->cache_error) /* before the failures it caused: the cause is the cache */
        rc = rg_error("%s; %lld verdict(s) of this run could not be stored and no further judge request was sent, "
                      "so a rerun does not pay for the same verdicts again (free space or fix the cache, then rerun)",
                      judge->cache_error, (long long)judge->unstored);
    else if (rc == RG_OK && failed > 0)
        rc = rg_error("%lld of %lld criteria could not be judged; first: %s", (long long)failed,
                      (long long)judge->progress_total, judge->first_failure ? judge->first_failure : "?");
    return rc;
}
