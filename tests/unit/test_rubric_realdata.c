/* test_rubric_realdata.c — rubric data as people have it: the verl layout
 * with tag objects, and the same HealthBench conversations in both their
 * layouts loading to the same examples.
 *
 * The shared-data counts were computed independently with Python's json
 * module (not with rgsd). */
#include "test_util.h"

#include "base/error.h"
#include "rubric/rubric.h"

static void parse_ok(const char *json, rg_example *ex) {
    if (rg_example_parse(json, "t.jsonl", 7, ex) != RG_OK) fail_msg("unexpected error: %s", rg_errmsg());
}

/* verl writes criterion tags as an object; rgsd takes them as "key:value"
 * strings, skipping null and empty values, nested values as compact JSON
 * without their nulls. */
static void object_tags_become_key_value_strings(void **state) {
    (void)state;
    rg_example ex;
    parse_ok("{\"prompt\": [{\"role\": \"user\", \"content\": \"Q\"}], \"data_source\": \"healthbench\","
             " \"reward_model\": {\"ground_truth\": \"\", \"rubrics\": ["
             "{\"criterion\": \"A\", \"points\": 8, \"tags\": {\"axis\": \"accuracy\", \"cluster\": null, \"level\": \"example\"}},"
             "{\"criterion\": \"B\", \"points\": -5, \"tags\": {\"axis\": \"completeness\", \"cluster\": \"c1\", \"level\": \"\"}},"
             "{\"criterion\": \"C\", \"points\": 1, \"tags\": {\"function\": \"F\", \"parameters\": {\"N\": null, \"n\": 3,"
             " \"last_word\": \"x\"}, \"empty\": {\"a\": null}, \"ok\": true}}]}}",
             &ex);
    assert_int_equal(ex.format, RG_FORMAT_RUBRICHUB);
    assert_int_equal(ex.ncriteria, 3);
    assert_int_equal(ex.rubric[0].ntags, 2);
    assert_string_equal(ex.rubric[0].tags[0], "axis:accuracy");
    assert_string_equal(ex.rubric[0].tags[1], "level:example");
    assert_int_equal(ex.rubric[1].ntags, 2);
    assert_string_equal(ex.rubric[1].tags[1], "cluster:c1");
    assert_int_equal(ex.rubric[2].ntags, 3);
    assert_string_equal(ex.rubric[2].tags[0], "function:F");
    assert_string_equal(ex.rubric[2].tags[1], "parameters:{\"n\":3,\"last_word\":\"x\"}");
    assert_string_equal(ex.rubric[2].tags[2], "ok:true");
    rg_example_free(&ex);

    /* The native form writes them as strings and reads back the same. */
    parse_ok("{\"prompt\": [{\"role\": \"user\", \"content\": \"Q\"}], \"rubrics\": [{\"criterion\": \"A\", \"points\": 1,"
             " \"tags\": {\"axis\": \"x\"}}]}",
             &ex);
    assert_int_equal(ex.format, RG_FORMAT_HEALTHBENCH); /* tagged criteria at top level: HealthBench */
    assert_string_equal(ex.rubric[0].tags[0], "axis:x");
    rg_example_free(&ex);

    /* A tag object with an empty name is an error naming it. */
    rg_example bad;
    assert_int_equal(rg_example_parse("{\"prompt\": [{\"role\": \"user\", \"content\": \"Q\"}], \"rubrics\": "
                                      "[{\"criterion\": \"A\", \"points\": 1, \"tags\": {\"\": \"x\"}}]}",
                                      "t.jsonl", 7, &bad),
                     RG_ERR);
    assert_string_equal(rg_errmsg(), "t.jsonl:7: rubrics[0].tags.: empty tag name (read as HealthBench)");
}

/* reward_model.rubrics is preferred over a plain Rubrics copy: only it has
 * the tags (RubricHub instruction-following rows carry both). */
static void reward_model_rubrics_preferred(void **state) {
    (void)state;
    rg_example ex;
    parse_ok("{\"prompt\": [{\"role\": \"user\", \"content\": \"Q\"}], \"Rubrics\": [{\"criterion\": \"A\", \"points\": 1}],"
             " \"reward_model\": {\"rubrics\": [{\"criterion\": \"A\", \"points\": 1, \"tags\": {\"verifier\": \"llm\"}}]}}",
             &ex);
    assert_int_equal(ex.rubric[0].ntags, 1);
    assert_string_equal(ex.rubric[0].tags[0], "verifier:llm");
    rg_example_free(&ex);
}

/* OpenAI's spellings: the developer role is the system message; content as
 * text parts is the texts joined; a non-text part is an error naming it. */
