/* test_judge_http.c — the http judge against a scripted OpenAI-compatible
 * server on 127.0.0.1 (tests/ref/fake_openai_server.py): verdicts, retries
 * on 429 / 500 / a stall past the timeout / malformed and incomplete
 * answers, the retry budget, 401, bounded concurrency, token accounting, the
 * cache (a rerun sends no request; an interrupted run resumes), the API
 * key never leaking, and what each request carries: max_tokens, the
 * verdict's JSON schema as response_format (dropped, once and for the rest of
 * the judge's life, after a 400 refusing it), and a varied retry after an
 * unreadable answer. Expected verdicts are what the script says; expected
 * request and token counts are worked out by hand from the script. */
#include "test_util.h"

#include <cjson/cJSON.h>

#include "base/error.h"
#include "io/file.h"
#include "judge/grader.h"
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

/* The bodies of the requests received so far, in order of arrival (a JSON
 * array; the order is the judge's when concurrency=1). */
static cJSON *logged_bodies(const fixture *f) {
    char *log = fake_openai_log(&f->server);
    cJSON *bodies = cJSON_CreateArray();
    char *save = NULL;
    for (char *line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        cJSON *entry = cJSON_Parse(line);
        assert_non_null(entry);
        cJSON_AddItemToArray(bodies, cJSON_DetachItemFromObject(entry, "body"));
        cJSON_Delete(entry);
    }
    free(log);
    return bodies;
}

static double number_field(const cJSON *object, const char *key) {
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(object, key);
    if (!cJSON_IsNumber(value)) fail_msg("no number '%s' in the request", key);
    return value->valuedouble;
}

static const char *content_of(const cJSON *body) {
    const cJSON *message = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(body, "messages"), 0);
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(message, "content");
    assert_true(cJSON_IsString(content));
    return content->valuestring;
}

/* The schema a request asks for, after checking the response_format wrapper
 * and that every property is required and no other allowed. */
static const cJSON *requested_schema(const cJSON *body) {
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(body, "response_format");
    if (!format) fail_msg("the request has no response_format");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(format, "type")->valuestring, "json_schema");
    const cJSON *json_schema = cJSON_GetObjectItemCaseSensitive(format, "json_schema");
    assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(json_schema, "name")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(json_schema, "strict")));
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(json_schema, "schema");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(schema, "type")->valuestring, "object");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(schema, "additionalProperties")));
    const cJSON *properties = cJSON_GetObjectItemCaseSensitive(schema, "properties");
    const cJSON *required = cJSON_GetObjectItemCaseSensitive(schema, "required");
    assert_int_equal(cJSON_GetArraySize(required), cJSON_GetArraySize(properties));
    const cJSON *name;
    cJSON_ArrayForEach(name, required) assert_non_null(cJSON_GetObjectItemCaseSensitive(properties, name->valuestring));
    return schema;
}

/* An answer shaped exactly as `schema` allows (booleans true, strings
 * "because"), so the grader's parser can be tried on it. malloc'd. */
static char *answer_of_schema(const cJSON *schema, int *n_properties) {
    cJSON *answer = cJSON_CreateObject();
    const cJSON *property;
    *n_properties = 0;
    cJSON_ArrayForEach(property, cJSON_GetObjectItemCaseSensitive(schema, "properties")) {
        const char *type = cJSON_GetObjectItemCaseSensitive(property, "type")->valuestring;
        if (strcmp(type, "boolean") == 0)
            cJSON_AddTrueToObject(answer, property->string);
        else if (strcmp(type, "string") == 0)
            cJSON_AddStringToObject(answer, property->string, "because");
        else
            fail_msg("unexpected type %s in the verdict schema", type);
        (*n_properties)++;
    }
    char *text = cJSON_PrintUnformatted(answer);
    cJSON_Delete(answer);
    return text;
}

/* Per criterion: max_tokens 1024 and temperature 0 by default, and a schema
 * whose every answer the grader's parser reads as a verdict. */
