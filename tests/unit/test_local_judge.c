/* test_local_judge.c — the local judge against an independent PyTorch
 * reference (tests/ref/local_judge_ref.py): on a tiny random Qwen3-shaped
 * model that speaks the real Qwen3 tokenizer (build/ref/model/e2e_qwen3,
 * written by tests/ref/model_ref.py), for several criteria of two examples,
 *   - the yes/no answer ids equal those read from tokenizer.json by the reference;
 *   - the margin max logit(yes ids) - max logit(no ids) at the next token after
 *     the judge's prompt ids equals the float64 reference within 1e-3, with
 *     the weights held in f32 and in bf16 (the file is bf16, so both hold the
 *     same values; measured error about 3e-6), and the verdict is its sign;
 *     in bf16 with bf16 dot products in use (nn_bf16dot_in_use), the
 *     reference rounds each layer matmul's input to bf16 as the prefill does
 *     (against the unrounded reference the margins move by ~5e-3);
 *   - batch=1 and batch=3 give the same margins (1e-4);
 *   - a rerun with the cache asks the model nothing and gives the same verdicts;
 *   - a context shorter than the prompt leaves criteria unjudged with a clear message. */
#include "test_util.h"

#include <cjson/cJSON.h>
#include <math.h>

#include "base/error.h"
#include "io/file.h"
#include "judge/judge.h"
#include "judge/local_judge.h"
#include "nn/nn.h"
#include "rubric/rubric.h"

#define PYTHON "/usr/bin/python3"
#define N_ITEMS 2

static const char *example_json[N_ITEMS] = {
    "{\"id\": \"fever\", \"messages\": [{\"role\": \"user\", \"content\": \"My child has a fever of 39C. What should I "
    "do?\"}], \"rubric\": [{\"text\": \"Advises fluids, such as water\", \"weight\": 5}, {\"text\": \"Recommends "
    "aspirin for the child\", \"weight\": -8}, {\"text\": \"Mentions when to see a doctor\", \"weight\": 3}]}",
    "{\"id\": \"colour\", \"messages\": [{\"role\": \"user\", \"content\": \"Name a colour.\"}], \"rubric\": "
    "[{\"text\": \"Names a colour\", \"weight\": 2}, {\"text\": \"Answers in one word\", \"weight\": 1}]}",
};
static const char *responses[N_ITEMS] = {"Keep her hydrated with water and give paracetamol at the labelled dose.",
                                         "Blue."};

typedef struct {
    rg_example examples[N_ITEMS];
    rg_verdict *verdicts[N_ITEMS];
    rg_judge_item items[N_ITEMS];
    char model_dir[512];
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->model_dir, sizeof f->model_dir, "%s/model/e2e_qwen3", test_ref_dir());
    for (int i = 0; i < N_ITEMS; i++) {
        if (rg_example_parse(example_json[i], "test", i + 1, &f->examples[i]) != RG_OK) return -1;
        f->verdicts[i] = calloc(f->examples[i].ncriteria, sizeof(rg_verdict));
        f->items[i] = (rg_judge_item){.example = &f->examples[i], .response = responses[i], .verdicts = f->verdicts[i]};
    }
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    for (int i = 0; i < N_ITEMS; i++) {
        rg_verdicts_clear(f->verdicts[i], (int)f->examples[i].ncriteria);
        free(f->verdicts[i]);
        rg_example_free(&f->examples[i]);
    }
    free(f);
    return 0;
}

static void skip_unless_available(const fixture *f) {
    SKIP_UNLESS_FILE(test_path(f->model_dir, "model.safetensors"), "the tiny e2e model (make refs)");
    if (access(PYTHON, X_OK) != 0) {
        fprintf(stderr, "skipped: %s missing\n", PYTHON);
        skip();
    }
}

static rg_judge *open_local(const fixture *f, const char *options, const char *cache_path) {
    char text[700];
    snprintf(text, sizeof text, "local:%s%s", f->model_dir, options);
    rg_judge_spec spec;
    assert_int_equal(rg_judge_spec_parse(text, &spec), RG_OK);
    rg_judge *judge = NULL;
    rg_judge_options opt = {.cache_path = cache_path};
    if (rg_judge_open(&judge, &spec, &opt) != RG_OK) fail_msg("%s", rg_errmsg());
    rg_judge_spec_free(&spec);
    return judge;
}

