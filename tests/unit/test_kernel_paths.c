/* test_kernel_paths.c — every SIMD kernel against its plain-C reference
 * (RGSD_KERNELS=ref, src/nn/cpu.h) on fresh random inputs.
 *
 * Each run draws new inputs (seed from the clock and pid, printed; set
 * RGSD_TEST_SEED to replay one). Tolerances, stated per check, are bounds on
 * two summation orders and on libmvec's <= 4 ulp expf/logf against libm, not
 * fitted to what was seen; every comparison is written `!(err <= tol)`, so a
 * NaN on either side fails. Exact kernels must match bit for bit: the dtype
 * conversions, and the sampler (its draws must not depend on the path).
 *
 * The paths compared: ref against AVX2 and, where the CPU runs it, AVX-512;
 * nn_cpu_set_path_for_tests switches the dispatch inside one process. */
#include "test_util.h"

#include <float.h>
#include <math.h>
#include <time.h>

#include "base/error.h"
#include "base/rng.h"
#include "nn/expf_exact.h"
#include "gen/sample.h"
#include "io/dtype.h"
#include "nn/cpu.h"
#include "nn/gemv.h"
#include "nn/nn.h"
#include "nn/vecmath.h"

#include "jsd_run.h"

static rg_rng rng;

static int setup(void **state) {
    (void)state;
    const char *env = getenv("RGSD_TEST_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL) * 1000003u ^ (uint64_t)getpid();
    fprintf(stderr, "note: RGSD_TEST_SEED=%llu (best path here: %s)\n", (unsigned long long)seed,
            nn_cpu_path_name(nn_cpu_best()));
    rg_rng_seed(&rng, seed);
    return 0;
}

static int restore_path(void **state) {
    (void)state;
    nn_cpu_set_path_for_tests(nn_cpu_best());
    return 0;
}

/* The SIMD paths this CPU runs; 0 when none (then only ref exists). */
static int simd_paths(nn_kernel_path *paths) {
    int n = 0;
    if (nn_cpu_best() >= NN_KERNELS_AVX2) paths[n++] = NN_KERNELS_AVX2;
    if (nn_cpu_best() >= NN_KERNELS_AVX512) paths[n++] = NN_KERNELS_AVX512;
    if (!n) fprintf(stderr, "note: no AVX2/FMA here: nothing to compare with ref\n");
    return n;
}

static float *normals(size_t n, float scale) {
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < n; i++) x[i] = scale * rg_rng_normal(&rng);
    return x;
}

/* |got - want| <= tol, NaN never passing; names the first failure. */
static void check_close(const char *what, size_t at, double got, double want, double tol) {
    if (got == want) return; /* equal infinities too (a forward KL against a masked student); never NaN */
    if (!(fabs(got - want) <= tol))
        fail_msg("%s[%zu]: got %.9g, ref %.9g, |diff| %.3g > tol %.3g", what, at, got, want, fabs(got - want), tol);
}

/* ---- GEMV ---------------------------------------------------------------- */

/* Tolerance: 1e-5 * sum_i |w_i x_i|. Two f32 summation orders over `in`
 * terms differ by about sqrt(in) * 2^-24 of that sum (~3e-6 at in = 2100);
 * the strict worst case, in * 2^-24, is only reached by adversarial inputs.
 * With a bias, |bias| joins the sum. (x86-64 only: it checks SIMD kernels.) */
#if RG_HAVE_X86_SIMD
static void check_gemv(const char *what, const float *got, const float *want, const float *x, const float *Wf,
                       const uint16_t *Wb, const float *bias, int N, int in, int out, double *worst) {
    for (int n = 0; n < N; n++)
        for (int o = 0; o < out; o++) {
            double mag = bias ? fabs(bias[o]) : 0.0; /* the bias add rounds once more */
            for (int i = 0; i < in; i++)
                mag += fabs((double)x[(size_t)n * in + i] *
                            (Wf ? Wf[(size_t)o * in + i] : nn_bf16_to_f32(Wb[(size_t)o * in + i])));
            size_t at = (size_t)n * out + o;
            double err = fabs((double)got[at] - want[at]);
            if (mag > 0 && err / mag > *worst) *worst = err / mag;
            check_close(what, at, got[at], want[at], 1e-5 * mag + 1e-30);
        }
}
#endif

