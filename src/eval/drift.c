/* drift.c — response-length drift against a baseline report (diagnostics.h).
 * A policy that games a judge often writes longer answers; the paired
 * per-prompt difference separates that from a change of prompt mix. */
#include <math.h>
#include <stdlib.h>

#include "base/error.h"
#include "eval/diagnostics.h"

/* Mean and median of one length field over all of a report's responses. */
static int overall(const rg_report *r, int chars, double *mean, double *median) {
    double *v = malloc((r->n ? r->n : 1) * sizeof *v), sum = 0;
    if (!v) return rg_error("out of memory in the length drift");
    for (size_t i = 0; i < r->n; i++) {
        v[i] = chars ? r->responses[i].response_chars : r->responses[i].response_tokens;
        sum += v[i];
    }
    *mean = r->n ? sum / (double)r->n : NAN;
    *median = rg_percentile(v, r->n, 50);
    free(v);
    return RG_OK;
}

static double group_mean(const rg_report *r, const size_t *idx, int n, int chars) {
    double sum = 0;
    for (int k = 0; k < n; k++) {
        const rg_report_response *x = &r->responses[idx[k]];
        sum += chars ? x->response_chars : x->response_tokens;
    }
    return sum / n;
}

static int drift_stat(const rg_report *run, const rg_report *base, const rg_prompt_match *m, size_t n, int chars,
                      int resamples, uint64_t seed, rg_drift_stat *s) {
    if (overall(run, chars, &s->run_mean, &s->run_median) || overall(base, chars, &s->base_mean, &s->base_median))
        return RG_ERR;
    s->ratio_mean = s->base_mean > 0 ? s->run_mean / s->base_mean : NAN;
    s->ratio_median = s->base_median > 0 ? s->run_median / s->base_median : NAN;
    double *d = malloc((n ? n : 1) * sizeof *d), sum = 0;
    if (!d) return rg_error("out of memory in the length drift");
    for (size_t p = 0; p < n; p++) {
        d[p] = group_mean(run, m[p].a, m[p].na, chars) - group_mean(base, m[p].b, m[p].nb, chars);
        sum += d[p];
    }
    s->diff_mean = n ? sum / (double)n : NAN;
    int rc = rg_bootstrap_mean_interval(d, n, resamples, seed, &s->diff_lo, &s->diff_hi);
    free(d);
    return rc;
}

int rg_length_drift_compute(const rg_report *run, const rg_report *base, const rg_prompt_match *matches,
                            size_t n_matches, int resamples, uint64_t seed, rg_length_drift *out) {
    *out = (rg_length_drift){.n_prompts = n_matches, .n_run = run->n, .n_base = base->n, .resamples = resamples};
    /* tokens and characters resample the same prompts (the same seed) */
    if (drift_stat(run, base, matches, n_matches, 0, resamples, seed, &out->tokens)) return RG_ERR;
    return drift_stat(run, base, matches, n_matches, 1, resamples, seed, &out->chars);
}