/* The margin the judge wrote into a verdict's explanation. */
static double margin_of(const rg_verdict *v) {
    assert_non_null(v->explanation);
    const char *at = strstr(v->explanation, "logit(yes)-logit(no)=");
    assert_non_null(at);
    return strtod(at + strlen("logit(yes)-logit(no)="), NULL);
}

static int total_criteria(const fixture *f) {
    int n = 0;
    for (int i = 0; i < N_ITEMS; i++) n += (int)f->examples[i].ncriteria;
    return n;
}

/* Runs the reference over the judge's prompt ids; returns the parsed output. */
/* bf16_inputs: the reference rounds every layer matmul input to bf16 (the judge's
 * prefill on bf16 dot products). */
static cJSON *reference_margins(const fixture *f, rg_judge *judge, const char *dir, int bf16_inputs) {
    cJSON *root = cJSON_CreateObject(), *cases = cJSON_AddArrayToObject(root, "cases");
    for (int i = 0; i < N_ITEMS; i++)
        for (size_t c = 0; c < f->examples[i].ncriteria; c++) {
            int32_t *ids;
            int n_ids;
            assert_int_equal(rg_local_judge_prompt_ids(judge, &f->items[i], (int)c, &ids, &n_ids), RG_OK);
            cJSON *id_array = cJSON_CreateArray();
            for (int k = 0; k < n_ids; k++) cJSON_AddItemToArray(id_array, cJSON_CreateNumber(ids[k]));
            cJSON *one = cJSON_CreateObject();
            cJSON_AddItemToObject(one, "ids", id_array);
            cJSON_AddItemToArray(cases, one);
            free(ids);
        }
    char in_path[600], out_path[600], cmd[2400];
    snprintf(in_path, sizeof in_path, "%s/in.json", dir);
    snprintf(out_path, sizeof out_path, "%s/out.json", dir);
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    assert_int_equal(rg_write_file_atomic(in_path, text, strlen(text)), RG_OK);
    free(text);
    const char *node = getenv("RGSD_NODE_DIR");
    snprintf(cmd, sizeof cmd, "%s %s/local_judge_ref.py %s %s %s%s", PYTHON, node ? node : "tests/ref", f->model_dir,
             in_path, out_path, bf16_inputs ? " bf16_inputs" : "");
    assert_int_equal(system(cmd), 0);
    char *out;
    size_t len;
    assert_int_equal(rg_read_file(out_path, &out, &len), RG_OK);
    cJSON *parsed = cJSON_Parse(out);
    free(out);
    assert_non_null(parsed);
    return parsed;
}

static void check_ids_equal(const cJSON *expected, const int32_t *ids, int n) {
    assert_int_equal(cJSON_GetArraySize(expected), n);
    /* The reference lists them sorted; the judge in spelling order. */
    for (int k = 0; k < n; k++) {
        int found = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, expected) found |= (int)e->valuedouble == ids[k];
        assert_true(found);
    }
}

