/* gpu_bench.c — the GPU benchmarks of the CUDA back end (docs/cuda.md),
 * run by tools/gpu_check.sh: the bf16 GEMM rate of an 8192^3 matmul (the
 * MFU denominator), device-to-device copy bandwidth (the decode roof), and
 * each kernel at the Qwen2.5-0.5B training shape (8 sequences x 1024
 * positions, bf16). One "bench <name> <value> <unit> <ms>" line per result,
 * which gpu_check.sh turns into its table. Never fails on timing; exits 1
 * only when a call fails (the message says which). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "cuda/nn_cuda.h"

/* Qwen2.5-0.5B: hidden 896, 14 heads / 2 kv of 64, MLP 4864, vocabulary 151936. */
enum { SEQS = 8, T = 1024, ROWS = SEQS * T, C = 896, H = 14, KVH = 2, HD = 64, I = 4864, V = 151936 };
enum { GEMM = 8192 };

typedef struct {
    int op;
    void *a, *b, *c, *d, *e, *f, *g, *h;
    float *lse, *rstd, *w, *cos, *sin;
    int32_t *seq, *targets;
    const int32_t *seq_host;
    size_t n, scratch_bytes;
} bench_args;

enum { OP_GEMM, OP_GEMM_F32, OP_COPY, OP_RMS_F, OP_RMS_B, OP_ROPE, OP_SWIGLU, OP_ATT_F, OP_ATT_B, OP_HEAD, OP_ADAMW };

static int run(nn_cuda *ctx, void *arg) {
    bench_args *a = arg;
    static const nn_adamw_config cfg = {0.9, 0.999, 1e-8, 0.1};
    static nn_ce_stats cs;
    switch (a->op) {
    case OP_GEMM: return nn_cuda_matmul(ctx, NN_CUDA_BF16, NN_CUDA_BF16, 0, 0, GEMM, GEMM, GEMM, 1, a->a, GEMM, a->b, GEMM, 0, a->c, GEMM);
    case OP_GEMM_F32: return nn_cuda_matmul(ctx, NN_CUDA_F32, NN_CUDA_F32, 0, 0, 4096, 4096, 4096, 1, a->a, 4096, a->b, 4096, 0, a->c, 4096);
    case OP_COPY: return nn_cuda_copy(ctx, a->b, a->a, a->n);
    case OP_RMS_F: return nn_cuda_rmsnorm_forward(ctx, NN_CUDA_BF16, a->b, a->rstd, a->a, a->w, 1e-6f, ROWS, C);
    case OP_RMS_B: return nn_cuda_rmsnorm_backward(ctx, NN_CUDA_BF16, a->c, a->lse, a->b, a->a, a->w, a->rstd, ROWS, C);
    case OP_ROPE: return nn_cuda_rope_forward(ctx, NN_CUDA_BF16, a->a, a->cos, a->sin, ROWS, H, HD);
    case OP_SWIGLU: return nn_cuda_swiglu_forward(ctx, NN_CUDA_BF16, a->c, a->a, a->b, (size_t)ROWS * I);
    case OP_ATT_F:
        return nn_cuda_attention_forward(ctx, NN_CUDA_BF16, a->d, a->lse, a->a, a->b, a->c, a->seq, a->seq_host, SEQS,
                                         ROWS, H, KVH, HD);
    case OP_ATT_B:
        return nn_cuda_attention_backward(ctx, NN_CUDA_BF16, a->e, a->f, a->g, a->rstd, a->h, a->d, a->lse, a->a, a->b,
                                          a->c, a->seq, a->seq_host, SEQS, ROWS, H, KVH, HD);
    case OP_HEAD:
        return nn_cuda_lm_head_ce(ctx, NN_CUDA_BF16, a->c, a->d, &cs, a->a, a->b, a->targets, NULL, 1.0f / ROWS, ROWS,
                                  C, V, a->e, a->scratch_bytes);
    case OP_ADAMW: return nn_cuda_adamw_step(ctx, a->a, a->b, a->c, a->d, a->n, &cfg, 1e-4, 3, 1, a->e);
    }
    return rg_error("bench: unknown op %d", a->op);
}

/* Times op (2 warm-up runs, then reps) and prints its line: work / time in `unit`. */
static int bench(nn_cuda *ctx, bench_args *a, int op, const char *name, int reps, double work, const char *unit) {
    double ms;
    a->op = op;
    if (run(ctx, a) || run(ctx, a) || nn_cuda_time_ms(ctx, run, a, reps, &ms)) return RG_ERR;
    ms /= reps;
    printf("bench %-22s %10.2f %-8s %9.4f ms\n", name, work / (ms * 1e-3), unit, ms);
    fflush(stdout);
    return RG_OK;
}

