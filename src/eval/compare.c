/* compare.c — rubric-free pairwise comparison of two evaluation reports
 * (diagnostics.h). A judge that sees no rubric cannot be gamed by rubric
 * keywords, so it checks whether a gain on rubric scores is a better answer.
 * Judges prefer the reply in one position (usually the first): each pair is
 * asked in both orders, and only a preference that survives the swap counts
 * as a win or a loss; an order-dependent answer is a tie. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/rng.h"
#include "eval/diagnostics.h"

/* The conversation the judge reads: a report's messages, else the prompt
 * text as the model read it (older reports). */
static int pair_example(const rg_report_response *ra, const rg_report_response *rb, rg_criterion *placeholder,
                        rg_message *fallback, rg_example *ex) {
    *ex = (rg_example){.id = ra->id, .rubric = placeholder, .ncriteria = 1};
    const rg_report_response *with = ra->messages ? ra : rb->messages ? rb : NULL;
    if (with) {
        ex->messages = with->messages;
        ex->nmessages = with->nmessages;
        return RG_OK;
    }
    if (!ra->prompt) return rg_error("example '%s': the report has neither its messages nor its prompt", ra->id);
    *fallback = (rg_message){.role = RG_ROLE_USER, .content = ra->prompt};
    ex->messages = fallback;
    ex->nmessages = 1;
    return RG_OK;
}

/* Index in b of the response to the same prompt with the same sample number. */
static int same_sample(const rg_report *a, const rg_report *b, const rg_prompt_match *m, int k, size_t *out) {
    if (m->na != m->nb)
        return rg_error("example '%s' has %d responses in %s but %d in %s: response k is compared with response k",
                        m->id, m->na, a->dir, m->nb, b->dir);
    int sample = a->responses[m->a[k]].sample;
    for (int j = 0; j < m->nb; j++)
        if (b->responses[m->b[j]].sample == sample) return (*out = m->b[j]), RG_OK;
    return rg_error("example '%s' sample %d is in %s but not in %s", m->id, sample, a->dir, b->dir);
}

typedef struct {
    rg_example *examples; /* one per pair (its placeholder criterion and fallback message below) */
    rg_message *fallbacks;
    rg_judge_item *items; /* 2 per pair: (A, B) then (B, A) */
    rg_verdict *verdicts;
    size_t *prompt_of;    /* pair -> prompt */
} compare_batch;

static void batch_free(compare_batch *b, size_t n_pairs) {
    if (b->verdicts) rg_verdicts_clear(b->verdicts, (int)(2 * n_pairs));
    free(b->examples);
    free(b->fallbacks);
    free(b->items);
    free(b->verdicts);
    free(b->prompt_of);
}

static int build(const rg_report *a, const rg_report *b, const rg_prompt_match *m, size_t n_matches,
                 rg_criterion *placeholder, compare_batch *batch, rg_compare_result *out) {
    size_t n = a->n;
    batch->examples = calloc(n, sizeof *batch->examples);
    batch->fallbacks = calloc(n, sizeof *batch->fallbacks);
    batch->items = calloc(2 * n, sizeof *batch->items);
    batch->verdicts = calloc(2 * n, sizeof *batch->verdicts);
    batch->prompt_of = calloc(n, sizeof *batch->prompt_of);
    out->pairs = calloc(n, sizeof *out->pairs);
    if (!batch->examples || !batch->fallbacks || !batch->items || !batch->verdicts || !batch->prompt_of || !out->pairs)
        return rg_error("out of memory in the comparison");
    for (size_t p = 0; p < n_matches; p++)
        for (int k = 0; k < m[p].na; k++) {
            size_t q = out->n_pairs++, ib = 0;
            const rg_report_response *ra = &a->responses[m[p].a[k]], *rb;
            if (same_sample(a, b, &m[p], k, &ib)) return RG_ERR;
            rb = &b->responses[ib];
            if (pair_example(ra, rb, placeholder, &batch->fallbacks[q], &batch->examples[q])) return RG_ERR;
            batch->prompt_of[q] = p;
            out->pairs[q] = (rg_compare_pair){.id = m[p].id, .sample = ra->sample};
            batch->items[2 * q] = (rg_judge_item){.example = &batch->examples[q], .response = ra->response,
                                                  .response_b = rb->response, .verdicts = &batch->verdicts[2 * q]};
            batch->items[2 * q + 1] = (rg_judge_item){.example = &batch->examples[q], .response = rb->response,
                                                      .response_b = ra->response,
                                                      .verdicts = &batch->verdicts[2 * q + 1]};
        }
    return RG_OK;
}

