/* cuda_plan.c — prints the GPU memory plan of an RGSD step (src/cuda/memplan.c,
 * docs/cuda.md) for the configurations: Qwen2.5-3B full fine-tuning,
 * Qwen2.5-7B and Qwen3-8B LoRA (r 16, bf16 base), 16 prompts x 1024 new
 * tokens on one 80 GB GPU. Arithmetic only: runs on any machine.
 *   build/bench/cuda_plan [micro_batch_tokens]   (default: the largest that fits) */
#include <stdio.h>
#include <stdlib.h>

#include "base/error.h"
#include "cuda/cuda_plan.h"

#define GB 1e9

static void row(const char *what, double bytes) { printf("  %-44s %8.2f GB\n", what, bytes / GB); }

static int show(const char *name, int rank, int micro) {
    const nn_cuda_model_shape *m = nn_cuda_model_shape_named(name);
    nn_cuda_run r = {.lora_rank = rank, .prompts = 16, .prompt_tokens = 512, .teacher_prompt_tokens = 1024,
                     .new_tokens = 1024, .head_chunk = 512};
    const double budget = 80.0 * GB * 0.98;
    r.micro_batch_tokens = micro > 0 ? micro : nn_cuda_plan_max_micro_batch(m, &r, budget);
    nn_cuda_plan p;
    if (r.micro_batch_tokens < 1 || nn_cuda_plan_rgsd(&p, m, &r)) return rg_error("%s: does not fit", name);
    printf("%s, %s: %.3fB parameters, %.1fM trained; micro-batch %d tokens (%s %.1f GB)\n", name,
           rank ? "LoRA r 16 on all projections, bf16 base" : "full fine-tuning", p.params / 1e9, p.trainable / 1e6,
           r.micro_batch_tokens, micro > 0 ? "given; budget" : "the largest under", budget / GB);
    row("weights the kernels read (bf16)", p.weights);
    row("f32 master weights (trained)", p.master);
    row("f32 gradients (trained)", p.grads);
    row("AdamW m + v (f32)", p.optimizer);
    row("frozen bf16 teacher copy", p.teacher_weights);
    row("cuBLASLt workspace + small buffers", p.workspace);
    row("= persistent", p.persistent);
    row("rollouts: KV cache (16 x 1536 positions, bf16)", p.kv_cache);
    row("rollouts: decode logits + hidden", p.decode_scratch);
    row("training: activations of one micro-batch", p.activations);
    row("training: teacher final hidden states (bf16)", p.teacher_hidden);
    row("training: LM head chunk (512 rows: 2 f32 + bf16)", p.head_scratch);
    row("(dense f32 teacher logits [16x1024, V]: never)", p.teacher_logits_dense);
    row("peak = persistent + max(rollout, training)", p.peak);
    return RG_OK;
}

int main(int argc, char **argv) {
    int micro = argc > 1 ? atoi(argv[1]) : 0;
    int rc = show("Qwen2.5-3B", 0, micro) || show("Qwen2.5-7B", 16, micro) || show("Qwen3-8B", 16, micro);
    if (rc) fprintf(stderr, "cuda_plan: %s\n", rg_errmsg());
    return rc ? 1 : 0;
}