static void gemv_matches_ref(void **state) {
    (void)state;
    nn_kernel_path paths[2];
    int n_paths = simd_paths(paths);
    (void)n_paths; /* 0 off x86-64, where the SIMD checks below are not compiled */
    static const int ins[] = {1, 7, 8, 9, 64, 1000, 1030, 2100}, outs[] = {1, 3, 4, 5, 37, 130};
    double worst = 0.0;
    for (size_t a = 0; a < sizeof ins / sizeof *ins; a++)
        for (size_t b = 0; b < sizeof outs / sizeof *outs; b++) {
            /* every N in 1..8 meets several shapes (the AVX-512 kernel has its own N <= 2 paths) */
            int in = ins[a], out = outs[b], N = 1 + (int)((a * (sizeof outs / sizeof *outs) + b) % NN_GEMV_MAX_ROWS);
            float *x = normals((size_t)N * in, 1.0f), *W = normals((size_t)out * in, 0.05f);
            float *bias = normals((size_t)out, 1.0f);
            uint16_t *Wb = malloc((size_t)out * in * sizeof *Wb);
            nn_f32_to_bf16_array(Wb, W, (size_t)out * in);
            float *want = malloc((size_t)N * out * sizeof(float)), *got = malloc((size_t)N * out * sizeof(float));
            float *want_b = malloc((size_t)N * out * sizeof(float));
            nn_gemv_f32_ref(want, x, W, N, in, out);
            nn_gemv_bf16_ref(want_b, x, Wb, N, in, out);
            /* the dispatchers on the ref path are the ref kernels, bit for bit */
            nn_cpu_set_path_for_tests(NN_KERNELS_REF);
            nn_gemv_f32(got, x, W, N, in, out);
            assert_memory_equal(got, want, (size_t)N * out * sizeof(float));
            nn_gemv_bf16(got, x, Wb, N, in, out);
            assert_memory_equal(got, want_b, (size_t)N * out * sizeof(float));
#if RG_HAVE_X86_SIMD /* the SIMD kernels exist on x86-64 only (nn/isa.h) */
            for (int p = 0; p < n_paths; p++) {
                int wide = paths[p] == NN_KERNELS_AVX512;
                (wide ? nn_gemv_f32_avx512 : nn_gemv_f32_avx2)(got, x, W, N, in, out);
                check_gemv(wide ? "gemv_f32_avx512" : "gemv_f32_avx2", got, want, x, W, NULL, NULL, N, in, out, &worst);
                (wide ? nn_gemv_bf16_avx512 : nn_gemv_bf16_avx2)(got, x, Wb, N, in, out);
                check_gemv(wide ? "gemv_bf16_avx512" : "gemv_bf16_avx2", got, want_b, x, NULL, Wb, NULL, N, in,
                           out, &worst);
            }
            /* nn_linear with a bias, on each path, against its ref path */
            nn_weight wf = {.f32 = W, .rows = out, .cols = in}, wb = {.bf16 = Wb, .rows = out, .cols = in};
            nn_cpu_set_path_for_tests(NN_KERNELS_REF);
            nn_linear(want, x, &wf, bias, N, NULL);
            nn_linear(want_b, x, &wb, bias, N, NULL);
            for (int p = 0; p < n_paths; p++) {
                nn_cpu_set_path_for_tests(paths[p]);
                nn_linear(got, x, &wf, bias, N, NULL);
                check_gemv("nn_linear f32", got, want, x, W, NULL, bias, N, in, out, &worst);
                nn_linear(got, x, &wb, bias, N, NULL);
                check_gemv("nn_linear bf16", got, want_b, x, NULL, Wb, bias, N, in, out, &worst);
            }
#endif
            free(x); free(W); free(bias); free(Wb); free(want); free(got); free(want_b);
        }
    fprintf(stderr, "note: gemv: worst |simd - ref| / sum|w x| = %.2g (tolerance 1e-5)\n", worst);
}

/* ---- row reductions (vecmath) -------------------------------------------- */

