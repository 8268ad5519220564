/* matmul_bf16.c — the linear layer over a frozen bf16 weight W[out,in].
 *
 * Inference (nn_linear_bf16_forward_ws), where the CPU has AVX-512 BF16 (and
 * under RGSD_KERNELS=ref, its plain-C definition): x is rounded to bf16 and
 * multiplied with bf16 dot products, twice the f32 FMA rate — decode
 * (N <= 8 rows) by gemv.c's bf16 dot kernel, which streams W once for all
 * rows; prefill (larger N) by the GEMM of bf16dot.h, scratch from the caller.
 * Elsewhere, and always in nn_linear_bf16_forward (f32 activations, for the
 * training forward whose backward is f32, and the LM head): decode streams
 * W once with f32 products (bf16 -> f32 by a 16-bit shift) and prefill
 * widens W to f32 a panel of rows at a time for sgemm. */
#include <cblas.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "nn/bf16dot.h"
#include "nn/cpu.h"
#include "nn/gemv.h"
#include "nn/nn.h"

#define SMALL_N_MAX NN_GEMV_MAX_ROWS
/* f32 panel of W: about 4 MiB (fits L2 + shared cache), at least 64 rows,
 * so each sgemm call is big enough to run near its peak. */
#define PANEL_BYTES ((size_t)4 << 20)

static int panel_rows(int in, int out) {
    size_t rows = PANEL_BYTES / ((size_t)in * sizeof(float));
    if (rows < 64) rows = 64;
    rows &= ~(size_t)15;
    return rows < (size_t)out ? (int)rows : out;
}

static int max_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* Rows per f32 panel of W for sgemm: at least 4 panels per thread for
 * balance, at most PANEL_BYTES each. */
static int balanced_panel_rows(int in, int out) {
    int rows = panel_rows(in, out), balanced = (out + 4 * max_threads() - 1) / (4 * max_threads());
    balanced = (balanced + 15) & ~15;
    if (balanced < 64) balanced = 64;
    return balanced < rows ? balanced : rows;
}

int nn_bf16dot_in_use(void) { return nn_cpu_bf16_infer() != NN_BF16_INFER_F32; }

size_t nn_linear_bf16_scratch_floats(int N, int in, int out) {
    if (N <= SMALL_N_MAX || out <= 0) return 0;
    if (nn_bf16dot_in_use()) return nn_bf16dot_scratch_floats(N, in, out, max_threads());
    return (size_t)max_threads() * balanced_panel_rows(in, out) * in;
}

/* x[N,in] (N > 8), W[out,in] bf16 -> y[N,out]: each thread widens its own
 * panels of W (`rows` rows each, in its part of scratch) and multiplies them
 * with a single-threaded sgemm (BLAS inside an OpenMP region), so threads
 * never wait on each other per panel. */
static void panel_forward(float *y, const float *x, const uint16_t *W, int N, int in, int out, int rows,
                          float *scratch) {
    const int panels = (out + rows - 1) / rows;
#pragma omp parallel num_threads(max_threads())
    {
#ifdef _OPENMP
        float *panel = scratch + (size_t)omp_get_thread_num() * rows * in;
#else
        float *panel = scratch;
#endif
#pragma omp for schedule(dynamic)
        for (int p = 0; p < panels; p++) {
            int o0 = p * rows, n_rows = out - o0 < rows ? out - o0 : rows;
            for (size_t i = 0; i < (size_t)n_rows * in; i++) panel[i] = nn_bf16_to_f32(W[(size_t)o0 * in + i]);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, n_rows, in, 1.0f, x, in, panel, in, 0.0f, y + o0,
                        out);
        }
    }
}

/* The decode kernel over N rows, 8 at a time: needs no scratch (slow for large N). */
static void streaming_forward(float *y, const float *x, const uint16_t *W, int N, int in, int out) {
    for (int n0 = 0; n0 < N; n0 += SMALL_N_MAX) {
        int rows = N - n0 < SMALL_N_MAX ? N - n0 : SMALL_N_MAX;
        nn_gemv_bf16(y + (size_t)n0 * out, x + (size_t)n0 * in, W, rows, in, out);
    }
}

static void add_bias(float *y, const float *bias, int N, int out) {
#pragma omp parallel for schedule(static) if ((size_t)N * out > (1u << 16))
    for (int n = 0; n < N; n++)
        for (int o = 0; o < out; o++) y[(size_t)n * out + o] += bias[o];
}

/* Bf16 dot products (x rounded to bf16) over as many rows at a time as the
 * scratch holds, on fewer threads if it holds too little for all (each
 * thread packs its own 48-row panel of W: more than a tiny matrix); 0 when
 * it holds less than one row block on one thread. */
static int bf16dot_forward(float *y, const float *x, const uint16_t *W, const float *bias, int N, int in, int out,
                           float *scratch, size_t scratch_floats) {
    int threads = max_threads(), rows = N;
    while (nn_bf16dot_scratch_floats(rows, in, out, threads) > scratch_floats) {
        if (rows > NN_BF16DOT_MR) rows = (rows / 2 + NN_BF16DOT_MR - 1) / NN_BF16DOT_MR * NN_BF16DOT_MR;
        else if (threads > 1) threads--, rows = N;
        else return 0;
    }
    for (int n0 = 0; n0 < N; n0 += rows) {
        int n = N - n0 < rows ? N - n0 : rows;
#if RG_HAVE_X86_SIMD
        if (nn_cpu_bf16_infer() == NN_BF16_INFER_DOT_AVX512)
            nn_bf16dot_avx512(y + (size_t)n0 * out, x + (size_t)n0 * in, W, bias, n, in, out, threads, scratch);
        else
#endif
            nn_bf16dot_ref(y + (size_t)n0 * out, x + (size_t)n0 * in, W, bias, n, in, out, threads, scratch);
    }
    return 1;
}

