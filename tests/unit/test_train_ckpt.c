/* test_train_ckpt.c — SFT steps, checkpoints, merge and exact resume, on the
 * tiny random models of tests/ref/train_ref.py:
 *   - training drives the loss of a small fixed batch near zero (full, and
 *     LoRA on a bf16 base): from > 2 nats to < 0.05;
 *   - N steps == N/2 steps + save + fresh process state + resume + N/2 steps,
 *     bit for bit (weights, both Adam moments, step, cursor), full and LoRA;
 *   - a saved f32 checkpoint reloads to bit-identical logits; a bf16 one is
 *     stored as BF16 and reloads within bf16 rounding (2e-2 * max |logit|);
 *   - a merged adapter gives the logits of base + adapter (1e-5 * max |logit|),
 *     and the PEFT folder written and read back merges to identical logits;
 *   - damaged or mismatched adapters and train states give clear errors. */
#include "test_util.h"

#include <math.h>
#include <omp.h>

#include "base/error.h"
#include "io/file.h"
#include "io/safetensors.h"
#include "model/forward.h"
#include "model/train.h"
#include "train/checkpoint.h"
#include "train/lora_merge.h"
#include "train/trainer.h"

#define N_EX 5

typedef struct {
    rg_train_example ex[N_EX];
    int32_t ids[N_EX][16];
    int32_t pos[N_EX][16];
} fixed_batch;

static void make_batch(fixed_batch *b, int vocab) {
    uint32_t x = 12345;
    for (int i = 0; i < N_EX; i++) {
        int T = 5 + 2 * i;
        for (int t = 0; t < T; t++) {
            x = x * 1664525u + 1013904223u;
            b->ids[i][t] = (int32_t)((x >> 8) % (uint32_t)vocab);
        }
        int n = 0;
        for (int t = 2; t < T - 1; t++) b->pos[i][n++] = t; /* the first tokens are "prompt" */
        b->ex[i] = (rg_train_example){.ids = b->ids[i], .T = T, .loss_positions = b->pos[i], .n_loss = n};
    }
}

static const char *model_dir(const char *variant) {
    static char buf[2][2048];
    static int which = 0;
    which ^= 1;
    snprintf(buf[which], sizeof buf[which], "%.1000s/train/%.100s", test_ref_dir(), variant);
    return buf[which];
}

#define SKIP_UNLESS_REF()                                                                        \
    do {                                                                                         \
        char probe_[2100];                                                                       \
        snprintf(probe_, sizeof probe_, "%s/config.json", model_dir("qwen3_untied"));            \
        SKIP_UNLESS_FILE(probe_, "training reference models (tests/ref/train_ref.py)");          \
    } while (0)

static rg_trainer_config base_config(int rank, float lr) {
    rg_trainer_config c = {
        .lora_rank = rank, .lora_alpha = 2.0f * (float)rank, .lora_targets = RG_LORA_ALL_MODULES,
        .adam = {.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.01},
        .schedule = {.kind = RG_SCHEDULE_COSINE, .lr = lr, .warmup_steps = 2, .total_steps = 200, .min_ratio = 0.5f},
        .max_grad_norm = 1.0f, .batch_size = 2, .grad_accum = 2, .seed = 11, .head_chunk = 4,
    };
    return c;
}

static double train_steps(rg_trainer *t, const fixed_batch *b, int steps) {
    rg_step_stats st = {0};
    for (int i = 0; i < steps; i++)
        if (rg_trainer_step(t, b->ex, &st) != RG_OK) fail_msg("step %d: %s", i, rg_errmsg());
    return st.loss;
}

static void loss_to_zero(const char *variant, rg_weight_dtype dtype, int rank, float lr, int steps) {
    SKIP_UNLESS_REF();
    rg_model model;
    assert_int_equal(rg_model_load(&model, model_dir(variant), dtype), RG_OK);
    fixed_batch b;
    make_batch(&b, model.cfg.vocab_size);
    rg_trainer_config cfg = base_config(rank, lr);
    cfg.batch_size = N_EX;
    cfg.grad_accum = 1;
    cfg.schedule.kind = RG_SCHEDULE_CONSTANT;
    cfg.adam.weight_decay = 0;
    rg_trainer t;
    assert_int_equal(rg_trainer_init(&t, &model, &cfg, 16, N_EX), RG_OK);
    double first = train_steps(&t, &b, 1);
    double last = train_steps(&t, &b, steps - 1);
    fprintf(stderr, "%s %s: loss %.4f -> %.5f after %d steps\n", variant, rank ? "LoRA" : "full", first, last, steps);
    assert_true(first > 2.0);
    assert_true(last < 0.05);
    rg_trainer_free(&t);
    rg_model_free(&model);
}

