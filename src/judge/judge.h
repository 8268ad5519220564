/* judge.h — grade responses against rubric criteria: one interface, three
 * back ends chosen by a spec string.
 *
 *   rg_judge_spec spec;   rg_judge_spec_parse("http:https://api.openai.com/v1#model=gpt-4.1", &spec);
 *   rg_judge *judge;      rg_judge_open(&judge, &spec, &(rg_judge_options){.cache_path = "verdicts.sqlite"});
 *   rg_judge_item items[n] = {{&example, response, verdicts}, ...};  (one per (example, response) pair)
 *   rg_judge_run(judge, items, n);       (fills items[i].verdicts[c] for every criterion c)
 *   rg_judge_stats(judge)->requests ...; rg_judge_close(judge); rg_judge_spec_free(&spec);
 *
 * Spec syntax (docs/judges.md has the full table):
 *   http:URL[#key=value&...]  an OpenAI-compatible chat-completions endpoint; URL is the API base
 *                             (".../v1") or the full ".../chat/completions"; keys: model (required),
 *                             key_env, mode=per-criterion|batched, concurrency, timeout, retries,
 *                             backoff, temperature, max_tokens, structured=0|1
 *   local:MODEL_DIR[#...]     a model rgsd loads itself; P("yes") vs P("no") at the next token;
 *                             keys: bf16=0|1, batch, context, chat_template
 *   rule                      PCRE2 `match` patterns carried by the criteria
 *
 * Verdict semantics follow HealthBench: met = what the criterion text
 * describes holds for the response; for an undesirable behaviour (polarity
 * negative, e.g. a negative-points HealthBench item) met = the behaviour is
 * present, so its penalty applies. A criterion that cannot be judged
 * (retry budget spent, unparseable answer) is an error, never "not met".
 */
#ifndef RG_JUDGE_H
#define RG_JUDGE_H

#include <stdint.h>

#include "rubric/rubric.h"

typedef enum { RG_JUDGE_HTTP, RG_JUDGE_LOCAL, RG_JUDGE_RULE } rg_judge_kind;
typedef enum { RG_GRADE_PER_CRITERION, RG_GRADE_BATCHED } rg_grade_mode;

typedef struct {
    rg_judge_kind kind;
    char *text;      /* the spec as given, for messages */
    char *url;       /* http: the chat-completions URL (".../chat/completions" appended to an API base) */
    char *model;     /* http: model name sent in the request */
    char *key_env;   /* http: environment variable holding the API key */
    int key_env_explicit; /* 1 when key_env was given: then an unset variable is an error */
    char *model_dir; /* local: model folder */
    rg_grade_mode mode;
    int concurrency;    /* http: requests in flight at most */
    double timeout_s;   /* http: per request, connection included */
    int retries;        /* http: attempts after the first, per request */
    double backoff_s;   /* http: first retry delay; doubles per retry, jitter x[0.5, 1.5), cap 60 s */
    double temperature; /* http: sampling temperature sent (0 = greedy) */
    int max_tokens;     /* http: completion limit sent (default 1024); 0 = not sent */
    int structured;     /* http: 1 (default) asks for the verdict's JSON schema via response_format */
    int local_bf16;     /* local: hold the weights in bf16 (default 1) */
    int local_batch;    /* local: grader prompts prefilled together (default 4) */
    int local_context;  /* local: longest grader prompt in tokens; 0 = max_position_embeddings, capped at 4096 */
    char *local_chat_template; /* local: chat template family override, or NULL */
} rg_judge_spec;

/* Parses a spec string; on error names the option or part that is wrong. */
int rg_judge_spec_parse(const char *text, rg_judge_spec *spec);
void rg_judge_spec_free(rg_judge_spec *spec);
/* What decides a verdict besides the inputs (back end, URL, model, mode,
 * temperature, prompt version): part of every cache key. malloc'd. */
char *rg_judge_spec_identity(const rg_judge_spec *spec);

typedef struct {
    signed char met;   /* 1 met, 0 not met, -1 not judged (see the item's `failed`) */
    unsigned char cached; /* 1 when it came from the verdict cache */
    char *explanation; /* the grader's reason (malloc'd), or NULL */
} rg_verdict;

/* One (example, response) pair to grade. `met` means the criterion's text,
 * as written, holds for the response; the score functions (rubric/score.h)
 * turn that into points with the weight and polarity. Inputs are borrowed;
 * `verdicts` is an array of example->ncriteria the caller provides, zeroed
 * (calloc) or left from an earlier run; rg_judge_run fills it, and the caller
 * frees it after rg_verdicts_clear. */
typedef struct {
    const rg_example *example;
    const char *response;
    rg_verdict *verdicts; /* out */
    int failed;           /* out: number of criteria left unjudged */
    /* Pairwise judges only (rg_judge_options.pairwise): the reply shown
     * second; `response` is shown first, and verdicts[0].met = 1 when the
     * judge prefers the first. The example then carries one placeholder
     * criterion (the judge reads no rubric). NULL for rubric grading. */
    const char *response_b;
} rg_judge_item;

/* Accounting, cumulative over every rg_judge_run of one judge. */
typedef struct {
    int64_t verdicts;          /* criteria decided, cache hits included */
    int64_t cache_hits;
    int64_t requests;          /* HTTP requests sent, retries included */
    int64_t retries;           /* requests re-sent after 429, 5xx, timeout, bad answer */
    int64_t failures;          /* criteria left unjudged */
    int64_t prompt_tokens;     /* from the endpoint's `usage` */
    int64_t completion_tokens;
    double seconds;            /* wall time inside rg_judge_run */
} rg_judge_stats;

typedef struct {
    const char *cache_path;    /* SQLite verdict cache; NULL = no cache */
    const char *failures_path; /* unparseable raw answers are appended here (JSONL); NULL = not saved */
    void (*on_progress)(void *ctx, int64_t done, int64_t total);
    void *progress_ctx;
    /* 1: a rubric-free pairwise judge (http only): each item is a pair
     * (response, response_b) and the judge says which reply is better
     * overall (grader.h, rg_grader_prompt_pairwise); cached apart from
     * rubric verdicts (the identity says "pairwise"). */
    int pairwise;
} rg_judge_options;

typedef struct rg_judge rg_judge;

/* Opens a judge: checks the spec (http: API key variable, local: engine),
 * opens the cache. options may be NULL. */
int rg_judge_open(rg_judge **out, const rg_judge_spec *spec, const rg_judge_options *options);
/* Grades every criterion of every item (but those of weight 0, which count
 * for nothing: met 0, explanation "not judged: weight 0 ...", no request),
 * the cache first, then the back end
 * (http: up to `concurrency` requests at once over all items). Verdicts are
 * cached as they arrive, so an interrupted run keeps what it paid for.
 * Returns RG_ERR when any criterion is left unjudged (items[i].failed > 0,
 * verdict met = -1), with a message naming the first one; the others are
 * filled all the same. */
int rg_judge_run(rg_judge *judge, rg_judge_item *items, int n_items);
const rg_judge_stats *rg_judge_get_stats(const rg_judge *judge);
/* One line: "N verdicts (H cached), R requests (r retries), P+C tokens, S s". */
void rg_judge_stats_format(const rg_judge_stats *stats, char *buf, int size);
void rg_judge_close(rg_judge *judge);

/* Frees the explanations of n verdicts and resets them to "not judged". */
void rg_verdicts_clear(rg_verdict *verdicts, int n);

#endif