static void requests_carry_max_tokens_and_the_verdict_schema(void **state) {
    fixture *f = *state;
    SKIP_WITHOUT_SERVER(f);
    char script[2048];
    snprintf(script, sizeof script, "{%s}", criterion_rules);
    start(f, script, "concurrency=1", NULL);
    assert_int_equal(rg_judge_run(f->judge, f->items, 1), RG_OK);
    expect_first_item_verdicts(f);
    cJSON *bodies = logged_bodies(f);
    assert_int_equal(cJSON_GetArraySize(bodies), 3);
    const cJSON *body;
    cJSON_ArrayForEach(body, bodies) {
        assert_int_equal((int)number_field(body, "max_tokens"), 1024);
        assert_true(number_field(body, "temperature") == 0);
        const cJSON *schema = requested_schema(body);
        const cJSON *properties = cJSON_GetObjectItemCaseSensitive(schema, "properties");
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(properties, "criteria_met"), "type")->valuestring, "boolean");
        int n, met;
        char *answer = answer_of_schema(schema, &n), *explanation;
        assert_int_equal(n, 2);
        assert_int_equal(rg_grader_parse_criterion(answer, &met, &explanation), RG_OK);
        assert_int_equal(met, 1);
        assert_string_equal(explanation, "because");
        free(explanation);
        free(answer);
    }
    cJSON_Delete(bodies);
}

/* Batched: one boolean per numbered criterion, read back by the batched parser. */
static void batched_requests_carry_a_schema_per_criterion_number(void **state) {
    fixture *f = *state;
    SKIP_WITHOUT_SERVER(f);
    start(f, "{\"default\": {\"content\": \"{\\\"1\\\": true, \\\"2\\\": false, \\\"3\\\": true}\"}}", "mode=batched", NULL);
    assert_int_equal(rg_judge_run(f->judge, f->items, 1), RG_OK);
    expect_first_item_verdicts(f);
    cJSON *bodies = logged_bodies(f);
    assert_int_equal(cJSON_GetArraySize(bodies), 1);
    const cJSON *schema = requested_schema(cJSON_GetArrayItem(bodies, 0));
    int n, met[3];
    char *answer = answer_of_schema(schema, &n);
    assert_int_equal(n, 3);
    assert_int_equal(rg_grader_parse_batched(answer, 3, met), RG_OK);
    assert_true(met[0] == 1 && met[1] == 1 && met[2] == 1);
    free(answer);
    cJSON_Delete(bodies);
}

/* max_tokens=77 is sent as 77, max_tokens=0 not at all; structured=0 sends no response_format. */
static void max_tokens_and_structured_options(void **state) {
    fixture *f = *state;
    SKIP_WITHOUT_SERVER(f);
    char script[2048];
    snprintf(script, sizeof script, "{%s}", criterion_rules);
    start(f, script, "concurrency=1&max_tokens=77&structured=0", NULL);
    assert_int_equal(rg_judge_run(f->judge, f->items, 1), RG_OK);
    start(f, script, "concurrency=1&max_tokens=0", NULL);
    assert_int_equal(rg_judge_run(f->judge, f->items, 1), RG_OK);
    cJSON *bodies = logged_bodies(f);
    assert_int_equal(cJSON_GetArraySize(bodies), 6);
    for (int r = 0; r < 6; r++) {
        const cJSON *body = cJSON_GetArrayItem(bodies, r);
        if (r < 3) {
            assert_int_equal((int)number_field(body, "max_tokens"), 77);
            assert_null(cJSON_GetObjectItemCaseSensitive(body, "response_format"));
        } else {
            assert_null(cJSON_GetObjectItemCaseSensitive(body, "max_tokens"));
            requested_schema(body);
        }
    }
    cJSON_Delete(bodies);
}

/* A 400 naming response_format: that request is re-sent without it, outside
 * the retry budget (retries=0), and no later request carries it, in this run
 * or the judge's next one. */
static void refused_response_format_is_dropped_for_the_judges_life(void **state) {
    fixture *f = *state;
    SKIP_WITHOUT_SERVER(f);
    char script[2048];
    snprintf(script, sizeof script, "{\"reject_fields\": [\"response_format\"], %s}", criterion_rules);
    start(f, script, "concurrency=1&retries=0", NULL);
    assert_int_equal(rg_judge_run(f->judge, f->items, 1), RG_OK);
    expect_first_item_verdicts(f);
    assert_int_equal(rg_judge_get_stats(f->judge)->requests, 4);
    assert_int_equal(rg_judge_get_stats(f->judge)->retries, 0);
    rg_judge_item second = f->items[1];
    assert_int_equal(rg_judge_run(f->judge, &second, 1), RG_OK);
    f->items[1] = second;
    cJSON *bodies = logged_bodies(f);
    assert_int_equal(cJSON_GetArraySize(bodies), 7);
    requested_schema(cJSON_GetArrayItem(bodies, 0)); /* the first asks, and is refused */
    for (int r = 1; r < 7; r++) {
        const cJSON *body = cJSON_GetArrayItem(bodies, r);
        assert_null(cJSON_GetObjectItemCaseSensitive(body, "response_format"));
        assert_int_equal((int)number_field(body, "max_tokens"), 1024);
    }
    /* The re-send is the refused request itself, not the next criterion. */
    assert_string_equal(content_of(cJSON_GetArrayItem(bodies, 0)), content_of(cJSON_GetArrayItem(bodies, 1)));
    cJSON_Delete(bodies);
}

