/* linear.c — nn_linear: the one linear layer over a weight that carries its
 * precision (nn_weight), so the model code has no dtype branches.
 *
 *   f32  W: nn_linear_forward (N <= 8: the streaming decode kernel of gemv.c;
 *           larger N: sgemm).
 *   bf16 W: where nn_bf16dot_in_use() and the caller allows bf16
 *           activations (inference), the bf16 dot products for any N:
 *           gemv.c's bf16 dot decode kernel for N <= 8, the GEMM of
 *           matmul_bf16dot.c for prefill. Else (f32 activations): N <= 8 the
 *           streaming bf16 decode kernel (gemv.c); larger N with the caller's
 *           scratch, when it is big enough, the whole matrix widened once and
 *           one sgemm (instead of one sgemm per panel, each re-packing x);
 *           otherwise nn_linear_bf16_forward's panels. */
#include "nn/gemv.h"
#include "nn/nn.h"

// x[N, W.cols], W[rows, cols] f32 or bf16, bias[rows] or NULL -> y[N, rows]
void nn_linear(float *y, const float *x, const nn_weight *W, const float *bias, int N, const nn_scratch *scratch) {
    const size_t numel = (size_t)W->rows * W->cols;
    float *buf = scratch ? scratch->buf : NULL;
    const size_t floats = buf ? scratch->floats : 0;
    if (W->f32)
        nn_linear_forward(y, x, W->f32, bias, N, W->cols, W->rows);
    else if (scratch && !scratch->f32_activations && nn_bf16dot_in_use())
        nn_linear_bf16_forward_ws(y, x, W->bf16, bias, N, W->cols, W->rows, buf, floats);
    else if (N > NN_GEMV_MAX_ROWS && buf && numel <= floats) {
        nn_bf16_to_f32_array(buf, W->bf16, numel);
        nn_linear_forward(y, x, buf, bias, N, W->cols, W->rows);
    } else
        nn_linear_bf16_forward(y, x, W->bf16, bias, N, W->cols, W->rows, buf, floats);
}
