/* test_nn_bf16dot.c — the bf16 dot-product GEMM of bf16-weight prefill
 * (src/nn/bf16dot.h): y = bf16(x) W^T + bias, products exact, f32 sums.
 *
 * Checks, on fresh random inputs each run (seed printed; RGSD_TEST_SEED
 * replays one):
 * - x is rounded to bf16 to nearest even, like torch's .to(bfloat16)
 *   (nn_f32_to_bf16), including ties, and laid out as bf16dot.h says (the
 *   AVX-512 kernel's own rounding is held to the same bits by the next
 *   checks: its outputs equal the plain-C kernel's);
 * - the plain-C kernel against a float64 sum of the same bf16-rounded
 *   inputs. Tolerance: a sum of n terms in f32 is within n * 2^-24 of the
 *   sum of |terms| (Higham's bound for recursive summation; the products
 *   themselves are exact), n = in + 1 with the bias. A kernel that used x
 *   unrounded misses it by ~2^-9 of that sum, far above it;
 * - the AVX-512 BF16 kernel against the plain-C one, within the same bound
 *   (both follow vdpbf16ps's order, so they agree bit for bit unless a
 *   denormal is flushed; the count of equal outputs is printed). Skipped,
 *   saying why, on a CPU without AVX-512 BF16;
 * - nn_linear_bf16_forward_ws: the dispatch (bf16 dot products when
 *   nn_bf16dot_in_use, f32 otherwise), and row chunks when the caller's
 *   scratch is short (the same bits as one pass).
 * - the bf16 dot decode kernel (gemv.h, N <= 8): plain C against float64
 *   (the same bound), the AVX-512 BF16 one against it (bit for bit in
 *   gemv.h's order; the count of equal outputs is printed, the bound
 *   asserted), a row of an 8-row call equal to a 1-row call and to a
 *   1-thread call, and nn_linear's choice for decode (bf16 dot products for
 *   inference, f32 activations when the caller asks).
 * Shapes: N, in and out off the 8 x 48 blocking, in odd, with and without
 * bias; for decode, `in` across the 32-input blocks and the 8192-input
 * chunks, out off the 3-row blocking. */
#include "test_util.h"

#include <math.h>
#include <time.h>

#include <omp.h>

#include "base/rng.h"
#include "nn/bf16dot.h"
#include "nn/cpu.h"
#include "nn/gemv.h"
#include "nn/nn.h"

static rg_rng rng;

