/* test_cuda_plan.c — the host-side arithmetic of the CUDA back end
 * (src/cuda/cuda_plan.h), on CPU: launch grids, argument checks, the LM
 * head's chunking, the one-allocation-per-kind layout, the memory plan
 * (parameter counts against the published ones, components adding up), and
 * the GPU tests' own comparison (tests/gpu/gpu_check.h: NaN never passes). */
#include "test_util.h"

#include <math.h>

#include "../gpu/gpu_check.h"
#include "base/error.h"
#include "cuda/cuda_plan.h"

static void launch_grids(void **state) {
    (void)state;
    unsigned b = 99, gx, gy;
    assert_int_equal(nn_cuda_blocks_1d(0, 256, &b), RG_OK);
    assert_int_equal(b, 0);
    assert_int_equal(nn_cuda_blocks_1d(1000, 256, &b), RG_OK);
    assert_int_equal(b, 4);
    assert_int_equal(nn_cuda_blocks_1d(1024, 256, &b), RG_OK);
    assert_int_equal(b, 4);
    assert_int_equal(nn_cuda_blocks_1d(10, 0, &b), RG_ERR);
    assert_int_equal(nn_cuda_blocks_1d(10, 2048, &b), RG_ERR);
    assert_int_equal(nn_cuda_blocks_1d((size_t)1 << 40, 256, &b), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "over a 1-D grid"));
    assert_int_equal(nn_cuda_attention_grid(1025, 14, 16, &gx, &gy), RG_OK);
    assert_int_equal(gx, 65);
    assert_int_equal(gy, 14);
    assert_int_equal(nn_cuda_attention_grid(100, 70000, 16, &gx, &gy), RG_ERR);
}

static void attention_arguments(void **state) {
    (void)state;
    assert_int_equal(nn_cuda_attention_check(2, 100, 14, 2, 64), RG_OK);
    assert_int_equal(nn_cuda_attention_check(1, 10, 14, 4, 64), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "14 query heads are not a multiple of 4"));
    assert_int_equal(nn_cuda_attention_check(1, 10, 4, 4, 129), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "head_dim 129"));
    assert_int_equal(nn_cuda_attention_check(0, 10, 4, 4, 64), RG_ERR);
    const int32_t good[] = {0, 5, 75, 76}, empty[] = {0, 5, 5, 8}, short_[] = {0, 5, 7};
    assert_int_equal(nn_cuda_segments_check(good, 3, 76), RG_OK);
    assert_int_equal(nn_cuda_segments_check(empty, 3, 8), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "segment 1 is empty"));
    assert_int_equal(nn_cuda_segments_check(short_, 2, 8), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "not N = 8"));
}

static void lm_head_chunks(void **state) {
    (void)state;
    const int V = 151936, N = 4096;
    for (int dt = 0; dt < 2; dt++)
        for (int teacher = 0; teacher < 2; teacher++) {
            size_t one = nn_cuda_lm_head_scratch_bytes(dt, teacher, N, V, 1);
            size_t k = nn_cuda_lm_head_scratch_bytes(dt, teacher, N, V, 512);
            /* per row: V f32 logits, V more with a teacher, V bf16 for bf16 GEMMs */
            size_t row = (size_t)V * 4 * (teacher ? 2 : 1) + (dt ? (size_t)V * 2 : 0);
            assert_int_equal(k - one, 511 * row);
            assert_int_equal(nn_cuda_lm_head_chunk_rows(dt, teacher, N, V, k), 512);
            assert_int_equal(nn_cuda_lm_head_chunk_rows(dt, teacher, N, V, k - 1), 511);
            assert_int_equal(nn_cuda_lm_head_chunk_rows(dt, teacher, N, V, one - 1), 0);
            assert_int_equal(nn_cuda_lm_head_chunk_rows(dt, teacher, 7, V, k), 7); /* capped at N */
        }
    /* the row results (8 floats per position) come first, 256-aligned */
    assert_int_equal(nn_cuda_lm_head_scratch_bytes(NN_CUDA_F32, 0, 10, 100, 0), 512 + 512);
}

