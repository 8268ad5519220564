/* test_score.c — scores against hand-computed values, simple-evals'
 * published case, per-tag scores computed by hand the simple-evals way, and
 * the bootstrap standard error against the analytic standard error of the
 * mean (an independent formula) plus determinism per seed. */
#include "test_util.h"

#include <math.h>

#include "base/error.h"
#include "base/rng.h"
#include "rubric/score.h"

/* |actual − expected| ≤ tol, with both values printed on failure. */
#define assert_close(actual, expected, tol)                                                            \
    do {                                                                                               \
        double a_ = (actual), e_ = (expected);                                                         \
        if (!(fabs(a_ - e_) <= (tol))) fail_msg("%s = %.17g, expected %.17g (tolerance %g)", #actual, a_, e_, \
                                                (double)(tol));                                        \
    } while (0)

#define EXACT 1e-12 /* sums of a few small integers divided once: exact up to rounding */

static rg_criterion crit(double weight, rg_polarity polarity) {
    rg_criterion c = {0};
    c.text = (char *)"c";
    c.weight = weight;
    c.polarity = polarity;
    return c;
}
#define POS RG_POLARITY_POSITIVE
#define NEG RG_POLARITY_NEGATIVE

/* simple-evals healthbench_eval_test.py: points 7, 5, 10, -6; met T, F, T, T;
 * score = (7 + 10 − 6) / (7 + 5 + 10) = 11/22. */
static void simple_evals_published_case(void **state) {
    (void)state;
    rg_criterion r[4] = {crit(7, POS), crit(5, POS), crit(10, POS), crit(-6, NEG)};
    unsigned char met[4] = {1, 0, 1, 1};
    assert_close(rg_score_healthbench(r, 4, met), 11.0 / 22.0, EXACT);
    /* balanced: [7 + 10 + 6·(1−1)] / (7+5+10+6) = 17/28 */
    assert_close(rg_score_balanced(r, 4, met), 17.0 / 28.0, EXACT);
    /* the penalty avoided: [7 + 10 + 6] / 28 */
    met[3] = 0;
    assert_close(rg_score_healthbench(r, 4, met), 17.0 / 22.0, EXACT);
    assert_close(rg_score_balanced(r, 4, met), 23.0 / 28.0, EXACT);
}

static void scores_can_go_negative_and_be_undefined(void **state) {
    (void)state;
    rg_criterion r[2] = {crit(2, POS), crit(-5, NEG)};
    unsigned char met[2] = {0, 1};
    assert_close(rg_score_healthbench(r, 2, met), -2.5, EXACT); /* −5 / 2, not clipped per example */
    assert_close(rg_score_balanced(r, 2, met), 0.0, EXACT);
    rg_criterion only_penalty[1] = {crit(-3, NEG)};
    unsigned char no[1] = {0};
    assert_true(isnan(rg_score_healthbench(only_penalty, 1, no)));
    assert_close(rg_score_balanced(only_penalty, 1, no), 1.0, EXACT);
    rg_criterion zero[1] = {crit(0, POS)};
    assert_true(isnan(rg_score_balanced(zero, 1, no)));
}

/* RaR pitfalls written as the good behaviour ("Avoids X", −2, polarity
 * positive): met = X avoided = no penalty; not met = −2. */
static void pitfall_written_as_good_behaviour(void **state) {
    (void)state;
    rg_criterion r[3] = {crit(5, POS), crit(-2, POS), crit(-1, NEG)};
    unsigned char all_good[3] = {1, 1, 0};     /* essential met, X avoided, bad behaviour absent */
    unsigned char failed_avoid[3] = {1, 0, 0}; /* did X */
    unsigned char both_bad[3] = {1, 0, 1};
    assert_close(rg_score_healthbench(r, 3, all_good), 1.0, EXACT);
    assert_close(rg_score_healthbench(r, 3, failed_avoid), 3.0 / 5.0, EXACT);
    assert_close(rg_score_healthbench(r, 3, both_bad), 2.0 / 5.0, EXACT);
    assert_close(rg_score_balanced(r, 3, all_good), 1.0, EXACT);
    assert_close(rg_score_balanced(r, 3, failed_avoid), 6.0 / 8.0, EXACT);
    assert_close(rg_score_balanced(r, 3, both_bad), 5.0 / 8.0, EXACT);
    /* A positive weight on a negative-polarity text ("Fails to cite", +3):
     * earned when NOT met. */
    rg_criterion odd[1] = {crit(3, NEG)};
    unsigned char met[1] = {0};
    assert_close(rg_score_healthbench(odd, 1, met), 1.0, EXACT);
    met[0] = 1;
    assert_close(rg_score_healthbench(odd, 1, met), 0.0, EXACT);
}

static void mean_is_clipped_not_each_score(void **state) {
    (void)state;
    /* mean(1.0, 0.5, −2.5) = −1/3 → clipped to 0; mean(1.0, 0.5) = 0.75 */
    const double values[4] = {1.0, 0.5, -2.5, NAN};
    rg_score_stats s;
    assert_int_equal(rg_score_summarize(values, 4, 100, 1, &s), RG_OK);
    assert_close(s.mean, 0.0, EXACT);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.n_undefined, 1);
    assert_int_equal(rg_score_summarize(values, 2, 100, 1, &s), RG_OK);
    assert_close(s.mean, 0.75, EXACT);
    /* Values above 1 cannot come from rg_score_healthbench, but clipping
     * applies symmetrically. */
    const double high[2] = {1.5, 1.5};
    assert_int_equal(rg_score_summarize(high, 2, 100, 1, &s), RG_OK);
    assert_close(s.mean, 1.0, EXACT);
    assert_close(s.std_error, 0.0, EXACT); /* every resample has mean 1.5 → 1 */
    assert_int_equal(rg_score_summarize(values, 0, 100, 1, &s), RG_OK);
    assert_true(isnan(s.mean));
}