static void test_loss_to_zero_full(void **s) { (void)s; loss_to_zero("qwen3_untied", RG_WEIGHTS_F32, 0, 5e-3f, 40); }
static void test_loss_to_zero_lora_bf16(void **s) {
    (void)s;
    loss_to_zero("qwen2_tied_bf16", RG_WEIGHTS_BF16, 8, 2e-2f, 100);
}

static void resume_exact(const char *variant, rg_weight_dtype dtype, int rank) {
    SKIP_UNLESS_REF();
    const int N = 6;
    char *tmp = test_tmpdir();
    char ckpt[200];
    snprintf(ckpt, sizeof ckpt, "%s/ckpt", tmp);
    fixed_batch b;
    /* A: N steps straight */
    rg_model ma;
    assert_int_equal(rg_model_load(&ma, model_dir(variant), dtype), RG_OK);
    make_batch(&b, ma.cfg.vocab_size);
    rg_trainer_config cfg = base_config(rank, rank ? 5e-3f : 1e-3f);
    rg_trainer a;
    assert_int_equal(rg_trainer_init(&a, &ma, &cfg, 16, N_EX), RG_OK);
    train_steps(&a, &b, N);
    /* B: N/2, save, everything freed, reload, resume, N/2 */
    rg_model mb;
    assert_int_equal(rg_model_load(&mb, model_dir(variant), dtype), RG_OK);
    rg_trainer bt;
    assert_int_equal(rg_trainer_init(&bt, &mb, &cfg, 16, N_EX), RG_OK);
    train_steps(&bt, &b, N / 2);
    if (rg_trainer_save(&bt, model_dir(variant), ckpt, RG_BF16, "metrics.jsonl", "{}\n") != RG_OK)
        fail_msg("%s", rg_errmsg());
    rg_trainer_free(&bt);
    rg_model_free(&mb);
    assert_int_equal(rg_model_load(&mb, model_dir(variant), dtype), RG_OK);
    assert_int_equal(rg_trainer_init(&bt, &mb, &cfg, 16, N_EX), RG_OK);
    if (rg_trainer_resume(&bt, ckpt) != RG_OK) fail_msg("%s", rg_errmsg());
    assert_int_equal(bt.step, N / 2);
    train_steps(&bt, &b, N - N / 2);
    assert_int_equal(bt.step, a.step);
    assert_true(bt.cursor == a.cursor);
    assert_true(a.cursor > (uint64_t)N_EX); /* the data order wrapped into a second epoch */
    assert_int_equal(bt.n_trainable, a.n_trainable);
    assert_memory_equal(bt.trainable, a.trainable, sizeof(float) * a.n_trainable);
    assert_memory_equal(bt.opt.m, a.opt.m, sizeof(float) * a.n_trainable);
    assert_memory_equal(bt.opt.v, a.opt.v, sizeof(float) * a.n_trainable);
    /* and training really changed the weights */
    rg_model fresh;
    assert_int_equal(rg_model_load(&fresh, model_dir(variant), dtype), RG_OK);
    if (!rank) assert_true(memcmp(fresh.params, a.trainable, sizeof(float) * a.n_trainable) != 0);
    rg_model_free(&fresh);
    rg_trainer_free(&a);
    rg_trainer_free(&bt);
    rg_model_free(&ma);
    rg_model_free(&mb);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    assert_int_equal(system(cmd), 0);
    free(tmp);
}

static void test_resume_full(void **s) { (void)s; resume_exact("llama3_scaled", RG_WEIGHTS_F32, 0); }
static void test_resume_lora_bf16(void **s) { (void)s; resume_exact("qwen2_tied_bf16", RG_WEIGHTS_BF16, 4); }

/* Logits of every position through the training forward (adapters as set). */
typedef struct {
    float *out;
    int V;
} capture;
static int capture_fn(void *ctx, const int32_t *positions, int n, float *logits, int V) {
    capture *c = ctx;
    for (int i = 0; i < n; i++) memcpy(c->out + (size_t)positions[i] * V, logits + (size_t)i * V, sizeof(float) * V);
    return RG_OK;
}
static void train_logits(const rg_model *m, const rg_lora *lora, const int32_t *ids, int T, float *out) {
    rg_train_acts acts;
    assert_int_equal(rg_train_acts_alloc(&acts, &m->cfg, lora, T, 3), RG_OK);
    assert_int_equal(rg_train_forward(m, lora, &acts, ids, (int32_t[]){0, T}, 1), RG_OK);
    int32_t pos[64];
    for (int t = 0; t < T; t++) pos[t] = t;
    capture c = {out, m->cfg.vocab_size};
    assert_int_equal(rg_train_head(m, NULL, &acts, pos, T, capture_fn, &c, 0), RG_OK);
    rg_train_acts_free(&acts);
}