static void layout_one_allocation_per_kind(void **state) {
    (void)state;
    nn_cuda_layout L;
    nn_cuda_layout_init(&L);
    assert_int_equal(nn_cuda_layout_add(&L, NN_CUDA_KIND_WEIGHTS, 1000), 0);
    assert_int_equal(nn_cuda_layout_add(&L, NN_CUDA_KIND_GRADS, 4), 1);
    assert_int_equal(nn_cuda_layout_add(&L, NN_CUDA_KIND_WEIGHTS, 256), 2);
    assert_int_equal(nn_cuda_layout_add(&L, NN_CUDA_KIND_WEIGHTS, 0), 3);
    assert_int_equal(L.slot[2].offset, 1024);
    assert_int_equal(L.slot[3].offset, 1280);
    assert_int_equal(L.bytes[NN_CUDA_KIND_WEIGHTS], 1280);
    assert_int_equal(L.bytes[NN_CUDA_KIND_GRADS], 256);
    assert_int_equal(L.bytes[NN_CUDA_KIND_OPTIM], 0);
    assert_int_equal(nn_cuda_layout_add(&L, NN_CUDA_KINDS, 4), RG_ERR);
    assert_int_equal(nn_cuda_layout_add(&L, NN_CUDA_KIND_ACTS, SIZE_MAX - 10), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "overflows the acts buffer"));
    while (L.n < NN_CUDA_MAX_SLOTS) assert_true(nn_cuda_layout_add(&L, NN_CUDA_KIND_SCRATCH, 1) >= 0);
    assert_int_equal(nn_cuda_layout_add(&L, NN_CUDA_KIND_SCRATCH, 1), RG_ERR);
}

/* Parameter counts of the Hugging Face checkpoints (safetensors metadata). */
static void parameter_counts(void **state) {
    (void)state;
    const struct {
        const char *name;
        double params;
    } want[] = {{"Qwen2.5-0.5B", 494032768}, {"Qwen2.5-3B", 3085938688}, {"Qwen2.5-7B", 7615616512},
                {"Qwen3-4B", 4022468096},    {"Qwen3-8B", 8190735360}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const nn_cuda_model_shape *m = nn_cuda_model_shape_named(want[i].name);
        assert_non_null(m);
        assert_true(nn_cuda_param_count(m) == want[i].params);
    }
    assert_null(nn_cuda_model_shape_named("Qwen9-1T"));
    /* LoRA r = 8 on 0.5B by hand: per layer q 8(896+896), k 8(896+128), v the same, o 8(896+896),
     * gate/up 8(896+4864) each, down 8(4864+896) */
    const nn_cuda_model_shape *m = nn_cuda_model_shape_named("Qwen2.5-0.5B");
    double per = 8.0 * (1792 + 1024 + 1024 + 1792 + 5760 * 3);
    assert_true(nn_cuda_lora_param_count(m, 8) == 24 * per);
    /* activations per token and layer: 2 bytes x (4*896 + 2*896 + 2*128 + 3*4864) + 4 x (2 + 14) */
    assert_true(nn_cuda_act_bytes_per_token_layer(m, 0) == 2.0 * (3584 + 1792 + 256 + 14592) + 64);
    assert_true(nn_cuda_act_bytes_per_token_layer(m, 16) == nn_cuda_act_bytes_per_token_layer(m, 0) + 7 * 16 * 2);
}

static const nn_cuda_run rgsd_run = {.lora_rank = 0, .prompts = 16, .prompt_tokens = 512, .teacher_prompt_tokens = 1024,
                                     .new_tokens = 1024, .micro_batch_tokens = 4096, .head_chunk = 512};
#define GB 1e9
#define BUDGET (80.0 * GB * 0.98) /* an 80 GB H100: ~79 GiB usable less the CUDA context */

