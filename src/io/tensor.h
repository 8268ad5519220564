/* tensor.h — a read-only view of one tensor inside a mapped file.
 *
 * The safetensors and GGUF readers both hand out rg_tensor, so a model loader
 * can treat them alike. `shape` is row-major (PyTorch order, outermost first)
 * for both formats: GGUF's ne[] (innermost first) is reversed on load.
 * `data` points into the file mapping and is NOT necessarily aligned; read it
 * with rg_tensor_to_f32/bf16 (or memcpy), never by casting. */
#ifndef RG_TENSOR_H
#define RG_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "io/dtype.h"

#define RG_MAX_DIMS 8

typedef struct {
    const char *name;
    rg_dtype dtype;
    int ndim;
    int64_t shape[RG_MAX_DIMS];
    int64_t numel;
    const void *data;
    size_t nbytes;
    const char *path; /* the file it lives in, for error messages */
} rg_tensor;

/* Converts the whole tensor into dst, which holds `capacity` values; fails
 * (naming file and tensor) if capacity != numel or the dtype is not a float. */
int rg_tensor_to_f32(const rg_tensor *t, float *dst, size_t capacity);
int rg_tensor_to_bf16(const rg_tensor *t, uint16_t *dst, size_t capacity);

/* Fails with "PATH: tensor NAME: shape [a, b], expected [c, d]" on mismatch. */
int rg_tensor_expect_shape(const rg_tensor *t, int ndim, const int64_t *shape);

/* "[a, b, c]" into buf (always NUL-terminated). */
const char *rg_shape_str(char *buf, size_t size, int ndim, const int64_t *shape);

#endif