static int setup(void **state) {
    (void)state;
    const char *env = getenv("RGSD_TEST_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL) * 1000003u ^ (uint64_t)getpid();
    fprintf(stderr, "note: RGSD_TEST_SEED=%llu\n", (unsigned long long)seed);
    rg_rng_seed(&rng, seed);
    return 0;
}

static int restore_path(void **state) {
    (void)state;
    nn_cpu_set_path_for_tests(nn_cpu_best());
    nn_cpu_set_bf16dot(1);
    return 0;
}

typedef struct {
    int N, in, out, bias;
} shape;

/* Off the blocking (8 rows x 48 outputs), odd `in`, a single column and row. */
static const shape SHAPES[] = {
    {1, 1, 1, 0},     {3, 5, 7, 1},       {9, 2, 48, 0},     {8, 64, 49, 1},     {17, 33, 47, 1},
    {13, 129, 96, 0}, {25, 300, 97, 1},   {64, 896, 130, 1}, {11, 1001, 17, 0},  {40, 2049, 50, 1},
};
#define N_SHAPES (int)(sizeof SHAPES / sizeof SHAPES[0])

typedef struct {
    float *x, *bias, *y, *want_y, *scratch;
    uint16_t *W;
    double *ref, *abs_sum; /* float64 sum and sum of |terms| per output */
    size_t scratch_floats;
} problem;

/* Random x (with a few exact ties and tiny values), W, bias; the float64 reference. */
static void make_problem(problem *p, shape s) {
    size_t nx = (size_t)s.N * s.in, nw = (size_t)s.out * s.in, ny = (size_t)s.N * s.out;
    p->x = malloc(nx * sizeof(float)), p->W = malloc(nw * sizeof(uint16_t));
    p->bias = malloc((size_t)s.out * sizeof(float)), p->y = malloc(ny * sizeof(float));
    p->want_y = malloc(ny * sizeof(float));
    p->ref = malloc(ny * sizeof(double)), p->abs_sum = malloc(ny * sizeof(double));
    p->scratch_floats = nn_bf16dot_scratch_floats(s.N, s.in, s.out, 2);
    p->scratch = malloc(p->scratch_floats * sizeof(float));
    for (size_t i = 0; i < nx; i++) {
        float v = rg_rng_normal(&rng);
        if (i % 17 == 3) v = 1.0f + ldexpf(1.0f, -8); /* a tie: rounds to even, 1.0 */
        if (i % 23 == 5) v = ldexpf(v, -20);
        p->x[i] = v;
    }
    for (size_t i = 0; i < nw; i++) p->W[i] = nn_f32_to_bf16(0.3f * rg_rng_normal(&rng));
    for (int o = 0; o < s.out; o++) p->bias[o] = rg_rng_normal(&rng);
    for (int n = 0; n < s.N; n++)
        for (int o = 0; o < s.out; o++) {
            double sum = 0, abs_sum = 0;
            for (int i = 0; i < s.in; i++) {
                double t = (double)nn_bf16_to_f32(nn_f32_to_bf16(p->x[(size_t)n * s.in + i])) *
                           nn_bf16_to_f32(p->W[(size_t)o * s.in + i]);
                sum += t, abs_sum += fabs(t);
            }
            if (s.bias) sum += p->bias[o], abs_sum += fabs(p->bias[o]);
            p->ref[(size_t)n * s.out + o] = sum, p->abs_sum[(size_t)n * s.out + o] = abs_sum;
        }
}

static void free_problem(problem *p) {
    free(p->x), free(p->W), free(p->bias), free(p->y), free(p->want_y), free(p->ref), free(p->abs_sum);
    free(p->scratch);
}

/* Every output within (in + 1) * 2^-24 * sum|terms| of the float64 sum. */
static void check_vs_float64(const char *what, const float *y, const problem *p, shape s) {
    const double u = ldexp(1.0, -24);
    for (size_t i = 0; i < (size_t)s.N * s.out; i++) {
        double tol = (s.in + 1) * u * p->abs_sum[i] + 1e-37, err = fabs((double)y[i] - p->ref[i]);
        if (!(err <= tol))
            fail_msg("%s N=%d in=%d out=%d [%zu]: got %.9g, float64 %.9g, |diff| %.3g > tol %.3g", what, s.N, s.in,
                     s.out, i, (double)y[i], p->ref[i], err, tol);
    }
}

/* Rounding and layout of x: nn_f32_to_bf16 per element, row-major pairs. */
static void x_packing(void **state) {
    (void)state;
    const int N = 3, in = 7, pairs = 4;
    float x[3 * 7];
    for (int i = 0; i < N * in; i++) x[i] = rg_rng_normal(&rng);
    x[0] = 1.0f + ldexpf(1.0f, -8);        /* tie, even below: 1.0 (0x3f80) */
    x[1] = 1.0f + 3.0f * ldexpf(1.0f, -8); /* tie, even above: 0x3f82 */
    x[2] = -(1.0f + ldexpf(1.0f, -8) + ldexpf(1.0f, -20)); /* past the tie: 0xbf81 */
    uint32_t xp[3 * 4];
    assert_int_equal(nn_bf16dot_packed_x_words(N, in), N * pairs);
    memset(xp, 0xab, sizeof xp);
    nn_bf16dot_pack_x(xp, x, N, in);
    assert_int_equal(xp[0] & 0xffff, 0x3f80);
    assert_int_equal(xp[0] >> 16, 0x3f82);
    assert_int_equal(xp[1] & 0xffff, 0xbf81);
    for (int n = 0; n < N; n++)
        for (int p = 0; p < pairs; p++) {
            uint32_t want = nn_f32_to_bf16(x[n * in + 2 * p]);
            if (2 * p + 1 < in) want |= (uint32_t)nn_f32_to_bf16(x[n * in + 2 * p + 1]) << 16;
            assert_int_equal(xp[n * pairs + p], want);
        }
}

static void ref_matches_float64(void **state) {
    (void)state;
    for (int k = 0; k < N_SHAPES; k++) {
        problem p;
        make_problem(&p, SHAPES[k]);
        shape s = SHAPES[k];
        nn_bf16dot_ref(p.y, p.x, p.W, s.bias ? p.bias : NULL, s.N, s.in, s.out, 2, p.scratch);
        check_vs_float64("ref", p.y, &p, s);
        free_problem(&p);
    }
}

static void avx512_matches_ref(void **state) {
    (void)state;
#if !RG_HAVE_X86_SIMD
    fprintf(stderr, "note: not an x86-64 build: no AVX-512 BF16 kernel to check\n");
    skip();
#else
    if (!nn_cpu_has_avx512bf16()) {
        fprintf(stderr, "note: no AVX-512 BF16 on this CPU: only the plain-C kernel was checked\n");
        skip();
    }
    size_t equal = 0, total = 0;
    for (int k = 0; k < N_SHAPES; k++) {
        problem p;
        make_problem(&p, SHAPES[k]);
        shape s = SHAPES[k];
        nn_bf16dot_ref(p.want_y, p.x, p.W, s.bias ? p.bias : NULL, s.N, s.in, s.out, 2, p.scratch);
        memset(p.y, 0xff, (size_t)s.N * s.out * sizeof(float)); /* NaN: an output left unwritten fails */
        nn_bf16dot_avx512(p.y, p.x, p.W, s.bias ? p.bias : NULL, s.N, s.in, s.out, 2, p.scratch);
        check_vs_float64("avx512", p.y, &p, s);
        for (size_t i = 0; i < (size_t)s.N * s.out; i++) equal += memcmp(&p.y[i], &p.want_y[i], sizeof(float)) == 0;
        total += (size_t)s.N * s.out;
        free_problem(&p);
    }
    fprintf(stderr, "note: AVX-512 BF16 equal to the plain-C kernel bit for bit in %zu of %zu outputs\n", equal,
            total);
#endif
}

/* Setting k of ref, avx2, avx512, avx512-nobf16: switched to when this CPU runs it (0: it does not). */
#define N_PATH_SETTINGS 4
static int use_path_setting(int k, nn_kernel_path *path) {
    static const nn_kernel_path paths[N_PATH_SETTINGS] = {NN_KERNELS_REF, NN_KERNELS_AVX2, NN_KERNELS_AVX512,
                                                          NN_KERNELS_AVX512};
    *path = paths[k];
    if (*path > nn_cpu_best()) return 0;
    nn_cpu_set_path_for_tests(*path);
    nn_cpu_set_bf16dot(k < 3); /* k = 3: avx512-nobf16 */
    return 1;
}

/* nn_linear_bf16_forward_ws on every path this CPU runs: bf16 dot products
 * where in use (checked against float64 of the rounded inputs), else f32
 * (checked against float64 of the unrounded x, 1e-5 of sum|terms|: the
 * sgemm path's own tolerance in test_kernel_paths). Short scratch: chunks of
 * rows give the same bits; none at all: the f32 streaming kernel. */
static void linear_dispatch(void **state) {
    (void)state;
    const shape s = {70, 300, 100, 1};
    for (int k = 0; k < N_PATH_SETTINGS; k++) {
        nn_kernel_path path;
        if (!use_path_setting(k, &path)) continue;
        problem p;
        make_problem(&p, s);
        size_t need = nn_linear_bf16_scratch_floats(s.N, s.in, s.out);
        float *scratch = malloc(need * sizeof(float));
        nn_linear_bf16_forward_ws(p.y, p.x, p.W, p.bias, s.N, s.in, s.out, scratch, need);
        int dot = nn_bf16dot_in_use();
        assert_int_equal(dot, path == NN_KERNELS_REF || (path == NN_KERNELS_AVX512 && k < 3 && nn_cpu_has_avx512bf16()));
        if (dot) {
            check_vs_float64(nn_cpu_path_name(path), p.y, &p, s);
            /* scratch for 20 rows: chunks of 16, the same result */
            size_t short_floats = nn_bf16dot_scratch_floats(20, s.in, s.out, omp_get_max_threads());
            assert_true(short_floats < need);
            nn_linear_bf16_forward_ws(p.want_y, p.x, p.W, p.bias, s.N, s.in, s.out, scratch, short_floats);
            assert_memory_equal(p.want_y, p.y, (size_t)s.N * s.out * sizeof(float));
        } else {
            for (size_t i = 0; i < (size_t)s.N * s.out; i++) {
                int n = (int)(i / s.out), o = (int)(i % s.out);
                double sum = p.bias[o], abs_sum = fabs(p.bias[o]);
                for (int c = 0; c < s.in; c++) {
                    double t = (double)p.x[(size_t)n * s.in + c] * nn_bf16_to_f32(p.W[(size_t)o * s.in + c]);
                    sum += t, abs_sum += fabs(t);
                }
                assert_true(fabs(p.y[i] - sum) <= 1e-5 * abs_sum);
            }
        }
        /* no scratch: the streaming kernel, f32 activations, on every path */
        nn_linear_bf16_forward_ws(p.want_y, p.x, p.W, p.bias, s.N, s.in, s.out, NULL, 0);
        for (size_t i = 0; i < (size_t)s.N * s.out; i++)
            assert_true(fabs(p.want_y[i] - p.y[i]) <= (dot ? 2e-2 : 1e-5) * p.abs_sum[i] + 1e-30);
        free(scratch);
        free_problem(&p);
    }
}

/* Decode: N <= 8, `in` across blocks of 32 and chunks of 8192, out off the 3-row blocking. */
static const shape DECODE_SHAPES[] = {
    {1, 1, 1, 0},   {2, 31, 5, 0},   {3, 32, 7, 0},   {8, 33, 13, 0},    {1, 896, 130, 0},
    {5, 1001, 17, 0}, {8, 4864, 11, 0}, {7, 8192, 9, 0}, {8, 8225, 10, 0}, {4, 16411, 6, 0},
};
#define N_DECODE (int)(sizeof DECODE_SHAPES / sizeof DECODE_SHAPES[0])

static void decode_ref_matches_float64(void **state) {
    (void)state;
    for (int k = 0; k < N_DECODE; k++) {
        problem p;
        shape s = DECODE_SHAPES[k];
        make_problem(&p, s);
        nn_gemv_bf16dot_ref(p.y, p.x, p.W, s.N, s.in, s.out);
        check_vs_float64("decode ref", p.y, &p, s);
        free_problem(&p);
    }
}

/* y of the kernel this path runs, NaN first so an output left unwritten fails. */
static void decode_run(float *y, const problem *p, shape s, int N, int avx512) {
    memset(y, 0xff, (size_t)N * s.out * sizeof(float));
#if RG_HAVE_X86_SIMD
    if (avx512) {
        nn_gemv_bf16dot_avx512(y, p->x, p->W, N, s.in, s.out);
        return;
    }
#endif
    (void)avx512;
    nn_gemv_bf16dot_ref(y, p->x, p->W, N, s.in, s.out);
}

/* Each kernel: row n of an N-row call = a 1-row call on row n = the same call on 1 thread. */
static void decode_rows_independent(const problem *p, shape s, int avx512) {
    float *one = malloc((size_t)s.out * sizeof(float)), *all = malloc((size_t)s.N * s.out * sizeof(float));
    decode_run(all, p, s, s.N, avx512);
    for (int n = 0; n < s.N; n++) {
        problem row = *p;
        row.x = p->x + (size_t)n * s.in;
        decode_run(one, &row, s, 1, avx512);
        assert_memory_equal(one, all + (size_t)n * s.out, (size_t)s.out * sizeof(float));
    }
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    decode_run(p->want_y, p, s, s.N, avx512);
    omp_set_num_threads(threads);
    assert_memory_equal(p->want_y, all, (size_t)s.N * s.out * sizeof(float));
    free(one), free(all);
}

static void decode_avx512_matches_ref(void **state) {
    (void)state;
    for (int k = 0; k < N_DECODE; k++) { /* the plain-C kernel first: it runs everywhere */
        problem p;
        make_problem(&p, DECODE_SHAPES[k]);
        decode_rows_independent(&p, DECODE_SHAPES[k], 0);
        free_problem(&p);
    }
#if !RG_HAVE_X86_SIMD
    fprintf(stderr, "note: not an x86-64 build: no AVX-512 BF16 decode kernel to check\n");
    skip();
#else
    if (!nn_cpu_has_avx512bf16()) {
        fprintf(stderr, "note: no AVX-512 BF16 on this CPU: only the plain-C decode kernel was checked\n");
        skip();
    }
    size_t equal = 0, total = 0;
    for (int k = 0; k < N_DECODE; k++) {
        problem p;
        shape s = DECODE_SHAPES[k];
        make_problem(&p, s);
        nn_gemv_bf16dot_ref(p.want_y, p.x, p.W, s.N, s.in, s.out);
        decode_run(p.y, &p, s, s.N, 1);
        check_vs_float64("decode avx512", p.y, &p, s);
        for (size_t i = 0; i < (size_t)s.N * s.out; i++) equal += memcmp(&p.y[i], &p.want_y[i], sizeof(float)) == 0;
        total += (size_t)s.N * s.out;
        decode_rows_independent(&p, s, 1);
        free_problem(&p);
    }
    fprintf(stderr, "note: decode: AVX-512 BF16 equal to the plain-C kernel bit for bit in %zu of %zu outputs\n",
            equal, total);
#endif
}

/* nn_linear at decode sizes: inference (f32_activations 0) takes the bf16 dot
 * kernel where it is in use, the f32 streaming kernel otherwise; the LM head
 * and training (f32_activations 1) always the f32 one. With and without a buffer. */
static void decode_linear_dispatch(void **state) {
    (void)state;
    const shape s = {6, 300, 37, 1};
    for (int k = 0; k < N_PATH_SETTINGS; k++) {
        nn_kernel_path path;
        if (!use_path_setting(k, &path)) continue;
        problem p;
        make_problem(&p, s);
        const nn_weight W = {NULL, p.W, s.out, s.in};
        float buf[64];
        for (int f32 = 0; f32 < 2; f32++)
            for (int with_buf = 0; with_buf < 2; with_buf++) {
                const nn_scratch scratch = {with_buf ? buf : NULL, with_buf ? 64 : 0, f32};
                nn_linear(p.y, p.x, &W, p.bias, s.N, &scratch);
                if (!f32 && nn_bf16dot_in_use()) nn_gemv_bf16dot(p.want_y, p.x, p.W, s.N, s.in, s.out);
                else nn_gemv_bf16(p.want_y, p.x, p.W, s.N, s.in, s.out);
                for (int n = 0; n < s.N; n++)
                    for (int o = 0; o < s.out; o++) p.want_y[(size_t)n * s.out + o] += p.bias[o];
                assert_memory_equal(p.y, p.want_y, (size_t)s.N * s.out * sizeof(float));
            }
        free_problem(&p);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(x_packing),
        cmocka_unit_test(ref_matches_float64),
        cmocka_unit_test(avx512_matches_ref),
        cmocka_unit_test_teardown(linear_dispatch, restore_path),
        cmocka_unit_test(decode_ref_matches_float64),
        cmocka_unit_test(decode_avx512_matches_ref),
        cmocka_unit_test_teardown(decode_linear_dispatch, restore_path),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
