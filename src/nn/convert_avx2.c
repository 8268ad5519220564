/* convert_avx2.c — 8-wide bf16 <-> f32 (AVX2) and f16 <-> f32 (F16C) array
 * conversions (see convert.h); the scalar tail uses nn.h's exact scalar
 * conversions, so each function covers any n. */
#include "nn/convert.h"

#include "nn/isa.h"
#include "nn/nn.h"

#if RG_HAVE_X86_SIMD
#include <immintrin.h>

RG_ISA_BEGIN("avx2,f16c")

void nn_f16_to_f32_f16c(float *out, const uint16_t *in, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(in + i))));
    for (; i < n; i++) out[i] = nn_f16_to_f32(in[i]);
}

void nn_f32_to_f16_f16c(uint16_t *out, const float *in, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(out + i), _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) out[i] = nn_f32_to_f16(in[i]);
}

void nn_bf16_to_f32_avx2(float *out, const uint16_t *in, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(in + i)));
        _mm256_storeu_si256((__m256i *)(out + i), _mm256_slli_epi32(wide, 16));
    }
    for (; i < n; i++) out[i] = nn_bf16_to_f32(in[i]);
}

/* As nn_f32_to_bf16: add 0x7fff + the kept lsb (round to nearest even), and
 * a NaN keeps its top bits with the quiet bit set instead of rounding. */
void nn_f32_to_bf16_avx2(uint16_t *out, const float *in, size_t n) {
    const __m256i one = _mm256_set1_epi32(1), bias = _mm256_set1_epi32(0x7fff);
    const __m256i abs_mask = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
    const __m256i quiet = _mm256_set1_epi32(0x0040);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i bits = _mm256_loadu_si256((const __m256i *)(in + i));
        __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(bits, 16), one);
        __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(bits, _mm256_add_epi32(bias, lsb)), 16);
        __m256i nan_result = _mm256_or_si256(_mm256_srli_epi32(bits, 16), quiet);
        __m256i is_nan = _mm256_cmpgt_epi32(_mm256_and_si256(bits, abs_mask), inf);
        __m256i res = _mm256_blendv_epi8(rounded, nan_result, is_nan);
        _mm_storeu_si128((__m128i *)(out + i),
                         _mm_packus_epi32(_mm256_castsi256_si128(res), _mm256_extracti128_si256(res, 1)));
    }
    for (; i < n; i++) out[i] = nn_f32_to_bf16(in[i]);
}

RG_ISA_END
#endif
