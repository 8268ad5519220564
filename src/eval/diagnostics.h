/* diagnostics.h — reward-hacking diagnostics over evaluation reports
 * (docs/evaluation.md, "Reward-hacking diagnostics"):
 *
 *   length drift   rg_length_drift: this run's response lengths against a
 *                  baseline report's, overall and paired by prompt;
 *   audit          rg_audit_run: the criteria credited to this run but never
 *                  to the baseline on the same prompt, re-graded by a second
 *                  judge; the weighted share it rejects is the exploitation
 *                  rate of the rubric reward-hacking study (arXiv 2605.12474);
 *   compare        rg_compare_run: a rubric-free pairwise judgement of two
 *                  reports' responses, each pair asked in both orders.
 *
 * Prompts are matched by example id (eval/report_read.h). Intervals are 95%
 * percentile bootstraps over prompts (a prompt's K samples stay together). */
#ifndef RG_DIAGNOSTICS_H
#define RG_DIAGNOSTICS_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "eval/eval.h"
#include "eval/report_read.h"
#include "judge/judge.h"

/* ---- length drift ---- */
typedef struct {
    double run_mean, base_mean, run_median, base_median; /* over all responses of each report */
    double ratio_mean, ratio_median;                     /* run / baseline (NAN when the baseline's is 0) */
    double diff_mean, diff_lo, diff_hi; /* d_p = mean run length - mean baseline length on prompt p:
                                           mean over prompts and its 95% bootstrap interval */
} rg_drift_stat;

typedef struct {
    rg_drift_stat tokens, chars;
    size_t n_prompts, n_run, n_base; /* prompts matched; responses on each side */
    int resamples;
} rg_length_drift;

int rg_length_drift_compute(const rg_report *run, const rg_report *base, const rg_prompt_match *matches,
                            size_t n_matches, int resamples, uint64_t seed, rg_length_drift *out);

/* ---- audit of newly credited criteria ---- */
typedef struct {
    const char *id;     /* borrowed from the examples */
    int sample;
    int criterion;      /* 1-based, as in responses.jsonl */
    const char *text;   /* borrowed */
    double weight;
    int rejected;       /* 1: the audit judge does not credit it */
    char *explanation;  /* the audit judge's reason (malloc'd) or NULL */
} rg_audit_item;

typedef struct {
    rg_audit_item *items;       /* every newly credited (response, criterion), in response order */
    size_t n_items, n_rejected;
    double weight_credited, weight_rejected;
    double exploitation_rate;   /* weight_rejected / weight_credited; NAN when nothing is newly credited */
    size_t n_prompts;
    rg_judge_stats judge;       /* the audit judge's accounting for this audit */
} rg_audit_result;

/* `run` is rg_report_from_result(result, examples) and `matches` pairs it
 * with `base`. The baseline's verdicts must be on the same rubric (criterion
 * count and texts per example, else an error naming the first difference). */
int rg_audit_run(const rg_eval_result *result, const rg_example *examples, const rg_report *base,
                 const rg_prompt_match *matches, size_t n_matches, rg_judge *audit_judge, rg_audit_result *out);
void rg_audit_result_free(rg_audit_result *audit);

/* ---- pairwise comparison ---- */
typedef struct {
    const char *id;    /* borrowed from report a */
    int sample;
    int a_first_pref;  /* order (A, B): 1 when the judge prefers A */
    int b_first_pref;  /* order (B, A): 1 when the judge prefers A (the reply shown second) */
    int outcome;       /* +1 A wins (both orders prefer A), -1 B wins, 0 tie (the orders disagree) */
    char *why_ab, *why_ba; /* the judge's reasons in each order (malloc'd) or NULL */
} rg_compare_pair;

typedef struct {
    rg_compare_pair *pairs;
    size_t n_pairs, n_prompts;
    size_t wins, ties, losses;       /* for A */
    double win_rate, win_lo, win_hi; /* (wins + ties/2) / n_pairs and its 95% bootstrap interval */
    int resamples;
    rg_judge_stats judge;
} rg_compare_result;

/* The judge must be opened with rg_judge_options.pairwise. Response k of a
 * prompt in A is paired with response k of the same prompt in B (the two
 * reports must hold the same number of responses per prompt). */
int rg_compare_run(const rg_report *a, const rg_report *b, rg_judge *judge, int resamples, uint64_t seed,
                   rg_compare_result *out);
void rg_compare_result_free(rg_compare_result *result);

typedef struct {
    const char *a, *b, *judge; /* as given */
} rg_compare_info;

/* DIR/pairs.jsonl and DIR/compare.json (written last), as one unit (io/atomic_dir.h). */
int rg_compare_write(const rg_compare_result *result, const rg_compare_info *info, const char *dir);
char *rg_compare_summary_text(const rg_compare_result *result, const rg_compare_info *info);

/* What a judge did between two readings of its cumulative accounting. */
rg_judge_stats rg_judge_stats_delta(const rg_judge_stats *now, const rg_judge_stats *before);

/* ---- in `rgsd eval` (--baseline, --audit-judge) ---- */

/* Every example id of the data is in the baseline and the other way round:
 * checked before generation, so a wrong --baseline fails at once. */
int rg_report_check_ids(const rg_report *base, const rg_example *examples, size_t n_examples);

/* The run against the baseline: the length drift, and with audit_judge
 * (else NULL) the audit. `audit` is left empty without one. */
int rg_eval_diagnose(const rg_eval_result *result, const rg_example *examples, const rg_report *base,
                     rg_judge *audit_judge, int resamples, uint64_t seed, rg_length_drift *drift,
                     rg_audit_result *audit);

/* In the eval report (report.json "length_drift" and "audit", the summary, report.md). */
typedef struct rg_eval_diagnostics {
    const char *baseline;            /* --baseline DIR */
    const rg_length_drift *drift;    /* NULL without --baseline */
    const char *audit_judge;         /* --audit-judge SPEC */
    const rg_audit_result *audit;    /* NULL without --audit-judge */
} rg_eval_diagnostics;

void rg_diagnostics_json(cJSON *root, const rg_eval_diagnostics *d);
void rg_diagnostics_text(FILE *out, const rg_eval_diagnostics *d);
void rg_diagnostics_markdown(FILE *out, const rg_eval_diagnostics *d);

#endif
