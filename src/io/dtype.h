/* dtype.h — tensor element types and the float conversions between them.
 *
 * Names are the safetensors spellings ("F32", "BF16", ...). Q8_0 is GGUF's
 * block format (32 values per 34-byte block: an f16 scale and 32 int8), so it
 * has a block size instead of a plain element size; rg_dtype_bytes() handles
 * both.
 *
 * Conversions are exact where the target can hold the value and round to
 * nearest even otherwise (f32 -> f16, f32 -> bf16), as numpy and PyTorch do.
 * NaN stays NaN (quietened, sign kept); infinities and subnormals are exact.
 */
#ifndef RG_DTYPE_H
#define RG_DTYPE_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    RG_DTYPE_INVALID = 0,
    RG_F64,
    RG_F32,
    RG_F16,
    RG_BF16,
    RG_I64,
    RG_I32,
    RG_I16,
    RG_I8,
    RG_U64,
    RG_U32,
    RG_U16,
    RG_U8,
    RG_BOOL,
    RG_Q8_0, /* GGUF only: blocks of 32 values */
    RG_DTYPE_COUNT
} rg_dtype;

#define RG_Q8_0_BLOCK 32       /* values per Q8_0 block */
#define RG_Q8_0_BLOCK_BYTES 34 /* f16 scale + 32 int8 */

/* "F32", "BF16", ... ("?" for invalid). */
const char *rg_dtype_name(rg_dtype dtype);
/* The dtype named `name` (exact, case-sensitive), RG_DTYPE_INVALID if none. */
rg_dtype rg_dtype_from_name(const char *name);
/* Bytes per element; for Q8_0 the bytes per block (34). */
size_t rg_dtype_size(rg_dtype dtype);
/* Values per storage unit: 32 for Q8_0, 1 otherwise. */
size_t rg_dtype_block(rg_dtype dtype);
/* Bytes that `numel` values take; 0 with an error when numel is not a whole
 * number of blocks or the product overflows. ok is set to 0/1. */
size_t rg_dtype_bytes(rg_dtype dtype, uint64_t numel, int *ok);
/* 1 for F64/F32/F16/BF16/Q8_0: the types rg_convert_to_f32 reads. */
int rg_dtype_is_float(rg_dtype dtype);

/* The element conversions (bf16, f16; scalar and arrays) are nn's:
 * nn_bf16_to_f32, nn_f32_to_f16_array, ... in nn/nn.h. */

/* Q8_0: n values (a multiple of 32) from n/32 blocks. */
void rg_q8_0_to_f32_array(const void *blocks, float *dst, size_t n);

/* Converts n values of a float dtype (F64, F32, F16, BF16, Q8_0) from the
 * little-endian bytes at src into dst (f32 or bf16). src need not be
 * aligned. Integer dtypes are refused with an error naming the dtype. */
int rg_convert_to_f32(rg_dtype dtype, const void *src, float *dst, size_t n);
int rg_convert_to_bf16(rg_dtype dtype, const void *src, uint16_t *dst, size_t n);

#endif