static void developer_role_and_content_parts(void **state) {
    (void)state;
    rg_example ex;
    parse_ok("{\"messages\": [{\"role\": \"developer\", \"content\": \"Be brief.\"},"
             " {\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"Name \"}, {\"type\": \"text\","
             " \"text\": \"a fruit.\"}]}], \"rubric\": [{\"text\": \"Names one\", \"weight\": 1}]}",
             &ex);
    assert_int_equal(ex.nmessages, 2);
    assert_int_equal(ex.messages[0].role, RG_ROLE_SYSTEM);
    assert_string_equal(ex.messages[1].content, "Name a fruit.");
    rg_example_free(&ex);
    assert_int_equal(rg_example_parse("{\"prompt\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\","
                                      " \"text\": \"Q\"}, {\"type\": \"image_url\"}]}], \"rubrics\": "
                                      "[{\"criterion\": \"A\", \"points\": 1}]}",
                                      "t.jsonl", 7, &ex),
                     RG_ERR);
    assert_string_equal(rg_errmsg(),
                        "t.jsonl:7: prompt[0].content[1].type: a \"image_url\" part, not text (rgsd reads text only) "
                        "(read as RubricHub/verl)");
}

/* Criteria meant for a code verifier: recognised by tags.verifier (not
 * "llm") or by an identifier text; skipped and counted by default, kept or
 * refused on request; an example left with none is an error unless empty
 * rubrics are allowed. */
static void code_verifier_criteria_policy(void **state) {
    (void)state;
    const char *line =
        "{\"prompt\": [{\"role\": \"user\", \"content\": \"Q\"}], \"reward_model\": {\"rubrics\": ["
        "{\"criterion\": \"last_word:last_word_sent\", \"points\": 10, \"tags\": {\"function\": \"F\", \"verifier\": \"rule\"}},"
        "{\"criterion\": \"Answers the question\", \"points\": 10, \"tags\": {\"verifier\": \"llm\"}},"
        "{\"criterion\": \"punctuation:no_comma\", \"points\": 5}]}}";
    cJSON *root = cJSON_Parse(line);
    assert_non_null(root);
    rg_example ex;
    rg_rubric_options options = {0}; /* skip */
    assert_int_equal(rg_example_from_record(root, "t.jsonl", 3, -1, &options, &ex), RG_OK);
    assert_int_equal(ex.ncriteria, 1);
    assert_string_equal(ex.rubric[0].text, "Answers the question");
    assert_int_equal(ex.rubric[0].code_check, 0);
    assert_int_equal(ex.code_checks_skipped, 2);
    rg_example_free(&ex);

    options.verifier_criteria = RG_VERIFIER_CRITERIA_KEEP;
    assert_int_equal(rg_example_from_record(root, "t.jsonl", 3, -1, &options, &ex), RG_OK);
    assert_int_equal(ex.ncriteria, 3);
    assert_int_equal(ex.rubric[0].code_check, 1);
    assert_int_equal(ex.rubric[1].code_check, 0);
    assert_int_equal(ex.rubric[2].code_check, 1); /* an identifier text, no tags */
    assert_int_equal(ex.code_checks_skipped, 0);
    rg_example_free(&ex);

    options.verifier_criteria = RG_VERIFIER_CRITERIA_ERROR;
    assert_int_equal(rg_example_from_record(root, "t.jsonl", 3, -1, &options, &ex), RG_ERR);
    assert_string_equal(rg_errmsg(), "t.jsonl:3: reward_model.rubrics[0]: \"last_word:last_word_sent\" is a check for a "
                                     "code verifier, not a criterion an LLM judge can grade (--verifier-criteria skip "
                                     "leaves such criteria out, keep keeps them) (read as RubricHub/verl)");
    cJSON_Delete(root);

    /* Nothing left: an error, or an empty rubric the trainer skips and counts. */
    root = cJSON_Parse("{\"prompt\": [{\"role\": \"user\", \"content\": \"Q\"}], \"rubrics\": ["
                       "{\"criterion\": \"copy:copy\", \"points\": 1}]}");
    options = (rg_rubric_options){0};
    assert_int_equal(rg_example_from_record(root, "t.jsonl", 4, -1, &options, &ex), RG_ERR);
    assert_string_equal(rg_errmsg(), "t.jsonl:4: rubrics: all 1 criteria are checks for a code verifier, left out by "
                                     "--verifier-criteria skip: nothing is left for a judge (read as RubricHub/verl)");
    options.allow_empty_rubric = 1;
    assert_int_equal(rg_example_from_record(root, "t.jsonl", 4, -1, &options, &ex), RG_OK);
    assert_int_equal(ex.ncriteria, 0);
    assert_int_equal(ex.code_checks_skipped, 1);
    rg_example_free(&ex);
    cJSON_Delete(root);

    /* Ordinary texts are never taken for identifiers. */
    assert_int_equal(rg_is_code_check("Mentions: the dose", NULL, 0), 0);
    assert_int_equal(rg_is_code_check("Axis:Accuracy", NULL, 0), 0);
    assert_int_equal(rg_is_code_check("ratio:3", NULL, 0), 1);
}

/* RubricHub instruction-following: 282 of 382 criteria are for a code
 * verifier (Python: tags.verifier == "rule"), one LLM criterion per row. */
