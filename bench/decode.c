/* decode.c — inference speed on a random model of the Qwen2.5-0.5B shape
 * (hidden 896, 24 layers, 14 heads, 2 KV heads, intermediate 4864, vocab
 * 151936, tied), in f32 and bf16, beside two roofs measured in the same run:
 *   bandwidth roof: STREAM-like triad GB/s / bytes of weights read per token
 *                   (every layer matrix, the norms, and the tied LM head);
 *   sgemm roof:     OpenBLAS sgemm GFLOP/s on the model's own shapes
 *                   / 2 FLOPs per weight per prompt token (prefill).
 *   bf16 dot roof:  vdpbf16ps GFLOP/s (a peak-FLOP loop, AVX-512 BF16 CPUs)
 *                   / the same FLOPs per token: bf16 prefill with the bf16
 *                   dot products is measured against it, and against the
 *                   old path (W widened to f32, sgemm) in the same run;
 *                   bf16 decode on the bf16 dot products against f32
 *                   activations, interleaved in the same run.
 * Prints ratios against the targets (batch-1 decode >= 80% of the bandwidth
 * roof; batch-8 decode >= 4x batch 1; prefill >= 50% of the sgemm roof).
 * Each figure is the best of a few repetitions (the machine may be shared).
 * Never fails on timing. RGSD_BENCH_SMALL=1 shrinks everything (smoke run). */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/timer.h"
#include "model/infer.h"
#include "model/model.h"
#include "nn/bf16dot.h"
#include "nn/cpu.h"
#include "nn/nn.h"

/* STREAM-like triad a = b + 3c over n floats, best of `reps` (GB/s). The
 * arrays are kept so the roof can be re-measured right beside each figure:
 * on a shared machine the bandwidth left to us changes during the run. */
static float *triad_a, *triad_b, *triad_c;
static size_t triad_n;

static double triad_gbps(int reps) {
    double best = 0;
    for (int rep = 0; rep < reps; rep++) {
        double t0 = rg_now();
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < triad_n; i++) triad_a[i] = triad_b[i] + 3.0f * triad_c[i];
        double dt = rg_now() - t0;
        double gbps = 3.0 * triad_n * sizeof(float) / dt / 1e9;
        if (gbps > best) best = gbps;
    }
    if (triad_a[triad_n / 2] != 7.0f) printf("triad check failed\n");
    return best;
}

static void triad_init(size_t n) {
    triad_n = n;
    triad_a = rg_malloc_aligned(n * sizeof(float)), triad_b = rg_malloc_aligned(n * sizeof(float));
    triad_c = rg_malloc_aligned(n * sizeof(float));
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) triad_a[i] = 0, triad_b[i] = 1, triad_c[i] = 2;
}

/* sgemm GFLOP/s over the layer shapes of one prompt of T tokens. */
static double sgemm_gflops(const rg_model_config *c, int T) {
    int shapes[4][2] = {{c->n_heads * c->head_dim, c->hidden_size},
                        {c->hidden_size, c->n_heads * c->head_dim},
                        {c->intermediate_size, c->hidden_size},
                        {c->hidden_size, c->intermediate_size}};
    double flops = 0, seconds = 0;
    for (int s = 0; s < 4; s++) {
        int out = shapes[s][0], in = shapes[s][1];
        float *x = rg_malloc_aligned(sizeof(float) * (size_t)T * in), *W = rg_malloc_aligned(sizeof(float) * (size_t)out * in),
              *y = rg_malloc_aligned(sizeof(float) * (size_t)T * out);
        for (size_t i = 0; i < (size_t)T * in; i++) x[i] = 0.01f * (float)(i % 7);
        for (size_t i = 0; i < (size_t)out * in; i++) W[i] = 0.01f * (float)(i % 5);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, out, in, 1, x, in, W, in, 0, y, out); /* warm */
        double best = 1e30;
        for (int rep = 0; rep < 3; rep++) { /* best of 3: the machine may be shared */
            double t0 = rg_now();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, out, in, 1, x, in, W, in, 0, y, out);
            double dt = rg_now() - t0;
            if (dt < best) best = dt;
        }
        seconds += best;
        flops += 2.0 * T * (double)out * in;
        rg_free_aligned(x), rg_free_aligned(W), rg_free_aligned(y);
    }
    return flops / seconds / 1e9;
}

