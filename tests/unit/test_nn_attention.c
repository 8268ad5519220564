/* test_nn_attention.c — causal GQA attention against PyTorch (HF eager
 * attention written out: repeat_kv, 1/sqrt(hd), causal mask, softmax) and
 * its autograd gradients in float64; GQA ratios 1, 2 and 7, head_dim 64 and
 * odd-ish 10/16/8, T = 130 (large enough for the threaded path); the KV-cache variant for prefill after a prefix and for
 * single-token decode; the packed kernels (segments back to back, lse saved,
 * probabilities recomputed in backward).
 * Tolerances: outputs atol 1e-5 + rtol 1e-5; gradients atol 1e-5 + rtol 1e-4. */
#include "nn/nn.h"
#include "nn_ref_reader.h"

static void attention_matches_torch(void **state) {
    (void)state;
    ref_file f;
    ref_open(&f, "nn_attention.safetensors");
    for (int i = 0; i < 6; i++) {
        char c[32];
        snprintf(c, sizeof c, "attn%d", i);
        int32_t *dims = ref_i32(&f, ref_name(c, "dims"), NULL);
        int T = dims[0], nh = dims[1], nkv = dims[2], hd = dims[3];
        size_t nq = (size_t)T * nh * hd, nk = (size_t)T * nkv * hd;
        float *q = ref_f32(&f, ref_name(c, "q"), NULL), *k = ref_f32(&f, ref_name(c, "k"), NULL);
        float *v = ref_f32(&f, ref_name(c, "v"), NULL), *dout = ref_f32(&f, ref_name(c, "dout"), NULL);
        float *out = malloc(nq * sizeof(float)), *probs = malloc((size_t)nh * T * T * sizeof(float));
        nn_attention_forward(out, probs, q, k, v, T, nh, nkv, hd);
        check_ref(&f, c, "out", out, nq, 1e-5, 1e-5);
        /* gradients accumulate: start at 0.5 and take it off again */
        float *dq = malloc(nq * sizeof(float)), *dk = malloc(nk * sizeof(float)), *dv = malloc(nk * sizeof(float));
        for (size_t j = 0; j < nq; j++) dq[j] = 0.5f;
        for (size_t j = 0; j < nk; j++) dk[j] = dv[j] = 0.5f;
        float *scratch = malloc(nn_attention_backward_scratch_floats(T, nh, hd) * sizeof(float));
        nn_attention_backward(dq, dk, dv, scratch, dout, q, k, v, probs, T, nh, nkv, hd);
        for (size_t j = 0; j < nq; j++) dq[j] -= 0.5f;
        for (size_t j = 0; j < nk; j++) dk[j] -= 0.5f, dv[j] -= 0.5f;
        check_ref(&f, c, "dq", dq, nq, 1e-5, 1e-4);
        check_ref(&f, c, "dk", dk, nk, 1e-5, 1e-4);
        check_ref(&f, c, "dv", dv, nk, 1e-5, 1e-4);
        free(dims); free(q); free(k); free(v); free(dout); free(out); free(probs);
        free(dq); free(dk); free(dv); free(scratch);
    }
    ref_close(&f);
}

static void cached_attention_matches_torch(void **state) {
    (void)state;
    ref_file f;
    ref_open(&f, "nn_attention.safetensors");
    for (int i = 0; i < 4; i++) {
        char c[32];
        snprintf(c, sizeof c, "cached%d", i);
        int32_t *dims = ref_i32(&f, ref_name(c, "dims"), NULL);
        int P = dims[0], T = dims[1], nh = dims[2], nkv = dims[3], hd = dims[4];
        size_t nq = (size_t)T * nh * hd;
        float *q = ref_f32(&f, ref_name(c, "q"), NULL), *k = ref_f32(&f, ref_name(c, "k"), NULL);
        float *v = ref_f32(&f, ref_name(c, "v"), NULL);
        float *out = malloc(nq * sizeof(float)), *scratch = malloc((size_t)nh * T * (P + T) * sizeof(float));
        nn_attention_forward_cached(out, scratch, q, k, v, T, P, nh, nkv, hd);
        check_ref(&f, c, "out", out, nq, 1e-5, 1e-5);
        free(dims); free(q); free(k); free(v); free(out); free(scratch);
    }
    ref_close(&f);
}

/* Packed segments (3-4 of different lengths, GQA 2 and 7, one of 130 rows
 * for the threaded path) against PyTorch run segment by segment: the output
 * and all three gradients, same tolerances as above. The lse is checked
 * indirectly: backward rebuilds every probability from it. */
static void packed_attention_matches_torch(void **state) {
    (void)state;
    ref_file f;
    ref_open(&f, "nn_attention.safetensors");
    for (int i = 0; i < 3; i++) {
        char c[32];
        snprintf(c, sizeof c, "packed%d", i);
        int32_t *dims = ref_i32(&f, ref_name(c, "dims"), NULL), *starts = ref_i32(&f, ref_name(c, "seq_start"), NULL);
        int B = dims[0], nh = dims[1], nkv = dims[2], hd = dims[3], N = starts[B], longest = 0;
        for (int s = 0; s < B; s++) longest = starts[s + 1] - starts[s] > longest ? starts[s + 1] - starts[s] : longest;
        size_t nq = (size_t)N * nh * hd, nk = (size_t)N * nkv * hd;
        float *q = ref_f32(&f, ref_name(c, "q"), NULL), *k = ref_f32(&f, ref_name(c, "k"), NULL);
        float *v = ref_f32(&f, ref_name(c, "v"), NULL), *dout = ref_f32(&f, ref_name(c, "dout"), NULL);
        const int slots = 3; /* more slots than this machine may run: unused ones stay unused */
        float *scratch = malloc(slots * nn_attention_packed_scratch_floats(longest) * sizeof(float));
        float *out = malloc(nq * sizeof(float)), *lse = malloc((size_t)N * nh * sizeof(float));
        nn_attention_packed_forward(out, lse, q, k, v, starts, B, nh, nkv, hd, scratch, slots);
        check_ref(&f, c, "out", out, nq, 1e-5, 1e-5);
        float *dq = malloc(nq * sizeof(float)), *dk = malloc(nk * sizeof(float)), *dv = malloc(nk * sizeof(float));
        for (size_t j = 0; j < nq; j++) dq[j] = 0.5f;
        for (size_t j = 0; j < nk; j++) dk[j] = dv[j] = 0.5f;
        nn_attention_packed_backward(dq, dk, dv, dout, out, lse, q, k, v, starts, B, nh, nkv, hd, scratch, slots);
        for (size_t j = 0; j < nq; j++) dq[j] -= 0.5f;
        for (size_t j = 0; j < nk; j++) dk[j] -= 0.5f, dv[j] -= 0.5f;
        check_ref(&f, c, "dq", dq, nq, 1e-5, 1e-4);
        check_ref(&f, c, "dk", dk, nk, 1e-5, 1e-4);
        check_ref(&f, c, "dv", dv, nk, 1e-5, 1e-4);
        free(dims); free(starts); free(q); free(k); free(v); free(dout); free(out); free(lse);
        free(dq); free(dk); free(dv); free(scratch);
    }
    ref_close(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(attention_matches_torch),
        cmocka_unit_test(cached_attention_matches_torch),
        cmocka_unit_test(packed_attention_matches_torch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
