/* kernels.c — the nn kernels against the machine's own roofs, measured in
 * the same run: OpenBLAS sgemm on the Qwen2.5-0.5B shapes (compute roof) and
 * a STREAM-like triad (bandwidth roof). Prints rates and ratios; never fails.
 * Shapes: hidden 896, intermediate 4864, 14 heads of 64, 2 KV heads, vocab
 * 151936, T = 512. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "nn/isa.h"
#include "base/rng.h"
#include "base/timer.h"
#include "nn/bf16dot.h"
#include "nn/cpu.h"
#include "nn/nn.h"

enum { HIDDEN = 896, INTER = 4864, HEADS = 14, KV_HEADS = 2, HEAD_DIM = 64, VOCAB = 151936, T = 512 };

static float *random_floats(size_t n, float scale, rg_rng *rng) {
    float *a = malloc(n * sizeof(float));
    if (!a) {
        fprintf(stderr, "bench: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) a[i] = scale * (rg_rng_uniform(rng) - 0.5f);
    return a;
}

/* Best of `reps` timings of fn(arg): the steady state, not the first touch. */
#define BEST_OF(reps, secs, code)                                                                                     \
    do {                                                                                                               \
        secs = 1e30;                                                                                                   \
        for (int rep_ = 0; rep_ < (reps); rep_++) {                                                                   \
            double t0_ = rg_now();                                                                                     \
            code;                                                                                                      \
            double dt_ = rg_now() - t0_;                                                                               \
            if (dt_ < secs) secs = dt_;                                                                                \
        }                                                                                                              \
    } while (0)

static void triad(float *a, const float *b, const float *c, size_t n) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) a[i] = b[i] + 3.0f * c[i];
}

/* STREAM triad a = b + s c over arrays far larger than the caches; bytes
 * counted as STREAM does (two reads, one write). */
static double triad_gbs(void) {
    const size_t n = (size_t)1 << 26; /* 64M floats, 256 MiB per array: beyond a 300 MB L3 */
    float *a = malloc(n * 4), *b = malloc(n * 4), *c = malloc(n * 4);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) a[i] = 0, b[i] = 1, c[i] = 2;
    double secs;
    BEST_OF(5, secs, triad(a, b, c, n));
    volatile float sink = a[n / 2];
    (void)sink;
    free(a), free(b), free(c);
    return 3.0 * 4.0 * n / secs / 1e9;
}

typedef struct {
    const char *name;
    int in, out;
} shape;

static const shape SHAPES[] = {
    {"q_proj/o_proj 896x896", HIDDEN, HIDDEN}, {"k_proj/v_proj 896->128", HIDDEN, KV_HEADS * HEAD_DIM},
    {"gate/up 896->4864", HIDDEN, INTER},      {"down 4864->896", INTER, HIDDEN},
    {"lm_head 896->151936", HIDDEN, VOCAB},
};
#define N_SHAPES (int)(sizeof SHAPES / sizeof SHAPES[0])

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* lines appear as they are measured */
    rg_rng rng;
    rg_rng_seed(&rng, 1);
#ifdef _OPENMP
    printf("threads: %d (OpenMP; %s)\n", omp_get_max_threads(), openblas_get_config());
#endif
    /* OpenBLAS 0.3.21 (Debian 12) does not know recent Xeons (e.g. family 6
     * model 207) and falls back to its SSE3 "Prescott" kernels, ~5x slower
     * than its AVX-512 ones here; nn_blas_init() switches (set
     * OPENBLAS_CORETYPE=Prescott to measure the fallback). */
    const char *shipped = openblas_get_corename();
    printf("OpenBLAS kernels as loaded: %s\n", shipped);
    const char *chosen = nn_blas_init();
    int sse3_on_avx2 = 0;
#if RG_HAVE_X86_SIMD
    sse3_on_avx2 = strcmp(chosen, "Prescott") == 0 && __builtin_cpu_supports("avx2");
