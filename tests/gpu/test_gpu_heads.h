/* test_gpu_heads.h — part of test_gpu.c (its helpers in scope): the chunked
 * LM head fused with cross-entropy and with the JSD, against src/nn's
 * nn_linear_forward + nn_cross_entropy / nn_jsd + nn_linear_backward. */

typedef struct {
    int N, C, V, chunk;
    float *h, *W, *dh, *dW; /* host */
    void *gh, *gW, *gdh, *gdW, *scratch;
    size_t scratch_bytes;
    int32_t *targets, *gtargets;
    uint8_t *mask, *gmask;
} head_case;

/* Random h, W, targets (every 7th ignored when `ignore`), mask (every 5th off),
 * gradients' start values, on both sides; scratch for `chunk` rows. V == C
 * makes W the identity: then logits = h and dh = the logits' gradient itself,
 * checked entry by entry (otherwise it is seen only through the GEMMs' sums). */
static void head_setup(head_case *c, nn_cuda_dtype dt, int N, int C, int V, int chunk, int teacher, int ignore) {
    c->N = N, c->C = C, c->V = V, c->chunk = chunk;
    c->h = draw(dt, (size_t)N * C, V == C ? 4.0f : 1.0f), c->W = draw(dt, (size_t)V * C, 0.3f);
    if (V == C)
        for (int i = 0; i < V; i++)
            for (int j = 0; j < C; j++) c->W[(size_t)i * C + j] = i == j ? 1.0f : 0.0f;
    /* start values of the order of the gradients (grad_scale 1/N), so the tolerance, relative
     * to the largest value, stays tight on the gradient itself */
    c->dh = draw(dt, (size_t)N * C, 0.01f), c->dW = draw(F32, (size_t)V * C, 0.01f);
    c->targets = calloc(N, sizeof(int32_t)), c->mask = calloc(N, 1);
    for (int n = 0; n < N; n++) {
        c->targets[n] = ignore && n % 7 == 3 ? NN_IGNORE_INDEX : (int32_t)(gc_next(&rng) % (uint64_t)V);
        c->mask[n] = n % 5 != 1;
    }
    c->gh = put(dt, c->h, (size_t)N * C), c->gW = put(dt, c->W, (size_t)V * C);
    c->gdh = put(dt, c->dh, (size_t)N * C), c->gdW = put(F32, c->dW, (size_t)V * C);
    c->gtargets = put_bytes(c->targets, (size_t)N * 4), c->gmask = put_bytes(c->mask, (size_t)N);
    c->scratch_bytes = nn_cuda_lm_head_scratch_bytes(dt, teacher, N, V, chunk);
    OK(nn_cuda_malloc(&c->scratch, c->scratch_bytes, "lm head scratch"));
    assert_int_equal(nn_cuda_lm_head_chunk_rows(dt, teacher, N, V, c->scratch_bytes), chunk);
}

static void head_free(head_case *c) {
    void *bufs[] = {c->gh, c->gW, c->gdh, c->gdW, c->scratch, c->gtargets, c->gmask};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) nn_cuda_free(bufs[i]);
    free(c->h), free(c->W), free(c->dh), free(c->dW), free(c->targets), free(c->mask);
}

/* The CPU backward through the head from dlogits[N,V] (rounded to bf16 on the bf16 path, as the GPU does). */
static void head_cpu_backward(head_case *c, nn_cuda_dtype dt, float *dlogits) {
    if (dt == BF16) gc_round_bf16(dlogits, (size_t)c->N * c->V);
    nn_linear_backward(c->dh, c->dW, NULL, dlogits, c->h, c->W, c->N, c->C, c->V);
}

static void head_expect_grads(head_case *c, nn_cuda_dtype dt) {
    expect("head dh", dt, c->gdh, c->dh, (size_t)c->N * c->C, 1e-4);
    expect("head dW", F32, c->gdW, c->dW, (size_t)c->V * c->C, dt == BF16 ? 1e-2 : 1e-4);
}

static void ce_case(nn_cuda_dtype dt, int N, int C, int V, int chunk) {
    head_case c;
    head_setup(&c, dt, N, C, V, chunk, 0, 1);
    float *z = host((size_t)N * V);
    nn_linear_forward(z, c.h, c.W, NULL, N, C, V);
    nn_ce_stats want = {0}, got = {0};
    OK(nn_cross_entropy(z, NULL, &want, z, c.targets, c.mask, 1.0f / N, N, V));
    head_cpu_backward(&c, dt, z);
    OK(nn_cuda_lm_head_ce(ctx, dt, c.gdh, c.gdW, &got, c.gh, c.gW, c.gtargets, c.gmask, 1.0f / N, N, C, V, c.scratch,
                          c.scratch_bytes));
    assert_true(gc_close("ce loss_sum", got.loss_sum, want.loss_sum, 1e-5));
    assert_int_equal(got.count, want.count);
    head_expect_grads(&c, dt);
    free(z);
    head_free(&c);
}

static void lm_head_ce_matches_cpu(void **state) {
    ce_case(dtype_of(state), 37, 64, 1000, 5); /* 8 chunks, the last short */
    ce_case(dtype_of(state), 20, 96, 4099, 20);
    ce_case(dtype_of(state), 30, 96, 96, 7); /* W = I: dh is dlogits */
}

/* A clip threshold in the widest gap between the per-token divergences, so
 * f32 on either side agrees on which tokens are clipped. */
