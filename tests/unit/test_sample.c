/* test_sample.c — sampling against PyTorch (tests/ref/io_sample_ref.py:
 * Hugging Face's temperature -> top-k -> top-p warpers re-written in torch,
 * float64).
 *   distribution: |ours - torch| <= 1e-6 per token, and exactly 0 where torch
 *                 has 0 (the kept set is identical)
 *   log-probs:    |ours - torch| <= 1e-5 (returned as float32)
 *   frequencies:  200k draws; tokens outside the kept set never drawn; the
 *                 chi-square statistic over the kept tokens (df <= 7) below
 *                 40, which a correct sampler exceeds with probability
 *                 < 1.3e-6 (chi-square survival at 40, df 7)
 *   determinism:  same seed -> same tokens; greedy ties -> lowest index. */
#include <cjson/cJSON.h>
#include <math.h>

#include "base/error.h"
#include "gen/sample.h"
#include "io/file.h"
#include "test_util.h"

typedef struct {
    const char *name;
    int vocab;
    float *logits;
    rg_sample_params params;
    double *probs, *logprob_t1;
} ref_case;

static ref_case *cases;
static int n_cases;

static int load_cases(void) {
    char path[4096];
    snprintf(path, sizeof path, "%s/io_sample/cases.json", test_ref_dir());
    char *text;
    size_t len;
    if (rg_read_file(path, &text, &len) != 0) return 0;
    cJSON *root = cJSON_Parse(text);
    free(text);
    n_cases = cJSON_GetArraySize(root);
    cases = calloc((size_t)n_cases, sizeof *cases);
    int i = 0;
    for (cJSON *c = root->child; c; c = c->next, i++) {
        ref_case *rc = &cases[i];
        rc->name = strdup(cJSON_GetObjectItem(c, "name")->valuestring);
        cJSON *logits = cJSON_GetObjectItem(c, "logits_f32_hex");
        rc->vocab = cJSON_GetArraySize(logits);
        rc->logits = malloc((size_t)rc->vocab * sizeof(float));
        rc->probs = malloc((size_t)rc->vocab * sizeof(double));
        rc->logprob_t1 = malloc((size_t)rc->vocab * sizeof(double));
        for (int v = 0; v < rc->vocab; v++) {
            uint32_t bits = (uint32_t)strtoul(cJSON_GetArrayItem(logits, v)->valuestring, NULL, 16);
            memcpy(&rc->logits[v], &bits, 4);
            rc->probs[v] = cJSON_GetArrayItem(cJSON_GetObjectItem(c, "probs"), v)->valuedouble;
            rc->logprob_t1[v] = cJSON_GetArrayItem(cJSON_GetObjectItem(c, "logprob_t1"), v)->valuedouble;
        }
        rc->params.temperature = (float)cJSON_GetObjectItem(c, "temperature")->valuedouble;
        rc->params.top_k = cJSON_GetObjectItem(c, "top_k")->valueint;
        rc->params.top_p = (float)cJSON_GetObjectItem(c, "top_p")->valuedouble;
    }
    cJSON_Delete(root);
    return 1;
}

static int setup(void **state) {
    (void)state;
    load_cases();
    return 0;
}

static int teardown(void **state) {
    (void)state;
    for (int i = 0; i < n_cases; i++) {
        free((char *)cases[i].name);
        free(cases[i].logits);
        free(cases[i].probs);
        free(cases[i].logprob_t1);
    }
    free(cases);
    return 0;
}

#define REQUIRE_CASES()                                                                    \
    do {                                                                                   \
        if (!cases) {                                                                      \
            fprintf(stderr, "skipped: %s/io_sample/cases.json absent (PyTorch reference)\n", \
                    test_ref_dir());                                                       \
            skip();                                                                        \
        }                                                                                  \
    } while (0)

