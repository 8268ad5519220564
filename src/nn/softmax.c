/* softmax.c — softmax and log-softmax over the rows of a matrix, in f32
 * with the row maximum subtracted and the normaliser summed in double
 * (vecmath.c). */
#include <math.h>

#include "nn/nn.h"
#include "nn/vecmath.h"

// x[N,V] -> y[N,V]
void nn_softmax_forward(float *y, const float *x, int N, int V) {
#pragma omp parallel for schedule(static) if ((size_t)N * V > (1u << 15))
    for (int n = 0; n < N; n++) {
        const float *xr = x + (size_t)n * V;
        float *yr = y + (size_t)n * V;
        nn_row_exp(yr, xr, (float)nn_row_logsumexp(xr, V), 1.0f, V);
    }
}

// x[N,V] -> y[N,V] = x - logsumexp(x)
void nn_log_softmax_forward(float *y, const float *x, int N, int V) {
#pragma omp parallel for schedule(static) if ((size_t)N * V > (1u << 15))
    for (int n = 0; n < N; n++) {
        const float *xr = x + (size_t)n * V;
        float *yr = y + (size_t)n * V;
        double lse = nn_row_logsumexp(xr, V);
        for (int i = 0; i < V; i++) yr[i] = (float)((double)xr[i] - lse);
    }
}

// dy[N,V], y[N,V] (softmax) -> dx[N,V] +=
void nn_softmax_backward(float *dx, const float *dy, const float *y, int N, int V) {
#pragma omp parallel for schedule(static) if ((size_t)N * V > (1u << 15))
    for (int n = 0; n < N; n++) {
        const float *dyr = dy + (size_t)n * V, *yr = y + (size_t)n * V;
        float *dxr = dx + (size_t)n * V;
        double dot = 0.0;
        for (int i = 0; i < V; i++) dot += (double)dyr[i] * yr[i];
        for (int i = 0; i < V; i++) dxr[i] += yr[i] * (dyr[i] - (float)dot);
    }
}

// dy[N,V], y[N,V] (log-softmax) -> dx[N,V] +=
void nn_log_softmax_backward(float *dx, const float *dy, const float *y, int N, int V) {
#pragma omp parallel for schedule(static) if ((size_t)N * V > (1u << 15))
    for (int n = 0; n < N; n++) {
        const float *dyr = dy + (size_t)n * V, *yr = y + (size_t)n * V;
        float *dxr = dx + (size_t)n * V;
        double sum = 0.0;
        for (int i = 0; i < V; i++) sum += dyr[i];
        for (int i = 0; i < V; i++) dxr[i] += dyr[i] - expf(yr[i]) * (float)sum;
    }
}