static void *dev(size_t bytes) {
    void *p = NULL;
    return nn_cuda_malloc(&p, bytes, "bench buffer") ? NULL : p;
}

/* p[n] bf16 uniform in [-1, 1) (an LCG on the host, uploaded once). */
static int random_bf16(nn_cuda *ctx, void *p, size_t n) {
    uint16_t *h = malloc(n * sizeof *h);
    if (!h) return rg_error("bench: out of host memory for %zu bf16", n);
    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        h[i] = nn_f32_to_bf16((float)((s >> 40) * (2.0 / 16777216.0)) - 1.0f);
    }
    int rc = nn_cuda_upload(ctx, p, h, n * sizeof *h);
    free(h);
    return rc;
}

static int gemm_and_copy(nn_cuda *ctx) {
    bench_args a = {0};
    size_t g = (size_t)GEMM * GEMM * 2;
    if (!(a.a = dev(g)) || !(a.b = dev(g)) || !(a.c = dev(g))) return RG_ERR;
    int rc = random_bf16(ctx, a.a, g / 2) || random_bf16(ctx, a.b, g / 2); /* random data: zeros run faster */
    if (!rc) rc = bench(ctx, &a, OP_GEMM, "gemm_bf16_8192", 10, 2.0 * GEMM * GEMM * GEMM / 1e12, "TFLOP/s");
    if (!rc) rc = bench(ctx, &a, OP_GEMM_F32, "gemm_f32_4096", 5, 2.0 * 4096.0 * 4096 * 4096 / 1e12, "TFLOP/s");
    a.n = g;
    if (!rc) rc = bench(ctx, &a, OP_COPY, "copy_d2d_128MiB", 20, 2.0 * (double)g / 1e9, "GB/s");
    nn_cuda_free(a.a), nn_cuda_free(a.b), nn_cuda_free(a.c);
    return rc;
}

/* The 0.5B training-shape kernels, bf16. */
static int kernels(nn_cuda *ctx) {
    static int32_t seq_host[SEQS + 1];
    for (int s = 0; s <= SEQS; s++) seq_host[s] = s * T;
    bench_args a = {0};
    size_t act = (size_t)ROWS * C * 2, mlp = (size_t)ROWS * I * 2, q = (size_t)ROWS * H * HD * 2;
    size_t kv = (size_t)ROWS * KVH * HD * 2;
    a.seq_host = seq_host;
    int rc = !(a.a = dev(mlp)) || !(a.b = dev(mlp)) || !(a.c = dev(mlp)) || !(a.d = dev(q)) ||
             !(a.e = dev(q)) || !(a.f = dev(kv)) || !(a.g = dev(kv)) || !(a.h = dev(q));
    if (!rc) rc = nn_cuda_malloc((void **)&a.lse, (size_t)ROWS * H * 4, "lse") ||
                  nn_cuda_malloc((void **)&a.rstd, (size_t)ROWS * H * 4, "rstd") ||
                  nn_cuda_malloc((void **)&a.w, (size_t)C * 4, "w") ||
                  nn_cuda_malloc((void **)&a.cos, (size_t)ROWS * HD * 2, "cos") ||
                  nn_cuda_malloc((void **)&a.sin, (size_t)ROWS * HD * 2, "sin") ||
                  nn_cuda_malloc((void **)&a.seq, sizeof seq_host, "seq") ||
                  nn_cuda_upload(ctx, a.seq, seq_host, sizeof seq_host);
    void *bufs[] = {a.a, a.b, a.c, a.d, a.e, a.f, a.g, a.h};
    for (int i = 0; !rc && i < 8; i++) rc = nn_cuda_memset(ctx, bufs[i], 0x3c, i < 3 ? mlp : i == 5 || i == 6 ? kv : q);
    if (!rc) rc = nn_cuda_memset(ctx, a.w, 0, C * 4) || nn_cuda_memset(ctx, a.cos, 0, (size_t)ROWS * HD * 2) ||
                  nn_cuda_memset(ctx, a.sin, 0, (size_t)ROWS * HD * 2);
    double att_flops = 4.0 * SEQS * H * HD * (double)T * T / 2; /* causal: half of QK^T and PV */
    if (!rc) rc = bench(ctx, &a, OP_RMS_F, "rmsnorm_fwd", 20, 2.0 * act / 1e9, "GB/s");
    if (!rc) rc = bench(ctx, &a, OP_RMS_B, "rmsnorm_bwd", 20, 4.0 * act / 1e9, "GB/s");
    if (!rc) rc = bench(ctx, &a, OP_ROPE, "rope_fwd_q", 20, 2.0 * q / 1e9, "GB/s");
    if (!rc) rc = bench(ctx, &a, OP_SWIGLU, "swiglu_fwd", 20, 3.0 * mlp / 1e9, "GB/s");
    if (!rc) rc = bench(ctx, &a, OP_ATT_F, "attention_fwd", 10, att_flops / 1e12, "TFLOP/s");
    if (!rc) rc = bench(ctx, &a, OP_ATT_B, "attention_bwd", 5, 2.5 * att_flops / 1e12, "TFLOP/s");
    nn_cuda_free(a.lse), nn_cuda_free(a.rstd), nn_cuda_free(a.w), nn_cuda_free(a.cos), nn_cuda_free(a.sin);
    nn_cuda_free(a.seq);
    for (int i = 0; i < 8; i++) nn_cuda_free(bufs[i]);
    return rc;
}

