/* diagnose.c — `rgsd eval --baseline DIR [--audit-judge SPEC]`: the run
 * against a baseline report (diagnostics.h). */
#include <string.h>

#include "base/error.h"
#include "base/strmap.h"
#include "eval/diagnostics.h"

int rg_report_check_ids(const rg_report *base, const rg_example *examples, size_t n_examples) {
    rg_strmap ids;
    if (rg_strmap_init(&ids, n_examples)) return RG_ERR;
    int rc = RG_OK;
    for (size_t e = 0; rc == RG_OK && e < n_examples; e++)
        rc = rg_strmap_put(&ids, examples[e].id, strlen(examples[e].id), e);
    uint64_t unused;
    for (size_t i = 0; rc == RG_OK && i < base->n; i++)
        if (!rg_strmap_get(&ids, base->responses[i].id, strlen(base->responses[i].id), &unused))
            rc = rg_error("--baseline %s: example '%s' is in the baseline but not in --data: the prompts do not match",
                          base->dir, base->responses[i].id);
    rg_strmap_free(&ids);
    if (rc == RG_OK && rg_strmap_init(&ids, base->n)) return RG_ERR;
    for (size_t i = 0; rc == RG_OK && i < base->n; i++)
        rc = rg_strmap_put(&ids, base->responses[i].id, strlen(base->responses[i].id), i);
    for (size_t e = 0; rc == RG_OK && e < n_examples; e++)
        if (!rg_strmap_get(&ids, examples[e].id, strlen(examples[e].id), &unused))
            rc = rg_error("--baseline %s: example '%s' of --data is not in the baseline: the prompts do not match",
                          base->dir, examples[e].id);
    rg_strmap_free(&ids);
    return rc;
}

int rg_eval_diagnose(const rg_eval_result *result, const rg_example *examples, const rg_report *base,
                     rg_judge *audit_judge, int resamples, uint64_t seed, rg_length_drift *drift,
                     rg_audit_result *audit) {
    *audit = (rg_audit_result){0};
    rg_report run;
    if (rg_report_from_result(result, examples, "this evaluation", &run)) return RG_ERR;
    rg_prompt_match *matches = NULL;
    size_t n = 0;
    int rc = rg_report_match(&run, base, &matches, &n);
    if (rc == RG_OK) rc = rg_length_drift_compute(&run, base, matches, n, resamples, seed, drift);
    if (rc == RG_OK && audit_judge) rc = rg_audit_run(result, examples, base, matches, n, audit_judge, audit);
    rg_prompt_match_free(matches, n);
    rg_report_free(&run);
    return rc;
}
