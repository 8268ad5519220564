/* test_rubric.c — rubric data: every format normalised as documented, every
 * error path with its exact one-line message, --skip-bad counting, the shared
 * real data loaded whole, and the native round trip.
 *
 * The expected counts for the shared data were computed independently with
 * Python's json module (not with rgsd):
 *   for f in files: n = lines; c = Σ len(rubrics|rubric); neg = Σ (points|weight) < 0 */
#include "test_util.h"

#include <math.h>

#include "base/error.h"
#include "rubric/rubric.h"

static void parse_ok(const char *json, rg_example *ex) {
    if (rg_example_parse(json, "t.jsonl", 7, ex) != RG_OK) fail_msg("unexpected error: %s", rg_errmsg());
}

static void expect_error(const char *json, const char *message) {
    rg_example ex;
    assert_int_equal(rg_example_parse(json, "t.jsonl", 7, &ex), RG_ERR);
    assert_string_equal(rg_errmsg(), message);
    assert_null(ex.rubric);
    assert_null(ex.messages);
}

/* ---- formats ----------------------------------------------------------- */

static void healthbench_multi_turn(void **state) {
    (void)state;
    rg_example ex;
    parse_ok("{\"prompt_id\": \"p1\", \"prompt\": [{\"role\": \"system\", \"content\": \"Be kind.\"},"
             "{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello\"},"
             "{\"role\": \"user\", \"content\": \"Cramps?\"}],"
             "\"rubrics\": [{\"criterion\": \"Asks about duration\", \"points\": 5, \"tags\": [\"axis:completeness\"]},"
             "{\"criterion\": \"Recommends opioids\", \"points\": -7, \"tags\": [\"axis:accuracy\", \"level:example\"]}],"
             "\"example_tags\": [\"theme:context_seeking\"],"
             "\"ideal_completions_data\": {\"ideal_completion\": \"Rest and fluids.\"}}",
             &ex);
    assert_int_equal(ex.format, RG_FORMAT_HEALTHBENCH);
    assert_string_equal(ex.id, "p1");
    assert_int_equal(ex.nmessages, 4);
    assert_int_equal(ex.messages[0].role, RG_ROLE_SYSTEM);
    assert_int_equal(ex.messages[2].role, RG_ROLE_ASSISTANT);
    assert_string_equal(ex.messages[3].content, "Cramps?");
    assert_int_equal(ex.ncriteria, 2);
    assert_string_equal(ex.rubric[1].text, "Recommends opioids");
    assert_true(ex.rubric[1].weight == -7);
    assert_int_equal(ex.rubric[1].polarity, RG_POLARITY_NEGATIVE);
    assert_int_equal(ex.rubric[1].ntags, 2);
    assert_string_equal(ex.rubric[1].tags[1], "level:example");
    assert_int_equal(ex.ntags, 1);
    assert_string_equal(ex.tags[0], "theme:context_seeking");
    assert_string_equal(ex.reference, "Rest and fluids.");
    assert_int_equal(ex.line, 7);
    rg_example_free(&ex);
}

static void rubrichub_three_rubric_locations(void **state) {
    (void)state;
    const char *lines[3] = {
        "{\"prompt\": [{\"role\": \"user\", \"content\": \"Q\"}], \"data_source\": \"Medical\","
        " \"rubrics\": [{\"criterion\": \"C\", \"points\": 9}]}",
        "{\"prompt\": [{\"role\": \"user\", \"content\": \"Q\"}], \"Rubrics\": [{\"criterion\": \"C\", \"points\": 9}]}",
        "{\"prompt\": [{\"role\": \"user\", \"content\": \"Q\"}], \"reward_model\": {\"style\": \"rubric\","
        " \"rubrics\": [{\"criterion\": \"C\", \"points\": 9}]}}",
    };
    for (int i = 0; i < 3; i++) {
        rg_example ex;
        parse_ok(lines[i], &ex);
        assert_int_equal(ex.format, RG_FORMAT_RUBRICHUB);
        assert_string_equal(ex.id, "t.jsonl:7"); /* no id in the data: source:line */
        assert_int_equal(ex.ncriteria, 1);
        assert_string_equal(ex.rubric[0].text, "C");
        assert_true(ex.rubric[0].weight == 9);
        assert_int_equal(ex.rubric[0].polarity, RG_POLARITY_POSITIVE);
        if (i == 0) {
            assert_int_equal(ex.ntags, 1);
            assert_string_equal(ex.tags[0], "data_source:Medical");
        }
        rg_example_free(&ex);
    }
}

