/* test_eval.c — rg_eval_run and the report as a library (what the trainers
 * call for --eval-every), also under ASan: scores by hand on rule patterns
 * with known verdicts, the result's structure, the files written, the error
 * paths (an unjudgeable criterion, a prompt longer than the context, skip),
 * and rg_percentile against numpy's linear percentile worked by hand. The
 * whole command is tested end to end in tests/e2e/eval.sh. */
#include "test_util.h"

#include <cjson/cJSON.h>
#include <math.h>

#include "base/error.h"
#include "eval/eval.h"
#include "io/file.h"

static void test_percentile(void **state) {
    (void)state;
    double v[] = {4, 1, 3, 2};
    /* numpy.percentile([1,2,3,4], 50) = 2.5; 90 -> rank 2.7 -> 3 + 0.7 = 3.7 */
    assert_true(fabs(rg_percentile(v, 4, 50) - 2.5) < 1e-12);
    assert_true(fabs(rg_percentile(v, 4, 90) - 3.7) < 1e-12);
    assert_true(fabs(rg_percentile(v, 4, 0) - 1) < 1e-12);
    assert_true(fabs(rg_percentile(v, 4, 100) - 4) < 1e-12);
    double one = 7;
    assert_true(rg_percentile(&one, 1, 90) == 7);
    assert_true(isnan(rg_percentile(v, 0, 50)));
}

typedef struct {
    rg_lm lm;
    int open;
} lm_fixture;

static int setup(void **state) {
    lm_fixture *f = calloc(1, sizeof *f);
    *state = f;
    char path[1024], weights[1100];
    snprintf(path, sizeof path, "%s/model/e2e_qwen3", test_ref_dir());
    snprintf(weights, sizeof weights, "%s/model.safetensors", path);
    if (access(weights, R_OK) == 0) {
        if (rg_lm_open(&f->lm, path, NULL, NULL, 0) != RG_OK) return -1;
        f->open = 1;
    }
    return 0;
}

static int teardown(void **state) {
    lm_fixture *f = *state;
    if (f->open) rg_lm_close(&f->lm);
    free(f);
    return 0;
}

static void skip_unless_model(const lm_fixture *f) {
    if (!f->open) {
        fprintf(stderr, "skipped: %s/model/e2e_qwen3 missing (make refs)\n", test_ref_dir());
        skip();
    }
}

/* Example 0: 5 (any), 3 (none), -2 (any) -> (5 - 2) / 8, balanced (5 + 0) / 10.
 * Example 1: 1 (any), tag theme:x -> 1, balanced 1. */
static const char *data[2] = {
    "{\"id\": \"p\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"rubric\": [{\"text\": \"any\", "
    "\"weight\": 5, \"match\": [\"(?s)^\"]}, {\"text\": \"none\", \"weight\": 3, \"match\": [\"(?!)\"]}, {\"text\": "
    "\"bad\", \"weight\": -2, \"match\": [\"(?s)^\"]}]}",
    "{\"id\": \"q\", \"tags\": [\"theme:x\"], \"messages\": [{\"role\": \"user\", \"content\": \"Bye\"}], \"rubric\": "
    "[{\"text\": \"any\", \"weight\": 1, \"match\": [\"(?s)^\"]}]}",
};

static rg_judge *open_rule(void) {
    rg_judge_spec spec;
    assert_int_equal(rg_judge_spec_parse("rule", &spec), RG_OK);
    rg_judge *judge;
    assert_int_equal(rg_judge_open(&judge, &spec, NULL), RG_OK);
    rg_judge_spec_free(&spec);
    return judge;
}

static void parse_examples(rg_example *ex, int n, const char **json) {
    for (int i = 0; i < n; i++) assert_int_equal(rg_example_parse(json[i], "test", i + 1, &ex[i]), RG_OK);
}

