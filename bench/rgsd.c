/* bench/rgsd.c — one RGSD step next to one GRPO-shaped step on the same
 * model and prompts, in the same run: seconds per step split by phase.
 *
 *   RGSD  (1 rollout per prompt): generation, teacher forward over the
 *         teacher prompt + y, student forward + JSD head, backward, AdamW.
 *   GRPO  (G = 8 rollouts per prompt, no judge): generation of all 8 G,
 *         the frozen reference's forward over prompt + y (the KL term), the
 *         policy's forward + token-level head, backward, AdamW. The judge is
 *         left out (it would only add to GRPO). The clipped-surrogate head
 *         has the cost of the cross-entropy head used here (one softmax per
 *         position); rollout-time log-probs come from generation.
 * Random Qwen2-like model (no end token: every rollout runs to max_new, so
 * both sides generate the same lengths). Prints ratios; never fails.
 *   build/bench/rgsd [HIDDEN LAYERS VOCAB PROMPTS MAX_NEW TEACHER_PROMPT]  (RGSD_BENCH_SMALL=1: tiny)
 * The teacher prompt (default 112 tokens, the student's 48) carries the
 * rubric; at equal lengths the training passes cost exactly 1/G of GRPO's.
 *   build/bench/rgsd packed [HIDDEN LAYERS VOCAB]  the training passes of an RGSD step (teacher forward +
 *         head, student forward + JSD head, backward: rg_rgsd_accumulate) over 16 prompts with mixed
 *         response lengths (16..max), packed into one micro-batch against one sequence per
 *         micro-batch (--max-batch-tokens 1), same model and sequences, same run; full fine-tuning
 *         and LoRA r 16 on a bf16 base. Generation and AdamW do not depend on packing and are left out. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/rng.h"
#include "base/timer.h"
#include "model/generate.h"
#include "model/train.h"
#include "nn/nn.h"
#include "rgsd/rgsd_run.h"
#include "train/trainer.h"

#define G 8

typedef struct {
    double gen_s, ref_s, fwd_s, bwd_s, opt_s, total_s;
} phases;

static void print_phases(const char *name, const phases *p) {
    printf("  %-5s %7.2f s/step = generation %6.2f + teacher/reference %6.2f + student/policy fwd %6.2f + backward "
           "%6.2f + optimizer %5.2f\n",
           name, p->total_s, p->gen_s, p->ref_s, p->fwd_s, p->bwd_s, p->opt_s);
}

static int grpo_step(rg_trainer *t, const rg_model *reference, const rg_rgsd_data *data, int n_prompts, int max_new,
                     phases *ph) {
    int n = n_prompts * G;
    const int32_t **prompts = calloc((size_t)n, sizeof *prompts);
    int *lens = calloc((size_t)n, sizeof *lens);
    rg_gen_result *res = calloc((size_t)n, sizeof *res);
    double *logp = malloc(sizeof(double) * (size_t)(max_new + 1));
    for (int i = 0; i < n; i++) {
        prompts[i] = data->prompts[i / G].student_prompt;
        lens[i] = data->prompts[i / G].student_prompt_len;
    }
    rg_gen_options gen = {.max_new = max_new, .sample = {.temperature = 1.0f, .top_p = 1.0f}, .seed = 5, .batch = 8};
    double t0 = rg_now();
    if (rg_generate(t->model, n, prompts, lens, &gen, res, NULL, NULL) != RG_OK) return RG_ERR;
    ph->gen_s = rg_now() - t0;
    long tokens = 0;
    for (int i = 0; i < n; i++) tokens += res[i].n_tokens;
    memset(t->trainable_grads, 0, sizeof(float) * t->n_trainable);
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)(t->acts.max_tokens + 1));
    int32_t *pos = malloc(sizeof(int32_t) * (size_t)(max_new + 1));
    for (int i = 0; i < n; i++) {
        const rg_gen_result *r = &res[i];
        if (r->n_tokens < 1) continue;
        double a = rg_now();
        if (rg_rgsd_response_logprobs(reference, &t->acts, prompts[i], lens[i], r->tokens, r->n_tokens, logp) != RG_OK)
            return RG_ERR;
        double b = rg_now();
        memcpy(ids, prompts[i], sizeof(int32_t) * (size_t)lens[i]);
        memcpy(ids + lens[i], r->tokens, sizeof(int32_t) * (size_t)r->n_tokens);
        int T = lens[i] + r->n_tokens - 1;
        for (int k = 0; k < r->n_tokens; k++) pos[k] = lens[i] - 1 + k;
        rg_ce_head head = {.targets = ids + 1, .grad_scale = 1.0f / (float)tokens};
        if (rg_train_forward(t->model, NULL, &t->acts, ids, (int32_t[]){0, T}, 1) != RG_OK ||
            rg_train_head(t->model, t->grads, &t->acts, pos, r->n_tokens, rg_ce_head_fn, &head, 1) != RG_OK)
            return RG_ERR;
        double c = rg_now();
        if (rg_train_backward(t->model, NULL, t->grads, &t->acts, ids) != RG_OK) return RG_ERR;
        double d = rg_now();
        ph->ref_s += b - a, ph->fwd_s += c - b, ph->bwd_s += d - c;
    }
    double e = rg_now();
    rg_step_stats st = {0};
    if (rg_trainer_apply(t, n_prompts, &st) != RG_OK) return RG_ERR;
    ph->opt_s = rg_now() - e;
    ph->total_s = rg_now() - t0;
    rg_gen_results_free(res, n);
    free(res), free(prompts), free(lens), free(logp), free(ids), free(pos);
    return RG_OK;
}

/* Seconds of the best of reps rg_rgsd_accumulate calls with this token budget; lora_rank > 0: LoRA on
 * the student's (bf16) weights, the teacher the same weights with the adapters off (teacher NULL). */
