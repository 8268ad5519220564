/* cuda_plan.c — host-side arithmetic of the CUDA back end (cuda_plan.h):
 * launch grids, argument checks, buffer layout and the RGSD memory plan.
 * Nothing here touches a device, so the CPU unit suite checks all of it. */
#include "cuda/cuda_plan.h"

#include <stdint.h>
#include <string.h>

#include "base/error.h"

size_t nn_cuda_dtype_bytes(nn_cuda_dtype dt) { return dt == NN_CUDA_BF16 ? 2 : 4; }

/* ---- launch configuration ---------------------------------------------- */

int nn_cuda_blocks_1d(size_t n, int threads, unsigned *blocks) {
    if (threads < 1 || threads > 1024) return rg_error("cuda: %d threads per block is outside 1..1024", threads);
    size_t b = n / (size_t)threads + (n % (size_t)threads != 0);
    if (b > 0x7fffffffu) return rg_error("cuda: %zu elements need %zu blocks, over a 1-D grid's 2^31-1", n, b);
    *blocks = (unsigned)b;
    return RG_OK;
}

int nn_cuda_attention_grid(int N, int heads, int rows_per_block, unsigned *gx, unsigned *gy) {
    if (N < 0 || heads < 1 || rows_per_block < 1)
        return rg_error("cuda attention: bad grid (N %d, heads %d, rows per block %d)", N, heads, rows_per_block);
    if (heads > 65535) return rg_error("cuda attention: %d heads exceed the grid's 65535", heads);
    *gx = (unsigned)(N / rows_per_block + (N % rows_per_block != 0));
    *gy = (unsigned)heads;
    return RG_OK;
}

int nn_cuda_attention_check(int B, int N, int H, int KVH, int hd) {
    if (B < 1 || N < 1) return rg_error("cuda attention: %d segments over %d rows (need at least one of each)", B, N);
    if (H < 1 || KVH < 1 || H % KVH != 0)
        return rg_error("cuda attention: %d query heads are not a multiple of %d key/value heads", H, KVH);
    if (hd < 1 || hd > NN_CUDA_ATT_HD_MAX)
        return rg_error("cuda attention: head_dim %d is outside 1..%d", hd, NN_CUDA_ATT_HD_MAX);
    if ((size_t)N * (size_t)H * (size_t)hd > (size_t)INT32_MAX)
        return rg_error("cuda attention: %d rows x %d heads x %d exceed 2^31 elements", N, H, hd);
    return RG_OK;
}

int nn_cuda_segments_check(const int32_t *seq_start, int B, int N) {
    if (seq_start[0] != 0) return rg_error("cuda attention: seq_start[0] is %d, not 0", (int)seq_start[0]);
    for (int s = 0; s < B; s++)
        if (seq_start[s + 1] <= seq_start[s])
            return rg_error("cuda attention: segment %d is empty or reversed (%d..%d)", s, (int)seq_start[s],
                            (int)seq_start[s + 1]);
    if (seq_start[B] != N) return rg_error("cuda attention: seq_start[%d] is %d, not N = %d", B, (int)seq_start[B], N);
    return RG_OK;
}

/* ---- chunked LM head --------------------------------------------------- */

static size_t head_row_bytes(nn_cuda_dtype dt, int with_teacher, int V) {
    size_t per = (size_t)V * 4 * (with_teacher ? 2 : 1);
    if (dt == NN_CUDA_BF16) per += (size_t)V * 2;
    return per;
}

size_t nn_cuda_lm_head_scratch_bytes(nn_cuda_dtype dt, int with_teacher, int N, int V, int chunk) {
    size_t rows = (size_t)N * NN_CUDA_HEAD_ROW_FLOATS * 4;
    rows = (rows + NN_CUDA_ALIGN - 1) / NN_CUDA_ALIGN * NN_CUDA_ALIGN;
    return rows + (size_t)chunk * head_row_bytes(dt, with_teacher, V) + 2 * NN_CUDA_ALIGN;
}

int nn_cuda_lm_head_chunk_rows(nn_cuda_dtype dt, int with_teacher, int N, int V, size_t scratch_bytes) {
    if (N < 1 || V < 1) return 0;
    size_t fixed = nn_cuda_lm_head_scratch_bytes(dt, with_teacher, N, V, 0);
    if (scratch_bytes <= fixed) return 0;
    size_t rows = (scratch_bytes - fixed) / head_row_bytes(dt, with_teacher, V);
    return rows > (size_t)N ? N : (int)rows;
}