/* Rows per sgemm panel that the scratch holds for all threads; 0: too few. */
static int sgemm_panel_rows(int in, int out, size_t scratch_floats) {
    int rows = balanced_panel_rows(in, out);
    size_t per_row = (size_t)max_threads() * in; /* floats per panel row, all threads */
    if ((size_t)rows * per_row > scratch_floats) rows = (int)(scratch_floats / per_row) & ~15;
    return rows >= 16 ? rows : 0;
}

/* The bf16 dot decode kernel over N rows, 8 at a time (gemv.h): no scratch. */
static void streaming_dot_forward(float *y, const float *x, const uint16_t *W, int N, int in, int out) {
    for (int n0 = 0; n0 < N; n0 += SMALL_N_MAX) {
        int rows = N - n0 < SMALL_N_MAX ? N - n0 : SMALL_N_MAX;
        nn_gemv_bf16dot(y + (size_t)n0 * out, x + (size_t)n0 * in, W, rows, in, out);
    }
}

// x[N,in], W[out,in] bf16, bias[out] or NULL, scratch[scratch_floats] -> y[N,out]
void nn_linear_bf16_forward_ws(float *y, const float *x, const uint16_t *W, const float *bias, int N, int in, int out,
                               float *scratch, size_t scratch_floats) {
    if (N <= 0 || out <= 0) return;
    if (nn_bf16dot_in_use()) { /* x rounded to bf16 whatever N is: decode and prefill agree */
        if (N > SMALL_N_MAX && bf16dot_forward(y, x, W, bias, N, in, out, scratch, scratch_floats))
            return; /* bias included */
        streaming_dot_forward(y, x, W, N, in, out); /* decode, or too little scratch for the GEMM */
        if (bias) add_bias(y, bias, N, out);
        return;
    }
    /* f32 activations: the sgemm path, or decode / too little scratch (the streaming kernel) */
    int rows = N > SMALL_N_MAX ? sgemm_panel_rows(in, out, scratch_floats) : 0;
    if (rows) panel_forward(y, x, W, N, in, out, rows, scratch);
    else streaming_forward(y, x, W, N, in, out);
    if (bias) add_bias(y, bias, N, out);
}

// x[N,in], W[out,in] bf16, bias[out] or NULL -> y[N,out] (f32 activations)
void nn_linear_bf16_forward(float *y, const float *x, const uint16_t *W, const float *bias, int N, int in, int out,
                            float *scratch, size_t scratch_floats) {
    if (N <= 0 || out <= 0) return;
    int rows = N > SMALL_N_MAX && scratch ? sgemm_panel_rows(in, out, scratch_floats) : 0;
    if (rows) panel_forward(y, x, W, N, in, out, rows, scratch);
    else streaming_forward(y, x, W, N, in, out); /* decode; or no scratch for panels: slower, same result */
    if (bias) add_bias(y, bias, N, out);
}

size_t nn_linear_bf16_f32_scratch_floats(int in, int out) {
    size_t forward = (size_t)max_threads() * balanced_panel_rows(in, out) * in;
    size_t backward = (size_t)panel_rows(in, out) * in;
    return forward > backward ? forward : backward;
}

// dy[N,out], W[out,in] bf16, scratch[scratch_floats] -> dx[N,in] +=
void nn_linear_bf16_backward_input(float *dx, const float *dy, const uint16_t *W, int N, int in, int out,
                                   float *scratch, size_t scratch_floats) {
    if (N <= 0 || out <= 0 || in <= 0) return;
    /* One f32 panel of W at a time, as many rows as the scratch holds (at least 16). */
    int panel_n = panel_rows(in, out);
    if (scratch && (size_t)panel_n * in > scratch_floats) panel_n = (int)(scratch_floats / in) & ~15;
    float *panel = N > SMALL_N_MAX && scratch && panel_n >= 16 ? scratch : NULL;
    if (panel) {
        for (int o0 = 0; o0 < out; o0 += panel_n) {
            int rows = out - o0 < panel_n ? out - o0 : panel_n;
            nn_bf16_to_f32_array(panel, W + (size_t)o0 * in, (size_t)rows * in);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, in, rows, 1.0f, dy + o0, out, panel, in, 1.0f,
                        dx, in);
        }
        return;
    }
    /* Few rows (or no memory for a panel): each thread owns a slice of the
     * input columns, so the accumulation into dx has no races. */
#pragma omp parallel for schedule(static)
    for (int c0 = 0; c0 < in; c0 += 64) {
        int c1 = c0 + 64 < in ? c0 + 64 : in;
        for (int o = 0; o < out; o++) {
            const uint16_t *w = W + (size_t)o * in;
            for (int n = 0; n < N; n++) {
                float g = dy[(size_t)n * out + o];
                float *d = dx + (size_t)n * in;
                for (int c = c0; c < c1; c++) d[c] += g * nn_bf16_to_f32(w[c]);
            }
        }
    }
}
