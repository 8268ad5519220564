/* rubric.h — rubric data: one example per JSONL line, in any of five
 * published formats, normalised to one form.
 *
 * The loader detects the format per line (files may mix formats) and
 * normalises it to
 *     {id, messages[{role, content}], rubric[{text, weight, polarity, tags[],
 *      match[]}], tags[], reference?}
 * Scoring follows HealthBench: a criterion is judged met or not met, and the
 * points a criterion earns depend on its weight and polarity (see
 * rg_criterion_applies). docs/rubric-data.md explains every format and why
 * each normalises the way it does.
 *
 * Streaming:
 *   rg_rubric_reader *r;
 *   rg_rubric_options opt = {.skip_bad = 0};
 *   if (rg_rubric_open(&r, "data.jsonl", &opt)) return RG_ERR;
 *   rg_example ex;
 *   int got;
 *   while ((got = rg_rubric_next(r, &ex)) == 1) { ...; rg_example_free(&ex); }
 *   rg_rubric_close(r);
 *   if (got < 0) return RG_ERR;  // "data.jsonl:12: rubrics[3].points: expected a number, got string"
 * or all at once with rg_rubric_load_all().
 */
#ifndef RG_RUBRIC_H
#define RG_RUBRIC_H

#include <stddef.h>

#include <cjson/cJSON.h>

typedef enum {
    RG_FORMAT_NATIVE = 0,       /* {messages, rubric[{text, weight, tags?, match?, polarity?}], id?, reference?} */
    RG_FORMAT_HEALTHBENCH,      /* {prompt[], rubrics[{criterion, points, tags}], prompt_id?, example_tags?, ...} */
    RG_FORMAT_RUBRICHUB,        /* {prompt[], rubrics|Rubrics|reward_model.rubrics [{criterion, points}]} */
    RG_FORMAT_RAR,              /* {question, reference_answer, rubric[{title, description, weight, ...}]} */
    RG_FORMAT_RESEARCHRUBRICS,  /* {prompt: string, rubrics[{criterion, weight, axis}]} */
    RG_FORMAT_COUNT
} rg_format;

/* "healthbench", "rubrichub", "rar", "researchrubrics", "native". */
const char *rg_format_name(rg_format format);

typedef enum { RG_ROLE_SYSTEM = 0, RG_ROLE_USER, RG_ROLE_ASSISTANT } rg_role;
/* "system", "user", "assistant" — the strings chat templates take. */
const char *rg_role_name(rg_role role);

typedef struct {
    rg_role role;
    char *content;
} rg_message;

/* What the criterion text describes.
 *   RG_POLARITY_POSITIVE: a desirable behaviour ("Identifies the diagnosis",
 *                         RaR's "Avoids X").
 *   RG_POLARITY_NEGATIVE: an undesirable one ("Recommends antibiotics for a
 *                         viral infection").
 * HealthBench-style data carry no polarity: the sign of the weight says it
 * (w > 0 positive, w < 0 negative). RaR gives it explicitly, and a pitfall
 * (w < 0) written as the good behaviour has polarity positive. */
typedef enum { RG_POLARITY_POSITIVE = 1, RG_POLARITY_NEGATIVE = -1 } rg_polarity;

typedef struct {
    char *text;           /* what a judge checks, as written in the data */
    double weight;        /* signed points: > 0 earned, < 0 a penalty; finite */
    rg_polarity polarity; /* what `text` describes (see above) */
    char **tags;          /* "axis:accuracy", "category:essential", ... */
    size_t ntags;
    char **match;         /* PCRE2 patterns for the rule judge (native format only) */
    size_t nmatch;
    /* 1: a check meant for a code verifier, not text for an LLM judge
     * (RubricHub instruction-following: tag verifier:rule, text an identifier
     * such as "last_word:last_word_sent"). Kept only under
     * RG_VERIFIER_CRITERIA_KEEP; see rg_is_code_check. */
    int code_check;
} rg_criterion;

/* What to do with criteria meant for a code verifier (--verifier-criteria):
 * SKIP (the default) leaves them out of the example, counted, so they are
 * never sent to an LLM judge nor shown to the teacher; KEEP keeps them as
 * ordinary criteria; ERROR rejects the line naming the first one. */
typedef enum {
    RG_VERIFIER_CRITERIA_SKIP = 0,
    RG_VERIFIER_CRITERIA_KEEP,
    RG_VERIFIER_CRITERIA_ERROR
} rg_verifier_criteria;
/* "skip" | "keep" | "error"; RG_ERR (nothing recorded) for anything else. */
int rg_verifier_criteria_parse(const char *name, rg_verifier_criteria *out);
const char *rg_verifier_criteria_name(rg_verifier_criteria policy);
/* 1 when a criterion with this text and these tags is meant for a code
 * verifier: a tag "verifier:V" with V other than "llm", or a text that is a
 * bare identifier "family:check" (lower-case letters, digits, '_'), which no
 * LLM judge can grade. */
int rg_is_code_check(const char *text, char *const *tags, size_t ntags);

/* 1 when the criterion's weight is added to the score for this verdict:
 * when the text's polarity agrees with the weight's sign (HealthBench: a
 * reward for a met desirable behaviour, a penalty for a met undesirable one)
 * the weight applies when the criterion is met; when they disagree (a pitfall
 * written as the good behaviour, "Avoids X" with weight −2) it applies when
 * the criterion is NOT met — the response failed to avoid X. */