static float max_abs(const float *x, size_t n) {
    float m = 0;
    for (size_t i = 0; i < n; i++) m = fmaxf(m, fabsf(x[i]));
    return m;
}

static void test_checkpoint_reload(void **s) {
    (void)s;
    SKIP_UNLESS_REF();
    const char *variant = "qwen3_untied";
    rg_model m;
    assert_int_equal(rg_model_load(&m, model_dir(variant), RG_WEIGHTS_F32), RG_OK);
    fixed_batch b;
    make_batch(&b, m.cfg.vocab_size);
    rg_trainer_config cfg = base_config(0, 1e-3f);
    rg_trainer t;
    assert_int_equal(rg_trainer_init(&t, &m, &cfg, 16, N_EX), RG_OK);
    train_steps(&t, &b, 3);
    char *tmp = test_tmpdir();
    char f32dir[200], bf16dir[200];
    snprintf(f32dir, sizeof f32dir, "%s/f32", tmp);
    snprintf(bf16dir, sizeof bf16dir, "%s/bf16", tmp);
    assert_int_equal(rg_trainer_save(&t, model_dir(variant), f32dir, RG_F32, NULL, NULL), RG_OK);
    assert_int_equal(rg_trainer_save(&t, model_dir(variant), bf16dir, RG_BF16, NULL, NULL), RG_OK);
    const int T = b.ex[4].T, V = m.cfg.vocab_size;
    float *want = malloc(sizeof(float) * (size_t)T * V), *got = malloc(sizeof(float) * (size_t)T * V);
    assert_int_equal(rg_model_forward(&m, b.ex[4].ids, T, want), RG_OK);
    rg_model r;
    assert_int_equal(rg_model_load(&r, f32dir, RG_WEIGHTS_F32), RG_OK);
    assert_int_equal(rg_model_forward(&r, b.ex[4].ids, T, got), RG_OK);
    assert_memory_equal(got, want, sizeof(float) * (size_t)T * V);
    rg_model_free(&r);
    /* bf16: stored as BF16, reloads within bf16 rounding */
    rg_st_file f;
    char st[300];
    snprintf(st, sizeof st, "%s/model.safetensors", bf16dir);
    assert_int_equal(rg_st_open(&f, st), RG_OK);
    assert_int_equal(rg_st_find(&f, "model.norm.weight")->dtype, RG_BF16);
    assert_null(rg_st_find(&f, "trainable")); /* the state is its own file */
    rg_st_close(&f);
    assert_int_equal(rg_model_load(&r, bf16dir, RG_WEIGHTS_F32), RG_OK);
    assert_int_equal(rg_model_forward(&r, b.ex[4].ids, T, got), RG_OK);
    float scale = max_abs(want, (size_t)T * V), worst = 0;
    for (size_t i = 0; i < (size_t)T * V; i++) worst = fmaxf(worst, fabsf(got[i] - want[i]));
    assert_true(worst <= 2e-2f * scale);
    rg_model_free(&r);
    free(want);
    free(got);
    rg_trainer_free(&t);
    rg_model_free(&m);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    assert_int_equal(system(cmd), 0);
    free(tmp);
}

