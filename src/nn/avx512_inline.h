/* avx512_inline.h — small AVX-512 helpers the kernels share (internal to
 * src/nn). Include it after <immintrin.h> and inside an RG_ISA_BEGIN region
 * that enables avx512f (nn/isa.h): the functions take that region's target. */
#ifndef RG_NN_AVX512_INLINE_H
#define RG_NN_AVX512_INLINE_H

/* 16 floats -> 16 bf16, nearest even (NaN stays NaN): nn_f32_to_bf16's bits. */
static inline __m256i nn_round_bf16x16(__m512 v) {
    __m512i u = _mm512_castps_si512(v);
    __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff))), 16);
    __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)),
                                            _mm512_set1_epi32(0x7f800000));
    rounded = _mm512_mask_or_epi32(rounded, nan, _mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40));
    return _mm512_cvtepi32_epi16(rounded);
}

/* out[k] = the sum of a_k's 16 lanes, k < 4: one transposing tree (9 shuffles
 * and adds for the four) instead of four separate reductions. Each sum is
 * q_0 + ... in a fixed order, the same for every argument position:
 * q_j = (a[4j] + a[4j+2]) + (a[4j+1] + a[4j+3]), sum = (q_0 + q_2) + (q_1 + q_3). */
static inline void nn_hsum4(float *out, __m512 a0, __m512 a1, __m512 a2, __m512 a3) {
    __m512 t0 = _mm512_add_ps(_mm512_unpacklo_ps(a0, a1), _mm512_unpackhi_ps(a0, a1)); /* a0 a1 a0 a1 per 128 */
    __m512 t1 = _mm512_add_ps(_mm512_unpacklo_ps(a2, a3), _mm512_unpackhi_ps(a2, a3));
    __m512 u = _mm512_add_ps(_mm512_shuffle_ps(t0, t1, 0x44), _mm512_shuffle_ps(t0, t1, 0xEE)); /* a0..a3 per 128 */
    __m256 v = _mm256_add_ps(_mm512_castps512_ps256(u),
                             _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(u), 1)));
    _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1)));
}

#endif