static void shared_instruction_following_counts(void **state) {
    (void)state;
    const char *shared = test_shared_dir();
    if (!shared) {
        fprintf(stderr, "skipped: shared data folder not found (set RGSD_SHARED)\n");
        skip();
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/data/rubrichub/rurl-instructionfollowing-sample-100.jsonl", shared);
    SKIP_UNLESS_FILE(path, "shared RubricHub data");
    rg_dataset ds;
    if (rg_rubric_load_all(path, NULL, &ds)) fail_msg("%s", rg_errmsg());
    assert_int_equal(ds.count, 100);
    assert_int_equal(ds.code_checks_skipped, 282);
    for (size_t e = 0; e < ds.count; e++) {
        assert_int_equal(ds.examples[e].ncriteria, 1);
        assert_string_equal(ds.examples[e].rubric[0].tags[0], "verifier:llm");
    }
    rg_dataset_free(&ds);
    rg_rubric_options keep = {.verifier_criteria = RG_VERIFIER_CRITERIA_KEEP};
    if (rg_rubric_load_all(path, &keep, &ds)) fail_msg("%s", rg_errmsg());
    size_t criteria = 0, code = 0;
    for (size_t e = 0; e < ds.count; e++)
        for (size_t i = 0; i < ds.examples[e].ncriteria; i++, criteria++) code += ds.examples[e].rubric[i].code_check;
    assert_int_equal(criteria, 382);
    assert_int_equal(code, 282);
    rg_dataset_free(&ds);
}

static int tag_sets_equal(char **a, size_t na, char **b, size_t nb) {
    if (na != nb) return 0;
    for (size_t i = 0; i < na; i++) {
        int found = 0;
        for (size_t k = 0; k < nb && !found; k++) found = strcmp(a[i], b[k]) == 0;
        if (!found) return 0;
    }
    return 1;
}

/* ../shared/data/verl/healthbench_val.verl.jsonl is the verl form of
 * healthbench/healthbench_val_500.jsonl: the same conversations and criteria,
 * tags as objects. Both load to the same examples, tags compared as sets;
 * the verl rows add the example tag data_source:healthbench. */
static void verl_healthbench_equals_healthbench(void **state) {
    (void)state;
    const char *shared = test_shared_dir();
    if (!shared) {
        fprintf(stderr, "skipped: shared data folder not found (set RGSD_SHARED)\n");
        skip();
    }
    char hb_path[1024], verl_path[1024];
    snprintf(hb_path, sizeof hb_path, "%s/data/healthbench/healthbench_val_500.jsonl", shared);
    snprintf(verl_path, sizeof verl_path, "%s/data/verl/healthbench_val.verl.jsonl", shared);
    SKIP_UNLESS_FILE(hb_path, "shared HealthBench data");
    SKIP_UNLESS_FILE(verl_path, "shared verl data");
    rg_dataset hb, verl;
    if (rg_rubric_load_all(hb_path, NULL, &hb)) fail_msg("%s", rg_errmsg());
    if (rg_rubric_load_all(verl_path, NULL, &verl)) fail_msg("%s", rg_errmsg());
    assert_int_equal(hb.count, 500);
    assert_int_equal(verl.count, 500);
    size_t criteria = 0, tags = 0;
    for (size_t e = 0; e < hb.count; e++) {
        const rg_example *a = &hb.examples[e], *b = &verl.examples[e];
        assert_int_equal(a->nmessages, b->nmessages);
        for (size_t m = 0; m < a->nmessages; m++) {
            assert_int_equal(a->messages[m].role, b->messages[m].role);
            assert_string_equal(a->messages[m].content, b->messages[m].content);
        }
        assert_int_equal(a->ncriteria, b->ncriteria);
        for (size_t i = 0; i < a->ncriteria; i++) {
            const rg_criterion *x = &a->rubric[i], *y = &b->rubric[i];
            assert_string_equal(x->text, y->text);
            assert_true(x->weight == y->weight);
            assert_int_equal(x->polarity, y->polarity);
            if (!tag_sets_equal(x->tags, x->ntags, y->tags, y->ntags))
                fail_msg("example %zu criterion %zu: tags differ", e, i);
            criteria++;
            tags += x->ntags;
        }
        assert_null(a->reference);
        assert_null(b->reference);
        assert_int_equal(a->ntags, 0);
        assert_int_equal(b->ntags, 1);
        assert_string_equal(b->tags[0], "data_source:healthbench");
    }
    /* Python: 5,965 criteria; 2 tags each plus a cluster on 849 of them. */
    assert_int_equal(criteria, 5965);
    assert_int_equal(tags, 2 * 5965 + 849);
    rg_dataset_free(&hb);
    rg_dataset_free(&verl);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(object_tags_become_key_value_strings),
        cmocka_unit_test(reward_model_rubrics_preferred),
        cmocka_unit_test(developer_role_and_content_parts),
        cmocka_unit_test(code_verifier_criteria_policy),
        cmocka_unit_test(shared_instruction_following_counts),
        cmocka_unit_test(verl_healthbench_equals_healthbench),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
