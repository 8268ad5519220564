/* test_train_grad.c — the training forward/backward against PyTorch autograd
 * (tests/ref/train_ref.py, float64) on tiny random models of each
 * architecture: Qwen2 (q/k/v bias, tied), Qwen3 (q/k norm, untied), Llama 3
 * (llama3 RoPE scaling, untied), Llama (MQA, tied).
 *
 * The batch: two sequences of different lengths (7 and 12) with per-position
 * loss masks, loss = token mean over the batch of the cross-entropy, trained
 * one sequence at a time with gradients accumulating (as SFT does), and the
 * LM head run in chunks of 3 positions (so chunk boundaries are exercised).
 *
 * Tolerances (f32 compute vs float64 reference):
 *   loss:                       |c - r| <= 1e-5 * max(1, |r|)
 *   each gradient tensor:       max |c - r| <= 2e-5 * max(1e-3, max |r|) over the tensor
 *   (full fine-tuning: every parameter of the model; LoRA: every lora_A and
 *   lora_B, base frozen in f32 and in bf16 — the bf16 reference runs on the
 *   bf16-decoded weights, so no storage error enters). */
#include "grad_ref.h"
#include "test_util.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <omp.h>

#include "base/error.h"
#include "io/file.h"
#include "io/safetensors.h"
#include "model/lora.h"
#include "model/model.h"
#include "model/train.h"
#include "train/checkpoint.h"

typedef struct {
    int n;
    int T[2];
    int32_t ids[2][64];
    int n_pos[2];
    int32_t pos[2][64];
    double loss, lora_loss, bf16_lora_loss;
} batch;

static const char *ref_dir(const char *variant) {
    static char buf[2048];
    snprintf(buf, sizeof buf, "%.1000s/train/%.200s", test_ref_dir(), variant);
    return buf;
}

/* dir/name into a static buffer (a second one from test_path's). */
static const char *in_dir(const char *dir, const char *name) {
    static char buf[8192];
    snprintf(buf, sizeof buf, "%.2100s/%.100s", dir, name);
    return buf;
}

static void load_batch(const char *variant, batch *b) {
    memset(b, 0, sizeof *b);
    char path[4200];
    snprintf(path, sizeof path, "%s/batch.json", ref_dir(variant));
    char *text;
    size_t len;
    assert_int_equal(rg_read_file(path, &text, &len), RG_OK);
    cJSON *root = cJSON_Parse(text);
    free(text);
    assert_non_null(root);
    const cJSON *seqs = cJSON_GetObjectItem(root, "sequences"), *pos = cJSON_GetObjectItem(root, "loss_positions");
    b->n = cJSON_GetArraySize(seqs);
    assert_int_equal(b->n, 2);
    for (int s = 0; s < b->n; s++) {
        const cJSON *seq = cJSON_GetArrayItem(seqs, s), *p = cJSON_GetArrayItem(pos, s);
        b->T[s] = cJSON_GetArraySize(seq);
        for (int t = 0; t < b->T[s]; t++) b->ids[s][t] = cJSON_GetArrayItem(seq, t)->valueint;
        b->n_pos[s] = cJSON_GetArraySize(p);
        for (int i = 0; i < b->n_pos[s]; i++) b->pos[s][i] = cJSON_GetArrayItem(p, i)->valueint;
    }
    b->loss = cJSON_GetObjectItem(root, "loss")->valuedouble;
    b->lora_loss = cJSON_GetObjectItem(root, "lora_loss")->valuedouble;
    const cJSON *bl = cJSON_GetObjectItem(root, "bf16_lora_loss");
    b->bf16_lora_loss = bl ? bl->valuedouble : NAN;
    cJSON_Delete(root);
}

/* Runs the batch through one packed forward, chunked CE head and backward
 * (both sequences in one call; the PyTorch reference runs them one by one, so
 * this also checks the packing). Returns the loss. */