/* The bf16 dot roof: vdpbf16ps GFLOP/s on all threads, best of 3 (0 without AVX-512 BF16). */
static double bf16dot_gflops(void) {
    if (!nn_cpu_has_avx512bf16()) return 0;
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = rg_now(), flops = nn_bf16dot_peak_run(4000000);
        double g = flops / (rg_now() - t0) / 1e9;
        if (g > best) best = g;
    }
    return best;
}

/* Prefill of `prompt_len` tokens into slot 0, best of 2 (the machine may be shared): seconds. */
static double prefill_seconds(rg_infer_state *st, const rg_model *model, const int32_t *prompt, int prompt_len,
                              float *logits) {
    double best = 1e30;
    for (int rep = 0; rep < 2; rep++) {
        rg_infer_reset(st, 0);
        double t0 = rg_now();
        rg_infer_prefill(st, model, 0, prompt, prompt_len, logits, 0);
        double dt = rg_now() - t0;
        if (dt < best) best = dt;
    }
    return best;
}

/* bf16 prefill with the bf16 dot products against the old path (W widened to
 * f32, sgemm) in the same run, and both roofs measured right after. */
static void bf16_prefill_paths(rg_infer_state *st, const rg_model *model, const int32_t *prompt, int prompt_len,
                               float *logits, double flops_per_token) {
    if (!nn_bf16dot_in_use()) {
        printf("bf16  prefill: bf16 dot products not in use here (%s), only the sgemm path above\n",
               nn_cpu_has_avx512bf16() ? "RGSD_KERNELS" : "no AVX-512 BF16");
        return;
    }
    double dot = prefill_seconds(st, model, prompt, prompt_len, logits);
    nn_cpu_set_bf16dot(0);
    double old = prefill_seconds(st, model, prompt, prompt_len, logits);
    nn_cpu_set_bf16dot(1);
    double sgemm = sgemm_gflops(&model->cfg, prompt_len), peak = bf16dot_gflops();
    double tps = prompt_len / dot, old_tps = prompt_len / old;
    printf("bf16  prefill %4d tokens: %8.1f tok/s bf16 dot products, %8.1f tok/s widen + sgemm (old): %.2fx\n",
           prompt_len, tps, old_tps, tps / old_tps);
    printf("bf16  roofs: bf16 dot %.1f GFLOP/s = %.1f tok/s (new at %.2f of it); sgemm %.1f GFLOP/s = %.1f tok/s "
           "(old at %.2f of it)\n",
           peak, peak * 1e9 / flops_per_token, tps * flops_per_token / (peak * 1e9), sgemm,
           sgemm * 1e9 / flops_per_token, old_tps * flops_per_token / (sgemm * 1e9));
}

/* Decode: b sequences of short, different prompt lengths, then steps of one
 * token each; tokens/s of the best of 3 rounds of `steps` steps. */
static double decode_tps(rg_infer_state *st, const rg_model *model, int b, const int32_t *prompt, int steps,
                         float *logits) {
    const int V = model->cfg.vocab_size;
    int slots[8], n_new[8];
    const int32_t *toks[8];
    int32_t next[8];
    for (int s = 0; s < b; s++) {
        rg_infer_reset(st, s);
        rg_infer_prefill(st, model, s, prompt, 4 + s, logits, 0);
        slots[s] = s, n_new[s] = 1, next[s] = (s * 31) % V, toks[s] = &next[s];
    }
    rg_infer_step(st, model, b, slots, toks, n_new, logits, 0); /* warm-up */
    double best = 1e30;
    for (int round = 0; round < 3; round++) {
        double t0 = rg_now();
        for (int step = 0; step < steps; step++) {
            if (rg_infer_step(st, model, b, slots, toks, n_new, logits, 0)) {
                printf("%s\n", rg_errmsg());
                break;
            }
            for (int s = 0; s < b; s++) next[s] = (next[s] + 17) % V;
        }
        double dt = rg_now() - t0;
        if (dt < best) best = dt;
    }
    return (double)b * steps / best;
}

