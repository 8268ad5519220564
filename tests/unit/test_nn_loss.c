/* test_nn_loss.c — cross-entropy and the generalized JSD against PyTorch
 * (tests/ref/nn_ref.py): CE by F.cross_entropy + autograd; the JSD by its
 * formula in float64 with autograd (beta 0 and 1 are checked there against
 * F.kl_div; the top-k tail bucket and the clip modes have no PyTorch
 * counterpart and are confirmed there by finite differences, gradcheck).
 * Cases: beta in {0, 0.25, 0.5, 1} x {full vocabulary, top-5 + tail} x clip
 * {none, token, entry}, on random and near-one-hot ([100, -100, ...]) logits,
 * V = 43 (8-wide blocks + a tail), and five cases at V = 2053 (long rows).
 * Tolerances: losses, gap, entropy atol 2e-5 + rtol 1e-4 (per-entry f32
 * log-space arithmetic, sums in double); gradients atol 2e-6 + rtol 1e-4;
 * clip counts exact (tau lies in a wide gap between the reference values).
 * The JSD's scratch comes from the caller: one thread's worth gives the same
 * rows bit for bit as every thread's, too little is an RG_ERR. */
#include "base/error.h"
#include "nn/nn.h"
#include "nn_ref_reader.h"

#define LOSS_ATOL 2e-5
#define LOSS_RTOL 1e-4
#define GRAD_ATOL 2e-6
#define GRAD_RTOL 1e-4

#include "jsd_run.h"

static void cross_entropy_matches_torch(void **state) {
    (void)state;
    ref_file f;
    ref_open(&f, "nn_loss.safetensors");
    size_t n, N;
    float *logits = ref_f32(&f, "ce/logits", &n);
    int32_t *targets = ref_i32(&f, "ce/targets", &N);
    uint8_t *mask = ref_u8(&f, "ce/mask", NULL);
    int V = (int)(n / N), count = (int)ref_scalar(&f, "ce/count");
    float *dlogits = malloc(n * sizeof(float)), *token_loss = malloc(N * sizeof(float));
    nn_ce_stats stats = {0};
    assert_int_equal(nn_cross_entropy(dlogits, token_loss, &stats, logits, targets, mask, 1.0f / count, (int)N, V),
                     RG_OK);
    assert_int_equal(stats.count, count);
    float loss_sum = (float)stats.loss_sum;
    check_ref(&f, "ce", "loss_sum", &loss_sum, 1, LOSS_ATOL, LOSS_RTOL);
    check_ref(&f, "ce", "token_loss", token_loss, N, LOSS_ATOL, LOSS_RTOL);
    check_ref(&f, "ce", "dlogits", dlogits, n, GRAD_ATOL, GRAD_RTOL);
    /* in place, chunk by chunk (rows 0-2, then 3-5), as the LM head loop runs it */
    nn_ce_stats chunked = {0};
    assert_int_equal(nn_cross_entropy(logits, NULL, &chunked, logits, targets, mask, 1.0f / count, 3, V), RG_OK);
    assert_int_equal(nn_cross_entropy(logits + 3 * V, NULL, &chunked, logits + 3 * V, targets + 3, mask + 3,
                                      1.0f / count, (int)N - 3, V),
                     RG_OK);
    assert_int_equal(chunked.count, count);
    assert_true(fabs(chunked.loss_sum - stats.loss_sum) < 1e-9);
    check_ref(&f, "ce", "dlogits", logits, n, GRAD_ATOL, GRAD_RTOL);
    /* a target outside the vocabulary is an error, not a read out of bounds */
    targets[0] = V;
    assert_int_equal(nn_cross_entropy(NULL, NULL, &stats, dlogits, targets, NULL, 1.0f, (int)N, V), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "outside the vocabulary"));
    free(logits); free(targets); free(mask); free(dlogits); free(token_loss);
    ref_close(&f);
}

