/* gguf.h — validated mmap reader for GGUF v2/v3 (ggml's docs/gguf.md).
 *
 * Layout: "GGUF", u32 version, u64 tensor_count, u64 kv_count, the metadata
 * key/values, the tensor infos (name, n_dims, ne[n_dims] innermost first,
 * ggml type, offset), zero padding to `general.alignment` (default 32), then
 * the tensor data; each offset is relative to the data start and aligned.
 * Version 2 has the same layout as 3 (3 only added big-endian files, which
 * are refused). Every count and length is checked against the bytes left in
 * the file before anything is allocated or read.
 *
 * Tensor types read: F32, F16, BF16, Q8_0 (dequantised to f32 by
 * rg_tensor_to_f32), also F64 and I8..I64. Others (Q4_K, ...) are refused
 * at open with the tensor named. rg_tensor.shape is row-major (ne reversed):
 * a GGUF matrix with ne = [in, out] has shape [out, in], as in PyTorch.
 *
 *   rg_gguf_file g;
 *   if (rg_gguf_open(&g, "judge.gguf") != RG_OK) return RG_ERR;
 *   int64_t layers;
 *   if (rg_gguf_get_int(&g, "llama.block_count", &layers) != RG_OK) ...;
 *   const rg_gguf_kv *tokens = rg_gguf_find(&g, "tokenizer.ggml.tokens");
 *   rg_gguf_str t0 = rg_gguf_array_string(tokens, 0);  // t0.ptr, t0.len
 *   const rg_tensor *w = rg_gguf_find_tensor(&g, "output.weight");
 *   rg_gguf_close(&g);
 */
#ifndef RG_GGUF_H
#define RG_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "io/tensor.h"

typedef enum {
    RG_GGUF_UINT8 = 0,
    RG_GGUF_INT8 = 1,
    RG_GGUF_UINT16 = 2,
    RG_GGUF_INT16 = 3,
    RG_GGUF_UINT32 = 4,
    RG_GGUF_INT32 = 5,
    RG_GGUF_FLOAT32 = 6,
    RG_GGUF_BOOL = 7,
    RG_GGUF_STRING = 8,
    RG_GGUF_ARRAY = 9,
    RG_GGUF_UINT64 = 10,
    RG_GGUF_INT64 = 11,
    RG_GGUF_FLOAT64 = 12,
    RG_GGUF_TYPE_COUNT
} rg_gguf_type;

/* A string inside the mapping: UTF-8, NOT NUL-terminated. */
typedef struct {
    const char *ptr;
    uint64_t len;
} rg_gguf_str;

typedef struct {
    char *key;
    rg_gguf_type type;
    /* scalars (integers, bool, floats) widened; use the accessors below */
    union {
        uint64_t u64;
        int64_t i64;
        double f64;
    } scalar;
    char *string; /* STRING: NUL-terminated copy */
    /* ARRAY: element type and count; numeric elements are read from
     * array_raw (little-endian, in the mapping); strings from array_strings.
     * Nested arrays are validated but have no element accessors. */
    rg_gguf_type array_type;
    uint64_t array_len;
    const uint8_t *array_raw;
    rg_gguf_str *array_strings;
} rg_gguf_kv;

typedef struct {
    char *path;
    void *map;
    size_t map_size;
    uint32_t version;
    uint32_t alignment;
    size_t data_offset; /* file offset of the tensor data */
    rg_gguf_kv *kvs;    /* in file order */
    int n_kvs;
    rg_tensor *tensors; /* in file order */
    uint32_t *ggml_types; /* per tensor, the raw ggml type id */
    int n_tensors;
    const rg_tensor **by_name; /* sorted, for lookup */
} rg_gguf_file;

int rg_gguf_open(rg_gguf_file *g, const char *path);
void rg_gguf_close(rg_gguf_file *g);

/* NULL when absent (no error recorded). */
const rg_gguf_kv *rg_gguf_find(const rg_gguf_file *g, const char *key);
/* Typed getters: fail with "PATH: metadata KEY: ..." when absent or of
 * another type. get_int takes any integer type (and bool); get_float takes
 * FLOAT32/FLOAT64. */
int rg_gguf_get_int(const rg_gguf_file *g, const char *key, int64_t *out);
int rg_gguf_get_float(const rg_gguf_file *g, const char *key, double *out);
const char *rg_gguf_get_string(const rg_gguf_file *g, const char *key);

/* Array elements (index must be < array_len): integer/bool arrays, float
 * arrays, string arrays. Return RG_ERR on a type mismatch. */
int rg_gguf_array_int(const rg_gguf_kv *kv, uint64_t index, int64_t *out);
int rg_gguf_array_float(const rg_gguf_kv *kv, uint64_t index, double *out);
rg_gguf_str rg_gguf_array_string(const rg_gguf_kv *kv, uint64_t index);

/* NULL when absent (no error recorded). */
const rg_tensor *rg_gguf_find_tensor(const rg_gguf_file *g, const char *name);

const char *rg_gguf_type_name(rg_gguf_type type);

#endif