/* The bootstrap s.e. of a mean of n values estimates σ/√n (σ the population
 * standard deviation). With 1,000 resamples its own relative spread is about
 * 1/√(2·1000) ≈ 2.2%, so a 10% tolerance is over 4 of those. Values in
 * (0.1, 0.9) keep the clipping out of play. */
static void bootstrap_matches_analytic_standard_error(void **state) {
    (void)state;
    const size_t n = 20000;
    double *values = malloc(n * sizeof *values);
    rg_rng data_rng;
    rg_rng_seed(&data_rng, 12345);
    double sum = 0, sumsq = 0;
    for (size_t i = 0; i < n; i++) {
        /* a skewed distribution: the square of a uniform, scaled */
        double u = rg_rng_uniform(&data_rng);
        values[i] = 0.1 + 0.8 * u * u;
        sum += values[i];
    }
    double mean = sum / n;
    for (size_t i = 0; i < n; i++) sumsq += (values[i] - mean) * (values[i] - mean);
    double analytic = sqrt(sumsq / n) / sqrt((double)n);
    rg_score_stats a, b, c;
    assert_int_equal(rg_score_summarize(values, n, RG_BOOTSTRAP_RESAMPLES, 7, &a), RG_OK);
    assert_close(a.mean, mean, 1e-12);
    assert_true(fabs(a.std_error - analytic) <= 0.10 * analytic);
    /* Deterministic per seed; another seed gives another estimate of the same. */
    assert_int_equal(rg_score_summarize(values, n, RG_BOOTSTRAP_RESAMPLES, 7, &b), RG_OK);
    assert_true(a.std_error == b.std_error);
    assert_int_equal(rg_score_summarize(values, n, RG_BOOTSTRAP_RESAMPLES, 8, &c), RG_OK);
    assert_true(c.std_error != a.std_error);
    assert_true(fabs(c.std_error - analytic) <= 0.10 * analytic);
    free(values);
}

/* Two examples, scored the simple-evals way by hand:
 * ex0: w = 4 [axis:a], 6 [axis:a, axis:b], −2 [axis:b]; met 1, 0, 1; example tag theme:x
 *      overall (4 − 2)/10 = 0.2; axis:a 4/10 = 0.4; axis:b (−2)/6 = −1/3
 * ex1: w = 5 [axis:a], −3 [axis:c]; met 1, 1; example tags theme:x, theme:y
 *      overall (5 − 3)/5 = 0.4; axis:a 5/5 = 1; axis:c has no positive weight → no value
 * Data set: overall mean(0.2, 0.4) = 0.3; axis:a mean(0.4, 1) = 0.7;
 * axis:b mean(−1/3) clipped = 0 (n 1); theme:x mean(0.2, 0.4) = 0.3; theme:y 0.4;
 * axis:c absent. */
static void per_tag_scores(void **state) {
    (void)state;
    char *t_a = "axis:a", *t_b = "axis:b", *t_c = "axis:c", *t_x = "theme:x", *t_y = "theme:y";
    char *tags00[] = {t_a}, *tags01[] = {t_a, t_b}, *tags02[] = {t_b}, *tags10[] = {t_a}, *tags11[] = {t_c};
    rg_criterion r0[3] = {crit(4, POS), crit(6, POS), crit(-2, NEG)};
    r0[0].tags = tags00, r0[0].ntags = 1;
    r0[1].tags = tags01, r0[1].ntags = 2;
    r0[2].tags = tags02, r0[2].ntags = 1;
    rg_criterion r1[2] = {crit(5, POS), crit(-3, NEG)};
    r1[0].tags = tags10, r1[0].ntags = 1;
    r1[1].tags = tags11, r1[1].ntags = 1;
    char *ex0_tags[] = {t_x}, *ex1_tags[] = {t_x, t_y};
    rg_example ex[2] = {0};
    ex[0].rubric = r0, ex[0].ncriteria = 3, ex[0].tags = ex0_tags, ex[0].ntags = 1;
    ex[1].rubric = r1, ex[1].ncriteria = 2, ex[1].tags = ex1_tags, ex[1].ntags = 2;
    unsigned char met0[3] = {1, 0, 1}, met1[2] = {1, 1};
    const unsigned char *verdicts[2] = {met0, met1};
    rg_dataset_score score;
    assert_int_equal(rg_score_dataset(ex, 2, verdicts, 200, 3, &score), RG_OK);
    assert_close(score.overall.mean, 0.3, EXACT);
    assert_int_equal(score.overall.n, 2);
    assert_int_equal(score.ntags, 4);
    const char *names[4] = {"axis:a", "axis:b", "theme:x", "theme:y"};
    const double means[4] = {0.7, 0.0, 0.3, 0.4};
    const size_t counts[4] = {2, 1, 2, 1};
    for (int i = 0; i < 4; i++) {
        assert_string_equal(score.tags[i].tag, names[i]);
        assert_close(score.tags[i].stats.mean, means[i], EXACT);
        assert_int_equal(score.tags[i].stats.n, counts[i]);
    }
    rg_dataset_score_free(&score);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(simple_evals_published_case),
        cmocka_unit_test(scores_can_go_negative_and_be_undefined),
        cmocka_unit_test(pitfall_written_as_good_behaviour),
        cmocka_unit_test(mean_is_clipped_not_each_score),
        cmocka_unit_test(bootstrap_matches_analytic_standard_error),
        cmocka_unit_test(per_tag_scores),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
