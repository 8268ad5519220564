/* safetensors_write.c — atomic safetensors writer. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "io/file.h"
#include "io/safetensors.h"
#include "nn/nn.h"

typedef struct {
    const rg_st_entry *entry;
    size_t nbytes;
} planned;

/* Larger elements first, then by name: each tensor starts at a multiple of
 * its element size (the buffer starts at a multiple of 8). */
static int layout_order(const void *a, const void *b) {
    const rg_st_entry *x = ((const planned *)a)->entry, *y = ((const planned *)b)->entry;
    size_t sx = rg_dtype_size(x->dtype), sy = rg_dtype_size(y->dtype);
    if (sx != sy) return sx > sy ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int name_order(const void *a, const void *b) {
    return strcmp(((const planned *)a)->entry->name, ((const planned *)b)->entry->name);
}

static int plan_entry(const char *path, const rg_st_entry *e, planned *p) {
    if (!e->name || !e->name[0]) return rg_error("%s: tensor with an empty name", path);
    if (strcmp(e->name, "__metadata__") == 0)
        return rg_error("%s: \"__metadata__\" cannot be a tensor name", path);
    if (rg_dtype_size(e->dtype) == 0 || e->dtype == RG_Q8_0)
        return rg_error("%s: tensor %s: dtype %s cannot be written to safetensors", path, e->name,
                        rg_dtype_name(e->dtype));
    if (e->ndim < 0 || e->ndim > RG_MAX_DIMS)
        return rg_error("%s: tensor %s: %d dimensions", path, e->name, e->ndim);
    uint64_t numel = 1;
    for (int d = 0; d < e->ndim; d++)
        if (e->shape[d] < 0 || __builtin_mul_overflow(numel, (uint64_t)e->shape[d], &numel))
            return rg_error("%s: tensor %s: invalid shape", path, e->name);
    int ok;
    p->entry = e;
    p->nbytes = rg_dtype_bytes(e->dtype, numel, &ok);
    if (!ok) return rg_error_prefix("%s: tensor %s", path, e->name);
    if (e->from_f32 && e->dtype != RG_F32 && e->dtype != RG_F16 && e->dtype != RG_BF16)
        return rg_error("%s: tensor %s: cannot convert f32 to %s", path, e->name, rg_dtype_name(e->dtype));
    if (p->nbytes > 0 && !e->data && !e->from_f32)
        return rg_error("%s: tensor %s: no data", path, e->name);
    return RG_OK;
}

/* The header JSON, space-padded to a multiple of 8 bytes. */
static char *build_header(const char *path, const planned *plan, int n, const char *const *metadata,
                          size_t *header_len) {
    cJSON *root = cJSON_CreateObject();
    int failed = root == NULL;
    if (!failed && metadata && metadata[0]) {
        cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
        failed = meta == NULL;
        for (int i = 0; !failed && metadata[i]; i += 2) {
            if (!metadata[i + 1]) {
                cJSON_Delete(root);
                rg_error("%s: metadata key %s has no value", path, metadata[i]);
                return NULL;
            }
            failed = cJSON_AddStringToObject(meta, metadata[i], metadata[i + 1]) == NULL;
        }
    }
    size_t offset = 0;
    for (int i = 0; !failed && i < n; i++) {
        const rg_st_entry *e = plan[i].entry;
        cJSON *info = cJSON_AddObjectToObject(root, e->name);
        cJSON *shape = info ? cJSON_AddArrayToObject(info, "shape") : NULL;
        failed = !info || !shape || !cJSON_AddStringToObject(info, "dtype", rg_dtype_name(e->dtype));
        for (int d = 0; !failed && d < e->ndim; d++) {
            cJSON *dim = cJSON_CreateNumber((double)e->shape[d]);
            failed = !dim || !cJSON_AddItemToArray(shape, dim);
        }
        cJSON *offsets = failed ? NULL : cJSON_AddArrayToObject(info, "data_offsets");
        cJSON *begin = cJSON_CreateNumber((double)offset);
        cJSON *end = cJSON_CreateNumber((double)(offset + plan[i].nbytes));
        failed = failed || !offsets || !begin || !end || !cJSON_AddItemToArray(offsets, begin) ||
                 !cJSON_AddItemToArray(offsets, end);
        if (failed) {
            cJSON_Delete(begin);
            cJSON_Delete(end);
        }
        offset += plan[i].nbytes;
    }
    char *json = failed ? NULL : cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!json) {
        rg_error("%s: out of memory building the header", path);
        return NULL;
    }
    size_t len = strlen(json), padded = (len + 7) / 8 * 8;
    char *header = rg_malloc(padded + 1);
    if (header) {
        memcpy(header, json, len);
        memset(header + len, ' ', padded - len);
        header[padded] = '\0';
        *header_len = padded;
    }
    free(json);
    return header;
}

