/* train.c — training-step speed and memory on the Qwen2.5-0.5B shape
 * (hidden 896, 24 layers, 14 heads, 2 KV heads, intermediate 4864, vocab
 * 151936, tied; random weights), beside references measured in the same run:
 *   sgemm roof: OpenBLAS sgemm GFLOP/s on the step's own GEMMs (forward
 *               x W^T, backward dy W and dy^T x, for every projection and
 *               the LM head, weighted by how often the step runs each);
 *   PyTorch:    the same step (forward, CE over every position, backward,
 *               AdamW) in torch 1.13 with 2 threads (bench/train_torch.py).
 * Reports tokens/s, achieved GFLOP/s (6 N T per step), the ratios against
 * the targets (>= 50% of sgemm, >= 1.5x PyTorch) and peak RSS.
 *   bench/train                 the 0.5B step at T = 512 (full fine-tuning)
 *   bench/train mem-full-1024   peak RSS of a full fine-tuning step, 0.5B, T = 1024 (target < 16 GB)
 *   bench/train mem-lora-3b     peak RSS of a LoRA step (r 16, all projections) on the Qwen2.5-3B
 *                               shape with a bf16 base, T = 1024 (target < 20 GB)
 *   bench/train packed          8 sequences of mixed lengths (64..512, 2048 tokens), 0.5B, full
 *                               fine-tuning: forward + CE head + backward packed in ONE call (B = 8)
 *                               against the per-sequence loop (8 calls with B = 1) in the same run,
 *                               both against the sgemm roof at the packed N (target >= 1.3x)
 * Never fails on timing. RGSD_BENCH_SMALL=1 shrinks everything (smoke run). */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/error.h"
#include "base/timer.h"
#include "model/model.h"
#include "nn/nn.h"
#include "train/trainer.h"

static double peak_rss_gb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0 / 1024.0;
}

static rg_model_config qwen_config(int small, int big) {
    rg_model_config c = {0};
    c.arch = RG_ARCH_QWEN2;
    c.hidden_size = 896, c.intermediate_size = 4864, c.n_layers = 24, c.n_heads = 14, c.n_kv_heads = 2;
    c.head_dim = 64, c.vocab_size = 151936, c.max_position = 32768, c.rms_norm_eps = 1e-6f;
    c.rope_theta = 1e6, c.qkv_bias = 1, c.tie_word_embeddings = 1, c.bos_id = -1;
    if (big) c.hidden_size = 2048, c.intermediate_size = 11008, c.n_layers = 36, c.n_heads = 16, c.head_dim = 128;
    if (small) c.n_layers = 2, c.vocab_size = 4096;
    if (getenv("RGSD_BENCH_LAYERS")) c.n_layers = atoi(getenv("RGSD_BENCH_LAYERS")); /* profiling runs */
    return c;
}

/* Seconds for one sgemm; the first call warms up. */
static double time_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K) {
    float *a = rg_malloc_aligned(sizeof(float) * (size_t)M * K), *b = rg_malloc_aligned(sizeof(float) * (size_t)K * N),
          *c = rg_malloc_aligned(sizeof(float) * (size_t)M * N);
    for (size_t i = 0; i < (size_t)M * K; i++) a[i] = 0.01f * (float)(i % 7);
    for (size_t i = 0; i < (size_t)K * N; i++) b[i] = 0.01f * (float)(i % 5);
    int lda = ta == CblasNoTrans ? K : M, ldb = tb == CblasNoTrans ? N : K;
    cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, 1, a, lda, b, ldb, 0, c, N);
    double best = 1e30;
    for (int rep = 0; rep < 2; rep++) {
        double t0 = rg_now();
        cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, 1, a, lda, b, ldb, 0, c, N);
        double dt = rg_now() - t0;
        if (dt < best) best = dt;
    }
    rg_free_aligned(a), rg_free_aligned(b), rg_free_aligned(c);
    return best;
}

/* GFLOP/s of the training step's GEMMs: per projection W[out, in] with T rows,
 * y = x W^T [T,out], dx = dy W [T,in], dW = dy^T x [out,in]; counted
 * n_layers times (LM head once). */