int rg_criterion_applies(const rg_criterion *c, int met);
/* 1 when a response should show the behaviour `text` describes (its polarity
 * is positive); the teacher prompt lists the others as "Avoid: ...". */
int rg_criterion_is_desirable(const rg_criterion *c);
/* The points to show a grader (HealthBench style "[points] criterion"):
 * +|w| when the text describes a desirable behaviour, −|w| otherwise, so the
 * grader instruction "for a negative-points criterion, decide whether the
 * undesirable behaviour is present" stays right for an RaR pitfall written as
 * the good behaviour ("Avoids X", w = −2, shown as +2). The verdict is still
 * on the text as written; rg_criterion_applies turns it into points. */
double rg_criterion_grader_points(const rg_criterion *c);

typedef struct {
    char *id;             /* from the data (prompt_id, uid, sample_id, id) or "SOURCE:LINE" */
    rg_format format;
    rg_message *messages; /* the conversation so far; the last one is from the user */
    size_t nmessages;
    rg_criterion *rubric; /* at least one criterion */
    size_t ncriteria;
    char **tags;          /* example-level tags (HealthBench example_tags, "domain:..." elsewhere) */
    size_t ntags;
    char *reference;      /* a reference answer, or NULL */
    long line;            /* line in its file (0 when parsed from memory) */
    size_t code_checks_skipped; /* criteria for a code verifier left out (RG_VERIFIER_CRITERIA_SKIP) */
} rg_example;

/* Normalises one parsed JSON object. `source` and `line` name it in error
 * messages ("source:line: field: problem") and in a made-up id. On error
 * *out is left zeroed. */
int rg_example_from_json(const cJSON *root, const char *source, long line, rg_example *out);
/* The same; allow_empty_rubric accepts a rubric array with no criteria
 * (ncriteria == 0) instead of rejecting the line. */
int rg_example_from_json_opts(const cJSON *root, const char *source, long line, int allow_empty_rubric,
                              rg_example *out);
struct rg_rubric_options;
/* The same for a record of a data file (io/records.h): `index` >= 0 is its
 * element index in a JSON array, -1 otherwise. In an array, errors name the
 * path from the file's root ("data.json:17: [3].rubrics[0].points: ...") and
 * a made-up id is "FILE[3]" (elements may share a line). */
/* `index` RG_RECORD_ROW: the record is a table row (Parquet) and `line` its
 * 1-based row number; messages then read "data.parquet: row 12: ...". */
#define RG_RECORD_ROW (-2L)
int rg_example_from_record(const cJSON *root, const char *source, long line, long index,
                           const struct rg_rubric_options *options, rg_example *out);
/* With options NULL, every rg_example_* parser uses the defaults: empty
 * rubric rejected, code-verifier criteria skipped. */
/* The same from a JSON text (one object). */
int rg_example_parse(const char *json_text, const char *source, long line, rg_example *out);
/* The example in the rgsd native format (a new cJSON object; NULL with error). */
cJSON *rg_example_to_json(const rg_example *ex);
void rg_example_free(rg_example *ex);

typedef struct rg_rubric_options {
    int skip_bad; /* skip invalid lines and count them (warning on stderr) instead of failing */
    rg_verifier_criteria verifier_criteria; /* default (0): skip */
    /* Accept an empty rubric array (ncriteria == 0) rather than reject the
     * line: the RGSD trainer skips and counts such examples itself (or
     * refuses them under --strict); scoring commands keep the default. */
    int allow_empty_rubric;
} rg_rubric_options;

typedef struct rg_rubric_reader rg_rubric_reader;

int rg_rubric_open(rg_rubric_reader **out, const char *path, const rg_rubric_options *options);
/* 1 and *ex (free with rg_example_free), 0 at the end, -1 on error. */
int rg_rubric_next(rg_rubric_reader *r, rg_example *ex);
/* Lines skipped so far (skip_bad), and the message of the first one. */
size_t rg_rubric_skipped(const rg_rubric_reader *r);
const char *rg_rubric_first_skip_reason(const rg_rubric_reader *r);
/* Criteria for a code verifier left out so far (RG_VERIFIER_CRITERIA_SKIP). */
size_t rg_rubric_code_checks_skipped(const rg_rubric_reader *r);
/* Records the error for a file that gave no example (empty, or every record
 * skipped, with the first reason) and returns RG_ERR: nothing usable is a
 * failure for every command, never "examples 0" and exit 0. */
int rg_rubric_nothing_usable(const rg_rubric_reader *r);
void rg_rubric_close(rg_rubric_reader *r);

typedef struct {
    rg_example *examples;
    size_t count;
    size_t skipped; /* bad lines skipped (skip_bad only) */
    size_t code_checks_skipped; /* criteria for a code verifier left out */
} rg_dataset;

/* Loads a whole file. On error nothing is kept; a file that gives no example
 * is an error (rg_rubric_nothing_usable). */
int rg_rubric_load_all(const char *path, const rg_rubric_options *options, rg_dataset *out);
void rg_dataset_free(rg_dataset *ds);

#endif
