/* test_rgsd_step.c — one RGSD step against PyTorch (tests/ref/rgsd_ref.py,
 * float64 autograd) on tiny random models (Qwen3 untied, Qwen2 tied), with
 * fixed rollouts: the teacher over teacher prompt + y, the student over
 * prompt + y, the JSD token mean over the batch's loss positions (the second
 * rollout's <think>...</think> span masked by rg_rgsd_think_mask, checked
 * against the reference's own mask), and the gradients of every student
 * parameter (full fine-tuning; teacher = the base, student = a perturbed
 * copy) or every lora_A / lora_B (LoRA; teacher = the same model with the
 * adapters off).
 *
 * Cases: beta 0.5, 0 (forward KL), 1 (reverse KL) full vocabulary; beta 0.25
 * top-5 with token clipping; beta 0.5 with entry clipping (tau picked by the
 * reference between values, so f32 and f64 agree on what is clipped).
 *
 * Tolerances (f32 compute vs float64):
 *   loss, gap:         |c - r| <= 2e-5 * max(1, |r|)
 *   each gradient:     max |c - r| <= 5e-5 * max(1e-3, max |r|) over the tensor
 * Also: the teacher's weights are bit-identical after an optimizer step
 * (full fine-tuning: the frozen copy; LoRA: the base under the adapters). */
#include "rgsd_ref.h"
#include "grad_ref.h"
#include "test_util.h"

#include <cjson/cJSON.h>
#include <math.h>

#include "base/error.h"
#include "base/stop.h"
#include "io/file.h"
#include "io/safetensors.h"
#include "model/model.h"
#include "rgsd/rgsd.h"
#include "rgsd/rgsd_run.h"
#include "train/checkpoint.h"
#include "train/lora_merge.h"
#include "train/rollout.h"
#include "train/trainer.h"

typedef struct {
    rgsd_ref_batch ref;
    int32_t think_open, think_close;
} step_batch;

static const char *ref_dir(const char *variant) { return rgsd_ref_dir(variant); }

static cJSON *load_ref(const char *variant, step_batch *b) {
    cJSON *root = rgsd_ref_load(variant, &b->ref);
    b->think_open = cJSON_GetObjectItem(root, "think_open")->valueint;
    b->think_close = cJSON_GetObjectItem(root, "think_close")->valueint;
    return root;
}

static void compare(const rg_st_file *ref, const char *name, const float *got, size_t n) {
    grad_ref_compare(ref, NULL, name, got, n, 5e-5);
}

static void check_close(const char *what, double got, double want) {
    if (fabs(got - want) > 2e-5 * fmax(1.0, fabs(want))) fail_msg("%s %.9g, reference %.9g", what, got, want);
}

/* Builds the two sequences (masks from rg_rgsd_think_mask, checked against the reference's). */
static void make_sequences(step_batch *b, uint8_t mask[2][32], rg_rgsd_sequence seqs[2]) {
    for (int s = 0; s < 2; s++) {
        const rgsd_ref_batch *r = &b->ref;
        int kept = rg_rgsd_think_mask(r->resp[s], r->resp_len[s], b->think_open, b->think_close, 0, mask[s]);
        int want_kept = 0;
        for (int i = 0; i < r->resp_len[s]; i++) {
            assert_int_equal(mask[s][i], r->mask[s][i]);
            want_kept += r->mask[s][i];
        }
        assert_int_equal(kept, want_kept);
        seqs[s] = r->seqs[s];
        seqs[s].loss_mask = mask[s]; /* the code's mask, not the reference's */
    }
}

static rg_trainer_config trainer_config(int lora_rank) {
    rg_trainer_config cfg = {.lora_rank = lora_rank, .lora_alpha = 8.0f, .lora_targets = RG_LORA_ALL_MODULES,
                             .adam = {.beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f},
                             .schedule = {.lr = 1e-3f, .total_steps = 10}, .batch_size = 2, .grad_accum = 1,
                             .head_chunk = 3};
    return cfg;
}

