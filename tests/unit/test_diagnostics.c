/* test_diagnostics.c — the reward-hacking diagnostics as a library, also
 * under ASan (no model): a report read back from files, prompts matched by
 * id (and the errors when they do not match), the bootstrap interval, the
 * length drift against a hand-computed example, and the audit with the rule
 * judge as the second judge on verdicts fixed by hand. The commands are
 * tested end to end in tests/e2e/eval_diagnostics.sh and compare.sh. */
#include "test_util.h"

#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "eval/diagnostics.h"
#include "io/file.h"
#include "judge/grader.h"

/* DIR/report.json and DIR/responses.jsonl from lines of JSON. */
static void write_report(const char *dir, const char *const *lines, int n) {
    mkdir(dir, 0755);
    char path[512];
    snprintf(path, sizeof path, "%s/report.json", dir);
    assert_int_equal(rg_write_file_atomic(path, "{}\n", 3), RG_OK);
    snprintf(path, sizeof path, "%s/responses.jsonl", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < n; i++) fprintf(f, "%s\n", lines[i]);
    fclose(f);
}

#define LINE(id, sample, tokens, chars, verdicts)                                                             \
    "{\"id\": \"" id "\", \"sample\": " #sample ", \"response\": \"r\", \"response_tokens\": " #tokens          \
    ", \"response_chars\": " #chars ", \"verdicts\": [" verdicts "]}"

static void test_bootstrap(void **state) {
    (void)state;
    double lo, hi, same[] = {3, 3, 3}, two[] = {0, 10};
    assert_int_equal(rg_bootstrap_mean_interval(same, 3, 200, 1, &lo, &hi), RG_OK);
    assert_true(lo == 3 && hi == 3);
    /* Means of 2 draws from {0, 10}: 0, 5, 10 with probabilities 1/4, 1/2, 1/4. */
    assert_int_equal(rg_bootstrap_mean_interval(two, 2, 1000, 1, &lo, &hi), RG_OK);
    assert_true(lo == 0 && hi == 10);
    assert_int_equal(rg_bootstrap_mean_interval(two, 0, 10, 1, &lo, &hi), RG_OK);
    assert_true(isnan(lo) && isnan(hi));
}

/* Run: x (tokens 10, 20; chars 30, 50), y (4; 8). Base: x (5; 20), y (2, 6; 4, 12).
 * Tokens: run [10 20 4] mean 34/3, median 10; base [5 2 6] mean 13/3, median 5;
 *   paired d_x = 15 - 5 = 10, d_y = 4 - 4 = 0: mean 5, interval [0, 10] (as above).
 * Chars: run [30 50 8] mean 88/3, median 30; base [20 4 12] mean 12, median 12;
 *   d_x = 40 - 20 = 20, d_y = 8 - 8 = 0: mean 10, interval [0, 20]. */
