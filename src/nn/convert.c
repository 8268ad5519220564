/* convert.c — f16 scalar conversions, the plain-C array conversions and the
 * dispatch of every half-precision array conversion (see convert.h): the
 * one implementation that io (safetensors, GGUF), the model loader and the
 * checkpoint writer all call. */
#include "nn/convert.h"

#include <string.h>

#include "nn/cpu.h"
#include "nn/nn.h"

static inline uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static inline float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Exact: every f16 is an f32. A signalling NaN comes back quiet, as F16C's
 * vcvtph2ps does, so scalar and bulk paths agree bit for bit. */
float nn_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exponent = (h >> 10) & 0x1fu;
    uint32_t mantissa = h & 0x3ffu;
    if (exponent == 0) {
        /* zero or subnormal: mantissa * 2^-24, exact in f32 */
        float magnitude = (float)mantissa * 0x1p-24f;
        return bits_f32(f32_bits(magnitude) | sign);
    }
    if (exponent == 31) {
        if (mantissa == 0) return bits_f32(sign | 0x7f800000u);
        return bits_f32(sign | 0x7fc00000u | (mantissa << 13));
    }
    return bits_f32(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

/* Round to nearest even, overflow to infinity, gradual underflow into f16
 * subnormals; NaN -> quiet NaN with the top payload bits (as vcvtps2ph). */
uint16_t nn_f32_to_f16(float f) {
    uint32_t bits = f32_bits(f);
    uint16_t sign = (uint16_t)((bits >> 16) & 0x8000u);
    uint32_t magnitude = bits & 0x7fffffffu;
    if (magnitude > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((magnitude >> 13) & 0x3ffu));
    if (magnitude >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* >= 65520 rounds to inf */
    if (magnitude < 0x38800000u) {                                      /* below 2^-14: subnormal */
        uint32_t exponent = magnitude >> 23;
        if (exponent < 102) return sign; /* below 2^-25: rounds to zero (ties included) */
        uint32_t mantissa = (magnitude & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126 - exponent; /* value / 2^-24 = mantissa >> shift */
        uint32_t q = mantissa >> shift;
        uint32_t rest = mantissa & ((1u << shift) - 1u), half = 1u << (shift - 1);
        if (rest > half || (rest == half && (q & 1u))) q++;
        return (uint16_t)(sign | q);
    }
    uint32_t rebased = magnitude - 0x38000000u; /* exponent bias 127 -> 15 */
    rebased += 0xfffu + ((rebased >> 13) & 1u);
    return (uint16_t)(sign | (rebased >> 13));
}

void nn_bf16_to_f32_ref(float *out, const uint16_t *in, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = nn_bf16_to_f32(in[i]);
}
void nn_f32_to_bf16_ref(uint16_t *out, const float *in, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = nn_f32_to_bf16(in[i]);
}
void nn_f16_to_f32_ref(float *out, const uint16_t *in, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = nn_f16_to_f32(in[i]);
}
void nn_f32_to_f16_ref(uint16_t *out, const float *in, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = nn_f32_to_f16(in[i]);
}

/* ---- dispatch -------------------------------------------------------------
 * Whole weight matrices are converted at load and save: blocks of 64k values
 * (a multiple of 8) go to threads, each through the chosen path. Exact
 * conversions, so neither the path nor the thread count changes a bit. */
#define BLOCK ((size_t)1 << 16)

#if RG_HAVE_X86_SIMD
static int simd_path(void) { return nn_cpu_path() != NN_KERNELS_REF; }
static int f16c_path(void) { return nn_cpu_path() != NN_KERNELS_REF && nn_cpu_has_f16c(); }
#endif

void nn_bf16_to_f32_array(float *out, const uint16_t *in, size_t n) {
    void (*fn)(float *, const uint16_t *, size_t) = nn_bf16_to_f32_ref;
#if RG_HAVE_X86_SIMD
    if (simd_path()) fn = nn_bf16_to_f32_avx2;
#endif
#pragma omp parallel for schedule(static) if (n > 2 * BLOCK)
    for (size_t b = 0; b < n; b += BLOCK) fn(out + b, in + b, n - b < BLOCK ? n - b : BLOCK);
}

void nn_f32_to_bf16_array(uint16_t *out, const float *in, size_t n) {
    void (*fn)(uint16_t *, const float *, size_t) = nn_f32_to_bf16_ref;
#if RG_HAVE_X86_SIMD
    if (simd_path()) fn = nn_f32_to_bf16_avx2;
#endif
#pragma omp parallel for schedule(static) if (n > 2 * BLOCK)
    for (size_t b = 0; b < n; b += BLOCK) fn(out + b, in + b, n - b < BLOCK ? n - b : BLOCK);
}

void nn_f16_to_f32_array(float *out, const uint16_t *in, size_t n) {
    void (*fn)(float *, const uint16_t *, size_t) = nn_f16_to_f32_ref;
#if RG_HAVE_X86_SIMD
    if (f16c_path()) fn = nn_f16_to_f32_f16c;
#endif
#pragma omp parallel for schedule(static) if (n > 2 * BLOCK)
    for (size_t b = 0; b < n; b += BLOCK) fn(out + b, in + b, n - b < BLOCK ? n - b : BLOCK);
}

void nn_f32_to_f16_array(uint16_t *out, const float *in, size_t n) {
    void (*fn)(uint16_t *, const float *, size_t) = nn_f32_to_f16_ref;
#if RG_HAVE_X86_SIMD
    if (f16c_path()) fn = nn_f32_to_f16_f16c;
#endif
#pragma omp parallel for schedule(static) if (n > 2 * BLOCK)
    for (size_t b = 0; b < n; b += BLOCK) fn(out + b, in + b, n - b < BLOCK ? n - b : BLOCK);
}
