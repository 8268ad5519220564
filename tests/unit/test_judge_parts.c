/* test_judge_parts.c — the pieces of the judge that need no server: SHA-256
 * (FIPS 180-2 test vectors), JSON extraction from chatty answers, the spec
 * parser and its errors, the grader prompts and answer parsing, the SQLite
 * verdict cache. */
#include "test_util.h"

#include <cjson/cJSON.h>

#include "base/error.h"
#include "io/file.h"
#include "judge/cache.h"
#include "judge/grader.h"
#include "judge/json_extract.h"
#include "judge/judge.h"
#include "judge/sha256.h"
#include "rubric/rubric.h"

static void sha256_hex_of(const void *data, size_t len, char hex[65]) {
    rg_sha256 h;
    uint8_t digest[32];
    rg_sha256_init(&h);
    rg_sha256_update(&h, data, len);
    rg_sha256_final(&h, digest);
    rg_sha256_hex(digest, hex);
}

/* Expected digests: FIPS 180-2 appendix B (and the empty string, NIST CSRC examples). */
static void sha256_matches_fips_vectors(void **state) {
    (void)state;
    char hex[65];
    sha256_hex_of("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha256_hex_of("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256_hex_of(two_blocks, strlen(two_blocks), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* One million 'a', fed in uneven pieces to exercise the block buffer. */
    rg_sha256 h;
    uint8_t digest[32];
    char chunk[997];
    memset(chunk, 'a', sizeof chunk);
    rg_sha256_init(&h);
    size_t left = 1000000;
    while (left > 0) {
        size_t n = left < sizeof chunk ? left : sizeof chunk;
        rg_sha256_update(&h, chunk, n);
        left -= n;
    }
    rg_sha256_final(&h, digest);
    rg_sha256_hex(digest, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static int has_criteria_met(const cJSON *object, void *ctx) {
    (void)ctx;
    return cJSON_GetObjectItemCaseSensitive(object, "criteria_met") != NULL;
}

static void extract(const char *text, const char *expect_unformatted) {
    cJSON *object = rg_json_extract_object(text, has_criteria_met, NULL);
    if (!expect_unformatted) {
        assert_null(object);
        return;
    }
    assert_non_null(object);
    char *printed = cJSON_PrintUnformatted(object);
    assert_string_equal(printed, expect_unformatted);
    free(printed);
    cJSON_Delete(object);
}

static void json_extraction_survives_chatter(void **state) {
    (void)state;
    extract("{\"criteria_met\": true}", "{\"criteria_met\":true}");
    extract("```json\n{\"explanation\": \"ok\", \"criteria_met\": false}\n```",
            "{\"explanation\":\"ok\",\"criteria_met\":false}");
    extract("Sure! Here is my verdict:\n{\"criteria_met\": true, \"explanation\": \"it {does} say so\"}\nHope it helps.",
            "{\"criteria_met\":true,\"explanation\":\"it {does} say so\"}");
    /* A brace inside a string, an escaped quote, and a {placeholder} before the answer. */
    extract("I use {x} here. {\"explanation\": \"a \\\"}\\\" b\", \"criteria_met\": true}",
            "{\"explanation\":\"a \\\"}\\\" b\",\"criteria_met\":true}");
    /* Reasoning first, final answer last: the last valid object wins. */
    extract("Draft: {\"criteria_met\": true} ... on reflection: {\"criteria_met\": false}", "{\"criteria_met\":false}");
    /* An object without the field is skipped; truncated JSON is not an answer. */
    extract("{\"verdict\": \"yes\"}", NULL);
    extract("{\"criteria_met\": tru", NULL);
    extract("no JSON at all", NULL);
    extract("", NULL);
}

static void expect_spec_error(const char *text, const char *fragment) {
    rg_judge_spec spec;
    assert_int_equal(rg_judge_spec_parse(text, &spec), RG_ERR);
    if (!strstr(rg_errmsg(), fragment)) fail_msg("spec '%s': message '%s' lacks '%s'", text, rg_errmsg(), fragment);
}

static void spec_parser_accepts_and_rejects(void **state) {
    (void)state;
    rg_judge_spec spec;
    assert_int_equal(rg_judge_spec_parse("http:https://api.example.com/v1/#model=gpt-x&mode=batched&concurrency=3"
                                         "&timeout=2.5&retries=7&backoff=0.1&key_env=MY_KEY&temperature=0.2"
                                         "&max_tokens=300&structured=0",
                                         &spec),
                     RG_OK);
    assert_int_equal(spec.kind, RG_JUDGE_HTTP);
    assert_string_equal(spec.url, "https://api.example.com/v1/chat/completions");
    assert_string_equal(spec.model, "gpt-x");
    assert_string_equal(spec.key_env, "MY_KEY");
    assert_int_equal(spec.key_env_explicit, 1);
    assert_int_equal(spec.mode, RG_GRADE_BATCHED);
    assert_int_equal(spec.concurrency, 3);
    assert_int_equal(spec.retries, 7);
    assert_int_equal(spec.max_tokens, 300);
    assert_int_equal(spec.structured, 0);
    assert_true(spec.timeout_s == 2.5 && spec.backoff_s == 0.1 && spec.temperature == 0.2);
    char *identity = rg_judge_spec_identity(&spec);
    assert_non_null(strstr(identity, "gpt-x"));
    assert_non_null(strstr(identity, "batched"));
    free(identity);
    rg_judge_spec_free(&spec);

    /* Defaults; a full endpoint URL is kept as it is. */
    assert_int_equal(rg_judge_spec_parse("http:http://127.0.0.1:8000/v1/chat/completions#model=m", &spec), RG_OK);
    assert_string_equal(spec.url, "http://127.0.0.1:8000/v1/chat/completions");
    assert_string_equal(spec.key_env, "OPENAI_API_KEY");
    assert_int_equal(spec.key_env_explicit, 0);
    assert_int_equal(spec.mode, RG_GRADE_PER_CRITERION);
    assert_int_equal(spec.concurrency, 8);
    assert_int_equal(spec.retries, 4);
    assert_true(spec.timeout_s == 60 && spec.backoff_s == 1 && spec.temperature == 0);
    assert_int_equal(spec.max_tokens, 1024); /* a rambling model is cut before the timeout */
    assert_int_equal(spec.structured, 1);
    rg_judge_spec_free(&spec);
    assert_int_equal(rg_judge_spec_parse("http:http://h/v1#model=m&max_tokens=0", &spec), RG_OK);
    assert_int_equal(spec.max_tokens, 0); /* not sent */
    rg_judge_spec_free(&spec);

    assert_int_equal(rg_judge_spec_parse("rule", &spec), RG_OK);
    assert_int_equal(spec.kind, RG_JUDGE_RULE);
    rg_judge_spec_free(&spec);
    assert_int_equal(rg_judge_spec_parse("local:/models/qwen", &spec), RG_OK);
    assert_int_equal(spec.kind, RG_JUDGE_LOCAL);
    assert_string_equal(spec.model_dir, "/models/qwen");
    assert_true(spec.local_bf16 == 1 && spec.local_batch == 4 && spec.local_context == 0 && !spec.local_chat_template);
    rg_judge_spec_free(&spec);
    assert_int_equal(rg_judge_spec_parse("local:/models/qwen#bf16=0&batch=2&context=512&chat_template=qwen3", &spec),
                     RG_OK);
    assert_true(spec.local_bf16 == 0 && spec.local_batch == 2 && spec.local_context == 512);
    assert_string_equal(spec.local_chat_template, "qwen3");
    /* Opening loads the model: a missing folder is named. */
    rg_judge *judge;
    assert_int_equal(rg_judge_open(&judge, &spec, NULL), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "/models/qwen"));
    rg_judge_spec_free(&spec);
    expect_spec_error("local:/m#mode=batched", "one criterion per prompt");
    expect_spec_error("local:/m#batch=0", "batch='0'");
    expect_spec_error("local:/m#bf16=yes", "bf16='yes'");
    expect_spec_error("local:/m#temperature=1", "unknown option 'temperature'");

    expect_spec_error("", "empty");
    expect_spec_error("gpt4", "unknown judge");
    expect_spec_error("http:https://x/v1", "model=NAME");
    expect_spec_error("http:ftp://x/v1#model=m", "http:// or https://");
    expect_spec_error("http:https://x/v1#model=m&modle=n", "unknown option 'modle'");
    expect_spec_error("http:https://x/v1#model=m&timeout=0", "timeout='0'");
    expect_spec_error("http:https://x/v1#model=m&structured=yes", "structured='yes'");
    expect_spec_error("http:https://x/v1#model=m&max_tokens=-1", "max_tokens='-1'");
    expect_spec_error("http:https://x/v1#model=m&concurrency=many", "concurrency='many'");
    expect_spec_error("http:https://x/v1#model=m&concurrency=0", "concurrency='0'");
    expect_spec_error("http:https://x/v1#model=m&mode=sometimes", "mode='sometimes'");
    expect_spec_error("http:https://x/v1#model", "not key=value");
    expect_spec_error("rule#mode=batched", "takes no options");
    expect_spec_error("local:", "model folder");
}

/* A HealthBench-style example: two turns, a desirable criterion with a
 * "such as" list, an undesirable one (negative points). */
static const char *example_json =
    "{\"prompt_id\": \"hb-1\", \"prompt\": [{\"role\": \"user\", \"content\": \"My child has a fever of 39C.\"}],"
    " \"rubrics\": [{\"criterion\": \"Advises fluids, such as water or oral rehydration solution.\", \"points\": 5,"
    " \"tags\": [\"axis:completeness\"]},"
    " {\"criterion\": \"Recommends aspirin for the child.\", \"points\": -8, \"tags\": [\"axis:accuracy\"]}]}";

static void grader_prompts_carry_the_rules(void **state) {
    (void)state;
    rg_example ex;
    assert_int_equal(rg_example_parse(example_json, "test", 1, &ex), RG_OK);
    rg_judge_item item = {.example = &ex, .response = "Give her water and rest."};
    char *prompt = rg_grader_prompt_criterion(&item, 1);
    assert_non_null(prompt);
    /* The conversation as role: content blocks ending with the response. */
    const char *user = strstr(prompt, "user: My child has a fever of 39C.");
    const char *reply = strstr(prompt, "assistant: Give her water and rest.");
    assert_true(user && reply && user < reply);
    assert_non_null(strstr(prompt, "[undesirable, -8 points] Recommends aspirin for the child."));
    assert_null(strstr(prompt, "Advises fluids")); /* one criterion per prompt */
    assert_non_null(strstr(prompt, "\"such as\""));
    assert_non_null(strstr(prompt, "\"criteria_met\""));
    free(prompt);
    int both[2] = {0, 1};
    prompt = rg_grader_prompt_batched(&item, both, 2);
    assert_non_null(strstr(prompt, "1. [5 points] Advises fluids"));
    assert_non_null(strstr(prompt, "2. [undesirable, -8 points] Recommends aspirin"));
    free(prompt);
    rg_example_free(&ex);
    /* An RaR pitfall written as the good behaviour: shown with positive points,
     * judged as written (met = it does avoid the problem). */
    assert_int_equal(rg_example_parse("{\"question\": \"Q\", \"reference_answer\": \"A\", \"rubric\": ["
                                      "{\"title\": \"T\", \"description\": \"Avoids recommending aspirin\", "
                                      "\"weight\": -2, \"polarity\": \"positive\"}]}",
                                      "rar", 1, &ex),
                     RG_OK);
    item.example = &ex;
    prompt = rg_grader_prompt_criterion(&item, 0);
    if (!strstr(prompt, "[2 points] ")) fail_msg("RaR pitfall shown as: %s", strstr(prompt, "<criterion>"));
    assert_null(strstr(prompt, "[undesirable"));
    free(prompt);
    rg_example_free(&ex);
}

static void grader_answers_parse_or_fail_loudly(void **state) {
    (void)state;
    int met = -1;
    char *why = NULL;
    assert_int_equal(rg_grader_parse_criterion("```\n{\"explanation\": \"it does\", \"criteria_met\": true}\n```", &met, &why),
                     RG_OK);
    assert_int_equal(met, 1);
    assert_string_equal(why, "it does");
    free(why);
    assert_int_equal(rg_grader_parse_criterion("{\"criteria_met\": \"false\"}", &met, &why), RG_OK);
    assert_int_equal(met, 0);
    assert_null(why);
    assert_int_equal(rg_grader_parse_criterion("{\"criteria_met\": 1}", &met, &why), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "criteria_met"));
    assert_int_equal(rg_grader_parse_criterion("The response meets it.", &met, &why), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "The response meets it."));

    int verdicts[3];
    assert_int_equal(rg_grader_parse_batched("Verdicts: {\"1\": true, \"2\": false, \"3\": {\"criteria_met\": true}}", 3,
                                             verdicts),
                     RG_OK);
    assert_true(verdicts[0] == 1 && verdicts[1] == 0 && verdicts[2] == 1);
    assert_int_equal(rg_grader_parse_batched("{\"1\": true, \"3\": false}", 3, verdicts), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "\"1\"..\"3\""));
}

