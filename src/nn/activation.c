/* activation.c — SwiGLU, the gated MLP activation of Llama/Qwen:
 * out = silu(gate) * up, silu(g) = g * sigmoid(g). */
#include <math.h>

#include "nn/nn.h"

// gate[n], up[n] -> out[n]
void nn_swiglu_forward(float *out, const float *gate, const float *up, size_t n) {
#pragma omp parallel for schedule(static) if (n > (1u << 15))
    for (size_t i = 0; i < n; i++) {
        float g = gate[i];
        out[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

// dout[n], gate[n], up[n] -> dgate[n] +=, dup[n] +=
void nn_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate, const float *up, size_t n) {
#pragma omp parallel for schedule(static) if (n > (1u << 15))
    for (size_t i = 0; i < n; i++) {
        float g = gate[i], sig = 1.0f / (1.0f + expf(-g));
        /* d silu / dg = sig * (1 + g * (1 - sig)) */
        if (dgate) dgate[i] += dout[i] * up[i] * sig * (1.0f + g * (1.0f - sig));
        if (dup) dup[i] += dout[i] * g * sig;
    }
}