/* The LM head with cross-entropy over all 8192 rows, chunks of 1024, and AdamW over 0.5B-ish parameters. */
static int head_and_adamw(nn_cuda *ctx) {
    bench_args a = {0};
    a.scratch_bytes = nn_cuda_lm_head_scratch_bytes(NN_CUDA_BF16, 0, ROWS, V, 1024);
    int rc = !(a.a = dev((size_t)ROWS * C * 2)) || !(a.b = dev((size_t)V * C * 2)) ||
             !(a.c = dev((size_t)ROWS * C * 2)) || !(a.d = dev((size_t)V * C * 4)) ||
             !(a.e = dev(a.scratch_bytes)) || nn_cuda_malloc((void **)&a.targets, ROWS * 4, "targets");
    if (!rc) rc = nn_cuda_memset(ctx, a.a, 0x3c, (size_t)ROWS * C * 2) || nn_cuda_memset(ctx, a.b, 0x3c, (size_t)V * C * 2) ||
                  nn_cuda_memset(ctx, a.targets, 0, ROWS * 4);
    double head_flops = 3 * 2.0 * ROWS * (double)C * V; /* logits, dh, dW */
    if (!rc) rc = bench(ctx, &a, OP_HEAD, "lm_head_ce_fwd_bwd", 3, head_flops / 1e12, "TFLOP/s");
    nn_cuda_free(a.a), nn_cuda_free(a.b), nn_cuda_free(a.c), nn_cuda_free(a.d), nn_cuda_free(a.e);
    nn_cuda_free(a.targets);
    if (rc) return rc;
    bench_args o = {0};
    o.n = (size_t)100 << 20;
    rc = !(o.a = dev(o.n * 4)) || !(o.b = dev(o.n * 4)) || !(o.c = dev(o.n * 4)) || !(o.d = dev(o.n * 4)) ||
         !(o.e = dev(o.n * 2));
    void *state[] = {o.a, o.b, o.c, o.d};
    for (int i = 0; !rc && i < 4; i++) rc = nn_cuda_memset(ctx, state[i], 0, o.n * 4);
    if (!rc) rc = bench(ctx, &o, OP_ADAMW, "adamw_100M", 5, (double)o.n * 18 / 1e9, "GB/s");
    nn_cuda_free(o.a), nn_cuda_free(o.b), nn_cuda_free(o.c), nn_cuda_free(o.d), nn_cuda_free(o.e);
    return rc;
}

int main(void) {
    int count = 0;
    char why[256] = "";
    if (nn_cuda_device_count(&count, why, sizeof why) || count == 0) {
        printf("gpu_bench: skipped: no GPU (%s)\n", why);
        return 0;
    }
    nn_cuda *ctx;
    if (nn_cuda_open(&ctx, 0, 32u << 20)) {
        fprintf(stderr, "gpu_bench: %s\n", rg_errmsg());
        return 1;
    }
    printf("gpu_bench: %s\n", nn_cuda_device_name(ctx));
    int rc = gemm_and_copy(ctx);
    if (!rc) rc = kernels(ctx);
    if (!rc) rc = head_and_adamw(ctx);
    if (rc) fprintf(stderr, "gpu_bench: %s\n", rg_errmsg());
    nn_cuda_close(ctx);
    return rc ? 1 : 0;
}
