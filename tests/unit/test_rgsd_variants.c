/* test_rgsd_variants.c — issue 14's RGSD variants against PyTorch
 * (tests/ref/rgsd_ref.py, float64 autograd, the "variants" of rgsd.json) on
 * the same tiny models and fixed rollouts as test_rgsd_step.c:
 *
 *   top-k supports    the student's top-4 / the union with the teacher's, with
 *                     the tail bucket or renormalised (beta 0, 0.25, 0.5, 1)
 *   teacher modes     live (the student's weights; LoRA: the base through the
 *                     current adapters), ema (rg_rgsd_teacher_update after
 *                     the student was moved: d = 0.75, full weights or adapters)
 *   loss mean         sequence (per sequence, then over sequences)
 *   importance weight min(p_S(y)/p_rollout(y), 1.3), with made-up rollout
 *                     log-probs on both sides of the clip; also with a
 *                     sequence mean and a renormalised union support
 *
 * Every case runs through rg_rgsd_accumulate_with with the teacher chosen by
 * rg_rgsd_teacher_select, as the training step does. The reference asserts
 * that each case's loss or some gradient moves by over 100x the tolerance
 * below if the variant is wired wrong (another support or tail, no weight or
 * no clip, the token mean, the frozen teacher), so passing here pins the
 * variant, not just the default.
 *
 * Tolerances (f32 compute vs float64), as test_rgsd_step.c:
 *   loss (the weighted objective), gap: |c - r| <= 2e-5 * max(1, |r|)
 *   each gradient:     max |c - r| <= 5e-5 * max(1e-3, max |r|) over the tensor */
#include "rgsd_ref.h"
#include "grad_ref.h"
#include "test_util.h"

#include <cjson/cJSON.h>
#include <math.h>

#include "base/error.h"
#include "io/file.h"
#include "io/safetensors.h"
#include "model/model.h"
#include "rgsd/rgsd.h"
#include "rgsd/rgsd_teacher.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

typedef rgsd_ref_batch batch;

static const char *ref_dir(const char *variant) { return rgsd_ref_dir(variant); }

static cJSON *load_ref(const char *variant, batch *b) {
    cJSON *root = rgsd_ref_load(variant, b);
    if (!cJSON_GetObjectItem(root, "variants")) fail_msg("%s/rgsd.json has no variants: rerun make refs", ref_dir(variant));
    return root;
}

/* The case's rollout log-probs into the sequences (or none). */
static void set_rollout_logprobs(batch *b, const cJSON *e) {
    const cJSON *lp = cJSON_GetObjectItem(e, "rollout_logprobs");
    for (int s = 0; s < 2; s++) {
        b->seqs[s].rollout_logprobs = NULL;
        if (!lp || cJSON_IsNull(lp)) continue;
        const cJSON *row = cJSON_GetArrayItem(lp, s);
        for (int i = 0; i < b->resp_len[s]; i++) b->rollout_lp[s][i] = (float)cJSON_GetArrayItem(row, i)->valuedouble;
        b->seqs[s].rollout_logprobs = b->rollout_lp[s];
    }
}

static void compare(const rg_st_file *ref, const char *what, const char *name, const float *got, size_t n) {
    grad_ref_compare(ref, what, name, got, n, 5e-5);
}

static void check_close(const char *what, const char *name, double got, double want) {
    if (fabs(got - want) > 2e-5 * fmax(1.0, fabs(want))) fail_msg("%s: %s %.9g, reference %.9g", name, what, got, want);
}

static const char *str(const cJSON *e, const char *key) { return cJSON_GetObjectItem(e, key)->valuestring; }
static double num(const cJSON *e, const char *key) { return cJSON_GetObjectItem(e, key)->valuedouble; }

static rg_rgsd_pass_config pass_config(const cJSON *e) {
    rg_rgsd_pass_config pc = {0};
    const char *from = str(e, "topk_from");
    pc.jsd = (nn_jsd_config){.beta = (float)num(e, "beta"), .top_k = (int)num(e, "top_k")};
    pc.jsd.topk_from = strcmp(from, "student") == 0 ? NN_TOPK_STUDENT
                       : strcmp(from, "union") == 0 ? NN_TOPK_UNION : NN_TOPK_TEACHER;
    pc.jsd.topk_tail = strcmp(str(e, "topk_tail"), "renorm") == 0 ? NN_TOPK_RENORM : NN_TOPK_TAIL_BUCKET;
    pc.mean = strcmp(str(e, "mean"), "sequence") == 0 ? RG_LOSS_MEAN_SEQUENCE : RG_LOSS_MEAN_TOKEN;
    pc.is_clip = (float)num(e, "is_clip");
    return pc;
}

