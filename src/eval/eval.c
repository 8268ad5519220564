/* eval.c — generate, judge, score: see eval.h. */
#include "eval/eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "base/error.h"
#include "base/timer.h"
#include "model/generate.h"
#include "rubric/chat_prompt.h"

rg_eval_options rg_eval_defaults(void) {
    return (rg_eval_options){.samples = 1,
                             .enable_thinking = 1,
                             .max_new = 256,
                             .sample = {.temperature = 1.0f, .top_k = 0, .top_p = 1.0f},
                             .batch = 8,
                             .resamples = RG_BOOTSTRAP_RESAMPLES};
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double rg_percentile(const double *values, size_t n, double q) {
    if (n == 0) return NAN;
    double *sorted = malloc(sizeof *sorted * n);
    if (!sorted) return NAN;
    memcpy(sorted, values, sizeof *sorted * n);
    qsort(sorted, n, sizeof *sorted, compare_doubles);
    double rank = q / 100.0 * (double)(n - 1);
    size_t lo = (size_t)floor(rank);
    size_t hi = lo + 1 < n ? lo + 1 : lo;
    double result = sorted[lo] + (rank - (double)lo) * (sorted[hi] - sorted[lo]);
    free(sorted);
    return result;
}

static rg_length_stats length_stats(const double *values, size_t n) {
    rg_length_stats s = {NAN, NAN, NAN, NAN};
    if (n == 0) return s;
    double sum = 0, max = values[0];
    for (size_t i = 0; i < n; i++) {
        sum += values[i];
        if (values[i] > max) max = values[i];
    }
    s.mean = sum / (double)n;
    s.median = rg_percentile(values, n, 50);
    s.p90 = rg_percentile(values, n, 90);
    s.max = max;
    return s;
}

/* Generated tokens may end inside a character, and a random model may emit
 * byte tokens that form no character: replace each invalid byte with U+FFFD
 * (as Hugging Face's decode does), so every text written or shown to a judge
 * is valid UTF-8. Takes ownership of `text`. */
char *rg_eval_valid_utf8(char *text) {
    size_t len = strlen(text);
    char *out = malloc(3 * len + 1);
    if (!out) {
        free(text);
        rg_error("out of memory");
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)text + i, (utf8proc_ssize_t)(len - i), &cp);
        if (n > 0) {
            memcpy(out + o, text + i, (size_t)n);
            o += (size_t)n, i += (size_t)n;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3, i++;
        }
    }
    out[o] = '\0';
    free(text);
    return out;
}

static int utf8_code_points(const char *text) {
    int n = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) n += (*p & 0xC0) != 0x80;
    return n;
}

/* The conversation the model sees: the example's, or the teacher's (rubric
 * in the last user message); a system message in front when asked and absent. */
static int render_prompt(const rg_lm *lm, const rg_example *ex, const rg_eval_options *o, char **text) {
    rg_message *teacher = NULL;
    size_t n_teacher = 0;
    const rg_message *messages = ex->messages;
    size_t n_messages = ex->nmessages;
    if (o->with_rubric) {
        if (rg_teacher_messages_in(o->teacher_template, RG_TEACHER_CONTEXT_RUBRIC, o->rubric_in, o->system, ex, &teacher,
                                   &n_teacher))
            return RG_ERR;
        messages = teacher, n_messages = n_teacher;
    }
    int rc = rg_chat_prompt_render(lm->chat, messages, n_messages, o->system, o->enable_thinking, text);
    if (teacher) rg_teacher_messages_free(teacher, n_teacher);
    return rc;
}

void rg_eval_result_free(rg_eval_result *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n_responses; i++) {
        rg_eval_response *resp = &r->responses[i];
        free(resp->response);
        if (resp->verdicts) rg_verdicts_clear(resp->verdicts, resp->n_verdicts);
        free(resp->verdicts);
    }
    free(r->responses);
    if (r->prompts)
        for (size_t e = 0; e < r->n_examples; e++) free(r->prompts[e]);
    free(r->prompts);
    rg_dataset_score_free(&r->summary.healthbench);
    memset(r, 0, sizeof *r);
}

static void stats_delta(rg_judge_stats *out, const rg_judge_stats *after, const rg_judge_stats *before) {
    out->verdicts = after->verdicts - before->verdicts;
    out->cache_hits = after->cache_hits - before->cache_hits;
    out->requests = after->requests - before->requests;
    out->retries = after->retries - before->retries;
    out->failures = after->failures - before->failures;
    out->prompt_tokens = after->prompt_tokens - before->prompt_tokens;
    out->completion_tokens = after->completion_tokens - before->completion_tokens;
    out->seconds = after->seconds - before->seconds;
}