static void rar_polarity_labels_and_reference(void **state) {
    (void)state;
    rg_example ex;
    parse_ok("{\"uid\": \"med-1\", \"domain\": \"rar_medicine\", \"question\": \"Which drug?\","
             " \"reference_answer\": \"Aspirin.\", \"rubric\": ["
             "{\"title\": \"Names drug\", \"description\": \"Essential Criteria: Names aspirin.\", \"weight\": 5},"
             "{\"title\": \"Avoids X\", \"description\": \"Does not recommend warfarin.\", \"weight\": -2,"
             " \"category\": \"Pitfall\", \"polarity\": \"positive\"},"
             "{\"title\": \"Omits dose\", \"description\": \"Fails to give a dose.\", \"weight\": -1,"
             " \"category\": \"Pitfall\", \"polarity\": \"negative\"},"
             "{\"title\": \"Only a title\", \"weight\": 2, \"category\": \"Optional\"}]}",
             &ex);
    assert_int_equal(ex.format, RG_FORMAT_RAR);
    assert_string_equal(ex.id, "med-1");
    assert_int_equal(ex.nmessages, 1);
    assert_int_equal(ex.messages[0].role, RG_ROLE_USER);
    assert_string_equal(ex.messages[0].content, "Which drug?");
    assert_string_equal(ex.reference, "Aspirin.");
    /* The "Essential Criteria: " label is cut and becomes the category tag. */
    assert_string_equal(ex.rubric[0].text, "Names aspirin.");
    assert_string_equal(ex.rubric[0].tags[0], "category:essential");
    /* A pitfall written as the good behaviour keeps its text and weight and
     * gets polarity positive: its penalty applies when it is NOT met. */
    assert_string_equal(ex.rubric[1].text, "Does not recommend warfarin.");
    assert_true(ex.rubric[1].weight == -2);
    assert_int_equal(ex.rubric[1].polarity, RG_POLARITY_POSITIVE);
    assert_true(rg_criterion_is_desirable(&ex.rubric[1]));
    assert_int_equal(rg_criterion_applies(&ex.rubric[1], 1), 0);
    assert_int_equal(rg_criterion_applies(&ex.rubric[1], 0), 1);
    assert_string_equal(ex.rubric[1].tags[0], "category:pitfall");
    assert_true(rg_criterion_grader_points(&ex.rubric[1]) == 2); /* shown to a grader as a good behaviour */
    assert_true(rg_criterion_grader_points(&ex.rubric[0]) == 5);
    /* A pitfall written as the bad behaviour: HealthBench semantics. */
    assert_int_equal(ex.rubric[2].polarity, RG_POLARITY_NEGATIVE);
    assert_false(rg_criterion_is_desirable(&ex.rubric[2]));
    assert_int_equal(rg_criterion_applies(&ex.rubric[2], 1), 1);
    assert_int_equal(rg_criterion_applies(&ex.rubric[2], 0), 0);
    assert_true(rg_criterion_grader_points(&ex.rubric[2]) == -1);
    /* No description: the title is the criterion. */
    assert_string_equal(ex.rubric[3].text, "Only a title");
    assert_string_equal(ex.tags[0], "domain:rar_medicine");
    rg_example_free(&ex);
}

static void researchrubrics_string_prompt_and_axis(void **state) {
    (void)state;
    rg_example ex;
    parse_ok("{\"sample_id\": \"683a\", \"domain\": \"AI & ML\", \"prompt\": \"Write a report.\","
             " \"rubrics\": [{\"criterion\": \"Covers X\", \"weight\": 4.0, \"axis\": \"Explicit Criteria\"},"
             "{\"criterion\": \"Uses deterministic language for speculation\", \"weight\": -4.0,"
             " \"axis\": \"Implicit Criteria\"}]}",
             &ex);
    assert_int_equal(ex.format, RG_FORMAT_RESEARCHRUBRICS);
    assert_string_equal(ex.id, "683a");
    assert_int_equal(ex.nmessages, 1);
    assert_string_equal(ex.messages[0].content, "Write a report.");
    assert_string_equal(ex.rubric[0].tags[0], "axis:Explicit Criteria");
    assert_int_equal(ex.rubric[1].polarity, RG_POLARITY_NEGATIVE);
    assert_string_equal(ex.tags[0], "domain:AI & ML");
    rg_example_free(&ex);
}

