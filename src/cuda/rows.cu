/* rows.cu — the embedding and the gradient-norm kernels of the CUDA back end
 * (nn_cuda.h), as embedding.c and optim.c: a row gather, its scatter-add
 * (one thread per channel walking the positions in order: a repeated id has
 * one writer and its sum the CPU's order), the squared norm in double (per
 * block, then one block over the partial sums: deterministic) and a scale. */
#include "cuda/internal.cuh"

namespace {

constexpr int THREADS = 256;

/* out[n, c] = table[ids[n], c] in the activation type */
template <typename W, typename T>
__global__ void embedding_kernel(T *out, const int32_t *ids, const W *table, int N, int C) {
    size_t i = (size_t)blockIdx.x * THREADS + threadIdx.x;
    if (i >= (size_t)N * C) return;
    size_t n = i / C, c = i % C;
    st(&out[i], ld(&table[(size_t)ids[n] * C + c]));
}

template <typename T> __global__ void embedding_backward_kernel(float *dtable, const T *dout, const int32_t *ids, int N, int C) {
    int c = blockIdx.x * THREADS + threadIdx.x;
    if (c >= C) return;
    for (int n = 0; n < N; n++) dtable[(size_t)ids[n] * C + c] += ld(&dout[(size_t)n * C + c]);
}

/* partial[b] = sum of x^2 over block b's stride of x (double) */
__global__ void sum_sq_kernel(double *partial, const float *x, size_t n) {
    __shared__ double ds[32];
    double s = 0.0;
    for (size_t i = (size_t)blockIdx.x * THREADS + threadIdx.x; i < n; i += (size_t)gridDim.x * THREADS)
        s += (double)x[i] * x[i];
    s = block_sum(s, ds);
    if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

__global__ void sum_partials_kernel(double *out, const double *partial, int blocks) {
    __shared__ double ds[32];
    double s = 0.0;
    for (int i = threadIdx.x; i < blocks; i += THREADS) s += partial[i];
    s = block_sum(s, ds);
    if (threadIdx.x == 0) *out = s;
}

__global__ void scale_kernel(float *x, size_t n, float factor) {
    size_t i = (size_t)blockIdx.x * THREADS + threadIdx.x;
    if (i < n) x[i] *= factor;
}

} // namespace

extern "C" int nn_cuda_embedding_forward(nn_cuda *ctx, nn_cuda_dtype dt, nn_cuda_dtype table_dt, void *out,
                                         const int32_t *ids, const void *table, int N, int C) {
    unsigned grid;
    if ((size_t)N * C == 0) return RG_OK;
    if (nn_cuda_blocks_1d((size_t)N * C, THREADS, &grid)) return RG_ERR;
    if (table_dt == NN_CUDA_BF16 && dt == NN_CUDA_BF16)
        LAUNCH(embedding_kernel, grid, THREADS, (bf16 *)out, ids, (const bf16 *)table, N, C);
    else if (table_dt == NN_CUDA_BF16)
        LAUNCH(embedding_kernel, grid, THREADS, (float *)out, ids, (const bf16 *)table, N, C);
    else if (dt == NN_CUDA_BF16)
        LAUNCH(embedding_kernel, grid, THREADS, (bf16 *)out, ids, (const float *)table, N, C);
    else
        LAUNCH(embedding_kernel, grid, THREADS, (float *)out, ids, (const float *)table, N, C);
    LAUNCHED("embedding_kernel");
    return RG_OK;
}

extern "C" int nn_cuda_embedding_backward(nn_cuda *ctx, nn_cuda_dtype dt, float *dtable, const void *dout,
                                          const int32_t *ids, int N, int C) {
    unsigned grid;
    if (N == 0 || C == 0) return RG_OK;
    if (nn_cuda_blocks_1d((size_t)C, THREADS, &grid)) return RG_ERR;
    if (dt == NN_CUDA_BF16)
        LAUNCH(embedding_backward_kernel, grid, THREADS, dtable, (const bf16 *)dout, ids, N, C);
    else
        LAUNCH(embedding_backward_kernel, grid, THREADS, dtable, (const float *)dout, ids, N, C);
    LAUNCHED("embedding_backward_kernel");
    return RG_OK;
}

extern "C" int nn_cuda_sum_sq(nn_cuda *ctx, double *sum, const float *x, size_t n, double *scratch) {
    unsigned blocks;
    if (nn_cuda_blocks_1d(n, THREADS, &blocks)) return RG_ERR;
    if (blocks > NN_CUDA_SUM_SQ_BLOCKS) blocks = NN_CUDA_SUM_SQ_BLOCKS;
    if (blocks == 0) blocks = 1;
    LAUNCH(sum_sq_kernel, blocks, THREADS, scratch, x, n);
    LAUNCHED("sum_sq_kernel");
    LAUNCH(sum_partials_kernel, 1, THREADS, scratch + NN_CUDA_SUM_SQ_BLOCKS, scratch, (int)blocks);
    LAUNCHED("sum_partials_kernel");
    return nn_cuda_download(ctx, sum, scratch + NN_CUDA_SUM_SQ_BLOCKS, sizeof *sum);
}

extern "C" int nn_cuda_scale(nn_cuda *ctx, float *x, size_t n, float factor) {
    unsigned grid;
    if (n == 0) return RG_OK;
    if (nn_cuda_blocks_1d(n, THREADS, &grid)) return RG_ERR;
    LAUNCH(scale_kernel, grid, THREADS, x, n, factor);
    LAUNCHED("scale_kernel");
    return RG_OK;
}
