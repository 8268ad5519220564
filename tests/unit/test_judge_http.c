/* test_judge_http.c — the http judge against a scripted OpenAI-compatible
 * server on 127.0.0.1 (tests/ref/fake_openai_server.py): verdicts, retries
 * on 429 / 500 / a stall past the timeout / malformed and incomplete
 * answers, the retry budget, 401, bounded concurrency, token accounting, the
 * cache (a rerun sends no request; an interrupted run resumes), and the API
 * key never leaking. Expected verdicts are what the script says; expected
 * request and token counts are worked out by hand from the script. */
#include "test_util.h"

#include <cjson/cJSON.h>

#include "base/error.h"
#include "io/file.h"
#include "judge/judge.h"
#include "rubric/rubric.h"
#include "fake_openai.h"

#define SECRET "sk-test-SECRET-4242"

/* Three criteria with markers the script keys on; criterion 2 is undesirable. */
static const char *example_json =
    "{\"id\": \"ex-1\", \"messages\": [{\"role\": \"user\", \"content\": \"How do I treat a mild burn?\"}],"
    " \"rubric\": [{\"text\": \"[CRIT-A] Advises cool running water.\", \"weight\": 5},"
    "             {\"text\": \"[CRIT-B] Recommends butter on the burn.\", \"weight\": -4},"
    "             {\"text\": \"[CRIT-C] Mentions when to see a doctor, such as blistering.\", \"weight\": 2}]}";

/* Verdicts per marker: A met (fenced JSON), B not met (chatter around it), C met. */
static const char *criterion_rules =
    "\"rules\": ["
    "{\"if_contains\": \"[CRIT-A]\", \"content\": \"```json\\n{\\\"explanation\\\": \\\"says cool water\\\", "
    "\\\"criteria_met\\\": true}\\n```\"},"
    "{\"if_contains\": \"[CRIT-B]\", \"content\": \"Sure. {\\\"explanation\\\": \\\"no butter\\\", "
    "\\\"criteria_met\\\": false} Done.\"},"
    "{\"if_contains\": \"[CRIT-C]\", \"content\": \"{\\\"explanation\\\": \\\"mentions blisters\\\", "
    "\\\"criteria_met\\\": true}\"}]";

typedef struct {
    char *dir;
    fake_openai server;
    rg_example example;
    rg_verdict verdicts[2][3];
    rg_judge_item items[2];
    rg_judge *judge;
    char spec_text[512];
} fixture;

static int setup(void **state) {
    if (!fake_openai_available()) {
        fprintf(stderr, "skipped: needs %s and %s\n", FAKE_PYTHON, fake_openai_script_path());
        return 0;
    }
    fixture *f = calloc(1, sizeof *f);
    f->dir = test_tmpdir();
    if (rg_example_parse(example_json, "test", 1, &f->example) != RG_OK) return -1;
    for (int i = 0; i < 2; i++)
        f->items[i] = (rg_judge_item){.example = &f->example, .response = i == 0 ? "Cool it under running water." : "Use butter.",
                                      .verdicts = f->verdicts[i]};
    setenv("RGSD_TEST_JUDGE_KEY", SECRET, 1);
    setenv("NO_PROXY", "127.0.0.1", 1);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    if (!f) return 0;
    fake_openai_stop(&f->server);
    rg_judge_close(f->judge);
    for (int i = 0; i < 2; i++) rg_verdicts_clear(f->verdicts[i], 3);
    rg_example_free(&f->example);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", f->dir);
    free(f->dir);
    free(f);
    return 0;
}

#define SKIP_WITHOUT_SERVER(f)                                                                                         \
    do {                                                                                                               \
        if (!(f)) skip();                                                                                              \
    } while (0)

/* Starts the server with `script` and opens a judge on it; `options` is the
 * part of the spec after model=...&key_env=... */
static void start(fixture *f, const char *script, const char *options, const char *cache_file) {
    rg_judge_close(f->judge);
    f->judge = NULL;
    if (!f->server.pid) assert_int_equal(fake_openai_start(&f->server, f->dir, script), 0);
    snprintf(f->spec_text, sizeof f->spec_text, "http:%s#model=grader-1&key_env=RGSD_TEST_JUDGE_KEY&backoff=0.02%s%s",
             f->server.url, options[0] ? "&" : "", options);
    rg_judge_spec spec;
    assert_int_equal(rg_judge_spec_parse(f->spec_text, &spec), RG_OK);
    char cache_path[600], failures_path[600];
    snprintf(cache_path, sizeof cache_path, "%s/%s", f->dir, cache_file ? cache_file : "");
    snprintf(failures_path, sizeof failures_path, "%s/failures.jsonl", f->dir);
    rg_judge_options options_struct = {.cache_path = cache_file ? cache_path : NULL, .failures_path = failures_path};
    assert_int_equal(rg_judge_open(&f->judge, &spec, &options_struct), RG_OK);
    rg_judge_spec_free(&spec);
}

