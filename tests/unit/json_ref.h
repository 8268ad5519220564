/* json_ref.h — reading the JSON the PyTorch references write (build/ref/...):
 * the file parsed, and integer / float arrays copied out. */
#ifndef RG_TEST_JSON_REF_H
#define RG_TEST_JSON_REF_H

#include <cjson/cJSON.h>

#include "base/error.h"
#include "io/file.h"
#include "test_util.h"

/* The parsed file (the test fails if it cannot be read or parsed); cJSON_Delete it. */
static inline cJSON *json_ref_load(const char *path) {
    char *text;
    size_t len;
    assert_int_equal(rg_read_file(path, &text, &len), RG_OK);
    cJSON *root = cJSON_Parse(text);
    free(text);
    assert_non_null(root);
    return root;
}

/* arr's integers into out; their count. */
static inline int json_ref_ids(const cJSON *arr, int32_t *out) {
    int n = cJSON_GetArraySize(arr);
    for (int i = 0; i < n; i++) out[i] = cJSON_GetArrayItem(arr, i)->valueint;
    return n;
}

/* arr's numbers into out as floats. */
static inline void json_ref_floats(const cJSON *arr, float *out) {
    for (int i = 0; i < cJSON_GetArraySize(arr); i++) out[i] = (float)cJSON_GetArrayItem(arr, i)->valuedouble;
}

#endif
