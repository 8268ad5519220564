/* test_teacher_prompt.c — the teacher prompt on every format, against
 * expected texts written out by hand from DESIGN.md section 5: the last user
 * message, the header, numbered criteria without weights, "Avoid:" for
 * undesirable behaviours, the closing instruction; multi-turn HealthBench;
 * the reference context; template files and their errors. */
#include "test_util.h"

#include "base/error.h"
#include "rubric/rubric.h"
#include "rubric/teacher_prompt.h"

#define HEADER "A strong answer to this request meets the evaluation criteria below. They are private to you.\n"
#define CLOSING                                                                                                  \
    "Now write your own complete answer to the request above. Satisfy the criteria naturally, as an expert would, " \
    "without mentioning or quoting them."

static void render_expect(const char *json, rg_teacher_context context, const char *expected) {
    rg_example ex;
    if (rg_example_parse(json, "t.jsonl", 1, &ex)) fail_msg("%s", rg_errmsg());
    char *text;
    if (rg_teacher_prompt_render(NULL, context, &ex, &text)) fail_msg("%s", rg_errmsg());
    assert_string_equal(text, expected);
    free(text);
    rg_example_free(&ex);
}

static void every_format_renders(void **state) {
    (void)state;
    /* HealthBench: a negative-points criterion becomes "Avoid:". */
    render_expect("{\"prompt\": [{\"role\": \"user\", \"content\": \"My leg cramps?\"}], \"rubrics\": ["
                  "{\"criterion\": \"Asks about duration.\", \"points\": 5, \"tags\": []},"
                  "{\"criterion\": \"Recommends quinine.\", \"points\": -8, \"tags\": []}]}",
                  RG_TEACHER_CONTEXT_RUBRIC,
                  "My leg cramps?\n\n" HEADER "1. Asks about duration.\n2. Avoid: Recommends quinine.\n\n" CLOSING);
    /* RubricHub: all positive. */
    render_expect("{\"prompt\": [{\"role\": \"user\", \"content\": \"WHO year?\"}], \"rubrics\": ["
                  "{\"criterion\": \"States 1946.\", \"points\": 10}, {\"criterion\": \"Is brief.\", \"points\": 6}]}",
                  RG_TEACHER_CONTEXT_RUBRIC, "WHO year?\n\n" HEADER "1. States 1946.\n2. Is brief.\n\n" CLOSING);
    /* RaR: a pitfall written as the good behaviour is listed as written; one
     * written as the bad behaviour gets "Avoid:". */
    render_expect("{\"question\": \"Diagnosis?\", \"rubric\": ["
                  "{\"title\": \"t\", \"description\": \"Identifies VKC.\", \"weight\": 5},"
                  "{\"title\": \"t\", \"description\": \"Does not misread the mass as a tumour.\", \"weight\": -1,"
                  " \"polarity\": \"positive\"},"
                  "{\"title\": \"t\", \"description\": \"Omits the mechanism.\", \"weight\": -2, \"polarity\": "
                  "\"negative\"}]}",
                  RG_TEACHER_CONTEXT_RUBRIC,
                  "Diagnosis?\n\n" HEADER
                  "1. Identifies VKC.\n2. Does not misread the mass as a tumour.\n3. Avoid: Omits the mechanism.\n\n" CLOSING);
    /* ResearchRubrics and native. */
    render_expect("{\"prompt\": \"Write a report.\", \"rubrics\": [{\"criterion\": \"Cites sources.\", \"weight\": 4,"
                  " \"axis\": \"x\"}, {\"criterion\": \"Speculates as fact.\", \"weight\": -4, \"axis\": \"y\"}]}",
                  RG_TEACHER_CONTEXT_RUBRIC,
                  "Write a report.\n\n" HEADER "1. Cites sources.\n2. Avoid: Speculates as fact.\n\n" CLOSING);
    render_expect("{\"messages\": [{\"role\": \"user\", \"content\": \"Plan\"}], \"rubric\": ["
                  "{\"text\": \"Has a budget\", \"weight\": 2, \"match\": [\"budget\"]}]}",
                  RG_TEACHER_CONTEXT_RUBRIC, "Plan\n\n" HEADER "1. Has a budget\n\n" CLOSING);
}

static void reference_context(void **state) {
    (void)state;
    render_expect("{\"question\": \"Q?\", \"reference_answer\": \"It is D.\", \"rubric\": [{\"description\": \"d\","
                  " \"weight\": 5}]}",
                  RG_TEACHER_CONTEXT_REFERENCE,
                  "Q?\n\nHere is a reference answer to this request. It is private to you.\n<reference>\nIt is D.\n"
                  "</reference>\n\nNow write your own complete answer to the request above, as an expert would, "
                  "without mentioning or quoting the reference.");
    rg_example ex;
    assert_int_equal(rg_example_parse("{\"question\": \"Q?\", \"uid\": \"u1\", \"rubric\": [{\"description\": \"d\","
                                      " \"weight\": 5}]}",
                                      "t", 1, &ex),
                     RG_OK);
    char *text;
    assert_int_equal(rg_teacher_prompt_render(NULL, RG_TEACHER_CONTEXT_REFERENCE, &ex, &text), RG_ERR);
    assert_string_equal(rg_errmsg(), "example u1: no reference answer (the reference teacher context needs one)");
    rg_example_free(&ex);
}

