/* rule_judge.h — the rule judge: a criterion is met when its PCRE2 `match`
 * patterns match the response.
 *
 * Semantics: a criterion is met when EVERY pattern of its `match` list
 * matches somewhere in the response (all-of); "any of" is written inside one
 * pattern with alternation (`aspirin|ibuprofen`). Patterns are compiled with
 * PCRE2_UTF and PCRE2_UCP (\w, \b and (?i) follow Unicode) and are case
 * sensitive unless they say (?i). A response that is not valid UTF-8 (cut at
 * max_new tokens inside a character) is still judged: PCRE2_MATCH_INVALID_UTF
 * lets patterns match its valid parts. A criterion without patterns cannot be
 * judged by rules: that is an error, never a silent "not met".
 *
 * Exact and free: for the synthetic rubric world and for tests.
 */
#ifndef RG_RULE_JUDGE_H
#define RG_RULE_JUDGE_H

#include <stddef.h>

#include "rubric/rubric.h"

/* Checks that a pattern compiles; on failure *message gets a one-line
 * reason with the offset ("missing closing parenthesis at offset 4"). */
int rg_rule_pattern_check(const char *pattern, char *message, size_t message_size);

typedef struct rg_rule_judge rg_rule_judge;

/* Compiles the patterns of every criterion of an example (once; reuse the
 * judge for many responses). Fails naming the criterion when one has no
 * patterns or a pattern does not compile. */
int rg_rule_judge_new(const rg_example *ex, rg_rule_judge **out);
/* verdicts[i] = 1 when criterion i is met by `response` (ex->ncriteria entries). */
int rg_rule_judge_run(const rg_rule_judge *judge, const char *response, size_t response_len,
                      unsigned char *verdicts);
void rg_rule_judge_free(rg_rule_judge *judge);

#endif
