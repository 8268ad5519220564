/* test_train_packed.c — a packed batch trains exactly as its sequences one by
 * one: five sequences of lengths 5, 64, 1, 23 and 40 (one with no loss
 * position, one at the model's full context) through ONE forward / chunked
 * CE head / backward give the loss and every gradient that five B = 1 calls
 * accumulate, on the tiny random models of test_train_grad (Qwen2 biases,
 * Qwen3 q/k norm, Llama 3 RoPE scaling, Llama MQA), full fine-tuning and
 * LoRA. A packed batch that let attention or RoPE positions leak across
 * segments changes every later segment's activations, so this fails then
 * (checked by hand by shifting the keys one row back: see docs/training.md).
 *
 * Tolerances (both f32, only the summation order differs):
 *   loss:                  |packed - single| <= 1e-6 * max(1, |single|)
 *   each gradient tensor:  max |packed - single| <= 1e-5 * max(1e-3, max |single|) */
#include "test_util.h"

#include <math.h>

#include "base/error.h"
#include "model/lora.h"
#include "model/model.h"
#include "model/train.h"

#define NSEQ 5
static const int LENS[NSEQ] = {5, 64, 1, 23, 40};

typedef struct {
    int32_t ids[256], targets[256], rows[256], starts[NSEQ + 1];
    int N, n_rows;
} packed;

/* Random ids; loss rows at every position with a next token, except every third. */
static void make_batch(packed *p, int V) {
    uint64_t x = 0x9E3779B97F4A7C15ull;
    p->N = p->n_rows = 0;
    p->starts[0] = 0;
    for (int s = 0; s < NSEQ; s++) {
        for (int t = 0; t < LENS[s]; t++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            p->ids[p->N + t] = (int32_t)((x >> 33) % (uint64_t)V);
        }
        for (int t = 0; t + 1 < LENS[s]; t++) {
            p->targets[p->N + t] = p->ids[p->N + t + 1];
            if ((p->N + t) % 3 != 0) p->rows[p->n_rows++] = p->N + t;
        }
        p->N += LENS[s];
        p->starts[s + 1] = p->N;
    }
}

/* Rows of segment s within p->rows (ascending, so a contiguous run). */
static void segment_rows(const packed *p, int s, int *first, int *count) {
    *first = 0;
    while (*first < p->n_rows && p->rows[*first] < p->starts[s]) ++*first;
    *count = 0;
    while (*first + *count < p->n_rows && p->rows[*first + *count] < p->starts[s + 1]) ++*count;
}

/* One call over the whole batch (packed) or one per sequence; returns the loss sum. */
static double run(const rg_model *m, rg_lora *lora, float *grads, const packed *p, int one_call) {
    rg_train_acts acts;
    assert_int_equal(rg_train_acts_alloc(&acts, &m->cfg, lora, one_call ? p->N : 64, 4), RG_OK);
    rg_ce_head head = {.targets = p->targets, .grad_scale = 1.0f / (float)p->n_rows};
    if (one_call) {
        assert_int_equal(rg_train_forward(m, lora, &acts, p->ids, p->starts, NSEQ), RG_OK);
        assert_int_equal(rg_train_head(m, grads, &acts, p->rows, p->n_rows, rg_ce_head_fn, &head, 1), RG_OK);
        assert_int_equal(rg_train_backward(m, lora, grads, &acts, p->ids), RG_OK);
    } else {
        for (int s = 0; s < NSEQ; s++) {
            int first, count, off = p->starts[s];
            segment_rows(p, s, &first, &count);
            int32_t rows[64], one[2] = {0, LENS[s]};
            for (int i = 0; i < count; i++) rows[i] = p->rows[first + i] - off;
            rg_ce_head h = {.targets = p->targets + off, .grad_scale = head.grad_scale};
            assert_int_equal(rg_train_forward(m, lora, &acts, p->ids + off, one, 1), RG_OK);
            assert_int_equal(rg_train_head(m, grads, &acts, rows, count, rg_ce_head_fn, &h, 1), RG_OK);
            assert_int_equal(rg_train_backward(m, lora, grads, &acts, p->ids + off), RG_OK);
            head.loss_sum += h.loss_sum;
        }
    }
    rg_train_acts_free(&acts);
    return head.loss_sum;
}

static void same_tensor(const char *what, const float *got, const float *want, size_t n) {
    double max_ref = 0, max_diff = 0;
    for (size_t i = 0; i < n; i++) {
        max_ref = fmax(max_ref, fabs(want[i]));
        max_diff = fmax(max_diff, fabs((double)got[i] - want[i]));
    }
    if (max_diff > 1e-5 * fmax(1e-3, max_ref))
        fail_msg("%s: packed differs from one-by-one by %.3g (max |g| %.3g)", what, max_diff, max_ref);
}

