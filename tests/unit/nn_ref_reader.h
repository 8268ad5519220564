/* nn_ref_reader.h — reads the reference files that tests/ref/nn_ref.py
 * writes (safetensors: 8-byte little-endian header length, a JSON header
 * {name: {dtype, shape, data_offsets}}, raw little-endian data) and compares
 * kernel outputs with them under a stated tolerance.
 * Test-only and deliberately small: it trusts the file it reads. */
#ifndef NN_REF_READER_H
#define NN_REF_READER_H

#include <cjson/cJSON.h>
#include <math.h>

#include "io/file.h"
#include "test_util.h"

typedef struct {
    char *data;
    size_t len;
    cJSON *header;
    size_t data_start;
} ref_file;

/* Opens build/ref/nn/<name>, or skips the test with the reason. */
static inline void ref_open(ref_file *f, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/nn/%s", test_ref_dir(), name);
    SKIP_UNLESS_FILE(path, "PyTorch reference for the nn kernels (make refs)");
    assert_int_equal(rg_read_file(path, &f->data, &f->len), 0);
    assert_true(f->len >= 8);
    uint64_t header_len;
    memcpy(&header_len, f->data, 8);
    assert_true(8 + header_len <= f->len);
    f->header = cJSON_ParseWithLength(f->data + 8, (size_t)header_len);
    assert_non_null(f->header);
    f->data_start = 8 + (size_t)header_len;
}

static inline void ref_close(ref_file *f) {
    cJSON_Delete(f->header);
    free(f->data);
}

/* The entry of a tensor; fails the test when absent. Sets *count, *dtype. */
static inline const char *ref_entry(const ref_file *f, const char *name, size_t *count, const char **dtype) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(f->header, name);
    if (!t) fail_msg("reference tensor '%s' missing", name);
    *dtype = cJSON_GetObjectItemCaseSensitive(t, "dtype")->valuestring;
    size_t n = 1;
    const cJSON *dim;
    cJSON_ArrayForEach(dim, cJSON_GetObjectItemCaseSensitive(t, "shape")) n *= (size_t)dim->valuedouble;
    *count = n;
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(t, "data_offsets");
    return f->data + f->data_start + (size_t)cJSON_GetArrayItem(off, 0)->valuedouble;
}

/* Any numeric tensor as a malloc'd double array. */
static inline double *ref_f64(const ref_file *f, const char *name, size_t *count) {
    size_t n;
    const char *dtype;
    const char *p = ref_entry(f, name, &n, &dtype);
    double *out = malloc((n ? n : 1) * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(dtype, "F64")) { double v; memcpy(&v, p + 8 * i, 8); out[i] = v; }
        else if (!strcmp(dtype, "F32")) { float v; memcpy(&v, p + 4 * i, 4); out[i] = v; }
        else if (!strcmp(dtype, "I32")) { int32_t v; memcpy(&v, p + 4 * i, 4); out[i] = v; }
        else if (!strcmp(dtype, "U8")) out[i] = (unsigned char)p[i];
        else if (!strcmp(dtype, "BF16")) { uint32_t u = 0; memcpy((char *)&u + 2, p + 2 * i, 2); float v; memcpy(&v, &u, 4); out[i] = v; }
        else fail_msg("reference tensor '%s' has dtype %s", name, dtype);
    }
    if (count) *count = n;
    return out;
}

/* As float (the kernels' input type: exact for F32 data). */
static inline float *ref_f32(const ref_file *f, const char *name, size_t *count) {
    size_t n;
    double *d = ref_f64(f, name, &n);
    float *out = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++) out[i] = (float)d[i];
    free(d);
    if (count) *count = n;
    return out;
}

static inline int32_t *ref_i32(const ref_file *f, const char *name, size_t *count) {
    size_t n;
    double *d = ref_f64(f, name, &n);
    int32_t *out = malloc((n ? n : 1) * sizeof(int32_t));
    for (size_t i = 0; i < n; i++) out[i] = (int32_t)d[i];
    free(d);
    if (count) *count = n;
    return out;
}

static inline uint8_t *ref_u8(const ref_file *f, const char *name, size_t *count) {
    size_t n;
    double *d = ref_f64(f, name, &n);
    uint8_t *out = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++) out[i] = (uint8_t)d[i];
    free(d);
    if (count) *count = n;
    return out;
}

/* bf16 tensor as its raw bits. */
static inline uint16_t *ref_bf16(const ref_file *f, const char *name, size_t *count) {
    size_t n;
    const char *dtype;
    const char *p = ref_entry(f, name, &n, &dtype);
    assert_string_equal(dtype, "BF16");
    uint16_t *out = malloc((n ? n : 1) * sizeof(uint16_t));
    memcpy(out, p, n * 2);
    if (count) *count = n;
    return out;
}

static inline double ref_scalar(const ref_file *f, const char *name) {
    double *d = ref_f64(f, name, NULL);
    double v = d[0];
    free(d);
    return v;
}

/* "case/what" into a static buffer. */
static inline const char *ref_name(const char *c, const char *what) {
    static char buf[256];
    snprintf(buf, sizeof buf, "%s/%s", c, what);
    return buf;
}

/* |got - expected| <= atol + rtol * |expected| for every element; prints the
 * worst offender and fails the test otherwise. Also fails on NaN/inf. */
static inline void check_close(const char *what, const float *got, const double *expected, size_t n, double atol,
                        double rtol) {
    size_t worst = 0;
    double worst_excess = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double err = fabs((double)got[i] - expected[i]);
        double excess = isfinite(got[i]) ? err - (atol + rtol * fabs(expected[i])) : INFINITY;
        if (excess > worst_excess) {
            worst_excess = excess;
            worst = i;
        }
    }
    if (n && worst_excess > 0)
        fail_msg("%s: element %zu is %.9g, reference %.9g (tolerance atol %g + rtol %g)", what, worst,
                 (double)got[worst], expected[worst], atol, rtol);
}

/* Compares a float array with the named reference tensor (sizes must agree). */
static inline void check_ref(const ref_file *f, const char *c, const char *what, const float *got, size_t n, double atol,
                      double rtol) {
    size_t m;
    double *expected = ref_f64(f, ref_name(c, what), &m);
    assert_int_equal(m, n);
    char label[256];
    snprintf(label, sizeof label, "%s/%s", c, what);
    check_close(label, got, expected, n, atol, rtol);
    free(expected);
}

#endif
