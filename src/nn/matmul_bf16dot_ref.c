/* matmul_bf16dot_ref.c — the bf16 dot-product GEMM in plain C: the
 * definition the AVX-512 BF16 kernel is tested against (bf16dot.h), and what
 * RGSD_KERNELS=ref runs for bf16 prefill. Also the x packing both share. */
#include <string.h>

#include "nn/bf16dot.h"
#include "nn/nn.h"

static size_t pairs_of(int in) { return ((size_t)in + 1) / 2; }

size_t nn_bf16dot_packed_x_words(int N, int in) { return (size_t)N * pairs_of(in); }

size_t nn_bf16dot_scratch_floats(int N, int in, int out, int threads) {
    (void)out;
    /* packed x, then one W panel per thread; +32 and +16: 64-byte alignment */
    return nn_bf16dot_packed_x_words(N, in) + 32 + (size_t)threads * (pairs_of(in) * NN_BF16DOT_PANEL + 16);
}

static uint32_t pair(const float *row, size_t p, int in) {
    uint32_t lo = nn_f32_to_bf16(row[2 * p]);
    uint32_t hi = 2 * p + 1 < (size_t)in ? nn_f32_to_bf16(row[2 * p + 1]) : 0;
    return lo | hi << 16;
}

// x[N,in] -> xp[N][ceil(in/2)] (bf16 pairs; the odd column's partner 0)
void nn_bf16dot_pack_x(uint32_t *xp, const float *x, int N, int in) {
    const size_t pairs = pairs_of(in);
#pragma omp parallel for schedule(static) if ((size_t)N * in > (1u << 15))
    for (int n = 0; n < N; n++)
        for (size_t p = 0; p < pairs; p++) xp[(size_t)n * pairs + p] = pair(x + (size_t)n * in, p, in);
}

static float lo_f32(uint32_t v) { return nn_bf16_to_f32((uint16_t)(v & 0xffffu)); }
static float hi_f32(uint32_t v) { return nn_bf16_to_f32((uint16_t)(v >> 16)); }

// x[N,in], W[out,in] bf16, bias[out] or NULL -> y[N,out] (bf16dot.h: the order of the sum)
void nn_bf16dot_ref(float *y, const float *x, const uint16_t *W, const float *bias, int N, int in, int out,
                    int threads, float *scratch) {
    if (N <= 0 || out <= 0) return;
    uint32_t *xp = (uint32_t *)scratch;
    nn_bf16dot_pack_x(xp, x, N, in);
    const size_t pairs = pairs_of(in);
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int n = 0; n < N; n++) {
        const uint32_t *xr = xp + (size_t)n * pairs;
        for (int o = 0; o < out; o++) {
            const uint16_t *w = W + (size_t)o * in;
            float acc = 0.0f;
            for (size_t p = 0; p < pairs; p++) {
                uint32_t xv = xr[p];
                float w0 = nn_bf16_to_f32(w[2 * p]), w1 = 2 * p + 1 < (size_t)in ? nn_bf16_to_f32(w[2 * p + 1]) : 0;
                acc += hi_f32(xv) * w1; /* products are exact in f32: one rounding per add */
                acc += lo_f32(xv) * w0;
            }
            y[(size_t)n * out + o] = bias ? acc + bias[o] : acc;
        }
    }
}
