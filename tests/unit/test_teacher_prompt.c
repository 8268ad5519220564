/* test_teacher_prompt.c — the teacher prompt on every format, against
 * expected texts written out by hand from DESIGN.md section 5: the last user
 * message, the header, numbered criteria without weights, "Avoid:" for
 * undesirable behaviours, the closing instruction; multi-turn HealthBench;
 * the reference context; template files and their errors; the built-in
 * "paper" template (the RGSD paper's Figure 10 wording) and --rubric-in
 * system (the rubric block in the system message, the user turns plain). */
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

#define PAPER_HEADER "Hidden evaluation criteria that a good response should satisfy:\n"
#define PAPER_CLOSING                                                                                            \
    "After understanding these evaluation criteria, provide your own thorough response to the problem. Address " \
    "the criteria naturally without explicitly referencing them."
#define SYSTEM_HEADER                                                                                            \
    "A strong answer to the user's request meets the evaluation criteria below. They are private to you.\n"
#define SYSTEM_CLOSING                                                                                           \
    "Write your own complete answer to the user's request. Satisfy the criteria naturally, as an expert would, "  \
    "without mentioning or quoting them."
#define TWO_CRITERIA                                                                                             \
    "{\"prompt\": \"Q\", \"rubrics\": [{\"criterion\": \"A\", \"weight\": 3}, {\"criterion\": \"B\", \"weight\": -1}]}"

/* --teacher-template default | paper: the names, the paper's exact wording. */
static void builtin_templates(void **state) {
    (void)state;
    rg_teacher_template *t = (rg_teacher_template *)1;
    assert_int_equal(rg_teacher_template_open("default", &t), RG_OK);
    assert_null(t);
    assert_int_equal(rg_teacher_template_open("paper", &t), RG_OK);
    rg_example ex;
    assert_int_equal(rg_example_parse(TWO_CRITERIA, "t", 1, &ex), RG_OK);
    char *text;
    assert_int_equal(rg_teacher_prompt_render(t, RG_TEACHER_CONTEXT_RUBRIC, &ex, &text), RG_OK);
    assert_string_equal(text, "Q\n\n" PAPER_HEADER "1. A\n2. Avoid: B\n\n" PAPER_CLOSING);
    free(text);
    assert_string_equal(rg_teacher_paper_template(), "{{question}}\n\n" PAPER_HEADER "{{criteria}}\n\n" PAPER_CLOSING);
    /* the paper's prompt has no reference form */
    assert_int_equal(rg_teacher_prompt_render(t, RG_TEACHER_CONTEXT_REFERENCE, &ex, &text), RG_ERR);
    assert_string_equal(rg_errmsg(), "paper: no {{reference}} placeholder, so the teacher would not see the reference answer");
    rg_teacher_template_free(t);
    rg_example_free(&ex);
    assert_int_equal(rg_teacher_template_open("/nonexistent/teacher.txt", &t), RG_ERR);
    rg_rubric_in where;
    assert_int_equal(rg_rubric_in_parse("system", &where), RG_OK);
    assert_int_equal(where, RG_RUBRIC_IN_SYSTEM);
    assert_int_equal(rg_rubric_in_parse("user", &where), RG_OK);
    assert_int_equal(where, RG_RUBRIC_IN_USER);
    assert_int_equal(rg_rubric_in_parse("both", &where), RG_ERR);
    assert_string_equal(rg_errmsg(), "--rubric-in must be user or system (got 'both')");
}

/* One conversation under --rubric-in system: its messages' roles and texts. */
static void system_expect(const rg_teacher_template *t, rg_teacher_context context, const char *json,
                          const char *system, size_t n_expected, const rg_role *roles, const char *const *texts) {
    rg_example ex;
    if (rg_example_parse(json, "t.jsonl", 1, &ex)) fail_msg("%s", rg_errmsg());
    rg_message *messages;
    size_t n;
    if (rg_teacher_messages_in(t, context, RG_RUBRIC_IN_SYSTEM, system, &ex, &messages, &n)) fail_msg("%s", rg_errmsg());
    assert_int_equal(n, n_expected);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(messages[i].role, roles[i]);
        assert_string_equal(messages[i].content, texts[i]);
    }
    rg_teacher_messages_free(messages, n);
    rg_example_free(&ex);
}

