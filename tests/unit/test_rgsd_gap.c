/* test_rgsd_gap.c — the judge-free self-internalisation gap (rgsd/gap_measure.h,
 * `rgsd gap --samples K`) against PyTorch (tests/ref/gap_ref.py, float64) on a
 * tiny random Qwen2 model: fixed plain and rubric prompts and K = 3 fixed
 * responses per prompt (a think span, an all-think response, an empty one,
 * and a prompt none of whose samples counts), scored by rg_gap_score; every
 * per-prompt row (gap, each side's mean log-prob, samples, tokens), the
 * summary mean and its standard error over prompts, and the empty count. The
 * base alone and base + LoRA (the policy decoded through its adapter).
 *
 * Tolerance (f32 compute vs float64): |c - r| <= 2e-5 * max(1, |r|) for every
 * number; counts exact.
 *
 * rg_gap_measure's sampling: its n x K responses are rg_generate's over each
 * teacher prompt repeated K times (prompt p's sample k = sequence p*K + k),
 * token for token, base and LoRA, and its result is rg_gap_score's on them. */
#include "test_util.h"

#include <cjson/cJSON.h>
#include <math.h>

#include "base/error.h"
#include "io/file.h"
#include "model/train.h"
#include "rgsd/gap_measure.h"
#include "train/checkpoint.h"

#define MAX_PROMPTS 8
#define MAX_RESP 64

typedef struct {
    rg_rgsd_data data;
    rg_rgsd_prompt prompts[MAX_PROMPTS];
    rg_gen_result responses[MAX_PROMPTS * 4];
    int32_t ids[2 * MAX_PROMPTS + MAX_PROMPTS * 4][32];
    int K;
    int32_t think_open, think_close;
    cJSON *root;
} gap_fixture;

static const char *ref_dir(void) {
    static char buf[2048];
    snprintf(buf, sizeof buf, "%.1000s/gap", test_ref_dir());
    return buf;
}

static int read_ids(const cJSON *arr, int32_t *out) {
    int n = cJSON_GetArraySize(arr);
    assert_true(n <= 32);
    for (int i = 0; i < n; i++) out[i] = cJSON_GetArrayItem(arr, i)->valueint;
    return n;
}

/* The reference's prompts as an rg_rgsd_data and its responses as rg_gen_results (pointing into f). */
static void load_fixture(gap_fixture *f) {
    char path[2200];
    snprintf(path, sizeof path, "%s/gap.json", ref_dir());
    SKIP_UNLESS_FILE(path, "gap reference (make refs with /usr/bin/python3 + torch)");
    char *text;
    size_t len;
    assert_int_equal(rg_read_file(path, &text, &len), RG_OK);
    f->root = cJSON_Parse(text);
    free(text);
    assert_non_null(f->root);
    f->K = cJSON_GetObjectItem(f->root, "K")->valueint;
    f->think_open = cJSON_GetObjectItem(f->root, "think_open")->valueint;
    f->think_close = cJSON_GetObjectItem(f->root, "think_close")->valueint;
    const cJSON *prompts = cJSON_GetObjectItem(f->root, "prompts"), *responses = cJSON_GetObjectItem(f->root, "responses");
    int n = cJSON_GetArraySize(prompts), slot = 0;
    assert_true(n <= MAX_PROMPTS && f->K <= 4);
    f->data = (rg_rgsd_data){.prompts = f->prompts, .n = n};
    for (int p = 0; p < n; p++) {
        const cJSON *e = cJSON_GetArrayItem(prompts, p);
        rg_rgsd_prompt *pr = &f->prompts[p];
        *pr = (rg_rgsd_prompt){.example = (size_t)p, .student_prompt = f->ids[slot], .teacher_prompt = f->ids[slot + 1]};
        pr->student_prompt_len = read_ids(cJSON_GetObjectItem(e, "student_prompt"), f->ids[slot++]);
        pr->teacher_prompt_len = read_ids(cJSON_GetObjectItem(e, "teacher_prompt"), f->ids[slot++]);
        int longest = pr->student_prompt_len > pr->teacher_prompt_len ? pr->student_prompt_len : pr->teacher_prompt_len;
        if (longest > f->data.max_prompt_len) f->data.max_prompt_len = longest;
    }
    assert_int_equal(cJSON_GetArraySize(responses), n * f->K);
    for (int i = 0; i < n * f->K; i++) {
        f->responses[i] = (rg_gen_result){.tokens = f->ids[slot]};
        f->responses[i].n_tokens = read_ids(cJSON_GetArrayItem(responses, i), f->ids[slot++]);
    }
}

static void check_close(const char *what, int row, double got, double want) {
    if (fabs(got - want) > 2e-5 * fmax(1.0, fabs(want))) fail_msg("%s (row %d) %.9g, reference %.9g", what, row, got, want);
}

static void check_result(const rg_gap_result *r, const cJSON *want) {
    const cJSON *rows = cJSON_GetObjectItem(want, "rows");
    assert_int_equal(r->n_rows, cJSON_GetArraySize(rows));
    for (int i = 0; i < r->n_rows; i++) {
        const cJSON *w = cJSON_GetArrayItem(rows, i);
        assert_int_equal((int)r->rows[i].prompt, cJSON_GetObjectItem(w, "prompt")->valueint);
        check_close("gap", i, r->rows[i].gap, cJSON_GetObjectItem(w, "gap")->valuedouble);
        check_close("logp_plain", i, r->rows[i].logp_plain, cJSON_GetObjectItem(w, "logp_plain")->valuedouble);
        check_close("logp_rubric", i, r->rows[i].logp_rubric, cJSON_GetObjectItem(w, "logp_rubric")->valuedouble);
        assert_int_equal(r->rows[i].samples, cJSON_GetObjectItem(w, "samples")->valueint);
        assert_int_equal(r->rows[i].tokens, cJSON_GetObjectItem(w, "tokens")->valueint);
    }
    check_close("summary gap", -1, r->gap, cJSON_GetObjectItem(want, "gap")->valuedouble);
    check_close("summary se", -1, r->se, cJSON_GetObjectItem(want, "se")->valuedouble);
    assert_int_equal(r->empty, cJSON_GetObjectItem(want, "empty")->valueint);
    assert_int_equal(r->tokens, cJSON_GetObjectItem(want, "tokens")->valueint);
    assert_int_equal(r->samples, cJSON_GetObjectItem(want, "samples")->valueint);
}

