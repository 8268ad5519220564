/* test_nn_dense.c — linear (f32 and bf16), embedding, RMSNorm, SwiGLU,
 * softmax/log-softmax against PyTorch autograd (tests/ref/nn_ref.py,
 * float64 from the same float32 inputs).
 * Tolerances: forward values atol 1e-5 + rtol 1e-5; gradients atol 1e-5 +
 * rtol 1e-4 (f32 sums of up to a few hundred terms).
 * Backward kernels accumulate: gradients start at ACC_START and the test
 * subtracts it again, so a kernel that overwrites instead of adding fails. */
#include "nn/cpu.h"
#include "nn/gemv.h"
#include "nn/nn.h"
#include "nn_ref_reader.h"

#define FWD_ATOL 1e-5
#define FWD_RTOL 1e-5
#define GRAD_ATOL 1e-5
#define GRAD_RTOL 1e-4
#define ACC_START 0.5f

static float *filled(size_t n, float value) {
    float *a = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) a[i] = value;
    return a;
}

static void unaccumulate(float *a, size_t n) {
    for (size_t i = 0; i < n; i++) a[i] -= ACC_START;
}

static void linear_f32_matches_torch(void **state) {
    (void)state;
    ref_file f;
    ref_open(&f, "nn_dense.safetensors");
    for (int i = 0; i < 6; i++) {
        char c[32];
        snprintf(c, sizeof c, "linear%d", i);
        size_t nx, nW, ny;
        float *x = ref_f32(&f, ref_name(c, "x"), &nx), *W = ref_f32(&f, ref_name(c, "W"), &nW);
        float *b = ref_f32(&f, ref_name(c, "b"), NULL), *dy = ref_f32(&f, ref_name(c, "dy"), &ny);
        int has_bias = (int)ref_scalar(&f, ref_name(c, "has_bias"));
        /* shapes from the sizes: b[out], W[out,in], x[N,in] */
        size_t out;
        free(ref_f32(&f, ref_name(c, "b"), &out));
        size_t in_dim = nW / out, N = nx / in_dim;
        float *y = malloc(ny * sizeof(float));
        nn_linear_forward(y, x, W, has_bias ? b : NULL, (int)N, (int)in_dim, (int)out);
        check_ref(&f, c, "y", y, ny, FWD_ATOL, FWD_RTOL);
        float *dx = filled(nx, ACC_START), *dW = filled(nW, ACC_START), *db = filled(out, ACC_START);
        nn_linear_backward(dx, dW, has_bias ? db : NULL, dy, x, W, (int)N, (int)in_dim, (int)out);
        unaccumulate(dx, nx);
        unaccumulate(dW, nW);
        unaccumulate(db, out);
        check_ref(&f, c, "dx", dx, nx, GRAD_ATOL, GRAD_RTOL);
        check_ref(&f, c, "dW", dW, nW, GRAD_ATOL, GRAD_RTOL);
        check_ref(&f, c, "db", db, out, GRAD_ATOL, GRAD_RTOL);
        free(x); free(W); free(b); free(dy); free(y); free(dx); free(dW); free(db);
    }
    ref_close(&f);
}

/* N = 1..8 run the AVX2 streaming kernel (gemv.c; in > 1024 crosses its
 * input chunks), N > 8 the f32-panel sgemm path; nn_linear_bf16_forward_ws
 * the bf16 dot products where nn_bf16dot_in_use() (the decode kernel for
 * N <= 8, the GEMM above; against torch's product of the bf16-rounded x,
 * same tolerance). */