/* OpenAI's reasoning models refuse max_tokens and ask for max_completion_tokens. */
static void refused_max_tokens_becomes_max_completion_tokens(void **state) {
    fixture *f = *state;
    SKIP_WITHOUT_SERVER(f);
    char script[2048];
    snprintf(script, sizeof script, "{\"reject_fields\": [\"max_tokens\"], %s}", criterion_rules);
    start(f, script, "concurrency=1&retries=0", NULL);
    assert_int_equal(rg_judge_run(f->judge, f->items, 1), RG_OK);
    expect_first_item_verdicts(f);
    cJSON *bodies = logged_bodies(f);
    assert_int_equal(cJSON_GetArraySize(bodies), 4);
    for (int r = 1; r < 4; r++) {
        const cJSON *body = cJSON_GetArrayItem(bodies, r);
        assert_null(cJSON_GetObjectItemCaseSensitive(body, "max_tokens"));
        assert_int_equal((int)number_field(body, "max_completion_tokens"), 1024);
        requested_schema(body);
    }
    cJSON_Delete(bodies);
}

/* A greedy model asked the same thing answers the same garbage: the retry
 * after an unreadable answer carries a reminder and a nonzero temperature;
 * the next criterion is asked plainly again. */
static void retry_after_unreadable_answer_differs(void **state) {
    fixture *f = *state;
    SKIP_WITHOUT_SERVER(f);
    char script[2048];
    snprintf(script, sizeof script, "{\"sequence\": [{\"content\": \"Hmm, let me think about the burn\"}], %s}",
             criterion_rules);
    start(f, script, "concurrency=1&retries=1", NULL);
    assert_int_equal(rg_judge_run(f->judge, f->items, 1), RG_OK);
    expect_first_item_verdicts(f);
    cJSON *bodies = logged_bodies(f);
    assert_int_equal(cJSON_GetArraySize(bodies), 4);
    /* The retry waits out its backoff, so the next criterion may go first. */
    const cJSON *first = cJSON_GetArrayItem(bodies, 0), *retry = NULL, *body;
    cJSON_ArrayForEach(body, bodies) {
        if (strstr(content_of(body), "could not be read")) {
            assert_null(retry); /* only the one retry is varied */
            retry = body;
            assert_true(number_field(body, "temperature") > 0);
        } else {
            assert_true(number_field(body, "temperature") == 0);
        }
    }
    assert_non_null(retry);
    assert_true(retry != first);
    /* The same criterion, asked again. */
    assert_memory_equal(content_of(first), content_of(retry), strlen(content_of(first)));
    requested_schema(retry);
    cJSON_Delete(bodies);
}

/* An answer cut at max_tokens says so: the fix is a larger limit. */
static void answer_cut_at_max_tokens_is_named(void **state) {
    fixture *f = *state;
    SKIP_WITHOUT_SERVER(f);
    start(f, "{\"default\": {\"content\": \"{\\\"explanation\\\": \\\"The reply\", \"finish_reason\": \"length\"}}",
          "concurrency=1&retries=0&max_tokens=5", NULL);
    assert_int_equal(rg_judge_run(f->judge, f->items, 1), RG_ERR);
    if (!strstr(rg_errmsg(), "cut at max_tokens=5")) fail_msg("the message does not name max_tokens: %s", rg_errmsg());
    /* Without a max_tokens of ours, the endpoint's own limit is blamed. */
    start(f, "", "concurrency=1&retries=0&max_tokens=0", NULL);
    assert_int_equal(rg_judge_run(f->judge, f->items, 1), RG_ERR);
    if (!strstr(rg_errmsg(), "its own length limit")) fail_msg("the message does not blame the endpoint: %s", rg_errmsg());
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
        cmocka_unit_test_setup_teardown(requests_carry_max_tokens_and_the_verdict_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(batched_requests_carry_a_schema_per_criterion_number, setup, teardown),
        cmocka_unit_test_setup_teardown(max_tokens_and_structured_options, setup, teardown),
        cmocka_unit_test_setup_teardown(refused_response_format_is_dropped_for_the_judges_life, setup, teardown),
        cmocka_unit_test_setup_teardown(refused_max_tokens_becomes_max_completion_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(retry_after_unreadable_answer_differs, setup, teardown),
        cmocka_unit_test_setup_teardown(answer_cut_at_max_tokens_is_named, setup, teardown),
        cmocka_unit_test(unset_key_variable_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