static void native_with_match_polarity_and_numeric_id(void **state) {
    (void)state;
    rg_example ex;
    parse_ok("{\"id\": 42, \"messages\": [{\"role\": \"user\", \"content\": \"Plan a trip\"}],"
             " \"rubric\": [{\"text\": \"Mentions a budget\", \"weight\": 3, \"match\": [\"(?i)budget\"],"
             " \"tags\": [\"kind:essential\"]},"
             "{\"text\": \"Avoids jargon\", \"weight\": -1, \"polarity\": \"positive\"}],"
             " \"tags\": [\"split:train\"], \"reference\": \"Go by train.\"}",
             &ex);
    assert_int_equal(ex.format, RG_FORMAT_NATIVE);
    assert_string_equal(ex.id, "42");
    assert_int_equal(ex.rubric[0].nmatch, 1);
    assert_string_equal(ex.rubric[0].match[0], "(?i)budget");
    assert_int_equal(ex.rubric[1].polarity, RG_POLARITY_POSITIVE);
    assert_string_equal(ex.reference, "Go by train.");
    assert_string_equal(ex.tags[0], "split:train");
    rg_example_free(&ex);
}

/* ---- errors ------------------------------------------------------------ */

static void errors_name_file_line_and_field(void **state) {
    (void)state;
    const char *hb_head = "{\"prompt\": [{\"role\": \"user\", \"content\": \"Q\"}], \"rubrics\": [";
    char json[512];

    snprintf(json, sizeof json, "%s{\"criterion\": \"A\", \"points\": 1}, {\"criterion\": \"B\", \"points\": \"5\"}]}",
             hb_head);
    expect_error(json, "t.jsonl:7: rubrics[1].points: expected a number, got string (read as RubricHub/verl)");

    snprintf(json, sizeof json, "%s{\"points\": 1}]}", hb_head);
    expect_error(json, "t.jsonl:7: rubrics[0].criterion: expected a string, got nothing (read as RubricHub/verl)");

    snprintf(json, sizeof json, "%s{\"criterion\": \"  \", \"points\": 1}]}", hb_head);
    expect_error(json, "t.jsonl:7: rubrics[0].criterion: empty (read as RubricHub/verl)");

    snprintf(json, sizeof json, "%s]}", hb_head);
    expect_error(json, "t.jsonl:7: rubrics: empty rubric (at least one criterion is needed) (read as RubricHub/verl)");

    snprintf(json, sizeof json, "%s{\"criterion\": \"A\", \"points\": 1e999}]}", hb_head);
    expect_error(json, "t.jsonl:7: rubrics[0].points: not a finite number (read as RubricHub/verl)");

    snprintf(json, sizeof json, "%s{\"criterion\": \"A\", \"points\": 1, \"tags\": [\"a\", 3]}]}", hb_head);
    expect_error(json, "t.jsonl:7: rubrics[0].tags[1]: expected a string, got number (read as HealthBench)");

    snprintf(json, sizeof json, "%s{\"criterion\": \"A\", \"points\": 1, \"tags\": [\"a\", \"a\"]}]}", hb_head);
    expect_error(json, "t.jsonl:7: rubrics[0].tags[1]: duplicate tag \"a\" (read as HealthBench)");

    snprintf(json, sizeof json, "%s5]}", hb_head);
    expect_error(json, "t.jsonl:7: rubrics[0]: expected an object, got number (read as RubricHub/verl)");

    expect_error("{\"prompt\": [{\"role\": \"user\", \"content\": \"Q\"}], \"rubrics\": {}}",
                 "t.jsonl:7: rubrics: expected an array of criteria, got object (read as RubricHub/verl)");
    expect_error("{\"prompt\": [{\"role\": \"user\", \"content\": \"Q\"}]}",
                 "t.jsonl:7: rubrics: missing (RubricHub wants rubrics, Rubrics or reward_model.rubrics) (read as RubricHub/verl)");
    expect_error("{\"prompt\": [{\"role\": \"tool\", \"content\": \"Q\"}], \"rubrics\": []}",
                 "t.jsonl:7: prompt[0].role: unknown role \"tool\" (known: system, user, assistant) (read as RubricHub/verl)");
    expect_error("{\"prompt\": [{\"role\": \"user\", \"content\": 3}], \"rubrics\": []}",
                 "t.jsonl:7: prompt[0].content: expected a string, got number (read as RubricHub/verl)");
    expect_error("{\"prompt\": [], \"rubrics\": []}", "t.jsonl:7: prompt: no messages (read as RubricHub/verl)");
    expect_error("{\"prompt\": [{\"role\": \"user\", \"content\": \"Q\"}, {\"role\": \"assistant\", \"content\": \"A\"}],"
                 " \"rubrics\": []}",
                 "t.jsonl:7: prompt[1]: the conversation must end with a user message (got assistant) (read as RubricHub/verl)");
    expect_error("{\"prompt\": [{\"role\": \"user\", \"content\": \"bad \xff byte\"}], \"rubrics\": []}",
                 "t.jsonl:7: prompt[0].content: invalid UTF-8 at byte 4 (read as RubricHub/verl)");
    expect_error("{\"prompt\": 5, \"rubrics\": []}",
                 "t.jsonl:7: prompt: expected an array of messages (HealthBench, RubricHub) or a string "
                 "(ResearchRubrics), got number");
    expect_error("{\"question\": \"Q\", \"rubric\": [{\"description\": \"D\", \"weight\": -1, \"polarity\": \"bad\"}]}",
                 "t.jsonl:7: rubric[0].polarity: expected \"positive\" or \"negative\", got \"bad\" (read as RaR)");
    expect_error("{\"question\": \"Q\", \"rubric\": [{\"weight\": 1}]}",
                 "t.jsonl:7: rubric[0].description: missing (and no title) (read as RaR)");
    expect_error("{\"messages\": [{\"role\": \"user\", \"content\": \"Q\"}],"
                 " \"rubric\": [{\"text\": \"T\", \"weight\": 1, \"match\": [\"(unclosed\"]}]}",
                 "t.jsonl:7: rubric[0].match[0]: invalid PCRE2 pattern: missing closing parenthesis at offset 9 (read as rgsd native)");
    /* Data quoted in a message cannot break it over lines or carry bad bytes. */
    expect_error("{\"prompt\": [{\"role\": \"us\\ner\\u00e9\xff\", \"content\": \"Q\"}], \"rubrics\": []}",
                 "t.jsonl:7: prompt[0].role: unknown role \"us?er\u00e9?\" (known: system, user, assistant) (read as RubricHub/verl)");
    expect_error("{\"a\\nb\": 1}", "t.jsonl:7: unknown format (keys: a?b); known: rgsd native {messages, rubric}, "
                 "HealthBench {prompt: [messages], rubrics: [{criterion, points, tags}]}, RubricHub/verl {prompt: "
                 "[messages], rubrics | Rubrics | reward_model.rubrics}, RaR {question, rubric: [{description, "
                 "weight}]}, ResearchRubrics {prompt: string, rubrics: [{criterion, weight, axis}]}");
    expect_error("[1, 2]", "t.jsonl:7: expected a JSON object, got array");
    expect_error("{\"input\": \"Q\", \"answer\": \"A\"}",
                 "t.jsonl:7: unknown format (keys: input, answer); known: rgsd native {messages, rubric}, "
                 "HealthBench {prompt: [messages], rubrics: [{criterion, points, tags}]}, RubricHub/verl {prompt: "
                 "[messages], rubrics | Rubrics | reward_model.rubrics}, RaR {question, rubric: [{description, "
                 "weight}]}, ResearchRubrics {prompt: string, rubrics: [{criterion, weight, axis}]}");
    expect_error("{\"a\": ", "t.jsonl:7: invalid JSON near column 7");
}