static void cache_persists_and_keys_differ(void **state) {
    (void)state;
    char *dir = test_tmpdir();
    char *path = rg_path_join(dir, "verdicts.sqlite");
    rg_example ex;
    assert_int_equal(rg_example_parse(example_json, "test", 1, &ex), RG_OK);
    rg_judge_item item = {.example = &ex, .response = "Water."};
    char key[65], other[65];
    rg_cache_key("judge-A", &item, 0, key);
    assert_int_equal(strlen(key), 64);
    rg_cache_key("judge-B", &item, 0, other);
    assert_string_not_equal(key, other);
    rg_cache_key("judge-A", &item, 1, other);
    assert_string_not_equal(key, other);
    item.response = "Water!";
    rg_cache_key("judge-A", &item, 0, other);
    assert_string_not_equal(key, other);
    ex.rubric[0].weight = 4;
    item.response = "Water.";
    rg_cache_key("judge-A", &item, 0, other);
    assert_string_not_equal(key, other);
    ex.rubric[0].weight = 5;
    rg_cache_key("judge-A", &item, 0, other);
    assert_string_equal(key, other);

    rg_verdict_cache *cache;
    assert_int_equal(rg_cache_open(&cache, path), RG_OK);
    int met;
    char *why;
    assert_int_equal(rg_cache_get(cache, key, &met, &why), 0);
    assert_int_equal(rg_cache_put(cache, key, "judge-A", 1, "mentions water"), RG_OK);
    rg_cache_close(cache);
    /* Reopened: the verdict survived. */
    assert_int_equal(rg_cache_open(&cache, path), RG_OK);
    assert_int_equal(rg_cache_get(cache, key, &met, &why), 1);
    assert_int_equal(met, 1);
    assert_string_equal(why, "mentions water");
    free(why);
    assert_int_equal(rg_cache_count(cache), 1);
    rg_cache_close(cache);
    /* A file that is not a database is a clear error. */
    char *bogus = rg_path_join(dir, "bogus.sqlite");
    rg_write_file_atomic(bogus, "this is not sqlite, just text long enough to have a header......................"
                                "..............................", 110);
    assert_int_equal(rg_cache_open(&cache, bogus), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "bogus.sqlite"));
    rg_example_free(&ex);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(bogus);
    free(path);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sha256_matches_fips_vectors),
        cmocka_unit_test(json_extraction_survives_chatter),
        cmocka_unit_test(spec_parser_accepts_and_rejects),
        cmocka_unit_test(grader_prompts_carry_the_rules),
        cmocka_unit_test(grader_answers_parse_or_fail_loudly),
        cmocka_unit_test(cache_persists_and_keys_differ),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