static double sgemm_roof(const rg_model_config *c, int T) {
    const int C = c->hidden_size, q = c->n_heads * c->head_dim, kv = c->n_kv_heads * c->head_dim,
              ffn = c->intermediate_size;
    int shapes[][3] = {{q, C, c->n_layers}, {kv, C, 2 * c->n_layers}, {C, q, c->n_layers}, {ffn, C, 2 * c->n_layers},
                       {C, ffn, c->n_layers}, {c->vocab_size, C, 1}};
    double flops = 0, seconds = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int out = shapes[s][0], in = shapes[s][1], count = shapes[s][2];
        double t = time_gemm(CblasNoTrans, CblasTrans, T, out, in) + time_gemm(CblasNoTrans, CblasNoTrans, T, in, out) +
                   time_gemm(CblasTrans, CblasNoTrans, out, in, T);
        flops += count * 3 * 2.0 * T * (double)out * in;
        seconds += count * t;
    }
    return flops / seconds / 1e9;
}

static double torch_tokens_per_s(int T, int small) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 bench/train_torch.py %d %d 2>&1", T, small);
    FILE *p = popen(cmd, "r");
    if (!p) return 0;
    char line[512];
    double tps = 0;
    while (fgets(line, sizeof line, p)) {
        if (sscanf(line, "tokens_per_s %lf", &tps) == 1) continue;
        fputs("  torch: ", stdout);
        fputs(line, stdout);
    }
    pclose(p);
    return tps;
}

/* One example of T tokens, every position a target. */
static void make_example(rg_train_example *ex, int T, int V) {
    ex->T = T;
    ex->ids = malloc(sizeof(int32_t) * (size_t)T);
    ex->loss_positions = malloc(sizeof(int32_t) * (size_t)T);
    for (int t = 0; t < T; t++) ex->ids[t] = (int32_t)((t * 7919u + 13u) % (unsigned)V);
    for (int t = 0; t + 1 < T; t++) ex->loss_positions[t] = t;
    ex->n_loss = T - 1;
}

static int run(int T, int lora_rank, int big, int small, int steps, double *seconds_per_step, size_t *n_params) {
    rg_model_config cfg = qwen_config(small, big);
    rg_model model;
    if (rg_model_alloc(&model, &cfg, lora_rank ? RG_WEIGHTS_BF16 : RG_WEIGHTS_F32) != RG_OK) return RG_ERR;
    rg_model_init_random(&model, 1, 1.0f);
    *n_params = model.n_params + model.n_params_bf16;
    rg_trainer_config tc = {
        .lora_rank = lora_rank, .lora_alpha = 32, .lora_targets = RG_LORA_ALL_MODULES,
        .adam = {.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.01},
        .schedule = {.kind = RG_SCHEDULE_CONSTANT, .lr = 1e-5f}, .max_grad_norm = 1.0f,
        .batch_size = 1, .grad_accum = 1, .seed = 1, .head_chunk = 256,
    };
    rg_trainer t;
    rg_train_example ex;
    make_example(&ex, T, cfg.vocab_size);
    if (rg_trainer_init(&t, &model, &tc, T, 1) != RG_OK) return RG_ERR;
    rg_step_stats st;
    printf("  activations + work buffers: %.2f GB\n", t.acts.n_floats * 4.0 / 1e9);
    double t0 = rg_now();
    if (rg_trainer_step(&t, &ex, &st) != RG_OK) return RG_ERR; /* warm-up: page faults, BLAS buffers */
    if (steps > 0) {
        t0 = rg_now();
        for (int i = 0; i < steps; i++)
            if (rg_trainer_step(&t, &ex, &st) != RG_OK) return RG_ERR;
    }
    *seconds_per_step = (rg_now() - t0) / (steps > 0 ? steps : 1);
    printf("  loss %.4f (random weights), grad norm %.3g\n", st.loss, st.grad_norm);
    rg_trainer_free(&t);
    rg_model_free(&model);
    free(ex.ids);
    free(ex.loss_positions);
    return RG_OK;
}