static double accumulate_s(rg_model *student, const rg_model *teacher, const rg_rgsd_sequence *seqs, int n,
                           int budget, int max_T, int reps, int lora_rank) {
    rg_trainer_config tc = {.adam = {.beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f}, .schedule = {.lr = 1e-5f},
                            .batch_size = n, .grad_accum = 1, .head_chunk = 256, .max_batch_tokens = budget,
                            .lora_rank = lora_rank, .lora_alpha = 2.0f * lora_rank, .lora_targets = RG_LORA_ALL_MODULES};
    rg_trainer tr;
    if (rg_trainer_init(&tr, student, &tc, max_T, n) != RG_OK) return -1;
    float *logits = malloc(sizeof(float) * rg_rgsd_teacher_floats(student, tr.acts.max_tokens));
    nn_jsd_config jsd = {.beta = 0.5f};
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        rg_rgsd_stats st = {0};
        memset(tr.trainable_grads, 0, sizeof(float) * tr.n_trainable);
        double t0 = rg_now();
        if (rg_rgsd_accumulate(&tr, teacher, &jsd, seqs, n, logits, &st) != RG_OK) return -1;
        double dt = rg_now() - t0;
        best = dt < best ? dt : best;
    }
    free(logits);
    rg_trainer_free(&tr);
    return best;
}