static rg_teacher_mode teacher_mode(const cJSON *e) {
    rg_teacher_mode mode = RG_TEACHER_FROZEN;
    const char *t = str(e, "teacher");
    assert_int_equal(rg_teacher_mode_parse(strcmp(t, "student") == 0 ? "live" : strcmp(t, "ema") == 0 ? "ema" : "frozen",
                                           &mode),
                     RG_OK);
    return mode;
}

static rg_trainer_config trainer_config(int lora_rank) {
    rg_trainer_config cfg = {.lora_rank = lora_rank, .lora_alpha = 8.0f, .lora_targets = RG_LORA_ALL_MODULES,
                             .adam = {.beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f},
                             .schedule = {.lr = 1e-3f, .total_steps = 10}, .batch_size = 2, .grad_accum = 1,
                             .head_chunk = 3};
    return cfg;
}

/* ema: the average starts at the student; then one update with the trainable values set to
 * `moved` (restored after), as if an optimizer step had put the student there. */
static void move_ema(rg_rgsd_teacher *tc, rg_trainer *tr, const float *moved) {
    assert_ptr_equal(tr->method_state.data, tc->ema); /* registered: rg_trainer_save writes it */
    assert_string_equal(tr->method_state.name, "teacher.ema");
    assert_memory_equal(tc->ema, tr->trainable, sizeof(float) * tr->n_trainable);
    float *kept = malloc(sizeof(float) * tr->n_trainable);
    memcpy(kept, tr->trainable, sizeof(float) * tr->n_trainable);
    memcpy(tr->trainable, moved, sizeof(float) * tr->n_trainable);
    rg_rgsd_teacher_update(tc, tr);
    memcpy(tr->trainable, kept, sizeof(float) * tr->n_trainable);
    free(kept);
}

/* One variant's pass, its loss and gap against the reference. */
static void run_pass(rg_trainer *tr, const rg_rgsd_teacher *tc, batch *b, const cJSON *e) {
    const char *name = str(e, "name");
    rg_rgsd_pass_config pc = pass_config(e);
    rg_rgsd_teacher_select(tc, tr, &pc);
    float *teacher_logits = malloc(sizeof(float) * rg_rgsd_teacher_floats(tr->model, RGSD_REF_MAXLEN));
    memset(tr->trainable_grads, 0, sizeof(float) * tr->n_trainable);
    rg_rgsd_stats st = {0};
    if (rg_rgsd_accumulate_with(tr, &pc, b->seqs, 2, teacher_logits, &st) != RG_OK) fail_msg("%s: %s", name, rg_errmsg());
    check_close("loss", name, st.objective, num(e, "loss"));
    check_close("gap", name, st.gap_sum / (double)st.tokens, num(e, "gap"));
    if (pc.is_clip > 0) assert_true(st.is_clipped > 0 && st.is_clipped < st.tokens); /* both sides of the clip */
    free(teacher_logits);
}

static void load_student(rg_model *m, const char *dir, const char *name) {
    assert_int_equal(rg_model_load(m, dir, RG_WEIGHTS_F32), RG_OK);
    char path[4400];
    snprintf(path, sizeof path, "%s/student_v_%s.safetensors", dir, name);
    rg_st_file sw;
    assert_int_equal(rg_st_open(&sw, path), RG_OK);
    for (int i = 0; i < m->n_entries; i++) {
        const rg_tensor *t = rg_st_find(&sw, m->entries[i].name);
        if (!t) fail_msg("%s: %s missing", path, m->entries[i].name);
        assert_int_equal(rg_tensor_to_f32(t, m->params + m->entries[i].offset, m->entries[i].numel), RG_OK);
    }
    rg_st_close(&sw);
}

static void run_full_case(const char *dir, batch *b, const cJSON *e) {
    const char *name = str(e, "name");
    rg_model student, copy;
    load_student(&student, dir, name);
    assert_int_equal(rg_model_load(&copy, dir, RG_WEIGHTS_F32), RG_OK); /* the base */
    float *base = malloc(sizeof(float) * copy.n_params);
    memcpy(base, copy.params, sizeof(float) * copy.n_params);
    rg_trainer_config cfg = trainer_config(0);
    rg_trainer tr;
    assert_int_equal(rg_trainer_init(&tr, &student, &cfg, RGSD_REF_MAXLEN, 2), RG_OK);
    rg_rgsd_teacher tc;
    rg_teacher_mode mode = teacher_mode(e);
    assert_int_equal(rg_rgsd_teacher_init(&tc, &tr, &copy, mode, (float)num(e, "ema_decay")), RG_OK);
    if (mode == RG_TEACHER_EMA) move_ema(&tc, &tr, base); /* average = d student + (1 - d) base */
    run_pass(&tr, &tc, b, e);
    char path[4400];
    snprintf(path, sizeof path, "%s/grads_v_%s.safetensors", dir, name);
    rg_st_file ref;
    assert_int_equal(rg_st_open(&ref, path), RG_OK);
    for (int i = 0; i < student.n_entries; i++)
        compare(&ref, name, student.entries[i].name, tr.grads + student.entries[i].offset, student.entries[i].numel);
    rg_st_close(&ref);
    rg_rgsd_teacher_free(&tc, &tr);
    assert_null(tr.method_state.data);
    rg_trainer_free(&tr);
    free(base);
    rg_model_free(&copy);
    rg_model_free(&student);
}