static void test_drift(void **state) {
    (void)state;
    char *tmp = test_tmpdir(), run_dir[256], base_dir[256];
    snprintf(run_dir, sizeof run_dir, "%s/run", tmp);
    snprintf(base_dir, sizeof base_dir, "%s/base", tmp);
    const char *run_lines[] = {LINE("x", 0, 10, 30, ""), LINE("x", 1, 20, 50, ""), LINE("y", 0, 4, 8, "")};
    const char *base_lines[] = {LINE("y", 0, 2, 4, ""), LINE("x", 0, 5, 20, ""), LINE("y", 1, 6, 12, "")};
    write_report(run_dir, run_lines, 3);
    write_report(base_dir, base_lines, 3);
    rg_report run, base;
    assert_int_equal(rg_report_load(run_dir, &run), RG_OK);
    assert_int_equal(rg_report_load(base_dir, &base), RG_OK);
    rg_prompt_match *m;
    size_t n;
    assert_int_equal(rg_report_match(&run, &base, &m, &n), RG_OK);
    assert_int_equal(n, 2);
    assert_string_equal(m[0].id, "x");
    assert_true(m[0].na == 2 && m[0].nb == 1 && m[1].na == 1 && m[1].nb == 2);
    rg_length_drift d;
    assert_int_equal(rg_length_drift_compute(&run, &base, m, n, 1000, 7, &d), RG_OK);
    const double e = 1e-12;
    assert_true(fabs(d.tokens.run_mean - 34.0 / 3) < e && fabs(d.tokens.base_mean - 13.0 / 3) < e);
    assert_true(d.tokens.run_median == 10 && d.tokens.base_median == 5);
    assert_true(fabs(d.tokens.ratio_mean - 34.0 / 13) < e && d.tokens.ratio_median == 2);
    assert_true(d.tokens.diff_mean == 5 && d.tokens.diff_lo == 0 && d.tokens.diff_hi == 10);
    assert_true(fabs(d.chars.run_mean - 88.0 / 3) < e && d.chars.base_mean == 12);
    assert_true(d.chars.run_median == 30 && d.chars.base_median == 12 && d.chars.ratio_median == 2.5);
    assert_true(d.chars.diff_mean == 10 && d.chars.diff_lo == 0 && d.chars.diff_hi == 20);
    assert_true(d.n_prompts == 2 && d.n_run == 3 && d.n_base == 3);
    rg_prompt_match_free(m, n);

    /* An id on one side only, and an id given to two examples: one-line errors. */
    const char *other[] = {LINE("x", 0, 1, 1, ""), LINE("z", 0, 1, 1, "")};
    write_report(base_dir, other, 2);
    rg_report_free(&base);
    assert_int_equal(rg_report_load(base_dir, &base), RG_OK);
    assert_int_equal(rg_report_match(&run, &base, &m, &n), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "example 'z' is in"));
    const char *twice[] = {LINE("x", 0, 1, 1, ""), LINE("x", 0, 1, 1, ""), LINE("y", 0, 1, 1, "")};
    write_report(base_dir, twice, 3);
    rg_report_free(&base);
    assert_int_equal(rg_report_load(base_dir, &base), RG_OK);
    assert_int_equal(rg_report_match(&run, &base, &m, &n), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "used by two examples"));
    rg_report_free(&base);
    assert_int_equal(rg_report_load(tmp, &base), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "no report.json"));
    rg_report_free(&run);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    assert_int_equal(system(cmd), 0);
    free(tmp);
}

#define V(text, weight, met) "{\"text\": \"" text "\", \"weight\": " #weight ", \"met\": " #met "}"

/* One example, 4 criteria: [P] +3 and [Q] +2 met by the run (two samples),
 * [R] -1 met (a penalty: not credit), [S] +1 unmet. The baseline earned [P]
 * in one of its two samples. Newly credited: [Q] in both samples (weight 4).
 * The rule judge as audit judge: [Q]'s pattern matches only "good", which
 * sample 0 says: sample 1's [Q] is rejected. Rate 2 / 4. */