static void jsd_matches_torch(void **state) {
    (void)state;
    ref_file f;
    ref_open(&f, "nn_loss.safetensors");
    int cases = (int)ref_scalar(&f, "jsd/cases");
    assert_true(cases >= 48 + 31); /* + issue 14's supports */
    for (int i = 0; i < cases; i++) {
        char c[32];
        snprintf(c, sizeof c, "jsd%d", i);
        double *cfg = ref_f64(&f, ref_name(c, "config"), NULL);
        nn_jsd_config config = {.beta = (float)cfg[0], .clip = (nn_clip_mode)cfg[1], .tau = (float)cfg[2],
                                .top_k = (int)cfg[3], .topk_from = (nn_topk_from)cfg[5],
                                .topk_tail = (nn_topk_tail)cfg[6]};
        float grad_scale = (float)cfg[4];
        size_t n, N;
        float *student = ref_f32(&f, ref_name(c, "student"), &n), *teacher = ref_f32(&f, ref_name(c, "teacher"), NULL);
        int32_t *targets = ref_i32(&f, ref_name(c, "targets"), &N);
        uint8_t *mask = ref_u8(&f, ref_name(c, "mask"), NULL);
        double *clip_counts = ref_f64(&f, ref_name(c, "clip_counts"), NULL);
        int V = (int)(n / N);
        float *dstudent = malloc(n * sizeof(float)), *token_loss = malloc(N * sizeof(float));
        float *gap = malloc(N * sizeof(float)), *entropy = malloc(N * sizeof(float));
        nn_jsd_stats stats = {0};
        assert_int_equal(jsd_run(dstudent, token_loss, gap, entropy, &stats, student, teacher, targets, mask, &config,
                                grad_scale, (int)N, V),
                         RG_OK);
        check_ref(&f, c, "token_loss", token_loss, N, LOSS_ATOL, LOSS_RTOL);
        check_ref(&f, c, "dstudent", dstudent, n, GRAD_ATOL, GRAD_RTOL);
        check_ref(&f, c, "gap", gap, N, LOSS_ATOL, LOSS_RTOL);
        check_ref(&f, c, "entropy", entropy, N, LOSS_ATOL, LOSS_RTOL);
        if (stats.clipped != clip_counts[0] || stats.clip_total != clip_counts[1])
            fail_msg("%s: clipped %g of %g, reference %g of %g", c, stats.clipped, stats.clip_total, clip_counts[0],
                     clip_counts[1]);
        double loss_sum = 0, gap_sum = 0, entropy_sum = 0;
        for (size_t t = 0; t < N; t++) loss_sum += token_loss[t], gap_sum += gap[t], entropy_sum += entropy[t];
        assert_true(fabs(stats.loss_sum - loss_sum) < 1e-4 * (1 + fabs(loss_sum)));
        assert_true(fabs(stats.gap_sum - gap_sum) < 1e-4 * (1 + fabs(gap_sum)));
        assert_true(fabs(stats.entropy_sum - entropy_sum) < 1e-4 * (1 + fabs(entropy_sum)));
        assert_int_equal(stats.count, 5); /* one of the six positions is masked */
        /* in place: the gradient overwrites the student logits */
        nn_jsd_stats again = {0};
        assert_int_equal(jsd_run(student, NULL, NULL, NULL, &again, student, teacher, NULL, mask, &config, grad_scale,
                                (int)N, V),
                         RG_OK);
        check_ref(&f, c, "dstudent", student, n, GRAD_ATOL, GRAD_RTOL);
        free(cfg); free(student); free(teacher); free(targets); free(mask); free(clip_counts);
        free(dstudent); free(token_loss); free(gap); free(entropy);
    }
    ref_close(&f);
}

/* Full Qwen vocabulary, one-hot-like rows: finite everywhere, and values
 * computed by hand. Student [100 at 0, -100 elsewhere]; teacher the same
 * (row 0) or with its peak at 1 (row 1). Row 1: log p_S(1) = -200, so
 * KL(P_T||P_S) = 200 (to 1e-80), KL(P_S||P_T) = 200, and for beta = 1/2,
 * M = (P_S + P_T)/2 at both peaks, so JSD = 1/2 log 2 + 1/2 log 2 = log 2. */
static void jsd_near_one_hot_is_finite_and_exact(void **state) {
    (void)state;
    const int V = 151936, N = 2;
    float *student = malloc((size_t)N * V * sizeof(float)), *teacher = malloc((size_t)N * V * sizeof(float));
    float *grad = malloc((size_t)N * V * sizeof(float));
    for (size_t i = 0; i < (size_t)N * V; i++) student[i] = teacher[i] = -100.0f;
    student[0] = teacher[0] = 100.0f;
    student[V] = 100.0f;
    teacher[V + 1] = 100.0f;
    const float betas[3] = {0.0f, 0.5f, 1.0f};
    const double expected[3] = {200.0, log(2.0), 200.0};
    for (int b = 0; b < 3; b++) {
        for (int top_k = 0; top_k <= 8; top_k += 8) {
            nn_jsd_config config = {.beta = betas[b], .clip = NN_CLIP_NONE, .top_k = top_k};
            float token_loss[2];
            nn_jsd_stats stats = {0};
            assert_int_equal(jsd_run(grad, token_loss, NULL, NULL, &stats, student, teacher, NULL, NULL, &config, 1.0f,
                                    N, V),
                             RG_OK);
            assert_true(fabs(token_loss[0]) < 1e-6);
            if (fabs(token_loss[1] - expected[b]) > 1e-4 * expected[b])
                fail_msg("beta %g top_k %d: loss %.9g, expected %.9g", (double)betas[b], top_k, (double)token_loss[1],
                         expected[b]);
            for (size_t i = 0; i < (size_t)N * V; i++)
                if (!isfinite(grad[i])) fail_msg("beta %g: gradient %zu is %g", (double)betas[b], i, (double)grad[i]);
            for (int i = 0; i < V; i++) assert_true(fabs(grad[i]) < 1e-6); /* identical rows: zero gradient */
        }
    }
    /* forward KL: d/ds = P_S - P_T = +1 at the student's peak, -1 at the teacher's */
    nn_jsd_config forward = {.beta = 0.0f};
    nn_jsd_stats stats = {0};
    assert_int_equal(jsd_run(grad, NULL, NULL, NULL, &stats, student, teacher, NULL, NULL, &forward, 1.0f, N, V),
                     RG_OK);
    assert_true(fabs(grad[V] - 1.0f) < 1e-6 && fabs(grad[V + 1] + 1.0f) < 1e-6);
    free(student); free(teacher); free(grad);
}