static void restart_server(fixture *f, const char *script) {
    fake_openai_stop(&f->server);
    assert_int_equal(fake_openai_start(&f->server, f->dir, script), 0);
}

static void expect_first_item_verdicts(const fixture *f) {
    assert_int_equal(f->items[0].failed, 0);
    assert_int_equal(f->verdicts[0][0].met, 1);
    assert_int_equal(f->verdicts[0][1].met, 0);
    assert_int_equal(f->verdicts[0][2].met, 1);
}

static void per_criterion_verdicts_and_accounting(void **state) {
    fixture *f = *state;
    SKIP_WITHOUT_SERVER(f);
    char script[2048];
    snprintf(script, sizeof script, "{%s}", criterion_rules);
    start(f, script, "concurrency=2", NULL);
    assert_int_equal(rg_judge_run(f->judge, f->items, 1), RG_OK);
    expect_first_item_verdicts(f);
    assert_string_equal(f->verdicts[0][0].explanation, "says cool water");
    assert_string_equal(f->verdicts[0][1].explanation, "no butter");
    const rg_judge_stats *s = rg_judge_get_stats(f->judge);
    assert_int_equal(s->requests, 3);
    assert_int_equal(s->retries, 0);
    assert_int_equal(s->verdicts, 3);
    assert_int_equal(s->prompt_tokens, 3 * 11); /* the server's default usage [11, 7] per answer */
    assert_int_equal(s->completion_tokens, 3 * 7);
    /* What went over the wire: path, model, key in the header, the prompt rules. */
    char *log = fake_openai_log(&f->server);
    assert_non_null(strstr(log, "\"path\": \"/v1/chat/completions\""));
    assert_non_null(strstr(log, "\"Authorization\": \"Bearer " SECRET "\""));
    assert_non_null(strstr(log, "\"model\": \"grader-1\""));
    assert_non_null(strstr(log, "[undesirable, -4 points] [CRIT-B]"));
    assert_non_null(strstr(log, "assistant: Cool it under running water."));
    free(log);
}

static void batched_mode_one_request_per_response(void **state) {
    fixture *f = *state;
    SKIP_WITHOUT_SERVER(f);
    const char *script = "{\"rules\": ["
                         "{\"if_contains\": \"assistant: Use butter.\", \"content\": \"{\\\"1\\\": false, \\\"2\\\": true, \\\"3\\\": false}\"},"
                         "{\"if_contains\": \"\", \"content\": \"Verdicts: {\\\"1\\\": true, \\\"2\\\": false, \\\"3\\\": true}\"}]}";
    start(f, script, "mode=batched", NULL);
    assert_int_equal(rg_judge_run(f->judge, f->items, 2), RG_OK);
    expect_first_item_verdicts(f);
    assert_int_equal(f->verdicts[1][0].met, 0);
    assert_int_equal(f->verdicts[1][1].met, 1);
    assert_int_equal(f->verdicts[1][2].met, 0);
    assert_int_equal(rg_judge_get_stats(f->judge)->requests, 2);
    assert_int_equal(fake_openai_requests(&f->server), 2);
}

/* 429 with Retry-After: 1, 500, 503, then the scripted answers. */
static void retries_after_429_and_5xx(void **state) {
    fixture *f = *state;
    SKIP_WITHOUT_SERVER(f);
    char script[2048];
    snprintf(script, sizeof script,
             "{\"sequence\": [{\"status\": 429, \"body\": \"{\\\"error\\\": \\\"slow down\\\"}\", \"headers\": "
             "{\"Retry-After\": \"1\"}}, {\"status\": 500, \"body\": \"oops\"}, {\"status\": 503, \"body\": \"busy\"}], %s}",
             criterion_rules);
    start(f, script, "concurrency=1&retries=4", NULL);
    assert_int_equal(rg_judge_run(f->judge, f->items, 1), RG_OK);
    expect_first_item_verdicts(f);
    const rg_judge_stats *s = rg_judge_get_stats(f->judge);
    assert_int_equal(s->requests, 6); /* 3 failures + 3 answers */
    assert_int_equal(s->retries, 3);
    assert_int_equal(s->prompt_tokens, 3 * 11); /* error answers carry no usage */
    /* The backoff is 0.02 s doubling; only Retry-After explains a second's wait. */
    assert_true(s->seconds >= 1.0 && s->seconds < 3.0);
}