/* Renders and encodes every prompt; fills prompts[], the kept examples and their ids. */
static int prepare_prompts(const rg_lm *lm, const rg_example *examples, size_t n_examples, const rg_eval_options *o,
                           rg_eval_result *r, int32_t **ids, int *lens, size_t *kept, size_t *n_kept) {
    int context = rg_context_len(&lm->model.cfg, o->context);
    *n_kept = 0;
    for (size_t e = 0; e < n_examples; e++) {
        const rg_example *ex = &examples[e];
        char *text = NULL;
        int32_t *prompt_ids = NULL;
        int n_ids = 0;
        if (render_prompt(lm, ex, o, &text) ||
            rg_tokenizer_encode(lm->tok, text, strlen(text), 1, &prompt_ids, &n_ids)) {
            free(text);
            return rg_error_prefix("example '%s' (line %ld)", ex->id ? ex->id : "?", ex->line), RG_ERR;
        }
        if (n_ids >= context) {
            free(prompt_ids);
            if (!o->skip_long) {
                free(text);
                return rg_error("example '%s' (line %ld): its prompt is %d tokens, longer than the context (%d tokens, "
                                "leaving no room to generate); raise --context (up to max_position_embeddings %d) "
                                "or pass --skip-long to leave such examples out",
                                ex->id ? ex->id : "?", ex->line, n_ids, context, lm->model.cfg.max_position);
            }
            free(text);
            r->summary.n_skipped++;
            continue;
        }
        r->prompts[e] = text;
        ids[*n_kept] = prompt_ids;
        lens[*n_kept] = n_ids;
        kept[(*n_kept)++] = e;
    }
    return RG_OK;
}

/* The n*K prompts in generation order: example-major, samples consecutive. */
static int generate_all(const rg_lm *lm, const rg_eval_options *o, int32_t **ids, const int *lens, const size_t *kept,
                        size_t n_kept, rg_eval_result *r) {
    int K = o->samples;
    size_t n = n_kept * (size_t)K;
    const int32_t **prompts = rg_calloc(n ? n : 1, sizeof *prompts);
    int *prompt_lens = rg_calloc(n ? n : 1, sizeof *prompt_lens);
    rg_gen_result *gen = rg_calloc(n ? n : 1, sizeof *gen);
    int rc = RG_ERR;
    if (!prompts || !prompt_lens || !gen) goto done;
    for (size_t k = 0; k < n_kept; k++)
        for (int s = 0; s < K; s++) {
            prompts[k * (size_t)K + (size_t)s] = ids[k];
            prompt_lens[k * (size_t)K + (size_t)s] = lens[k];
        }
    int32_t stop[1] = {lm->end_of_turn};
    rg_gen_options gen_options = {.max_new = o->max_new,
                                  .sample = o->sample,
                                  .seed = o->seed,
                                  .batch = o->batch > 0 ? o->batch : 1,
                                  .context = o->context,
                                  .stop_ids = stop,
                                  .n_stop_ids = lm->end_of_turn >= 0,
                                  .lora = o->lora};
    double start = rg_now();
    if (n > 0 &&
        rg_generate(&lm->model, (int)n, prompts, prompt_lens, &gen_options, gen, o->on_generate, o->progress_ctx))
        goto done;
    r->summary.generate_seconds = rg_now() - start;
    for (size_t i = 0; i < n; i++) {
        rg_eval_response *resp = &r->responses[i];
        resp->example = kept[i / (size_t)K];
        resp->sample = (int)(i % (size_t)K);
        resp->prompt_tokens = prompt_lens[i];
        resp->response_tokens = gen[i].n_tokens;
        resp->stopped = gen[i].stopped;
        if (rg_tokenizer_decode(lm->tok, gen[i].tokens, gen[i].n_tokens, &resp->response, NULL)) goto done;
        if (!(resp->response = rg_eval_valid_utf8(resp->response))) goto done;
        resp->response_chars = utf8_code_points(resp->response);
        r->summary.prompt_tokens += prompt_lens[i];
        r->summary.new_tokens += gen[i].n_tokens;
    }
    r->n_responses = n;
    rc = RG_OK;
done:
    if (gen) rg_gen_results_free(gen, (int)n);
    free(gen);
    free(prompts);
    free(prompt_lens);
    return rc;
}

static int judge_all(rg_judge *judge, const rg_example *examples, rg_eval_result *r) {
    rg_judge_item *items = rg_calloc(r->n_responses ? r->n_responses : 1, sizeof *items);
    if (!items) return RG_ERR;
    int rc = RG_OK;
    for (size_t i = 0; i < r->n_responses && rc == RG_OK; i++) {
        const rg_example *ex = &examples[r->responses[i].example];
        r->responses[i].verdicts = rg_calloc(ex->ncriteria, sizeof(rg_verdict));
        if (!r->responses[i].verdicts) rc = RG_ERR;
        r->responses[i].n_verdicts = (int)ex->ncriteria;
        items[i] = (rg_judge_item){.example = ex, .response = r->responses[i].response,
                                   .verdicts = r->responses[i].verdicts};
    }
    rg_judge_stats before = *rg_judge_get_stats(judge);
    if (rc == RG_OK && r->n_responses > 0 && rg_judge_run(judge, items, (int)r->n_responses))
        rc = rg_error_prefix("%s",
                             "evaluation stopped: the judge left criteria unjudged (responses are the same for the same "
                             "seed, so a rerun with a verdict cache pays only for the missing ones)");
    stats_delta(&r->summary.judge, rg_judge_get_stats(judge), &before);
    free(items);
    return rc;
}

