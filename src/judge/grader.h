/* grader.h — the grader protocol shared by the http and local judges: the
 * prompt that asks a language model for a verdict, and the parsing of its
 * answer. The wording is ours, in the style of HealthBench's grader
 * (DESIGN.md section 7); docs/judges.md quotes it. */
#ifndef RG_GRADER_H
#define RG_GRADER_H

#include "judge/judge.h"

/* One criterion: answer {"explanation": "...", "criteria_met": true|false}. malloc'd. */
char *rg_grader_prompt_criterion(const rg_judge_item *item, int criterion);
/* One criterion for a judge that reads P("yes") vs P("no") at the next
 * token (the local judge): the same prompt, ending "Is the criterion met?
 * Answer with one word: yes or no." malloc'd. */
char *rg_grader_prompt_criterion_yes_no(const rg_judge_item *item, int criterion);
/* Several criteria of one item, numbered 1..n in the order given:
 * answer {"1": true, "2": false, ...}. malloc'd. */
char *rg_grader_prompt_batched(const rg_judge_item *item, const int *criteria, int n);

/* Parses a per-criterion answer. *explanation is malloc'd or NULL. RG_ERR
 * (with a message saying what is missing) when no usable JSON is found. */
int rg_grader_parse_criterion(const char *answer, int *met, char **explanation);
/* Parses a batched answer for n criteria into met[0..n-1]; every number
 * "1".."n" must be present. */
int rg_grader_parse_batched(const char *answer, int n, int *met);

/* Rubric-free pairwise preference (rg_judge_options.pairwise): the
 * conversation, item->response as reply 1 and item->response_b as reply 2,
 * and the question which is better overall; answer {"explanation": "...",
 * "better": 1|2} (a forced choice: the caller cancels position bias by
 * asking both orders). malloc'd. */
char *rg_grader_prompt_pairwise(const rg_judge_item *item);
/* *first_better = 1 when the answer prefers reply 1, 0 for reply 2. */
int rg_grader_parse_pairwise(const char *answer, int *first_better, char **explanation);
/* Part of a pairwise judge's identity (cache keys): bump when the prompt changes. */
#define RG_PAIRWISE_PROMPT_VERSION "pairwise-v1"

#endif
