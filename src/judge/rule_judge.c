/* rule_judge.c — the rule back end: a criterion is met when every one of its
 * PCRE2 `match` patterns matches somewhere in the response (several patterns
 * give AND; alternation inside a pattern gives OR; "(?i)" makes one
 * case-insensitive). Exact, free and instant: for the synthetic world and for
 * tests. A criterion without patterns cannot be graded by rules; that is an
 * error naming it, never a silent "not met". */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "judge/judge_internal.h"

/* 1 when `pattern` matches `subject`, 0 when not, RG_ERR (message in *why) when it does not compile. */
static int pattern_matches(const char *pattern, const char *subject, char *why, size_t why_size) {
    int code;
    PCRE2_SIZE offset;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF,
                                   &code, &offset, NULL);
    if (!re) {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(code, message, sizeof message);
        snprintf(why, why_size, "match pattern '%.100s' does not compile: %s at offset %zu", pattern,
                 (const char *)message, (size_t)offset);
        return RG_ERR;
    }
    pcre2_match_data *match = pcre2_match_data_create_from_pattern(re, NULL);
    int rc = match ? pcre2_match(re, (PCRE2_SPTR)subject, strlen(subject), 0, 0, match, NULL) : PCRE2_ERROR_NOMEMORY;
    pcre2_match_data_free(match);
    pcre2_code_free(re);
    if (rc >= 0) return 1;
    if (rc == PCRE2_ERROR_NOMATCH) return 0;
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(rc, message, sizeof message);
    snprintf(why, why_size, "match pattern '%.100s' failed on the response: %s", pattern, (const char *)message);
    return RG_ERR;
}

int rule_judge_run(rg_judge *judge, rg_judge_item *items, const judge_slot *slots, int n_slots) {
    for (int s = 0; s < n_slots; s++) {
        const judge_slot *slot = &slots[s];
        const rg_judge_item *item = &items[slot->item];
        const rg_judge_criterion *criterion = &item->criteria[slot->criterion];
        if (criterion->n_match == 0) {
            judge_record_failure(judge, items, slot,
                                 "the criterion has no `match` patterns, so the rule judge cannot grade it "
                                 "(use an http or local judge for such data)",
                                 NULL);
            continue;
        }
        char why[512];
        int met = 1;
        for (int p = 0; p < criterion->n_match && met == 1; p++)
            met = pattern_matches(criterion->match[p], item->response ? item->response : "", why, sizeof why);
        if (met == RG_ERR)
            judge_record_failure(judge, items, slot, why, NULL);
        else
            judge_record_verdict(judge, items, slot, met, NULL);
    }
    return RG_OK;
}
