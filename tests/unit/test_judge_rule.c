/* test_judge_rule.c — the rule judge through the judge interface, on every
 * data format: native data with `match` patterns gets exact verdicts
 * (expected values by hand from the patterns); the formats that carry no
 * patterns (HealthBench, RubricHub, RaR, ResearchRubrics, and the real files
 * in ../shared/data) are a clear error naming the criterion, with every
 * verdict left "not judged" — never a score of zero. */
#include "test_util.h"

#include "base/error.h"
#include "judge/judge.h"
#include "rubric/rubric.h"

static rg_judge *open_rule_judge(const char *cache_path) {
    rg_judge_spec spec;
    assert_int_equal(rg_judge_spec_parse("rule", &spec), RG_OK);
    rg_judge *judge;
    rg_judge_options options = {.cache_path = cache_path};
    assert_int_equal(rg_judge_open(&judge, &spec, &options), RG_OK);
    rg_judge_spec_free(&spec);
    return judge;
}

static const char *native_json =
    "{\"id\": \"n-1\", \"messages\": [{\"role\": \"user\", \"content\": \"Treat a headache?\"}], \"rubric\": ["
    " {\"text\": \"Suggests water\", \"weight\": 2, \"match\": [\"(?i)\\\\bwater\\\\b\"]},"
    " {\"text\": \"Names a painkiller and a dose\", \"weight\": 3, \"match\": [\"ibuprofen|paracetamol\", \"\\\\d+ ?mg\"]},"
    " {\"text\": \"Recommends opioids\", \"weight\": -5, \"match\": [\"(?i)opioid|oxycodone\"]},"
    " {\"text\": \"Uses the word caf\\u00e9\", \"weight\": 1, \"match\": [\"caf\\u00e9\\\\b\"]}]}";

static void native_patterns_decide_verdicts(void **state) {
    (void)state;
    rg_example ex;
    assert_int_equal(rg_example_parse(native_json, "native", 1, &ex), RG_OK);
    const char *responses[3] = {
        "Drink Water and take ibuprofen 200 mg.",    /* water (?i), both patterns of 2, no opioid, no café */
        "Take paracetamol. Oxycodone if it persists.", /* no water, 2 lacks a dose, opioid, no café */
        "A café visit; no waterproof advice.",       /* \bwater\b fails on "waterproof", café matches */
    };
    const signed char expected[3][4] = {{1, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}};
    rg_verdict verdicts[3][4] = {{{0}}};
    rg_judge_item items[3];
    for (int i = 0; i < 3; i++) items[i] = (rg_judge_item){.example = &ex, .response = responses[i], .verdicts = verdicts[i]};
    char *dir = test_tmpdir();
    char cache_path[600];
    snprintf(cache_path, sizeof cache_path, "%s/cache.sqlite", dir);
    rg_judge *judge = open_rule_judge(cache_path);
    assert_int_equal(rg_judge_run(judge, items, 3), RG_OK);
    for (int i = 0; i < 3; i++)
        for (int c = 0; c < 4; c++)
            if (verdicts[i][c].met != expected[i][c])
                fail_msg("response %d criterion %d: met %d, expected %d", i, c, verdicts[i][c].met, expected[i][c]);
    const rg_judge_stats *stats = rg_judge_get_stats(judge);
    assert_int_equal(stats->verdicts, 12);
    assert_int_equal(stats->requests, 0);
    assert_int_equal(stats->cache_hits, 0);
    /* Exact and free: the rule judge keeps no cache. */
    assert_int_equal(access(cache_path, F_OK), -1);
    rg_judge_close(judge);
    for (int i = 0; i < 3; i++) rg_verdicts_clear(verdicts[i], 4);
    rg_example_free(&ex);
    rmdir(dir);
    free(dir);
}

static void invalid_pattern_names_the_criterion(void **state) {
    (void)state;
    const char *json = "{\"id\": \"bad-1\", \"messages\": [{\"role\": \"user\", \"content\": \"Q\"}], \"rubric\": ["
                       "{\"text\": \"ok\", \"weight\": 1, \"match\": [\"yes\"]},"
                       "{\"text\": \"broken\", \"weight\": 1, \"match\": [\"(unclosed\"]}]}";
    rg_example ex;
    /* The loader refuses it, naming the pattern... */
    assert_int_equal(rg_example_parse(json, "native", 1, &ex), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "rubric[1].match[0]"));
    /* ...and an example built in memory past the loader fails in the judge. */
    char *fixed = strdup(json);
    memcpy(strstr(fixed, "(unclosed"), "(closed) ", 9);
    assert_int_equal(rg_example_parse(fixed, "native", 1, &ex), RG_OK);
    free(fixed);
    free(ex.rubric[1].match[0]);
    ex.rubric[1].match[0] = strdup("(unclosed");
    rg_verdict verdicts[2] = {{0}};
    rg_judge_item item = {.example = &ex, .response = "yes", .verdicts = verdicts};
    rg_judge *judge = open_rule_judge(NULL);
    assert_int_equal(rg_judge_run(judge, &item, 1), RG_ERR);
    if (!strstr(rg_errmsg(), "criterion 2: match[0]") || !strstr(rg_errmsg(), "bad-1")) fail_msg("unclear: %s", rg_errmsg());
    assert_int_equal(verdicts[0].met, -1);
    assert_int_equal(verdicts[1].met, -1);
    rg_judge_close(judge);
    rg_verdicts_clear(verdicts, 2);
    rg_example_free(&ex);
}

