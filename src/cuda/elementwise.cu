/* elementwise.cu — the fused row and element kernels of the CUDA back end
 * (nn_cuda.h): RMSNorm, RoPE, SwiGLU, the residual add, bf16 conversions and
 * AdamW. Same formulas and operation order as src/nn (norm.c, rope.c,
 * activation.c, optim.c); f32 arithmetic whatever the storage type. */
#include <math.h>

#include "cuda/internal.cuh"

namespace {

constexpr int THREADS = 256;

/* One warp per row: y = x * rstd * w, rstd = 1 / sqrt(mean(x^2) + eps). */
template <typename T>
__global__ void rmsnorm_forward_kernel(T *y, float *rstd, const T *x, const float *w, float eps, int N, int C) {
    int row = blockIdx.x * (THREADS / 32) + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    if (row >= N) return;
    const T *xr = x + (size_t)row * C;
    float ss = 0.0f;
    for (int c = lane; c < C; c += 32) {
        float v = ld(&xr[c]);
        ss += v * v;
    }
    ss = warp_sum(ss);
    float r = 1.0f / sqrtf(ss / (float)C + eps);
    if (rstd && lane == 0) rstd[row] = r;
    T *yr = y + (size_t)row * C;
    for (int c = lane; c < C; c += 32) st(&yr[c], ld(&xr[c]) * r * w[c]);
}

/* dx_i += r w_i dy_i - r^3/C x_i sum_j(dy_j w_j x_j), one warp per row. */
template <typename T>
__global__ void rmsnorm_dx_kernel(T *dx, const T *dy, const T *x, const float *w, const float *rstd, int N, int C) {
    int row = blockIdx.x * (THREADS / 32) + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    if (row >= N) return;
    const T *xr = x + (size_t)row * C, *dyr = dy + (size_t)row * C;
    T *dxr = dx + (size_t)row * C;
    float dot = 0.0f;
    for (int c = lane; c < C; c += 32) dot += ld(&dyr[c]) * w[c] * ld(&xr[c]);
    dot = warp_sum(dot);
    float r = rstd[row], coef = r * r * r * dot / (float)C;
    for (int c = lane; c < C; c += 32) st(&dxr[c], ld(&dxr[c]) + r * w[c] * ld(&dyr[c]) - coef * ld(&xr[c]));
}

/* dweight[c] += sum over rows of dy x r: one thread per channel, rows in order. */
template <typename T>
__global__ void rmsnorm_dw_kernel(float *dw, const T *dy, const T *x, const float *rstd, int N, int C) {
    int c = blockIdx.x * THREADS + threadIdx.x;
    if (c >= C) return;
    float s = 0.0f;
    for (int n = 0; n < N; n++) s += ld(&dy[(size_t)n * C + c]) * ld(&x[(size_t)n * C + c]) * rstd[n];
    dw[c] += s;
}

/* Pairs (i, i + hd/2) of each head rotated by angle * sign (rope.c's rotate). */
template <typename T>
__global__ void rope_kernel(T *x, const float *cos_t, const float *sin_t, int T_, int H, int hd, float sign) {
    int half = hd / 2;
    size_t i = (size_t)blockIdx.x * THREADS + threadIdx.x, n = (size_t)T_ * H * half;
    if (i >= n) return;
    int d = (int)(i % half);
    size_t th = i / half;
    int t = (int)(th / H);
    T *row = x + th * hd;
    float c = cos_t[(size_t)t * half + d], s = sign * sin_t[(size_t)t * half + d];
    float x1 = ld(&row[d]), x2 = ld(&row[d + half]);
    st(&row[d], x1 * c - x2 * s);
    st(&row[d + half], x2 * c + x1 * s);
}

template <typename T> __global__ void swiglu_forward_kernel(T *out, const T *gate, const T *up, size_t n) {
    size_t i = (size_t)blockIdx.x * THREADS + threadIdx.x;
    if (i >= n) return;
    float g = ld(&gate[i]);
    st(&out[i], g / (1.0f + expf(-g)) * ld(&up[i]));
}

template <typename T>
__global__ void swiglu_backward_kernel(T *dgate, T *dup, const T *dout, const T *gate, const T *up, size_t n) {
    size_t i = (size_t)blockIdx.x * THREADS + threadIdx.x;
    if (i >= n) return;
    float g = ld(&gate[i]), sig = 1.0f / (1.0f + expf(-g)), d = ld(&dout[i]);
    if (dgate) st(&dgate[i], ld(&dgate[i]) + d * ld(&up[i]) * sig * (1.0f + g * (1.0f - sig)));
    if (dup) st(&dup[i], ld(&dup[i]) + d * g * sig);
}

template <typename T> __global__ void add_kernel(T *x, const T *y, size_t n) {
    size_t i = (size_t)blockIdx.x * THREADS + threadIdx.x;
    if (i < n) st(&x[i], ld(&x[i]) + ld(&y[i]));
}

__global__ void to_bf16_kernel(bf16 *out, const float *in, size_t n) {
    size_t i = (size_t)blockIdx.x * THREADS + threadIdx.x;
    if (i < n) out[i] = __float2bfloat16_rn(in[i]);
}

__global__ void to_f32_kernel(float *out, const bf16 *in, size_t n) {
    size_t i = (size_t)blockIdx.x * THREADS + threadIdx.x;
    if (i < n) out[i] = __bfloat162float(in[i]);
}

struct adamw_args {
    float step_size, bc2_sqrt, decay_factor, b1, b2, eps, one_minus_b1, one_minus_b2;
};

/* optim.c's element update, same order of operations. */
__global__ void adamw_kernel(float *p, float *m, float *v, const float *g, size_t n, adamw_args a, bf16 *out) {
    size_t i = (size_t)blockIdx.x * THREADS + threadIdx.x;
    if (i >= n) return;
    float x = p[i] * a.decay_factor, gi = g[i];
    float mi = m[i] * a.b1 + a.one_minus_b1 * gi;
    float vi = v[i] * a.b2 + a.one_minus_b2 * gi * gi;
    float denom = sqrtf(vi) / a.bc2_sqrt + a.eps;
    x -= a.step_size * (mi / denom);
    p[i] = x;
    m[i] = mi;
    v[i] = vi;
    if (out) out[i] = __float2bfloat16_rn(x);
}

} // namespace

