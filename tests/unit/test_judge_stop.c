/* test_judge_stop.c — a stop request (training's Ctrl-C, base/stop.h) ends
 * an http judge run at once: nothing more is sent, and the criteria it never
 * tried are not recorded as failures (no failures file). Against the
 * scripted server of test_judge_http.c (tests/ref/fake_openai_server.py). */
#include "test_util.h"

#include "base/error.h"
#include "base/stop.h"
#include "io/file.h"
#include "judge/judge.h"
#include "rubric/rubric.h"
#include "fake_openai.h"

static const char *example_json =
    "{\"id\": \"ex-1\", \"messages\": [{\"role\": \"user\", \"content\": \"How do I treat a mild burn?\"}],"
    " \"rubric\": [{\"text\": \"Advises cool running water.\", \"weight\": 5},"
    "             {\"text\": \"Mentions when to see a doctor.\", \"weight\": 2}]}";

static const char *script = "{\"rules\": [{\"if_contains\": \"\", \"content\": \"{\\\"explanation\\\": \\\"ok\\\", "
                            "\\\"criteria_met\\\": true}\"}]}";

static void stop_request_ends_the_run(void **state) {
    (void)state;
    if (!fake_openai_available()) {
        fprintf(stderr, "skipped: needs %s and %s\n", FAKE_PYTHON, fake_openai_script_path());
        skip();
    }
    char *dir = test_tmpdir();
    fake_openai server = {0};
    assert_int_equal(fake_openai_start(&server, dir, script), 0);
    setenv("RGSD_TEST_JUDGE_KEY", "sk-test", 1);
    setenv("NO_PROXY", "127.0.0.1", 1);
    char spec_text[512], failures[600];
    snprintf(spec_text, sizeof spec_text, "http:%s#model=grader-1&key_env=RGSD_TEST_JUDGE_KEY&concurrency=1",
             server.url);
    snprintf(failures, sizeof failures, "%s/failures.jsonl", dir);
    rg_judge_spec spec;
    assert_int_equal(rg_judge_spec_parse(spec_text, &spec), RG_OK);
    rg_judge_options options = {.failures_path = failures};
    rg_judge *judge;
    assert_int_equal(rg_judge_open(&judge, &spec, &options), RG_OK);
    rg_judge_spec_free(&spec);
    rg_example example;
    assert_int_equal(rg_example_parse(example_json, "test", 1, &example), RG_OK);
    rg_verdict verdicts[2] = {0};
    rg_judge_item item = {.example = &example, .response = "Cool it under running water.", .verdicts = verdicts};

    rg_stop_requested = SIGINT;
    int rc = rg_judge_run(judge, &item, 1);
    rg_stop_requested = 0;
    assert_int_equal(rc, RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "interrupted"));
    assert_int_equal(fake_openai_requests(&server), 0);
    assert_false(rg_file_exists(failures));
    /* without the request the same judge runs normally */
    assert_int_equal(rg_judge_run(judge, &item, 1), RG_OK);
    assert_int_equal(fake_openai_requests(&server), 2);

    rg_verdicts_clear(verdicts, 2);
    rg_example_free(&example);
    rg_judge_close(judge);
    fake_openai_stop(&server);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(stop_request_ends_the_run)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
