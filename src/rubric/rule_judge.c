/* rule_judge.c — criteria judged by PCRE2 patterns (see rule_judge.h). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "rubric/rule_judge.h"

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

/* MATCH_INVALID_UTF: a response cut at max_new tokens may end inside a UTF-8
 * sequence; it must still be judged, not rejected. */
#define RULE_COMPILE_OPTIONS (PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF)

struct rg_rule_judge {
    size_t ncriteria;
    size_t *first;            /* criterion i owns patterns [first[i], first[i+1]) */
    pcre2_code **patterns;
    size_t npatterns;
    pcre2_match_data *match_data;
};

static pcre2_code *compile(const char *pattern, char *message, size_t message_size) {
    int code = 0;
    PCRE2_SIZE offset = 0;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, RULE_COMPILE_OPTIONS, &code, &offset,
                                   NULL);
    if (!re && message_size > 0) {
        PCRE2_UCHAR reason[256];
        if (pcre2_get_error_message(code, reason, sizeof reason) < 0) strcpy((char *)reason, "unknown error");
        snprintf(message, message_size, "%s at offset %zu", (const char *)reason, (size_t)offset);
    }
    return re;
}

int rg_rule_pattern_check(const char *pattern, char *message, size_t message_size) {
    pcre2_code *re = compile(pattern, message, message_size);
    if (!re) return RG_ERR;
    pcre2_code_free(re);
    return RG_OK;
}

void rg_rule_judge_free(rg_rule_judge *judge) {
    if (!judge) return;
    for (size_t i = 0; i < judge->npatterns; i++) pcre2_code_free(judge->patterns[i]);
    free(judge->patterns);
    free(judge->first);
    pcre2_match_data_free(judge->match_data);
    free(judge);
}

int rg_rule_judge_new(const rg_example *ex, rg_rule_judge **out) {
    *out = NULL;
    size_t total = 0;
    for (size_t i = 0; i < ex->ncriteria; i++) {
        if (ex->rubric[i].nmatch == 0)
            return rg_error("%s: criterion %zu: no match patterns, so the rule judge cannot judge it", ex->id, i + 1);
        total += ex->rubric[i].nmatch;
    }
    rg_rule_judge *judge = rg_calloc(1, sizeof *judge);
    if (!judge) return RG_ERR;
    judge->ncriteria = ex->ncriteria;
    judge->first = rg_calloc(ex->ncriteria + 1, sizeof *judge->first);
    judge->patterns = rg_calloc(total ? total : 1, sizeof *judge->patterns);
    if (!judge->first || !judge->patterns) goto fail;
    for (size_t i = 0; i < ex->ncriteria; i++) {
        judge->first[i] = judge->npatterns;
        for (size_t k = 0; k < ex->rubric[i].nmatch; k++) {
            char reason[300];
            pcre2_code *re = compile(ex->rubric[i].match[k], reason, sizeof reason);
            if (!re) {
                rg_error("%s: criterion %zu: match[%zu]: invalid pattern: %s", ex->id, i + 1, k, reason);
                goto fail;
            }
            judge->patterns[judge->npatterns++] = re;
        }
    }
    judge->first[ex->ncriteria] = judge->npatterns;
    judge->match_data = pcre2_match_data_create(1, NULL);
    if (!judge->match_data) {
        rg_error("out of memory (PCRE2 match data)");
        goto fail;
    }
    *out = judge;
    return RG_OK;
fail:
    rg_rule_judge_free(judge);
    return RG_ERR;
}

int rg_rule_judge_run(const rg_rule_judge *judge, const char *response, size_t response_len,
                      unsigned char *verdicts) {
    for (size_t i = 0; i < judge->ncriteria; i++) {
        int met = 1;
        for (size_t k = judge->first[i]; k < judge->first[i + 1] && met; k++) {
            int rc = pcre2_match(judge->patterns[k], (PCRE2_SPTR)response, response_len, 0, 0, judge->match_data,
                                 NULL);
            if (rc == PCRE2_ERROR_NOMATCH) {
                met = 0;
            } else if (rc < 0) {
                PCRE2_UCHAR reason[256];
                if (pcre2_get_error_message(rc, reason, sizeof reason) < 0) strcpy((char *)reason, "unknown error");
                return rg_error("rule judge: criterion %zu: matching failed: %s", i + 1, (const char *)reason);
            }
        }
        verdicts[i] = (unsigned char)met;
    }
    return RG_OK;
}
