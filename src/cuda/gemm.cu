/* gemm.cu — every matrix product of the CUDA back end goes through cuBLASLt
 * (nn_cuda.h): f32 accumulation (CUBLAS_COMPUTE_32F, never TF32, so the f32
 * path matches the CPU to ~1e-5), bf16 or f32 inputs, the linear layer's
 * forward and backward in the HF layout W[out, in]. */
#include <stdint.h>

#include "cuda/internal.cuh"

namespace {

#ifndef RG_CUDA_EMU /* the emulation has its own nn_cuda_matmul (tests/gpu/emu) */
cudaDataType_t cuda_type(nn_cuda_dtype dt) { return dt == NN_CUDA_BF16 ? CUDA_R_16BF : CUDA_R_32F; }

/* The largest power of two dividing the address, capped at 256: cuBLASLt
 * picks its algorithm for the alignment it is promised. */
uint32_t alignment(const void *p) {
    uintptr_t a = (uintptr_t)p;
    uint32_t al = 256;
    while (al > 1 && (a % al) != 0) al >>= 1;
    return al;
}

/* The descriptors of one call, destroyed on every exit. */
struct lt_call {
    cublasLtMatmulDesc_t op = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
    cublasLtMatmulPreference_t pref = nullptr;
    ~lt_call() {
        if (pref) cublasLtMatmulPreferenceDestroy(pref);
        if (c) cublasLtMatrixLayoutDestroy(c);
        if (b) cublasLtMatrixLayoutDestroy(b);
        if (a) cublasLtMatrixLayoutDestroy(a);
        if (op) cublasLtMatmulDescDestroy(op);
    }
};

int set_alignments(lt_call &call, const void *A, const void *B, const void *C) {
    uint32_t al[3] = {alignment(A), alignment(B), alignment(C)};
    LT_CHECK(cublasLtMatmulPreferenceSetAttribute(call.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &al[0],
                                                  sizeof al[0]));
    LT_CHECK(cublasLtMatmulPreferenceSetAttribute(call.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &al[1],
                                                  sizeof al[1]));
    LT_CHECK(cublasLtMatmulPreferenceSetAttribute(call.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &al[2],
                                                  sizeof al[2]));
    LT_CHECK(cublasLtMatmulPreferenceSetAttribute(call.pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &al[2],
                                                  sizeof al[2]));
    return RG_OK;
}

#endif

/* y[N,out] += bias[out] */
template <typename T> __global__ void add_bias_kernel(T *y, const float *bias, size_t n, int out) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) st(&y[i], ld(&y[i]) + bias[i % out]);
}

/* dbias[out] += column sums of dy[N,out]: one thread per column, rows in order (deterministic). */
template <typename T> __global__ void bias_backward_kernel(float *dbias, const T *dy, int N, int out) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= out) return;
    float s = 0.0f;
    for (int n = 0; n < N; n++) s += ld(&dy[(size_t)n * out + c]);
    dbias[c] += s;
}

} // namespace

