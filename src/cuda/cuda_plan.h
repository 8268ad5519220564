/* cuda_plan.h — the host-side arithmetic of the CUDA back end (docs/cuda.md):
 * launch configurations, argument checks, the one-allocation-per-kind buffer
 * layout, and the memory plan of an RGSD step on one GPU. Plain C with no
 * CUDA header, so it is part of the ordinary build and tested on CPU
 * (tests/unit/test_cuda_plan.c); the .cu files call it before every launch. */
#ifndef RG_CUDA_PLAN_H
#define RG_CUDA_PLAN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The element type of an activation array on the device. Accumulation is f32
 * on either; small parameters (norm weights, biases) and all optimizer state
 * are f32. */
typedef enum { NN_CUDA_F32 = 0, NN_CUDA_BF16 = 1 } nn_cuda_dtype;
size_t nn_cuda_dtype_bytes(nn_cuda_dtype dt);

/* ---- launch configuration ---------------------------------------------- */

/* Blocks of `threads` covering n elements (one per thread) -> *blocks; RG_ERR
 * when n is 0-sized is fine (0 blocks), RG_ERR when it exceeds a 1-D grid
 * (2^31 - 1 blocks) or threads is not in 1..1024. */
int nn_cuda_blocks_1d(size_t n, int threads, unsigned *blocks);
/* Attention kernels (attention.cu) work on ATT rows per block over a grid of
 * [ceil(N / rows_per_block), heads]. */
#define NN_CUDA_ATT_HD_MAX 128
int nn_cuda_attention_grid(int N, int heads, int rows_per_block, unsigned *gx, unsigned *gy);
/* q[N, H, hd], k/v[N, KVH, hd], seq_start[B+1]: RG_ERR with a one-line message
 * naming what the device kernels cannot take (hd > 128, H % KVH, ...). */
int nn_cuda_attention_check(int B, int N, int H, int KVH, int hd);
/* The rows seq_start[] (host copy) describes: 0 = seq_start[0] < ... <=
 * seq_start[B] = N, no empty segment. RG_ERR naming the first bad entry. */
int nn_cuda_segments_check(const int32_t *seq_start, int B, int N);

/* ---- chunked LM head (lm_head.cu) -------------------------------------- */
/* Per-call scratch: 8 floats per position (row results), then per chunk row
 * V f32 logits (student), V f32 logits (teacher; JSD only) and, for bf16
 * activations, V bf16 for the gradient the backward GEMMs read. */
#define NN_CUDA_HEAD_ROW_FLOATS 8
size_t nn_cuda_lm_head_scratch_bytes(nn_cuda_dtype dt, int with_teacher, int N, int V, int chunk);
/* The most rows per chunk that scratch_bytes holds (at most N), or 0 when
 * not even one fits. */
int nn_cuda_lm_head_chunk_rows(nn_cuda_dtype dt, int with_teacher, int N, int V, size_t scratch_bytes);

/* ---- buffers: one allocation per kind (context.cu allocates) ----------- */
typedef enum {
    NN_CUDA_KIND_WEIGHTS = 0, /* bf16/f32 weights the kernels read */
    NN_CUDA_KIND_MASTER,      /* f32 master copy of trained weights */
    NN_CUDA_KIND_GRADS,       /* f32 gradients */
    NN_CUDA_KIND_OPTIM,       /* AdamW m, v */
    NN_CUDA_KIND_ACTS,        /* activations kept for backward */
    NN_CUDA_KIND_SCRATCH,     /* per-call scratch: LM head chunks, attention D, ... */
    NN_CUDA_KINDS
} nn_cuda_kind;
#define NN_CUDA_MAX_SLOTS 256
#define NN_CUDA_ALIGN 256 /* every slot starts 256-byte aligned (cuBLASLt's best case) */
typedef struct {
    size_t bytes[NN_CUDA_KINDS]; /* total per kind */
    int n;                       /* slots used */
    struct {
        nn_cuda_kind kind;
        size_t offset, bytes;
    } slot[NN_CUDA_MAX_SLOTS];
} nn_cuda_layout;
void nn_cuda_layout_init(nn_cuda_layout *L);
/* Appends a slot of `bytes` to `kind`; returns its index, or RG_ERR (full,
 * bad kind, size overflow). */
