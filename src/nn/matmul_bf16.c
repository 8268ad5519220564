/* matmul_bf16.c — the linear layer over a frozen bf16 weight W[out,in].
 *
 * Decode (N <= 8 rows) is memory bound: gemv.c streams W once for all
 * rows (AVX2 + FMA, bf16 -> f32 by a 16-bit shift).
 * Larger N is compute bound: W is widened to f32 a panel of rows at a time
 * and multiplied with sgemm, so the f32 copy never exceeds one panel. */
#include <cblas.h>
#include <stdlib.h>

#ifdef _OPENMP
#include <omp.h>
#endif

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

/* Panels of W widened to f32 for sgemm; NULL when memory is short (callers
 * then fall back to the streaming kernel, slower but correct). */
static float *panel_buffer(int in, int out) { return malloc((size_t)panel_rows(in, out) * in * sizeof(float)); }

/* x[N,in] (N > 8), W[out,in] bf16 -> y[N,out]: each thread widens its own
 * panels of W and multiplies them with a single-threaded sgemm (BLAS inside
 * an OpenMP region), so threads never wait on each other per panel.
 * Returns 0 when a thread could not get its panel buffer (y incomplete). */
static int panel_forward(float *y, const float *x, const uint16_t *W, int N, int in, int out) {
#ifdef _OPENMP
    const int threads = omp_get_max_threads();
#else
    const int threads = 1;
#endif
    /* at least 4 panels per thread for balance, at most PANEL_BYTES each */
    int rows = panel_rows(in, out), balanced = (out + 4 * threads - 1) / (4 * threads);
    balanced = (balanced + 15) & ~15;
    if (balanced < 64) balanced = 64;
    if (balanced < rows) rows = balanced;
    const int panels = (out + rows - 1) / rows;
    int ok = 1;
#pragma omp parallel reduction(&& : ok)
    {
        float *panel = malloc((size_t)rows * in * sizeof(float));
        ok = panel != NULL;
#pragma omp for schedule(dynamic)
        for (int p = 0; p < panels; p++) {
            if (!panel) continue;
            int o0 = p * rows, n_rows = out - o0 < rows ? out - o0 : rows;
            for (size_t i = 0; i < (size_t)n_rows * in; i++) panel[i] = nn_bf16_to_f32(W[(size_t)o0 * in + i]);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, n_rows, in, 1.0f, x, in, panel, in, 0.0f, y + o0,
                        out);
        }
        free(panel);
    }
    return ok;
}

// x[N,in], W[out,in] bf16, bias[out] or NULL -> y[N,out]
void nn_linear_bf16_forward(float *y, const float *x, const uint16_t *W, const float *bias, int N, int in, int out) {
    if (N <= 0 || out <= 0) return;
    if (N <= SMALL_N_MAX || !panel_forward(y, x, W, N, in, out)) {
        /* decode; or no memory for panels: the streaming kernel, 8 rows at a time (slower, same result) */
        for (int n0 = 0; n0 < N; n0 += SMALL_N_MAX) {
            int rows = N - n0 < SMALL_N_MAX ? N - n0 : SMALL_N_MAX;
            nn_gemv_bf16(y + (size_t)n0 * out, x + (size_t)n0 * in, W, rows, in, out);
        }
    }
    if (bias) {
#pragma omp parallel for schedule(static) if ((size_t)N * out > (1u << 16))
        for (int n = 0; n < N; n++)
            for (int o = 0; o < out; o++) y[(size_t)n * out + o] += bias[o];
    }
}

// dy[N,out], W[out,in] bf16 -> dx[N,in] +=
void nn_linear_bf16_backward_input(float *dx, const float *dy, const uint16_t *W, int N, int in, int out) {
    if (N <= 0 || out <= 0 || in <= 0) return;
    float *panel = N > SMALL_N_MAX ? panel_buffer(in, out) : NULL;
    const int panel_n = panel_rows(in, out);
    if (panel) {
        for (int o0 = 0; o0 < out; o0 += panel_n) {
            int rows = out - o0 < panel_n ? out - o0 : panel_n;
            nn_bf16_to_f32_array(panel, W + (size_t)o0 * in, (size_t)rows * in);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, in, rows, 1.0f, dy + o0, out, panel, in, 1.0f,
                        dx, in);
        }
        free(panel);
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
