/* cuda_emu.h — just enough of CUDA to run src/cuda's kernels on a CPU
 * (make test-gpu-emu), so their logic — indexing, masks, tiling, the online
 * softmax, the reductions, the GEMM argument mapping — is checked against the
 * CPU kernels where no GPU is available. Not a simulator of the hardware:
 * floats follow the host's libm, there are no races to find, and cuBLASLt is
 * replaced by a plain column-major GEMM (emu_context.cc).
 *
 * The model: blocks run one after another; the threads of a block are
 * fibers (ucontext) switched only at barriers, so __syncthreads() and the
 * warp shuffles (a warp-wide barrier around a slot exchange) have CUDA's
 * meaning for code whose warps converge at every shuffle, as ours do.
 * __shared__ is `static`: one copy, reused block after block. */
#ifndef RG_CUDA_EMU_H
#define RG_CUDA_EMU_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include <functional>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static

struct dim3 {
    unsigned x, y, z;
    dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

typedef int cudaError_t;
typedef void *cudaStream_t;
typedef void *cublasLtHandle_t;
#define cudaSuccess 0
static inline cudaError_t cudaGetLastError(void) { return cudaSuccess; }
static inline const char *cudaGetErrorString(cudaError_t) { return "emulated"; }

struct __nv_bfloat16 {
    uint16_t bits;
};
static inline float __bfloat162float(__nv_bfloat16 h) {
    uint32_t u = (uint32_t)h.bits << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static inline __nv_bfloat16 __float2bfloat16_rn(float f) { /* round to nearest even, NaN stays NaN */
    uint32_t u;
    memcpy(&u, &f, 4);
    __nv_bfloat16 h;
    h.bits = (u & 0x7fffffffu) > 0x7f800000u ? (uint16_t)((u >> 16) | 0x40) : (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
    return h;
}

static inline int min(int a, int b) { return a < b ? a : b; }
static inline int max(int a, int b) { return a > b ? a : b; }

/* The running fiber's thread index, the block's index and shape. */
extern dim3 emu_block_idx, emu_block_dim, emu_grid_dim;
const dim3 &emu_thread_idx(void);
#define threadIdx (emu_thread_idx())
#define blockIdx (emu_block_idx)
#define blockDim (emu_block_dim)
#define gridDim (emu_grid_dim)

void __syncthreads(void);
/* Lane `src`'s 8-byte slot after every lane of the warp has written its own. */
uint64_t emu_exchange(uint64_t mine, int src);
template <typename T> static inline T emu_shfl(T v, int src) {
    uint64_t u = 0;
    memcpy(&u, &v, sizeof v);
    u = emu_exchange(u, src);
    memcpy(&v, &u, sizeof v);
    return v;
}
template <typename T> static inline T __shfl_sync(unsigned, T v, int src) { return emu_shfl(v, src & 31); }
template <typename T> static inline T __shfl_xor_sync(unsigned, T v, int mask) {
    return emu_shfl(v, (int)(emu_thread_idx().x & 31) ^ mask);
}
static inline int atomicMin(int *p, int v) { /* fibers on one OS thread: no race */
    int old = *p;
    if (v < old) *p = v;
    return old;
}

/* Runs f on every thread of every block of the grid. */
void emu_launch(dim3 grid, dim3 block, std::function<void()> f);

#endif