/* Writes one tensor's bytes: as given, or converted from f32 in chunks. */
static int write_tensor_data(FILE *fp, const planned *p) {
    const rg_st_entry *e = p->entry;
    if (p->nbytes == 0) return 1;
    if (e->data || e->dtype == RG_F32) {
        const void *bytes = e->data ? e->data : (const void *)e->from_f32;
        return fwrite(bytes, 1, p->nbytes, fp) == p->nbytes;
    }
    enum { CHUNK = 1 << 14 };
    uint16_t converted[CHUNK];
    size_t n = p->nbytes / 2;
    for (size_t i = 0; i < n; i += CHUNK) {
        size_t m = n - i < CHUNK ? n - i : CHUNK;
        if (e->dtype == RG_BF16) nn_f32_to_bf16_array(converted, e->from_f32 + i, m);
        else nn_f32_to_f16_array(converted, e->from_f32 + i, m);
        if (fwrite(converted, 2, m, fp) != m) return 0;
    }
    return 1;
}

int rg_st_write(const char *path, const rg_st_entry *entries, int n, const char *const *metadata) {
    planned *plan = rg_calloc((size_t)n + 1, sizeof *plan);
    if (!plan) return RG_ERR;
    for (int i = 0; i < n; i++)
        if (plan_entry(path, &entries[i], &plan[i]) != RG_OK) {
            free(plan);
            return RG_ERR;
        }
    /* duplicate names are adjacent when sorted by name alone */
    qsort(plan, (size_t)n, sizeof *plan, name_order);
    for (int i = 1; i < n; i++)
        if (strcmp(plan[i - 1].entry->name, plan[i].entry->name) == 0) {
            int status = rg_error("%s: tensor %s given twice", path, plan[i].entry->name);
            free(plan);
            return status;
        }
    qsort(plan, (size_t)n, sizeof *plan, layout_order);
    size_t header_len = 0;
    char *header = build_header(path, plan, n, metadata, &header_len);
    if (!header) {
        free(plan);
        return RG_ERR;
    }
    rg_atomic_file out;
    int status = rg_atomic_open(&out, path);
    if (status == RG_OK) {
        uint8_t size_bytes[8];
        for (int i = 0; i < 8; i++) size_bytes[i] = (uint8_t)((uint64_t)header_len >> (8 * i));
        int ok = fwrite(size_bytes, 1, 8, out.fp) == 8 &&
                 fwrite(header, 1, header_len, out.fp) == header_len;
        for (int i = 0; ok && i < n; i++) ok = write_tensor_data(out.fp, &plan[i]);
        if (!ok) {
            int saved = errno; /* the reason (a full disk), before the abort's calls overwrite it */
            rg_atomic_abort(&out);
            status = rg_error("%s: write failed: %s", path, strerror(saved));
        } else {
            status = rg_atomic_commit(&out);
        }
    }
    free(header);
    free(plan);
    return status;
}