static double run_batch(const rg_model *model, rg_lora *lora, float *grads, const batch *b) {
    rg_train_acts acts;
    assert_int_equal(rg_train_acts_alloc(&acts, &model->cfg, lora, 64, 3), RG_OK);
    long total = 0;
    int32_t ids[64], targets[64], rows[64], starts[3] = {0};
    int n_rows = 0;
    for (int s = 0; s < b->n; s++) {
        total += b->n_pos[s];
        memcpy(ids + starts[s], b->ids[s], sizeof(int32_t) * (size_t)b->T[s]);
        for (int t = 0; t + 1 < b->T[s]; t++) targets[starts[s] + t] = b->ids[s][t + 1];
        for (int i = 0; i < b->n_pos[s]; i++) rows[n_rows++] = starts[s] + b->pos[s][i];
        starts[s + 1] = starts[s] + b->T[s];
    }
    rg_ce_head head = {.targets = targets, .grad_scale = 1.0f / (float)total};
    assert_int_equal(rg_train_forward(model, lora, &acts, ids, starts, b->n), RG_OK);
    assert_int_equal(rg_train_head(model, grads, &acts, rows, n_rows, rg_ce_head_fn, &head, 1), RG_OK);
    assert_int_equal(rg_train_backward(model, lora, grads, &acts, ids), RG_OK);
    rg_train_acts_free(&acts);
    return head.loss_sum / (double)total;
}

/* Compares one gradient tensor; returns the relative error. */
static double compare(const rg_st_file *ref, const char *name, const float *got, size_t n) {
    return grad_ref_compare(ref, NULL, name, got, n, 2e-5);
}

static void check_loss(double got, double want) {
    if (fabs(got - want) > 1e-5 * fmax(1.0, fabs(want))) fail_msg("loss %.9g, reference %.9g", got, want);
}

static void full_grads(const char *variant) {
    const char *dir = ref_dir(variant);
    SKIP_UNLESS_FILE(in_dir(dir, "grads.safetensors"), "PyTorch training reference");
    batch b;
    load_batch(variant, &b);
    rg_model model;
    assert_int_equal(rg_model_load(&model, dir, RG_WEIGHTS_F32), RG_OK);
    float *grads = calloc(model.n_params, sizeof(float));
    check_loss(run_batch(&model, NULL, grads, &b), b.loss);
    rg_st_file ref;
    assert_int_equal(rg_st_open(&ref, in_dir(dir, "grads.safetensors")), RG_OK);
    assert_int_equal(ref.n_tensors, model.n_entries);
    double worst = 0;
    for (int i = 0; i < model.n_entries; i++) {
        const rg_param_entry *e = &model.entries[i];
        worst = fmax(worst, compare(&ref, e->name, grads + e->offset, e->numel));
    }
    fprintf(stderr, "%s: %d gradient tensors, worst relative error %.2e\n", variant, model.n_entries, worst);
    rg_st_close(&ref);
    free(grads);
    rg_model_free(&model);
}

static void lora_grads(const char *variant, rg_weight_dtype dtype, double want_loss) {
    char dir[2048], adapter[2100];
    snprintf(dir, sizeof dir, "%.2040s", ref_dir(variant));
    snprintf(adapter, sizeof adapter, "%.2040s/adapter", dir);
    SKIP_UNLESS_FILE(in_dir(adapter, "lora_grads.safetensors"), "PyTorch LoRA reference");
    batch b;
    const char *batch_variant = dtype == RG_WEIGHTS_BF16 ? "qwen2_tied" : variant;
    load_batch(batch_variant, &b);
    rg_model model;
    assert_int_equal(rg_model_load(&model, dir, dtype), RG_OK);
    rg_lora lora;
    if (rg_peft_load(&lora, &model.cfg, adapter) != RG_OK) fail_msg("%s", rg_errmsg());
    assert_int_equal(lora.rank, 4);
    double loss = run_batch(&model, &lora, NULL, &b);
    check_loss(loss, isnan(want_loss) ? b.lora_loss : want_loss);
    rg_st_file ref;
    assert_int_equal(rg_st_open(&ref, in_dir(adapter, "lora_grads.safetensors")), RG_OK);
    double worst = 0;
    char name[128];
    int n = 0;
    for (int l = 0; l < lora.n_layers; l++)
        for (int m = 0; m < RG_LORA_N_MODULES; m++) {
            const rg_lora_slot *s = rg_lora_slot_at(&lora, l, m);
            rg_peft_tensor_name(name, sizeof name, l, m, 'A');
            worst = fmax(worst, compare(&ref, name, lora.grads + s->a_offset, (size_t)lora.rank * s->in));
            rg_peft_tensor_name(name, sizeof name, l, m, 'B');
            worst = fmax(worst, compare(&ref, name, lora.grads + s->b_offset, (size_t)s->out * lora.rank));
            n += 2;
        }
    assert_int_equal(n, ref.n_tensors);
    fprintf(stderr, "%s LoRA (%s base): %d tensors, worst relative error %.2e\n", variant,
            dtype == RG_WEIGHTS_BF16 ? "bf16" : "f32", n, worst);
    rg_st_close(&ref);
    rg_lora_free(&lora);
    rg_model_free(&model);
}