static void test_distribution_matches_torch(void **state) {
    (void)state;
    REQUIRE_CASES();
    for (int c = 0; c < n_cases; c++) {
        const ref_case *rc = &cases[c];
        rg_sampler s;
        assert_int_equal(rg_sampler_init(&s, rc->vocab), 0);
        assert_int_equal(rg_sample_distribution(&s, rc->logits, &rc->params), 0);
        int kept = 0;
        for (int v = 0; v < rc->vocab; v++) {
            double diff = fabs((double)s.probs[v] - rc->probs[v]);
            if (diff > 1e-6 || ((s.probs[v] == 0) != (rc->probs[v] == 0)))
                fail_msg("%s: token %d: ours %.9g torch %.9g", rc->name, v, (double)s.probs[v], rc->probs[v]);
            kept += rc->probs[v] > 0;
        }
        assert_int_equal(s.n_kept, kept);
        /* order[] lists the kept tokens: most probable first under top-p,
         * by id otherwise */
        for (int i = 0; i < s.n_kept; i++) assert_true(s.probs[s.order[i]] > 0);
        for (int i = 1; i < s.n_kept; i++) {
            if (rc->params.top_p < 1.0f && rc->params.temperature > 0)
                assert_true(s.probs[s.order[i - 1]] >= s.probs[s.order[i]]);
            else
                assert_true(s.order[i - 1] < s.order[i]);
        }
        rg_sampler_free(&s);
    }
}

static void test_logprobs(void **state) {
    (void)state;
    REQUIRE_CASES();
    rg_rng rng;
    rg_rng_seed(&rng, 5);
    for (int c = 0; c < n_cases; c++) {
        const ref_case *rc = &cases[c];
        rg_sampler s;
        assert_int_equal(rg_sampler_init(&s, rc->vocab), 0);
        for (int draw = 0; draw < 20; draw++) {
            rg_sample_result r;
            assert_int_equal(rg_sample(&s, rc->logits, &rc->params, &rng, &r), 0);
            assert_true(rc->probs[r.token] > 0);
            assert_true(fabs((double)r.logprob - rc->logprob_t1[r.token]) <= 1e-5);
            double want = log(rc->probs[r.token]);
            if (fabs((double)r.sample_logprob - want) > 1e-5)
                fail_msg("%s: sample logprob %g, torch %g", rc->name, (double)r.sample_logprob, want);
            assert_true(fabs((double)rg_token_logprob(rc->logits, rc->vocab, r.token) -
                             rc->logprob_t1[r.token]) <= 1e-5);
        }
        rg_sampler_free(&s);
    }
}

static void test_frequencies(void **state) {
    (void)state;
    REQUIRE_CASES();
    const int draws = 200000;
    int checked = 0;
    for (int c = 0; c < n_cases; c++) {
        const ref_case *rc = &cases[c];
        if (rc->vocab > 16 || rc->params.temperature <= 0) continue;
        rg_sampler s;
        rg_rng rng;
        rg_rng_seed(&rng, 1000 + (uint64_t)c);
        assert_int_equal(rg_sampler_init(&s, rc->vocab), 0);
        int counts[16] = {0};
        for (int i = 0; i < draws; i++) {
            rg_sample_result r;
            assert_int_equal(rg_sample(&s, rc->logits, &rc->params, &rng, &r), 0);
            counts[r.token]++;
        }
        double chi2 = 0;
        int df = -1;
        for (int v = 0; v < rc->vocab; v++) {
            if (rc->probs[v] == 0) {
                assert_int_equal(counts[v], 0);
                continue;
            }
            double expected = rc->probs[v] * draws;
            chi2 += (counts[v] - expected) * (counts[v] - expected) / expected;
            df++;
        }
        assert_true(df <= 7);
        if (chi2 >= 40.0) fail_msg("%s: chi-square %.2f (df %d)", rc->name, chi2, df);
        checked++;
        rg_sampler_free(&s);
    }
    assert_true(checked >= 6);
}