static void linear_bf16_matches_torch(void **state) {
    (void)state;
    ref_file f;
    ref_open(&f, "nn_dense.safetensors");
    for (int i = 0; i < 11; i++) {
        char c[32];
        snprintf(c, sizeof c, "bf16_%d", i);
        size_t nx, nW, ny, out;
        float *x = ref_f32(&f, ref_name(c, "x"), &nx), *b = ref_f32(&f, ref_name(c, "b"), &out);
        float *dy = ref_f32(&f, ref_name(c, "dy"), &ny);
        uint16_t *W = ref_bf16(&f, ref_name(c, "W"), &nW);
        size_t in = nW / out, N = nx / in;
        float *y = malloc(ny * sizeof(float));
        /* f32 activations: the panel path on the caller's scratch, and without scratch the streaming kernel */
        size_t f32_floats = nn_linear_bf16_f32_scratch_floats((int)in, (int)out);
        float *f32_scratch = malloc(f32_floats * sizeof(float));
        nn_linear_bf16_forward(y, x, W, b, (int)N, (int)in, (int)out, f32_scratch, f32_floats);
        check_ref(&f, c, "y", y, ny, FWD_ATOL, FWD_RTOL);
        nn_linear_bf16_forward(y, x, W, b, (int)N, (int)in, (int)out, NULL, 0);
        check_ref(&f, c, "y", y, ny, FWD_ATOL, FWD_RTOL);
        /* the inference entry: with bf16 dot products where in use (any N), x
         * rounded to bf16 — against torch's own rounding of the same x */
        size_t floats = nn_linear_bf16_scratch_floats((int)N, (int)in, (int)out);
        float *scratch = malloc((floats + 1) * sizeof(float));
        nn_linear_bf16_forward_ws(y, x, W, b, (int)N, (int)in, (int)out, scratch, floats);
        check_ref(&f, c, nn_bf16dot_in_use() ? "y_bf16_inputs" : "y", y, ny, FWD_ATOL, FWD_RTOL);
        free(scratch);
        for (int with_scratch = 0; with_scratch < 2; with_scratch++) { /* panels + sgemm, or the plain loop */
            float *dx = filled(nx, ACC_START);
            nn_linear_bf16_backward_input(dx, dy, W, (int)N, (int)in, (int)out, with_scratch ? f32_scratch : NULL,
                                          with_scratch ? f32_floats : 0);
            unaccumulate(dx, nx);
            check_ref(&f, c, "dx", dx, nx, GRAD_ATOL, GRAD_RTOL);
            free(dx);
        }
        free(x); free(b); free(dy); free(W); free(y); free(f32_scratch);
    }
    ref_close(&f);
}