/* Seconds of forward + CE head (every position) + backward over the 8 sequences,
 * in one packed call (one_call) or one call per sequence; grads zeroed first. */
static double packed_pass(const rg_model *m, rg_train_acts *acts, float *grads, const int32_t *ids,
                          const int32_t *starts, int B, int one_call, int32_t *rows, int32_t *targets) {
    memset(grads, 0, sizeof(float) * m->n_params);
    double t0 = rg_now();
    for (int s = 0; s < (one_call ? 1 : B); s++) {
        int first = one_call ? 0 : starts[s], N = (one_call ? starts[B] : starts[s + 1]) - first, n_rows = 0;
        int32_t one[2] = {0, N};
        for (int b = 0; b < B; b++) /* rows relative to this call's first row; the last of a sequence predicts nothing */
            for (int t = starts[b]; t + 1 < starts[b + 1]; t++)
                if (t >= first && t < first + N) rows[n_rows++] = t - first;
        rg_ce_head head = {.targets = targets + first, .grad_scale = 1.0f / (float)(starts[B] - B)};
        if (rg_train_forward(m, NULL, acts, ids + first, one_call ? starts : one, one_call ? B : 1) != RG_OK ||
            rg_train_head(m, grads, acts, rows, n_rows, rg_ce_head_fn, &head, 1) != RG_OK ||
            rg_train_backward(m, NULL, grads, acts, ids + first) != RG_OK)
            return -1;
    }
    return rg_now() - t0;
}