int nn_cuda_layout_add(nn_cuda_layout *L, nn_cuda_kind kind, size_t bytes);
const char *nn_cuda_kind_name(nn_cuda_kind kind);

/* ---- memory plan of one RGSD step (docs/cuda.md) ----------------------- */
typedef struct {
    const char *name;
    long vocab;
    int hidden, layers, heads, kv_heads, head_dim, intermediate;
    int tied;     /* lm_head shares the embedding */
    int qkv_bias; /* Qwen2: q/k/v biases */
    int qk_norm;  /* Qwen3: per-head q/k RMSNorm */
} nn_cuda_model_shape;
/* Qwen2.5-0.5B, Qwen2.5-3B, Qwen2.5-7B, Qwen3-4B, Qwen3-8B by name (their
 * config.json values); NULL for another name. */
const nn_cuda_model_shape *nn_cuda_model_shape_named(const char *name);
double nn_cuda_param_count(const nn_cuda_model_shape *m);
/* Trainable LoRA parameters of rank r on all seven projections of every layer. */
double nn_cuda_lora_param_count(const nn_cuda_model_shape *m, int r);
/* Bytes one token keeps alive per layer for backward (bf16 activations,
 * f32 rstd and lse), as the GPU forward stores them. */
double nn_cuda_act_bytes_per_token_layer(const nn_cuda_model_shape *m, int lora_rank);

typedef struct {
    int lora_rank;             /* 0: full fine-tuning */
    int prompts;               /* rollouts per step (one per prompt) */
    int prompt_tokens;         /* student prompt length */
    int teacher_prompt_tokens; /* teacher prompt (question + rubric) length */
    int new_tokens;            /* --max-new */
    int micro_batch_tokens;    /* tokens per packed training micro-batch, per side */
    int head_chunk;            /* LM head rows per chunk */
} nn_cuda_run;
typedef struct {
    double params, trainable;
    /* persistent (bytes) */
    double weights;         /* bf16 weights the kernels read */
    double master;          /* f32 master weights of trained parameters */
    double grads;           /* f32 gradients of trained parameters */
    double optimizer;       /* AdamW m + v, f32 */
    double teacher_weights; /* full FT: the frozen bf16 teacher copy; LoRA: 0 (adapters off) */
    double workspace;       /* cuBLASLt workspace + small fixed buffers */
    /* rollout phase */
    double kv_cache;        /* prompts x (prompt + new) positions, bf16 K and V */
    double decode_scratch;  /* per-step logits [prompts, V] f32 + hidden states */
    /* training phase (one micro-batch alive at a time) */
    double activations;     /* what backward needs, micro_batch_tokens tokens */
    double teacher_hidden;  /* the teacher's final hidden states [micro_batch_tokens, C] bf16 */
    double head_scratch;    /* chunked LM head: student + teacher logits + bf16 grad per chunk row */
    double teacher_logits_dense; /* what [T, V] f32 teacher logits would take (never allocated) */
    double persistent, rollout_phase, train_phase, peak;
} nn_cuda_plan;
/* RG_ERR naming a bad field (a non-positive size, heads % kv_heads != 0). */
int nn_cuda_plan_rgsd(nn_cuda_plan *out, const nn_cuda_model_shape *m, const nn_cuda_run *run);
/* The largest micro_batch_tokens (a multiple of 256, at most the whole step's
 * tokens) whose peak fits budget_bytes; 0 when even 256 does not. */
int nn_cuda_plan_max_micro_batch(const nn_cuda_model_shape *m, const nn_cuda_run *run, double budget_bytes);

#ifdef __cplusplus
}
#endif

#endif