static void rubric_in_system(void **state) {
    (void)state;
    const rg_role su[2] = {RG_ROLE_SYSTEM, RG_ROLE_USER};
    const char *block = SYSTEM_HEADER "1. A\n2. Avoid: B\n\n" SYSTEM_CLOSING;
    /* no system message: the block alone, in front; the user message plain */
    system_expect(NULL, RG_TEACHER_CONTEXT_RUBRIC, TWO_CRITERIA, NULL, 2, su, (const char *const[]){block, "Q"});
    /* --system: it first, then a blank line, then the block */
    char joined[1024];
    snprintf(joined, sizeof joined, "Be brief.\n\n%s", block);
    system_expect(NULL, RG_TEACHER_CONTEXT_RUBRIC, TWO_CRITERIA, "Be brief.", 2, su, (const char *const[]){joined, "Q"});
    /* the example's own system message wins over --system; every other turn unchanged */
    const rg_role four[4] = {RG_ROLE_SYSTEM, RG_ROLE_USER, RG_ROLE_ASSISTANT, RG_ROLE_USER};
    system_expect(NULL, RG_TEACHER_CONTEXT_RUBRIC,
                  "{\"prompt\": [{\"role\": \"system\", \"content\": \"S\"}, {\"role\": \"user\", \"content\": \"U1\"},"
                  " {\"role\": \"assistant\", \"content\": \"A1\"}, {\"role\": \"user\", \"content\": \"U2\"}],"
                  " \"rubrics\": [{\"criterion\": \"C\", \"points\": 1, \"tags\": []}]}",
                  "ignored", 4, four,
                  (const char *const[]){"S\n\n" SYSTEM_HEADER "1. C\n\n" SYSTEM_CLOSING, "U1", "A1", "U2"});
    /* the paper's block: its text without the question */
    rg_teacher_template *t;
    assert_int_equal(rg_teacher_template_open("paper", &t), RG_OK);
    system_expect(t, RG_TEACHER_CONTEXT_RUBRIC, TWO_CRITERIA, NULL, 2, su,
                  (const char *const[]){PAPER_HEADER "1. A\n2. Avoid: B\n\n" PAPER_CLOSING, "Q"});
    rg_teacher_template_free(t);
    /* a file template: {{question}} empty, the blank lines around the block trimmed */
    assert_int_equal(rg_teacher_template_from_string("{{question}}\n\nCriteria:\n{{criteria}}\n---\n{{question}}", "f",
                                                     &t),
                     RG_OK);
    system_expect(t, RG_TEACHER_CONTEXT_RUBRIC, TWO_CRITERIA, NULL, 2, su,
                  (const char *const[]){"Criteria:\n1. A\n2. Avoid: B\n---", "Q"});
    rg_teacher_template_free(t);
    /* the reference context's system wording */
    system_expect(NULL, RG_TEACHER_CONTEXT_REFERENCE,
                  "{\"question\": \"Q?\", \"reference_answer\": \"It is D.\", \"rubric\": [{\"description\": \"d\","
                  " \"weight\": 5}]}",
                  NULL, 2, su,
                  (const char *const[]){"Here is a reference answer to the user's request. It is private to you.\n"
                                        "<reference>\nIt is D.\n</reference>\n\nWrite your own complete answer to the "
                                        "user's request, as an expert would, without mentioning or quoting the "
                                        "reference.",
                                        "Q?"});
    /* user placement through the same entry point is rg_teacher_messages */
    rg_example ex;
    assert_int_equal(rg_example_parse(TWO_CRITERIA, "t", 1, &ex), RG_OK);
    rg_message *messages;
    size_t n;
    assert_int_equal(rg_teacher_messages_in(NULL, RG_TEACHER_CONTEXT_RUBRIC, RG_RUBRIC_IN_USER, "S", &ex, &messages, &n),
                     RG_OK);
    assert_int_equal(n, 1);
    assert_string_equal(messages[0].content, "Q\n\n" HEADER "1. A\n2. Avoid: B\n\n" CLOSING);
    rg_teacher_messages_free(messages, n);
    rg_example_free(&ex);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_format_renders),
        cmocka_unit_test(reference_context),
        cmocka_unit_test(multi_turn_keeps_earlier_turns),
        cmocka_unit_test(shared_healthbench_multi_turn),
        cmocka_unit_test(template_files),
        cmocka_unit_test(builtin_templates),
        cmocka_unit_test(rubric_in_system),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