/* The reference's model, and (lora not NULL) its PEFT adapter. */
static void load_model(rg_model *model, rg_lora *lora) {
    assert_int_equal(rg_model_load(model, ref_dir(), RG_WEIGHTS_F32), RG_OK);
    if (!lora) return;
    char adapter[2200];
    snprintf(adapter, sizeof adapter, "%s/adapter", ref_dir());
    if (rg_peft_load(lora, &model->cfg, adapter) != RG_OK) fail_msg("%s", rg_errmsg());
}

/* rg_gap_score on the fixed responses: base (lora NULL) or base + the reference adapter. */
static void score_against_reference(int with_lora) {
    gap_fixture f;
    load_fixture(&f);
    rg_model model;
    rg_lora lora;
    load_model(&model, with_lora ? &lora : NULL);
    rg_train_acts acts;
    assert_int_equal(rg_train_acts_alloc(&acts, &model.cfg, with_lora ? &lora : NULL, f.data.max_prompt_len + 32, 4),
                     RG_OK);
    rg_gap_result r;
    assert_int_equal(rg_gap_score(&model, with_lora ? &lora : NULL, &acts, &f.data, f.responses, f.K, f.think_open,
                                  f.think_close, &r),
                     RG_OK);
    check_result(&r, cJSON_GetObjectItem(f.root, with_lora ? "lora" : "base"));
    rg_gap_result_free(&r);
    rg_train_acts_free(&acts);
    if (with_lora) rg_lora_free(&lora);
    rg_model_free(&model);
    cJSON_Delete(f.root);
}

static void test_score_base(void **state) { (void)state; score_against_reference(0); }
static void test_score_lora(void **state) { (void)state; score_against_reference(1); }

/* rg_gap_measure samples prompt p's k-th response as rg_generate's sequence p*K + k over the teacher
 * prompts, and scores exactly those. */
static void sampling_is_generate(int with_lora) {
    gap_fixture f;
    load_fixture(&f);
    rg_model model;
    rg_lora lora;
    load_model(&model, with_lora ? &lora : NULL);
    const rg_lora *l = with_lora ? &lora : NULL;
    rg_gap_config cfg = {.samples = 2, .gen = {.max_new = 6, .sample = {.temperature = 1.0f, .top_p = 1.0f},
                                               .seed = 31, .batch = 3, .context = 64},
                         .think_open = f.think_open, .think_close = f.think_close};
    rg_gap_result r;
    rg_gen_result *got;
    assert_int_equal(rg_gap_measure(&model, l, &f.data, &cfg, &r, &got), RG_OK);
    int n = f.data.n * cfg.samples;
    const int32_t *ids[MAX_PROMPTS * 2];
    int lens[MAX_PROMPTS * 2];
    for (int i = 0; i < n; i++) ids[i] = f.prompts[i / 2].teacher_prompt, lens[i] = f.prompts[i / 2].teacher_prompt_len;
    rg_gen_options gen = cfg.gen;
    gen.lora = l;
    rg_gen_result want[MAX_PROMPTS * 2];
    assert_int_equal(rg_generate(&model, n, ids, lens, &gen, want, NULL, NULL), RG_OK);
    int differ = 0;
    for (int i = 0; i < n; i++) {
        assert_int_equal(got[i].n_tokens, want[i].n_tokens);
        assert_memory_equal(got[i].tokens, want[i].tokens, sizeof(int32_t) * (size_t)want[i].n_tokens);
        differ |= i % 2 && (got[i].n_tokens != got[i - 1].n_tokens ||
                            memcmp(got[i].tokens, got[i - 1].tokens, sizeof(int32_t) * (size_t)got[i].n_tokens));
    }
    assert_true(differ); /* the K samples of a prompt are separate draws */
    rg_train_acts acts;
    assert_int_equal(rg_train_acts_alloc(&acts, &model.cfg, l, f.data.max_prompt_len + 6, 4), RG_OK);
    rg_gap_result again;
    assert_int_equal(rg_gap_score(&model, l, &acts, &f.data, got, 2, f.think_open, f.think_close, &again), RG_OK);
    assert_int_equal(again.n_rows, r.n_rows);
    assert_true(again.gap == r.gap);
    rg_gap_result_free(&again);
    rg_train_acts_free(&acts);
    rg_gen_results_free(got, n);
    free(got);
    rg_gen_results_free(want, n);
    rg_gap_result_free(&r);
    if (with_lora) rg_lora_free(&lora);
    rg_model_free(&model);
    cJSON_Delete(f.root);
}

static void test_sampling_base(void **state) { (void)state; sampling_is_generate(0); }
static void test_sampling_lora(void **state) { (void)state; sampling_is_generate(1); }

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_score_base),
        cmocka_unit_test(test_score_lora),
        cmocka_unit_test(test_sampling_base),
        cmocka_unit_test(test_sampling_lora),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