static void test_determinism_and_greedy(void **state) {
    (void)state;
    enum { V = 64 };
    float logits[V];
    rg_rng init;
    rg_rng_seed(&init, 3);
    for (int v = 0; v < V; v++) logits[v] = rg_rng_normal(&init) * 2.0f;
    rg_sample_params params = {.temperature = 0.9f, .top_k = 20, .top_p = 0.95f};
    rg_sampler s;
    assert_int_equal(rg_sampler_init(&s, V), 0);
    int first[100], second[100], different = 0;
    for (int round = 0; round < 3; round++) {
        rg_rng rng;
        rg_rng_seed(&rng, round == 2 ? 43 : 42);
        for (int i = 0; i < 100; i++) {
            rg_sample_result r;
            assert_int_equal(rg_sample(&s, logits, &params, &rng, &r), 0);
            if (round == 0) first[i] = r.token;
            else if (round == 1) second[i] = r.token;
            else different += r.token != first[i];
        }
    }
    assert_memory_equal(first, second, sizeof first);
    assert_true(different > 10); /* another seed gives another sequence */

    /* greedy: lowest index among equal maxima, sample_logprob 0 */
    float ties[6] = {1.0f, 4.0f, -INFINITY, 4.0f, 4.0f, 0.0f};
    rg_sampler g;
    assert_int_equal(rg_sampler_init(&g, 6), 0);
    rg_sample_params greedy = {.temperature = 0.0f, .top_k = 0, .top_p = 1.0f};
    rg_rng rng;
    rg_rng_seed(&rng, 1);
    rg_sample_result r;
    assert_int_equal(rg_sample(&g, ties, &greedy, &rng, &r), 0);
    assert_int_equal(r.token, 1);
    assert_true(r.sample_logprob == 0.0f);
    /* log softmax by hand: 4 - log(e^1 + 3 e^4 + e^0) */
    double want = 4.0 - log(exp(1.0) + 3.0 * exp(4.0) + 1.0);
    assert_true(fabs((double)r.logprob - want) < 1e-6);
    assert_int_equal(rg_argmax(ties, 6), 1);
    /* top_k = 1 keeps all tied maxima (HF semantics): 3 tokens at 1/3 */
    rg_sample_params k1 = {.temperature = 1.0f, .top_k = 1, .top_p = 1.0f};
    assert_int_equal(rg_sample_distribution(&g, ties, &k1), 0);
    assert_int_equal(g.n_kept, 3);
    assert_true(fabsf(g.probs[3] - 1.0f / 3.0f) < 1e-6f);
    assert_true(g.probs[0] == 0.0f && g.probs[2] == 0.0f);
    rg_sampler_free(&g);
    rg_sampler_free(&s);
}

static void test_bad_input(void **state) {
    (void)state;
    rg_sampler s;
    assert_int_equal(rg_sampler_init(&s, 4), 0);
    rg_rng rng;
    rg_rng_seed(&rng, 1);
    rg_sample_result r;
    rg_sample_params ok = {.temperature = 1.0f, .top_k = 0, .top_p = 1.0f};
    float all_ninf[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    assert_int_equal(rg_sample(&s, all_ninf, &ok, &rng, &r), -1);
    assert_non_null(strstr(rg_errmsg(), "all 4 logits are -inf"));
    float with_nan[4] = {0.0f, NAN, 1.0f, 2.0f};
    assert_int_equal(rg_sample(&s, with_nan, &ok, &rng, &r), -1);
    assert_non_null(strstr(rg_errmsg(), "logit 1 is NaN"));
    float with_inf[4] = {0.0f, 1.0f, INFINITY, 2.0f};
    assert_int_equal(rg_sample(&s, with_inf, &ok, &rng, &r), -1);
    assert_non_null(strstr(rg_errmsg(), "logit 2 is +inf"));
    float one_finite[4] = {-INFINITY, -INFINITY, 5.0f, -INFINITY};
    rg_sample_params all_on = {.temperature = 0.7f, .top_k = 3, .top_p = 0.5f};
    for (int i = 0; i < 50; i++) {
        assert_int_equal(rg_sample(&s, one_finite, &all_on, &rng, &r), 0);
        assert_int_equal(r.token, 2);
        assert_true(r.logprob == 0.0f && r.sample_logprob == 0.0f);
    }
    rg_sample_params bad_p = {.temperature = 1.0f, .top_k = 0, .top_p = 0.0f};
    float fine[4] = {0, 1, 2, 3};
    assert_int_equal(rg_sample(&s, fine, &bad_p, &rng, &r), -1);
    assert_non_null(strstr(rg_errmsg(), "top_p"));
    rg_sample_params bad_k = {.temperature = 1.0f, .top_k = -1, .top_p = 1.0f};
    assert_int_equal(rg_sample(&s, fine, &bad_k, &rng, &r), -1);
    assert_non_null(strstr(rg_errmsg(), "top_k"));
    rg_sampler_free(&s);
    assert_int_equal(rg_sampler_init(&s, 0), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distribution_matches_torch),
        cmocka_unit_test(test_logprobs),
        cmocka_unit_test(test_frequencies),
        cmocka_unit_test(test_determinism_and_greedy),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