static void vecmath_matches_ref(void **state) {
    (void)state;
    if (nn_cpu_best() < NN_KERNELS_AVX2) {
        fprintf(stderr, "note: no AVX2/FMA here: nothing to compare with ref\n");
        return;
    }
#if RG_HAVE_X86_SIMD /* the AVX2 kernels exist on x86-64 only (nn/isa.h) */
    static const int lens[] = {1, 7, 8, 9, 100, 1023, 1024, 1025, 5000, 151936};
    static const float scales[] = {0.1f, 3.0f, 30.0f};
    double worst_lse = 0.0;
    for (size_t a = 0; a < sizeof lens / sizeof *lens; a++)
        for (size_t b = 0; b < sizeof scales / sizeof *scales; b++) {
            const int n = lens[a];
            float *x = normals((size_t)n, scales[b]);
            for (int i = 0; i < n / 50; i++) x[rg_rng_below(&rng, (uint64_t)n)] = -INFINITY; /* masked entries */
            /* max: exact (max is exact in any order) */
            float m_ref = nn_row_max_ref(x, n), m = nn_row_max_avx2(x, n);
            assert_memory_equal(&m, &m_ref, sizeof m);
            /* logsumexp: 1e-5 absolute = 1e-5 relative in the sum: f32 lane sums
             * over blocks of 1024 (~sqrt(1024) * 2^-24 = 2e-6) plus <= 4 ulp per expf */
            double l_ref = nn_row_logsumexp_ref(x, n), l = nn_row_logsumexp_avx2(x, n);
            if (isfinite(l_ref) && fabs(l - l_ref) > worst_lse) worst_lse = fabs(l - l_ref);
            if (l_ref == -INFINITY) assert_true(l == -INFINITY);
            else check_close("logsumexp", (size_t)n, l, l_ref, 1e-5);
            /* exp: elementwise, libmvec <= 4 ulp against libm <= 1 ulp: 1e-6 relative */
            float *e_ref = malloc((size_t)n * sizeof(float)), *e = malloc((size_t)n * sizeof(float));
            nn_row_exp_ref(e_ref, x, m_ref, 0.5f, n);
            nn_row_exp_avx2(e, x, m_ref, 0.5f, n);
            for (int i = 0; i < n; i++) check_close("row_exp", (size_t)i, e[i], e_ref[i], 1e-6 * e_ref[i] + 1e-38);
            /* softmax (attention rows, n <= 8192; the AVX2 sum in f32 lanes, the
             * ref sum in double): 2e-5 relative per entry — the lanes' rounding
             * (~sqrt(n/8) * 2^-24 = 2e-6 at n = 5000) plus the expf ulps */
            if (m_ref != -INFINITY && n <= 8192) {
                memcpy(e_ref, x, (size_t)n * sizeof(float));
                memcpy(e, x, (size_t)n * sizeof(float));
                nn_row_softmax_ref(e_ref, n);
                nn_row_softmax_avx2(e, n);
                for (int i = 0; i < n; i++)
                    check_close("softmax", (size_t)i, e[i], e_ref[i], 2e-5 * e_ref[i] + 1e-38);
                /* softmax backward d = p (d - p.d): the dot in two orders,
                 * 1e-5 of p_i (|d_i| + sum |p d|) */
                float *d = normals((size_t)n, 1.0f), *d_ref = malloc((size_t)n * sizeof(float));
                memcpy(d_ref, d, (size_t)n * sizeof(float));
                double mag = 0.0;
                for (int i = 0; i < n; i++) mag += fabs((double)e_ref[i] * d[i]);
                nn_row_softmax_backward_ref(d_ref, e_ref, n);
                float *d_in = malloc((size_t)n * sizeof(float));
                memcpy(d_in, d, (size_t)n * sizeof(float));
                nn_row_softmax_backward_avx2(d, e_ref, n);
                for (int i = 0; i < n; i++)
                    check_close("softmax_backward", (size_t)i, d[i], d_ref[i],
                                1e-5 * e_ref[i] * (fabs(d_in[i]) + mag) + 1e-38);
                free(d); free(d_ref); free(d_in);
            }
            free(x); free(e_ref); free(e);
        }
    fprintf(stderr, "note: logsumexp: worst |avx2 - ref| = %.2g (tolerance 1e-5)\n", worst_lse);
#endif
}

/* ---- JSD ----------------------------------------------------------------- */

/* Teacher/student logit rows: flat, peaked (one logit far above), and with
 * -inf entries (the vocabulary masked alike in both: a student -inf where
 * the teacher has mass makes a forward KL infinite on every path). */
static float *jsd_rows(int N, int V) {
    float *x = normals((size_t)N * V, 2.0f);
    x[rg_rng_below(&rng, (uint64_t)V)] += 25.0f; /* row 0 peaked */
    return x;
}

static void mask_alike(float *s, float *t, int N, int V) {
    if (N < 3) return;
    for (int i = 0; i < V / 20; i++) {
        size_t at = 2 * (size_t)V + rg_rng_below(&rng, (uint64_t)V);
        s[at] = t[at] = -INFINITY;
    }
}

