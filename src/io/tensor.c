/* tensor.c — conversions and checks on rg_tensor views. */
#include "io/tensor.h"

#include <stdio.h>

#include "base/error.h"

const char *rg_shape_str(char *buf, size_t size, int ndim, const int64_t *shape) {
    size_t used = 0;
    used += (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < ndim && used < size; d++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", d ? ", " : "",
                                 (long long)shape[d]);
    if (used < size) snprintf(buf + used, size - used, "]");
    return buf;
}

static int check_capacity(const rg_tensor *t, size_t capacity) {
    if ((uint64_t)t->numel != (uint64_t)capacity)
        return rg_error("%s: tensor %s: has %lld values, destination holds %zu", t->path, t->name,
                        (long long)t->numel, capacity);
    return RG_OK;
}

int rg_tensor_to_f32(const rg_tensor *t, float *dst, size_t capacity) {
    if (check_capacity(t, capacity) != RG_OK) return RG_ERR;
    if (rg_convert_to_f32(t->dtype, t->data, dst, capacity) != RG_OK)
        return rg_error_prefix("%s: tensor %s", t->path, t->name);
    return RG_OK;
}

int rg_tensor_to_bf16(const rg_tensor *t, uint16_t *dst, size_t capacity) {
    if (check_capacity(t, capacity) != RG_OK) return RG_ERR;
    if (rg_convert_to_bf16(t->dtype, t->data, dst, capacity) != RG_OK)
        return rg_error_prefix("%s: tensor %s", t->path, t->name);
    return RG_OK;
}

int rg_tensor_expect_shape(const rg_tensor *t, int ndim, const int64_t *shape) {
    int same = t->ndim == ndim;
    for (int d = 0; same && d < ndim; d++) same = t->shape[d] == shape[d];
    if (same) return RG_OK;
    char have[128], want[128];
    return rg_error("%s: tensor %s: shape %s, expected %s", t->path, t->name,
                    rg_shape_str(have, sizeof have, t->ndim, t->shape),
                    rg_shape_str(want, sizeof want, ndim, shape));
}
