/* lm_head.cu — the LM head fused with the losses on the GPU (nn_cuda.h).
 * Rows go through in chunks: logits[chunk, V] f32 = h W^T (cuBLASLt), one
 * block per row computes the loss and writes d(loss)/d(logits) in place
 * (cross-entropy as loss.c, generalized JSD as divergence.c, full
 * vocabulary), then dh += G W and dW += G^T h. No [N, V] array exists.
 * Per-row results land in scratch and are summed in double on the host in
 * row order, so the stats do not depend on the chunking. */
#include <math.h>
#include <stdlib.h>

#include "cuda/internal.cuh"

namespace {

constexpr int THREADS = 512;
constexpr int NO_BAD = 0x7f7f7f7f; /* the flag's value after a 0x7f memset: above any position */
enum { R_LOSS, R_GAP, R_ENTROPY, R_CLIPPED, R_CLIP_TOTAL, R_COUNTED };

/* Records the first out-of-range target's position (the host names it). */
__device__ bool bad_target(int t, int V, int pos, int *bad, bool ignore_ok) {
    if ((ignore_ok && t == NN_IGNORE_INDEX) || (t >= 0 && t < V)) return false;
    if (threadIdx.x == 0) atomicMin(bad, pos);
    return true;
}

__device__ void zero_row(float *z, float *res, int V) {
    for (int i = threadIdx.x; i < V; i += blockDim.x) z[i] = 0.0f;
    if (threadIdx.x < NN_CUDA_HEAD_ROW_FLOATS) res[threadIdx.x] = 0.0f;
}

/* max, then logsumexp with f32 exps summed in double (as nn_row_logsumexp). */
__device__ double row_lse(const float *z, int V, float *fs, double *ds) {
    float m = -INFINITY;
    for (int i = threadIdx.x; i < V; i += blockDim.x) m = fmaxf(m, z[i]);
    m = block_max(m, fs);
    double s = 0.0;
    for (int i = threadIdx.x; i < V; i += blockDim.x) s += (double)expf(z[i] - m);
    s = block_sum(s, ds);
    return (double)m + log(s);
}

__global__ void ce_row_kernel(float *logits, float *res, const int32_t *targets, const uint8_t *mask, int *bad,
                              float grad_scale, int V, int r0) {
    __shared__ float fs[32];
    __shared__ double ds[32];
    const int row = blockIdx.x, pos = r0 + row;
    float *z = logits + (size_t)row * V, *rr = res + (size_t)pos * NN_CUDA_HEAD_ROW_FLOATS;
    const int t = targets[pos];
    if (bad_target(t, V, pos, bad, true) || t == NN_IGNORE_INDEX || (mask && !mask[pos])) {
        zero_row(z, rr, V);
        return;
    }
    const float zt = z[t];
    const double lse = row_lse(z, V, fs, ds); /* its syncs order the read of zt before the writes */
    const float l = (float)lse;
    for (int i = threadIdx.x; i < V; i += blockDim.x) z[i] = grad_scale * expf(z[i] - l);
    __syncthreads();
    if (threadIdx.x == 0) {
        z[t] = grad_scale * ((float)exp((double)zt - lse) - 1.0f);
        rr[R_LOSS] = (float)(lse - (double)zt);
        rr[R_GAP] = rr[R_ENTROPY] = rr[R_CLIPPED] = rr[R_CLIP_TOTAL] = 0.0f;
        rr[R_COUNTED] = 1.0f;
    }
}

struct jsd_params {
    int mode; /* 0 forward KL (beta 0), 1 reverse KL (beta 1), 2 mixture */
    float beta, log_beta, log_one_minus_beta, tau;
    int clip;
};

/* divergence.c's entry_term: the term of one entry and pg = p d(term)/dp. */
__device__ float entry_term(const jsd_params &dv, float ls, float lt, float *pg) {
    float p = expf(ls), q = expf(lt);
    if (dv.mode == 0) {
        *pg = -q;
        return q > 0.0f ? q * (lt - ls) : 0.0f;
    }
    if (dv.mode == 1) {
        *pg = p > 0.0f ? p * (ls - lt + 1.0f) : 0.0f;
        return p > 0.0f ? p * (ls - lt) : 0.0f;
    }
    float a = dv.log_beta + lt, b = dv.log_one_minus_beta + ls;
    float lm = fmaxf(a, b) + log1pf(expf(-fabsf(a - b)));
    float student_part = p > 0.0f ? (1.0f - dv.beta) * p * (ls - lm) : 0.0f;
    *pg = student_part;
    return (q > 0.0f ? dv.beta * q * (lt - lm) : 0.0f) + student_part;
}

/* Entry i after ENTRY clipping: its term (or tau), pg u, p. */
__device__ float clipped_entry(const jsd_params &dv, float s, float t, float lse_s, float lse_t, float *pg, float *p,
                               bool *clipped) {
    float ls = s - lse_s, term = entry_term(dv, ls, t - lse_t, pg);
    *p = expf(ls);
    *clipped = dv.clip == NN_CLIP_ENTRY && term > dv.tau;
    if (*clipped) {
        *pg = 0.0f;
        return dv.tau;
    }
    return term;
}

__global__ void jsd_row_kernel(float *student, const float *teacher, float *res, const int32_t *targets,
                               const uint8_t *mask, int *bad, jsd_params dv, float grad_scale, int V, int r0) {
    __shared__ float fs[32];
    __shared__ double ds[32];
    const int row = blockIdx.x, pos = r0 + row;
    float *s = student + (size_t)row * V, *rr = res + (size_t)pos * NN_CUDA_HEAD_ROW_FLOATS;
    const float *t = teacher + (size_t)row * V;
    const int y = targets ? targets[pos] : 0;
    if ((targets && bad_target(y, V, pos, bad, false)) || (mask && !mask[pos])) {
        zero_row(s, rr, V);
        return;
    }
    const float sy = targets ? s[y] : 0.0f, ty = targets ? t[y] : 0.0f; /* before s is overwritten */
    const double lse_s = row_lse(s, V, fs, ds), lse_t = row_lse(t, V, fs, ds);
    const float ls_f = (float)lse_s, lt_f = (float)lse_t;
    const double offset = lse_s - lse_t - 1.0; /* reverse KL's careful gradient (divergence.c) */
    double div = 0, minus_ent = 0, clip_loss = 0, clipped = 0, pg_sum = 0, mass = 0, mean = 0;
    for (int i = threadIdx.x; i < V; i += blockDim.x) {
        float pg, p, raw_pg;
        bool c;
        float ls = s[i] - ls_f;
        div += entry_term(dv, ls, t[i] - lt_f, &raw_pg);
        clip_loss += clipped_entry(dv, s[i], t[i], ls_f, lt_f, &pg, &p, &c);
        clipped += c;
        if (p > 0.0f) minus_ent += (double)p * ls;
        pg_sum += pg;
        mass += p;
        if (pg != 0.0f) mean += (double)p * (((double)s[i] - (double)t[i]) - offset);
    }
    div = block_sum(div, ds);
    minus_ent = block_sum(minus_ent, ds);
    clip_loss = block_sum(clip_loss, ds);
    clipped = block_sum(clipped, ds);
    pg_sum = block_sum(pg_sum, ds);
    mass = block_sum(mass, ds);
    mean = block_sum(mean, ds) / mass;
    const bool token_clipped = dv.clip == NN_CLIP_TOKEN && div > dv.tau;
    for (int i = threadIdx.x; i < V; i += blockDim.x) {
        float pg, p;
        bool c;
        clipped_entry(dv, s[i], t[i], ls_f, lt_f, &pg, &p, &c);
        float g;
        if (token_clipped)
            g = 0.0f;
        else if (dv.mode == 1)
            g = pg != 0.0f ? p * ((s[i] - t[i]) - (float)(offset + mean)) : -p * (float)mean;
        else
            g = pg - p * (float)pg_sum;
        s[i] = grad_scale * g;
    }
    if (threadIdx.x == 0) {
        rr[R_LOSS] = (float)(token_clipped ? dv.tau : dv.clip == NN_CLIP_ENTRY ? clip_loss : div);
        rr[R_GAP] = targets ? (float)(((double)ty - lse_t) - ((double)sy - lse_s)) : 0.0f;
        rr[R_ENTROPY] = (float)-minus_ent;
        rr[R_CLIPPED] = (float)(dv.clip == NN_CLIP_TOKEN ? (double)token_clipped : clipped);
        rr[R_CLIP_TOTAL] = dv.clip == NN_CLIP_ENTRY ? (float)V : 1.0f;
        rr[R_COUNTED] = 1.0f;
    }
}

/* Where the scratch's parts start (cuda_plan.h: row results, the bad-target
 * flag, then the chunk's student logits, teacher logits, bf16 gradient). */
struct head_scratch {
    float *res;
    int *bad;
    float *zs, *zt;
    void *g16;
    int chunk;
};

int split_scratch(head_scratch *hs, nn_cuda_dtype dt, int with_teacher, int N, int V, void *scratch, size_t bytes) {
    if ((uintptr_t)scratch % NN_CUDA_ALIGN)
        return rg_error("cuda lm head: scratch is not %d-byte aligned", NN_CUDA_ALIGN);
    hs->chunk = nn_cuda_lm_head_chunk_rows(dt, with_teacher, N, V, bytes);
    if (hs->chunk < 1)
        return rg_error("cuda lm head: %zu bytes of scratch hold no chunk row (need %zu for one)", bytes,
                        nn_cuda_lm_head_scratch_bytes(dt, with_teacher, N, V, 1));
    unsigned char *p = (unsigned char *)scratch;
    size_t rows = nn_cuda_lm_head_scratch_bytes(dt, with_teacher, N, V, 0) - 2 * NN_CUDA_ALIGN;
    hs->res = (float *)p;
    hs->bad = (int *)(p + rows);
    p += rows + NN_CUDA_ALIGN;
    hs->zs = (float *)p;
    p += (size_t)hs->chunk * V * 4;
    hs->zt = with_teacher ? (float *)p : NULL;
    if (with_teacher) p += (size_t)hs->chunk * V * 4;
    hs->g16 = p;
    return RG_OK;
}

/* logits[n, V] f32 = h[n, C] W[V, C]^T */
int head_logits(nn_cuda *ctx, nn_cuda_dtype dt, float *z, const void *h, const void *W, int n, int C, int V) {
    return nn_cuda_matmul(ctx, dt, NN_CUDA_F32, 1, 0, V, n, C, 1.0f, W, C, h, C, 0.0f, z, V);
}

/* dh[n, C] += G W, dW += G^T h, G = the chunk's gradient (bf16 copy for bf16 GEMMs). */
int head_backward(nn_cuda *ctx, nn_cuda_dtype dt, const head_scratch *hs, void *dh, float *dW, const void *h,
                  const void *W, int n, int C, int V) {
    if (!dh && !dW) return RG_OK;
    const void *G = hs->zs;
    if (dt == NN_CUDA_BF16) {
        if (nn_cuda_f32_to_bf16(ctx, (uint16_t *)hs->g16, hs->zs, (size_t)n * V)) return RG_ERR;
        G = hs->g16;
    }
    return nn_cuda_linear_backward(ctx, dt, dh, dW, NULL, G, h, W, n, C, V);
}

/* After the chunks: the first bad target named, else the row results. */
int collect(nn_cuda *ctx, const head_scratch *hs, const int32_t *targets, int N, int V, const char *what,
            double sums[6]) {
    int bad = NO_BAD;
    if (nn_cuda_download(ctx, &bad, hs->bad, sizeof bad)) return RG_ERR;
    if (bad != NO_BAD) {
        int32_t t = 0;
        if (nn_cuda_download(ctx, &t, targets + bad, sizeof t)) return RG_ERR;
        return rg_error("%s: target %d at position %d is outside the vocabulary [0, %d)", what, (int)t, bad, V);
    }
    float *res = (float *)malloc((size_t)N * NN_CUDA_HEAD_ROW_FLOATS * sizeof(float));
    if (!res) return rg_error("%s: out of host memory for %d row results", what, N);
    int rc = nn_cuda_download(ctx, res, hs->res, (size_t)N * NN_CUDA_HEAD_ROW_FLOATS * sizeof(float));
    for (int k = 0; k < 6; k++) sums[k] = 0.0;
    for (int n = 0; rc == RG_OK && n < N; n++)
        for (int k = 0; k < 6; k++) sums[k] += res[(size_t)n * NN_CUDA_HEAD_ROW_FLOATS + k];
    free(res);
    return rc;
}

size_t elt(nn_cuda_dtype dt) { return nn_cuda_dtype_bytes(dt); }

} // namespace

