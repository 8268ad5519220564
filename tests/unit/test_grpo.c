/* test_grpo.c — the GRPO baseline's numbers.
 *
 * 1. Advantages by hand: (r - mean) / (sample std + 1e-4), mean-centred with
 *    no std, a zero-std group -> exactly 0 (no NaN), G < 2 and a NaN reward
 *    are errors. Tolerance 1e-12 (double arithmetic on short sums).
 * 2. One GRPO step against PyTorch (tests/ref/grpo_ref.py, float64 autograd)
 *    on tiny random models (Qwen3 untied, Qwen2 tied): fixed prompts, G = 3
 *    fixed rollouts each, fixed rewards (one group all equal), fixed rollout
 *    log-probs (the policy's own + noise, so ratios != 1 and tokens clip);
 *    cases beta_kl 0.01 / eps 0.2, beta_kl 0.5 / eps 0.1, beta_kl 0 / no std;
 *    full fine-tuning (policy = a perturbed copy, reference = the base) and
 *    LoRA (reference = the base with adapters off). Checked:
 *      advantages (from rg_grpo_advantages) vs torch: |c - r| <= 1e-9
 *      loss, surrogate mean, k3 mean:  |c - r| <= 2e-5 * max(1, |r|)
 *      clipped token count: equal (no ratio within 2e-3 of a boundary)
 *      each gradient: max |c - r| <= 5e-5 * max(1e-3, max |r|) over the tensor
 *    and the reference weights are bit-identical after an optimizer step.
 * 3. pi_old: the rollout-time log-probs rg_generate reports per token (KV-cache
 *    inference path) equal log softmax at temperature 1, untruncated, of the
 *    training forward over prompt + y (rg_rgsd_response_logprobs), also when
 *    sampling at temperature 0.7 with top-p 0.9 and top-k 20: |c - r| <= 1e-4,
 *    and the end token's log-prob is reported when a rollout stops. */
#include "json_ref.h"
#include "grad_ref.h"
#include "test_util.h"

#include <cjson/cJSON.h>
#include <math.h>

#include "base/error.h"
#include "grpo/grpo.h"
#include "io/file.h"
#include "io/safetensors.h"
#include "model/generate.h"
#include "model/model.h"
#include "model/train.h"
#include "rgsd/rgsd.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

#define NSEQ 6

static void test_advantages_by_hand(void **state) {
    (void)state;
    /* G = 2, rewards {0, 1}: mean 0.5, sample std sqrt(0.5) */
    double r1[2] = {0.0, 1.0}, a1[2];
    int zero = -1;
    assert_int_equal(rg_grpo_advantages(r1, 1, 2, 1, a1, &zero), RG_OK);
    double want = 0.5 / (sqrt(0.5) + 1e-4);
    assert_true(fabs(a1[0] + want) < 1e-12 && fabs(a1[1] - want) < 1e-12);
    assert_int_equal(zero, 0);
    /* two groups of 4: {1, 0, 0, 0} (mean 0.25, sample std 0.5) and {0.3 x4} (zero std) */
    double r2[8] = {1, 0, 0, 0, 0.3, 0.3, 0.3, 0.3}, a2[8];
    assert_int_equal(rg_grpo_advantages(r2, 2, 4, 1, a2, &zero), RG_OK);
    assert_int_equal(zero, 1);
    assert_true(fabs(a2[0] - 0.75 / 0.5001) < 1e-12);
    for (int i = 1; i < 4; i++) assert_true(fabs(a2[i] + 0.25 / 0.5001) < 1e-12);
    for (int i = 4; i < 8; i++) assert_true(a2[i] == 0.0); /* exactly, not NaN */
    /* no std: mean-centred */
    assert_int_equal(rg_grpo_advantages(r2, 2, 4, 0, a2, NULL), RG_OK);
    assert_true(fabs(a2[0] - 0.75) < 1e-12 && fabs(a2[1] + 0.25) < 1e-12 && a2[5] == 0.0);
    /* errors */
    assert_int_equal(rg_grpo_advantages(r2, 8, 1, 1, a2, NULL), RG_ERR);
    r2[2] = NAN;
    assert_int_equal(rg_grpo_advantages(r2, 2, 4, 1, a2, NULL), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "reward 2 of group 0"));
}

/* The head alone at ratio 1 (old = lp), A = 1, no KL: loss = -1 per token and
 * the gradient is -(onehot - softmax) / N; a clipped token (A > 0, rho > 1.2)
 * gets gradient 0. Softmax by hand for V = 3. */
