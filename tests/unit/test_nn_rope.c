/* test_nn_rope.c — RoPE against Hugging Face's formulas run by PyTorch
 * (tests/ref/nn_ref.py): inv_freq (default and llama3 rope_scaling, f32 as
 * HF computes it), the cos/sin tables (HF rounds the angle to f32), and the
 * rotation and its gradient by autograd in float64.
 * Tolerances: inv_freq exact (the same f32 operations in the same order: far
 * positions multiply any ulp of difference);
 * cos/sin atol 2e-6 (f32 cos of the same f32 angle); rotated values and
 * gradients atol 1e-5 + rtol 1e-5 (given the tables, two products and a sum). */
#include "nn/nn.h"
#include "nn_ref_reader.h"

static void rope_matches_hf(void **state) {
    (void)state;
    ref_file f;
    ref_open(&f, "nn_rope.safetensors");
    for (int i = 0; i < 4; i++) {
        char c[32];
        snprintf(c, sizeof c, "rope%d", i);
        size_t T, n;
        int32_t *positions = ref_i32(&f, ref_name(c, "positions"), &T);
        float *scaling = ref_f32(&f, ref_name(c, "scaling"), NULL);
        int hd = (int)ref_scalar(&f, ref_name(c, "hd")), n_heads = (int)ref_scalar(&f, ref_name(c, "n_heads"));
        nn_rope_config config = {
            .type = ref_scalar(&f, ref_name(c, "llama3")) ? NN_ROPE_LLAMA3 : NN_ROPE_DEFAULT,
            .theta = (float)ref_scalar(&f, ref_name(c, "theta")),
            .factor = scaling[0],
            .low_freq_factor = scaling[1],
            .high_freq_factor = scaling[2],
            .original_max_position = (int)scaling[3],
        };
        float *inv_freq = malloc(hd / 2 * sizeof(float));
        nn_rope_inv_freq(inv_freq, &config, hd);
        check_ref(&f, c, "inv_freq", inv_freq, hd / 2, 0, 0); /* bit-exact with HF */
        float *cos_table = malloc(T * hd / 2 * sizeof(float)), *sin_table = malloc(T * hd / 2 * sizeof(float));
        nn_rope_tables(cos_table, sin_table, positions, inv_freq, (int)T, hd);
        check_ref(&f, c, "cos", cos_table, T * hd / 2, 2e-6, 0);
        check_ref(&f, c, "sin", sin_table, T * hd / 2, 2e-6, 0);
        float *x = ref_f32(&f, ref_name(c, "x"), &n), *dy = ref_f32(&f, ref_name(c, "dy"), NULL);
        nn_rope_forward(x, cos_table, sin_table, (int)T, n_heads, hd);
        check_ref(&f, c, "y", x, n, 1e-5, 1e-5);
        nn_rope_backward(dy, cos_table, sin_table, (int)T, n_heads, hd);
        check_ref(&f, c, "dx", dy, n, 1e-5, 1e-5);
        free(positions); free(scaling); free(inv_freq); free(cos_table); free(sin_table); free(x); free(dy);
    }
    ref_close(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(rope_matches_hf)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