/* Tolerances: token loss and entropy 1e-5 relative + 4 ulp (f32) of the
 * largest |logit| absolute — log-probs are logits minus a logsumexp rounded
 * to f32, and the two paths' logsumexps (1e-7 apart) can round to adjacent
 * floats, which moves every log-prob by one ulp of the logits (measured: a
 * peaked row's entropy of 2e-5 moved by 1.9e-6 = 1 ulp at 25..32); each
 * gradient entry 1e-5 of the row's largest |gradient| + 1e-8, plus the same
 * shift carried by its probabilities: 4 (p_j + q_j) x those ulps (measured:
 * two disjoint peaked rows, where the whole gradient is a 3e-7 remainder of
 * terms of 0.35, came out +3.3e-7 on ref and -3.3e-7 on AVX-512). The AVX2 path
 * takes p, q and log m through libmvec (<= 4 ulp) and sums entries in f32
 * lanes per 1024, the ref path libm and doubles; both then round to f32. */
static void jsd_matches_ref(void **state) {
    (void)state;
    nn_kernel_path paths[2];
    int n_paths = simd_paths(paths);
    static const int Vs[] = {37, 1000, 5003};
    static const float betas[] = {0.0f, 0.5f, 1.0f};
    /* full vocabulary; the teacher's top-10 + tail; the student's; the union renormalised; the student's renormalised */
    static const struct { int k; nn_topk_from from; nn_topk_tail tail; } top_ks[] = {
        {0, NN_TOPK_TEACHER, NN_TOPK_TAIL_BUCKET}, {10, NN_TOPK_TEACHER, NN_TOPK_TAIL_BUCKET},
        {10, NN_TOPK_STUDENT, NN_TOPK_TAIL_BUCKET}, {10, NN_TOPK_UNION, NN_TOPK_RENORM},
        {10, NN_TOPK_STUDENT, NN_TOPK_RENORM}};
    const int N = 3;
    double worst_grad = 0.0;
    for (size_t a = 0; a < sizeof Vs / sizeof *Vs; a++) {
        const int V = Vs[a];
        float *s = jsd_rows(N, V), *t = jsd_rows(N, V);
        mask_alike(s, t, N, V);
        float *g_ref = malloc((size_t)N * V * sizeof(float)), *g = malloc((size_t)N * V * sizeof(float));
        for (size_t b = 0; b < sizeof betas / sizeof *betas; b++)
            for (size_t c = 0; c < sizeof top_ks / sizeof *top_ks; c++) {
                nn_jsd_config config = {.beta = betas[b], .clip = NN_CLIP_NONE, .tau = 0.05f, .top_k = top_ks[c].k,
                                        .topk_from = top_ks[c].from, .topk_tail = top_ks[c].tail};
                float loss_ref[3], ent_ref[3], loss[3], ent[3];
                nn_jsd_stats st_ref = {0}, st = {0};
                nn_cpu_set_path_for_tests(NN_KERNELS_REF);
                int rc = jsd_run(g_ref, loss_ref, NULL, ent_ref, &st_ref, s, t, NULL, NULL, &config, 1.0f, N, V);
                assert_int_equal(rc, RG_OK);
                for (int p = 0; p < n_paths; p++) {
                    nn_cpu_set_path_for_tests(paths[p]);
                    memset(&st, 0, sizeof st);
                    assert_int_equal(jsd_run(g, loss, NULL, ent, &st, s, t, NULL, NULL, &config, 1.0f, N, V), RG_OK);
                    for (int n = 0; n < N; n++) {
                        float big = 0.0f;
                        for (int i = 0; i < V; i++) {
                            float a = fabsf(s[(size_t)n * V + i]), b2 = fabsf(t[(size_t)n * V + i]);
                            if (isfinite(a) && a > big) big = a;
                            if (isfinite(b2) && b2 > big) big = b2;
                        }
                        const double ulps = 4.0 * FLT_EPSILON * big;
                        check_close("jsd loss", (size_t)n, loss[n], loss_ref[n], 1e-5 * fabs(loss_ref[n]) + ulps);
                        check_close("jsd entropy", (size_t)n, ent[n], ent_ref[n], 1e-5 * fabs(ent_ref[n]) + ulps);
                        double peak = 0.0;
                        for (int i = 0; i < V; i++) peak = fmax(peak, fabs(g_ref[(size_t)n * V + i]));
                        const double lse_s = nn_row_logsumexp_ref(s + (size_t)n * V, V);
                        const double lse_t = nn_row_logsumexp_ref(t + (size_t)n * V, V);
                        for (int i = 0; i < V; i++) {
                            size_t at = (size_t)n * V + i;
                            const double pq = exp(s[at] - lse_s) + exp(t[at] - lse_t);
                            const double tol = 1e-5 * peak + 1e-8 + 4.0 * pq * ulps;
                            if (fabs(g[at] - g_ref[at]) / tol > worst_grad) worst_grad = fabs(g[at] - g_ref[at]) / tol;
                            check_close("jsd gradient", at, g[at], g_ref[at], tol);
                        }
                    }
                }
            }
        free(s); free(t); free(g_ref); free(g);
    }
    fprintf(stderr, "note: jsd gradient: worst |simd - ref| = %.2g of its tolerance\n", worst_grad);
}