static void test_full_qwen2(void **state) { (void)state; full_grads("qwen2_tied"); }
static void test_full_qwen3(void **state) { (void)state; full_grads("qwen3_untied"); }
static void test_full_llama3(void **state) { (void)state; full_grads("llama3_scaled"); }
static void test_full_llama_mqa(void **state) { (void)state; full_grads("llama_tied_mqa"); }
static void test_lora_qwen2(void **state) { (void)state; lora_grads("qwen2_tied", RG_WEIGHTS_F32, NAN); }
static void test_lora_qwen3(void **state) { (void)state; lora_grads("qwen3_untied", RG_WEIGHTS_F32, NAN); }
static void test_lora_llama3(void **state) { (void)state; lora_grads("llama3_scaled", RG_WEIGHTS_F32, NAN); }
static void test_lora_llama_mqa(void **state) { (void)state; lora_grads("llama_tied_mqa", RG_WEIGHTS_F32, NAN); }

static void test_lora_bf16_base(void **state) {
    (void)state;
    SKIP_UNLESS_FILE(in_dir(ref_dir("qwen2_tied"), "batch.json"), "PyTorch training reference");
    batch b;
    load_batch("qwen2_tied", &b);
    lora_grads("qwen2_tied_bf16", RG_WEIGHTS_BF16, b.bf16_lora_loss);
}

/* A fresh adapter (B = 0) leaves the model unchanged; switched off, the
 * model is the base whatever B holds (the RGSD teacher). */
static void test_lora_identity_and_switch(void **state) {
    (void)state;
    const char *dir = ref_dir("qwen3_untied");
    SKIP_UNLESS_FILE(in_dir(dir, "batch.json"), "PyTorch training reference");
    batch b;
    load_batch("qwen3_untied", &b);
    rg_model model;
    assert_int_equal(rg_model_load(&model, dir, RG_WEIGHTS_F32), RG_OK);
    rg_lora lora;
    assert_int_equal(rg_lora_init(&lora, &model.cfg, 2, 4.0f, RG_LORA_ALL_MODULES), RG_OK);
    rg_lora_init_weights(&lora, 7);
    check_loss(run_batch(&model, &lora, NULL, &b), b.loss);
    for (size_t i = 0; i < lora.n_params; i++) lora.params[i] = 0.5f; /* B != 0 now */
    lora.enabled = 0;
    rg_train_acts acts;
    assert_int_equal(rg_train_acts_alloc(&acts, &model.cfg, &lora, 16, 4), RG_OK);
    int32_t targets[64];
    for (int t = 0; t + 1 < b.T[0]; t++) targets[t] = b.ids[0][t + 1];
    rg_ce_head head = {.targets = targets, .grad_scale = 1.0f};
    assert_int_equal(rg_train_forward(&model, &lora, &acts, b.ids[0], (int32_t[]){0, b.T[0]}, 1), RG_OK);
    assert_int_equal(rg_train_head(&model, NULL, &acts, b.pos[0], b.n_pos[0], rg_ce_head_fn, &head, 0), RG_OK);
    rg_train_acts_free(&acts);
    rg_lora_free(&lora);
    /* same sequence through the base alone */
    assert_int_equal(rg_train_acts_alloc(&acts, &model.cfg, NULL, 16, 4), RG_OK);
    rg_ce_head base_head = {.targets = targets, .grad_scale = 1.0f};
    assert_int_equal(rg_train_forward(&model, NULL, &acts, b.ids[0], (int32_t[]){0, b.T[0]}, 1), RG_OK);
    assert_int_equal(rg_train_head(&model, NULL, &acts, b.pos[0], b.n_pos[0], rg_ce_head_fn, &base_head, 0), RG_OK);
    rg_train_acts_free(&acts);
    assert_true(head.loss_sum == base_head.loss_sum);
    rg_model_free(&model);
}

int main(void) {
    /* Tiny shapes: threads only add synchronisation (and slow a loaded machine). */
    omp_set_num_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_qwen2),      cmocka_unit_test(test_full_qwen3),
        cmocka_unit_test(test_full_llama3),     cmocka_unit_test(test_full_llama_mqa),
        cmocka_unit_test(test_lora_qwen2),      cmocka_unit_test(test_lora_qwen3),
        cmocka_unit_test(test_lora_llama3),     cmocka_unit_test(test_lora_llama_mqa),
        cmocka_unit_test(test_lora_bf16_base),  cmocka_unit_test(test_lora_identity_and_switch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