static void check_against_reference(void **state, const char *options, double tolerance) {
    fixture *f = *state;
    skip_unless_available(f);
    char *dir = test_tmpdir();
    rg_judge *judge = open_local(f, options, NULL);
    assert_int_equal(rg_judge_run(judge, f->items, N_ITEMS), RG_OK);
    const rg_judge_stats *stats = rg_judge_get_stats(judge);
    assert_int_equal(stats->verdicts, total_criteria(f));
    assert_int_equal(stats->requests, total_criteria(f));
    assert_true(stats->prompt_tokens > 100 * total_criteria(f));

    /* bf16 weights where bf16 dot products are in use: the prompts (two of
     * 100-200 tokens, one prefill step of > 8 rows) are prefilled with every
     * layer matmul's input rounded to bf16, so the reference rounds the same */
    cJSON *ref = reference_margins(f, judge, dir, strstr(options, "bf16=1") && nn_bf16dot_in_use());
    const int32_t *yes, *no;
    int n_yes, n_no;
    assert_int_equal(rg_local_judge_answer_ids(judge, &yes, &n_yes, &no, &n_no), RG_OK);
    check_ids_equal(cJSON_GetObjectItem(ref, "yes_ids"), yes, n_yes);
    check_ids_equal(cJSON_GetObjectItem(ref, "no_ids"), no, n_no);
    const cJSON *margins = cJSON_GetObjectItem(ref, "margins");
    int k = 0, decisive = 0;
    double worst = 0;
    for (int i = 0; i < N_ITEMS; i++)
        for (size_t c = 0; c < f->examples[i].ncriteria; c++, k++) {
            double expected = cJSON_GetArrayItem(margins, k)->valuedouble;
            const rg_verdict *v = &f->verdicts[i][c];
            double got = margin_of(v);
            if (fabs(got - expected) > worst) worst = fabs(got - expected);
            if (fabs(got - expected) > tolerance)
                fail_msg("item %d criterion %zu: margin %.6f, PyTorch %.6f (tolerance %g)", i, c, got, expected,
                         tolerance);
            if (fabs(expected) > tolerance) {
                assert_int_equal(v->met, expected > 0 ? 1 : 0);
                decisive++;
            }
        }
    assert_true(decisive >= 3);
    fprintf(stderr, "local judge %s: max |margin - PyTorch| = %.2e over %d criteria (tolerance %g)\n", options, worst, k,
            tolerance);
    cJSON_Delete(ref);
    rg_judge_close(judge);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

static void test_f32_matches_pytorch(void **state) { check_against_reference(state, "#bf16=0&batch=3", 1e-3); }
static void test_bf16_matches_pytorch(void **state) { check_against_reference(state, "#bf16=1&batch=2", 1e-3); }

static void test_batch_invariant_and_cached(void **state) {
    fixture *f = *state;
    skip_unless_available(f);
    char *dir = test_tmpdir();
    char cache[600];
    snprintf(cache, sizeof cache, "%s/verdicts.sqlite", dir);
    int n = total_criteria(f);
    double *margins = calloc((size_t)n, sizeof *margins);
    rg_judge *judge = open_local(f, "#bf16=0&batch=1", NULL);
    assert_int_equal(rg_judge_run(judge, f->items, N_ITEMS), RG_OK);
    int k = 0;
    for (int i = 0; i < N_ITEMS; i++)
        for (size_t c = 0; c < f->examples[i].ncriteria; c++) margins[k++] = margin_of(&f->verdicts[i][c]);
    rg_judge_close(judge);

    judge = open_local(f, "#bf16=0&batch=3", cache);
    assert_int_equal(rg_judge_run(judge, f->items, N_ITEMS), RG_OK);
    k = 0;
    for (int i = 0; i < N_ITEMS; i++)
        for (size_t c = 0; c < f->examples[i].ncriteria; c++) assert_true(fabs(margin_of(&f->verdicts[i][c]) - margins[k++]) < 1e-4);
    assert_int_equal(rg_judge_get_stats(judge)->requests, n);
    /* Again: every verdict from the cache, none asked of the model. */
    assert_int_equal(rg_judge_run(judge, f->items, N_ITEMS), RG_OK);
    const rg_judge_stats *stats = rg_judge_get_stats(judge);
    assert_int_equal(stats->requests, n);
    assert_int_equal(stats->cache_hits, n);
    k = 0;
    for (int i = 0; i < N_ITEMS; i++)
        for (size_t c = 0; c < f->examples[i].ncriteria; c++) {
            assert_true(f->verdicts[i][c].cached);
            assert_true(fabs(margin_of(&f->verdicts[i][c]) - margins[k++]) < 1e-4);
        }
    rg_judge_close(judge);
    free(margins);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

static void test_context_too_short(void **state) {
    fixture *f = *state;
    skip_unless_available(f);
    rg_judge *judge = open_local(f, "#context=64", NULL);
    assert_int_equal(rg_judge_run(judge, f->items, N_ITEMS), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "longer than the local judge's context (64 tokens"));
    assert_int_equal(f->items[0].failed, (int)f->examples[0].ncriteria);
    assert_int_equal(f->verdicts[0][0].met, -1);
    assert_int_equal(rg_judge_get_stats(judge)->failures, total_criteria(f));
    rg_judge_close(judge);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_f32_matches_pytorch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bf16_matches_pytorch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_invariant_and_cached, setup, teardown),
        cmocka_unit_test_setup_teardown(test_context_too_short, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
