/* dtype.c — the dtype table and conversion of a tensor's stored bytes to
 * f32 or bf16. The element conversions themselves (bf16, f16, SIMD and
 * plain C) are nn's (nn/convert.c): this file is format logic only. */
#include "io/dtype.h"

#include <string.h>

#include "base/error.h"
#include "nn/nn.h"

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

void rg_q8_0_to_f32_array(const void *blocks, float *dst, size_t n) {
    const uint8_t *block = blocks;
    for (size_t b = 0; b < n / RG_Q8_0_BLOCK; b++, block += RG_Q8_0_BLOCK_BYTES) {
        uint16_t scale_bits;
        memcpy(&scale_bits, block, 2);
        float scale = nn_f16_to_f32(scale_bits);
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
        void (*convert)(float *, const uint16_t *, size_t) =
            dtype == RG_F16 ? nn_f16_to_f32_array : nn_bf16_to_f32_array;
        if (((uintptr_t)src & 1u) == 0) {
            convert(dst, (const uint16_t *)src, n);
            return RG_OK;
        }
        uint16_t bounce[CHUNK];
        for (size_t i = 0; i < n; i += CHUNK) {
            size_t m = n - i < CHUNK ? n - i : CHUNK;
            memcpy(bounce, bytes + 2 * i, 2 * m);
            convert(dst + i, bounce, m);
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
        nn_f32_to_bf16_array(dst + i, buf, m);
    }
    return RG_OK;
}
