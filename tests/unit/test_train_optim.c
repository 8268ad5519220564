/* test_train_optim.c — AdamW and clipping against torch.optim.AdamW and
 * torch.nn.utils.clip_grad_norm_ (tests/ref/train_ref.py, optim.json), and
 * the LR schedules against values computed by hand from transformers'
 * formulas.
 * Tolerances: AdamW parameters |c - r| <= 1e-6 * max(1, |r|) after each of 4
 * steps (f32 both sides; decay on and off); clip norm and clipped grads 1e-6
 * relative; schedules 1e-7 relative. */
#include "test_util.h"

#include <cjson/cJSON.h>
#include <math.h>

#include "base/error.h"
#include "io/file.h"
#include "train/adamw.h"
#include "train/schedule.h"

static cJSON *load_optim(void) {
    static char path[2048];
    snprintf(path, sizeof path, "%.1000s/train/optim.json", test_ref_dir());
    if (access(path, R_OK) != 0) return NULL;
    char *text;
    size_t len;
    if (rg_read_file(path, &text, &len) != RG_OK) return NULL;
    cJSON *root = cJSON_Parse(text);
    free(text);
    return root;
}

static void read_vec(const cJSON *arr, float *out, int n) {
    assert_int_equal(cJSON_GetArraySize(arr), n);
    for (int i = 0; i < n; i++) out[i] = (float)cJSON_GetArrayItem(arr, i)->valuedouble;
}

static void adamw_case(const cJSON *c) {
    float p[12], g[12];
    read_vec(cJSON_GetObjectItem(c, "p0"), p, 12);
    rg_adamw_config cfg = {.beta1 = cJSON_GetObjectItem(c, "beta1")->valuedouble,
                           .beta2 = cJSON_GetObjectItem(c, "beta2")->valuedouble,
                           .eps = cJSON_GetObjectItem(c, "eps")->valuedouble,
                           .weight_decay = cJSON_GetObjectItem(c, "weight_decay")->valuedouble};
    double lr = cJSON_GetObjectItem(c, "lr")->valuedouble;
    rg_adamw opt;
    assert_int_equal(rg_adamw_init(&opt, 12), RG_OK);
    const cJSON *grads = cJSON_GetObjectItem(c, "grads"), *after = cJSON_GetObjectItem(c, "params_after");
    for (int step = 0; step < cJSON_GetArraySize(grads); step++) {
        read_vec(cJSON_GetArrayItem(grads, step), g, 12);
        /* two ranges, to check offsets: [0,5) and [5,12) */
        rg_adamw_update(&opt, p, g, 0, 5, lr, &cfg, 1);
        rg_adamw_update(&opt, p, g, 5, 7, lr, &cfg, 1);
        rg_adamw_finish_step(&opt);
        float want[12];
        read_vec(cJSON_GetArrayItem(after, step), want, 12);
        for (int i = 0; i < 12; i++)
            if (fabsf(p[i] - want[i]) > 1e-6f * fmaxf(1.0f, fabsf(want[i])))
                fail_msg("step %d element %d: %.9g vs torch %.9g", step + 1, i, p[i], want[i]);
    }
    assert_int_equal(opt.step, 4);
    rg_adamw_free(&opt);
}

static void test_adamw_vs_torch(void **state) {
    (void)state;
    cJSON *root = load_optim();
    if (!root) {
        fprintf(stderr, "skipped: optim.json (PyTorch reference) not found\n");
        skip();
    }
    adamw_case(cJSON_GetObjectItem(root, "adamw_wd"));
    adamw_case(cJSON_GetObjectItem(root, "adamw_nowd"));
    cJSON_Delete(root);
}

/* Decay off for a range = torch with weight_decay 0 on it. */
static void test_adamw_decay_mask(void **state) {
    (void)state;
    cJSON *root = load_optim();
    if (!root) skip();
    const cJSON *c = cJSON_GetObjectItem(root, "adamw_nowd");
    float p[12], g[12], want[12];
    read_vec(cJSON_GetObjectItem(c, "p0"), p, 12);
    rg_adamw_config cfg = {.beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8, .weight_decay = 0.5};
    rg_adamw opt;
    assert_int_equal(rg_adamw_init(&opt, 12), RG_OK);
    for (int step = 0; step < 4; step++) {
        read_vec(cJSON_GetArrayItem(cJSON_GetObjectItem(c, "grads"), step), g, 12);
        rg_adamw_update(&opt, p, g, 0, 12, 0.01, &cfg, 0);
        rg_adamw_finish_step(&opt);
    }
    read_vec(cJSON_GetArrayItem(cJSON_GetObjectItem(c, "params_after"), 3), want, 12);
    for (int i = 0; i < 12; i++) assert_true(fabsf(p[i] - want[i]) <= 1e-6f * fmaxf(1.0f, fabsf(want[i])));
    rg_adamw_free(&opt);
    cJSON_Delete(root);
}