/* ---- files ------------------------------------------------------------- */

static char *write_fixture(const char *text) {
    char *dir = test_tmpdir();
    char *path = malloc(256);
    snprintf(path, 256, "%s/mixed.jsonl", dir);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    free(dir);
    return path;
}

/* The trainer's mode: an empty rubric is a valid example with no criteria
 * (it skips and counts it), while any other defect is still an error. */
static void empty_rubric_allowed_on_request(void **state) {
    (void)state;
    cJSON *root = cJSON_Parse("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"rubric\":[]}");
    assert_non_null(root);
    rg_example ex;
    assert_int_equal(rg_example_from_json(root, "t.jsonl", 3, &ex), RG_ERR);
    assert_string_equal(rg_errmsg(), "t.jsonl:3: rubric: empty rubric (at least one criterion is needed) (read as rgsd native)");
    assert_int_equal(rg_example_from_json_opts(root, "t.jsonl", 3, 1, &ex), RG_OK);
    assert_int_equal(ex.ncriteria, 0);
    assert_int_equal(ex.nmessages, 1);
    assert_string_equal(ex.messages[0].content, "hi");
    rg_example_free(&ex);
    cJSON_Delete(root);
    root = cJSON_Parse("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"rubric\":{}}");
    assert_int_equal(rg_example_from_json_opts(root, "t.jsonl", 4, 1, &ex), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "t.jsonl:4: rubric: expected an array"));
    cJSON_Delete(root);
}

