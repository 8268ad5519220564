/* test_gpu_kernels.h — part of test_gpu.c (its helpers in scope): the
 * buffers, conversions, AdamW, linear, RMSNorm, RoPE, SwiGLU, residual and
 * attention kernels against src/nn. */

static void buffers_one_allocation_per_kind(void **state) {
    (void)state;
    nn_cuda_layout L;
    nn_cuda_layout_init(&L);
    int a = nn_cuda_layout_add(&L, NN_CUDA_KIND_WEIGHTS, 1000);
    int b = nn_cuda_layout_add(&L, NN_CUDA_KIND_WEIGHTS, 3);
    int c = nn_cuda_layout_add(&L, NN_CUDA_KIND_ACTS, 4096);
    nn_cuda_buffers bufs;
    OK(nn_cuda_buffers_alloc(&bufs, &L));
    unsigned char *pa = nn_cuda_slot(&bufs, a), *pb = nn_cuda_slot(&bufs, b), *pc = nn_cuda_slot(&bufs, c);
    assert_ptr_equal(pa, bufs.base[NN_CUDA_KIND_WEIGHTS]);
    assert_int_equal(pb - pa, 1024);
    assert_ptr_equal(pc, bufs.base[NN_CUDA_KIND_ACTS]);
    assert_null(bufs.base[NN_CUDA_KIND_OPTIM]); /* an empty kind allocates nothing */
    float x[1024], y[1024];
    gc_fill(&rng, x, 1024, 1.0f);
    OK(nn_cuda_upload(ctx, pc, x, sizeof x));
    OK(nn_cuda_copy(ctx, pa, pc, 1000));
    OK(nn_cuda_sync(ctx));
    OK(nn_cuda_download(ctx, y, pa, 1000));
    assert_memory_equal(x, y, 1000);
    nn_cuda_buffers_free(&bufs);
}

static void bf16_conversion_bit_exact(void **state) {
    (void)state;
    const size_t n = 100003;
    float *x = host(n), *back = host(n);
    for (size_t i = 0; i < n; i++) { /* random finite bit patterns: every exponent, ties included */
        uint32_t u = (uint32_t)gc_next(&rng);
        if (((u >> 23) & 0xff) == 0xff) u &= ~(1u << 30);
        memcpy(&x[i], &u, 4);
    }
    uint16_t *want = calloc(n, 2), *got = calloc(n, 2);
    nn_f32_to_bf16_array(want, x, n);
    float *dx = put(F32, x, n);
    uint16_t *d16 = poisoned(BF16, n);
    OK(nn_cuda_f32_to_bf16(ctx, d16, dx, n));
    OK(nn_cuda_sync(ctx));
    OK(nn_cuda_download(ctx, got, d16, n * 2));
    assert_memory_equal(got, want, n * 2);
    OK(nn_cuda_memset(ctx, dx, 0xff, n * 4));
    OK(nn_cuda_bf16_to_f32(ctx, dx, d16, n));
    OK(nn_cuda_sync(ctx));
    OK(nn_cuda_download(ctx, back, dx, n * 4));
    nn_bf16_to_f32_array(x, want, n);
    assert_memory_equal(back, x, n * 4);
    nn_cuda_free(dx);
    nn_cuda_free(d16);
    free(x), free(back), free(want), free(got);
}

static void adamw_matches_cpu(void **state) {
    (void)state;
    const size_t n = 70001;
    float *p = draw(F32, n, 1.0f), *m = host(n), *v = host(n), *g = host(n);
    void *dp = put(F32, p, n), *dm = put(F32, m, n), *dv = put(F32, v, n), *dg = poisoned(F32, n);
    uint16_t *d16 = poisoned(BF16, n);
    nn_adamw_config cfg = {.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.1};
    for (long t = 1; t <= 3; t++) {
        gc_fill(&rng, g, n, 0.01f);
        OK(nn_cuda_upload(ctx, dg, g, n * 4));
        nn_adamw_step(p, m, v, g, n, &cfg, 1e-3 * t, t, t != 2);
        OK(nn_cuda_adamw_step(ctx, dp, dm, dv, dg, n, &cfg, 1e-3 * t, t, t != 2, d16));
    }
    expect("adamw params", F32, dp, p, n, 1e-6);
    expect("adamw m", F32, dm, m, n, 1e-6);
    expect("adamw v", F32, dv, v, n, 1e-6);
    float *w16 = copy_of(p, n);
    gc_round_bf16(w16, n);
    expect("adamw bf16 params", BF16, d16, w16, n, 0.0); /* bf16 tolerance; equal up to one rounding */
    nn_cuda_free(dp), nn_cuda_free(dm), nn_cuda_free(dv), nn_cuda_free(dg), nn_cuda_free(d16);
    free(p), free(m), free(v), free(g), free(w16);
}