/* ---- exact kernels: dtype conversions and the sampler -------------------- */

static void dtype_conversions_identical(void **state) {
    (void)state;
    nn_kernel_path paths[2];
    int n_paths = simd_paths(paths);
    const size_t n = 100003; /* not a multiple of 8: the scalar tail runs too */
    uint16_t *h = malloc(n * sizeof *h), *h_ref = malloc(n * sizeof *h), *h_out = malloc(n * sizeof *h);
    float *f = malloc(n * sizeof *f), *f_ref = malloc(n * sizeof *f);
    float *from_bits = malloc(n * sizeof *from_bits); /* every bit pattern: NaNs, infinities, denormals */
    for (size_t i = 0; i < n; i++) {
        uint32_t bits = (uint32_t)rg_rng_u64(&rng);
        h[i] = (uint16_t)rg_rng_u64(&rng);
        memcpy(&from_bits[i], &bits, sizeof bits);
    }
    for (int p = 0; p < n_paths; p++) {
        nn_cpu_set_path_for_tests(NN_KERNELS_REF);
        nn_f16_to_f32_array(f_ref, h, n);
        nn_cpu_set_path_for_tests(paths[p]);
        nn_f16_to_f32_array(f, h, n);
        assert_memory_equal(f, f_ref, n * sizeof *f);
        nn_cpu_set_path_for_tests(NN_KERNELS_REF);
        nn_bf16_to_f32_array(f_ref, h, n);
        nn_cpu_set_path_for_tests(paths[p]);
        nn_bf16_to_f32_array(f, h, n);
        assert_memory_equal(f, f_ref, n * sizeof *f);
        nn_cpu_set_path_for_tests(NN_KERNELS_REF);
        nn_f32_to_f16_array(h_ref, from_bits, n);
        nn_cpu_set_path_for_tests(paths[p]);
        nn_f32_to_f16_array(h_out, from_bits, n);
        assert_memory_equal(h_out, h_ref, n * sizeof *h);
        nn_cpu_set_path_for_tests(NN_KERNELS_REF);
        nn_f32_to_bf16_array(h_ref, from_bits, n);
        nn_cpu_set_path_for_tests(paths[p]);
        nn_f32_to_bf16_array(h_out, from_bits, n);
        assert_memory_equal(h_out, h_ref, n * sizeof *h);
    }
    free(h); free(h_ref); free(h_out); free(from_bits); free(f); free(f_ref);
}

/* The draws of one path: `draws` tokens per parameter set from one seed. */
typedef struct {
    int token;
    float logprob, sample_logprob;
    int rc;
} draw;

static void draw_all(draw *out, const float *logits, int V, uint64_t seed, int draws) {
    static const rg_sample_params params[] = {
        {1.0f, 0, 1.0f}, {0.7f, 0, 1.0f}, {1.3f, 40, 1.0f}, {1.0f, 0, 0.9f}, {0.8f, 50, 0.95f}, {0.0f, 0, 1.0f}};
    rg_sampler s;
    assert_int_equal(rg_sampler_init(&s, V), RG_OK);
    rg_rng r;
    rg_rng_seed(&r, seed);
    for (size_t p = 0; p < sizeof params / sizeof *params; p++)
        for (int d = 0; d < draws; d++) {
            rg_sample_result res = {0};
            draw *o = out + p * (size_t)draws + d;
            o->rc = rg_sample(&s, logits, &params[p], &r, &res);
            o->token = res.token, o->logprob = res.logprob, o->sample_logprob = res.sample_logprob;
        }
    rg_sampler_free(&s);
}

