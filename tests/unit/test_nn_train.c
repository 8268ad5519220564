/* test_nn_train.c — the training-side kernels of src/nn against PyTorch
 * (tests/ref/nn_ref.py, nn_train.safetensors):
 * - LoRA forward / backward / merge (nn/lora.c) by float64 autograd of
 *   y = y0 + s (x A^T) B^T, and W + s B A; N = 1, 9, 70; r = 2, 4, 8.
 *   Tolerances: values atol 1e-5 + rtol 1e-5, gradients atol 1e-5 + rtol 1e-4
 *   (as test_nn_dense: f32 sgemm sums of up to 70 terms). Backward starts
 *   every gradient at ACC_START and subtracts it, so overwriting fails.
 * - The policy-gradient token head (nn/policy_loss.c) by float64 autograd of
 *   sum(surr + beta k3) * grad_scale: A > 0 and < 0, eps 0.1 / 0.2, beta 0,
 *   0.01, 0.5, V = 37..1000, no ratio within 2e-3 of a clip boundary.
 *   Sums |c - r| <= 1e-5 (1 + |r|) (double per row from the same f32
 *   logits and log-probs), clipped count exact, dlogits atol 1e-6 + rtol
 *   1e-4; also in place, without a gradient, and a bad target.
 * - AdamW (nn/optim.c) against torch.optim.AdamW itself (f32, single-tensor
 *   path) after 5 steps with a changing lr, decay on and off: params and
 *   both moments |c - r| <= 1e-6 max(1e-6, |r|) (the same f32 operations in
 *   the same order). nn_sum_sq and nn_scale by hand. */
#include "base/error.h"
#include "nn/nn.h"
#include "nn_ref_reader.h"

#define FWD_ATOL 1e-5
#define FWD_RTOL 1e-5
#define GRAD_ATOL 1e-5
#define GRAD_RTOL 1e-4
#define ACC_START 0.5f

static void add_all(float *a, size_t n, float value) {
    for (size_t i = 0; i < n; i++) a[i] += value;
}

static void lora_matches_torch(void **state) {
    (void)state;
    ref_file f;
    ref_open(&f, "nn_train.safetensors");
    for (int i = 0; i < 3; i++) {
        char c[32];
        snprintf(c, sizeof c, "lora%d", i);
        int32_t *shape = ref_i32(&f, ref_name(c, "shape"), NULL);
        const int N = shape[0], in = shape[1], out = shape[2], r = shape[3];
        free(shape);
        const size_t nx = (size_t)N * in, nA = (size_t)r * in, nB = (size_t)out * r, ny = (size_t)N * out;
        float *x = ref_f32(&f, ref_name(c, "x"), NULL), *A = ref_f32(&f, ref_name(c, "A"), NULL);
        float *B = ref_f32(&f, ref_name(c, "B"), NULL), *y = ref_f32(&f, ref_name(c, "y0"), NULL);
        float *dy = ref_f32(&f, ref_name(c, "dy"), NULL), *W = ref_f32(&f, ref_name(c, "W"), NULL);
        const float s = (float)ref_scalar(&f, ref_name(c, "scaling"));
        float *xa = malloc((size_t)N * r * sizeof(float)), *scratch = malloc((size_t)N * r * sizeof(float));
        float *dx = calloc(nx, sizeof(float)), *dA = calloc(nA, sizeof(float)), *dB = calloc(nB, sizeof(float));
        nn_lora_forward(y, xa, x, A, B, s, N, in, out, r);
        check_ref(&f, c, "y", y, ny, FWD_ATOL, FWD_RTOL);
        check_ref(&f, c, "xa", xa, (size_t)N * r, FWD_ATOL, FWD_RTOL);
        add_all(dx, nx, ACC_START), add_all(dA, nA, ACC_START), add_all(dB, nB, ACC_START);
        nn_lora_backward(dx, dA, dB, scratch, dy, x, xa, A, B, s, N, in, out, r);
        add_all(dx, nx, -ACC_START), add_all(dA, nA, -ACC_START), add_all(dB, nB, -ACC_START);
        check_ref(&f, c, "dx", dx, nx, GRAD_ATOL, GRAD_RTOL);
        check_ref(&f, c, "dA", dA, nA, GRAD_ATOL, GRAD_RTOL);
        check_ref(&f, c, "dB", dB, nB, GRAD_ATOL, GRAD_RTOL);
        /* dx NULL: the weights' gradients alone (the first adapted layer's input needs none) */
        float *dA2 = calloc(nA, sizeof(float)), *dB2 = calloc(nB, sizeof(float));
        nn_lora_backward(NULL, dA2, dB2, scratch, dy, x, xa, A, B, s, N, in, out, r);
        check_ref(&f, c, "dA", dA2, nA, GRAD_ATOL, GRAD_RTOL);
        nn_lora_merge(W, A, B, s, in, out, r);
        check_ref(&f, c, "merged", W, (size_t)out * in, FWD_ATOL, FWD_RTOL);
        free(x); free(A); free(B); free(y); free(dy); free(W); free(xa); free(scratch);
        free(dx); free(dA); free(dB); free(dA2); free(dB2);
    }
    ref_close(&f);
}