/* ---- buffer layout ----------------------------------------------------- */

void nn_cuda_layout_init(nn_cuda_layout *L) { memset(L, 0, sizeof *L); }

int nn_cuda_layout_add(nn_cuda_layout *L, nn_cuda_kind kind, size_t bytes) {
    if ((int)kind < 0 || kind >= NN_CUDA_KINDS) return rg_error("cuda layout: unknown buffer kind %d", (int)kind);
    if (L->n >= NN_CUDA_MAX_SLOTS) return rg_error("cuda layout: more than %d slots", NN_CUDA_MAX_SLOTS);
    size_t offset = L->bytes[kind];
    size_t padded = (bytes + NN_CUDA_ALIGN - 1) / NN_CUDA_ALIGN * NN_CUDA_ALIGN;
    if (padded < bytes || offset + padded < offset)
        return rg_error("cuda layout: a slot of %zu bytes overflows the %s buffer", bytes, nn_cuda_kind_name(kind));
    L->slot[L->n].kind = kind;
    L->slot[L->n].offset = offset;
    L->slot[L->n].bytes = bytes;
    L->bytes[kind] = offset + padded;
    return L->n++;
}

const char *nn_cuda_kind_name(nn_cuda_kind kind) {
    static const char *names[NN_CUDA_KINDS] = {"weights", "master", "grads", "optim", "acts", "scratch"};
    return (int)kind >= 0 && kind < NN_CUDA_KINDS ? names[kind] : "?";
}

/* ---- models ------------------------------------------------------------ */

/* config.json of each (Hugging Face Qwen/<name>). */
static const nn_cuda_model_shape shapes[] = {
    {"Qwen2.5-0.5B", 151936, 896, 24, 14, 2, 64, 4864, 1, 1, 0},
    {"Qwen2.5-3B", 151936, 2048, 36, 16, 2, 128, 11008, 1, 1, 0},
    {"Qwen2.5-7B", 152064, 3584, 28, 28, 4, 128, 18944, 0, 1, 0},
    {"Qwen3-4B", 151936, 2560, 36, 32, 8, 128, 9728, 1, 0, 1},
    {"Qwen3-8B", 151936, 4096, 36, 32, 8, 128, 12288, 0, 0, 1},
};

const nn_cuda_model_shape *nn_cuda_model_shape_named(const char *name) {
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        if (strcmp(shapes[i].name, name) == 0) return &shapes[i];
    return NULL;
}

double nn_cuda_param_count(const nn_cuda_model_shape *m) {
    double C = m->hidden, q = (double)m->heads * m->head_dim, kv = (double)m->kv_heads * m->head_dim;
    double layer = C * q + 2 * C * kv + q * C + 3 * C * m->intermediate + 2 * C;
    if (m->qkv_bias) layer += q + 2 * kv;
    if (m->qk_norm) layer += 2.0 * m->head_dim;
    double embed = (double)m->vocab * C;
    return embed * (m->tied ? 1 : 2) + m->layers * layer + C;
}

double nn_cuda_lora_param_count(const nn_cuda_model_shape *m, int r) {
    double C = m->hidden, q = (double)m->heads * m->head_dim, kv = (double)m->kv_heads * m->head_dim;
    double I = m->intermediate;
    /* q, k, v, o, gate, up, down: r (in + out) each */
    double per = (C + q) + 2 * (C + kv) + (q + C) + 2 * (C + I) + (I + C);
    return (double)m->layers * r * per;
}

double nn_cuda_act_bytes_per_token_layer(const nn_cuda_model_shape *m, int lora_rank) {
    double C = m->hidden, q = (double)m->heads * m->head_dim, kv = (double)m->kv_heads * m->head_dim;
    /* bf16: block input, attention norm out, q, k, v (roped), attention out,
     * residual after attention, MLP norm out, gate, up, silu(gate)*up */
    double bf16 = 4 * C + 2 * q + 2 * kv + 3.0 * m->intermediate;
    double f32 = 2 + m->heads; /* two rstd, lse per head */
    if (m->qk_norm) {
        bf16 += q + kv;                      /* q, k before their norm */
        f32 += m->heads + m->kv_heads;       /* their rstd */
    }
    return 2 * bf16 + 4 * f32 + (lora_rank > 0 ? 7.0 * lora_rank * 2 : 0); /* LoRA: x A^T per projection */
}