static void test_audit(void **state) {
    (void)state;
    char *tmp = test_tmpdir(), data_path[256], base_dir[256];
    snprintf(data_path, sizeof data_path, "%s/data.jsonl", tmp);
    snprintf(base_dir, sizeof base_dir, "%s/base", tmp);
    const char *data = "{\"id\": \"e\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"rubric\": ["
                       "{\"text\": \"[P]\", \"weight\": 3, \"match\": [\"(?s)^\"]},"
                       "{\"text\": \"[Q]\", \"weight\": 2, \"match\": [\"good\"]},"
                       "{\"text\": \"[R]\", \"weight\": -1, \"match\": [\"(?s)^\"]},"
                       "{\"text\": \"[S]\", \"weight\": 1, \"match\": [\"(?!)\"]}]}\n";
    assert_int_equal(rg_write_file_atomic(data_path, data, strlen(data)), RG_OK);
    const char *base_lines[] = {
        LINE("e", 0, 1, 1, V("[P]", 3, false) "," V("[Q]", 2, false) "," V("[R]", -1, true) "," V("[S]", 1, false)),
        LINE("e", 1, 1, 1, V("[P]", 3, true) "," V("[Q]", 2, false) "," V("[R]", -1, false) "," V("[S]", 1, false))};
    write_report(base_dir, base_lines, 2);
    rg_dataset ds;
    rg_rubric_options options = {0};
    assert_int_equal(rg_rubric_load_all(data_path, &options, &ds), RG_OK);
    rg_report base;
    assert_int_equal(rg_report_load(base_dir, &base), RG_OK);
    assert_int_equal(rg_report_check_ids(&base, ds.examples, ds.count), RG_OK);

    rg_verdict v0[4] = {{.met = 1}, {.met = 1}, {.met = 1}, {.met = 0}};
    rg_verdict v1[4] = {{.met = 1}, {.met = 1}, {.met = 1}, {.met = 0}};
    rg_eval_response responses[2] = {
        {.example = 0, .sample = 0, .response = "a good answer", .response_tokens = 3, .verdicts = v0, .n_verdicts = 4},
        {.example = 0, .sample = 1, .response = "an answer", .response_tokens = 2, .verdicts = v1, .n_verdicts = 4}};
    rg_eval_result result = {.responses = responses, .n_responses = 2, .n_examples = 1, .samples = 2};
    rg_judge_spec spec;
    rg_judge *judge;
    assert_int_equal(rg_judge_spec_parse("rule", &spec), RG_OK);
    assert_int_equal(rg_judge_open(&judge, &spec, NULL), RG_OK);
    rg_length_drift drift;
    rg_audit_result audit;
    assert_int_equal(rg_eval_diagnose(&result, ds.examples, &base, judge, 100, 1, &drift, &audit), RG_OK);
    assert_int_equal(audit.n_items, 2);
    assert_int_equal(audit.n_rejected, 1);
    assert_true(audit.weight_credited == 4 && audit.weight_rejected == 2 && audit.exploitation_rate == 0.5);
    assert_true(audit.items[0].criterion == 2 && audit.items[0].sample == 0 && !audit.items[0].rejected);
    assert_true(audit.items[1].criterion == 2 && audit.items[1].sample == 1 && audit.items[1].rejected);
    assert_true(drift.tokens.run_mean == 2.5 && drift.tokens.base_mean == 1);
    rg_audit_result_free(&audit);

    /* Another rubric in the baseline: an error naming the criterion. */
    free(base.responses[1].verdicts[3].text);
    base.responses[1].verdicts[3].text = strdup("[T]");
    assert_int_equal(rg_eval_diagnose(&result, ds.examples, &base, judge, 100, 1, &drift, &audit), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "criterion 4 reads differently"));
    rg_judge_close(judge);
    rg_judge_spec_free(&spec);
    rg_report_free(&base);
    rg_dataset_free(&ds);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    assert_int_equal(system(cmd), 0);
    free(tmp);
}

/* The pairwise prompt shows the conversation and both replies, no rubric;
 * the answer is a forced choice 1 | 2 in any of the forms models write. */
static void test_pairwise_grader(void **state) {
    (void)state;
    rg_message message = {.role = RG_ROLE_USER, .content = "Which is larger, 2 or 3?"};
    rg_criterion placeholder = {.text = "placeholder", .weight = 1, .polarity = RG_POLARITY_POSITIVE};
    rg_example ex = {.id = "q", .messages = &message, .nmessages = 1, .rubric = &placeholder, .ncriteria = 1};
    rg_judge_item item = {.example = &ex, .response = "Three.", .response_b = "Two."};
    char *prompt = rg_grader_prompt_pairwise(&item);
    assert_non_null(prompt);
    assert_non_null(strstr(prompt, "user: Which is larger, 2 or 3?"));
    assert_non_null(strstr(prompt, "<reply_1>\nThree.\n</reply_1>"));
    assert_non_null(strstr(prompt, "<reply_2>\nTwo.\n</reply_2>"));
    assert_null(strstr(prompt, "placeholder"));
    free(prompt);
    int first;
    char *why;
    assert_int_equal(rg_grader_parse_pairwise("{\"explanation\": \"x\", \"better\": 1}", &first, &why), RG_OK);
    assert_true(first == 1 && why && !strcmp(why, "x"));
    free(why);
    assert_int_equal(rg_grader_parse_pairwise("Thinking... ```json\n{\"better\": \"2\"}\n```", &first, &why), RG_OK);
    assert_true(first == 0 && why == NULL);
    assert_int_equal(rg_grader_parse_pairwise("{\"better\": 3}", &first, &why), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "\"better\": 1 or 2"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bootstrap),
        cmocka_unit_test(test_drift),
        cmocka_unit_test(test_audit),
        cmocka_unit_test(test_pairwise_grader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