static void test_head_by_hand(void **state) {
    (void)state;
    float logits[2 * 3] = {0.0f, 1.0f, 2.0f, 0.5f, 0.5f, 0.5f};
    double lse0 = log(exp(0.0) + exp(1.0) + exp(2.0));
    int32_t targets[2] = {1, 2};
    float old[2] = {(float)(1.0 - lse0), (float)(log(1.0 / 3.0) - 0.5)}; /* second: rho = e^0.5 > 1.2 */
    rg_grpo_head h = {.targets = targets, .old_logprobs = old, .advantage = 1.0f,
                      .cfg = {.clip_eps = 0.2f, .kl_coef = 0.0f}, .grad_scale = 0.5f, .with_grad = 1};
    int32_t pos[2] = {0, 1};
    assert_int_equal(rg_grpo_head_fn(&h, pos, 2, logits, 3), RG_OK);
    assert_int_equal(h.stats.clipped, 1);
    assert_int_equal(h.stats.tokens, 2);
    assert_true(fabs(h.stats.loss_sum - (-1.0 - 1.2)) < 1e-5);
    for (int v = 0; v < 3; v++) {
        double p = exp((double)v - lse0);
        double want = -0.5 * ((v == 1) - p);
        assert_true(fabs(logits[v] - want) < 1e-6);
        assert_true(logits[3 + v] == 0.0f);
    }
}

static const char *ref_dir(const char *variant) {
    static char buf[2048];
    snprintf(buf, sizeof buf, "%.1000s/grpo/%.200s", test_ref_dir(), variant);
    return buf;
}

typedef struct {
    int32_t prompt[NSEQ][16], resp[NSEQ][16];
    int prompt_len[NSEQ], resp_len[NSEQ];
    float old[NSEQ][16];
    double rewards[NSEQ];
    int G;
} grpo_batch;

static cJSON *load_ref(const char *variant, grpo_batch *b) {
    char path[4200];
    snprintf(path, sizeof path, "%s/grpo.json", ref_dir(variant));
    SKIP_UNLESS_FILE(path, "GRPO step reference (make refs with /usr/bin/python3 + torch)");
    cJSON *root = json_ref_load(path);
    b->G = cJSON_GetObjectItem(root, "group_size")->valueint;
    const cJSON *batch = cJSON_GetObjectItem(root, "batch");
    assert_int_equal(cJSON_GetArraySize(batch), NSEQ);
    for (int s = 0; s < NSEQ; s++) {
        const cJSON *e = cJSON_GetArrayItem(batch, s);
        b->prompt_len[s] = json_ref_ids(cJSON_GetObjectItem(e, "prompt"), b->prompt[s]);
        b->resp_len[s] = json_ref_ids(cJSON_GetObjectItem(e, "response"), b->resp[s]);
        json_ref_floats(cJSON_GetObjectItem(e, "old_logprobs"), b->old[s]);
        b->rewards[s] = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "rewards"), s)->valuedouble;
    }
    return root;
}

static void compare(const rg_st_file *ref, const char *name, const float *got, size_t n) {
    grad_ref_compare(ref, NULL, name, got, n, 5e-5);
}

static void check_close(const char *what, double got, double want) {
    if (fabs(got - want) > 2e-5 * fmax(1.0, fabs(want))) fail_msg("%s %.9g, reference %.9g", what, got, want);
}

static rg_trainer_config trainer_config(int lora_rank) {
    rg_trainer_config cfg = {.lora_rank = lora_rank, .lora_alpha = 8.0f, .lora_targets = RG_LORA_ALL_MODULES,
                             .adam = {.beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f},
                             .schedule = {.lr = 1e-3f, .total_steps = 10}, .batch_size = 2, .grad_accum = 1,
                             .head_chunk = 3};
    return cfg;
}

/* Advantages from the rewards (checked against the reference's), then the sequences. */
static void make_sequences(const grpo_batch *b, const cJSON *c, float old_override[NSEQ][16],
                           rg_grpo_sequence seqs[NSEQ]) {
    double adv[NSEQ];
    int scale = cJSON_IsTrue(cJSON_GetObjectItem(c, "scale_by_std"));
    assert_int_equal(rg_grpo_advantages(b->rewards, NSEQ / b->G, b->G, scale, adv, NULL), RG_OK);
    const cJSON *want = cJSON_GetObjectItem(c, "advantages");
    for (int s = 0; s < NSEQ; s++) {
        if (fabs(adv[s] - cJSON_GetArrayItem(want, s)->valuedouble) > 1e-9)
            fail_msg("advantage %d: %.12g, torch %.12g", s, adv[s], cJSON_GetArrayItem(want, s)->valuedouble);
        seqs[s] = (rg_grpo_sequence){.prompt = b->prompt[s], .prompt_len = b->prompt_len[s], .response = b->resp[s],
                                     .response_len = b->resp_len[s],
                                     .old_logprobs = old_override ? old_override[s] : b->old[s],
                                     .advantage = (float)adv[s]};
    }
}