static int bench_packed(rg_model *student, const rg_model *teacher, rg_model *lora_base, const rg_rgsd_data *data,
                        int max_new) {
    enum { N_PROMPTS = 16 };
    rg_rgsd_sequence seqs[N_PROMPTS];
    rg_rng rng;
    rg_rng_seed(&rng, 9);
    long tokens = 0;
    int max_T = 0;
    for (int i = 0; i < N_PROMPTS; i++) {
        const rg_rgsd_prompt *p = &data->prompts[i];
        int len = 16 + (int)rg_rng_below(&rng, (uint64_t)(max_new - 15)); /* mixed: 16..max_new */
        int32_t *y = malloc(sizeof(int32_t) * (size_t)len);
        for (int k = 0; k < len; k++) y[k] = (int32_t)rg_rng_below(&rng, (uint64_t)student->cfg.vocab_size);
        seqs[i] = (rg_rgsd_sequence){.student_prompt = p->student_prompt, .student_prompt_len = p->student_prompt_len,
                                     .teacher_prompt = p->teacher_prompt, .teacher_prompt_len = p->teacher_prompt_len,
                                     .response = y, .response_len = len};
        tokens += p->student_prompt_len + p->teacher_prompt_len + 2 * (len - 1);
        if (p->teacher_prompt_len + len > max_T) max_T = p->teacher_prompt_len + len;
    }
    int packed_budget = (int)tokens; /* every sequence in one micro-batch per side */
    printf("  RGSD training passes, 16 prompts, responses 16..%d tokens (%ld tokens through both forwards):\n",
           max_new, tokens);
    /* full fine-tuning (f32 student, bf16 teacher copy: rgsd train's default), then LoRA r 16 on a bf16 base */
    for (int lora = 0; lora < 2; lora++) {
        rg_model *s = lora ? lora_base : student;
        const rg_model *te = lora ? NULL : teacher;
        int rank = lora ? 16 : 0;
        accumulate_s(s, te, seqs, N_PROMPTS, packed_budget, max_T, 1, rank); /* warm-up: pages, BLAS buffers */
        double loop = accumulate_s(s, te, seqs, N_PROMPTS, 1, max_T, 2, rank);
        double one = accumulate_s(s, te, seqs, N_PROMPTS, packed_budget, max_T, 2, rank);
        if (loop < 0 || one < 0) return RG_ERR;
        printf("  %s:\n", lora ? "LoRA r 16 on a bf16 base (teacher: the base, adapters off)"
                               : "full fine-tuning (f32 student, bf16 teacher copy)");
        printf("    one sequence per micro-batch: %.2f s, %.1f tokens/s\n", loop, tokens / loop);
        printf("    packed (one micro-batch):     %.2f s, %.1f tokens/s\n", one, tokens / one);
        printf("    packed / per-sequence = %.2fx (target >= 1.3x)\n", loop / one);
    }
    for (int i = 0; i < N_PROMPTS; i++) free((void *)seqs[i].response);
    return RG_OK;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *kernels = nn_blas_init();
    int packed = argc > 1 && strcmp(argv[1], "packed") == 0;
    if (packed) argc--, argv++;
    int small = getenv("RGSD_BENCH_SMALL") != NULL;
    int hidden = argc > 1 ? atoi(argv[1]) : (small ? 64 : 512);
    int layers = argc > 2 ? atoi(argv[2]) : (small ? 2 : 4);
    int vocab = argc > 3 ? atoi(argv[3]) : (small ? 512 : 16384);
    int n_prompts = packed ? 16 : argc > 4 ? atoi(argv[4]) : (small ? 2 : 8);
    int max_new = packed ? (small ? 32 : 256) : argc > 5 ? atoi(argv[5]) : (small ? 16 : 64);
    int prompt_len = 48, teacher_len = argc > 6 ? atoi(argv[6]) : 112; /* the rubric makes the teacher's prompt longer */
    rg_model_config c = {0};
    c.arch = RG_ARCH_QWEN2;
    c.hidden_size = hidden, c.intermediate_size = 3 * hidden, c.n_layers = layers, c.n_heads = hidden / 64 > 0 ? hidden / 64 : 1;
    c.n_kv_heads = c.n_heads > 1 ? c.n_heads / 2 : 1, c.head_dim = 64, c.vocab_size = vocab, c.max_position = 4096;
    c.rms_norm_eps = 1e-6f, c.rope_theta = 1e6, c.qkv_bias = 1, c.tie_word_embeddings = 1, c.bos_id = -1;
    printf("rgsd step vs GRPO-shaped step (G = %d, no judge): hidden %d, %d layers, vocab %d, %d prompts of %d tokens "
           "(teacher prompt %d), %d new tokens, %d threads, OpenBLAS %s kernels\n",
           G, hidden, layers, vocab, n_prompts, prompt_len, teacher_len, max_new, omp_get_max_threads(), kernels);
    rg_model student, teacher;
    if (rg_model_alloc(&student, &c, RG_WEIGHTS_F32) != RG_OK || rg_model_alloc(&teacher, &c, RG_WEIGHTS_BF16) != RG_OK)
        return printf("error: %s\n", rg_errmsg()), 0;
    rg_model_init_random(&student, 1, 1.0f);
    rg_model_init_random(&teacher, 1, 1.0f);
    rg_rgsd_data data = {0};
    data.n = n_prompts;
    data.prompts = calloc((size_t)n_prompts, sizeof *data.prompts);
    rg_rng rng;
    rg_rng_seed(&rng, 3);
    for (int i = 0; i < n_prompts; i++) {
        rg_rgsd_prompt *p = &data.prompts[i];
        p->student_prompt = malloc(sizeof(int32_t) * prompt_len);
        p->teacher_prompt = malloc(sizeof(int32_t) * teacher_len);
        for (int k = 0; k < prompt_len; k++) p->student_prompt[k] = (int32_t)rg_rng_below(&rng, (uint64_t)vocab);
        for (int k = 0; k < teacher_len; k++) p->teacher_prompt[k] = (int32_t)rg_rng_below(&rng, (uint64_t)vocab);
        p->student_prompt_len = prompt_len, p->teacher_prompt_len = teacher_len;
    }
    data.max_prompt_len = teacher_len;
    if (packed) {
        rg_model lora_base;
        if (rg_model_alloc(&lora_base, &c, RG_WEIGHTS_BF16) != RG_OK) return printf("error: %s\n", rg_errmsg()), 0;
        rg_model_init_random(&lora_base, 1, 1.0f);
        if (bench_packed(&student, &teacher, &lora_base, &data, max_new) != RG_OK) printf("error: %s\n", rg_errmsg());
        return 0;
    }
    rg_trainer_config tc = {.adam = {.beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f},
                            .schedule = {.lr = 1e-5f, .total_steps = 100}, .max_grad_norm = 1.0f,
                            .batch_size = n_prompts, .grad_accum = 1, .head_chunk = 256};
    rg_trainer tr;
    if (rg_trainer_init(&tr, &student, &tc, teacher_len + max_new + 1, n_prompts) != RG_OK)
        return printf("error: %s\n", rg_errmsg()), 0;
    rg_rgsd_config rc = {.jsd = {.beta = 0.5f},
                         .gen = {.max_new = max_new, .sample = {.temperature = 1.0f, .top_p = 1.0f}, .seed = 5, .batch = 8,
                                 .context = prompt_len + max_new}, /* the run's KV cache: as rgsd train sizes it */
                         .think_open = -1, .think_close = -1, .end_token = -1};
    rg_rgsd_run run;
    if (rg_rgsd_run_init(&run, &tr, &teacher, &rc) != RG_OK) return printf("error: %s\n", rg_errmsg()), 0;
    phases best_rgsd = {1e30, 0, 0, 0, 0, 1e30}, best_grpo = {1e30, 0, 0, 0, 0, 1e30};
    for (int rep = 0; rep < 2; rep++) { /* best of 2: the machine is shared */
        rg_rgsd_step_stats st;
        if (rg_rgsd_step(&run, &data, &st) != RG_OK) return printf("error: %s\n", rg_errmsg()), 0;
        phases p = {st.gen_s, st.teacher_s, st.student_s, st.backward_s, st.optimizer_s, st.step_s};
        if (p.total_s < best_rgsd.total_s) best_rgsd = p;
        phases q = {0};
        if (grpo_step(&tr, &teacher, &data, n_prompts, max_new, &q) != RG_OK)
            return printf("error: %s\n", rg_errmsg()), 0;
        if (q.total_s < best_grpo.total_s) best_grpo = q;
    }
    print_phases("RGSD", &best_rgsd);
    print_phases("GRPO", &best_grpo);
    printf("  RGSD / GRPO = %.3f (expected about 1/G = %.3f); generation %.3f, training passes %.3f\n",
           best_rgsd.total_s / best_grpo.total_s, 1.0 / G, best_rgsd.gen_s / best_grpo.gen_s,
           (best_rgsd.ref_s + best_rgsd.fwd_s + best_rgsd.bwd_s) / (best_grpo.ref_s + best_grpo.fwd_s + best_grpo.bwd_s));
    rg_rgsd_run_free(&run);
    rg_trainer_free(&tr);
    rg_model_free(&teacher);
    rg_model_free(&student);
    for (int i = 0; i < n_prompts; i++) free(data.prompts[i].student_prompt), free(data.prompts[i].teacher_prompt);
    free(data.prompts);
    return 0;
}
