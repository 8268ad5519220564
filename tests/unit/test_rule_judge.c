/* test_rule_judge.c — the rule judge: all-of semantics over a criterion's
 * patterns, alternation for any-of, case sensitivity unless (?i), Unicode
 * word boundaries, responses with a cut UTF-8 sequence, and the errors.
 * Expected verdicts are worked out by hand from the patterns. */
#include "test_util.h"

#include "base/error.h"
#include "rubric/rubric.h"
#include "rubric/rule_judge.h"
#include "rubric/score.h"

static const char *example_json =
    "{\"id\": \"trip\", \"messages\": [{\"role\": \"user\", \"content\": \"Plan a trip\"}], \"rubric\": ["
    "{\"text\": \"Mentions budget and dates\", \"weight\": 3, \"match\": [\"(?i)budget\", \"\\\\bdates?\\\\b\"]},"
    "{\"text\": \"Suggests train or bus\", \"weight\": 2, \"match\": [\"\\\\b(train|bus)\\\\b\"]},"
    "{\"text\": \"Recommends driving drunk\", \"weight\": -5, \"match\": [\"drunk\"]},"
    "{\"text\": \"Names the café\", \"weight\": 1, \"match\": [\"\\\\bcafé\\\\b\"]}]}";

static void judge(const char *response, const unsigned char *expected) {
    rg_example ex;
    if (rg_example_parse(example_json, "t", 1, &ex)) fail_msg("%s", rg_errmsg());
    rg_rule_judge *j;
    if (rg_rule_judge_new(&ex, &j)) fail_msg("%s", rg_errmsg());
    unsigned char verdicts[4];
    assert_int_equal(rg_rule_judge_run(j, response, strlen(response), verdicts), RG_OK);
    for (int i = 0; i < 4; i++)
        if (verdicts[i] != expected[i])
            fail_msg("criterion %d on \"%s\": got %d, expected %d", i, response, verdicts[i], expected[i]);
    rg_rule_judge_free(j);
    rg_example_free(&ex);
}

static void all_patterns_must_match(void **state) {
    (void)state;
    judge("Set a BUDGET and pick dates. Take the train to the café.", (unsigned char[]){1, 1, 0, 1});
    judge("Set a budget.", (unsigned char[]){0, 0, 0, 0});       /* dates missing */
    judge("Pick dates.", (unsigned char[]){0, 0, 0, 0});         /* budget missing */
    judge("budget, date, bus", (unsigned char[]){1, 1, 0, 0});
    judge("Budget: update the database", (unsigned char[]){0, 0, 0, 0}); /* "dates" inside a word */
    judge("Take the trains; drunk driving", (unsigned char[]){0, 0, 1, 0}); /* "trains" is not "train" */
    judge("Drunk", (unsigned char[]){0, 0, 0, 0});               /* case sensitive without (?i) */
    judge("cafés", (unsigned char[]){0, 0, 0, 0});               /* Unicode \b: "é" is a word character */
}

static void verdicts_feed_the_score(void **state) {
    (void)state;
    rg_example ex;
    assert_int_equal(rg_example_parse(example_json, "t", 1, &ex), RG_OK);
    rg_rule_judge *j;
    assert_int_equal(rg_rule_judge_new(&ex, &j), RG_OK);
    unsigned char verdicts[4];
    const char *response = "budget and dates; go by bus; drunk";
    assert_int_equal(rg_rule_judge_run(j, response, strlen(response), verdicts), RG_OK);
    /* met 1, 1, 1, 0: (3 + 2 − 5) / (3 + 2 + 1) = 0 */
    double score = rg_score_healthbench(ex.rubric, ex.ncriteria, verdicts);
    assert_true(score > -1e-12 && score < 1e-12);
    rg_rule_judge_free(j);
    rg_example_free(&ex);
}

static void cut_utf8_response_is_judged(void **state) {
    (void)state;
    /* "budget dates caf" + the first byte of "é": invalid UTF-8 at the end. */
    judge("budget dates train caf\xc3", (unsigned char[]){1, 1, 0, 0});
}

static void errors(void **state) {
    (void)state;
    rg_example ex;
    assert_int_equal(rg_example_parse("{\"id\": \"e1\", \"messages\": [{\"role\": \"user\", \"content\": \"Q\"}],"
                                      " \"rubric\": [{\"text\": \"Has rules\", \"weight\": 1, \"match\": [\"x\"]},"
                                      " {\"text\": \"Has none\", \"weight\": 1}]}",
                                      "t", 1, &ex),
                     RG_OK);
    rg_rule_judge *j;
    assert_int_equal(rg_rule_judge_new(&ex, &j), RG_ERR);
    assert_null(j);
    assert_string_equal(rg_errmsg(),
                        "e1: criterion 2: no match patterns, so the rule judge cannot judge it");
    rg_example_free(&ex);
    char message[300];
    assert_int_equal(rg_rule_pattern_check("a(b", message, sizeof message), RG_ERR);
    assert_string_equal(message, "missing closing parenthesis at offset 3");
    assert_int_equal(rg_rule_pattern_check("a(b)", message, sizeof message), RG_OK);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(all_patterns_must_match),
        cmocka_unit_test(verdicts_feed_the_score),
        cmocka_unit_test(cut_utf8_response_is_judged),
        cmocka_unit_test(errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