static void plan_adds_up(void **state) {
    (void)state;
    const nn_cuda_model_shape *m = nn_cuda_model_shape_named("Qwen2.5-3B");
    nn_cuda_plan p;
    assert_int_equal(nn_cuda_plan_rgsd(&p, m, &rgsd_run), RG_OK);
    /* full fine-tuning: bf16 weights 2 + master 4 + grads 4 + Adam 8 bytes per parameter, bf16 teacher 2 */
    assert_true(p.weights == 2 * p.params && p.master == 4 * p.params && p.grads == 4 * p.params);
    assert_true(p.optimizer == 8 * p.params && p.teacher_weights == 2 * p.params);
    assert_true(fabs(p.persistent - (20 * p.params + p.workspace)) < 1.0);
    /* KV cache: 16 x 1536 positions x 36 layers x K,V x 2 heads x 128 x 2 bytes */
    assert_true(p.kv_cache == 16.0 * 1536 * 36 * 2 * 2 * 128 * 2);
    assert_true(p.peak == p.persistent + (p.train_phase > p.rollout_phase ? p.train_phase : p.rollout_phase));
    assert_true(p.teacher_logits_dense == 16.0 * 1024 * 151936 * 4);
    nn_cuda_run r = rgsd_run;
    r.lora_rank = 16;
    assert_int_equal(nn_cuda_plan_rgsd(&p, m, &r), RG_OK);
    assert_true(p.teacher_weights == 0 && p.master == 4 * p.trainable && p.trainable < 0.01 * p.params);
    r.prompts = 0;
    assert_int_equal(nn_cuda_plan_rgsd(&p, m, &r), RG_ERR);
    nn_cuda_model_shape bad = *m;
    bad.kv_heads = 3;
    assert_int_equal(nn_cuda_plan_rgsd(&p, &bad, &rgsd_run), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "not a multiple of 3 kv heads"));
}

/* The configurations fit one 80 GB GPU, and the largest micro-batch is the one that fits. */
static void plans_fit_80gb(void **state) {
    (void)state;
    const struct {
        const char *name;
        int rank;
    } cases[] = {{"Qwen2.5-3B", 0}, {"Qwen2.5-7B", 16}, {"Qwen3-8B", 16}};
    for (size_t i = 0; i < 3; i++) {
        const nn_cuda_model_shape *m = nn_cuda_model_shape_named(cases[i].name);
        nn_cuda_run r = rgsd_run;
        r.lora_rank = cases[i].rank;
        int mb = nn_cuda_plan_max_micro_batch(m, &r, BUDGET);
        nn_cuda_plan p, next;
        r.micro_batch_tokens = mb;
        assert_int_equal(nn_cuda_plan_rgsd(&p, m, &r), RG_OK);
        r.micro_batch_tokens = mb + 256;
        assert_int_equal(nn_cuda_plan_rgsd(&next, m, &r), RG_OK);
        print_message("%s %s: micro-batch %d tokens, peak %.1f GB (persistent %.1f, train %.1f, rollout %.1f)\n",
                      cases[i].name, cases[i].rank ? "LoRA r16" : "full", mb, p.peak / GB, p.persistent / GB,
                      p.train_phase / GB, p.rollout_phase / GB);
        assert_true(mb >= 1024);
        assert_true(p.peak <= BUDGET);
        assert_true(next.peak > BUDGET || mb >= 16 * 2048);
    }
}

static void gpu_check_rejects_nan_and_misses(void **state) {
    (void)state;
    float want[4] = {1.0f, -2.0f, 0.0f, 4.0f}, got[4];
    memcpy(got, want, sizeof got);
    assert_int_equal(gc_mismatches("same", got, want, 4, 1e-5, 1e-5), 0);
    got[2] = NAN;
    assert_int_equal(gc_mismatches("nan", got, want, 4, 1e-5, 1e-5), 1);
    got[2] = 4e-5f; /* 1e-5 x max|want| = 4e-5: at the edge passes */
    assert_int_equal(gc_mismatches("edge", got, want, 4, 1e-5, 1e-5), 0);
    got[2] = 5e-5f;
    assert_int_equal(gc_mismatches("off", got, want, 4, 1e-5, 1e-5), 1);
    assert_false(gc_close("nan", NAN, 1.0, 1.0));
    assert_false(gc_close("inf", INFINITY, INFINITY, 1.0));
    assert_true(gc_close("close", 1.0 + 1e-7, 1.0, 1e-6));
    uint64_t s = 1;
    float x = 0.0f;
    for (int i = 0; i < 1000; i++) {
        x = gc_uniform(&s, 2.0f);
        assert_true(x >= -2.0f && x < 2.0f);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(launch_grids),        cmocka_unit_test(attention_arguments),
        cmocka_unit_test(lm_head_chunks),      cmocka_unit_test(layout_one_allocation_per_kind),
        cmocka_unit_test(parameter_counts),    cmocka_unit_test(plan_adds_up),
        cmocka_unit_test(plans_fit_80gb),      cmocka_unit_test(gpu_check_rejects_nan_and_misses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