/* One line per format without patterns. */
static const char *patternless[] = {
    "{\"prompt_id\": \"hb\", \"prompt\": [{\"role\": \"user\", \"content\": \"Q\"}],"
    " \"rubrics\": [{\"criterion\": \"C1\", \"points\": 5, \"tags\": [\"axis:accuracy\"]}]}",
    "{\"prompt\": [{\"role\": \"user\", \"content\": \"Q\"}], \"Rubrics\": [{\"criterion\": \"C1\", \"points\": 3}]}",
    "{\"question\": \"Q\", \"reference_answer\": \"A\", \"rubric\": [{\"title\": \"T\", \"description\": \"Essential "
    "Criteria: C1\", \"weight\": 5}]}",
    "{\"prompt\": \"Q as a string\", \"rubrics\": [{\"criterion\": \"C1\", \"weight\": 4, \"axis\": \"accuracy\"}]}",
    "{\"id\": \"native-no-match\", \"messages\": [{\"role\": \"user\", \"content\": \"Q\"}], \"rubric\": [{\"text\": \"C1\", "
    "\"weight\": 2}]}",
};

static void expect_no_pattern_error(const rg_example *ex) {
    rg_verdict *verdicts = calloc(ex->ncriteria, sizeof *verdicts);
    rg_judge_item item = {.example = ex, .response = "anything", .verdicts = verdicts};
    rg_judge *judge = open_rule_judge(NULL);
    assert_int_equal(rg_judge_run(judge, &item, 1), RG_ERR);
    if (!strstr(rg_errmsg(), "no match patterns") || !strstr(rg_errmsg(), ex->id))
        fail_msg("unclear message for %s: %s", ex->id, rg_errmsg());
    assert_int_equal(item.failed, (int)ex->ncriteria);
    for (size_t c = 0; c < ex->ncriteria; c++) assert_int_equal(verdicts[c].met, -1);
    assert_int_equal(rg_judge_get_stats(judge)->verdicts, 0);
    rg_judge_close(judge);
    rg_verdicts_clear(verdicts, (int)ex->ncriteria);
    free(verdicts);
}

static void formats_without_patterns_are_a_clear_error(void **state) {
    (void)state;
    int formats_seen[RG_FORMAT_COUNT] = {0};
    for (size_t i = 0; i < sizeof patternless / sizeof patternless[0]; i++) {
        rg_example ex;
        if (rg_example_parse(patternless[i], "fixture", (long)i + 1, &ex) != RG_OK)
            fail_msg("fixture %zu does not load: %s", i, rg_errmsg());
        formats_seen[ex.format] = 1;
        expect_no_pattern_error(&ex);
        rg_example_free(&ex);
    }
    for (int f = 0; f < RG_FORMAT_COUNT; f++)
        if (!formats_seen[f]) fail_msg("no fixture in format %s", rg_format_name((rg_format)f));
}

/* The real data files: first example of each, when ../shared/data is here. */
static void shared_data_has_no_patterns_and_says_so(void **state) {
    (void)state;
    const char *shared = test_shared_dir();
    if (!shared) {
        fprintf(stderr, "skipped: ../shared not found (set RGSD_SHARED)\n");
        skip();
    }
    const char *files[] = {"data/healthbench/healthbench_val_500.jsonl", "data/rubrichub/rurl-medical-sample-100.jsonl",
                           "data/rubrichub/rurl-science-sample-100.jsonl", "data/rar/rar_medicine_shipped.first3.jsonl",
                           "data/rar/rar_science_shipped.first3.jsonl"};
    int checked = 0;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", shared, files[i]);
        if (access(path, R_OK) != 0) {
            fprintf(stderr, "note: %s not found, not checked\n", path);
            continue;
        }
        rg_rubric_reader *reader;
        assert_int_equal(rg_rubric_open(&reader, path, NULL), RG_OK);
        rg_example ex;
        assert_int_equal(rg_rubric_next(reader, &ex), 1);
        expect_no_pattern_error(&ex);
        rg_example_free(&ex);
        rg_rubric_close(reader);
        checked++;
    }
    if (checked == 0) skip();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(native_patterns_decide_verdicts),
        cmocka_unit_test(invalid_pattern_names_the_criterion),
        cmocka_unit_test(formats_without_patterns_are_a_clear_error),
        cmocka_unit_test(shared_data_has_no_patterns_and_says_so),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