static void remove_fixture(char *path) {
    unlink(path);
    *strrchr(path, '/') = '\0';
    rmdir(path);
    free(path);
}

static const char *mixed_file =
    "{\"messages\": [{\"role\": \"user\", \"content\": \"A\"}], \"rubric\": [{\"text\": \"T\", \"weight\": 1}]}\n"
    "{\"question\": \"B\", \"rubric\": [{\"description\": \"D\", \"weight\": 5}]}\n"
    "\n"
    "{\"prompt\": [{\"role\": \"user\", \"content\": \"C\"}], \"rubrics\": [{\"criterion\": \"X\", \"points\": \"9\"}]}\n"
    "not json\n"
    "{\"prompt\": \"D\", \"rubrics\": [{\"criterion\": \"Y\", \"weight\": 2, \"axis\": \"a\"}]}\n";

static void a_file_may_mix_formats_and_bad_lines_stop_or_skip(void **state) {
    (void)state;
    char *path = write_fixture(mixed_file);
    rg_dataset ds;
    /* Without skip_bad the first bad line (4) is the error. */
    assert_int_equal(rg_rubric_load_all(path, NULL, &ds), RG_ERR);
    char expected[512];
    snprintf(expected, sizeof expected, "%s:4: rubrics[0].points: expected a number, got string (read as RubricHub/verl)", path);
    assert_string_equal(rg_errmsg(), expected);
    assert_null(ds.examples);
    /* With skip_bad lines 4 and 5 are skipped and counted. */
    rg_rubric_options options = {.skip_bad = 1};
    assert_int_equal(rg_rubric_load_all(path, &options, &ds), RG_OK);
    assert_int_equal(ds.count, 3);
    assert_int_equal(ds.skipped, 2);
    assert_int_equal(ds.examples[0].format, RG_FORMAT_NATIVE);
    assert_int_equal(ds.examples[1].format, RG_FORMAT_RAR);
    assert_int_equal(ds.examples[2].format, RG_FORMAT_RESEARCHRUBRICS);
    assert_int_equal(ds.examples[2].line, 6);
    rg_dataset_free(&ds);
    /* The streaming reader reports the first skip reason. */
    rg_rubric_reader *r;
    assert_int_equal(rg_rubric_open(&r, path, &options), RG_OK);
    rg_example ex;
    int n = 0;
    while (rg_rubric_next(r, &ex) == 1) {
        n++;
        rg_example_free(&ex);
    }
    assert_int_equal(n, 3);
    assert_int_equal(rg_rubric_skipped(r), 2);
    assert_string_equal(rg_rubric_first_skip_reason(r), expected);
    rg_rubric_close(r);
    remove_fixture(path);
}

/* Structural equality of two examples (for the round trip). */
static void assert_examples_equal(const rg_example *a, const rg_example *b) {
    assert_string_equal(a->id, b->id);
    assert_int_equal(a->nmessages, b->nmessages);
    for (size_t i = 0; i < a->nmessages; i++) {
        assert_int_equal(a->messages[i].role, b->messages[i].role);
        assert_string_equal(a->messages[i].content, b->messages[i].content);
    }
    assert_int_equal(a->ncriteria, b->ncriteria);
    for (size_t i = 0; i < a->ncriteria; i++) {
        const rg_criterion *x = &a->rubric[i], *y = &b->rubric[i];
        assert_string_equal(x->text, y->text);
        assert_true(x->weight == y->weight);
        assert_int_equal(x->polarity, y->polarity);
        assert_int_equal(x->ntags, y->ntags);
        for (size_t t = 0; t < x->ntags; t++) assert_string_equal(x->tags[t], y->tags[t]);
        assert_int_equal(x->nmatch, y->nmatch);
        for (size_t t = 0; t < x->nmatch; t++) assert_string_equal(x->match[t], y->match[t]);
    }
    assert_int_equal(a->ntags, b->ntags);
    for (size_t t = 0; t < a->ntags; t++) assert_string_equal(a->tags[t], b->tags[t]);
    if (a->reference || b->reference) {
        assert_non_null(a->reference);
        assert_non_null(b->reference);
        assert_string_equal(a->reference, b->reference);
    }
}

