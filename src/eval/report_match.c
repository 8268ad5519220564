/* report_match.c — a finished evaluation seen as a report, the matching of
 * two reports by prompt id, the bootstrap interval and judge accounting the
 * diagnostics share (report_read.h, diagnostics.h). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/rng.h"
#include "base/strmap.h"
#include "eval/diagnostics.h"
#include "eval/report_read.h"

static int copy_messages(const rg_example *ex, rg_report_response *r) {
    if (!(r->messages = calloc(ex->nmessages ? ex->nmessages : 1, sizeof *r->messages))) return RG_ERR;
    for (size_t m = 0; m < ex->nmessages; m++, r->nmessages++) {
        r->messages[m].role = ex->messages[m].role;
        if (!(r->messages[m].content = strdup(ex->messages[m].content ? ex->messages[m].content : ""))) return RG_ERR;
    }
    return RG_OK;
}

static int copy_response(const rg_eval_result *result, const rg_example *examples, size_t i, rg_report_response *r) {
    const rg_eval_response *e = &result->responses[i];
    const rg_example *ex = &examples[e->example];
    *r = (rg_report_response){.sample = e->sample, .response_tokens = e->response_tokens,
                              .response_chars = e->response_chars};
    if (!(r->id = strdup(ex->id ? ex->id : "")) || !(r->response = strdup(e->response ? e->response : "")))
        return RG_ERR;
    if (result->prompts && result->prompts[e->example] && !(r->prompt = strdup(result->prompts[e->example])))
        return RG_ERR;
    if (copy_messages(ex, r)) return RG_ERR;
    if (!(r->verdicts = calloc((size_t)(e->n_verdicts ? e->n_verdicts : 1), sizeof *r->verdicts))) return RG_ERR;
    for (int c = 0; c < e->n_verdicts; c++, r->n_verdicts++) {
        r->verdicts[c] = (rg_report_verdict){.weight = ex->rubric[c].weight, .met = e->verdicts[c].met == 1};
        if (!(r->verdicts[c].text = strdup(ex->rubric[c].text ? ex->rubric[c].text : ""))) return RG_ERR;
    }
    return RG_OK;
}

int rg_report_from_result(const rg_eval_result *result, const rg_example *examples, const char *dir,
                          rg_report *out) {
    *out = (rg_report){0};
    out->responses = calloc(result->n_responses ? result->n_responses : 1, sizeof *out->responses);
    if (!out->responses || !(out->dir = strdup(dir ? dir : "this evaluation"))) goto fail;
    for (size_t i = 0; i < result->n_responses; i++) {
        out->n++;
        if (copy_response(result, examples, i, &out->responses[i])) goto fail;
    }
    return RG_OK;
fail:
    rg_report_free(out);
    return rg_error("out of memory copying the evaluation's responses");
}

void rg_prompt_match_free(rg_prompt_match *matches, size_t n) {
    for (size_t p = 0; matches && p < n; p++) {
        free(matches[p].a);
        free(matches[p].b);
    }
    free(matches);
}

static int same_conversation(const rg_report_response *x, const rg_report_response *y) {
    if (!x->messages || !y->messages) return 1; /* an older report: nothing to compare */
    if (x->nmessages != y->nmessages) return 0;
    for (size_t m = 0; m < x->nmessages; m++)
        if (x->messages[m].role != y->messages[m].role || strcmp(x->messages[m].content, y->messages[m].content))
            return 0;
    return 1;
}

#define NOT_IN_A 1

/* Appends response i to the group of its id (a new group at the end when
 * `create`); NOT_IN_A when the id is absent and !create, RG_ERR on a
 * repeated sample. */
