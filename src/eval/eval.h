/* eval.h — evaluate a model on rubric data: generate K responses per example
 * (batched, seeded), judge every criterion, score (HealthBench and balanced),
 * summarise. `rgsd eval` and the trainers' --eval-every call rg_eval_run.
 *
 *   rg_eval_options opt = rg_eval_defaults();
 *   opt.samples = 4; opt.with_rubric = 1;      (the teacher's view: the rubric in the prompt)
 *   rg_eval_result result;
 *   if (rg_eval_run(&lm, data.examples, data.count, judge, &opt, &result)) ...;
 *   result.summary.healthbench.overall.mean ...;
 *   rg_eval_write_report(&result, data.examples, &info, "out/");   (report.json, report.md, responses.jsonl)
 *   rg_eval_result_free(&result);
 *
 * Prompts: the example's conversation (or, with_rubric, the teacher
 * conversation of rubric/teacher_prompt.h: the last user message rewritten to
 * carry the rubric) chat-templated with the generation prompt, exactly as
 * `rgsd generate` renders it. Response k of example e is sequence e*K + k of
 * one rg_generate call, so its tokens depend only on (seed, e, k): the same
 * seed gives the same responses, whatever the batch size (up to float
 * rounding at exact ties), and the same scores.
 *
 * Scores (DESIGN.md section 4, rubric/score.h): each response gets the
 * HealthBench score and the balanced reward; the data-set score is the mean
 * over all n*K responses clipped to [0, 1] with a bootstrap standard error
 * over responses (as simple-evals does with repeats), the same per tag.
 *
 * A prompt that leaves no room in the context (prompt tokens >= context) is
 * an error naming the example, unless skip_long: then the example is left
 * out and counted in summary.n_skipped. A criterion the judge cannot decide
 * fails the whole evaluation (never a silent "not met"); with a verdict
 * cache a rerun generates the same responses and pays only for what is
 * missing. */
#ifndef RG_EVAL_H
#define RG_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "gen/sample.h"
#include "judge/judge.h"
#include "lm/lm.h"
#include "model/lora.h"
#include "rubric/rubric.h"
#include "rubric/score.h"
#include "rubric/teacher_prompt.h"

typedef void (*rg_eval_progress_fn)(void *ctx, int done, int total);

typedef struct {
    int samples;       /* K responses per example (>= 1) */
    int with_rubric;   /* the prompt carries the rubric (the RGSD teacher's view) */
    const rg_teacher_template *teacher_template; /* with_rubric: NULL = the default rubric template */
    rg_rubric_in rubric_in;   /* with_rubric: the rubric in the last user message (default) or the system message */
    const char *system; /* system message for conversations without one, or NULL */
    int enable_thinking; /* Qwen3 chat template: 1 (its default, as rgsd generate) or 0 */
    int max_new;       /* new tokens at most per response */
    rg_sample_params sample; /* temperature (0 = greedy), top_k, top_p */
    uint64_t seed;     /* sampling and bootstrap */
    int batch;         /* sequences decoded together */
    int context;       /* KV rows per sequence; 0 = max_position_embeddings capped at 4096 */
    int skip_long;     /* 1: skip (and count) examples whose prompt leaves no room; 0: error */
    int resamples;     /* bootstrap resamples */
    const rg_lora *lora; /* adapters the responses are decoded through (a training run's --eval-every),
                            or NULL: the model alone */
    rg_eval_progress_fn on_generate; /* after each finished response (may be NULL) */
    void *progress_ctx;
} rg_eval_options;

/* samples 1, max_new 256, temperature 1, top_p 1, top_k 0, seed 0, batch 8,
 * enable_thinking 1, resamples RG_BOOTSTRAP_RESAMPLES, the rest 0/NULL. */
rg_eval_options rg_eval_defaults(void);

typedef struct {
    size_t example;      /* index into the examples given */
    int sample;          /* 0 .. K-1 */
    char *response;      /* decoded text (malloc'd) */
    int prompt_tokens;
    int response_tokens; /* the end token excluded */
    int response_chars;  /* Unicode code points */
    int stopped;         /* 1: ended on an end token; 0: hit max_new or the context */
    rg_verdict *verdicts; /* [n_verdicts] = examples[example].ncriteria */
    int n_verdicts;
    double score;        /* HealthBench score of this response (NAN when no weight is positive) */
    double balanced;     /* balanced reward (NAN when every weight is 0) */
} rg_eval_response;

typedef struct {
    double mean, median, p90, max; /* median and p90 interpolate linearly (numpy's default percentile) */
} rg_length_stats;

typedef struct {
    size_t n_examples;   /* examples evaluated */
    size_t n_skipped;    /* examples left out: prompt too long for the context (skip_long) */
    size_t n_responses;
    rg_dataset_score healthbench; /* overall (clipped mean, bootstrap s.e.) and per tag */
    rg_score_stats balanced;      /* mean balanced reward and its bootstrap s.e. */
    rg_length_stats response_tokens, response_chars;
    double stopped_fraction;      /* responses that ended on an end token */
    int64_t prompt_tokens, new_tokens;
    double generate_seconds;
    rg_judge_stats judge;         /* this evaluation's share of the judge's accounting */
} rg_eval_summary;

typedef struct {
    rg_eval_response *responses; /* [n_responses], example-major: example e, samples 0..K-1 */
    size_t n_responses;
    size_t n_examples;           /* the examples given */
    char **prompts;              /* [n_examples] the rendered prompt text; NULL for a skipped example */
    int samples;
    rg_eval_summary summary;
} rg_eval_result;

/* Generates, judges and scores. `judge` is open (its on_progress reports
 * judging). On error *out is left empty (zeroed). */
int rg_eval_run(const rg_lm *lm, const rg_example *examples, size_t n_examples, rg_judge *judge,
                const rg_eval_options *options, rg_eval_result *out);
void rg_eval_result_free(rg_eval_result *result);

/* Linear-interpolated percentile q in [0, 100] of n values (sorted copy). NAN when n == 0. */
double rg_percentile(const double *values, size_t n, double q);

/* What the report says about how it was made (all borrowed; NULLs allowed). */
struct rg_eval_diagnostics; /* eval/diagnostics.h */

typedef struct {
    const char *model, *adapter, *data, *judge;
    const rg_eval_options *options;
    const struct rg_eval_diagnostics *diagnostics; /* --baseline / --audit-judge results, or NULL */
} rg_eval_report_info;

/* Writes DIR/responses.jsonl, DIR/report.md and DIR/report.json as one unit:
 * into DIR.tmp-<pid>, then switched in (io/atomic_dir.h); a previous report in
 * DIR is replaced whole, a folder that is not a report is refused. */
int rg_eval_write_report(const rg_eval_result *result, const rg_example *examples, const rg_eval_report_info *info,
                         const char *dir);
/* The summary as the text table `rgsd eval` prints (malloc'd). */
char *rg_eval_summary_text(const rg_eval_result *result, const rg_eval_report_info *info);

/* Generated text made valid UTF-8 (each invalid byte -> U+FFFD, as Hugging
 * Face's decode does) before a judge sees it. Takes ownership of `text`;
 * NULL (error set) when out of memory. Shared with `rgsd grpo`. */
char *rg_eval_valid_utf8(char *text);

#endif
