/* audit.c — the exploitation audit (diagnostics.h): which criteria did this
 * run earn that the baseline never earned on the same prompt, and does a
 * second judge agree? A trained policy that games its judge collects credit
 * the judge gives too easily; a stronger or different judge rejects much of
 * it (arXiv 2605.12474 reports this weighted rejected share). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "eval/diagnostics.h"

/* The rubric the baseline was judged on must be this one. */
static int check_baseline_rubric(const rg_example *ex, const rg_report *base, const rg_prompt_match *m) {
    for (int k = 0; k < m->nb; k++) {
        const rg_report_response *r = &base->responses[m->b[k]];
        if ((size_t)r->n_verdicts != ex->ncriteria)
            return rg_error("--baseline %s: example '%s' has %d criteria there but %zu in --data: the rubrics differ",
                            base->dir, m->id, r->n_verdicts, ex->ncriteria);
        for (int c = 0; c < r->n_verdicts; c++)
            if (strcmp(r->verdicts[c].text, ex->rubric[c].text ? ex->rubric[c].text : ""))
                return rg_error("--baseline %s: example '%s' criterion %d reads differently there than in --data: the "
                                "rubrics differ",
                                base->dir, m->id, c + 1);
    }
    return RG_OK;
}

/* Points earned: a positive weight that applies (a penalty avoided is not credit claimed). */
static int credited(const rg_criterion *c, int met) { return c->weight > 0 && rg_criterion_applies(c, met); }

typedef struct {
    rg_judge_item *items;
    rg_example *subsets;  /* per item: the example with only its newly credited criteria */
    int n_items;
} audit_batch;

static void batch_free(audit_batch *b) {
    for (int i = 0; i < b->n_items; i++) {
        if (b->items[i].verdicts) rg_verdicts_clear(b->items[i].verdicts, (int)b->subsets[i].ncriteria);
        free(b->items[i].verdicts);
        free(b->subsets[i].rubric);
    }
    free(b->items);
    free(b->subsets);
}

/* Adds response i's newly credited criteria (base_credit[j] == 0) to the audit. */
static int add_response(const rg_eval_result *result, const rg_example *ex, size_t i, const unsigned char *base_credit,
                        audit_batch *b, rg_audit_result *out) {
    const rg_eval_response *r = &result->responses[i];
    rg_criterion *subset = malloc(ex->ncriteria * sizeof *subset);
    if (!subset) return rg_error("out of memory in the audit");
    size_t n = 0;
    for (size_t j = 0; j < ex->ncriteria; j++) {
        if (!credited(&ex->rubric[j], r->verdicts[j].met == 1) || base_credit[j]) continue;
        subset[n++] = ex->rubric[j]; /* shallow: the texts stay the example's */
        rg_audit_item *item = &out->items[out->n_items++];
        *item = (rg_audit_item){.id = ex->id, .sample = r->sample, .criterion = (int)j + 1,
                                .text = ex->rubric[j].text, .weight = ex->rubric[j].weight};
    }
    if (n == 0) return free(subset), RG_OK;
    rg_example *sub = &b->subsets[b->n_items];
    *sub = *ex;
    sub->rubric = subset;
    sub->ncriteria = n;
    rg_judge_item *item = &b->items[b->n_items++];
    *item = (rg_judge_item){.example = sub, .response = r->response, .verdicts = calloc(n, sizeof(rg_verdict))};
    return item->verdicts ? RG_OK : rg_error("out of memory in the audit");
}

/* The audit judge's verdicts into out->items (both in response order, criteria ascending). */
static void tally(const audit_batch *b, rg_audit_result *out) {
    size_t k = 0;
    for (int i = 0; i < b->n_items; i++)
        for (size_t c = 0; c < b->subsets[i].ncriteria; c++, k++) {
            rg_audit_item *item = &out->items[k];
            const rg_verdict *v = &b->items[i].verdicts[c];
            item->rejected = !rg_criterion_applies(&b->subsets[i].rubric[c], v->met == 1);
            item->explanation = v->explanation ? strdup(v->explanation) : NULL;
            out->weight_credited += item->weight;
            if (item->rejected) out->n_rejected++, out->weight_rejected += item->weight;
        }
    out->exploitation_rate = out->weight_credited > 0 ? out->weight_rejected / out->weight_credited : NAN;
}

int rg_audit_run(const rg_eval_result *result, const rg_example *examples, const rg_report *base,
                 const rg_prompt_match *matches, size_t n_matches, rg_judge *audit_judge, rg_audit_result *out) {
    *out = (rg_audit_result){.n_prompts = n_matches, .exploitation_rate = NAN};
    size_t n_criteria = 0;
    for (size_t i = 0; i < result->n_responses; i++) n_criteria += (size_t)result->responses[i].n_verdicts;
    audit_batch b = {calloc(result->n_responses + 1, sizeof *b.items),
                     calloc(result->n_responses + 1, sizeof *b.subsets), 0};
    out->items = calloc(n_criteria + 1, sizeof *out->items);
    unsigned char *base_credit = NULL;
    int rc = b.items && b.subsets && out->items ? RG_OK : rg_error("out of memory in the audit");
    for (size_t p = 0; rc == RG_OK && p < n_matches; p++) {
        const rg_example *ex = &examples[result->responses[matches[p].a[0]].example];
        if ((rc = check_baseline_rubric(ex, base, &matches[p]))) break;
        free(base_credit);
        if (!(base_credit = calloc(ex->ncriteria, 1))) rc = rg_error("out of memory in the audit");
        for (int k = 0; rc == RG_OK && k < matches[p].nb; k++)
            for (size_t j = 0; j < ex->ncriteria; j++)
                base_credit[j] |= credited(&ex->rubric[j], base->responses[matches[p].b[k]].verdicts[j].met);
        for (int k = 0; rc == RG_OK && k < matches[p].na; k++)
            rc = add_response(result, ex, matches[p].a[k], base_credit, &b, out);
    }
    free(base_credit);
    rg_judge_stats before = *rg_judge_get_stats(audit_judge);
    if (rc == RG_OK && b.n_items > 0) rc = rg_judge_run(audit_judge, b.items, b.n_items);
    out->judge = rg_judge_stats_delta(rg_judge_get_stats(audit_judge), &before);
    if (rc == RG_OK) tally(&b, out);
    batch_free(&b);
    if (rc) rg_audit_result_free(out);
    return rc;
}

void rg_audit_result_free(rg_audit_result *audit) {
    for (size_t i = 0; audit->items && i < audit->n_items; i++) free(audit->items[i].explanation);
    free(audit->items);
    *audit = (rg_audit_result){0};
}