static float token_tau(const float *loss, const uint8_t *mask, int N) {
    float best_gap = 0.0f, tau = 1.0f, sorted[256];
    int n = 0;
    for (int i = 0; i < N && n < 256; i++)
        if (mask[i]) sorted[n++] = loss[i];
    for (int i = 1; i < n; i++) /* insertion sort: n is small */
        for (int j = i; j > 0 && sorted[j] < sorted[j - 1]; j--) {
            float t = sorted[j];
            sorted[j] = sorted[j - 1], sorted[j - 1] = t;
        }
    for (int i = n / 4; i + 1 < n; i++)
        if (sorted[i + 1] - sorted[i] > best_gap) best_gap = sorted[i + 1] - sorted[i], tau = 0.5f * (sorted[i] + sorted[i + 1]);
    return tau;
}

static void jsd_case(nn_cuda_dtype dt, float beta, nn_clip_mode clip, int N, int C, int V, int chunk) {
    head_case c;
    head_setup(&c, dt, N, C, V, chunk, 1, 0);
    float *ht = draw(dt, (size_t)N * C, 1.0f), *Wt = draw(dt, (size_t)V * C, 0.3f);
    void *ght = put(dt, ht, (size_t)N * C), *gWt = put(dt, Wt, (size_t)V * C);
    float *zs = host((size_t)N * V), *zt = host((size_t)N * V), *loss = host(N);
    nn_linear_forward(zs, c.h, c.W, NULL, N, C, V);
    nn_linear_forward(zt, ht, Wt, NULL, N, C, V);
    nn_jsd_config cfg = {.beta = beta, .clip = NN_CLIP_NONE};
    size_t sf = nn_jsd_scratch_floats(&cfg, V, 1);
    float *scratch = host(sf);
    nn_jsd_stats want = {0}, got = {0};
    OK(nn_jsd(NULL, loss, NULL, NULL, &want, scratch, sf, zs, zt, c.targets, c.mask, &cfg, 1.0f, N, V));
    cfg.clip = clip;
    cfg.tau = clip == NN_CLIP_TOKEN ? token_tau(loss, c.mask, N) : 5e-4f;
    want = (nn_jsd_stats){0};
    OK(nn_jsd(zs, NULL, NULL, NULL, &want, scratch, sf, zs, zt, c.targets, c.mask, &cfg, 1.0f / N, N, V));
    head_cpu_backward(&c, dt, zs);
    OK(nn_cuda_lm_head_jsd(ctx, dt, c.gdh, c.gdW, &got, c.gh, c.gW, ght, gWt, c.gtargets, c.gmask, &cfg, 1.0f / N, N,
                           C, V, c.scratch, c.scratch_bytes));
    print_message("jsd beta %.2f clip %d tau %g: loss %.6g clipped %.0f/%.0f\n", (double)beta, (int)clip,
                  (double)cfg.tau, want.loss_sum, want.clipped, want.clip_total);
    assert_true(gc_close("jsd loss_sum", got.loss_sum, want.loss_sum, 1e-4));
    assert_true(gc_close("jsd gap_sum", got.gap_sum, want.gap_sum, 1e-4));
    assert_true(gc_close("jsd entropy_sum", got.entropy_sum, want.entropy_sum, 1e-4));
    assert_true(gc_close("jsd clipped", got.clipped, want.clipped, 0.0));
    assert_true(gc_close("jsd clip_total", got.clip_total, want.clip_total, 0.0));
    assert_int_equal(got.count, want.count);
    head_expect_grads(&c, dt);
    nn_cuda_free(ght), nn_cuda_free(gWt);
    free(ht), free(Wt), free(zs), free(zt), free(loss), free(scratch);
    head_free(&c);
}

static void lm_head_jsd_matches_cpu(void **state) {
    const float betas[] = {0.0f, 0.5f, 1.0f};
    const nn_clip_mode clips[] = {NN_CLIP_NONE, NN_CLIP_TOKEN, NN_CLIP_ENTRY};
    for (int b = 0; b < 3; b++)
        for (int k = 0; k < 3; k++) {
            jsd_case(dtype_of(state), betas[b], clips[k], 23, 64, 1000, 6);
            jsd_case(dtype_of(state), betas[b], clips[k], 23, 96, 96, 6); /* W = I: dh is dlogits */
        }
    jsd_case(dtype_of(state), 0.25f, NN_CLIP_NONE, 9, 128, 32003, 9);
}

static void lm_head_refuses_bad_input(void **state) {
    (void)state;
    head_case c;
    head_setup(&c, F32, 8, 32, 100, 8, 1, 0);
    nn_jsd_stats js = {0};
    nn_ce_stats cs = {0};
    nn_jsd_config cfg = {.beta = 0.5f, .top_k = 5};
    assert_int_equal(nn_cuda_lm_head_jsd(ctx, F32, NULL, NULL, &js, c.gh, c.gW, c.gh, c.gW, NULL, NULL, &cfg, 1.0f, 8,
                                         32, 100, c.scratch, c.scratch_bytes),
                     RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "top_k 5"));
    int32_t bad = 100;
    OK(nn_cuda_upload(ctx, c.gtargets + 3, &bad, 4));
    assert_int_equal(nn_cuda_lm_head_ce(ctx, F32, NULL, NULL, &cs, c.gh, c.gW, c.gtargets, NULL, 1.0f, 8, 32, 100,
                                        c.scratch, c.scratch_bytes),
                     RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "target 100 at position 3"));
    assert_int_equal(nn_cuda_lm_head_ce(ctx, F32, NULL, NULL, &cs, c.gh, c.gW, c.gtargets, NULL, 1.0f, 8, 32, 100,
                                        c.scratch, 1000),
                     RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "scratch"));
    int32_t seq[] = {0, 5, 5, 8};
    assert_int_equal(nn_cuda_attention_forward(ctx, F32, c.gdh, c.gdW, c.gh, c.gh, c.gh, c.gtargets, seq, 3, 8, 1, 1,
                                               32),
                     RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "segment 1 is empty"));
    head_free(&c);
}
