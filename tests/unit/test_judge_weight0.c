/* test_judge_weight0.c — small rules of judging: a criterion of weight 0
 * counts for nothing and is never sent to a judge; a score summary with no
 * defined value has neither a mean nor a standard error. */
#include "test_util.h"

#include <math.h>

#include "base/error.h"
#include "judge/judge.h"
#include "rubric/rubric.h"
#include "rubric/score.h"

static void zero_weight_is_never_judged(void **state) {
    (void)state;
    rg_example ex;
    assert_int_equal(rg_example_parse("{\"id\": \"z\", \"messages\": [{\"role\": \"user\", \"content\": \"Q\"}], \"rubric\": ["
                                      "{\"text\": \"Says yes\", \"weight\": 2, \"match\": [\"yes\"]},"
                                      "{\"text\": \"Says so\", \"weight\": 0, \"match\": [\"yes\"]}]}",
                                      "t", 1, &ex),
                     RG_OK);
    rg_judge_spec spec;
    assert_int_equal(rg_judge_spec_parse("rule", &spec), RG_OK);
    rg_judge *judge;
    assert_int_equal(rg_judge_open(&judge, &spec, NULL), RG_OK);
    rg_verdict verdicts[2] = {{0}};
    rg_judge_item item = {.example = &ex, .response = "yes", .verdicts = verdicts};
    assert_int_equal(rg_judge_run(judge, &item, 1), RG_OK);
    assert_int_equal(verdicts[0].met, 1);
    assert_int_equal(verdicts[1].met, 0); /* the pattern matches, but it was never asked */
    assert_string_equal(verdicts[1].explanation, "not judged: weight 0 counts for nothing");
    assert_int_equal(rg_judge_get_stats(judge)->verdicts, 1);
    rg_judge_close(judge);
    rg_judge_spec_free(&spec);
    rg_verdicts_clear(verdicts, 2);
    rg_example_free(&ex);
}

static void no_mean_no_standard_error(void **state) {
    (void)state;
    rg_score_stats s;
    const double none[2] = {NAN, NAN};
    assert_int_equal(rg_score_summarize(none, 2, 100, 1, &s), RG_OK);
    assert_true(isnan(s.mean));
    assert_true(isnan(s.std_error));
    assert_int_equal(s.n_undefined, 2);
    const double one[1] = {0.5};
    assert_int_equal(rg_score_summarize(one, 1, 100, 1, &s), RG_OK);
    assert_true(s.mean == 0.5 && s.std_error == 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(zero_weight_is_never_judged),
        cmocka_unit_test(no_mean_no_standard_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