static void test_merge_matches_adapter(void **s) {
    (void)s;
    SKIP_UNLESS_REF();
    const char *variant = "llama_tied_mqa";
    rg_model m;
    assert_int_equal(rg_model_load(&m, model_dir(variant), RG_WEIGHTS_F32), RG_OK);
    fixed_batch b;
    make_batch(&b, m.cfg.vocab_size);
    rg_trainer_config cfg = base_config(4, 1e-2f);
    cfg.lora_targets = (1u << RG_LORA_Q) | (1u << RG_LORA_V) | (1u << RG_LORA_DOWN);
    rg_trainer t;
    assert_int_equal(rg_trainer_init(&t, &m, &cfg, 16, N_EX), RG_OK);
    train_steps(&t, &b, 4);
    const int T = b.ex[3].T, V = m.cfg.vocab_size;
    float *with_adapter = malloc(sizeof(float) * (size_t)T * V), *merged = malloc(sizeof(float) * (size_t)T * V);
    float *reloaded = malloc(sizeof(float) * (size_t)T * V), *base = malloc(sizeof(float) * (size_t)T * V);
    train_logits(&m, &t.lora, b.ex[3].ids, T, with_adapter);
    assert_int_equal(rg_model_forward(&m, b.ex[3].ids, T, base), RG_OK);
    char *tmp = test_tmpdir();
    char adir[200];
    snprintf(adir, sizeof adir, "%s/adapter", tmp);
    assert_int_equal(rg_trainer_save(&t, model_dir(variant), adir, RG_F32, NULL, NULL), RG_OK);
    assert_int_equal(rg_lora_merge(&t.lora, &m), RG_OK);
    assert_int_equal(rg_model_forward(&m, b.ex[3].ids, T, merged), RG_OK);
    float scale = max_abs(with_adapter, (size_t)T * V), worst = 0, moved = 0;
    for (size_t i = 0; i < (size_t)T * V; i++) {
        worst = fmaxf(worst, fabsf(merged[i] - with_adapter[i]));
        moved = fmaxf(moved, fabsf(base[i] - with_adapter[i]));
    }
    fprintf(stderr, "merge vs adapter forward: max |diff| %.2e (scale %.2f); adapter moved logits by %.3f\n", worst,
            scale, moved);
    assert_true(worst <= 1e-5f * scale);
    assert_true(moved > 1e-2f); /* the adapter is not a no-op */
    rg_model r;
    if (rg_model_load_adapted(&r, model_dir(variant), adir) != RG_OK) fail_msg("%s", rg_errmsg());
    assert_int_equal(rg_model_forward(&r, b.ex[3].ids, T, reloaded), RG_OK);
    assert_memory_equal(reloaded, merged, sizeof(float) * (size_t)T * V);
    rg_model_free(&r);
    free(with_adapter);
    free(merged);
    free(reloaded);
    free(base);
    rg_trainer_free(&t);
    rg_model_free(&m);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    assert_int_equal(system(cmd), 0);
    free(tmp);
}

static void write_text(const char *dir, const char *name, const char *text) {
    char p[400];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    assert_int_equal(rg_write_file_atomic(p, text, strlen(text)), RG_OK);
}

static void expect_peft_error(const rg_model_config *cfg, const char *dir, const char *fragment) {
    rg_lora l;
    if (rg_peft_load(&l, cfg, dir) == RG_OK) fail_msg("adapter %s loaded; expected an error with '%s'", dir, fragment);
    if (!strstr(rg_errmsg(), fragment)) fail_msg("error '%s' lacks '%s'", rg_errmsg(), fragment);
}

/* Replaces `from` by `to` in the JSON header of a safetensors file (the
 * length prefix follows; data offsets are relative to the buffer). */
static void patch_header(const char *path, const char *from, const char *to) {
    char *bytes;
    size_t len;
    assert_int_equal(rg_read_file(path, &bytes, &len), RG_OK);
    uint64_t n;
    memcpy(&n, bytes, 8);
    char *header = strndup(bytes + 8, (size_t)n);
    char *at = strstr(header, from);
    assert_non_null(at);
    FILE *f = fopen(path, "wb");
    uint64_t m = n - strlen(from) + strlen(to);
    fwrite(&m, 8, 1, f);
    fwrite(header, 1, (size_t)(at - header), f);
    fputs(to, f);
    fputs(at + strlen(from), f);
    fwrite(bytes + 8 + n, 1, len - 8 - (size_t)n, f);
    fclose(f);
    free(header);
    free(bytes);
}

