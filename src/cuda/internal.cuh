/* internal.cuh — what the .cu files of the CUDA back end share: the context,
 * error checks that name the failing call, bf16/f32 loads and stores, warp and
 * block reductions. Not part of the API (nn_cuda.h). */
#ifndef RG_CUDA_INTERNAL_CUH
#define RG_CUDA_INTERNAL_CUH

#ifdef RG_CUDA_EMU /* the kernels on a CPU emulation of CUDA threads (tests/gpu/emu, make test-gpu-emu) */
#include "cuda_emu.h"
#else
#include <cublasLt.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#endif

extern "C" {
#include "base/error.h"
}
#include "cuda/nn_cuda.h"

struct nn_cuda {
    int device;
    cudaStream_t stream;
    cublasLtHandle_t lt;
    void *workspace;
    size_t workspace_bytes;
    char name[640]; /* prop.name is up to 256 bytes */
};

/* A CUDA runtime call; on failure records "cuda: <call>: <reason> (file:line)" and returns RG_ERR. */
#define CU_CHECK(call)                                                                                        \
    do {                                                                                                      \
        cudaError_t e_ = (call);                                                                              \
        if (e_ != cudaSuccess)                                                                                \
            return rg_error("cuda: %s: %s (%s:%d)", #call, cudaGetErrorString(e_), __FILE__, __LINE__);       \
    } while (0)
/* A cuBLASLt call, the same way. */
#define LT_CHECK(call)                                                                                        \
    do {                                                                                                      \
        cublasStatus_t s_ = (call);                                                                           \
        if (s_ != CUBLAS_STATUS_SUCCESS)                                                                      \
            return rg_error("cublasLt: %s: %s (%s:%d)", #call, cublasLtGetStatusString(s_), __FILE__, __LINE__); \
    } while (0)
/* After a kernel launch: a bad configuration shows up here, named. */
#define LAUNCHED(name)                                                                                        \
    do {                                                                                                      \
        cudaError_t e_ = cudaGetLastError();                                                                  \
        if (e_ != cudaSuccess)                                                                                \
            return rg_error("cuda: launch of %s: %s (%s:%d)", name, cudaGetErrorString(e_), __FILE__, __LINE__); \
    } while (0)

/* kernel<<<grid, block, 0, ctx->stream>>>(args...), or its emulation. */
#ifdef RG_CUDA_EMU
#define LAUNCH(kernel, grid, block, ...) ((void)ctx, emu_launch(dim3(grid), dim3(block), [=]() { kernel(__VA_ARGS__); }))
#else
#define LAUNCH(kernel, grid, block, ...) kernel<<<(grid), (block), 0, ctx->stream>>>(__VA_ARGS__)
#endif

typedef __nv_bfloat16 bf16;

__device__ __forceinline__ float ld(const float *p) { return *p; }
__device__ __forceinline__ float ld(const bf16 *p) { return __bfloat162float(*p); }
__device__ __forceinline__ void st(float *p, float x) { *p = x; }
__device__ __forceinline__ void st(bf16 *p, float x) { *p = __float2bfloat16_rn(x); }

template <typename T> __device__ __forceinline__ T warp_sum(T x) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
    return x;
}
__device__ __forceinline__ float warp_max(float x) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, o));
    return x;
}
/* Sum over the block (blockDim.x a multiple of 32, at most 1024); every
 * thread gets the result. `shared` holds 32 values. */
template <typename T> __device__ T block_sum(T x, T *shared) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    x = warp_sum(x);
    __syncthreads(); /* shared may still be read from a previous call */
    if (lane == 0) shared[warp] = x;
    __syncthreads();
    T total = lane < warps ? shared[lane] : T(0);
    return warp_sum(total);
}
__device__ __forceinline__ float block_max(float x, float *shared) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    x = warp_max(x);
    __syncthreads();
    if (lane == 0) shared[warp] = x;
    __syncthreads();
    float m = lane < warps ? shared[lane] : -INFINITY;
    return warp_max(m);
}

#endif
