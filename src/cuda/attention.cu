/* attention.cu — causal GQA attention over packed segments on the GPU
 * (nn_cuda.h), FlashAttention-2 style: keys and values stream through shared
 * memory in tiles of 32 (one key per lane), the softmax is online, forward
 * saves lse[N, H] and backward recomputes the probabilities. Memory is O(N):
 * no [T, T] array exists. Backward is two kernels, each writing only its own
 * rows (no atomics, deterministic): dq by query row, dk/dv by key row over
 * every query head of its group.
 *
 * Layout as nn_attention_packed_*: q[N, H, hd], k/v[N, KVH, hd], query head h
 * reads kv head h / (H / KVH), scale 1/sqrt(hd), rows of segment s are
 * seq_start[s]..seq_start[s+1]-1 and attend inside it only. */
#include <math.h>

#include "cuda/internal.cuh"

namespace {

constexpr int HD = NN_CUDA_ATT_HD_MAX; /* per-lane arrays hold HD / 32 dims */
constexpr int DPL = HD / 32;
constexpr int BK = 32;                 /* keys (or queries) per tile: one per lane */
constexpr int WARPS = 4;
constexpr int FWD_ROWS = 16; /* query rows per forward block (4 per warp) */
constexpr int BWD_ROWS = 8;  /* rows per backward block (2 per warp) */
constexpr unsigned FULL = 0xffffffffu;

/* The segment holding `row`: the largest s < B with seq_start[s] <= row. */
__device__ int segment_of(const int32_t *seq_start, int B, int row) {
    int lo = 0, hi = B - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (seq_start[mid] <= row)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* Rows r0..r0+rows-1 (those <= last) of head `head` of x[N, heads, hd] into
 * s[rows][stride] as f32, zeros past `last`. */
template <typename T, int STRIDE>
__device__ void load_tile(float (*s)[STRIDE], const T *x, int r0, int rows, int last, int head, int heads, int hd) {
    for (int i = threadIdx.x; i < rows * hd; i += blockDim.x) {
        int r = i / hd, d = i % hd, row = r0 + r;
        s[r][d] = row <= last ? ld(&x[((size_t)row * heads + head) * hd + d]) : 0.0f;
    }
}

__device__ __forceinline__ float dot_rows(const float *a, const float *b, int hd) {
    float s = 0.0f;
    for (int d = 0; d < hd; d++) s += a[d] * b[d];
    return s;
}

template <typename T>
__global__ void __launch_bounds__(WARPS * 32)
    forward_kernel(T *out, float *lse, const T *q, const T *k, const T *v, const int32_t *seq_start, int B, int N,
                   int H, int KVH, int hd, float scale) {
    constexpr int RPW = FWD_ROWS / WARPS;
    __shared__ float Qs[FWD_ROWS][HD];
    __shared__ float Ks[BK][HD + 1];
    __shared__ float Vs[BK][HD];
    const int h = blockIdx.y, kvh = h / (H / KVH), warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int row0 = blockIdx.x * FWD_ROWS, last = min(row0 + FWD_ROWS, N) - 1;
    load_tile<T, HD>(Qs, q, row0, FWD_ROWS, last, h, H, hd);
    float m[RPW], l[RPW], acc[RPW][DPL];
    int first[RPW];
#pragma unroll
    for (int i = 0; i < RPW; i++) {
        int row = row0 + warp * RPW + i;
        m[i] = -INFINITY;
        l[i] = 0.0f;
        first[i] = row < N ? seq_start[segment_of(seq_start, B, row)] : 0;
#pragma unroll
        for (int dd = 0; dd < DPL; dd++) acc[i][dd] = 0.0f;
    }
    for (int k0 = seq_start[segment_of(seq_start, B, row0)]; k0 <= last; k0 += BK) {
        __syncthreads(); /* the previous tile is consumed */
        load_tile<T, HD + 1>(Ks, k, k0, BK, last, kvh, KVH, hd);
        load_tile<T, HD>(Vs, v, k0, BK, last, kvh, KVH, hd);
        __syncthreads();
#pragma unroll
        for (int i = 0; i < RPW; i++) {
            const int r = warp * RPW + i, row = row0 + r, j = k0 + lane;
            if (row >= N) continue; /* warp-uniform */
            const bool valid = j >= first[i] && j <= row;
            const float s = valid ? scale * dot_rows(Qs[r], Ks[lane], hd) : -INFINITY;
            const float tile_max = warp_max(s);
            if (tile_max == -INFINITY) continue; /* warp-uniform: no key of this tile */
            const float m_new = fmaxf(m[i], tile_max);
            const float p = valid ? expf(s - m_new) : 0.0f, alpha = expf(m[i] - m_new);
            l[i] = l[i] * alpha + warp_sum(p);
#pragma unroll
            for (int dd = 0; dd < DPL; dd++) acc[i][dd] *= alpha;
            for (int jj = 0; jj < BK; jj++) {
                const float pj = __shfl_sync(FULL, p, jj);
                if (pj == 0.0f) continue; /* the same for every lane */
#pragma unroll
                for (int dd = 0; dd < DPL; dd++)
                    if (lane + 32 * dd < hd) acc[i][dd] += pj * Vs[jj][lane + 32 * dd];
            }
            m[i] = m_new;
        }
    }
#pragma unroll
    for (int i = 0; i < RPW; i++) {
        const int row = row0 + warp * RPW + i;
        if (row >= N) continue;
        const float inv = 1.0f / l[i];
#pragma unroll
        for (int dd = 0; dd < DPL; dd++)
            if (lane + 32 * dd < hd) st(&out[((size_t)row * H + h) * hd + lane + 32 * dd], acc[i][dd] * inv);
        if (lane == 0) lse[(size_t)row * H + h] = m[i] + logf(l[i]);
    }
}

/* D[N, H] = rowwise dout . out, one warp per (row, head). */
template <typename T> __global__ void rowdot_kernel(float *D, const T *dout, const T *out, int NH, int hd) {
    const int w = blockIdx.x * WARPS + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    if (w >= NH) return;
    float s = 0.0f;
    for (int d = lane; d < hd; d += 32) s += ld(&dout[(size_t)w * hd + d]) * ld(&out[(size_t)w * hd + d]);
    s = warp_sum(s);
    if (lane == 0) D[w] = s;
}

/* dq += scale * sum_j P_ij (dP_ij - D_i) k_j, by query row (the forward's loop). */
template <typename T>
__global__ void __launch_bounds__(WARPS * 32)
    dq_kernel(T *dq, const T *dout, const float *lse, const float *D, const T *q, const T *k, const T *v,
              const int32_t *seq_start, int B, int N, int H, int KVH, int hd, float scale) {
    constexpr int RPW = BWD_ROWS / WARPS;
    __shared__ float Qs[BWD_ROWS][HD];
    __shared__ float dOs[BWD_ROWS][HD];
    __shared__ float Ks[BK][HD + 1];
    __shared__ float Vs[BK][HD + 1];
    const int h = blockIdx.y, kvh = h / (H / KVH), warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int row0 = blockIdx.x * BWD_ROWS, last = min(row0 + BWD_ROWS, N) - 1;
    load_tile<T, HD>(Qs, q, row0, BWD_ROWS, last, h, H, hd);
    load_tile<T, HD>(dOs, dout, row0, BWD_ROWS, last, h, H, hd);
    float acc[RPW][DPL], row_lse[RPW], row_D[RPW];
    int first[RPW];
#pragma unroll
    for (int i = 0; i < RPW; i++) {
        int row = row0 + warp * RPW + i;
        first[i] = row < N ? seq_start[segment_of(seq_start, B, row)] : 0;
        row_lse[i] = row < N ? lse[(size_t)row * H + h] : 0.0f;
        row_D[i] = row < N ? D[(size_t)row * H + h] : 0.0f;
#pragma unroll
        for (int dd = 0; dd < DPL; dd++) acc[i][dd] = 0.0f;
    }
    for (int k0 = seq_start[segment_of(seq_start, B, row0)]; k0 <= last; k0 += BK) {
        __syncthreads();
        load_tile<T, HD + 1>(Ks, k, k0, BK, last, kvh, KVH, hd);
        load_tile<T, HD + 1>(Vs, v, k0, BK, last, kvh, KVH, hd);
        __syncthreads();
#pragma unroll
        for (int i = 0; i < RPW; i++) {
            const int r = warp * RPW + i, row = row0 + r, j = k0 + lane;
            if (row >= N) continue;
            const bool valid = j >= first[i] && j <= row;
            float ds = 0.0f;
            if (valid) {
                float p = expf(scale * dot_rows(Qs[r], Ks[lane], hd) - row_lse[i]);
                ds = p * (dot_rows(dOs[r], Vs[lane], hd) - row_D[i]);
            }
            for (int jj = 0; jj < BK; jj++) {
                const float dsj = __shfl_sync(FULL, ds, jj);
                if (dsj == 0.0f) continue;
#pragma unroll
                for (int dd = 0; dd < DPL; dd++)
                    if (lane + 32 * dd < hd) acc[i][dd] += dsj * Ks[jj][lane + 32 * dd];
            }
        }
    }
#pragma unroll
    for (int i = 0; i < RPW; i++) {
        const int row = row0 + warp * RPW + i;
        if (row >= N) continue;
#pragma unroll
        for (int dd = 0; dd < DPL; dd++) {
            if (lane + 32 * dd >= hd) continue;
            T *p = &dq[((size_t)row * H + h) * hd + lane + 32 * dd];
            st(p, ld(p) + scale * acc[i][dd]);
        }
    }
}

/* Per key row j of kv head g, over every query head of the group and every
 * query i >= j of j's segment: dv_j += sum P_ij dout_i, dk_j += scale sum dS_ij q_i. */
template <typename T>
__global__ void __launch_bounds__(WARPS * 32)
    dkv_kernel(T *dk, T *dv, const T *dout, const float *lse, const float *D, const T *q, const T *k, const T *v,
               const int32_t *seq_start, int B, int N, int H, int KVH, int hd, float scale) {
    constexpr int RPW = BWD_ROWS / WARPS;
    __shared__ float Ks[BWD_ROWS][HD];
    __shared__ float Vs[BWD_ROWS][HD];
    __shared__ float Qs[BK][HD + 1];
    __shared__ float dOs[BK][HD + 1];
    __shared__ float Ls[BK], Ds[BK];
    const int g = blockIdx.y, group = H / KVH, warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int row0 = blockIdx.x * BWD_ROWS, last = min(row0 + BWD_ROWS, N) - 1;
    load_tile<T, HD>(Ks, k, row0, BWD_ROWS, last, g, KVH, hd);
    load_tile<T, HD>(Vs, v, row0, BWD_ROWS, last, g, KVH, hd);
    const int q_end = seq_start[segment_of(seq_start, B, last) + 1];
    float acc_k[RPW][DPL], acc_v[RPW][DPL];
    int end[RPW];
#pragma unroll
    for (int i = 0; i < RPW; i++) {
        int row = row0 + warp * RPW + i;
        end[i] = row < N ? seq_start[segment_of(seq_start, B, row) + 1] : 0;
#pragma unroll
        for (int dd = 0; dd < DPL; dd++) acc_k[i][dd] = acc_v[i][dd] = 0.0f;
    }
    for (int hh = 0; hh < group; hh++) {
        const int h = g * group + hh;
        for (int q0 = row0; q0 < q_end; q0 += BK) {
            __syncthreads();
            load_tile<T, HD + 1>(Qs, q, q0, BK, q_end - 1, h, H, hd);
            load_tile<T, HD + 1>(dOs, dout, q0, BK, q_end - 1, h, H, hd);
            if (threadIdx.x < BK) {
                int qi = q0 + threadIdx.x;
                Ls[threadIdx.x] = qi < q_end ? lse[(size_t)qi * H + h] : 0.0f;
                Ds[threadIdx.x] = qi < q_end ? D[(size_t)qi * H + h] : 0.0f;
            }
            __syncthreads();
#pragma unroll
            for (int i = 0; i < RPW; i++) {
                const int r = warp * RPW + i, j = row0 + r, qi = q0 + lane;
                if (j >= N) continue;
                const bool valid = qi >= j && qi < end[i];
                float p = 0.0f, ds = 0.0f;
                if (valid) {
                    p = expf(scale * dot_rows(Qs[lane], Ks[r], hd) - Ls[lane]);
                    ds = p * (dot_rows(dOs[lane], Vs[r], hd) - Ds[lane]);
                }
                for (int jj = 0; jj < BK; jj++) {
                    const float pj = __shfl_sync(FULL, p, jj), dsj = __shfl_sync(FULL, ds, jj);
                    if (pj == 0.0f && dsj == 0.0f) continue;
#pragma unroll
                    for (int dd = 0; dd < DPL; dd++) {
                        if (lane + 32 * dd >= hd) continue;
                        acc_v[i][dd] += pj * dOs[jj][lane + 32 * dd];
                        acc_k[i][dd] += dsj * Qs[jj][lane + 32 * dd];
                    }
                }
            }
        }
    }
#pragma unroll
    for (int i = 0; i < RPW; i++) {
        const int j = row0 + warp * RPW + i;
        if (j >= N) continue;
#pragma unroll
        for (int dd = 0; dd < DPL; dd++) {
            if (lane + 32 * dd >= hd) continue;
            size_t at = ((size_t)j * KVH + g) * hd + lane + 32 * dd;
            st(&dk[at], ld(&dk[at]) + scale * acc_k[i][dd]);
            st(&dv[at], ld(&dv[at]) + acc_v[i][dd]);
        }
    }
}

int check(const int32_t *seq_start_host, int B, int N, int H, int KVH, int hd) {
    if (nn_cuda_attention_check(B, N, H, KVH, hd)) return RG_ERR;
    return nn_cuda_segments_check(seq_start_host, B, N);
}

template <typename T>
int forward(nn_cuda *ctx, T *out, float *lse, const T *q, const T *k, const T *v, const int32_t *seq_start, int B,
            int N, int H, int KVH, int hd) {
    unsigned gx, gy;
    if (nn_cuda_attention_grid(N, H, FWD_ROWS, &gx, &gy)) return RG_ERR;
    LAUNCH(forward_kernel<T>, dim3(gx, gy), WARPS * 32, out, lse, q, k, v, seq_start, B, N, H, KVH, hd,
                                                                    1.0f / sqrtf((float)hd));
    LAUNCHED("attention forward_kernel");
    return RG_OK;
}

template <typename T>
int backward(nn_cuda *ctx, T *dq, T *dk, T *dv, float *D, const T *dout, const T *out, const float *lse, const T *q,
             const T *k, const T *v, const int32_t *seq_start, int B, int N, int H, int KVH, int hd) {
    const float scale = 1.0f / sqrtf((float)hd);
    unsigned blocks, gx, gy;
    if (nn_cuda_blocks_1d((size_t)N * H, WARPS, &blocks)) return RG_ERR;
    LAUNCH(rowdot_kernel<T>, blocks, WARPS * 32, D, dout, out, N * H, hd);
    LAUNCHED("attention rowdot_kernel");
    if (dq) {
        if (nn_cuda_attention_grid(N, H, BWD_ROWS, &gx, &gy)) return RG_ERR;
        LAUNCH(dq_kernel<T>, dim3(gx, gy), WARPS * 32, dq, dout, lse, D, q, k, v, seq_start, B, N, H, KVH,
                                                                   hd, scale);
        LAUNCHED("attention dq_kernel");
    }
    if (dk && dv) {
        if (nn_cuda_attention_grid(N, KVH, BWD_ROWS, &gx, &gy)) return RG_ERR;
        LAUNCH(dkv_kernel<T>, dim3(gx, gy), WARPS * 32, dk, dv, dout, lse, D, q, k, v, seq_start, B, N, H,
                                                                    KVH, hd, scale);
        LAUNCHED("attention dkv_kernel");
    }
    return RG_OK;
}

} // namespace

extern "C" int nn_cuda_attention_forward(nn_cuda *ctx, nn_cuda_dtype dt, void *out, float *lse, const void *q,
                                         const void *k, const void *v, const int32_t *seq_start,
                                         const int32_t *seq_start_host, int B, int N, int H, int KVH, int hd) {
    if (check(seq_start_host, B, N, H, KVH, hd)) return RG_ERR;
    if (dt == NN_CUDA_BF16)
        return forward(ctx, (bf16 *)out, lse, (const bf16 *)q, (const bf16 *)k, (const bf16 *)v, seq_start, B, N, H,
                       KVH, hd);
    return forward(ctx, (float *)out, lse, (const float *)q, (const float *)k, (const float *)v, seq_start, B, N, H,
                   KVH, hd);
}

extern "C" int nn_cuda_attention_backward(nn_cuda *ctx, nn_cuda_dtype dt, void *dq, void *dk, void *dv,
                                          float *scratch, const void *dout, const void *out, const float *lse,
                                          const void *q, const void *k, const void *v, const int32_t *seq_start,
                                          const int32_t *seq_start_host, int B, int N, int H, int KVH, int hd) {
    if (check(seq_start_host, B, N, H, KVH, hd)) return RG_ERR;
    if ((dk == NULL) != (dv == NULL)) return rg_error("cuda attention backward: dk and dv are both given or neither");
    if (dt == NN_CUDA_BF16)
        return backward(ctx, (bf16 *)dq, (bf16 *)dk, (bf16 *)dv, scratch, (const bf16 *)dout, (const bf16 *)out, lse,
                        (const bf16 *)q, (const bf16 *)k, (const bf16 *)v, seq_start, B, N, H, KVH, hd);
    return backward(ctx, (float *)dq, (float *)dk, (float *)dv, scratch, (const float *)dout, (const float *)out, lse,
                    (const float *)q, (const float *)k, (const float *)v, seq_start, B, N, H, KVH, hd);
}