/* The first answer stalls 3 s; the 1 s timeout cuts it and the retry succeeds. */
static void stall_past_timeout_is_retried(void **state) {
    fixture *f = *state;
    SKIP_WITHOUT_SERVER(f);
    char script[2048];
    snprintf(script, sizeof script, "{\"sequence\": [{\"delay\": 3, \"content\": \"{\\\"criteria_met\\\": false}\"}], %s}",
             criterion_rules);
    start(f, script, "concurrency=1&timeout=1", NULL);
    rg_judge_item one = f->items[0];
    assert_int_equal(rg_judge_run(f->judge, &one, 1), RG_OK);
    f->items[0] = one;
    expect_first_item_verdicts(f);
    const rg_judge_stats *s = rg_judge_get_stats(f->judge);
    assert_int_equal(s->requests, 4);
    assert_int_equal(s->retries, 1);
    assert_true(s->seconds >= 1.0 && s->seconds < 2.9); /* waited for the timeout, not for the stalled answer */
}

/* Prose, a non-JSON body, a completion without choices, an object without
 * criteria_met: each is retried, then the scripted answers come. */
static void malformed_and_incomplete_answers_are_retried(void **state) {
    fixture *f = *state;
    SKIP_WITHOUT_SERVER(f);
    char script[2048];
    snprintf(script, sizeof script,
             "{\"sequence\": [{\"content\": \"I believe the response meets it.\"}, {\"body\": \"<html>gateway</html>\"},"
             " {\"body\": \"{\\\"choices\\\": []}\"}, {\"content\": \"{\\\"explanation\\\": \\\"no verdict\\\"}\"}], %s}",
             criterion_rules);
    start(f, script, "concurrency=1&retries=4", NULL);
    assert_int_equal(rg_judge_run(f->judge, f->items, 1), RG_OK);
    expect_first_item_verdicts(f);
    assert_int_equal(rg_judge_get_stats(f->judge)->requests, 7);
    assert_int_equal(rg_judge_get_stats(f->judge)->retries, 4);
}

/* Always 500: retries=2 gives 3 attempts per criterion, then a clear error. */
static void retry_budget_exhausted_is_an_error(void **state) {
    fixture *f = *state;
    SKIP_WITHOUT_SERVER(f);
    start(f, "{\"default\": {\"status\": 500, \"body\": \"internal error\"}}", "concurrency=3&retries=2", NULL);
    assert_int_equal(rg_judge_run(f->judge, f->items, 1), RG_ERR);
    const char *msg = rg_errmsg();
    if (!strstr(msg, "3 of 3 criteria could not be judged") || !strstr(msg, "HTTP 500") || !strstr(msg, "3 attempts") ||
        !strstr(msg, "ex-1"))
        fail_msg("unclear message: %s", msg);
    assert_int_equal(f->items[0].failed, 3);
    for (int c = 0; c < 3; c++) assert_int_equal(f->verdicts[0][c].met, -1); /* never a silent "not met" */
    assert_int_equal(rg_judge_get_stats(f->judge)->requests, 9);
    assert_int_equal(rg_judge_get_stats(f->judge)->failures, 3);
}

/* An answer that stays unparseable: error, and the raw text is saved. */
static void unparseable_answer_saved_raw(void **state) {
    fixture *f = *state;
    SKIP_WITHOUT_SERVER(f);
    start(f, "{\"default\": {\"content\": \"The answer is YES-ish, mostly.\"}}", "retries=1", NULL);
    assert_int_equal(rg_judge_run(f->judge, f->items, 1), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "failures.jsonl"));
    assert_non_null(strstr(rg_errmsg(), "criteria_met"));
    char path[600], *saved;
    size_t len;
    snprintf(path, sizeof path, "%s/failures.jsonl", f->dir);
    assert_int_equal(rg_read_file(path, &saved, &len), RG_OK);
    assert_non_null(strstr(saved, "\"raw\":\"The answer is YES-ish, mostly.\""));
    assert_non_null(strstr(saved, "\"id\":\"ex-1\""));
    free(saved);
    assert_int_equal(rg_judge_get_stats(f->judge)->requests, 6);
}

/* 401 stops the run after one request, and the key the server echoes back
 * never reaches the message or the failures file. */
static void unauthorized_stops_and_key_is_redacted(void **state) {
    fixture *f = *state;
    SKIP_WITHOUT_SERVER(f);
    start(f, "{\"default\": {\"status\": 401, \"body\": \"{\\\"error\\\": \\\"invalid key\\\"}\", \"echo_auth\": true}}",
          "concurrency=1&retries=3", NULL);
    assert_int_equal(rg_judge_run(f->judge, f->items, 2), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "HTTP 401"));
    assert_null(strstr(rg_errmsg(), SECRET));
    assert_int_equal(rg_judge_get_stats(f->judge)->requests, 1);
    assert_int_equal(f->items[0].failed + f->items[1].failed, 6);
    char path[600], *saved;
    size_t len;
    snprintf(path, sizeof path, "%s/failures.jsonl", f->dir);
    assert_int_equal(rg_read_file(path, &saved, &len), RG_OK);
    assert_non_null(strstr(saved, "Bearer ****"));
    assert_null(strstr(saved, SECRET));
    free(saved);
}