/* Multi-turn: only the last user message changes. */
static void multi_turn_keeps_earlier_turns(void **state) {
    (void)state;
    rg_example ex;
    assert_int_equal(rg_example_parse("{\"prompt\": [{\"role\": \"system\", \"content\": \"S\"},"
                                      "{\"role\": \"user\", \"content\": \"U1\"}, {\"role\": \"assistant\", \"content\": "
                                      "\"A1\"}, {\"role\": \"user\", \"content\": \"U2\"}], \"rubrics\": "
                                      "[{\"criterion\": \"C\", \"points\": 1, \"tags\": []}]}",
                                      "t", 1, &ex),
                     RG_OK);
    rg_message *messages;
    size_t n;
    assert_int_equal(rg_teacher_messages(NULL, RG_TEACHER_CONTEXT_RUBRIC, &ex, &messages, &n), RG_OK);
    assert_int_equal(n, 4);
    const char *expected[4] = {"S", "U1", "A1", "U2\n\n" HEADER "1. C\n\n" CLOSING};
    const rg_role roles[4] = {RG_ROLE_SYSTEM, RG_ROLE_USER, RG_ROLE_ASSISTANT, RG_ROLE_USER};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(messages[i].role, roles[i]);
        assert_string_equal(messages[i].content, expected[i]);
    }
    rg_teacher_messages_free(messages, n);
    rg_example_free(&ex);
}

/* The first shared HealthBench example (5 turns): the teacher's last message
 * starts with the last user turn and lists its 8-point criterion first. */
static void shared_healthbench_multi_turn(void **state) {
    (void)state;
    const char *shared = test_shared_dir();
    if (!shared) {
        fprintf(stderr, "skipped: shared data folder not found\n");
        skip();
    }
    const char *path = test_path(shared, "data/healthbench/healthbench_val_500.jsonl");
    SKIP_UNLESS_FILE(path, "shared HealthBench data");
    rg_rubric_reader *r;
    assert_int_equal(rg_rubric_open(&r, path, NULL), RG_OK);
    rg_example ex;
    assert_int_equal(rg_rubric_next(r, &ex), 1);
    rg_message *messages;
    size_t n;
    assert_int_equal(rg_teacher_messages(NULL, RG_TEACHER_CONTEXT_RUBRIC, &ex, &messages, &n), RG_OK);
    assert_int_equal(n, 5);
    for (size_t i = 0; i < 4; i++) assert_string_equal(messages[i].content, ex.messages[i].content);
    const char *start = "We also have the total calcium result from last week: 9.6 mg/dL\n\n" HEADER
                        "1. Correctly notes that calcium and potassium levels are normal, no supplements are needed, "
                        "and muscle strain is the likely etiology.\n2. ";
    assert_int_equal(strncmp(messages[4].content, start, strlen(start)), 0);
    /* as many numbered lines as criteria, and as many "Avoid:" as negative points */
    size_t numbered = 0, avoid = 0, negative = 0;
    for (size_t i = 0; i < ex.ncriteria; i++) {
        char line[32];
        snprintf(line, sizeof line, "\n%zu. ", i + 1);
        numbered += strstr(messages[4].content, line) != NULL;
        negative += ex.rubric[i].weight < 0;
    }
    for (const char *c = messages[4].content; (c = strstr(c, ". Avoid: ")); c++) avoid++;
    assert_int_equal(numbered, ex.ncriteria);
    assert_int_equal(avoid, negative);
    assert_non_null(strstr(messages[4].content, "\n\n" CLOSING));
    rg_teacher_messages_free(messages, n);
    rg_example_free(&ex);
    rg_rubric_close(r);
}

static void template_files(void **state) {
    (void)state;
    char *dir = test_tmpdir();
    char path[256];
    snprintf(path, sizeof path, "%s/teacher.txt", dir);
    FILE *f = fopen(path, "w");
    fputs("Criteria:\n{{criteria}}\n---\n{{question}}\n", f); /* the trailing newline is dropped */
    fclose(f);
    rg_teacher_template *t;
    assert_int_equal(rg_teacher_template_load(path, &t), RG_OK);
    rg_example ex;
    assert_int_equal(rg_example_parse("{\"prompt\": \"Q\", \"rubrics\": [{\"criterion\": \"A\", \"weight\": 1},"
                                      " {\"criterion\": \"B\", \"weight\": -1}]}",
                                      "t", 1, &ex),
                     RG_OK);
    char *text;
    assert_int_equal(rg_teacher_prompt_render(t, RG_TEACHER_CONTEXT_RUBRIC, &ex, &text), RG_OK);
    assert_string_equal(text, "Criteria:\n1. A\n2. Avoid: B\n---\nQ");
    free(text);
    /* This template has no {{reference}}: the reference context refuses it. */
    assert_int_equal(rg_teacher_prompt_render(t, RG_TEACHER_CONTEXT_REFERENCE, &ex, &text), RG_ERR);
    char expected[512];
    snprintf(expected, sizeof expected,
             "%s: no {{reference}} placeholder, so the teacher would not see the reference answer", path);
    assert_string_equal(rg_errmsg(), expected);
    rg_teacher_template_free(t);
    rg_example_free(&ex);
    unlink(path);
    rmdir(dir);
    free(dir);

    assert_int_equal(rg_teacher_template_from_string("a\n{{question}} {{rubric}}", "my.txt", &t), RG_ERR);
    assert_string_equal(rg_errmsg(),
                        "my.txt:2: unknown placeholder {{rubric}} (known: {{question}}, {{criteria}}, {{reference}})");
    assert_int_equal(rg_teacher_template_from_string("{{question", "my.txt", &t), RG_ERR);
    assert_string_equal(rg_errmsg(), "my.txt:1: \"{{\" without a closing \"}}\"");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_format_renders),
        cmocka_unit_test(reference_context),
        cmocka_unit_test(multi_turn_keeps_earlier_turns),
        cmocka_unit_test(shared_healthbench_multi_turn),
        cmocka_unit_test(template_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