typedef struct {
    const char *path;
    rg_format format;
    size_t examples, criteria, negative, inverted, with_reference;
} shared_file;

static void loads_all_shared_data_and_round_trips(void **state) {
    (void)state;
    const char *shared = test_shared_dir();
    if (!shared) {
        fprintf(stderr, "skipped: shared data folder not found (set RGSD_SHARED)\n");
        skip();
    }
    /* Counts from Python's json module; `inverted` = RaR items with weight < 0
     * and polarity "positive" (medicine: 1, science: 2). */
    const shared_file files[] = {
        {"data/healthbench/healthbench_val_500.jsonl", RG_FORMAT_HEALTHBENCH, 500, 5965, 1859, 0, 0},
        {"data/rubrichub/rurl-medical-sample-100.jsonl", RG_FORMAT_RUBRICHUB, 100, 2674, 0, 0, 0},
        {"data/rubrichub/rurl-science-sample-100.jsonl", RG_FORMAT_RUBRICHUB, 100, 2335, 0, 0, 0},
        {"data/rar/rar_medicine_shipped.first3.jsonl", RG_FORMAT_RAR, 3, 29, 4, 1, 3},
        {"data/rar/rar_science_shipped.first3.jsonl", RG_FORMAT_RAR, 3, 22, 2, 2, 3},
    };
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", shared, files[f].path);
        SKIP_UNLESS_FILE(path, "shared rubric data");
        rg_dataset ds;
        if (rg_rubric_load_all(path, NULL, &ds)) fail_msg("%s", rg_errmsg());
        assert_int_equal(ds.count, files[f].examples);
        size_t criteria = 0, negative = 0, inverted = 0, with_reference = 0;
        for (size_t e = 0; e < ds.count; e++) {
            const rg_example *ex = &ds.examples[e];
            assert_int_equal(ex->format, files[f].format);
            assert_int_equal(ex->messages[ex->nmessages - 1].role, RG_ROLE_USER);
            criteria += ex->ncriteria;
            with_reference += ex->reference != NULL;
            for (size_t i = 0; i < ex->ncriteria; i++) {
                negative += ex->rubric[i].weight < 0;
                inverted += ex->rubric[i].weight < 0 && ex->rubric[i].polarity == RG_POLARITY_POSITIVE;
            }
            /* native JSON → parse → the same example */
            cJSON *json = rg_example_to_json(ex);
            assert_non_null(json);
            char *text = cJSON_PrintUnformatted(json);
            cJSON_Delete(json);
            rg_example back;
            if (rg_example_parse(text, "roundtrip", 1, &back)) fail_msg("%s", rg_errmsg());
            assert_int_equal(back.format, RG_FORMAT_NATIVE);
            assert_examples_equal(ex, &back);
            rg_example_free(&back);
            free(text);
        }
        assert_int_equal(criteria, files[f].criteria);
        assert_int_equal(negative, files[f].negative);
        assert_int_equal(inverted, files[f].inverted);
        assert_int_equal(with_reference, files[f].with_reference);
        rg_dataset_free(&ds);
    }
    /* The first HealthBench conversation has five turns, user last. */
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", shared, files[0].path);
    rg_rubric_reader *r;
    assert_int_equal(rg_rubric_open(&r, path, NULL), RG_OK);
    rg_example ex;
    assert_int_equal(rg_rubric_next(r, &ex), 1);
    assert_int_equal(ex.nmessages, 5);
    assert_int_equal(ex.messages[1].role, RG_ROLE_ASSISTANT);
    assert_string_equal(ex.messages[4].content, "We also have the total calcium result from last week: 9.6 mg/dL");
    assert_true(ex.rubric[0].weight == 8);
    rg_example_free(&ex);
    rg_rubric_close(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(healthbench_multi_turn),
        cmocka_unit_test(rubrichub_three_rubric_locations),
        cmocka_unit_test(rar_polarity_labels_and_reference),
        cmocka_unit_test(researchrubrics_string_prompt_and_axis),
        cmocka_unit_test(native_with_match_polarity_and_numeric_id),
        cmocka_unit_test(errors_name_file_line_and_field),
        cmocka_unit_test(empty_rubric_allowed_on_request),
        cmocka_unit_test(a_file_may_mix_formats_and_bad_lines_stop_or_skip),
        cmocka_unit_test(loads_all_shared_data_and_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