#endif
    printf("OpenBLAS kernels after nn_blas_init(): %s%s\n", chosen, sse3_on_avx2 ? "  <- SSE3 kernels on an AVX2 CPU" : "");
    double triad = triad_gbs();
    printf("\n[roof] STREAM-like triad: %.2f GB/s\n", triad);

    /* ---- compute roof: sgemm on the model's shapes, forward and backward ---- */
    printf("\n[linear f32, T=%d] forward = sgemm x W^T; backward = dx and dW sgemms\n", T);
    printf("%-26s %10s %10s %10s\n", "shape", "fwd GF/s", "bwd GF/s", "bwd/fwd");
    double best_gflops = 0, flops_all = 0, secs_all = 0;
    for (int s = 0; s < N_SHAPES; s++) {
        int in = SHAPES[s].in, out = SHAPES[s].out;
        float *x = random_floats((size_t)T * in, 1, &rng), *W = random_floats((size_t)out * in, 0.1f, &rng);
        float *y = malloc((size_t)T * out * 4), *dx = calloc((size_t)T * in, 4), *dW = calloc((size_t)out * in, 4);
        int reps = out == VOCAB ? 2 : 5;
        double fwd, bwd, flops = 2.0 * T * in * out;
        BEST_OF(reps, fwd, nn_linear_forward(y, x, W, NULL, T, in, out));
        BEST_OF(reps, bwd, nn_linear_backward(dx, dW, NULL, y, x, W, T, in, out));
        printf("%-26s %10.1f %10.1f %10.2f\n", SHAPES[s].name, flops / fwd / 1e9, 2 * flops / bwd / 1e9,
               (2 * flops / bwd) / (flops / fwd));
        if (flops / fwd > best_gflops) best_gflops = flops / fwd;
        flops_all += 3 * flops, secs_all += fwd + bwd;
        free(x), free(W), free(y), free(dx), free(dW);
    }
    double sgemm_rate = flops_all / secs_all / 1e9;
    printf("sgemm rate over these shapes (fwd+bwd): %.1f GFLOP/s  (best single: %.1f)\n", sgemm_rate, best_gflops / 1e9);

    /* ---- bandwidth roof: decode over every bf16 weight of the model ---- */
    {
        /* 24 layers of q,k,v,o,gate,up,down + the tied LM head, 988 MB: far
         * beyond the caches, so each token streams them from memory, as a
         * real decode step does. */
        enum { LAYERS = 24, PER_LAYER = 7 };
        const shape layer_shapes[PER_LAYER] = {{"q", HIDDEN, HIDDEN}, {"k", HIDDEN, KV_HEADS * HEAD_DIM},
                                               {"v", HIDDEN, KV_HEADS * HEAD_DIM}, {"o", HIDDEN, HIDDEN},
                                               {"gate", HIDDEN, INTER}, {"up", HIDDEN, INTER}, {"down", INTER, HIDDEN}};
        uint16_t *mats[LAYERS * PER_LAYER + 1];
        int ins[LAYERS * PER_LAYER + 1], outs[LAYERS * PER_LAYER + 1], n_mats = 0;
        double bytes = 0;
        for (int l = 0; l < LAYERS; l++)
            for (int m = 0; m < PER_LAYER; m++) ins[n_mats] = layer_shapes[m].in, outs[n_mats++] = layer_shapes[m].out;
        ins[n_mats] = HIDDEN, outs[n_mats++] = VOCAB;
        for (int m = 0; m < n_mats; m++) {
            size_t n = (size_t)ins[m] * outs[m];
            mats[m] = malloc(n * 2);
            for (size_t i = 0; i < n; i++) mats[m][i] = nn_f32_to_bf16(0.01f * (float)((i * 2654435761u) % 200) - 1.0f);
            bytes += 2.0 * n;
        }
        float *x = random_floats((size_t)8 * INTER, 1, &rng), *y = malloc((size_t)8 * VOCAB * 4);
        /* N <= 8: the streaming kernels, no scratch — f32 products (f32 activations), and where they are in
         * use the bf16 dot products (x rounded to bf16, gemv_bf16dot_avx512.c), over the same matrices */
        const int dot = nn_bf16dot_in_use();
        double t[9] = {0}, t_dot[9] = {0};
        for (int N = 1; N <= 8; N *= 2) {
            BEST_OF(3, t[N], {
                for (int m = 0; m < n_mats; m++) nn_linear_bf16_forward(y, x, mats[m], NULL, N, ins[m], outs[m], NULL, 0);
            });
            if (dot)
                BEST_OF(3, t_dot[N], {
                    for (int m = 0; m < n_mats; m++)
                        nn_linear_bf16_forward_ws(y, x, mats[m], NULL, N, ins[m], outs[m], NULL, 0);
                });
        }
        printf("\n[bf16 decode: every weight of Qwen2.5-0.5B (%.0f MB) once per step]\n", bytes / 1e6);
        printf("%4s %10s %10s %10s %16s", "N", "ms/step", "GB/s", "of triad", "tokens/s vs N=1");
        printf(dot ? " %14s %10s %16s\n" : "\n", "dot ms/step", "dot/f32", "dot tok/s vs N=1");
        for (int N = 1; N <= 8; N *= 2) {
            printf("%4d %10.1f %10.2f %9.0f%% %15.2fx", N, t[N] * 1e3, bytes / t[N] / 1e9,
                   100 * bytes / t[N] / 1e9 / triad, N * t[1] / t[N]);
            if (dot) printf(" %14.1f %9.2fx %15.2fx", t_dot[N] * 1e3, t[N] / t_dot[N], N * t_dot[1] / t_dot[N]);
            printf("\n");
        }
        for (int m = 0; m < n_mats; m++) free(mats[m]);
        free(x), free(y);
    }
    /* ---- bf16 at training/prefill sizes: panels widened to f32 + sgemm ---- */
    {
        int in = HIDDEN, out = INTER;
        float *Wf = random_floats((size_t)out * in, 0.1f, &rng), *x = random_floats((size_t)T * in, 1, &rng);
        float *y = malloc((size_t)T * out * 4);
        uint16_t *W = malloc((size_t)out * in * 2);
        nn_f32_to_bf16_array(W, Wf, (size_t)out * in);
        double t16, t32;
        size_t floats = nn_linear_bf16_f32_scratch_floats(in, out);
        float *scratch = malloc(floats * sizeof(float));
        BEST_OF(3, t16, nn_linear_bf16_forward(y, x, W, NULL, T, in, out, scratch, floats));
        free(scratch);
        BEST_OF(3, t32, nn_linear_forward(y, x, Wf, NULL, T, in, out));
        printf("[bf16 linear T=%d, 896->4864] %.1f GFLOP/s = %.0f%% of the f32 sgemm on the same shape\n", T,
               2.0 * T * in * out / t16 / 1e9, 100 * t32 / t16);
        free(Wf), free(x), free(y), free(W);
    }
    /* ---- bf16 prefill: bf16 dot products against widen + sgemm, and the bf16 dot roof ---- */
    if (nn_bf16dot_in_use() && nn_cpu_has_avx512bf16()) {
        printf("\n[bf16 prefill T=%d: bf16 dot products (AVX-512 BF16) vs W widened to f32 + sgemm]\n", T);
        double peak = 0;
        for (int rep = 0; rep < 3; rep++) {
            double t0 = rg_now(), flops = nn_bf16dot_peak_run(4000000), g = flops / (rg_now() - t0) / 1e9;
            if (g > peak) peak = g;
        }
        printf("bf16 dot roof (vdpbf16ps peak loop): %.1f GFLOP/s = %.2fx the sgemm rate above\n", peak,
               peak / sgemm_rate);
        printf("%-26s %10s %10s %10s %10s\n", "shape", "dot GF/s", "old GF/s", "dot/old", "dot/roof");
        for (int s = 0; s < N_SHAPES - 1; s++) { /* the layer shapes (the LM head stays f32) */
            int in = SHAPES[s].in, out = SHAPES[s].out;
            float *x = random_floats((size_t)T * in, 1, &rng), *y = malloc((size_t)T * out * 4);
            uint16_t *W = malloc((size_t)out * in * 2);
            for (size_t i = 0; i < (size_t)out * in; i++) W[i] = nn_f32_to_bf16(0.1f * (rg_rng_uniform(&rng) - 0.5f));
            size_t floats = nn_linear_bf16_scratch_floats(T, in, out);
            float *scratch = malloc(floats * 4), *wide = malloc((size_t)out * in * 4);
            double dot, old, flops = 2.0 * T * in * out;
            BEST_OF(5, dot, nn_linear_bf16_forward_ws(y, x, W, NULL, T, in, out, scratch, floats));
            BEST_OF(5, old, {
                nn_bf16_to_f32_array(wide, W, (size_t)out * in); /* the old prefill: widen the matrix, one sgemm */
                nn_linear_forward(y, x, wide, NULL, T, in, out);
            });
            printf("%-26s %10.1f %10.1f %10.2f %10.2f\n", SHAPES[s].name, flops / dot / 1e9, flops / old / 1e9,
                   old / dot, flops / dot / 1e9 / peak);
            free(x), free(y), free(W), free(scratch), free(wide);
        }
    }

    /* ---- f32 at N <= 8: the streaming kernel (gemv.c) vs BLAS ---- */
    {
        int in = HIDDEN, out = INTER;
        float *W = random_floats((size_t)out * in, 0.1f, &rng), *x = random_floats((size_t)8 * in, 1, &rng);
        float *y = malloc((size_t)8 * out * 4);
        double bytes = 4.0 * in * out;
        printf("\n[linear f32, 896->4864 (17 MB, cache-resident here), GB/s of weights]\n");
        for (int N = 1; N <= 8; N *= 8) {
            double t_ours, t_blas;
            BEST_OF(20, t_ours, nn_linear_forward(y, x, W, NULL, N, in, out));
            if (N == 1)
                BEST_OF(20, t_blas, cblas_sgemv(CblasRowMajor, CblasNoTrans, out, in, 1.0f, W, in, x, 1, 0.0f, y, 1));
            else
                BEST_OF(20, t_blas, cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, out, in, 1.0f, x, in, W, in,
                                                0.0f, y, out));
            printf("N=%d: nn_linear_forward (gemv.c) %.2f GB/s, %s %.2f GB/s: %.2fx\n", N, bytes / t_ours / 1e9,
                   N == 1 ? "sgemv" : "sgemm", bytes / t_blas / 1e9, t_blas / t_ours);
        }
        free(W), free(x), free(y);
    }

    /* ---- attention at T = 512 ---- */
    {
        size_t nq = (size_t)T * HEADS * HEAD_DIM, nk = (size_t)T * KV_HEADS * HEAD_DIM;
        float *q = random_floats(nq, 1, &rng), *k = random_floats(nk, 1, &rng), *v = random_floats(nk, 1, &rng);
        float *out = malloc(nq * 4), *probs = malloc((size_t)HEADS * T * T * 4), *dout = random_floats(nq, 1, &rng);
        float *dq = calloc(nq, 4), *dk = calloc(nk, 4), *dv = calloc(nk, 4);
        float *scratch = malloc(nn_attention_backward_scratch_floats(T, HEADS, HEAD_DIM) * 4);
        double fwd, bwd;
        BEST_OF(5, fwd, nn_attention_forward(out, probs, q, k, v, T, HEADS, KV_HEADS, HEAD_DIM));
        BEST_OF(5, bwd, nn_attention_backward(dq, dk, dv, scratch, dout, q, k, v, probs, T, HEADS, KV_HEADS, HEAD_DIM));
        /* useful FLOPs: the causal half of QK^T and PV forward, of four products backward */
        double f_fwd = 2.0 * 2 * HEADS * (double)T * T * HEAD_DIM / 2, f_bwd = 2 * f_fwd;
        printf("\n[attention T=%d, 14 heads x 64, 2 KV heads] forward %.2f ms (%.1f GF/s causal), backward %.2f ms "
               "(%.1f GF/s); fwd+bwd %.2f ms = %.0f%% of the sgemm rate\n",
               T, fwd * 1e3, f_fwd / fwd / 1e9, bwd * 1e3, f_bwd / bwd / 1e9, (fwd + bwd) * 1e3,
               100 * (f_fwd + f_bwd) / (fwd + bwd) / 1e9 / sgemm_rate);
        /* the packed kernels training uses (B = 1 here): lse kept, probabilities recomputed in backward */
        {
            const int slots = omp_get_max_threads();
            int32_t one[2] = {0, T};
            float *lse = malloc((size_t)T * HEADS * 4), *pscratch = malloc(slots * nn_attention_packed_scratch_floats(T) * 4);
            double pf, pb;
            BEST_OF(5, pf, nn_attention_packed_forward(out, lse, q, k, v, one, 1, HEADS, KV_HEADS, HEAD_DIM, pscratch, slots));
            BEST_OF(5, pb, nn_attention_packed_backward(dq, dk, dv, dout, out, lse, q, k, v, one, 1, HEADS, KV_HEADS, HEAD_DIM,
                                                        pscratch, slots));
            printf("[packed attention, same shape, B = 1] forward %.2f ms, backward %.2f ms; fwd+bwd %.2f ms = %.2fx "
                   "the probs-keeping pair (keeps %d floats per layer instead of %d)\n",
                   pf * 1e3, pb * 1e3, (pf + pb) * 1e3, (pf + pb) / (fwd + bwd), T * HEADS, HEADS * T * T);
            free(lse), free(pscratch);
        }
        /* decode: one query against a 512-entry cache */
        double dec;
        BEST_OF(20, dec, nn_attention_forward_cached(out, probs, q, k, v, 1, T - 1, HEADS, KV_HEADS, HEAD_DIM));
        printf("[attention decode, 1 query vs 512 cached] %.3f ms\n", dec * 1e3);
        free(q), free(k), free(v), free(out), free(probs), free(dout), free(dq), free(dk), free(dv), free(scratch);
    }

    /* ---- losses over the full vocabulary, per position ---- */
    {
        const int rows = 64;
        float *s = random_floats((size_t)rows * VOCAB, 8, &rng), *t = random_floats((size_t)rows * VOCAB, 8, &rng);
        float *grad = malloc((size_t)rows * VOCAB * 4);
        int32_t *targets = malloc(rows * sizeof(int32_t));
        for (int i = 0; i < rows; i++) targets[i] = (int32_t)rg_rng_below(&rng, VOCAB);
        double t_ce, t_jsd, t_topk;
        nn_ce_stats ce = {0};
        nn_jsd_stats js = {0};
        BEST_OF(3, t_ce, nn_cross_entropy(grad, NULL, &ce, s, targets, NULL, 1.0f, rows, VOCAB));
        nn_jsd_config full = {.beta = 0.5f}, topk = {.beta = 0.5f, .top_k = 64};
        size_t floats = nn_jsd_scratch_floats(&full, VOCAB, nn_max_threads()); /* >= the top-64 need */
        float *scratch = malloc(floats * sizeof(float));
        BEST_OF(3, t_jsd,
                nn_jsd(grad, NULL, NULL, NULL, &js, scratch, floats, s, t, targets, NULL, &full, 1.0f, rows, VOCAB));
        BEST_OF(3, t_topk,
                nn_jsd(grad, NULL, NULL, NULL, &js, scratch, floats, s, t, targets, NULL, &topk, 1.0f, rows, VOCAB));
        double lm_head = 3 * 2.0 * HIDDEN * VOCAB / (sgemm_rate * 1e9); /* fwd+bwd LM head per position */
        printf("\n[losses, V=%d] per position: cross-entropy+grad %.3f ms, JSD(0.5)+grad full %.3f ms, top-64 %.3f "
               "ms; the LM head fwd+bwd at the sgemm rate: %.3f ms (JSD/LM head = %.2f)\n",
               VOCAB, t_ce / rows * 1e3, t_jsd / rows * 1e3, t_topk / rows * 1e3, lm_head * 1e3,
               t_jsd / rows / lm_head);
        free(s), free(t), free(grad), free(targets), free(scratch);
    }
    return 0;
}