/* Win rate (wins + ties/2) / pairs over a resample of prompts; percentile interval. */
static int bootstrap(const compare_batch *batch, size_t n_prompts, int resamples, uint64_t seed,
                     rg_compare_result *out) {
    double *score = calloc(n_prompts + 1, sizeof *score), *count = calloc(n_prompts + 1, sizeof *count);
    double *rates = malloc((size_t)(resamples > 0 ? resamples : 1) * sizeof *rates);
    if (!score || !count || !rates) {
        free(score), free(count), free(rates);
        return rg_error("out of memory in the bootstrap");
    }
    for (size_t q = 0; q < out->n_pairs; q++) {
        score[batch->prompt_of[q]] += (out->pairs[q].outcome + 1) / 2.0;
        count[batch->prompt_of[q]] += 1;
    }
    rg_rng rng;
    rg_rng_seed(&rng, seed);
    for (int r = 0; r < resamples; r++) {
        double s = 0, c = 0;
        for (size_t i = 0; i < n_prompts; i++) {
            size_t p = rg_rng_below(&rng, n_prompts);
            s += score[p], c += count[p];
        }
        rates[r] = s / c;
    }
    out->win_lo = n_prompts ? rg_percentile(rates, (size_t)resamples, 2.5) : NAN;
    out->win_hi = n_prompts ? rg_percentile(rates, (size_t)resamples, 97.5) : NAN;
    free(score), free(count), free(rates);
    return RG_OK;
}

static void tally(const compare_batch *batch, rg_compare_result *out) {
    for (size_t q = 0; q < out->n_pairs; q++) {
        rg_compare_pair *pair = &out->pairs[q];
        pair->a_first_pref = batch->verdicts[2 * q].met == 1;      /* A shown first and preferred */
        pair->b_first_pref = batch->verdicts[2 * q + 1].met != 1;  /* A shown second and preferred */
        const char *ab = batch->verdicts[2 * q].explanation, *ba = batch->verdicts[2 * q + 1].explanation;
        pair->why_ab = ab ? strdup(ab) : NULL; /* NULL on out of memory too: only a comment is lost */
        pair->why_ba = ba ? strdup(ba) : NULL;
        pair->outcome = pair->a_first_pref == pair->b_first_pref ? (pair->a_first_pref ? 1 : -1) : 0;
        out->wins += pair->outcome > 0, out->ties += pair->outcome == 0, out->losses += pair->outcome < 0;
    }
    out->win_rate = out->n_pairs ? (out->wins + 0.5 * out->ties) / (double)out->n_pairs : NAN;
}

int rg_compare_run(const rg_report *a, const rg_report *b, rg_judge *judge, int resamples, uint64_t seed,
                   rg_compare_result *out) {
    *out = (rg_compare_result){.resamples = resamples, .win_rate = NAN, .win_lo = NAN, .win_hi = NAN};
    rg_prompt_match *m;
    size_t n_matches;
    if (rg_report_match(a, b, &m, &n_matches)) return RG_ERR;
    out->n_prompts = n_matches;
    rg_criterion placeholder = {.text = "holistic preference (no rubric)", .weight = 1,
                                .polarity = RG_POLARITY_POSITIVE};
    compare_batch batch = {0};
    int rc = build(a, b, m, n_matches, &placeholder, &batch, out);
    rg_judge_stats before = *rg_judge_get_stats(judge);
    if (rc == RG_OK) rc = rg_judge_run(judge, batch.items, (int)(2 * out->n_pairs));
    out->judge = rg_judge_stats_delta(rg_judge_get_stats(judge), &before);
    if (rc == RG_OK) tally(&batch, out);
    if (rc == RG_OK) rc = bootstrap(&batch, n_matches, resamples, seed, out);
    batch_free(&batch, out->n_pairs);
    rg_prompt_match_free(m, n_matches);
    if (rc) rg_compare_result_free(out);
    return rc;
}

void rg_compare_result_free(rg_compare_result *result) {
    for (size_t q = 0; result->pairs && q < result->n_pairs; q++) {
        free(result->pairs[q].why_ab);
        free(result->pairs[q].why_ba);
    }
    free(result->pairs);
    *result = (rg_compare_result){0};
}