static void test_scores_and_report(void **state) {
    lm_fixture *f = *state;
    skip_unless_model(f);
    rg_example ex[2];
    parse_examples(ex, 2, data);
    rg_judge *judge = open_rule();
    rg_eval_options opt = rg_eval_defaults();
    opt.samples = 2;
    opt.max_new = 2;
    opt.context = 128;
    opt.sample.temperature = 0;
    rg_eval_result r;
    assert_int_equal(rg_eval_run(&f->lm, ex, 2, judge, &opt, &r), RG_OK);
    assert_int_equal(r.n_responses, 4);
    assert_int_equal(r.summary.n_examples, 2);
    assert_int_equal(r.summary.n_skipped, 0);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(r.responses[i].example, i / 2);
        assert_int_equal(r.responses[i].sample, (int)(i % 2));
        assert_int_equal(r.responses[i].n_verdicts, (int)ex[i / 2].ncriteria);
        double want = i < 2 ? 3.0 / 8 : 1.0, want_balanced = i < 2 ? 5.0 / 10 : 1.0;
        assert_true(fabs(r.responses[i].score - want) < 1e-12);
        assert_true(fabs(r.responses[i].balanced - want_balanced) < 1e-12);
        assert_true(r.responses[i].response_tokens <= 2);
    }
    /* greedy: the two samples of an example are the same text */
    assert_string_equal(r.responses[0].response, r.responses[1].response);
    assert_true(fabs(r.summary.healthbench.overall.mean - (3.0 / 8 + 1) / 2) < 1e-12);
    assert_true(fabs(r.summary.balanced.mean - (0.5 + 1) / 2) < 1e-12);
    assert_int_equal(r.summary.healthbench.ntags, 1);
    assert_string_equal(r.summary.healthbench.tags[0].tag, "theme:x");
    assert_int_equal(r.summary.judge.verdicts, 2 * 3 + 2 * 1);
    assert_non_null(strstr(r.prompts[0], "<|im_start|>user\nHi<|im_end|>"));

    char *dir = test_tmpdir();
    char out[512];
    snprintf(out, sizeof out, "%s/report", dir);
    rg_eval_report_info info = {.model = "m", .data = "d", .judge = "rule", .options = &opt};
    assert_int_equal(rg_eval_write_report(&r, ex, &info, out), RG_OK);
    char *text;
    size_t len;
    assert_int_equal(rg_read_file(test_path(out, "report.json"), &text, &len), RG_OK);
    cJSON *root = cJSON_Parse(text);
    free(text);
    assert_non_null(root);
    assert_true(fabs(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "healthbench"), "mean")->valuedouble - 11.0 / 16) <
                1e-12);
    assert_int_equal(cJSON_GetObjectItem(root, "responses")->valueint, 4);
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "tags"), "theme:x"));
    cJSON_Delete(root);
    assert_int_equal(rg_read_file(test_path(out, "responses.jsonl"), &text, &len), RG_OK);
    int lines = 0;
    for (size_t i = 0; i < len; i++) lines += text[i] == '\n';
    free(text);
    assert_int_equal(lines, 4);
    assert_true(access(test_path(out, "report.md"), R_OK) == 0);
    char *summary = rg_eval_summary_text(&r, &info);
    assert_non_null(strstr(summary, "HealthBench score"));
    free(summary);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
    rg_eval_result_free(&r);
    rg_judge_close(judge);
    for (int i = 0; i < 2; i++) rg_example_free(&ex[i]);
}

static void test_errors(void **state) {
    lm_fixture *f = *state;
    skip_unless_model(f);
    rg_example ex[2];
    /* A criterion without patterns: the rule judge cannot decide it -> the evaluation fails. */
    const char *unjudgeable[2] = {data[0], "{\"id\": \"u\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}], "
                                           "\"rubric\": [{\"text\": \"no patterns\", \"weight\": 1}]}"};
    parse_examples(ex, 2, unjudgeable);
    rg_judge *judge = open_rule();
    rg_eval_options opt = rg_eval_defaults();
    opt.max_new = 1;
    opt.context = 128;
    rg_eval_result r;
    assert_int_equal(rg_eval_run(&f->lm, ex, 2, judge, &opt, &r), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "unjudged"));
    assert_null(r.responses);
    for (int i = 0; i < 2; i++) rg_example_free(&ex[i]);

    /* A context shorter than a prompt: an error naming the example, or a counted skip. */
    parse_examples(ex, 2, data);
    opt.context = 6;
    assert_int_equal(rg_eval_run(&f->lm, ex, 2, judge, &opt, &r), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "example 'p' (line 1): its prompt is"));
    opt.skip_long = 1;
    assert_int_equal(rg_eval_run(&f->lm, ex, 2, judge, &opt, &r), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "every example"));
    opt.samples = 0;
    assert_int_equal(rg_eval_run(&f->lm, ex, 2, judge, &opt, &r), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "samples"));
    for (int i = 0; i < 2; i++) rg_example_free(&ex[i]);
    rg_judge_close(judge);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percentile),
        cmocka_unit_test(test_scores_and_report),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
