/* dtype.c — dtype table and float conversions (scalar + AVX2/F16C bulk). */
#include "io/dtype.h"

#include <stdatomic.h>
#include <string.h>

#include "base/error.h"
#include "base/isa.h"
#include "nn/cpu.h"

#if RG_HAVE_X86_SIMD
#include <cpuid.h>
#include <immintrin.h>
#endif

static const struct {
    const char *name;
    size_t size;
} dtype_table[RG_DTYPE_COUNT] = {
    [RG_DTYPE_INVALID] = {"?", 0}, [RG_F64] = {"F64", 8},   [RG_F32] = {"F32", 4},
    [RG_F16] = {"F16", 2},         [RG_BF16] = {"BF16", 2}, [RG_I64] = {"I64", 8},
    [RG_I32] = {"I32", 4},         [RG_I16] = {"I16", 2},   [RG_I8] = {"I8", 1},
    [RG_U64] = {"U64", 8},         [RG_U32] = {"U32", 4},   [RG_U16] = {"U16", 2},
    [RG_U8] = {"U8", 1},           [RG_BOOL] = {"BOOL", 1}, [RG_Q8_0] = {"Q8_0", RG_Q8_0_BLOCK_BYTES},
};

const char *rg_dtype_name(rg_dtype dtype) {
    if ((int)dtype <= 0 || dtype >= RG_DTYPE_COUNT) return "?";
    return dtype_table[dtype].name;
}

rg_dtype rg_dtype_from_name(const char *name) {
    if (!name) return RG_DTYPE_INVALID;
    for (int d = 1; d < RG_DTYPE_COUNT; d++)
        if (strcmp(name, dtype_table[d].name) == 0) return (rg_dtype)d;
    return RG_DTYPE_INVALID;
}

size_t rg_dtype_size(rg_dtype dtype) {
    if ((int)dtype <= 0 || dtype >= RG_DTYPE_COUNT) return 0;
    return dtype_table[dtype].size;
}

size_t rg_dtype_block(rg_dtype dtype) { return dtype == RG_Q8_0 ? RG_Q8_0_BLOCK : 1; }

size_t rg_dtype_bytes(rg_dtype dtype, uint64_t numel, int *ok) {
    *ok = 0;
    size_t size = rg_dtype_size(dtype), block = rg_dtype_block(dtype);
    if (size == 0) {
        rg_error("invalid dtype %d", (int)dtype);
        return 0;
    }
    if (numel % block != 0) {
        rg_error("%llu values are not a whole number of %s blocks of %zu",
                 (unsigned long long)numel, rg_dtype_name(dtype), block);
        return 0;
    }
    uint64_t units = numel / block, bytes;
    if (__builtin_mul_overflow(units, (uint64_t)size, &bytes) || bytes > (uint64_t)SIZE_MAX) {
        rg_error("%llu %s values overflow a byte count", (unsigned long long)numel,
                 rg_dtype_name(dtype));
        return 0;
    }
    *ok = 1;
    return (size_t)bytes;
}

int rg_dtype_is_float(rg_dtype dtype) {
    return dtype == RG_F64 || dtype == RG_F32 || dtype == RG_F16 || dtype == RG_BF16 ||
           dtype == RG_Q8_0;
}

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

/* Round to nearest even on the 16 dropped bits; NaN keeps its sign and top
 * payload bits and gets the quiet bit, so it cannot round into infinity. */
uint16_t rg_f32_to_bf16(float f) {
    uint32_t bits = f32_bits(f);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x0040u);
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return (uint16_t)(bits >> 16);
}

/* Exact: every f16 is an f32. A signalling NaN comes back quiet, as F16C's
 * vcvtph2ps does, so scalar and bulk paths agree bit for bit. */