static void packed_equals_single(const char *variant, int use_lora) {
    char dir[2048];
    snprintf(dir, sizeof dir, "%.1000s/train/%.200s", test_ref_dir(), variant);
    char cfg_path[2100];
    snprintf(cfg_path, sizeof cfg_path, "%s/model.safetensors", dir);
    SKIP_UNLESS_FILE(cfg_path, "tiny training models (make refs)");
    rg_model m;
    assert_int_equal(rg_model_load(&m, dir, RG_WEIGHTS_F32), RG_OK);
    packed p;
    make_batch(&p, m.cfg.vocab_size);
    rg_lora lora;
    size_t n = m.n_params;
    if (use_lora) {
        assert_int_equal(rg_lora_init(&lora, &m.cfg, 4, 8.0f, RG_LORA_ALL_MODULES), RG_OK);
        rg_lora_init_weights(&lora, 7);
        for (size_t i = 0; i < lora.n_params; i++) lora.params[i] += 0.01f * (float)((i * 37) % 11) - 0.05f;
        n = lora.n_params;
    }
    float *single = calloc(n, sizeof(float)), *pack = calloc(n, sizeof(float));
    float *grads_s = use_lora ? NULL : single, *grads_p = use_lora ? NULL : pack;
    double loss_s = run(&m, use_lora ? &lora : NULL, grads_s, &p, 0);
    if (use_lora) memcpy(single, lora.grads, sizeof(float) * n), memset(lora.grads, 0, sizeof(float) * n);
    double loss_p = run(&m, use_lora ? &lora : NULL, grads_p, &p, 1);
    if (use_lora) memcpy(pack, lora.grads, sizeof(float) * n);
    if (fabs(loss_p - loss_s) > 1e-6 * fmax(1.0, fabs(loss_s)))
        fail_msg("%s: packed loss %.9g, one by one %.9g", variant, loss_p, loss_s);
    if (use_lora) {
        same_tensor("LoRA grads", pack, single, n);
    } else {
        for (int i = 0; i < m.n_entries; i++)
            same_tensor(m.entries[i].name, pack + m.entries[i].offset, single + m.entries[i].offset,
                        m.entries[i].numel);
    }
    free(single);
    free(pack);
    if (use_lora) rg_lora_free(&lora);
    rg_model_free(&m);
}

static void test_qwen2(void **state) { (void)state; packed_equals_single("qwen2_tied", 0); }
static void test_qwen3(void **state) { (void)state; packed_equals_single("qwen3_untied", 0); }
static void test_llama3(void **state) { (void)state; packed_equals_single("llama3_scaled", 0); }
static void test_llama_mqa(void **state) { (void)state; packed_equals_single("llama_tied_mqa", 0); }
static void test_lora_qwen3(void **state) { (void)state; packed_equals_single("qwen3_untied", 1); }

/* Bad batches: one-line errors, not a crash. */
static void test_bad_batches(void **state) {
    (void)state;
    char dir[2048];
    snprintf(dir, sizeof dir, "%.1000s/train/qwen3_untied", test_ref_dir());
    char path[2100];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    SKIP_UNLESS_FILE(path, "tiny training models (make refs)");
    rg_model m;
    assert_int_equal(rg_model_load(&m, dir, RG_WEIGHTS_F32), RG_OK);
    rg_train_acts acts;
    assert_int_equal(rg_train_acts_alloc(&acts, &m.cfg, NULL, 16, 4), RG_OK);
    int32_t ids[32] = {0};
    assert_int_equal(rg_train_forward(&m, NULL, &acts, ids, (int32_t[]){0, 4, 4}, 2), RG_ERR);  /* empty segment */
    assert_int_equal(rg_train_forward(&m, NULL, &acts, ids, (int32_t[]){1, 4}, 1), RG_ERR);     /* not from 0 */
    assert_int_equal(rg_train_forward(&m, NULL, &acts, ids, (int32_t[]){0, 9, 17}, 2), RG_ERR); /* > max_tokens */
    assert_int_equal(rg_train_forward(&m, NULL, &acts, ids, (int32_t[]){0, 9, 16}, 2), RG_OK);
    rg_train_acts_free(&acts);
    rg_model_free(&m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qwen2),      cmocka_unit_test(test_qwen3),     cmocka_unit_test(test_llama3),
        cmocka_unit_test(test_llama_mqa),  cmocka_unit_test(test_lora_qwen3), cmocka_unit_test(test_bad_batches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
