/* score.h — rubric scores: per example, per data set, per tag.
 *
 * Verdicts: met[i] ∈ {0, 1} says whether criterion i (its text, as written)
 * is met by the response. a_i = rg_criterion_applies(c_i, met[i]) says
 * whether its weight w_i counts (a_i = met[i] except for pitfalls written as
 * the good behaviour, where a_i = 1 − met[i]; see rubric.h).
 *
 * HealthBench example score:  s = Σ_i w_i a_i / Σ_{w_i>0} w_i
 *   (can be negative, at most 1). Undefined — NAN — when no weight is
 *   positive: there is nothing to earn, and simple-evals likewise returns
 *   None; such examples are left out of means and counted.
 * Balanced reward (for GRPO):  r = [Σ_{w>0} w a + Σ_{w<0} |w| (1 − a)] / Σ |w|
 *   ∈ [0, 1]: 1 when every reward is earned and every penalty avoided.
 *   NAN when every weight is zero.
 * Data-set score: the mean of the example scores, clipped to [0, 1] (the mean
 *   is clipped, not each score), with a bootstrap standard error: the
 *   population standard deviation of the clipped means of R resamples drawn
 *   with replacement (simple-evals: 1,000 resamples, np.std).
 * Per tag (simple-evals): an example-level tag scores each example carrying
 *   it with its overall score; a criterion-level tag scores each example with
 *   the HealthBench score over only its criteria that carry the tag (when
 *   those include a positive weight); each tag is then aggregated like the
 *   data-set score over the examples that have a value for it.
 */
#ifndef RG_SCORE_H
#define RG_SCORE_H

#include <stddef.h>
#include <stdint.h>

#include "rubric/rubric.h"

#define RG_BOOTSTRAP_RESAMPLES 1000

double rg_score_healthbench(const rg_criterion *rubric, size_t ncriteria, const unsigned char *met);
double rg_score_balanced(const rg_criterion *rubric, size_t ncriteria, const unsigned char *met);

typedef struct {
    double mean;      /* clipped to [0, 1]; NAN when no value is defined */
    double std_error; /* bootstrap standard error of `mean` (0 with one value, NAN with none, like mean) */
    size_t n;         /* values used */
    size_t n_undefined; /* NAN values left out */
} rg_score_stats;

/* Clipped mean and bootstrap s.e. of `values` (NAN entries are left out and
 * counted). `resamples` resamples drawn with rg_rng seeded by `seed`. */
int rg_score_summarize(const double *values, size_t n, int resamples, uint64_t seed, rg_score_stats *out);

typedef struct {
    char *tag;
    rg_score_stats stats;
} rg_tag_score;

typedef struct {
    rg_score_stats overall;
    rg_tag_score *tags; /* sorted by tag */
    size_t ntags;
} rg_dataset_score;

/* verdicts[e][i]: criterion i of example e met. */
int rg_score_dataset(const rg_example *examples, size_t nexamples, const unsigned char *const *verdicts,
                     int resamples, uint64_t seed, rg_dataset_score *out);
void rg_dataset_score_free(rg_dataset_score *score);

#endif