static void linear_case(nn_cuda_dtype dt, int N, int in, int out) {
    float *x = draw(dt, (size_t)N * in, 1.0f), *W = draw(dt, (size_t)out * in, 0.1f), *b = draw(F32, out, 0.5f);
    float *y = host((size_t)N * out), *dy = draw(dt, (size_t)N * out, 1.0f);
    float *dx = draw(dt, (size_t)N * in, 0.5f), *dW = draw(F32, (size_t)out * in, 0.5f), *db = draw(F32, out, 0.5f);
    void *gx = put(dt, x, (size_t)N * in), *gW = put(dt, W, (size_t)out * in), *gy = poisoned(dt, (size_t)N * out);
    void *gdy = put(dt, dy, (size_t)N * out), *gdx = put(dt, dx, (size_t)N * in);
    float *gb = put(F32, b, out), *gdW = put(F32, dW, (size_t)out * in), *gdb = put(F32, db, out);
    nn_linear_forward(y, x, W, b, N, in, out);
    OK(nn_cuda_linear_forward(ctx, dt, gy, gx, gW, gb, N, in, out));
    expect("linear y", dt, gy, y, (size_t)N * out, 1e-5);
    nn_linear_backward(dx, dW, db, dy, x, W, N, in, out);
    OK(nn_cuda_linear_backward(ctx, dt, gdx, gdW, gdb, gdy, gx, gW, N, in, out));
    expect("linear dx", dt, gdx, dx, (size_t)N * in, 1e-4);
    expect("linear dW", F32, gdW, dW, (size_t)out * in, dt == BF16 ? 1e-2 : 1e-4);
    expect("linear dbias", F32, gdb, db, out, dt == BF16 ? 1e-2 : 1e-4);
    void *bufs[] = {gx, gW, gy, gdy, gdx, gb, gdW, gdb};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) nn_cuda_free(bufs[i]);
    free(x), free(W), free(b), free(y), free(dy), free(dx), free(dW), free(db);
}

static void linear_matches_cpu(void **state) {
    linear_case(dtype_of(state), 37, 200, 72);
    linear_case(dtype_of(state), 5, 33, 17); /* odd sizes: unaligned rows */
    linear_case(dtype_of(state), 130, 256, 1000);
}

static void rmsnorm_matches_cpu(void **state) {
    nn_cuda_dtype dt = dtype_of(state);
    const int N = 19, C = 300;
    const size_t n = (size_t)N * C;
    float *x = draw(dt, n, 2.0f), *w = draw(F32, C, 1.0f), *y = host(n), *rstd = host(N), *dy = draw(dt, n, 1.0f);
    float *dx = draw(dt, n, 0.5f), *dw = draw(F32, C, 0.5f);
    void *gx = put(dt, x, n), *gy = poisoned(dt, n), *gdy = put(dt, dy, n), *gdx = put(dt, dx, n);
    float *gw = put(F32, w, C), *grstd = poisoned(F32, N), *gdw = put(F32, dw, C);
    nn_rmsnorm_forward(y, rstd, x, w, 1e-6f, N, C);
    OK(nn_cuda_rmsnorm_forward(ctx, dt, gy, grstd, gx, gw, 1e-6f, N, C));
    expect("rmsnorm y", dt, gy, y, n, 1e-5);
    expect("rmsnorm rstd", F32, grstd, rstd, N, 1e-5);
    nn_rmsnorm_backward(dx, dw, dy, x, w, rstd, N, C);
    OK(nn_cuda_rmsnorm_backward(ctx, dt, gdx, gdw, gdy, gx, gw, grstd, N, C));
    expect("rmsnorm dx", dt, gdx, dx, n, 1e-4);
    expect("rmsnorm dweight", F32, gdw, dw, C, dt == BF16 ? 1e-2 : 1e-4);
    void *bufs[] = {gx, gy, gdy, gdx, gw, grstd, gdw};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) nn_cuda_free(bufs[i]);
    free(x), free(w), free(y), free(rstd), free(dy), free(dx), free(dw);
}