extern "C" int nn_cuda_rmsnorm_forward(nn_cuda *ctx, nn_cuda_dtype dt, void *y, float *rstd, const void *x,
                                       const float *weight, float eps, int N, int C) {
    unsigned grid;
    if (N == 0 || nn_cuda_blocks_1d((size_t)N * 32, THREADS, &grid)) return N == 0 ? RG_OK : RG_ERR;
    if (dt == NN_CUDA_BF16)
        LAUNCH(rmsnorm_forward_kernel<bf16>, grid, THREADS, (bf16 *)y, rstd, (const bf16 *)x, weight, eps,
                                                                        N, C);
    else
        LAUNCH(rmsnorm_forward_kernel<float>, grid, THREADS, (float *)y, rstd, (const float *)x, weight,
                                                                         eps, N, C);
    LAUNCHED("rmsnorm_forward_kernel");
    return RG_OK;
}

extern "C" int nn_cuda_rmsnorm_backward(nn_cuda *ctx, nn_cuda_dtype dt, void *dx, float *dweight, const void *dy,
                                        const void *x, const float *weight, const float *rstd, int N, int C) {
    unsigned grid;
    if (N == 0) return RG_OK;
    if (dx) {
        if (nn_cuda_blocks_1d((size_t)N * 32, THREADS, &grid)) return RG_ERR;
        if (dt == NN_CUDA_BF16)
            LAUNCH(rmsnorm_dx_kernel<bf16>, grid, THREADS, (bf16 *)dx, (const bf16 *)dy, (const bf16 *)x,
                                                                       weight, rstd, N, C);
        else
            LAUNCH(rmsnorm_dx_kernel<float>, grid, THREADS, (float *)dx, (const float *)dy,
                                                                        (const float *)x, weight, rstd, N, C);
        LAUNCHED("rmsnorm_dx_kernel");
    }
    if (dweight) {
        if (nn_cuda_blocks_1d((size_t)C, THREADS, &grid)) return RG_ERR;
        if (dt == NN_CUDA_BF16)
            LAUNCH(rmsnorm_dw_kernel<bf16>, grid, THREADS, dweight, (const bf16 *)dy, (const bf16 *)x,
                                                                       rstd, N, C);
        else
            LAUNCH(rmsnorm_dw_kernel<float>, grid, THREADS, dweight, (const float *)dy, (const float *)x,
                                                                        rstd, N, C);
        LAUNCHED("rmsnorm_dw_kernel");
    }
    return RG_OK;
}

static int rope(nn_cuda *ctx, nn_cuda_dtype dt, void *x, const float *c, const float *s, int T, int H, int hd,
                float sign) {
    unsigned grid;
    if (hd % 2) return rg_error("cuda rope: head_dim %d is odd", hd);
    size_t n = (size_t)T * H * (hd / 2);
    if (n == 0) return RG_OK;
    if (nn_cuda_blocks_1d(n, THREADS, &grid)) return RG_ERR;
    if (dt == NN_CUDA_BF16)
        LAUNCH(rope_kernel<bf16>, grid, THREADS, (bf16 *)x, c, s, T, H, hd, sign);
    else
        LAUNCH(rope_kernel<float>, grid, THREADS, (float *)x, c, s, T, H, hd, sign);
    LAUNCHED("rope_kernel");
    return RG_OK;
}

extern "C" int nn_cuda_rope_forward(nn_cuda *ctx, nn_cuda_dtype dt, void *x, const float *cos_table,
                                    const float *sin_table, int T, int n_heads, int hd) {
    return rope(ctx, dt, x, cos_table, sin_table, T, n_heads, hd, 1.0f);
}