float rg_f16_to_f32(uint16_t h) {
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
uint16_t rg_f32_to_f16(float f) {
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

/* ---- bulk: AVX2 + F16C when the CPU has them (the ASan build is compiled
 * without -march, hence the target attributes and the runtime check); on
 * other CPUs only the scalar loops (base/isa.h). */
#if RG_HAVE_X86_SIMD

/* 1 when the 8-wide loops below may run: the CPU has AVX2 and F16C, and the
 * kernel switch (src/nn/cpu.h, one for the whole program) is not on the ref
 * path. The scalar conversions are exact, so both give the same bits (tested). */
static int have_f16c_avx2(void);
static int use_avx2(void) { return nn_cpu_path() != NN_KERNELS_REF && have_f16c_avx2(); }

static int have_f16c_avx2(void) {
    /* AVX2 from the compiler runtime's flags (filled in at startup, OS
     * support for the YMM state included); F16C straight from CPUID leaf 1,
     * because clang 14's __builtin_cpu_supports does not know "f16c". CPUID
     * is slow under a hypervisor, so the answer is kept: the race is benign
     * (every thread computes the same value) and atomic, so not a data race. */
    static _Atomic int known = -1;
    int have = atomic_load_explicit(&known, memory_order_relaxed);
    if (have < 0) {
        unsigned eax, ebx, ecx, edx;
        have = __builtin_cpu_supports("avx2") && __get_cpuid(1, &eax, &ebx, &ecx, &edx) &&
               (ecx & bit_F16C);
        atomic_store_explicit(&known, have, memory_order_relaxed);
    }
    return have;
}

__attribute__((target("avx2,f16c"))) static size_t f16_to_f32_avx2(const uint16_t *src,
                                                                    float *dst, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    return i;
}

__attribute__((target("avx2,f16c"))) static size_t f32_to_f16_avx2(const float *src,
                                                                    uint16_t *dst, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    return i;
}

__attribute__((target("avx2"))) static size_t bf16_to_f32_avx2(const uint16_t *src, float *dst,
                                                              size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(src + i)));
        _mm256_storeu_si256((__m256i *)(dst + i), _mm256_slli_epi32(wide, 16));
    }
    return i;
}

__attribute__((target("avx2"))) static size_t f32_to_bf16_avx2(const float *src, uint16_t *dst,
                                                              size_t n) {
    const __m256i one = _mm256_set1_epi32(1), bias = _mm256_set1_epi32(0x7fff);
    const __m256i abs_mask = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
    const __m256i quiet = _mm256_set1_epi32(0x0040);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i bits = _mm256_loadu_si256((const __m256i *)(src + i));
        __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(bits, 16), one);
        __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(bits, _mm256_add_epi32(bias, lsb)), 16);
        __m256i nan_result = _mm256_or_si256(_mm256_srli_epi32(bits, 16), quiet);
        __m256i is_nan = _mm256_cmpgt_epi32(_mm256_and_si256(bits, abs_mask), inf);
        __m256i out = _mm256_blendv_epi8(rounded, nan_result, is_nan);
        __m128i packed = _mm_packus_epi32(_mm256_castsi256_si128(out), _mm256_extracti128_si256(out, 1));
        _mm_storeu_si128((__m128i *)(dst + i), packed);
    }
    return i;
}
#endif /* RG_HAVE_X86_SIMD */

void rg_f16_to_f32_array(const uint16_t *src, float *dst, size_t n) {
    size_t i = 0;
#if RG_HAVE_X86_SIMD
    if (use_avx2()) i = f16_to_f32_avx2(src, dst, n);
#endif
    for (; i < n; i++) dst[i] = rg_f16_to_f32(src[i]);
}

void rg_f32_to_f16_array(const float *src, uint16_t *dst, size_t n) {
    size_t i = 0;
#if RG_HAVE_X86_SIMD
    if (use_avx2()) i = f32_to_f16_avx2(src, dst, n);
#endif
    for (; i < n; i++) dst[i] = rg_f32_to_f16(src[i]);
}

void rg_bf16_to_f32_array(const uint16_t *src, float *dst, size_t n) {
    size_t i = 0;
#if RG_HAVE_X86_SIMD
    if (use_avx2()) i = bf16_to_f32_avx2(src, dst, n);
#endif
    for (; i < n; i++) dst[i] = rg_bf16_to_f32(src[i]);
}