static int bench_packed(int small) {
    static const int lens_full[8] = {64, 512, 128, 384, 96, 256, 448, 160};
    int lens[8], B = 8, starts[9] = {0};
    for (int s = 0; s < B; s++) lens[s] = small ? lens_full[s] / 8 : lens_full[s];
    for (int s = 0; s < B; s++) starts[s + 1] = starts[s] + lens[s];
    const int N = starts[B];
    rg_model_config cfg = qwen_config(small, 0);
    printf("packed batch: Qwen2.5-0.5B shape%s, full fine-tuning, 8 sequences (%d..%d tokens, N = %d), %d threads\n",
           small ? " (SMALL)" : "", lens[0], lens[1], N, omp_get_max_threads());
    double roof = sgemm_roof(&cfg, N), roof_short = sgemm_roof(&cfg, lens[0]);
    printf("  sgemm roof on the step's GEMM shapes: %.1f GFLOP/s at %d rows, %.1f at %d rows\n", roof, N, roof_short,
           lens[0]);
    rg_model m;
    if (rg_model_alloc(&m, &cfg, RG_WEIGHTS_F32) != RG_OK) return RG_ERR;
    rg_model_init_random(&m, 1, 1.0f);
    rg_train_acts acts;
    float *grads = rg_malloc_aligned(sizeof(float) * m.n_params);
    int32_t *ids = malloc(sizeof(int32_t) * 3 * (size_t)N), *rows = ids + N, *targets = ids + 2 * (size_t)N;
    int32_t starts32[9];
    for (int s = 0; s <= B; s++) starts32[s] = starts[s];
    for (int t = 0; t < N; t++) ids[t] = (int32_t)((t * 7919u + 13u) % (unsigned)cfg.vocab_size);
    for (int t = 0; t + 1 < N; t++) targets[t] = ids[t + 1];
    if (!grads || rg_train_acts_alloc(&acts, &cfg, NULL, N, 256) != RG_OK) return RG_ERR;
    memset(acts.mem, 0, sizeof(float) * acts.n_floats); /* both runs start with every page touched */
    double best_one = 1e30, best_loop = 1e30;
    if (packed_pass(&m, &acts, grads, ids, starts32, B, 1, rows, targets) < 0) return RG_ERR; /* warm-up: BLAS buffers, pages */
    for (int rep = 0; rep < 2; rep++) { /* alternate, so load drift hits both; best of two each */
        double loop = packed_pass(&m, &acts, grads, ids, starts32, B, 0, rows, targets);
        double one = packed_pass(&m, &acts, grads, ids, starts32, B, 1, rows, targets);
        if (loop < 0 || one < 0) return RG_ERR;
        best_loop = loop < best_loop ? loop : best_loop;
        best_one = one < best_one ? one : best_one;
    }
    size_t n = m.n_params;
    double flops = 6.0 * (double)n * N;
    printf("  per-sequence loop (8 calls, B = 1): %.2f s, %.1f tokens/s, %.1f GFLOP/s, %.2f of the roof\n", best_loop,
           N / best_loop, flops / best_loop / 1e9, flops / best_loop / 1e9 / roof);
    printf("  packed (1 call, B = 8):             %.2f s, %.1f tokens/s, %.1f GFLOP/s, %.2f of the roof\n", best_one,
           N / best_one, flops / best_one / 1e9, flops / best_one / 1e9 / roof);
    printf("  packed / per-sequence = %.2fx (target >= 1.3x); peak RSS %.2f GB\n", best_loop / best_one,
           peak_rss_gb());
    rg_train_acts_free(&acts);
    rg_free_aligned(grads);
    free(ids);
    rg_model_free(&m);
    return RG_OK;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* lines as they come: the big runs take minutes */
    const char *kernels = nn_blas_init(); /* also exported to the PyTorch child (OPENBLAS_CORETYPE) */
    const char *mode = argc > 1 ? argv[1] : "step";
    int small = getenv("RGSD_BENCH_SMALL") != NULL;
    double sps;
    size_t n;
    if (strcmp(mode, "packed") == 0) {
        if (bench_packed(small) != RG_OK) printf("error: %s\n", rg_errmsg());
        return 0;
    }
    if (strcmp(mode, "mem-full-1024") == 0 || strcmp(mode, "mem-lora-3b") == 0) {
        int lora = strcmp(mode, "mem-lora-3b") == 0;
        int T = small ? 128 : 1024;
        printf("%s: %s, T = %d, %d threads\n", mode, lora ? "LoRA r16 on a bf16 Qwen2.5-3B-shape base" :
               "full fine-tuning, Qwen2.5-0.5B shape", T, omp_get_max_threads());
        if (run(T, lora ? 16 : 0, lora, small, 0, &sps, &n) != RG_OK) return printf("error: %s\n", rg_errmsg()), 0;
        printf("  %.2fB parameters, step %.1f s, peak RSS %.2f GB (target < %d GB)\n", n / 1e9, sps, peak_rss_gb(),
               lora ? 20 : 16);
        return 0;
    }
    int T = small ? 64 : 512, steps = small ? 2 : 2;
    rg_model_config cfg = qwen_config(small, 0);
    printf("train step: Qwen2.5-0.5B shape%s, full fine-tuning, T = %d, %d threads, OpenBLAS %s kernels\n",
           small ? " (SMALL)" : "", T, omp_get_max_threads(), kernels);
    double roof = sgemm_roof(&cfg, T);
    printf("  sgemm roof on the step's GEMM shapes: %.1f GFLOP/s\n", roof);
    if (run(T, 0, 0, small, steps, &sps, &n) != RG_OK) return printf("error: %s\n", rg_errmsg()), 0;
    double gflops = 6.0 * (double)n * T / sps / 1e9, tps = T / sps;
    printf("  rgsd:  %.2f s/step, %.1f tokens/s, %.1f GFLOP/s (6 N T, N = %.0fM), peak RSS %.2f GB\n", sps, tps, gflops,
           n / 1e6, peak_rss_gb());
    double torch_tps = torch_tokens_per_s(T, small);
    printf("  ratio to sgemm roof: %.2f (target >= 0.50)\n", gflops / roof);
    if (torch_tps > 0)
        printf("  PyTorch: %.1f tokens/s; rgsd / PyTorch = %.2fx (target >= 1.5x)\n", torch_tps, tps / torch_tps);
    else
        printf("  PyTorch: not measured (/usr/bin/python3 with torch missing)\n");
    return 0;
}