static void check_sums(const char *c, const nn_policy_loss_stats *st, const double *want) {
    const double got[4] = {st->loss_sum, st->surrogate_sum, st->kl_sum, st->ratio_sum};
    static const char *const names[4] = {"loss", "surrogate", "kl", "ratio"};
    for (int k = 0; k < 4; k++)
        if (fabs(got[k] - want[k]) > 1e-5 * (1 + fabs(want[k])))
            fail_msg("%s %s sum: %.9g, reference %.9g", c, names[k], got[k], want[k]);
    if ((double)st->clipped != want[4]) fail_msg("%s: %ld clipped, reference %g", c, st->clipped, want[4]);
}

static void policy_loss_matches_torch(void **state) {
    (void)state;
    ref_file f;
    ref_open(&f, "nn_train.safetensors");
    const int cases = (int)ref_scalar(&f, "policy/cases");
    assert_true(cases >= 4);
    long clipped_total = 0;
    for (int i = 0; i < cases; i++) {
        char c[32];
        snprintf(c, sizeof c, "policy%d", i);
        double *cfg = ref_f64(&f, ref_name(c, "config"), NULL), *sums = ref_f64(&f, ref_name(c, "sums"), NULL);
        double *ref = ref_f64(&f, ref_name(c, "ref"), NULL);
        size_t n, N;
        float *logits = ref_f32(&f, ref_name(c, "logits"), &n), *old = ref_f32(&f, ref_name(c, "old"), NULL);
        int32_t *targets = ref_i32(&f, ref_name(c, "targets"), &N);
        const int V = (int)(n / N);
        const float A = (float)cfg[0], grad_scale = (float)cfg[3];
        const nn_policy_loss_config config = {.clip_eps = (float)cfg[1], .kl_coef = (float)cfg[2]};
        const double *ref_lp = config.kl_coef > 0 ? ref : NULL;
        float *dlogits = malloc(n * sizeof(float));
        nn_policy_loss_stats st = {0};
        assert_int_equal(
            nn_policy_loss(dlogits, &st, logits, targets, old, ref_lp, A, &config, grad_scale, (int)N, V), RG_OK);
        check_sums(c, &st, sums);
        assert_int_equal(st.count, (long)N);
        check_ref(&f, c, "dlogits", dlogits, n, 1e-6, 1e-4);
        clipped_total += st.clipped;
        /* no gradient: same sums; then in place, two chunks, as the LM head loop runs it */
        nn_policy_loss_stats nograd = {0}, chunked = {0};
        assert_int_equal(nn_policy_loss(NULL, &nograd, logits, targets, old, ref_lp, A, &config, grad_scale, (int)N, V),
                         RG_OK);
        assert_true(nograd.loss_sum == st.loss_sum && nograd.clipped == st.clipped);
        const int half = (int)N / 2;
        assert_int_equal(nn_policy_loss(logits, &chunked, logits, targets, old, ref_lp, A, &config, grad_scale, half, V),
                         RG_OK);
        assert_int_equal(nn_policy_loss(logits + (size_t)half * V, &chunked, logits + (size_t)half * V, targets + half,
                                        old + half, ref_lp ? ref_lp + half : NULL, A, &config, grad_scale,
                                        (int)N - half, V),
                         RG_OK);
        check_sums(c, &chunked, sums);
        check_ref(&f, c, "dlogits", logits, n, 1e-6, 1e-4);
        /* a target outside the vocabulary is an error, not a read out of bounds */
        targets[0] = V;
        assert_int_equal(nn_policy_loss(NULL, &st, dlogits, targets, old, ref_lp, A, &config, 1.0f, (int)N, V), RG_ERR);
        assert_non_null(strstr(rg_errmsg(), "outside the vocabulary"));
        free(cfg); free(sums); free(ref); free(logits); free(old); free(targets); free(dlogits);
    }
    assert_true(clipped_total > 0); /* the cases reach the clipped branch */
    ref_close(&f);
}