static void sampler_draws_identical(void **state) {
    (void)state;
    nn_kernel_path paths[2];
    int n_paths = simd_paths(paths);
    static const int Vs[] = {5, 37, 1000, 151936};
    enum { DRAWS = 20, PARAMS = 6 };
    for (size_t a = 0; a < sizeof Vs / sizeof *Vs; a++) {
        const int V = Vs[a];
        float *logits = normals((size_t)V, 3.0f);
        for (int i = 0; i < V / 10; i++) logits[rg_rng_below(&rng, (uint64_t)V)] = -INFINITY;
        uint64_t seed = rg_rng_u64(&rng);
        draw ref[PARAMS * DRAWS], got[PARAMS * DRAWS];
        memset(ref, 0, sizeof ref), memset(got, 0, sizeof got);
        nn_cpu_set_path_for_tests(NN_KERNELS_REF);
        draw_all(ref, logits, V, seed, DRAWS);
        /* expf over the row, exact on every path */
        float *e_ref = malloc((size_t)V * sizeof(float)), *e = malloc((size_t)V * sizeof(float));
        rg_expf_affine(e_ref, logits, 0.8, 7.0, V);
        for (int p = 0; p < n_paths; p++) {
            nn_cpu_set_path_for_tests(paths[p]);
            draw_all(got, logits, V, seed, DRAWS);
            for (int i = 0; i < PARAMS * DRAWS; i++) {
                if (got[i].rc != ref[i].rc || got[i].token != ref[i].token ||
                    memcmp(&got[i].logprob, &ref[i].logprob, sizeof(float)) != 0 ||
                    memcmp(&got[i].sample_logprob, &ref[i].sample_logprob, sizeof(float)) != 0)
                    fail_msg("V=%d draw %d on %s: token %d (%a, %a), ref %d (%a, %a)", V, i,
                             nn_cpu_path_name(paths[p]), got[i].token, (double)got[i].logprob,
                             (double)got[i].sample_logprob, ref[i].token, (double)ref[i].logprob,
                             (double)ref[i].sample_logprob);
            }
            rg_expf_affine(e, logits, 0.8, 7.0, V);
            assert_memory_equal(e, e_ref, (size_t)V * sizeof(float));
        }
        free(logits); free(e_ref); free(e);
    }
}

/* The AVX-512 bf16 kernel permutes x into a fixed buffer and takes long rows
 * in chunks (gemv_bf16_avx512.c: 5120 inputs at N = 8): rows past it, with
 * and without a tail, against ref. */
static void gemv_bf16_long_rows_match_ref(void **state) {
    (void)state;
#if RG_HAVE_X86_SIMD
    if (nn_cpu_best() < NN_KERNELS_AVX512) {
        fprintf(stderr, "note: no AVX-512 here: long-row bf16 GEMV not run\n");
        return;
    }
    static const int ins[] = {5153, 6016, 11008};
    double worst = 0.0;
    for (int a = 0; a < 3; a++)
        for (int N = 6; N <= NN_GEMV_MAX_ROWS; N++) {
            const int in = ins[a], out = 7 + N;
            float *x = normals((size_t)N * in, 1.0f), *W = normals((size_t)out * in, 0.05f);
            uint16_t *Wb = malloc((size_t)out * in * sizeof *Wb);
            float *want = malloc((size_t)N * out * sizeof(float)), *got = malloc((size_t)N * out * sizeof(float));
            nn_f32_to_bf16_array(Wb, W, (size_t)out * in);
            nn_gemv_bf16_ref(want, x, Wb, N, in, out);
            nn_gemv_bf16_avx512(got, x, Wb, N, in, out);
            check_gemv("gemv_bf16_avx512 long rows", got, want, x, NULL, Wb, NULL, N, in, out, &worst);
            free(x); free(W); free(Wb); free(want); free(got);
        }
    fprintf(stderr, "note: long-row bf16 gemv: worst |simd - ref| / sum|w x| = %.2g (tolerance 1e-5)\n", worst);
#endif
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(gemv_matches_ref, restore_path),
        cmocka_unit_test_teardown(gemv_bf16_long_rows_match_ref, restore_path),
        cmocka_unit_test_teardown(vecmath_matches_ref, restore_path),
        cmocka_unit_test_teardown(jsd_matches_ref, restore_path),
        cmocka_unit_test_teardown(dtype_conversions_identical, restore_path),
        cmocka_unit_test_teardown(sampler_draws_identical, restore_path),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