static void rope_matches_cpu(void **state) {
    nn_cuda_dtype dt = dtype_of(state);
    const int T = 13, H = 3, hd = 64;
    const size_t n = (size_t)T * H * hd, half = (size_t)T * hd / 2;
    nn_rope_config rc = {.type = NN_ROPE_DEFAULT, .theta = 1e6f};
    float inv[32], *c = host(half), *s = host(half), *x = draw(dt, n, 1.0f);
    int32_t pos[13];
    for (int t = 0; t < T; t++) pos[t] = 100 + 37 * t;
    nn_rope_inv_freq(inv, &rc, hd);
    nn_rope_tables(c, s, pos, inv, T, hd);
    void *gx = put(dt, x, n);
    float *gc = put(F32, c, half), *gs = put(F32, s, half);
    nn_rope_forward(x, c, s, T, H, hd);
    OK(nn_cuda_rope_forward(ctx, dt, gx, gc, gs, T, H, hd));
    expect("rope forward", dt, gx, x, n, 1e-5);
    float *back = get(dt, gx, n); /* the backward from the same start on both sides */
    nn_rope_backward(back, c, s, T, H, hd);
    OK(nn_cuda_rope_backward(ctx, dt, gx, gc, gs, T, H, hd));
    expect("rope backward", dt, gx, back, n, 1e-5);
    nn_cuda_free(gx), nn_cuda_free(gc), nn_cuda_free(gs);
    free(c), free(s), free(x), free(back);
}

static void swiglu_and_add_match_cpu(void **state) {
    nn_cuda_dtype dt = dtype_of(state);
    const size_t n = 10007;
    float *g = draw(dt, n, 4.0f), *u = draw(dt, n, 2.0f), *out = host(n), *dout = draw(dt, n, 1.0f);
    float *dg = draw(dt, n, 0.5f), *du = draw(dt, n, 0.5f);
    void *gg = put(dt, g, n), *gu = put(dt, u, n), *gout = poisoned(dt, n), *gdout = put(dt, dout, n);
    void *gdg = put(dt, dg, n), *gdu = put(dt, du, n);
    nn_swiglu_forward(out, g, u, n);
    OK(nn_cuda_swiglu_forward(ctx, dt, gout, gg, gu, n));
    expect("swiglu out", dt, gout, out, n, 1e-5);
    nn_swiglu_backward(dg, du, dout, g, u, n);
    OK(nn_cuda_swiglu_backward(ctx, dt, gdg, gdu, gdout, gg, gu, n));
    expect("swiglu dgate", dt, gdg, dg, n, 1e-5);
    expect("swiglu dup", dt, gdu, du, n, 1e-5);
    nn_add_inplace(g, u, n);
    OK(nn_cuda_add_inplace(ctx, dt, gg, gu, n));
    expect("residual add", dt, gg, g, n, 1e-6);
    void *bufs[] = {gg, gu, gout, gdout, gdg, gdu};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) nn_cuda_free(bufs[i]);
    free(g), free(u), free(out), free(dout), free(dg), free(du);
}

/* One packed attention case: forward out and lse, backward dq, dk, dv. */
static void attention_case(nn_cuda_dtype dt, const int32_t *seq, int B, int H, int KVH, int hd) {
    const int N = seq[B];
    const size_t nq = (size_t)N * H * hd, nk = (size_t)N * KVH * hd;
    int max_len = 0;
    for (int s = 0; s < B; s++) max_len = seq[s + 1] - seq[s] > max_len ? seq[s + 1] - seq[s] : max_len;
    float *q = draw(dt, nq, 1.0f), *k = draw(dt, nk, 1.0f), *v = draw(dt, nk, 1.0f), *dout = draw(dt, nq, 1.0f);
    float *out = host(nq), *lse = host((size_t)N * H), *scratch = host(nn_attention_packed_scratch_floats(max_len));
    float *dq = draw(dt, nq, 0.5f), *dk = draw(dt, nk, 0.5f), *dv = draw(dt, nk, 0.5f);
    void *gq = put(dt, q, nq), *gk = put(dt, k, nk), *gv = put(dt, v, nk), *gout = poisoned(dt, nq);
    void *gdout = put(dt, dout, nq), *gdq = put(dt, dq, nq), *gdk = put(dt, dk, nk), *gdv = put(dt, dv, nk);
    float *glse = poisoned(F32, (size_t)N * H), *gD = poisoned(F32, (size_t)N * H);
    int32_t *gseq = put_bytes(seq, (size_t)(B + 1) * 4);
    nn_attention_packed_forward(out, lse, q, k, v, seq, B, H, KVH, hd, scratch, 1);
    OK(nn_cuda_attention_forward(ctx, dt, gout, glse, gq, gk, gv, gseq, seq, B, N, H, KVH, hd));
    expect("attention out", dt, gout, out, nq, 1e-5);
    expect("attention lse", F32, glse, lse, (size_t)N * H, 1e-5);
    if (dt == BF16) gc_round_bf16(out, nq); /* backward reads the forward's stored (bf16) output */
    nn_attention_packed_backward(dq, dk, dv, dout, out, lse, q, k, v, seq, B, H, KVH, hd, scratch, 1);
    OK(nn_cuda_attention_backward(ctx, dt, gdq, gdk, gdv, gD, gdout, gout, glse, gq, gk, gv, gseq, seq, B, N, H, KVH,
                                  hd));
    expect("attention dq", dt, gdq, dq, nq, 1e-4);
    expect("attention dk", dt, gdk, dk, nk, 1e-4);
    expect("attention dv", dt, gdv, dv, nk, 1e-4);
    void *bufs[] = {gq, gk, gv, gout, gdout, gdq, gdk, gdv, glse, gD, gseq};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) nn_cuda_free(bufs[i]);
    free(q), free(k), free(v), free(dout), free(out), free(lse), free(scratch), free(dq), free(dk), free(dv);
}