/* bf16 decode with the bf16 dot products (x rounded to bf16, as prefill)
 * against f32 activations (the f32-product streaming kernel), interleaved in
 * the same run: batch 1 and 8 for each, twice. */
static void bf16_decode_paths(rg_infer_state *st, const rg_model *model, const int32_t *prompt, int steps,
                              float *logits) {
    if (!nn_bf16dot_in_use()) return;
    double tps[2][2] = {{0}}; /* [dot, f32][batch 1, batch 8]: best of the two passes */
    for (int pass = 0; pass < 2; pass++)
        for (int f32 = 0; f32 < 2; f32++) {
            nn_cpu_set_bf16dot(!f32);
            for (int k = 0; k < 2; k++) {
                double t = decode_tps(st, model, k ? 8 : 1, prompt, steps, logits);
                if (t > tps[f32][k]) tps[f32][k] = t;
            }
        }
    nn_cpu_set_bf16dot(1);
    printf("bf16  decode paths, interleaved: bf16 dot products batch 1 %.2f, batch 8 %.2f tok/s (%.2fx); "
           "f32 activations batch 1 %.2f, batch 8 %.2f tok/s (%.2fx)\n",
           tps[0][0], tps[0][1], tps[0][1] / tps[0][0], tps[1][0], tps[1][1], tps[1][1] / tps[1][0]);
}

/* FLOPs of the weight matmuls per prompt token (lm_head excluded: prefill needs only the last row). */
static double layer_flops_per_token(const rg_model_config *c) {
    double q = (double)c->n_heads * c->head_dim, kv = (double)c->n_kv_heads * c->head_dim;
    double per_layer = c->hidden_size * (q + 2 * kv) + q * c->hidden_size + 3.0 * c->hidden_size * c->intermediate_size;
    return 2.0 * per_layer * c->n_layers;
}