static void test_bad_adapters_and_states(void **s) {
    (void)s;
    SKIP_UNLESS_REF();
    rg_model q2, q3;
    assert_int_equal(rg_model_load(&q2, model_dir("qwen2_tied"), RG_WEIGHTS_F32), RG_OK);
    assert_int_equal(rg_model_load(&q3, model_dir("qwen3_untied"), RG_WEIGHTS_F32), RG_OK);
    char *tmp = test_tmpdir();
    char dir[300];
    /* a good adapter of q2: q_proj only */
    rg_lora l;
    assert_int_equal(rg_lora_init(&l, &q2.cfg, 2, 4.0f, 1u << RG_LORA_Q), RG_OK);
    rg_lora_init_weights(&l, 1);
    snprintf(dir, sizeof dir, "%s/a", tmp);
    assert_int_equal(rg_mkdir_p(dir), RG_OK);
    assert_int_equal(rg_peft_save(&l, dir, "base"), RG_OK);
    rg_lora back;
    assert_int_equal(rg_peft_load(&back, &q2.cfg, dir), RG_OK);
    assert_memory_equal(back.params, l.params, sizeof(float) * l.n_params);
    rg_lora_free(&back);
    /* wrong base: qwen3 has other projection shapes (head_dim 16) */
    expect_peft_error(&q3.cfg, dir, "a wrong rank or a different base model");
    /* wrong rank in the config */
    write_text(dir, "adapter_config.json",
               "{\"peft_type\":\"LORA\",\"r\":4,\"lora_alpha\":8,\"target_modules\":[\"q_proj\"]}");
    expect_peft_error(&q2.cfg, dir, "wrong rank");
    /* a module with no tensors */
    write_text(dir, "adapter_config.json",
               "{\"peft_type\":\"LORA\",\"r\":2,\"lora_alpha\":4,\"target_modules\":[\"q_proj\",\"v_proj\"]}");
    expect_peft_error(&q2.cfg, dir, "self_attn.v_proj.lora_A.weight is missing");
    /* unsupported settings and types */
    write_text(dir, "adapter_config.json", "{\"peft_type\":\"IA3\",\"r\":2,\"lora_alpha\":4,\"target_modules\":[\"q_proj\"]}");
    expect_peft_error(&q2.cfg, dir, "peft_type");
    write_text(dir, "adapter_config.json",
               "{\"peft_type\":\"LORA\",\"r\":2,\"lora_alpha\":4,\"use_rslora\":true,\"target_modules\":[\"q_proj\"]}");
    expect_peft_error(&q2.cfg, dir, "use_rslora");
    write_text(dir, "adapter_config.json",
               "{\"peft_type\":\"LORA\",\"r\":2,\"lora_alpha\":4,\"target_modules\":[\"lm_head\"]}");
    expect_peft_error(&q2.cfg, dir, "lm_head");
    write_text(dir, "adapter_config.json", "{\"peft_type\":\"LORA\",");
    expect_peft_error(&q2.cfg, dir, "adapter_config.json");
    /* truncated tensors file */
    write_text(dir, "adapter_config.json",
               "{\"peft_type\":\"LORA\",\"r\":2,\"lora_alpha\":4,\"target_modules\":[\"q_proj\"]}");
    char st[400];
    snprintf(st, sizeof st, "%s/adapter_model.safetensors", dir);
    assert_int_equal(truncate(st, 100), 0);
    expect_peft_error(&q2.cfg, dir, "adapter_model.safetensors");
    /* no folder at all */
    expect_peft_error(&q2.cfg, "/nonexistent/adapter", "adapter_config.json");
    rg_lora_free(&l);
    /* numbers out of range, booleans that are strings */
    snprintf(dir, sizeof dir, "%s/n", tmp);
    assert_int_equal(rg_mkdir_p(dir), RG_OK);
    assert_int_equal(rg_lora_init(&l, &q2.cfg, 2, 4.0f, 1u << RG_LORA_Q), RG_OK);
    rg_lora_init_weights(&l, 1);
    assert_int_equal(rg_peft_save(&l, dir, "base"), RG_OK);
    write_text(dir, "adapter_config.json",
               "{\"peft_type\":\"LORA\",\"r\":2,\"lora_alpha\":1e39,\"target_modules\":[\"q_proj\"]}");
    expect_peft_error(&q2.cfg, dir, "lora_alpha");
    write_text(dir, "adapter_config.json",
               "{\"peft_type\":\"LORA\",\"r\":2,\"lora_alpha\":1e999,\"target_modules\":[\"q_proj\"]}");
    expect_peft_error(&q2.cfg, dir, "lora_alpha");
    write_text(dir, "adapter_config.json",
               "{\"peft_type\":\"LORA\",\"r\":2,\"lora_alpha\":4,\"use_dora\":\"true\",\"target_modules\":[\"q_proj\"]}");
    expect_peft_error(&q2.cfg, dir, "\"use_dora\" must be true or false");
    write_text(dir, "adapter_config.json",
               "{\"peft_type\":\"LORA\",\"r\":2,\"lora_alpha\":4,\"use_dora\":false,\"target_modules\":[\"q_proj\"]}");
    rg_lora ok;
    assert_int_equal(rg_peft_load(&ok, &q2.cfg, dir), RG_OK);
    rg_lora_free(&ok);
    /* a sane alpha with huge adapter values: the merge overflows, and says so */
    for (size_t i = 0; i < l.n_params; i++) l.params[i] = 1e30f;
    l.alpha = 1000.0f;
    l.scaling = 500.0f;
    assert_int_equal(rg_peft_save(&l, dir, "base"), RG_OK);
    rg_model merged;
    assert_int_equal(rg_model_load_adapted(&merged, model_dir("qwen2_tied"), dir), RG_ERR);
    if (!strstr(rg_errmsg(), "inf or NaN")) fail_msg("merge error '%s'", rg_errmsg());
    rg_lora_free(&l);

    /* train states: LoRA state into a full run, another rank, a corrupt file */
    fixed_batch b;
    make_batch(&b, q2.cfg.vocab_size);
    rg_trainer_config cfg = base_config(2, 1e-3f);
    rg_trainer t;
    assert_int_equal(rg_trainer_init(&t, &q2, &cfg, 16, N_EX), RG_OK);
    train_steps(&t, &b, 1);
    snprintf(dir, sizeof dir, "%s/state", tmp);
    assert_int_equal(rg_trainer_save(&t, model_dir("qwen2_tied"), dir, RG_F32, NULL, NULL), RG_OK);
    rg_trainer_free(&t);
    cfg = base_config(0, 1e-3f);
    assert_int_equal(rg_trainer_init(&t, &q2, &cfg, 16, N_EX), RG_OK);
    assert_int_equal(rg_trainer_resume(&t, dir), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "trained with lora"));
    rg_trainer_free(&t);
    cfg = base_config(3, 1e-3f);
    assert_int_equal(rg_trainer_init(&t, &q2, &cfg, 16, N_EX), RG_OK);
    assert_int_equal(rg_trainer_resume(&t, dir), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "LoRA rank 2"));
    rg_trainer_free(&t);
    cfg = base_config(2, 1e-3f);
    cfg.seed = 99;
    assert_int_equal(rg_trainer_init(&t, &q2, &cfg, 16, N_EX), RG_OK);
    assert_int_equal(rg_trainer_resume(&t, dir), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "--seed"));
    rg_trainer_free(&t);
    /* "step": "-1" was read as 2^64 - 1 */
    cfg = base_config(2, 1e-3f);
    assert_int_equal(rg_trainer_init(&t, &q2, &cfg, 16, N_EX), RG_OK);
    snprintf(st, sizeof st, "%s/train_state.safetensors", dir);
    patch_header(st, "\"step\":\"1\"", "\"step\":\"-1\"");
    assert_int_equal(rg_trainer_resume(&t, dir), RG_ERR);
    if (!strstr(rg_errmsg(), "\"step\" must be a non-negative integer")) fail_msg("'%s'", rg_errmsg());
    patch_header(st, "\"step\":\"-1\"", "\"step\":\"99999999999999999999999\"");
    assert_int_equal(rg_trainer_resume(&t, dir), RG_ERR);
    if (!strstr(rg_errmsg(), "\"step\" must be a non-negative integer")) fail_msg("'%s'", rg_errmsg());
    patch_header(st, "\"step\":\"99999999999999999999999\"", "\"step\":\"18446744073709551615\"");
    assert_int_equal(rg_trainer_resume(&t, dir), RG_ERR);
    if (!strstr(rg_errmsg(), "out of range")) fail_msg("'%s'", rg_errmsg());
    patch_header(st, "\"step\":\"18446744073709551615\"", "\"step\":\"1\"");
    assert_int_equal(rg_trainer_resume(&t, dir), RG_OK);
    assert_int_equal(truncate(st, 64), 0);
    assert_int_equal(rg_trainer_resume(&t, dir), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "train_state.safetensors"));
    assert_int_equal(rg_trainer_resume(&t, "/nonexistent/run"), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "--resume"));
    rg_trainer_free(&t);

    rg_model_free(&q2);
    rg_model_free(&q3);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    assert_int_equal(system(cmd), 0);
    free(tmp);
}

int main(void) {
    /* Tiny shapes: threads only add synchronisation (and slow a loaded machine). */
    omp_set_num_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loss_to_zero_full),   cmocka_unit_test(test_loss_to_zero_lora_bf16),
        cmocka_unit_test(test_resume_full),         cmocka_unit_test(test_resume_lora_bf16),
        cmocka_unit_test(test_checkpoint_reload),   cmocka_unit_test(test_merge_matches_adapter),
        cmocka_unit_test(test_bad_adapters_and_states),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