static void run_full(const char *variant) {
    step_batch b;
    cJSON *root = load_ref(variant, &b);
    const char *dir = ref_dir(variant);
    uint8_t mask[2][32];
    rg_rgsd_sequence seqs[2];
    make_sequences(&b, mask, seqs);
    rg_model teacher;
    assert_int_equal(rg_model_load(&teacher, dir, RG_WEIGHTS_F32), RG_OK);
    float *teacher_before = malloc(sizeof(float) * teacher.n_params);
    memcpy(teacher_before, teacher.params, sizeof(float) * teacher.n_params);
    const cJSON *cases = cJSON_GetObjectItem(root, "cases");
    for (int c = 0; c < cJSON_GetArraySize(cases); c++) {
        const cJSON *e = cJSON_GetArrayItem(cases, c);
        const char *name = cJSON_GetObjectItem(e, "name")->valuestring;
        nn_jsd_config jsd = {.beta = (float)cJSON_GetObjectItem(e, "beta")->valuedouble,
                             .clip = (nn_clip_mode)cJSON_GetObjectItem(e, "clip")->valueint,
                             .tau = (float)cJSON_GetObjectItem(e, "tau")->valuedouble,
                             .top_k = cJSON_GetObjectItem(e, "top_k")->valueint};
        /* The student: the base folder's model with the reference's perturbed weights. */
        rg_model student;
        assert_int_equal(rg_model_load(&student, dir, RG_WEIGHTS_F32), RG_OK);
        char path[4400];
        snprintf(path, sizeof path, "%s/student_%s.safetensors", dir, name);
        rg_st_file sw;
        assert_int_equal(rg_st_open(&sw, path), RG_OK);
        for (int i = 0; i < student.n_entries; i++) {
            const rg_param_entry *pe = &student.entries[i];
            const rg_tensor *t = rg_st_find(&sw, pe->name);
            if (!t) fail_msg("%s: %s missing", path, pe->name);
            assert_int_equal(rg_tensor_to_f32(t, student.params + pe->offset, pe->numel), RG_OK);
        }
        rg_st_close(&sw);
        rg_trainer_config cfg = trainer_config(0);
        rg_trainer tr;
        assert_int_equal(rg_trainer_init(&tr, &student, &cfg, 32, 2), RG_OK);
        float *teacher_logits = malloc(sizeof(float) * rg_rgsd_teacher_floats(&student, 32));
        memset(tr.trainable_grads, 0, sizeof(float) * tr.n_trainable);
        rg_rgsd_stats st = {0};
        if (rg_rgsd_accumulate(&tr, &teacher, &jsd, seqs, 2, teacher_logits, &st) != RG_OK)
            fail_msg("%s", rg_errmsg());
        check_close("loss", st.loss_sum / (double)st.tokens, cJSON_GetObjectItem(e, "loss")->valuedouble);
        check_close("gap", st.gap_sum / (double)st.tokens, cJSON_GetObjectItem(e, "gap")->valuedouble);
        snprintf(path, sizeof path, "%s/grads_%s.safetensors", dir, name);
        rg_st_file ref;
        assert_int_equal(rg_st_open(&ref, path), RG_OK);
        for (int i = 0; i < student.n_entries; i++) {
            const rg_param_entry *pe = &student.entries[i];
            compare(&ref, pe->name, tr.grads + pe->offset, pe->numel);
        }
        rg_st_close(&ref);
        rg_step_stats ss = {0};
        assert_int_equal(rg_trainer_apply(&tr, 2, &ss), RG_OK);
        assert_int_equal(tr.step, 1);
        /* the frozen teacher copy is untouched, bit for bit */
        assert_memory_equal(teacher.params, teacher_before, sizeof(float) * teacher.n_params);
        free(teacher_logits);
        rg_trainer_free(&tr);
        rg_model_free(&student);
    }
    free(teacher_before);
    rg_model_free(&teacher);
    cJSON_Delete(root);
}