static void run(const rg_model_config *cfg, rg_weight_dtype dtype, int prompt_len, int decode_steps) {
    const char *name = dtype == RG_WEIGHTS_BF16 ? "bf16" : "f32";
    rg_model model;
    if (rg_model_alloc(&model, cfg, dtype)) {
        printf("%s: %s\n", name, rg_errmsg());
        return;
    }
    rg_model_init_random(&model, 1, 1.0f);
    const int B = 8, V = cfg->vocab_size;
    rg_infer_state st;
    if (rg_infer_init(&st, &model, B, prompt_len + 3 * decode_steps + 16, prompt_len)) {
        printf("%s: %s\n", name, rg_errmsg());
        rg_model_free(&model);
        return;
    }
    float *logits = rg_malloc_aligned(sizeof(float) * (size_t)B * V);
    int32_t *prompt = malloc(sizeof(int32_t) * (size_t)prompt_len);
    for (int t = 0; t < prompt_len; t++) prompt[t] = (t * 7919) % V;

    /* prefill (best of 2: the machine may be shared) */
    rg_infer_prefill(&st, &model, 0, prompt, prompt_len < 64 ? prompt_len : 64, logits, 0); /* warm-up */
    double best = prefill_seconds(&st, &model, prompt, prompt_len, logits);
    double prefill_tps = prompt_len / best;
    double sgemm = sgemm_gflops(cfg, prompt_len); /* right after, under the same load */
    double prefill_roof = sgemm * 1e9 / layer_flops_per_token(cfg);

    /* decode at batch 1 and 8, each with its triad right after, under the same load */
    double tps[2], triad[2];
    int batches[2] = {1, B};
    for (int k = 0; k < 2; k++) {
        tps[k] = decode_tps(&st, &model, batches[k], prompt, decode_steps, logits);
        triad[k] = triad_gbps(3);
    }
    double bytes = (double)rg_model_weight_bytes(&model);
    double bw_roof = triad[0] * 1e9 / bytes;
    printf("%-5s weights %.2f GB read per token\n", name, bytes / 1e9);
    printf("%-5s prefill %4d tokens: %8.1f tok/s   sgemm roof %8.1f tok/s (%.1f GFLOP/s)  ratio %.2f (target >= 0.50)\n",
           name, prompt_len, prefill_tps, prefill_roof, sgemm, prefill_tps / prefill_roof);
    if (dtype == RG_WEIGHTS_BF16) bf16_prefill_paths(&st, &model, prompt, prompt_len, logits, layer_flops_per_token(cfg));
    printf("%-5s decode batch 1:     %8.2f tok/s   bandwidth roof %6.2f tok/s (triad %.1f GB/s)  ratio %.2f (target >= 0.80)\n",
           name, tps[0], bw_roof, triad[0], tps[0] / bw_roof);
    printf("%-5s decode batch %d:     %8.2f tok/s   = %.2fx batch 1 (target >= 4x; triad after it %.1f GB/s)\n", name, B,
           tps[1], tps[1] / tps[0], triad[1]);
    if (dtype == RG_WEIGHTS_BF16) bf16_decode_paths(&st, &model, prompt, decode_steps, logits);
    fflush(stdout);
    free(prompt);
    rg_free_aligned(logits);
    rg_infer_free(&st);
    rg_model_free(&model);
}

int main(void) {
    const char *blas = nn_blas_init(); /* before any BLAS call: OpenBLAS may have fallen back to SSE3 */
    rg_model_config cfg = {0};
    int small = getenv("RGSD_BENCH_SMALL") != NULL;
    cfg.arch = RG_ARCH_QWEN2;
    cfg.hidden_size = 896, cfg.intermediate_size = 4864, cfg.n_layers = 24, cfg.n_heads = 14, cfg.n_kv_heads = 2;
    cfg.head_dim = 64, cfg.vocab_size = 151936, cfg.max_position = 32768, cfg.rms_norm_eps = 1e-6f;
    cfg.rope_theta = 1e6, cfg.qkv_bias = 1, cfg.tie_word_embeddings = 1, cfg.bos_id = -1;
    int prompt_len = 512, steps = 8;
    if (getenv("RGSD_BENCH_PROMPT")) prompt_len = atoi(getenv("RGSD_BENCH_PROMPT"));
    if (small) cfg.n_layers = 2, cfg.vocab_size = 4096, prompt_len = 64, steps = 4;
    printf("decode bench: Qwen2.5-0.5B shape%s (hidden %d, %d layers, %d/%d heads, I %d, vocab %d, tied), %d threads\n",
           small ? " (SMALL)" : "", cfg.hidden_size, cfg.n_layers, cfg.n_heads, cfg.n_kv_heads,
           cfg.intermediate_size, cfg.vocab_size, omp_get_max_threads());
    printf("OpenBLAS kernels: %s\n", blas);
    triad_init(small ? (1u << 22) : (1u << 26));
    printf("roofs at start: triad %.1f GB/s, sgemm %.1f GFLOP/s (model shapes, T=%d); each is re-measured beside its figure\n",
           triad_gbps(5), sgemm_gflops(&cfg, prompt_len), prompt_len);
    const char *only = getenv("RGSD_BENCH_DTYPE"); /* "f32" or "bf16": run one */
    if (!only || strcmp(only, "f32") == 0) run(&cfg, RG_WEIGHTS_F32, prompt_len, steps);
    if (!only || strcmp(only, "bf16") == 0) run(&cfg, RG_WEIGHTS_BF16, prompt_len, steps);
    return 0;
}
