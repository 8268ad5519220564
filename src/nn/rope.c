/* rope.c — rotary position embedding as Hugging Face Llama/Qwen apply it:
 * rotate_half (pairs i and i + hd/2, not interleaved), cos/sin from
 * inv_freq and the positions, with the llama3 rescaling of inv_freq. */
#include <math.h>

#include "nn/nn.h"

// config, hd -> inv_freq[hd/2]
void nn_rope_inv_freq(float *inv_freq, const nn_rope_config *config, int hd) {
    /* Every step is f32 in the order transformers runs it, so that far
     * positions (where one ulp of inv_freq moves the angle) match HF. */
    int half = hd / 2;
    for (int i = 0; i < half; i++) {
        /* _compute_default_rope_parameters: 1 / theta^(arange(0, hd, 2) / hd) */
        float exponent = (float)(2 * i) / (float)hd;
        float f = 1.0f / powf(config->theta, exponent);
        if (config->type == NN_ROPE_LLAMA3) {
            /* _compute_llama3_parameters: long wavelengths divided by factor,
             * short ones kept, the band between blended smoothly. */
            const float factor = config->factor, low = config->low_freq_factor, high = config->high_freq_factor;
            const float old_len = (float)config->original_max_position;
            const float low_freq_wavelen = old_len / low, high_freq_wavelen = old_len / high;
            float wavelen = (float)(2.0 * M_PI) / f;
            float scaled = wavelen > low_freq_wavelen ? f / factor : f;
            if (!(wavelen < high_freq_wavelen) && !(wavelen > low_freq_wavelen)) {
                float smooth = (old_len / wavelen - low) / (high - low);
                scaled = (1.0f - smooth) * scaled / factor + smooth * scaled;
            }
            f = scaled;
        }
        inv_freq[i] = f;
    }
}

// positions[T], inv_freq[hd/2] -> cos_table[T, hd/2], sin_table[T, hd/2]
void nn_rope_tables(float *cos_table, float *sin_table, const int32_t *positions, const float *inv_freq, int T,
                    int hd) {
    int half = hd / 2;
    for (int t = 0; t < T; t++) {
        for (int i = 0; i < half; i++) {
            /* The angle is rounded to f32 as in HF (inv_freq @ position_ids in
             * f32); far positions then match HF, not exact arithmetic. */
            float angle = inv_freq[i] * (float)positions[t];
            cos_table[(size_t)t * half + i] = (float)cos((double)angle);
            sin_table[(size_t)t * half + i] = (float)sin((double)angle);
        }
    }
}

/* Rotates every head of x[T, n_heads, hd] by +angle (sign = 1) or -angle (sign = -1). */
static void rotate(float *x, const float *cos_table, const float *sin_table, int T, int n_heads, int hd, float sign) {
    int half = hd / 2;
#pragma omp parallel for schedule(static) if ((size_t)T * n_heads * hd > (1u << 15))
    for (int t = 0; t < T; t++) {
        const float *c = cos_table + (size_t)t * half, *s = sin_table + (size_t)t * half;
        for (int h = 0; h < n_heads; h++) {
            float *x1 = x + ((size_t)t * n_heads + h) * hd, *x2 = x1 + half;
            for (int i = 0; i < half; i++) {
                float a = x1[i], b = x2[i], si = sign * s[i];
                x1[i] = a * c[i] - b * si;
                x2[i] = b * c[i] + a * si;
            }
        }
    }
}

// x[T, n_heads, hd] in place; cos_table/sin_table[T, hd/2]
void nn_rope_forward(float *x, const float *cos_table, const float *sin_table, int T, int n_heads, int hd) {
    rotate(x, cos_table, sin_table, T, n_heads, hd, 1.0f);
}

// dx[T, n_heads, hd] in place: the transpose of a rotation is the rotation by -angle
void nn_rope_backward(float *dx, const float *cos_table, const float *sin_table, int T, int n_heads, int hd) {
    rotate(dx, cos_table, sin_table, T, n_heads, hd, -1.0f);
}