static int add_to_group(rg_strmap *ids, rg_prompt_match *groups, size_t *n_groups, const rg_report *r, size_t i,
                        int side, int create) {
    const char *id = r->responses[i].id;
    uint64_t g;
    if (!rg_strmap_get(ids, id, strlen(id), &g)) {
        if (!create) return NOT_IN_A;
        g = (*n_groups)++;
        groups[g] = (rg_prompt_match){.id = id};
        if (rg_strmap_put(ids, id, strlen(id), g)) return RG_ERR;
    }
    rg_prompt_match *m = &groups[g];
    size_t **list = side ? &m->b : &m->a;
    int *count = side ? &m->nb : &m->na;
    for (int k = 0; k < *count; k++)
        if (r->responses[(*list)[k]].sample == r->responses[i].sample)
            return rg_error("%s: example id '%s' is used by two examples (sample %d twice): prompts cannot be "
                            "matched by id",
                            r->dir, id, r->responses[i].sample);
    size_t *more = realloc(*list, (size_t)(*count + 1) * sizeof *more);
    if (!more) return rg_error("out of memory matching prompts");
    *list = more;
    more[(*count)++] = i;
    return RG_OK;
}

int rg_report_match(const rg_report *a, const rg_report *b, rg_prompt_match **out, size_t *n_out) {
    *out = NULL;
    *n_out = 0;
    rg_strmap ids;
    if (rg_strmap_init(&ids, a->n)) return RG_ERR;
    rg_prompt_match *groups = calloc(a->n ? a->n : 1, sizeof *groups);
    size_t n = 0;
    int rc = groups ? RG_OK : rg_error("out of memory matching prompts");
    for (size_t i = 0; rc == RG_OK && i < a->n; i++) rc = add_to_group(&ids, groups, &n, a, i, 0, 1);
    for (size_t i = 0; rc == RG_OK && i < b->n; i++) {
        int added = add_to_group(&ids, groups, &n, b, i, 1, 0);
        if (added == NOT_IN_A)
            rc = rg_error("the prompts do not match: example '%s' is in %s but not in %s", b->responses[i].id, b->dir,
                          a->dir);
        else
            rc = added;
    }
    for (size_t p = 0; rc == RG_OK && p < n; p++) {
        if (groups[p].nb == 0)
            rc = rg_error("the prompts do not match: example '%s' is in %s but not in %s", groups[p].id, a->dir,
                          b->dir);
        else if (!same_conversation(&a->responses[groups[p].a[0]], &b->responses[groups[p].b[0]]))
            rc = rg_error("the prompts do not match: example '%s' has a different conversation in %s and in %s",
                          groups[p].id, a->dir, b->dir);
    }
    rg_strmap_free(&ids);
    if (rc) {
        rg_prompt_match_free(groups, n);
        return RG_ERR;
    }
    *out = groups;
    *n_out = n;
    return RG_OK;
}

int rg_bootstrap_mean_interval(const double *values, size_t n, int resamples, uint64_t seed, double *lo,
                               double *hi) {
    *lo = *hi = NAN;
    if (n == 0) return RG_OK;
    double *means = malloc((size_t)(resamples > 0 ? resamples : 1) * sizeof *means);
    if (!means) return rg_error("out of memory in the bootstrap");
    rg_rng rng;
    rg_rng_seed(&rng, seed);
    for (int r = 0; r < resamples; r++) {
        double sum = 0;
        for (size_t i = 0; i < n; i++) sum += values[rg_rng_below(&rng, n)];
        means[r] = sum / (double)n;
    }
    *lo = rg_percentile(means, (size_t)resamples, 2.5);
    *hi = rg_percentile(means, (size_t)resamples, 97.5);
    free(means);
    return RG_OK;
}

rg_judge_stats rg_judge_stats_delta(const rg_judge_stats *now, const rg_judge_stats *before) {
    return (rg_judge_stats){now->verdicts - before->verdicts, now->cache_hits - before->cache_hits,
                            now->requests - before->requests, now->retries - before->retries,
                            now->failures - before->failures, now->prompt_tokens - before->prompt_tokens,
                            now->completion_tokens - before->completion_tokens, now->seconds - before->seconds};
}