static void attention_matches_cpu(void **state) {
    nn_cuda_dtype dt = dtype_of(state);
    const int32_t a[] = {0, 5, 75, 76, 109}; /* segments 5, 70, 1, 33: a key leaking across fails */
    attention_case(dt, a, 4, 4, 2, 64);
    const int32_t b[] = {0, 130, 137, 201};
    attention_case(dt, b, 3, 14, 2, 64);
    const int32_t c[] = {0, 9};
    attention_case(dt, c, 1, 7, 1, 16);
    const int32_t d[] = {0, 40, 130};
    attention_case(dt, d, 2, 4, 4, 128);
    const int32_t e[] = {0, 300};
    attention_case(dt, e, 1, 2, 1, 80); /* hd not a multiple of 32 */
}

static void embedding_matches_cpu(void **state) {
    nn_cuda_dtype dt = dtype_of(state);
    const int V = 50, C = 70, N = 300; /* N > V: ids repeat */
    float *table = draw(dt, (size_t)V * C, 1.0f), *out = host((size_t)N * C), *dout = draw(dt, (size_t)N * C, 1.0f);
    float *dtable = draw(F32, (size_t)V * C, 0.01f);
    int32_t ids[300];
    for (int n = 0; n < N; n++) ids[n] = (int32_t)(gc_next(&rng) % V);
    /* gout sized for f32: it takes both the dt and the f32 output */
    void *gtable = put(dt, table, (size_t)V * C), *gout = poisoned(F32, (size_t)N * C), *gdout = put(dt, dout, (size_t)N * C);
    float *gdtable = put(F32, dtable, (size_t)V * C);
    int32_t *gids = put_bytes(ids, sizeof ids);
    nn_embedding_forward(out, ids, table, N, C);
    OK(nn_cuda_embedding_forward(ctx, dt, dt, gout, gids, gtable, N, C));
    expect("embedding out", dt, gout, out, (size_t)N * C, 0.0); /* a copy: exact on f32 */
    OK(nn_cuda_memset(ctx, gout, 0xff, (size_t)N * C * 4));
    OK(nn_cuda_embedding_forward(ctx, F32, dt, gout, gids, gtable, N, C)); /* dt table, f32 activations */
    expect("embedding out (f32)", F32, gout, out, (size_t)N * C, 0.0);
    nn_embedding_backward(dtable, dout, ids, N, C);
    OK(nn_cuda_embedding_backward(ctx, dt, gdtable, gdout, gids, N, C));
    expect("embedding dtable", F32, gdtable, dtable, (size_t)V * C, 1e-6);
    void *bufs[] = {gtable, gout, gdout, gdtable, gids};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) nn_cuda_free(bufs[i]);
    free(table), free(out), free(dout), free(dtable);
}

static void sum_sq_and_scale_match_cpu(void **state) {
    (void)state;
    const size_t sizes[] = {1, 1000, 300001};
    double *scratch = NULL;
    OK(nn_cuda_malloc((void **)&scratch, (NN_CUDA_SUM_SQ_BLOCKS + 1) * sizeof(double), "sum_sq scratch"));
    for (int k = 0; k < 3; k++) {
        size_t n = sizes[k];
        float *x = draw(F32, n, 3.0f);
        float *gx = put(F32, x, n);
        double got = -1.0, want = nn_sum_sq(x, n);
        OK(nn_cuda_sum_sq(ctx, &got, gx, n, scratch));
        assert_true(gc_close("sum_sq", got, want, 1e-12));
        nn_scale(x, n, 0.37f);
        OK(nn_cuda_scale(ctx, gx, n, 0.37f));
        expect("scale", F32, gx, x, n, 0.0);
        nn_cuda_free(gx);
        free(x);
    }
    nn_cuda_free(scratch);
}