#if RG_HAVE_X86_SIMD
#define GEMV_IMPL(type, impl) \
    ((impl) == 2 ? nn_gemv_##type##_ref : (impl) ? nn_gemv_##type##_avx512 : nn_gemv_##type##_avx2)
#else
#define GEMV_IMPL(type, impl) nn_gemv_##type##_ref
#endif

/* Every decode implementation behind nn_gemv_* (the dispatcher picks one per
 * CPU and RGSD_KERNELS), each against PyTorch: AVX2 and plain C always,
 * AVX-512 where it can run. */
static void gemv_implementations_match_torch(void **state) {
    (void)state;
    ref_file f;
    ref_open(&f, "nn_dense.safetensors");
    int checked = 0;
    /* impl 0: AVX2, 1: AVX-512, 2: plain C (gemv_ref.c); 0 and 1 on x86-64 only (nn/isa.h) */
    for (int impl = RG_HAVE_X86_SIMD ? 0 : 2; impl < 3; impl++) {
        if (impl == 1 && !nn_cpu_has_avx512()) {
            fprintf(stderr, "note: no AVX-512 here; the AVX2 and ref kernels were checked\n");
            continue;
        }
        for (int i = 0; i < 11; i++) {
            char c[32];
            snprintf(c, sizeof c, "bf16_%d", i);
            size_t nx, nW, ny, out;
            float *x = ref_f32(&f, ref_name(c, "x"), &nx), *b = ref_f32(&f, ref_name(c, "b"), &out);
            uint16_t *W = ref_bf16(&f, ref_name(c, "W"), &nW);
            size_t in = nW / out, N = nx / in;
            ny = N * out;
            if (N <= NN_GEMV_MAX_ROWS) {
                float *y = malloc(ny * sizeof(float));
                GEMV_IMPL(bf16, impl)(y, x, W, (int)N, (int)in, (int)out);
                for (size_t n = 0; n < N; n++)
                    for (size_t o = 0; o < out; o++) y[n * out + o] += b[o];
                check_ref(&f, c, "y", y, ny, FWD_ATOL, FWD_RTOL);
                free(y);
                checked++;
            }
            free(x); free(b); free(W);
        }
        for (int i = 0; i < 6; i++) {
            char c[32];
            snprintf(c, sizeof c, "linear%d", i);
            size_t nx, nW, out;
            float *x = ref_f32(&f, ref_name(c, "x"), &nx), *W = ref_f32(&f, ref_name(c, "W"), &nW);
            float *b = ref_f32(&f, ref_name(c, "b"), &out);
            int has_bias = (int)ref_scalar(&f, ref_name(c, "has_bias"));
            size_t in = nW / out, N = nx / in;
            if (N <= NN_GEMV_MAX_ROWS) {
                float *y = malloc(N * out * sizeof(float));
                GEMV_IMPL(f32, impl)(y, x, W, (int)N, (int)in, (int)out);
                if (has_bias)
                    for (size_t n = 0; n < N; n++)
                        for (size_t o = 0; o < out; o++) y[n * out + o] += b[o];
                check_ref(&f, c, "y", y, N * out, FWD_ATOL, FWD_RTOL);
                free(y);
                checked++;
            }
            free(x); free(W); free(b);
        }
    }
    assert_true(checked >= 13);
    ref_close(&f);
}

static void bf16_conversion_rounds_to_nearest_even(void **state) {
    (void)state;
    /* hand-computed: 1 + 2^-8 is a tie between 1 and 1 + 2^-7 -> even (1.0);
     * 1 + 3*2^-8 is a tie -> 1 + 2^-6 (even mantissa); 1 + 2^-8 + 2^-20 rounds up. */
    assert_int_equal(nn_f32_to_bf16(1.0f + 0x1p-8f), 0x3f80);
    assert_int_equal(nn_f32_to_bf16(1.0f + 3 * 0x1p-8f), 0x3f82);
    assert_int_equal(nn_f32_to_bf16(1.0f + 0x1p-8f + 0x1p-20f), 0x3f81);
    assert_int_equal(nn_f32_to_bf16(-2.0f), 0xc000);
    assert_true(nn_bf16_to_f32(0x3f81) == 1.0f + 0x1p-7f);
    assert_true(isnan(nn_bf16_to_f32(nn_f32_to_bf16(NAN))));
}

static void embedding_matches_torch(void **state) {
    (void)state;
    ref_file f;
    ref_open(&f, "nn_dense.safetensors");
    size_t nt, N, nd;
    float *table = ref_f32(&f, "embedding/table", &nt), *dout = ref_f32(&f, "embedding/dout", &nd);
    uint16_t *table16 = ref_bf16(&f, "embedding/table_bf16", NULL);
    int32_t *ids = ref_i32(&f, "embedding/ids", &N);
    int C = (int)(nd / N);
    float *out = malloc(nd * sizeof(float)), *dtable = filled(nt, ACC_START);
    nn_embedding_forward(out, ids, table, (int)N, C);
    check_ref(&f, "embedding", "out", out, nd, 0, 0); /* a copy: exact */
    nn_embedding_bf16_forward(out, ids, table16, (int)N, C);
    check_ref(&f, "embedding", "out_bf16", out, nd, 0, 0);
    nn_embedding_backward(dtable, dout, ids, (int)N, C);
    unaccumulate(dtable, nt);
    check_ref(&f, "embedding", "dtable", dtable, nt, GRAD_ATOL, GRAD_RTOL);
    free(table); free(dout); free(table16); free(ids); free(out); free(dtable);
    ref_close(&f);
}

static void rmsnorm_matches_torch(void **state) {
    (void)state;
    ref_file f;
    ref_open(&f, "nn_dense.safetensors");
    for (int i = 0; i < 3; i++) {
        char c[32];
        snprintf(c, sizeof c, "rmsnorm%d", i);
        size_t n, C;
        float *x = ref_f32(&f, ref_name(c, "x"), &n), *w = ref_f32(&f, ref_name(c, "weight"), &C);
        float *dy = ref_f32(&f, ref_name(c, "dy"), NULL);
        float eps = (float)ref_scalar(&f, ref_name(c, "eps"));
        int N = (int)(n / C);
        float *y = malloc(n * sizeof(float)), *rstd = malloc(N * sizeof(float));
        nn_rmsnorm_forward(y, rstd, x, w, eps, N, (int)C);
        check_ref(&f, c, "y", y, n, FWD_ATOL, FWD_RTOL);
        float *dx = filled(n, ACC_START), *dw = filled(C, ACC_START);
        nn_rmsnorm_backward(dx, dw, dy, x, w, rstd, N, (int)C);
        unaccumulate(dx, n);
        unaccumulate(dw, C);
        check_ref(&f, c, "dx", dx, n, GRAD_ATOL, GRAD_RTOL);
        check_ref(&f, c, "dweight", dw, C, GRAD_ATOL, GRAD_RTOL);
        /* in place (y aliases x) gives the same values */
        nn_rmsnorm_forward(x, NULL, x, w, eps, N, (int)C);
        check_ref(&f, c, "y", x, n, FWD_ATOL, FWD_RTOL);
        free(x); free(w); free(dy); free(y); free(rstd); free(dx); free(dw);
    }
    ref_close(&f);
}

static void swiglu_matches_torch(void **state) {
    (void)state;
    ref_file f;
    ref_open(&f, "nn_dense.safetensors");
    size_t n;
    float *gate = ref_f32(&f, "swiglu/gate", &n), *up = ref_f32(&f, "swiglu/up", NULL);
    float *dout = ref_f32(&f, "swiglu/dout", NULL);
    float *out = malloc(n * sizeof(float)), *dgate = filled(n, ACC_START), *dup = filled(n, ACC_START);
    nn_swiglu_forward(out, gate, up, n);
    check_ref(&f, "swiglu", "out", out, n, FWD_ATOL, FWD_RTOL);
    nn_swiglu_backward(dgate, dup, dout, gate, up, n);
    unaccumulate(dgate, n);
    unaccumulate(dup, n);
    check_ref(&f, "swiglu", "dgate", dgate, n, GRAD_ATOL, GRAD_RTOL);
    check_ref(&f, "swiglu", "dup", dup, n, GRAD_ATOL, GRAD_RTOL);
    free(gate); free(up); free(dout); free(out); free(dgate); free(dup);
    ref_close(&f);
}

static void softmax_matches_torch(void **state) {
    (void)state;
    ref_file f;
    ref_open(&f, "nn_dense.safetensors");
    size_t n;
    float *x = ref_f32(&f, "softmax/x", &n), *dy = ref_f32(&f, "softmax/dy", NULL);
    const int N = 4, V = (int)(n / 4);
    float *y = malloc(n * sizeof(float)), *dx = filled(n, ACC_START);
    nn_softmax_forward(y, x, N, V);
    check_ref(&f, "softmax", "y", y, n, FWD_ATOL, FWD_RTOL);
    nn_softmax_backward(dx, dy, y, N, V);
    unaccumulate(dx, n);
    check_ref(&f, "softmax", "dx", dx, n, GRAD_ATOL, GRAD_RTOL);
    float *ly = malloc(n * sizeof(float)), *ldx = filled(n, ACC_START);
    nn_log_softmax_forward(ly, x, N, V);
    check_ref(&f, "log_softmax", "y", ly, n, FWD_ATOL, FWD_RTOL);
    nn_log_softmax_backward(ldx, dy, ly, N, V);
    unaccumulate(ldx, n);
    check_ref(&f, "log_softmax", "dx", ldx, n, GRAD_ATOL, GRAD_RTOL);
    free(x); free(dy); free(y); free(dx); free(ly); free(ldx);
    ref_close(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(linear_f32_matches_torch),     cmocka_unit_test(linear_bf16_matches_torch),
        cmocka_unit_test(gemv_implementations_match_torch),
        cmocka_unit_test(bf16_conversion_rounds_to_nearest_even), cmocka_unit_test(embedding_matches_torch),
        cmocka_unit_test(rmsnorm_matches_torch),        cmocka_unit_test(swiglu_matches_torch),
        cmocka_unit_test(softmax_matches_torch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