static void run_lora(const char *variant) {
    step_batch b;
    cJSON *root = load_ref(variant, &b);
    const char *dir = ref_dir(variant);
    uint8_t mask[2][32];
    rg_rgsd_sequence seqs[2];
    make_sequences(&b, mask, seqs);
    const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "cases"), 0);
    assert_string_equal(cJSON_GetObjectItem(e, "name")->valuestring, "b050");
    nn_jsd_config jsd = {.beta = 0.5f};
    rg_model model;
    assert_int_equal(rg_model_load(&model, dir, RG_WEIGHTS_F32), RG_OK);
    float *base_before = malloc(sizeof(float) * model.n_params);
    memcpy(base_before, model.params, sizeof(float) * model.n_params);
    char adapter[4300];
    snprintf(adapter, sizeof adapter, "%s/adapter", dir);
    rg_lora loaded;
    if (rg_peft_load(&loaded, &model.cfg, adapter) != RG_OK) fail_msg("%s", rg_errmsg());
    rg_trainer_config cfg = trainer_config(4);
    rg_trainer tr;
    assert_int_equal(rg_trainer_init(&tr, &model, &cfg, 32, 2), RG_OK);
    assert_int_equal(tr.lora.n_params, loaded.n_params);
    memcpy(tr.lora.params, loaded.params, sizeof(float) * loaded.n_params);
    float *teacher_logits = malloc(sizeof(float) * rg_rgsd_teacher_floats(&model, 32));
    memset(tr.trainable_grads, 0, sizeof(float) * tr.n_trainable);
    rg_rgsd_stats st = {0};
    if (rg_rgsd_accumulate(&tr, NULL, &jsd, seqs, 2, teacher_logits, &st) != RG_OK) fail_msg("%s", rg_errmsg());
    check_close("LoRA loss", st.loss_sum / (double)st.tokens, cJSON_GetObjectItem(e, "lora_loss")->valuedouble);
    check_close("LoRA gap", st.gap_sum / (double)st.tokens, cJSON_GetObjectItem(e, "lora_gap")->valuedouble);
    char path[4400];
    snprintf(path, sizeof path, "%s/lora_grads.safetensors", dir);
    rg_st_file ref;
    assert_int_equal(rg_st_open(&ref, path), RG_OK);
    for (int l = 0; l < model.cfg.n_layers; l++)
        for (int m = 0; m < RG_LORA_N_MODULES; m++) {
            const rg_lora_slot *slot = rg_lora_slot_at(&tr.lora, l, (rg_lora_module)m);
            char name[256];
            rg_peft_tensor_name(name, sizeof name, l, (rg_lora_module)m, 'A');
            compare(&ref, name, tr.lora.grads + slot->a_offset, (size_t)slot->in * (size_t)tr.lora.rank);
            rg_peft_tensor_name(name, sizeof name, l, (rg_lora_module)m, 'B');
            compare(&ref, name, tr.lora.grads + slot->b_offset, (size_t)slot->out * (size_t)tr.lora.rank);
        }
    rg_st_close(&ref);
    rg_step_stats ss = {0};
    assert_int_equal(rg_trainer_apply(&tr, 2, &ss), RG_OK);
    /* the teacher (the base under the adapters) is untouched, bit for bit */
    assert_memory_equal(model.params, base_before, sizeof(float) * model.n_params);
    /* the base with the adapters merged (rg_lora_merge): its forward == the adapted student's */
    rg_model rollout;
    assert_int_equal(rg_model_load(&rollout, dir, RG_WEIGHTS_F32), RG_OK);
    assert_int_equal(rg_lora_merge(&tr.lora, &rollout), RG_OK);
    nn_jsd_config fkl = {.beta = 0.0f};
    rg_rgsd_sequence same_prompt[2] = {seqs[0], seqs[1]};
    for (int q = 0; q < 2; q++) {
        same_prompt[q].teacher_prompt = same_prompt[q].student_prompt;
        same_prompt[q].teacher_prompt_len = same_prompt[q].student_prompt_len;
    }
    /* the merged model as the teacher of the adapted student, same prompt: KL ~ 0 everywhere */
    rg_rgsd_stats same = {0};
    memset(tr.trainable_grads, 0, sizeof(float) * tr.n_trainable);
    assert_int_equal(rg_rgsd_accumulate(&tr, &rollout, &fkl, same_prompt, 2, teacher_logits, &same), RG_OK);
    if (fabs(same.loss_sum) > 1e-5 || fabs(same.gap_sum) > 1e-4)
        fail_msg("rollout model differs from the adapted student: KL sum %g, gap sum %g", same.loss_sum, same.gap_sum);
    rg_model_free(&rollout);
    free(teacher_logits);
    free(base_before);
    rg_trainer_free(&tr);
    rg_lora_free(&loaded);
    rg_model_free(&model);
    cJSON_Delete(root);
}

