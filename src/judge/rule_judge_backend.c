/* rule_judge_backend.c — the rule back end: the rubric layer's PCRE2 matcher
 * (rubric/rule_judge.h: a criterion is met when every one of its `match`
 * patterns matches the response) behind the judge interface. Exact, free and
 * instant, so it is not cached. An example whose criteria lack patterns, or
 * carry one that does not compile, is an error naming the criterion — never a
 * silent "not met". */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "judge/judge_internal.h"
#include "rubric/rule_judge.h"

int rule_judge_run(rg_judge *judge, rg_judge_item *items, const judge_slot *slots, int n_slots) {
    rg_rule_judge *matcher = NULL;
    const rg_example *compiled_for = NULL;
    unsigned char *met = NULL;
    size_t met_cap = 0;
    int rc = RG_OK;
    /* The rule judge is never cached, so the slots of an item are all of its
     * criteria, in order: judge an item at a time. */
    for (int s = 0; s < n_slots && !judge->cache_error;) {
        int end = s + 1;
        while (end < n_slots && slots[end].item == slots[s].item) end++;
        const rg_judge_item *item = &items[slots[s].item];
        const rg_example *ex = item->example;
        /* G responses to one example come as consecutive items: compile once. */
        if (ex != compiled_for) {
            rg_rule_judge_free(matcher);
            matcher = NULL;
            compiled_for = ex;
            if (rg_rule_judge_new(ex, &matcher) != RG_OK) matcher = NULL;
        }
        if (met_cap < ex->ncriteria) {
            free(met);
            met_cap = ex->ncriteria;
            if (!(met = rg_malloc(met_cap))) {
                rc = RG_ERR;
                break;
            }
        }
        const char *response = item->response ? item->response : "";
        if (!matcher || rg_rule_judge_run(matcher, response, strlen(response), met) != RG_OK) {
            char *why = rg_strdup(rg_errmsg());
            for (int k = s; k < end; k++) judge_record_failure(judge, items, &slots[k], why ? why : "rule judge failed", NULL);
            free(why);
        } else {
            for (int k = s; k < end; k++) judge_record_verdict(judge, items, &slots[k], met[slots[k].criterion], NULL);
        }
        s = end;
    }
    rg_rule_judge_free(matcher);
    free(met);
    return rc;
}
