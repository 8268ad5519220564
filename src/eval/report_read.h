/* report_read.h — an evaluation report read back (what `rgsd eval --out DIR`
 * wrote), and the matching of two reports' prompts by example id: the input
 * of the reward-hacking diagnostics (length drift, the audit, `rgsd compare`;
 * docs/evaluation.md).
 *
 *   rg_report base;
 *   if (rg_report_load("eval-base", &base)) ...;        (DIR/report.json must exist: the report is whole)
 *   rg_prompt_match *m; size_t n;
 *   if (rg_report_match(&run, &base, &m, &n)) ...;      (the same ids on both sides, else an error naming one)
 *   ... m[p].a[k], m[p].b[k] index run.responses / base.responses ...
 *   rg_prompt_match_free(m, n); rg_report_free(&base);
 */
#ifndef RG_REPORT_READ_H
#define RG_REPORT_READ_H

#include <stddef.h>

#include "eval/eval.h"
#include "rubric/rubric.h"

typedef struct {
    char *text;
    double weight;
    int met; /* the verdict as written in the report: the criterion's text holds */
} rg_report_verdict;

typedef struct {
    char *id;              /* the example's id: what prompts are matched by */
    int sample;
    char *prompt;          /* the chat-templated prompt the model read */
    rg_message *messages;  /* the conversation (reports since the diagnostics); NULL in older reports */
    size_t nmessages;
    char *response;
    int response_tokens, response_chars;
    rg_report_verdict *verdicts;
    int n_verdicts;
} rg_report_response;

typedef struct {
    char *dir;                     /* as given, for messages */
    rg_report_response *responses; /* in file order (example-major) */
    size_t n;
} rg_report;

/* Reads DIR/report.json (must parse: its presence means the report is whole)
 * and DIR/responses.jsonl. One-line errors name the file and line. */
int rg_report_load(const char *dir, rg_report *out);
/* The same view of a finished evaluation (strings copied; `dir` names it in messages). */
int rg_report_from_result(const rg_eval_result *result, const rg_example *examples, const char *dir,
                          rg_report *out);
void rg_report_free(rg_report *report);

/* One prompt present in both reports: the indices of its responses on each side. */
typedef struct {
    const char *id; /* borrowed from report a */
    size_t *a, *b;
    int na, nb;
} rg_prompt_match;

/* Groups both reports' responses by example id, in a's order. The two
 * reports must hold the same set of ids (an error names the first id that is
 * only on one side) and, where both carry the conversation, the same one. */
int rg_report_match(const rg_report *a, const rg_report *b, rg_prompt_match **out, size_t *n_out);
void rg_prompt_match_free(rg_prompt_match *matches, size_t n);

/* Bootstrap over prompts: percentile interval [lo, hi] (level 0.95: the 2.5th
 * and 97.5th percentiles, linear interpolation) of the mean of `values` over
 * `resamples` resamples of the n values drawn with replacement (rg_rng
 * seeded by `seed`). NAN when n == 0. */
int rg_bootstrap_mean_interval(const double *values, size_t n, int resamples, uint64_t seed, double *lo,
                               double *hi);

#endif