void rg_f32_to_bf16_array(const float *src, uint16_t *dst, size_t n) {
    size_t i = 0;
#if RG_HAVE_X86_SIMD
    if (use_avx2()) i = f32_to_bf16_avx2(src, dst, n);
#endif
    for (; i < n; i++) dst[i] = rg_f32_to_bf16(src[i]);
}

void rg_q8_0_to_f32_array(const void *blocks, float *dst, size_t n) {
    const uint8_t *block = blocks;
    for (size_t b = 0; b < n / RG_Q8_0_BLOCK; b++, block += RG_Q8_0_BLOCK_BYTES) {
        uint16_t scale_bits;
        memcpy(&scale_bits, block, 2);
        float scale = rg_f16_to_f32(scale_bits);
        const int8_t *quants = (const int8_t *)(block + 2);
        float *out = dst + b * RG_Q8_0_BLOCK;
        for (int j = 0; j < RG_Q8_0_BLOCK; j++) out[j] = scale * (float)quants[j];
    }
}

/* Sources may sit at any byte offset in a mapped file, so the 16-bit and
 * wider paths go through an aligned bounce buffer when src is misaligned. */
#define CHUNK 4096

int rg_convert_to_f32(rg_dtype dtype, const void *src, float *dst, size_t n) {
    const uint8_t *bytes = src;
    switch (dtype) {
    case RG_F32:
        memcpy(dst, src, n * 4);
        return RG_OK;
    case RG_F64:
        for (size_t i = 0; i < n; i++) {
            double v;
            memcpy(&v, bytes + 8 * i, 8);
            dst[i] = (float)v;
        }
        return RG_OK;
    case RG_F16:
    case RG_BF16: {
        void (*convert)(const uint16_t *, float *, size_t) =
            dtype == RG_F16 ? rg_f16_to_f32_array : rg_bf16_to_f32_array;
        if (((uintptr_t)src & 1u) == 0) {
            convert((const uint16_t *)src, dst, n);
            return RG_OK;
        }
        uint16_t bounce[CHUNK];
        for (size_t i = 0; i < n; i += CHUNK) {
            size_t m = n - i < CHUNK ? n - i : CHUNK;
            memcpy(bounce, bytes + 2 * i, 2 * m);
            convert(bounce, dst + i, m);
        }
        return RG_OK;
    }
    case RG_Q8_0:
        if (n % RG_Q8_0_BLOCK != 0)
            return rg_error("Q8_0: %zu values are not a whole number of blocks", n);
        rg_q8_0_to_f32_array(src, dst, n);
        return RG_OK;
    default:
        return rg_error("cannot convert dtype %s to F32 (not a float type)", rg_dtype_name(dtype));
    }
}

int rg_convert_to_bf16(rg_dtype dtype, const void *src, uint16_t *dst, size_t n) {
    if (dtype == RG_BF16) {
        memcpy(dst, src, n * 2);
        return RG_OK;
    }
    if (!rg_dtype_is_float(dtype))
        return rg_error("cannot convert dtype %s to BF16 (not a float type)", rg_dtype_name(dtype));
    if (dtype == RG_Q8_0 && n % RG_Q8_0_BLOCK != 0)
        return rg_error("Q8_0: %zu values are not a whole number of blocks", n);
    /* through f32 in chunks: each step is exact or a single rounding */
    float buf[CHUNK];
    size_t unit = rg_dtype_size(dtype), block = rg_dtype_block(dtype);
    const uint8_t *bytes = src;
    for (size_t i = 0; i < n; i += CHUNK) {
        size_t m = n - i < CHUNK ? n - i : CHUNK; /* CHUNK is a multiple of 32 */
        if (rg_convert_to_f32(dtype, bytes + (i / block) * unit, buf, m) != RG_OK) return RG_ERR;
        rg_f32_to_bf16_array(buf, dst + i, m);
    }
    return RG_OK;
}