static void concurrency_is_bounded(void **state) {
    fixture *f = *state;
    SKIP_WITHOUT_SERVER(f);
    start(f, "{\"default\": {\"delay\": 0.3, \"content\": \"{\\\"criteria_met\\\": true}\"}}", "concurrency=2", NULL);
    assert_int_equal(rg_judge_run(f->judge, f->items, 2), RG_OK); /* 6 requests */
    char *log = fake_openai_log(&f->server);
    int max_in_flight = 0;
    for (char *p = strstr(log, "\"in_flight\": "); p; p = strstr(p + 1, "\"in_flight\": ")) {
        int n = atoi(p + strlen("\"in_flight\": "));
        if (n > max_in_flight) max_in_flight = n;
    }
    free(log);
    assert_int_equal(fake_openai_requests(&f->server), 6);
    assert_int_equal(max_in_flight, 2); /* used, never exceeded */
    assert_true(rg_judge_get_stats(f->judge)->seconds >= 0.85); /* 3 waves of 0.3 s */
}

/* A rerun with the same cache sends nothing; an interrupted run resumes. */
static void cache_makes_reruns_free(void **state) {
    fixture *f = *state;
    SKIP_WITHOUT_SERVER(f);
    char script[2048];
    /* First server: criterion C always fails, A and B are answered. */
    snprintf(script, sizeof script,
             "{\"rules\": [{\"if_contains\": \"[CRIT-C]\", \"status\": 503, \"body\": \"down\"}, %s",
             criterion_rules + strlen("\"rules\": ["));
    strcat(script, "}");
    start(f, script, "retries=0", "cache.sqlite");
    assert_int_equal(rg_judge_run(f->judge, f->items, 1), RG_ERR);
    assert_int_equal(f->items[0].failed, 1);
    assert_int_equal(fake_openai_requests(&f->server), 3);
    /* Resume against a healthy server: only criterion C is asked. */
    snprintf(script, sizeof script, "{%s}", criterion_rules);
    restart_server(f, script);
    start(f, script, "retries=0", "cache.sqlite");
    assert_int_equal(rg_judge_run(f->judge, f->items, 1), RG_OK);
    expect_first_item_verdicts(f);
    assert_int_equal(fake_openai_requests(&f->server), 1);
    assert_int_equal(rg_judge_get_stats(f->judge)->cache_hits, 2);
    assert_true(f->verdicts[0][0].cached && f->verdicts[0][1].cached && !f->verdicts[0][2].cached);
    assert_string_equal(f->verdicts[0][0].explanation, "says cool water");
    /* A full rerun: zero requests, all from the cache. */
    start(f, script, "retries=0", "cache.sqlite");
    assert_int_equal(rg_judge_run(f->judge, f->items, 1), RG_OK);
    expect_first_item_verdicts(f);
    assert_int_equal(fake_openai_requests(&f->server), 1);
    assert_int_equal(rg_judge_get_stats(f->judge)->requests, 0);
    assert_int_equal(rg_judge_get_stats(f->judge)->cache_hits, 3);
    /* Another mode is another judge: not served from per-criterion verdicts. */
    start(f, script, "retries=0&mode=batched", "cache.sqlite");
    assert_int_equal(rg_judge_run(f->judge, f->items, 1), RG_ERR); /* the rules give no batched answer */
    assert_int_equal(rg_judge_get_stats(f->judge)->cache_hits, 0);
}

static void unset_key_variable_is_an_error(void **state) {
    (void)state;
    rg_judge_spec spec;
    unsetenv("RGSD_TEST_NO_SUCH_KEY");
    assert_int_equal(rg_judge_spec_parse("http:http://127.0.0.1:9/v1#model=m&key_env=RGSD_TEST_NO_SUCH_KEY", &spec), RG_OK);
    rg_judge *judge;
    assert_int_equal(rg_judge_open(&judge, &spec, NULL), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "RGSD_TEST_NO_SUCH_KEY"));
    rg_judge_spec_free(&spec);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(per_criterion_verdicts_and_accounting, setup, teardown),
        cmocka_unit_test_setup_teardown(batched_mode_one_request_per_response, setup, teardown),
        cmocka_unit_test_setup_teardown(retries_after_429_and_5xx, setup, teardown),
        cmocka_unit_test_setup_teardown(stall_past_timeout_is_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_and_incomplete_answers_are_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(retry_budget_exhausted_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(unparseable_answer_saved_raw, setup, teardown),
        cmocka_unit_test_setup_teardown(unauthorized_stops_and_key_is_redacted, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrency_is_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(cache_makes_reruns_free, setup, teardown),
        cmocka_unit_test(unset_key_variable_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