#ifndef RG_CUDA_EMU
extern "C" int nn_cuda_matmul(nn_cuda *ctx, nn_cuda_dtype ab, nn_cuda_dtype c, int transa, int transb, int m, int n,
                              int k, float alpha, const void *A, int lda, const void *B, int ldb, float beta, void *C,
                              int ldc) {
    if (m < 0 || n < 0 || k < 0) return rg_error("cuda matmul: negative size (m %d, n %d, k %d)", m, n, k);
    if (m == 0 || n == 0) return RG_OK;
    lt_call call;
    cublasOperation_t ta = transa ? CUBLAS_OP_T : CUBLAS_OP_N, tb = transb ? CUBLAS_OP_T : CUBLAS_OP_N;
    LT_CHECK(cublasLtMatmulDescCreate(&call.op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    LT_CHECK(cublasLtMatmulDescSetAttribute(call.op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    LT_CHECK(cublasLtMatmulDescSetAttribute(call.op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    LT_CHECK(cublasLtMatrixLayoutCreate(&call.a, cuda_type(ab), transa ? k : m, transa ? m : k, lda));
    LT_CHECK(cublasLtMatrixLayoutCreate(&call.b, cuda_type(ab), transb ? n : k, transb ? k : n, ldb));
    LT_CHECK(cublasLtMatrixLayoutCreate(&call.c, cuda_type(c), m, n, ldc));
    LT_CHECK(cublasLtMatmulPreferenceCreate(&call.pref));
    LT_CHECK(cublasLtMatmulPreferenceSetAttribute(call.pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                  &ctx->workspace_bytes, sizeof ctx->workspace_bytes));
    if (set_alignments(call, A, B, C)) return RG_ERR;
    cublasLtMatmulHeuristicResult_t heur;
    int found = 0;
    LT_CHECK(cublasLtMatmulAlgoGetHeuristic(ctx->lt, call.op, call.a, call.b, call.c, call.c, call.pref, 1, &heur,
                                            &found));
    if (found == 0)
        return rg_error("cublasLt: no algorithm for %s x %s -> %s, m %d n %d k %d", transa ? "A^T" : "A",
                        transb ? "B^T" : "B", c == NN_CUDA_BF16 ? "bf16" : "f32", m, n, k);
    LT_CHECK(cublasLtMatmul(ctx->lt, call.op, &alpha, A, call.a, B, call.b, &beta, C, call.c, C, call.c, &heur.algo,
                            ctx->workspace, ctx->workspace_bytes, ctx->stream));
    return RG_OK;
}
#endif

/* Row-major y[N,out] = x[N,in] W[out,in]^T is column-major y^T[out,N] = W_cm^T x_cm
 * with W_cm = W^T as stored ([in, out], ld in) and x_cm [in, N]. */
extern "C" int nn_cuda_linear_forward(nn_cuda *ctx, nn_cuda_dtype dt, void *y, const void *x, const void *W,
                                      const float *bias, int N, int in, int out) {
    if (nn_cuda_matmul(ctx, dt, dt, 1, 0, out, N, in, 1.0f, W, in, x, in, 0.0f, y, out)) return RG_ERR;
    if (!bias || N == 0) return RG_OK;
    size_t n = (size_t)N * out;
    unsigned blocks;
    if (nn_cuda_blocks_1d(n, 256, &blocks)) return RG_ERR;
    if (dt == NN_CUDA_BF16)
        LAUNCH(add_bias_kernel, blocks, 256, (bf16 *)y, bias, n, out);
    else
        LAUNCH(add_bias_kernel, blocks, 256, (float *)y, bias, n, out);
    LAUNCHED("add_bias_kernel");
    return RG_OK;
}

/* dx^T[in,N] += W_cm[in,out] dy^T[out,N];  dW^T[in,out] += x^T[in,N] (dy^T)^T[N,out]. */
extern "C" int nn_cuda_linear_backward(nn_cuda *ctx, nn_cuda_dtype dt, void *dx, float *dW, float *dbias,
                                       const void *dy, const void *x, const void *W, int N, int in, int out) {
    if (N == 0) return RG_OK;
    if (dx && nn_cuda_matmul(ctx, dt, dt, 0, 0, in, N, out, 1.0f, W, in, dy, out, 1.0f, dx, in)) return RG_ERR;
    if (dW && nn_cuda_matmul(ctx, dt, NN_CUDA_F32, 0, 1, in, out, N, 1.0f, x, in, dy, out, 1.0f, dW, in))
        return RG_ERR;
    if (dbias) {
        unsigned blocks;
        if (nn_cuda_blocks_1d((size_t)out, 256, &blocks)) return RG_ERR;
        if (dt == NN_CUDA_BF16)
            LAUNCH(bias_backward_kernel, blocks, 256, dbias, (const bf16 *)dy, N, out);
        else
            LAUNCH(bias_backward_kernel, blocks, 256, dbias, (const float *)dy, N, out);
        LAUNCHED("bias_backward_kernel");
    }
    return RG_OK;
}