/* The whole step (rg_rgsd_step: rollouts, both passes, AdamW) with the teacher
 * prompt set equal to the student prompt and the teacher equal to the student:
 * if both passes score the same response ids at aligned positions, the
 * divergence and the gap are 0 at every position (a re-tokenised or shifted
 * response would not be). Then the teacher stays bit-identical while the
 * student moves, and the next step's loss is positive. Full and LoRA. */
static void whole_step(int lora_rank) {
    const char *dir = ref_dir("qwen3_untied");
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", dir);
    SKIP_UNLESS_FILE(path, "RGSD step reference (make refs with /usr/bin/python3 + torch)");
    rg_model student, teacher;
    assert_int_equal(rg_model_load(&student, dir, RG_WEIGHTS_F32), RG_OK);
    assert_int_equal(rg_model_load(&teacher, dir, RG_WEIGHTS_F32), RG_OK);
    float *teacher_before = malloc(sizeof(float) * teacher.n_params);
    memcpy(teacher_before, teacher.params, sizeof(float) * teacher.n_params);
    int32_t ids[3][6] = {{1, 5, 9, 3, 7, 11}, {4, 4, 8, 15, 16, 23}, {42, 7, 7, 1, 2, 3}};
    rg_rgsd_prompt prompts[3];
    for (int i = 0; i < 3; i++)
        prompts[i] = (rg_rgsd_prompt){.example = (size_t)i, .student_prompt = ids[i], .student_prompt_len = 6,
                                      .teacher_prompt = ids[i], .teacher_prompt_len = 6};
    rg_rgsd_data data = {.prompts = prompts, .n = 3, .max_prompt_len = 6};
    rg_trainer_config cfg = trainer_config(lora_rank);
    cfg.schedule.lr = 1e-2f;
    cfg.batch_size = 3;
    rg_trainer tr;
    assert_int_equal(rg_trainer_init(&tr, &student, &cfg, 6 + 8 + 1, 3), RG_OK);
    rg_rgsd_config rc = {.jsd = {.beta = 0.5f},
                         .gen = {.max_new = 8, .sample = {.temperature = 1.0f, .top_p = 1.0f}, .seed = 3, .batch = 2},
                         .think_open = -1, .think_close = -1, .end_token = -1};
    rg_rgsd_run run;
    assert_int_equal(rg_rgsd_run_init(&run, &tr, lora_rank ? NULL : &teacher, &rc), RG_OK);
    rg_rgsd_step_stats st;
    if (rg_rgsd_step(&run, &data, &st) != RG_OK) fail_msg("%s", rg_errmsg());
    assert_true(st.loss_tokens > 0 && st.response_tokens == st.loss_tokens);
    if (fabs(st.loss) > 1e-6 || fabs(st.gap) > 1e-6) fail_msg("same model, same prompt: loss %g, gap %g", st.loss, st.gap);
    assert_int_equal(tr.step, 1);
    /* that step's gradient was zero; now the teacher sees other prompts, so the student really moves */
    for (int i = 0; i < 3; i++) prompts[i].teacher_prompt = ids[(i + 1) % 3];
    if (rg_rgsd_step(&run, &data, &st) != RG_OK) fail_msg("%s", rg_errmsg());
    assert_true(st.loss > 1e-4);
    if (rg_rgsd_step(&run, &data, &st) != RG_OK) fail_msg("%s", rg_errmsg());
    assert_int_equal(tr.step, 3);
    /* A stop request (Ctrl-C, base/stop.h) abandons the next step and leaves the trainer as it was. */
    float *kept = malloc(sizeof(float) * tr.n_trainable * 2);
    memcpy(kept, tr.trainable, sizeof(float) * tr.n_trainable);
    memcpy(kept + tr.n_trainable, tr.opt.m, sizeof(float) * tr.n_trainable);
    uint64_t cursor = tr.cursor;
    rg_stop_requested = SIGINT;
    int stopped = rg_rgsd_step(&run, &data, &st);
    rg_stop_requested = 0;
    assert_int_equal(stopped, RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "interrupted"));
    assert_int_equal(tr.step, 3);
    assert_int_equal(tr.cursor, cursor);
    assert_memory_equal(tr.trainable, kept, sizeof(float) * tr.n_trainable);
    assert_memory_equal(tr.opt.m, kept + tr.n_trainable, sizeof(float) * tr.n_trainable);
    /* The same for a supervised step (rgsd sft): stopped between its sequences. */
    int32_t positions[5] = {0, 1, 2, 3, 4};
    rg_train_example examples[3];
    for (int i = 0; i < 3; i++)
        examples[i] = (rg_train_example){.ids = ids[i], .T = 6, .loss_positions = positions, .n_loss = 5};
    rg_step_stats sft;
    rg_stop_requested = SIGINT;
    stopped = rg_trainer_step(&tr, examples, &sft);
    rg_stop_requested = 0;
    assert_int_equal(stopped, RG_ERR);
    assert_int_equal(tr.step, 3);
    assert_int_equal(tr.cursor, cursor);
    assert_memory_equal(tr.trainable, kept, sizeof(float) * tr.n_trainable);
    free(kept);
    assert_memory_equal(teacher.params, teacher_before, sizeof(float) * teacher.n_params);
    if (lora_rank) assert_memory_equal(student.params, teacher_before, sizeof(float) * teacher.n_params);
    else assert_true(memcmp(student.params, teacher_before, sizeof(float) * teacher.n_params) != 0);
    rg_rgsd_run_free(&run);
    rg_trainer_free(&tr);
    free(teacher_before);
    rg_model_free(&teacher);
    rg_model_free(&student);
}