static void jsd_rejects_bad_config(void **state) {
    (void)state;
    float s[4] = {0, 1, 2, 3}, t[4] = {3, 2, 1, 0};
    int32_t target = 4;
    nn_jsd_stats stats = {0};
    nn_jsd_config bad_beta = {.beta = 1.5f};
    assert_int_equal(jsd_run(NULL, NULL, NULL, NULL, &stats, s, t, NULL, NULL, &bad_beta, 1.0f, 1, 4), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "beta"));
    nn_jsd_config bad_tau = {.beta = 0.5f, .clip = NN_CLIP_TOKEN, .tau = 0.0f};
    assert_int_equal(jsd_run(NULL, NULL, NULL, NULL, &stats, s, t, NULL, NULL, &bad_tau, 1.0f, 1, 4), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "tau"));
    nn_jsd_config ok = {.beta = 0.5f};
    assert_int_equal(jsd_run(NULL, NULL, NULL, NULL, &stats, s, t, &target, NULL, &ok, 1.0f, 1, 4), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "outside the vocabulary"));
    assert_int_equal(stats.count, 0);
}

/* The caller's scratch: one thread's worth runs the rows one after another
 * with the same per-row results, bit for bit, as every thread's; less than
 * one thread's is an error, not an overrun; top-k needs less than the full
 * vocabulary; no rows need none. */
static void jsd_scratch_from_the_caller(void **state) {
    (void)state;
    const int N = 7, V = 301;
    float *s = malloc((size_t)N * V * sizeof(float)), *t = malloc((size_t)N * V * sizeof(float));
    for (int i = 0; i < N * V; i++) s[i] = (float)((i * 37) % 101) * 0.05f, t[i] = (float)((i * 53) % 97) * 0.04f;
    float *g_all = malloc((size_t)N * V * sizeof(float)), *g_one = malloc((size_t)N * V * sizeof(float));
    float loss_all[7], loss_one[7];
    const nn_jsd_config configs[2] = {{.beta = 0.5f}, {.beta = 0.25f, .top_k = 9}};
    for (int c = 0; c < 2; c++) {
        const size_t one = nn_jsd_scratch_floats(&configs[c], V, 1);
        const size_t all = nn_jsd_scratch_floats(&configs[c], V, nn_max_threads());
        assert_true(all == one * (size_t)nn_max_threads());
        float *scratch = malloc(all * sizeof(float));
        nn_jsd_stats st_all = {0}, st_one = {0};
        assert_int_equal(nn_jsd(g_all, loss_all, NULL, NULL, &st_all, scratch, all, s, t, NULL, NULL, &configs[c], 1.0f,
                                N, V),
                         RG_OK);
        assert_int_equal(nn_jsd(g_one, loss_one, NULL, NULL, &st_one, scratch, one, s, t, NULL, NULL, &configs[c], 1.0f,
                                N, V),
                         RG_OK);
        assert_memory_equal(g_all, g_one, (size_t)N * V * sizeof(float));
        assert_memory_equal(loss_all, loss_one, sizeof loss_all);
        assert_int_equal(st_one.count, N);
        assert_int_equal(nn_jsd(g_one, NULL, NULL, NULL, &st_one, scratch, one - 1, s, t, NULL, NULL, &configs[c],
                                1.0f, N, V),
                         RG_ERR);
        assert_non_null(strstr(rg_errmsg(), "scratch"));
        assert_int_equal(nn_jsd(NULL, NULL, NULL, NULL, &st_one, NULL, 0, s, t, NULL, NULL, &configs[c], 1.0f, 0, V),
                         RG_OK);
        free(scratch);
    }
    assert_true(nn_jsd_scratch_floats(&configs[1], V, 1) < nn_jsd_scratch_floats(&configs[0], V, 1));
    free(s); free(t); free(g_all); free(g_one);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cross_entropy_matches_torch),
        cmocka_unit_test(jsd_matches_torch),
        cmocka_unit_test(jsd_near_one_hot_is_finite_and_exact),
        cmocka_unit_test(jsd_rejects_bad_config),
        cmocka_unit_test(jsd_scratch_from_the_caller),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