extern "C" int nn_cuda_lm_head_ce(nn_cuda *ctx, nn_cuda_dtype dt, void *dh, float *dW, nn_ce_stats *stats,
                                  const void *h, const void *W, const int32_t *targets, const uint8_t *mask,
                                  float grad_scale, int N, int C, int V, void *scratch, size_t scratch_bytes) {
    head_scratch hs;
    if (N == 0) return RG_OK;
    if (split_scratch(&hs, dt, 0, N, V, scratch, scratch_bytes)) return RG_ERR;
    if (nn_cuda_memset(ctx, hs.bad, 0x7f, sizeof(int))) return RG_ERR; /* NO_BAD */
    for (int r0 = 0; r0 < N; r0 += hs.chunk) {
        const int n = N - r0 < hs.chunk ? N - r0 : hs.chunk;
        const unsigned char *hc = (const unsigned char *)h + (size_t)r0 * C * elt(dt);
        void *dhc = dh ? (unsigned char *)dh + (size_t)r0 * C * elt(dt) : NULL;
        if (head_logits(ctx, dt, hs.zs, hc, W, n, C, V)) return RG_ERR;
        LAUNCH(ce_row_kernel, n, THREADS, hs.zs, hs.res, targets, mask, hs.bad, grad_scale, V, r0);
        LAUNCHED("ce_row_kernel");
        if (head_backward(ctx, dt, &hs, dhc, dW, hc, W, n, C, V)) return RG_ERR;
    }
    double sums[6];
    if (collect(ctx, &hs, targets, N, V, "cross_entropy", sums)) return RG_ERR;
    stats->loss_sum += sums[R_LOSS];
    stats->count += (long)sums[R_COUNTED];
    return RG_OK;
}