static void adamw_matches_torch(void **state) {
    (void)state;
    ref_file f;
    ref_open(&f, "nn_train.safetensors");
    for (int i = 0; i < 2; i++) {
        char c[32];
        snprintf(c, sizeof c, "adamw%d", i);
        double *cfg = ref_f64(&f, ref_name(c, "config"), NULL);
        size_t n, steps;
        double *lrs = ref_f64(&f, ref_name(c, "lrs"), &steps);
        float *p = ref_f32(&f, ref_name(c, "p0"), &n), *grads = ref_f32(&f, ref_name(c, "grads"), NULL);
        const nn_adamw_config config = {.beta1 = cfg[0], .beta2 = cfg[1], .eps = cfg[2], .weight_decay = cfg[3]};
        float *m = calloc(n, sizeof(float)), *v = calloc(n, sizeof(float));
        for (size_t t = 0; t < steps; t++)
            nn_adamw_step(p, m, v, grads + t * n, n, &config, lrs[t], (long)t + 1, config.weight_decay > 0);
        check_ref(&f, c, "p", p, n, 1e-12, 1e-6);
        check_ref(&f, c, "m", m, n, 1e-12, 1e-6);
        check_ref(&f, c, "v", v, n, 1e-12, 1e-6);
        free(cfg); free(lrs); free(p); free(grads); free(m); free(v);
    }
    ref_close(&f);
}

static void sum_sq_and_scale_by_hand(void **state) {
    (void)state;
    float x[5] = {3.0f, -4.0f, 0.5f, 0.0f, 1e-30f};
    assert_true(nn_sum_sq(x, 5) == 25.25); /* 9 + 16 + 0.25 + 0 + 1e-60, exact in double */
    assert_true(nn_sum_sq(x, 0) == 0.0);
    /* squares in double: 1e-60 would underflow to 0 in f32 */
    assert_true(nn_sum_sq(x + 4, 1) == (double)x[4] * (double)x[4] && nn_sum_sq(x + 4, 1) > 0.0);
    nn_scale(x, 4, 0.5f);
    assert_true(x[0] == 1.5f && x[1] == -2.0f && x[2] == 0.25f && x[3] == 0.0f && x[4] == 1e-30f);
    /* a long buffer (the threaded path): the same sum as a plain double loop */
    const size_t n = (1u << 17) + 3;
    float *big = malloc(n * sizeof(float));
    double want = 0.0;
    for (size_t i = 0; i < n; i++) {
        big[i] = (float)((int)(i % 7) - 3) * 0.25f;
        want += (double)big[i] * big[i];
    }
    assert_true(fabs(nn_sum_sq(big, n) - want) <= 1e-12 * want);
    nn_scale(big, n, 2.0f);
    for (size_t i = 0; i < n; i++) assert_true(big[i] == (float)((int)(i % 7) - 3) * 0.5f);
    free(big);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lora_matches_torch),
        cmocka_unit_test(policy_loss_matches_torch),
        cmocka_unit_test(adamw_matches_torch),
        cmocka_unit_test(sum_sq_and_scale_by_hand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