static void check_stats(const rg_grpo_stats *st, const cJSON *want, const char *what) {
    char name[64];
    snprintf(name, sizeof name, "%s loss", what);
    check_close(name, st->head.loss_sum / (double)st->head.tokens, cJSON_GetObjectItem(want, "loss")->valuedouble);
    snprintf(name, sizeof name, "%s surrogate", what);
    check_close(name, st->head.surrogate_sum / (double)st->head.tokens,
                cJSON_GetObjectItem(want, "surrogate")->valuedouble);
    snprintf(name, sizeof name, "%s kl", what);
    check_close(name, st->head.kl_sum / (double)st->head.tokens, cJSON_GetObjectItem(want, "kl")->valuedouble);
    if (st->head.clipped != cJSON_GetObjectItem(want, "clipped")->valueint)
        fail_msg("%s: %ld tokens clipped, reference %d", what, st->head.clipped,
                 cJSON_GetObjectItem(want, "clipped")->valueint);
}

static void run_full(const char *variant) {
    grpo_batch b;
    cJSON *root = load_ref(variant, &b);
    const char *dir = ref_dir(variant);
    rg_model reference;
    assert_int_equal(rg_model_load(&reference, dir, RG_WEIGHTS_F32), RG_OK);
    float *reference_before = malloc(sizeof(float) * reference.n_params);
    memcpy(reference_before, reference.params, sizeof(float) * reference.n_params);
    const cJSON *cases = cJSON_GetObjectItem(root, "cases");
    for (int c = 0; c < cJSON_GetArraySize(cases); c++) {
        const cJSON *e = cJSON_GetArrayItem(cases, c);
        const char *name = cJSON_GetObjectItem(e, "name")->valuestring;
        rg_grpo_loss_config lc = {.clip_eps = (float)cJSON_GetObjectItem(e, "eps")->valuedouble,
                                  .kl_coef = (float)cJSON_GetObjectItem(e, "beta")->valuedouble};
        rg_grpo_sequence seqs[NSEQ];
        make_sequences(&b, e, NULL, seqs);
        rg_model policy;
        assert_int_equal(rg_model_load(&policy, dir, RG_WEIGHTS_F32), RG_OK);
        char path[4400];
        snprintf(path, sizeof path, "%s/policy.safetensors", dir);
        rg_st_file pw;
        assert_int_equal(rg_st_open(&pw, path), RG_OK);
        for (int i = 0; i < policy.n_entries; i++) {
            const rg_param_entry *pe = &policy.entries[i];
            const rg_tensor *t = rg_st_find(&pw, pe->name);
            if (!t) fail_msg("%s: %s missing", path, pe->name);
            assert_int_equal(rg_tensor_to_f32(t, policy.params + pe->offset, pe->numel), RG_OK);
        }
        rg_st_close(&pw);
        rg_trainer_config cfg = trainer_config(0);
        rg_trainer tr;
        assert_int_equal(rg_trainer_init(&tr, &policy, &cfg, 32, 2), RG_OK);
        double scratch[32]; /* acts.max_tokens: one packed micro-batch's rows */
        memset(tr.trainable_grads, 0, sizeof(float) * tr.n_trainable);
        rg_grpo_stats st = {0};
        if (rg_grpo_accumulate(&tr, &reference, &lc, seqs, NSEQ, scratch, &st) != RG_OK) fail_msg("%s", rg_errmsg());
        check_stats(&st, e, name);
        if (lc.kl_coef == 0.0f) assert_int_equal(st.skipped, 3); /* the zero-std group: no forward */
        snprintf(path, sizeof path, "%s/grads_%s.safetensors", dir, name);
        rg_st_file ref;
        assert_int_equal(rg_st_open(&ref, path), RG_OK);
        for (int i = 0; i < policy.n_entries; i++) {
            const rg_param_entry *pe = &policy.entries[i];
            compare(&ref, pe->name, tr.grads + pe->offset, pe->numel);
        }
        rg_st_close(&ref);
        rg_step_stats ss = {0};
        assert_int_equal(rg_trainer_apply(&tr, 2, &ss), RG_OK);
        assert_memory_equal(reference.params, reference_before, sizeof(float) * reference.n_params);
        rg_trainer_free(&tr);
        rg_model_free(&policy);
    }
    free(reference_before);
    rg_model_free(&reference);
    cJSON_Delete(root);
}