static int jsd_setup(jsd_params *dv, const nn_jsd_config *config) {
    if (!(config->beta >= 0.0f && config->beta <= 1.0f))
        return rg_error("jsd: beta %g is outside [0, 1]", (double)config->beta);
    if (config->clip != NN_CLIP_NONE && config->clip != NN_CLIP_TOKEN && config->clip != NN_CLIP_ENTRY)
        return rg_error("jsd: unknown clip mode %d", (int)config->clip);
    if (config->clip != NN_CLIP_NONE && !(config->tau > 0.0f))
        return rg_error("jsd: clip threshold tau %g must be > 0", (double)config->tau);
    if (config->top_k != 0)
        return rg_error("jsd: top_k %d is not on the cuda back end yet (full vocabulary only)", config->top_k);
    dv->beta = config->beta;
    dv->mode = config->beta == 0.0f ? 0 : config->beta == 1.0f ? 1 : 2;
    dv->log_beta = dv->mode == 2 ? logf(config->beta) : 0.0f;
    dv->log_one_minus_beta = dv->mode == 2 ? log1pf(-config->beta) : 0.0f;
    dv->tau = config->tau;
    dv->clip = (int)config->clip;
    return RG_OK;
}

extern "C" int nn_cuda_lm_head_jsd(nn_cuda *ctx, nn_cuda_dtype dt, void *dh, float *dW, nn_jsd_stats *stats,
                                   const void *h, const void *Ws, const void *ht, const void *Wt,
                                   const int32_t *targets, const uint8_t *mask, const nn_jsd_config *config,
                                   float grad_scale, int N, int C, int V, void *scratch, size_t scratch_bytes) {
    jsd_params dv = {};
    head_scratch hs;
    if (jsd_setup(&dv, config)) return RG_ERR;
    if (N == 0) return RG_OK;
    if (split_scratch(&hs, dt, 1, N, V, scratch, scratch_bytes)) return RG_ERR;
    if (nn_cuda_memset(ctx, hs.bad, 0x7f, sizeof(int))) return RG_ERR;
    for (int r0 = 0; r0 < N; r0 += hs.chunk) {
        const int n = N - r0 < hs.chunk ? N - r0 : hs.chunk;
        const size_t off = (size_t)r0 * C * elt(dt);
        const unsigned char *hc = (const unsigned char *)h + off, *htc = (const unsigned char *)ht + off;
        void *dhc = dh ? (unsigned char *)dh + off : NULL;
        if (head_logits(ctx, dt, hs.zs, hc, Ws, n, C, V) || head_logits(ctx, dt, hs.zt, htc, Wt, n, C, V))
            return RG_ERR;
        LAUNCH(jsd_row_kernel, n, THREADS, hs.zs, hs.zt, hs.res, targets, mask, hs.bad, dv, grad_scale,
                                                       V, r0);
        LAUNCHED("jsd_row_kernel");
        if (head_backward(ctx, dt, &hs, dhc, dW, hc, Ws, n, C, V)) return RG_ERR;
    }
    double sums[6];
    if (collect(ctx, &hs, targets, N, V, "jsd", sums)) return RG_ERR;
    stats->loss_sum += sums[R_LOSS];
    stats->gap_sum += sums[R_GAP];
    stats->entropy_sum += sums[R_ENTROPY];
    stats->clipped += sums[R_CLIPPED];
    stats->clip_total += sums[R_CLIP_TOTAL];
    stats->count += (long)sums[R_COUNTED];
    return RG_OK;
}
