/* convert.h — the half-precision array conversions behind nn.h's
 * nn_{bf16,f16}_to_f32_array / nn_f32_to_{bf16,f16}_array (internal to
 * src/nn). Every conversion is exact or one round-to-nearest-even, so the
 * plain-C (ref) and AVX2 (+F16C) versions agree bit for bit (tested in
 * test_kernel_paths); the dispatch in convert.c picks one per nn_cpu_path. */
#ifndef RG_NN_CONVERT_H
#define RG_NN_CONVERT_H

#include <stddef.h>
#include <stdint.h>

#include "nn/isa.h"

// in[n] -> out[n], each over the whole range (scalar tail included)
void nn_bf16_to_f32_ref(float *out, const uint16_t *in, size_t n);
void nn_f32_to_bf16_ref(uint16_t *out, const float *in, size_t n);
void nn_f16_to_f32_ref(float *out, const uint16_t *in, size_t n);
void nn_f32_to_f16_ref(uint16_t *out, const float *in, size_t n);
#if RG_HAVE_X86_SIMD
void nn_bf16_to_f32_avx2(float *out, const uint16_t *in, size_t n);
void nn_f32_to_bf16_avx2(uint16_t *out, const float *in, size_t n);
void nn_f16_to_f32_f16c(float *out, const uint16_t *in, size_t n);
void nn_f32_to_f16_f16c(uint16_t *out, const float *in, size_t n);
#endif

#endif
