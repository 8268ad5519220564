/* test_train_decay.c — the weight-decay mask at trainer level: a full
 * fine-tuning step decays every matrix (embeddings, projections, the lm_head)
 * and nothing else (norm weights, biases), as adamw.h states.
 *
 * Why at trainer level: test_train_optim checks rg_adamw_update with the
 * decay flag given; the mask is chosen in rg_trainer_apply, and a mutation
 * that decayed every parameter passed the whole suite (issue 10).
 *
 * How: zero gradients make Adam's own update exactly 0 (m = v = 0, so
 * m / (sqrt(v) + eps) = 0), so after one step with lr 0.1 and weight decay
 * 0.5 a decayed tensor is exactly p * (float)(1 - 0.05) and any other is
 * unchanged, bit for bit. Runs on qwen2_tied (q/k/v biases, tied embedding)
 * and qwen3_untied (q/k norms, separate lm_head). */
#include "test_util.h"

#include <string.h>

#include "base/error.h"
#include "model/model.h"
#include "train/trainer.h"

static const char *model_dir(const char *variant) {
    static char buf[2048];
    snprintf(buf, sizeof buf, "%.1000s/train/%.100s", test_ref_dir(), variant);
    return buf;
}

static void decay_mask(const char *variant) {
    char probe[2100];
    snprintf(probe, sizeof probe, "%s/config.json", model_dir(variant));
    SKIP_UNLESS_FILE(probe, "training reference models (tests/ref/train_ref.py)");
    rg_model model;
    assert_int_equal(rg_model_load(&model, model_dir(variant), RG_WEIGHTS_F32), RG_OK);
    const double lr = 0.1, wd = 0.5;
    rg_trainer_config cfg = {
        .adam = {.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = wd},
        .schedule = {.kind = RG_SCHEDULE_CONSTANT, .lr = (float)lr, .total_steps = 10},
        .batch_size = 1, .grad_accum = 1, .seed = 1, .head_chunk = 4,
    };
    rg_trainer t;
    assert_int_equal(rg_trainer_init(&t, &model, &cfg, 8, 1), RG_OK);
    assert_ptr_equal(t.trainable, model.params); /* full fine-tuning updates the model in place */
    float *before = malloc(sizeof(float) * model.n_params);
    assert_non_null(before);
    memcpy(before, model.params, sizeof(float) * model.n_params);
    memset(t.trainable_grads, 0, sizeof(float) * t.n_trainable);
    rg_step_stats st;
    memset(&st, 0, sizeof st);
    if (rg_trainer_apply(&t, 1, &st) != RG_OK) fail_msg("%s", rg_errmsg());
    const float factor = (float)(1.0 - lr * wd); /* as adamw.c computes it */
    int decayed = 0, kept = 0;
    for (int i = 0; i < model.n_entries; i++) {
        const rg_param_entry *e = &model.entries[i];
        int matrix = e->ndim == 2, nonzero = 0;
        for (size_t j = 0; j < e->numel; j++) {
            float was = before[e->offset + j], now = model.params[e->offset + j];
            float want = matrix ? was * factor : was;
            nonzero |= was != 0.0f;
            if (now != want)
                fail_msg("%s: %s[%zu] = %.9g after a zero-gradient step, want %.9g (%s)", variant, e->name, j,
                         (double)now, (double)want, matrix ? "a matrix decays" : "norms and biases never decay");
        }
        /* an all-zero tensor looks the same decayed or not: count only those that tell */
        if (nonzero) (matrix ? &decayed : &kept)[0]++;
    }
    assert_true(decayed > 0 && kept > 0);
    fprintf(stderr, "%s: %d matrices decayed by %.2f, %d norms/biases kept\n", variant, decayed, (double)factor, kept);
    free(before);
    rg_trainer_free(&t);
    rg_model_free(&model);
}

static void test_decay_mask_qwen2(void **s) { (void)s; decay_mask("qwen2_tied"); }
static void test_decay_mask_qwen3(void **s) { (void)s; decay_mask("qwen3_untied"); }

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decay_mask_qwen2),
        cmocka_unit_test(test_decay_mask_qwen3),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