static void test_clip_vs_torch(void **state) {
    (void)state;
    cJSON *root = load_optim();
    if (!root) skip();
    const cJSON *c = cJSON_GetObjectItem(root, "clip");
    float a[7], b[5], a_want[7], b_want[5];
    read_vec(cJSON_GetObjectItem(c, "a"), a, 7);
    read_vec(cJSON_GetObjectItem(c, "b"), b, 5);
    read_vec(cJSON_GetObjectItem(c, "a_after"), a_want, 7);
    read_vec(cJSON_GetObjectItem(c, "b_after"), b_want, 5);
    double norm = sqrt(rg_grad_sq_sum(a, 7) + rg_grad_sq_sum(b, 5));
    double want_norm = cJSON_GetObjectItem(c, "norm")->valuedouble;
    assert_true(fabs(norm - want_norm) <= 1e-6 * want_norm);
    float factor = rg_grad_clip_factor(norm, (float)cJSON_GetObjectItem(c, "max_norm")->valuedouble);
    assert_true(factor < 1.0f);
    rg_grad_scale(a, 7, factor);
    rg_grad_scale(b, 5, factor);
    for (int i = 0; i < 7; i++) assert_true(fabsf(a[i] - a_want[i]) <= 1e-6f * fmaxf(1.0f, fabsf(a_want[i])));
    for (int i = 0; i < 5; i++) assert_true(fabsf(b[i] - b_want[i]) <= 1e-6f * fmaxf(1.0f, fabsf(b_want[i])));
    assert_true(rg_grad_clip_factor(0.5, 1.0f) == 1.0f); /* under the limit: untouched */
    assert_true(rg_grad_clip_factor(5.0, 0.0f) == 1.0f); /* max_norm 0: clipping off */
    cJSON_Delete(root);
}

static void close_to(float got, double want) {
    if (fabs(got - want) > 1e-7 * fmax(1e-3, fabs(want))) fail_msg("lr %.9g, expected %.9g", got, want);
}

/* Hand-computed from transformers' lr_lambda formulas. */
static void test_schedules(void **state) {
    (void)state;
    rg_schedule s = {.kind = RG_SCHEDULE_COSINE, .lr = 1e-3f, .warmup_steps = 4, .total_steps = 14};
    close_to(rg_schedule_lr(&s, 0), 0.0);
    close_to(rg_schedule_lr(&s, 1), 0.25e-3);
    close_to(rg_schedule_lr(&s, 3), 0.75e-3);
    close_to(rg_schedule_lr(&s, 4), 1e-3);                                 /* cos(0) */
    close_to(rg_schedule_lr(&s, 9), 0.5e-3);                               /* half way: cos(pi/2) = 0 */
    close_to(rg_schedule_lr(&s, 6), 1e-3 * 0.5 * (1 + cos(M_PI * 0.2)));   /* 0.904508... e-3 */
    close_to(rg_schedule_lr(&s, 14), 0.0);
    close_to(rg_schedule_lr(&s, 20), 0.0);
    s.min_ratio = 0.1f;
    close_to(rg_schedule_lr(&s, 14), 1e-4);
    rg_schedule c = {.kind = RG_SCHEDULE_CONSTANT, .lr = 2e-5f, .warmup_steps = 0, .total_steps = 10};
    close_to(rg_schedule_lr(&c, 0), 2e-5);
    close_to(rg_schedule_lr(&c, 100), 2e-5);
    rg_schedule_kind kind;
    assert_int_equal(rg_schedule_parse("cosine", &kind), RG_OK);
    assert_int_equal(kind, RG_SCHEDULE_COSINE);
    assert_int_equal(rg_schedule_parse("linear-ish", &kind), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "linear-ish"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adamw_vs_torch),
        cmocka_unit_test(test_adamw_decay_mask),
        cmocka_unit_test(test_clip_vs_torch),
        cmocka_unit_test(test_schedules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