static void test_whole_step_full(void **state) { (void)state; whole_step(0); }
static void test_whole_step_lora(void **state) { (void)state; whole_step(4); }

static void test_full_qwen3(void **state) { (void)state; run_full("qwen3_untied"); }
static void test_full_qwen2_tied(void **state) { (void)state; run_full("qwen2_tied"); }
static void test_lora_qwen3(void **state) { (void)state; run_lora("qwen3_untied"); }
static void test_lora_qwen2_tied(void **state) { (void)state; run_lora("qwen2_tied"); }

/* The thinking mask by hand: spans, an unclosed span, a span opened by the prompt, no think tokens. */
static void test_think_mask(void **state) {
    (void)state;
    enum { O = 7, C = 8 };
    const int32_t y1[] = {1, 2, O, 3, 4, C, 5, 6};
    uint8_t mask[16];
    assert_int_equal(rg_rgsd_think_mask(y1, 8, O, C, 0, mask), 4);
    const uint8_t want1[] = {1, 1, 0, 0, 0, 0, 1, 1};
    assert_memory_equal(mask, want1, 8);
    const int32_t y2[] = {O, 3, 4, 5};
    assert_int_equal(rg_rgsd_think_mask(y2, 4, O, C, 0, mask), 0);
    const int32_t y3[] = {3, 4, C, 5, 6};
    assert_int_equal(rg_rgsd_think_mask(y3, 5, O, C, 1, mask), 2);
    const uint8_t want3[] = {0, 0, 0, 1, 1};
    assert_memory_equal(mask, want3, 5);
    assert_int_equal(rg_rgsd_think_mask(y1, 8, -1, -1, 0, mask), 8);
    const int32_t y4[] = {O, C, 1, O, 2, C, 3};
    assert_int_equal(rg_rgsd_think_mask(y4, 7, O, C, 0, mask), 2);
    const uint8_t want4[] = {0, 0, 1, 0, 0, 0, 1};
    assert_memory_equal(mask, want4, 7);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_think_mask),
        cmocka_unit_test(test_full_qwen3),
        cmocka_unit_test(test_full_qwen2_tied),
        cmocka_unit_test(test_lora_qwen3),
        cmocka_unit_test(test_lora_qwen2_tied),
        cmocka_unit_test(test_whole_step_full),
        cmocka_unit_test(test_whole_step_lora),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