static void run_lora(const char *variant) {
    grpo_batch b;
    cJSON *root = load_ref(variant, &b);
    const char *dir = ref_dir(variant);
    const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "cases"), 0);
    const cJSON *want = cJSON_GetObjectItem(root, "lora");
    float old[NSEQ][16];
    const cJSON *olds = cJSON_GetObjectItem(want, "old_logprobs");
    for (int s = 0; s < NSEQ; s++) json_ref_floats(cJSON_GetArrayItem(olds, s), old[s]);
    rg_grpo_sequence seqs[NSEQ];
    make_sequences(&b, e, old, seqs);
    rg_grpo_loss_config lc = {.clip_eps = (float)cJSON_GetObjectItem(e, "eps")->valuedouble,
                              .kl_coef = (float)cJSON_GetObjectItem(e, "beta")->valuedouble};
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
    memcpy(tr.lora.params, loaded.params, sizeof(float) * loaded.n_params);
    double scratch[32]; /* acts.max_tokens: one packed micro-batch's rows */
    memset(tr.trainable_grads, 0, sizeof(float) * tr.n_trainable);
    rg_grpo_stats st = {0};
    if (rg_grpo_accumulate(&tr, NULL, &lc, seqs, NSEQ, scratch, &st) != RG_OK) fail_msg("%s", rg_errmsg());
    check_stats(&st, want, "LoRA");
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
    assert_memory_equal(model.params, base_before, sizeof(float) * model.n_params);
    free(base_before);
    rg_trainer_free(&tr);
    rg_lora_free(&loaded);
    rg_model_free(&model);
    cJSON_Delete(root);
}

/* 8 rollouts of 2 prompts; returns how many stopped on the end token. */
static int rollout_logprobs_case(const rg_model *model, rg_train_acts *acts, rg_sample_params sample) {
    int32_t p0[5] = {3, 14, 15, 92, 65}, p1[3] = {35, 89, 79};
    const int32_t *prompts[8];
    int lens[8];
    for (int i = 0; i < 8; i++) prompts[i] = i % 2 ? p1 : p0, lens[i] = i % 2 ? 3 : 5;
    /* the config's one eos id (2) is the only end token: y gets it appended when a rollout stopped */
    assert_int_equal(model->cfg.n_eos, 1);
    int32_t stop[1] = {model->cfg.eos_ids[0]};
    rg_gen_options o = {.max_new = 20, .sample = sample, .seed = 11, .batch = 4};
    rg_gen_result res[8];
    int stopped = 0;
    assert_int_equal(rg_generate(model, 8, prompts, lens, &o, res, NULL, NULL), RG_OK);
    for (int i = 0; i < 8; i++) {
        int32_t y[24];
        stopped += res[i].stopped;
        int n = res[i].n_tokens;
        memcpy(y, res[i].tokens, sizeof(int32_t) * (size_t)n);
        if (res[i].stopped) y[n++] = stop[0];
        double want[24], sum = 0;
        assert_int_equal(rg_rgsd_response_logprobs(model, acts, prompts[i], lens[i], y, n, want), RG_OK);
        for (int t = 0; t < n; t++) {
            if (fabs(res[i].logprobs[t] - want[t]) > 1e-4)
                fail_msg("rollout %d token %d: rollout log-prob %.6f, training forward %.6f", i, t, res[i].logprobs[t],
                         want[t]);
            sum += res[i].logprobs[t];
        }
        assert_true(fabs(sum - res[i].sum_logprob) < 1e-3);
    }
    rg_gen_results_free(res, 8);
    return stopped;
}

static void test_rollout_logprobs(void **state) {
    (void)state;
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", ref_dir("qwen3_untied"));
    SKIP_UNLESS_FILE(path, "GRPO step reference (make refs with /usr/bin/python3 + torch)");
    rg_model model;
    assert_int_equal(rg_model_load(&model, ref_dir("qwen3_untied"), RG_WEIGHTS_F32), RG_OK);
    rg_train_acts acts;
    assert_int_equal(rg_train_acts_alloc(&acts, &model.cfg, NULL, 32, 8), RG_OK);
    int stopped = rollout_logprobs_case(&model, &acts, (rg_sample_params){.temperature = 1.0f, .top_p = 1.0f});
    stopped += rollout_logprobs_case(&model, &acts, (rg_sample_params){.temperature = 0.7f, .top_k = 20, .top_p = 0.9f});
    if (stopped == 0) fail_msg("no rollout stopped: the end token's log-prob went unchecked (change the seed)");
    rg_train_acts_free(&acts);
    rg_model_free(&model);
}

static void test_full_qwen3(void **state) { (void)state; run_full("qwen3_untied"); }
static void test_full_qwen2_tied(void **state) { (void)state; run_full("qwen2_tied"); }
static void test_lora_qwen3(void **state) { (void)state; run_lora("qwen3_untied"); }
static void test_lora_qwen2_tied(void **state) { (void)state; run_lora("qwen2_tied"); }

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_advantages_by_hand), cmocka_unit_test(test_head_by_hand),
        cmocka_unit_test(test_rollout_logprobs),
        cmocka_unit_test(test_full_qwen3),         cmocka_unit_test(test_full_qwen2_tied),
        cmocka_unit_test(test_lora_qwen3),         cmocka_unit_test(test_lora_qwen2_tied),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