static int score_all(const rg_example *examples, const rg_eval_options *o, rg_eval_result *r) {
    size_t n = r->n_responses;
    size_t alloc = n ? n : 1;
    rg_example *scored = rg_calloc(alloc, sizeof *scored);
    unsigned char **met = rg_calloc(alloc, sizeof *met);
    double *balanced = rg_calloc(alloc, sizeof *balanced);
    double *tokens = rg_calloc(alloc, sizeof *tokens), *chars = rg_calloc(alloc, sizeof *chars);
    int rc = RG_ERR;
    size_t stopped = 0;
    if (!scored || !met || !balanced || !tokens || !chars) goto done;
    for (size_t i = 0; i < n; i++) {
        rg_eval_response *resp = &r->responses[i];
        const rg_example *ex = &examples[resp->example];
        scored[i] = *ex; /* a shallow copy: one row per response, as simple-evals repeats examples */
        if (!(met[i] = rg_malloc(ex->ncriteria ? ex->ncriteria : 1))) goto done;
        for (size_t c = 0; c < ex->ncriteria; c++) met[i][c] = resp->verdicts[c].met == 1;
        resp->score = rg_score_healthbench(ex->rubric, ex->ncriteria, met[i]);
        resp->balanced = balanced[i] = rg_score_balanced(ex->rubric, ex->ncriteria, met[i]);
        tokens[i] = resp->response_tokens;
        chars[i] = resp->response_chars;
        stopped += resp->stopped != 0;
    }
    uint64_t seed = o->seed;
    int resamples = o->resamples > 0 ? o->resamples : RG_BOOTSTRAP_RESAMPLES;
    if (rg_score_dataset(scored, n, (const unsigned char *const *)met, resamples, seed, &r->summary.healthbench) ||
        rg_score_summarize(balanced, n, resamples, seed, &r->summary.balanced))
        goto done;
    r->summary.response_tokens = length_stats(tokens, n);
    r->summary.response_chars = length_stats(chars, n);
    r->summary.stopped_fraction = n ? (double)stopped / (double)n : NAN;
    rc = RG_OK;
done:
    if (met)
        for (size_t i = 0; i < n; i++) free(met[i]);
    free(met);
    free(scored);
    free(balanced);
    free(tokens);
    free(chars);
    return rc;
}

int rg_eval_run(const rg_lm *lm, const rg_example *examples, size_t n_examples, rg_judge *judge,
                const rg_eval_options *o, rg_eval_result *out) {
    memset(out, 0, sizeof *out);
    if (o->samples < 1) return rg_error("eval: samples must be >= 1 (got %d)", o->samples);
    if (o->max_new < 1) return rg_error("eval: max_new must be >= 1 (got %d)", o->max_new);
    if (n_examples == 0) return rg_error("eval: no examples");
    if (n_examples * (size_t)o->samples > (size_t)1 << 30) return rg_error("eval: too many responses asked");
    rg_eval_result *r = out;
    r->n_examples = n_examples;
    r->samples = o->samples;
    r->prompts = rg_calloc(n_examples, sizeof *r->prompts);
    r->responses = rg_calloc(n_examples * (size_t)o->samples, sizeof *r->responses);
    int32_t **ids = rg_calloc(n_examples, sizeof *ids);
    int *lens = rg_calloc(n_examples, sizeof *lens);
    size_t *kept = rg_calloc(n_examples, sizeof *kept), n_kept = 0;
    int rc = RG_ERR;
    if (!r->prompts || !r->responses || !ids || !lens || !kept) goto done;
    if (prepare_prompts(lm, examples, n_examples, o, r, ids, lens, kept, &n_kept)) goto done;
    r->summary.n_examples = n_kept;
    if (n_kept == 0) {
        rg_error("eval: every example's prompt is longer than the context (%zu skipped)", r->summary.n_skipped);
        goto done;
    }
    if (generate_all(lm, o, ids, lens, kept, n_kept, r)) goto done;
    r->summary.n_responses = r->n_responses;
    if (judge_all(judge, examples, r)) goto done;
    if (score_all(examples, o, r)) goto done;
    rc = RG_OK;
done:
    for (size_t k = 0; k < n_kept; k++) free(ids[k]);
    free(ids);
    free(lens);
    free(kept);
    if (rc) {
        /* Responses decoded before a failure in generate_all are counted too. */
        if (r->responses) r->n_responses = n_examples * (size_t)o->samples;
        rg_eval_result_free(r);
    }
    return rc;
}
