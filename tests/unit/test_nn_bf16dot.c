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
 * Shapes: N, in and out off the 8 x 48 blocking, in odd, with and without
 * bias. */
#include "test_util.h"

#include <math.h>
#include <time.h>

#include <omp.h>

#include "base/rng.h"
#include "nn/bf16dot.h"
#include "nn/cpu.h"
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

/* nn_linear_bf16_forward_ws on every path this CPU runs: bf16 dot products
 * where in use (checked against float64 of the rounded inputs), else f32
 * (checked against float64 of the unrounded x, 1e-5 of sum|terms|: the
 * sgemm path's own tolerance in test_kernel_paths). Short scratch: chunks of
 * rows give the same bits; none at all: the f32 streaming kernel. */
static void linear_dispatch(void **state) {
    (void)state;
    const shape s = {70, 300, 100, 1};
    nn_kernel_path paths[3] = {NN_KERNELS_REF, NN_KERNELS_AVX2, NN_KERNELS_AVX512};
    for (int k = 0; k < 4; k++) {
        nn_kernel_path path = paths[k < 3 ? k : 2];
        if (path > nn_cpu_best()) continue;
        nn_cpu_set_path_for_tests(path);
        nn_cpu_set_bf16dot(k < 3); /* k = 3: avx512-nobf16 */
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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(x_packing),
        cmocka_unit_test(ref_matches_float64),
        cmocka_unit_test(avx512_matches_ref),
        cmocka_unit_test_teardown(linear_dispatch, restore_path),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