extern "C" int nn_cuda_rope_backward(nn_cuda *ctx, nn_cuda_dtype dt, void *dx, const float *cos_table,
                                     const float *sin_table, int T, int n_heads, int hd) {
    return rope(ctx, dt, dx, cos_table, sin_table, T, n_heads, hd, -1.0f);
}

extern "C" int nn_cuda_swiglu_forward(nn_cuda *ctx, nn_cuda_dtype dt, void *out, const void *gate, const void *up,
                                      size_t n) {
    unsigned grid;
    if (n == 0) return RG_OK;
    if (nn_cuda_blocks_1d(n, THREADS, &grid)) return RG_ERR;
    if (dt == NN_CUDA_BF16)
        LAUNCH(swiglu_forward_kernel<bf16>, grid, THREADS, (bf16 *)out, (const bf16 *)gate,
                                                                       (const bf16 *)up, n);
    else
        LAUNCH(swiglu_forward_kernel<float>, grid, THREADS, (float *)out, (const float *)gate,
                                                                        (const float *)up, n);
    LAUNCHED("swiglu_forward_kernel");
    return RG_OK;
}

extern "C" int nn_cuda_swiglu_backward(nn_cuda *ctx, nn_cuda_dtype dt, void *dgate, void *dup, const void *dout,
                                       const void *gate, const void *up, size_t n) {
    unsigned grid;
    if (n == 0 || (!dgate && !dup)) return RG_OK;
    if (nn_cuda_blocks_1d(n, THREADS, &grid)) return RG_ERR;
    if (dt == NN_CUDA_BF16)
        LAUNCH(swiglu_backward_kernel<bf16>, grid, THREADS, 
            (bf16 *)dgate, (bf16 *)dup, (const bf16 *)dout, (const bf16 *)gate, (const bf16 *)up, n);
    else
        LAUNCH(swiglu_backward_kernel<float>, grid, THREADS, 
            (float *)dgate, (float *)dup, (const float *)dout, (const float *)gate, (const float *)up, n);
    LAUNCHED("swiglu_backward_kernel");
    return RG_OK;
}

extern "C" int nn_cuda_add_inplace(nn_cuda *ctx, nn_cuda_dtype dt, void *x, const void *y, size_t n) {
    unsigned grid;
    if (n == 0) return RG_OK;
    if (nn_cuda_blocks_1d(n, THREADS, &grid)) return RG_ERR;
    if (dt == NN_CUDA_BF16)
        LAUNCH(add_kernel<bf16>, grid, THREADS, (bf16 *)x, (const bf16 *)y, n);
    else
        LAUNCH(add_kernel<float>, grid, THREADS, (float *)x, (const float *)y, n);
    LAUNCHED("add_kernel");
    return RG_OK;
}

extern "C" int nn_cuda_f32_to_bf16(nn_cuda *ctx, uint16_t *out, const float *in, size_t n) {
    unsigned grid;
    if (n == 0) return RG_OK;
    if (nn_cuda_blocks_1d(n, THREADS, &grid)) return RG_ERR;
    LAUNCH(to_bf16_kernel, grid, THREADS, (bf16 *)out, in, n);
    LAUNCHED("to_bf16_kernel");
    return RG_OK;
}

extern "C" int nn_cuda_bf16_to_f32(nn_cuda *ctx, float *out, const uint16_t *in, size_t n) {
    unsigned grid;
    if (n == 0) return RG_OK;
    if (nn_cuda_blocks_1d(n, THREADS, &grid)) return RG_ERR;
    LAUNCH(to_f32_kernel, grid, THREADS, out, (const bf16 *)in, n);
    LAUNCHED("to_f32_kernel");
    return RG_OK;
}

extern "C" int nn_cuda_adamw_step(nn_cuda *ctx, float *params, float *m, float *v, const float *grads, size_t n,
                                  const nn_adamw_config *cfg, double lr, long t, int decay, uint16_t *bf16_out) {
    unsigned grid;
    if (t < 1) return rg_error("cuda adamw: step %ld is not 1-based", t);
    if (n == 0) return RG_OK;
    if (nn_cuda_blocks_1d(n, THREADS, &grid)) return RG_ERR;
    /* bias corrections in double on the host, as optim.c (torch's Python floats) */
    const double bc1 = 1.0 - pow(cfg->beta1, (double)t), bc2 = 1.0 - pow(cfg->beta2, (double)t);
    adamw_args a;
    a.step_size = (float)(lr / bc1);
    a.bc2_sqrt = (float)sqrt(bc2);
    a.decay_factor = decay ? (float)(1.0 - lr * cfg->weight_decay) : 1.0f;
    a.b1 = (float)cfg->beta1;
    a.b2 = (float)cfg->beta2;
    a.eps = (float)cfg->eps;
    a.one_minus_b1 = (float)(1.0 - cfg->beta1);
    a.one_minus_b2 = (float)(1.0 - cfg->beta2);
    LAUNCH(adamw_kernel, grid, THREADS, params, m, v, grads, n, a, (bf16 *)bf16_out);
    LAUNCHED("adamw_kernel");
    return RG_OK;
}
