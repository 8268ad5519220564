/* norm.c — RMSNorm as Llama/Qwen compute it in f32:
 * y = x * rsqrt(mean(x^2) + eps) * weight. */
#include <math.h>

#include "nn/nn.h"

#ifdef _OPENMP
#include <omp.h>
#endif

// x[N,C], weight[C] -> y[N,C], rstd[N] or NULL
void nn_rmsnorm_forward(float *y, float *rstd, const float *x, const float *weight, float eps, int N, int C) {
#pragma omp parallel for schedule(static) if ((size_t)N * C > (1u << 15))
    for (int n = 0; n < N; n++) {
        const float *xr = x + (size_t)n * C;
        float *yr = y + (size_t)n * C;
        float sumsq = 0.0f;
        for (int c = 0; c < C; c++) sumsq += xr[c] * xr[c];
        float r = 1.0f / sqrtf(sumsq / (float)C + eps);
        if (rstd) rstd[n] = r;
        for (int c = 0; c < C; c++) yr[c] = xr[c] * r * weight[c];
    }
}

// dy[N,C], x[N,C], weight[C], rstd[N] -> dx[N,C] +=, dweight[C] +=
void nn_rmsnorm_backward(float *dx, float *dweight, const float *dy, const float *x, const float *weight,
                         const float *rstd, int N, int C) {
    if (dx) {
        /* dx_i = r w_i dy_i - r^3/C x_i sum_j(dy_j w_j x_j) */
#pragma omp parallel for schedule(static) if ((size_t)N * C > (1u << 15))
        for (int n = 0; n < N; n++) {
            const float *xr = x + (size_t)n * C, *dyr = dy + (size_t)n * C;
            float *dxr = dx + (size_t)n * C;
            float r = rstd[n], dot = 0.0f;
            for (int c = 0; c < C; c++) dot += dyr[c] * weight[c] * xr[c];
            float coef = r * r * r * dot / (float)C;
            for (int c = 0; c < C; c++) dxr[c] += r * weight[c] * dyr[c] - coef * xr[c];
        }
    }
    if (dweight) {
        /* Each thread owns a contiguous slice of the channels: no races, rows read in order. */
#pragma omp parallel if ((size_t)N * C > (1u << 15))
        {
#ifdef _OPENMP
            int nth = omp_get_num_threads(), tid = omp_get_thread_num();
#else
            int nth = 1, tid = 0;
#endif
            int c0 = (int)((long)C * tid / nth), c1 = (int)((long)C * (tid + 1) / nth);
            for (int n = 0; n < N; n++) {
                const float *xr = x + (size_t)n * C, *dyr = dy + (size_t)n * C;
                float r = rstd[n];
                for (int c = c0; c < c1; c++) dweight[c] += dyr[c] * xr[c] * r;
            }
        }
    }
}