static void run_lora_case(const char *dir, batch *b, const cJSON *e) {
    const char *name = str(e, "name");
    rg_model model;
    assert_int_equal(rg_model_load(&model, dir, RG_WEIGHTS_F32), RG_OK);
    char adapter[4300];
    snprintf(adapter, sizeof adapter, "%s/adapter", dir);
    rg_lora loaded;
    if (rg_peft_load(&loaded, &model.cfg, adapter) != RG_OK) fail_msg("%s", rg_errmsg());
    rg_trainer_config cfg = trainer_config(4);
    rg_trainer tr;
    assert_int_equal(rg_trainer_init(&tr, &model, &cfg, RGSD_REF_MAXLEN, 2), RG_OK);
    memcpy(tr.lora.params, loaded.params, sizeof(float) * loaded.n_params);
    rg_rgsd_teacher tc;
    rg_teacher_mode mode = teacher_mode(e);
    assert_int_equal(rg_rgsd_teacher_init(&tc, &tr, NULL, mode, (float)num(e, "ema_decay")), RG_OK);
    if (mode == RG_TEACHER_EMA) { /* average = d (A, B) + (1 - d) (2A, 2B) */
        float *doubled = malloc(sizeof(float) * loaded.n_params);
        for (size_t i = 0; i < loaded.n_params; i++) doubled[i] = 2.0f * loaded.params[i];
        move_ema(&tc, &tr, doubled);
        free(doubled);
    }
    run_pass(&tr, &tc, b, e);
    char path[4400];
    snprintf(path, sizeof path, "%s/grads_v_%s.safetensors", dir, name);
    rg_st_file ref;
    assert_int_equal(rg_st_open(&ref, path), RG_OK);
    for (int l = 0; l < model.cfg.n_layers; l++)
        for (int m = 0; m < RG_LORA_N_MODULES; m++) {
            const rg_lora_slot *slot = rg_lora_slot_at(&tr.lora, l, (rg_lora_module)m);
            char tname[256];
            rg_peft_tensor_name(tname, sizeof tname, l, (rg_lora_module)m, 'A');
            compare(&ref, name, tname, tr.lora.grads + slot->a_offset, (size_t)slot->in * (size_t)tr.lora.rank);
            rg_peft_tensor_name(tname, sizeof tname, l, (rg_lora_module)m, 'B');
            compare(&ref, name, tname, tr.lora.grads + slot->b_offset, (size_t)slot->out * (size_t)tr.lora.rank);
        }
    rg_st_close(&ref);
    rg_rgsd_teacher_free(&tc, &tr);
    rg_trainer_free(&tr);
    rg_lora_free(&loaded);
    rg_model_free(&model);
}

static void run_variants(const char *variant) {
    batch b;
    cJSON *root = load_ref(variant, &b);
    const cJSON *cases = cJSON_GetObjectItem(root, "variants");
    assert_true(cJSON_GetArraySize(cases) >= 12);
    for (int c = 0; c < cJSON_GetArraySize(cases); c++) {
        const cJSON *e = cJSON_GetArrayItem(cases, c);
        set_rollout_logprobs(&b, e);
        if (cJSON_IsTrue(cJSON_GetObjectItem(e, "lora"))) run_lora_case(ref_dir(variant), &b, e);
        else run_full_case(ref_dir(variant), &b, e);
    }
    cJSON_Delete(root);
}

/* The EMA update by hand, and the argument checks. */
static void test_ema_update(void **state) {
    (void)state;
    float ema[3] = {1.0f, -2.0f, 0.5f};
    const float w[3] = {3.0f, 2.0f, 0.5f};
    rg_ema_update(ema, w, 3, 0.75f); /* 0.75 ema + 0.25 w: exact in binary */
    assert_true(ema[0] == 1.5f && ema[1] == -1.0f && ema[2] == 0.5f);
    rg_teacher_mode mode;
    assert_int_equal(rg_teacher_mode_parse("ema", &mode), RG_OK);
    assert_int_equal(mode, RG_TEACHER_EMA);
    assert_int_equal(rg_teacher_mode_parse("EMA", &mode), RG_ERR);
    assert_string_equal(rg_teacher_mode_name(RG_TEACHER_LIVE), "live");
}

static void test_qwen3(void **state) { (void)state; run_variants("qwen3_untied"); }
static void test_qwen2_tied(void **state) { (void)state; run_variants("qwen2_tied"); }

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ema_update),
        cmocka_unit_test(test_qwen3),
        cmocka_unit_test(test_qwen2_tied),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
