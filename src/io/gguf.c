/* gguf.c — GGUF v2/v3 reader: a bounds-checked cursor over the mapping. */
#include "io/gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"

#define MAX_ARRAY_DEPTH 8
#define MAX_ALIGNMENT (1u << 20)
#define MAX_KEY_LEN 65535u /* the spec's bound on key length */
#define MAX_NAME_LEN 4096u /* the spec says 64; be lenient but bounded */

static const char *type_names[RG_GGUF_TYPE_COUNT] = {
    "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
    "bool", "string", "array", "uint64", "int64", "float64",
};

const char *rg_gguf_type_name(rg_gguf_type type) {
    return (unsigned)type < RG_GGUF_TYPE_COUNT ? type_names[type] : "?";
}

/* Fixed element size of a scalar type; 0 for string/array. */
static size_t scalar_size(rg_gguf_type type) {
    switch (type) {
    case RG_GGUF_UINT8: case RG_GGUF_INT8: case RG_GGUF_BOOL: return 1;
    case RG_GGUF_UINT16: case RG_GGUF_INT16: return 2;
    case RG_GGUF_UINT32: case RG_GGUF_INT32: case RG_GGUF_FLOAT32: return 4;
    case RG_GGUF_UINT64: case RG_GGUF_INT64: case RG_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

/* The fewest bytes one value of a type can take: the bound used to check
 * counts against what is left of the file. */
static size_t min_size(rg_gguf_type type) {
    if (type == RG_GGUF_STRING) return 8;
    if (type == RG_GGUF_ARRAY) return 12;
    return scalar_size(type);
}

/* ggml tensor types we read, and the rgsd dtype each becomes. */
static rg_dtype ggml_dtype(uint32_t ggml_type) {
    switch (ggml_type) {
    case 0: return RG_F32;
    case 1: return RG_F16;
    case 8: return RG_Q8_0;
    case 24: return RG_I8;
    case 25: return RG_I16;
    case 26: return RG_I32;
    case 27: return RG_I64;
    case 28: return RG_F64;
    case 30: return RG_BF16;
    default: return RG_DTYPE_INVALID;
    }
}

static const char *ggml_type_name(uint32_t ggml_type) {
    static const char *names[] = {
        "F32", "F16", "Q4_0", "Q4_1", "Q4_2", "Q4_3", "Q5_0", "Q5_1", "Q8_0", "Q8_1",
        "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K", "IQ2_XXS", "IQ2_XS", "IQ3_XXS",
        "IQ1_S", "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS", "I8", "I16", "I32", "I64", "F64",
        "IQ1_M", "BF16",
    };
    return ggml_type < sizeof names / sizeof names[0] ? names[ggml_type] : "unknown";
}

typedef struct {
    const uint8_t *base;
    size_t size, pos;
    const char *path;
} cursor;

static int need(cursor *c, uint64_t bytes, const char *what) {
    if (bytes > c->size - c->pos)
        return rg_error("%s: truncated: %s needs %llu bytes at offset %zu, only %zu left", c->path,
                        what, (unsigned long long)bytes, c->pos, c->size - c->pos);
    return RG_OK;
}

/* Re-words the current error "PATH: detail" as "PATH: CONTEXT: detail". */
static int with_context(const cursor *c, const char *context) {
    const char *msg = rg_errmsg();
    size_t n = strlen(c->path);
    if (strncmp(msg, c->path, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ') msg += n + 2;
    char *detail = rg_strdup(msg);
    rg_error("%s: %s: %s", c->path, context, detail ? detail : "");
    free(detail);
    return RG_ERR;
}

static uint64_t load_le(const uint8_t *p, int bytes) {
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static int read_u32(cursor *c, uint32_t *out, const char *what) {
    if (need(c, 4, what) != RG_OK) return RG_ERR;
    *out = (uint32_t)load_le(c->base + c->pos, 4);
    c->pos += 4;
    return RG_OK;
}

static int read_u64(cursor *c, uint64_t *out, const char *what) {
    if (need(c, 8, what) != RG_OK) return RG_ERR;
    *out = load_le(c->base + c->pos, 8);
    c->pos += 8;
    return RG_OK;
}

static int read_string(cursor *c, rg_gguf_str *out, const char *what) {
    uint64_t len;
    if (read_u64(c, &len, what) != RG_OK || need(c, len, what) != RG_OK) return RG_ERR;
    out->ptr = (const char *)c->base + c->pos;
    out->len = len;
    c->pos += (size_t)len;
    return RG_OK;
}

static char *copy_string(rg_gguf_str s) {
    char *copy = rg_malloc((size_t)s.len + 1);
    if (copy) {
        memcpy(copy, s.ptr, (size_t)s.len);
        copy[s.len] = '\0';
    }
    return copy;
}

static int read_type(cursor *c, rg_gguf_type *out, const char *key) {
    uint32_t raw;
    if (read_u32(c, &raw, "value type") != RG_OK) {
        char context[160];
        snprintf(context, sizeof context, "metadata %.128s", key);
        return with_context(c, context);
    }
    if (raw >= RG_GGUF_TYPE_COUNT)
        return rg_error("%s: metadata %s: unknown value type %u", c->path, key, raw);
    *out = (rg_gguf_type)raw;
    return RG_OK;
}

/* Reads one scalar (not string/array) into the widened union. */
static int read_scalar(cursor *c, rg_gguf_type type, rg_gguf_kv *kv, const char *key) {
    size_t size = scalar_size(type);
    if (need(c, size, key) != RG_OK) return RG_ERR;
    uint64_t bits = load_le(c->base + c->pos, (int)size);
    c->pos += size;
    switch (type) {
    case RG_GGUF_INT8: kv->scalar.i64 = (int8_t)bits; break;
    case RG_GGUF_INT16: kv->scalar.i64 = (int16_t)bits; break;
    case RG_GGUF_INT32: kv->scalar.i64 = (int32_t)bits; break;
    case RG_GGUF_INT64: kv->scalar.i64 = (int64_t)bits; break;
    case RG_GGUF_FLOAT32: {
        uint32_t b32 = (uint32_t)bits;
        float f;
        memcpy(&f, &b32, 4);
        kv->scalar.f64 = f;
        break;
    }
    case RG_GGUF_FLOAT64: memcpy(&kv->scalar.f64, &bits, 8); break;
    case RG_GGUF_BOOL:
        if (bits > 1) return rg_error("%s: metadata %s: bool value %llu (must be 0 or 1)", c->path, key,
                                       (unsigned long long)bits);
        kv->scalar.u64 = bits;
        break;
    default: kv->scalar.u64 = bits; break;
    }
    return RG_OK;
}

/* Walks over an array's elements, checking every length. */
static int skip_array(cursor *c, const char *key, int depth) {
    if (depth > MAX_ARRAY_DEPTH) return rg_error("%s: metadata %s: arrays nested too deep", c->path, key);
    rg_gguf_type type;
    uint64_t len;
    if (read_type(c, &type, key) != RG_OK || read_u64(c, &len, key) != RG_OK) return RG_ERR;
    if (len > (c->size - c->pos) / (min_size(type) ? min_size(type) : 1))
        return rg_error("%s: metadata %s: array of %llu %s is longer than the file", c->path, key,
                        (unsigned long long)len, rg_gguf_type_name(type));
    if (scalar_size(type)) {
        c->pos += (size_t)len * scalar_size(type);
        if (type == RG_GGUF_BOOL)
            for (uint64_t i = 0; i < len; i++)
                if (c->base[c->pos - len + i] > 1)
                    return rg_error("%s: metadata %s: bool element %llu is not 0 or 1", c->path, key,
                                    (unsigned long long)i);
        return RG_OK;
    }
    for (uint64_t i = 0; i < len; i++) {
        rg_gguf_str s;
        int status = type == RG_GGUF_STRING ? read_string(c, &s, key) : skip_array(c, key, depth + 1);
        if (status != RG_OK) return RG_ERR;
    }
    return RG_OK;
}

static int read_array(cursor *c, rg_gguf_kv *kv) {
    size_t start = c->pos;
    if (read_type(c, &kv->array_type, kv->key) != RG_OK || read_u64(c, &kv->array_len, kv->key) != RG_OK)
        return RG_ERR;
    c->pos = start;
    if (skip_array(c, kv->key, 0) != RG_OK) return RG_ERR;
    const uint8_t *elements = c->base + start + 12;
    kv->array_raw = elements;
    if (kv->array_type == RG_GGUF_STRING) {
        /* skip_array checked every length: the table fits the file */
        kv->array_strings = rg_malloc((size_t)kv->array_len * sizeof(rg_gguf_str) + 1);
        if (!kv->array_strings) return RG_ERR;
        cursor walk = {c->base, c->size, start + 12, c->path};
        for (uint64_t i = 0; i < kv->array_len; i++) read_string(&walk, &kv->array_strings[i], kv->key);
    }
    return RG_OK;
}

static int read_kv(cursor *c, rg_gguf_kv *kv, uint64_t index) {
    rg_gguf_str key;
    if (read_string(c, &key, "metadata key") != RG_OK) {
        char context[64];
        snprintf(context, sizeof context, "metadata entry %llu", (unsigned long long)index);
        return with_context(c, context);
    }
    if (key.len == 0 || key.len > MAX_KEY_LEN)
        return rg_error("%s: metadata entry %llu: key length %llu", c->path, (unsigned long long)index,
                        (unsigned long long)key.len);
    if (!(kv->key = copy_string(key))) return RG_ERR;
    if (strlen(kv->key) != key.len)
        return rg_error("%s: metadata entry %llu: key contains a NUL byte", c->path, (unsigned long long)index);
    if (read_type(c, &kv->type, kv->key) != RG_OK) return RG_ERR;
    if (kv->type == RG_GGUF_STRING) {
        rg_gguf_str value;
        if (read_string(c, &value, kv->key) != RG_OK) return RG_ERR;
        return (kv->string = copy_string(value)) ? RG_OK : RG_ERR;
    }
    if (kv->type == RG_GGUF_ARRAY) return read_array(c, kv);
    return read_scalar(c, kv->type, kv, kv->key);
}

static int by_key(const void *a, const void *b) {
    return strcmp(((const rg_gguf_kv *)a)->key, ((const rg_gguf_kv *)b)->key);
}

static int by_name_ptr(const void *a, const void *b) {
    return strcmp((*(const rg_tensor *const *)a)->name, (*(const rg_tensor *const *)b)->name);
}

static int by_data(const void *a, const void *b) {
    const rg_tensor *x = *(const rg_tensor *const *)a, *y = *(const rg_tensor *const *)b;
    if (x->data != y->data) return (const uint8_t *)x->data < (const uint8_t *)y->data ? -1 : 1;
    return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}

/* Reads one tensor info; data pointers are resolved once the data offset is
 * known, so `offset` is returned separately. */
static int read_tensor_info(cursor *c, rg_tensor *t, uint32_t *ggml_type, uint64_t *offset, uint64_t index) {
    rg_gguf_str name;
    if (read_string(c, &name, "tensor name") != RG_OK) {
        char context[64];
        snprintf(context, sizeof context, "tensor info %llu", (unsigned long long)index);
        return with_context(c, context);
    }
    if (name.len > MAX_NAME_LEN)
        return rg_error("%s: tensor info %llu: name of %llu bytes", c->path, (unsigned long long)index,
                        (unsigned long long)name.len);
    if (!(t->name = copy_string(name))) return RG_ERR;
    t->path = c->path;
    uint32_t n_dims;
    if (read_u32(c, &n_dims, t->name) != RG_OK) return RG_ERR;
    if (n_dims > RG_MAX_DIMS)
        return rg_error("%s: tensor %s: %u dimensions (at most %d)", c->path, t->name, n_dims, RG_MAX_DIMS);
    t->ndim = (int)n_dims;
    uint64_t numel = 1, ne[RG_MAX_DIMS];
    for (uint32_t d = 0; d < n_dims; d++) {
        if (read_u64(c, &ne[d], t->name) != RG_OK) return RG_ERR;
        if (ne[d] > INT64_MAX || __builtin_mul_overflow(numel, ne[d], &numel) || numel > INT64_MAX)
            return rg_error("%s: tensor %s: dimensions overflow", c->path, t->name);
        t->shape[n_dims - 1 - d] = (int64_t)ne[d]; /* row-major: innermost last */
    }
    t->numel = (int64_t)numel;
    if (read_u32(c, ggml_type, t->name) != RG_OK || read_u64(c, offset, t->name) != RG_OK) return RG_ERR;
    t->dtype = ggml_dtype(*ggml_type);
    if (t->dtype == RG_DTYPE_INVALID)
        return rg_error("%s: tensor %s: ggml type %s (%u) is not supported (F32, F16, BF16, Q8_0, "
                        "F64, I8-I64 are)",
                        c->path, t->name, ggml_type_name(*ggml_type), *ggml_type);
    if (t->dtype == RG_Q8_0 && (n_dims == 0 || ne[0] % RG_Q8_0_BLOCK != 0))
        return rg_error("%s: tensor %s: Q8_0 rows of %llu values are not whole 32-value blocks", c->path,
                        t->name, n_dims ? (unsigned long long)ne[0] : 0ull);
    int ok;
    t->nbytes = rg_dtype_bytes(t->dtype, numel, &ok);
    if (!ok) return rg_error_prefix("%s: tensor %s", c->path, t->name);
    return RG_OK;
}

/* Magic, version, and the two counts, each bounded by the file's size before
 * anything is allocated for it (a kv takes >= 13 bytes, a tensor info >= 24). */
static int read_header(cursor *c, rg_gguf_file *g, uint64_t *tensor_count, uint64_t *kv_count) {
    if (need(c, 4, "magic") != RG_OK) return RG_ERR;
    if (memcmp(c->base, "GGUF", 4) != 0) return rg_error("%s: not a GGUF file (bad magic)", g->path);
    c->pos = 4;
    if (read_u32(c, &g->version, "version") != RG_OK) return RG_ERR;
    if (g->version == 0x03000000u || g->version == 0x02000000u)
        return rg_error("%s: big-endian GGUF is not supported", g->path);
    if (g->version != 2 && g->version != 3)
        return rg_error("%s: GGUF version %u is not supported (2 and 3 are)", g->path, g->version);
    if (read_u64(c, tensor_count, "tensor count") != RG_OK || read_u64(c, kv_count, "metadata count") != RG_OK)
        return RG_ERR;
    if (*kv_count > (c->size - c->pos) / 13)
        return rg_error("%s: metadata count %llu is impossible for a %zu-byte file", g->path,
                        (unsigned long long)*kv_count, c->size);
    if (*tensor_count > (c->size - c->pos) / 24)
        return rg_error("%s: tensor count %llu is impossible for a %zu-byte file", g->path,
                        (unsigned long long)*tensor_count, c->size);
    return RG_OK;
}

/* The metadata key/values (a duplicate key is ambiguous: refused), then general.alignment. */
static int read_metadata(cursor *c, rg_gguf_file *g, uint64_t kv_count) {
    if (!(g->kvs = rg_calloc((size_t)kv_count + 1, sizeof(rg_gguf_kv)))) return RG_ERR;
    for (uint64_t i = 0; i < kv_count; i++) {
        g->n_kvs++;
        if (read_kv(c, &g->kvs[i], i) != RG_OK) return RG_ERR;
    }
    rg_gguf_kv *sorted = rg_malloc(((size_t)g->n_kvs + 1) * sizeof *sorted);
    if (!sorted) return RG_ERR;
    memcpy(sorted, g->kvs, (size_t)g->n_kvs * sizeof *sorted);
    qsort(sorted, (size_t)g->n_kvs, sizeof *sorted, by_key);
    for (int i = 1; i < g->n_kvs; i++)
        if (strcmp(sorted[i - 1].key, sorted[i].key) == 0) {
            rg_error("%s: metadata key %s appears twice", g->path, sorted[i].key);
            free(sorted);
            return RG_ERR;
        }
    free(sorted);
    g->alignment = 32;
    const rg_gguf_kv *align = rg_gguf_find(g, "general.alignment");
    if (!align) return RG_OK;
    if (align->type != RG_GGUF_UINT32)
        return rg_error("%s: general.alignment is %s, expected uint32", g->path, rg_gguf_type_name(align->type));
    if (align->scalar.u64 == 0 || align->scalar.u64 % 8 != 0 || align->scalar.u64 > MAX_ALIGNMENT)
        return rg_error("%s: general.alignment %llu must be a positive multiple of 8 (<= %u)", g->path,
                        (unsigned long long)align->scalar.u64, MAX_ALIGNMENT);
    g->alignment = (uint32_t)align->scalar.u64;
    return RG_OK;
}

/* The tensor infos, and each tensor's data placed in the data section (which
 * starts at the next multiple of the alignment), inside the file. */
static int read_tensors(cursor *c, rg_gguf_file *g, uint64_t tensor_count) {
    g->tensors = rg_calloc((size_t)tensor_count + 1, sizeof(rg_tensor));
    g->ggml_types = rg_calloc((size_t)tensor_count + 1, sizeof(uint32_t));
    uint64_t *offsets = rg_calloc((size_t)tensor_count + 1, sizeof(uint64_t));
    if (!g->tensors || !g->ggml_types || !offsets) {
        free(offsets);
        return RG_ERR;
    }
    int status = RG_OK;
    for (uint64_t i = 0; i < tensor_count && status == RG_OK; i++) {
        g->n_tensors++;
        status = read_tensor_info(c, &g->tensors[i], &g->ggml_types[i], &offsets[i], i);
    }
    size_t data_offset = (c->pos + g->alignment - 1) / g->alignment * g->alignment;
    if (status == RG_OK && data_offset > c->size)
        status = rg_error("%s: truncated: tensor data would start at %zu, file has %zu bytes", g->path,
                          data_offset, c->size);
    g->data_offset = data_offset;
    size_t data_size = status == RG_OK ? c->size - data_offset : 0;
    for (int i = 0; i < g->n_tensors && status == RG_OK; i++) {
        rg_tensor *t = &g->tensors[i];
        if (offsets[i] % g->alignment != 0)
            status = rg_error("%s: tensor %s: offset %llu is not a multiple of the alignment %u", g->path,
                              t->name, (unsigned long long)offsets[i], g->alignment);
        else if (offsets[i] > data_size || t->nbytes > data_size - offsets[i])
            status = rg_error("%s: tensor %s: data [%llu, +%zu) runs past the end of the file "
                              "(%zu data bytes)",
                              g->path, t->name, (unsigned long long)offsets[i], t->nbytes, data_size);
        else
            t->data = (const uint8_t *)g->map + data_offset + offsets[i];
    }
    free(offsets);
    return status;
}

/* The name index (a duplicate name is refused); tensors may have padding
 * between them, never share bytes. */
static int index_tensors(rg_gguf_file *g) {
    g->by_name = rg_malloc(((size_t)g->n_tensors + 1) * sizeof *g->by_name);
    if (!g->by_name) return RG_ERR;
    for (int i = 0; i < g->n_tensors; i++) g->by_name[i] = &g->tensors[i];
    qsort(g->by_name, (size_t)g->n_tensors, sizeof *g->by_name, by_name_ptr);
    for (int i = 1; i < g->n_tensors; i++)
        if (strcmp(g->by_name[i - 1]->name, g->by_name[i]->name) == 0)
            return rg_error("%s: tensor %s appears twice", g->path, g->by_name[i]->name);
    const rg_tensor **by_offset = rg_malloc(((size_t)g->n_tensors + 1) * sizeof *by_offset);
    if (!by_offset) return RG_ERR;
    memcpy(by_offset, g->by_name, (size_t)g->n_tensors * sizeof *by_offset);
    qsort(by_offset, (size_t)g->n_tensors, sizeof *by_offset, by_data);
    const rg_tensor *furthest = g->n_tensors ? by_offset[0] : NULL; /* the one ending last so far */
    int status = RG_OK;
    for (int i = 1; i < g->n_tensors && status == RG_OK; i++) {
        const rg_tensor *t = by_offset[i];
        if (t->nbytes > 0 && (const uint8_t *)furthest->data + furthest->nbytes > (const uint8_t *)t->data)
            status = rg_error("%s: tensor %s overlaps tensor %s", g->path, t->name, furthest->name);
        if ((const uint8_t *)t->data + t->nbytes > (const uint8_t *)furthest->data + furthest->nbytes)
            furthest = t;
    }
    free(by_offset);
    return status;
}

static int parse(rg_gguf_file *g) {
    cursor c = {g->map, g->map_size, 0, g->path};
    uint64_t tensor_count, kv_count;
    if (read_header(&c, g, &tensor_count, &kv_count) || read_metadata(&c, g, kv_count) ||
        read_tensors(&c, g, tensor_count))
        return RG_ERR;
    return index_tensors(g);
}

int rg_gguf_open(rg_gguf_file *g, const char *path) {
    memset(g, 0, sizeof *g);
    if (!(g->path = rg_strdup(path))) return RG_ERR;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int saved = errno;
        rg_gguf_close(g);
        return rg_error("%s: cannot open: %s", path, strerror(saved));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        rg_gguf_close(g);
        return rg_error("%s: not a regular file", path);
    }
    if (st.st_size < 24) {
        close(fd);
        rg_gguf_close(g);
        return rg_error("%s: truncated: %lld bytes, shorter than a GGUF header", path, (long long)st.st_size);
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int saved = errno;
    close(fd);
    if (map == MAP_FAILED) {
        rg_gguf_close(g);
        return rg_error("%s: cannot mmap: %s", path, strerror(saved));
    }
    g->map = map;
    g->map_size = (size_t)st.st_size;
    if (parse(g) != RG_OK) {
        rg_gguf_close(g); /* keeps the recorded message */
        return RG_ERR;
    }
    return RG_OK;
}

void rg_gguf_close(rg_gguf_file *g) {
    if (g->map) munmap(g->map, g->map_size);
    for (int i = 0; i < g->n_kvs; i++) {
        free(g->kvs[i].key);
        free(g->kvs[i].string);
        free(g->kvs[i].array_strings);
    }
    free(g->kvs);
    for (int i = 0; i < g->n_tensors; i++) free((char *)g->tensors[i].name);
    free(g->tensors);
    free(g->ggml_types);
    free(g->by_name);
    free(g->path);
    memset(g, 0, sizeof *g);
}

const rg_gguf_kv *rg_gguf_find(const rg_gguf_file *g, const char *key) {
    for (int i = 0; i < g->n_kvs; i++)
        if (g->kvs[i].key && strcmp(g->kvs[i].key, key) == 0) return &g->kvs[i];
    return NULL;
}

static int is_integer_type(rg_gguf_type type) {
    return type == RG_GGUF_UINT8 || type == RG_GGUF_INT8 || type == RG_GGUF_UINT16 ||
           type == RG_GGUF_INT16 || type == RG_GGUF_UINT32 || type == RG_GGUF_INT32 ||
           type == RG_GGUF_UINT64 || type == RG_GGUF_INT64 || type == RG_GGUF_BOOL;
}

static int is_signed_type(rg_gguf_type type) {
    return type == RG_GGUF_INT8 || type == RG_GGUF_INT16 || type == RG_GGUF_INT32 || type == RG_GGUF_INT64;
}

int rg_gguf_get_int(const rg_gguf_file *g, const char *key, int64_t *out) {
    const rg_gguf_kv *kv = rg_gguf_find(g, key);
    if (!kv) return rg_error("%s: metadata %s is missing", g->path, key);
    if (!is_integer_type(kv->type))
        return rg_error("%s: metadata %s is %s, expected an integer", g->path, key, rg_gguf_type_name(kv->type));
    if (!is_signed_type(kv->type) && kv->scalar.u64 > INT64_MAX)
        return rg_error("%s: metadata %s: %llu is too large", g->path, key, (unsigned long long)kv->scalar.u64);
    *out = kv->scalar.i64;
    return RG_OK;
}

int rg_gguf_get_float(const rg_gguf_file *g, const char *key, double *out) {
    const rg_gguf_kv *kv = rg_gguf_find(g, key);
    if (!kv) return rg_error("%s: metadata %s is missing", g->path, key);
    if (kv->type != RG_GGUF_FLOAT32 && kv->type != RG_GGUF_FLOAT64)
        return rg_error("%s: metadata %s is %s, expected a float", g->path, key, rg_gguf_type_name(kv->type));
    *out = kv->scalar.f64;
    return RG_OK;
}

const char *rg_gguf_get_string(const rg_gguf_file *g, const char *key) {
    const rg_gguf_kv *kv = rg_gguf_find(g, key);
    if (!kv) {
        rg_error("%s: metadata %s is missing", g->path, key);
        return NULL;
    }
    if (kv->type != RG_GGUF_STRING) {
        rg_error("%s: metadata %s is %s, expected a string", g->path, key, rg_gguf_type_name(kv->type));
        return NULL;
    }
    return kv->string;
}

int rg_gguf_array_int(const rg_gguf_kv *kv, uint64_t index, int64_t *out) {
    if (kv->type != RG_GGUF_ARRAY || !is_integer_type(kv->array_type))
        return rg_error("metadata %s is not an integer array", kv->key);
    if (index >= kv->array_len)
        return rg_error("metadata %s: index %llu past %llu elements", kv->key, (unsigned long long)index,
                        (unsigned long long)kv->array_len);
    size_t size = scalar_size(kv->array_type);
    uint64_t bits = load_le(kv->array_raw + index * size, (int)size);
    if (is_signed_type(kv->array_type)) {
        int shift = 64 - 8 * (int)size; /* sign-extend */
        *out = (int64_t)(bits << shift) >> shift;
    } else {
        if (bits > INT64_MAX) return rg_error("metadata %s: element %llu too large", kv->key, (unsigned long long)index);
        *out = (int64_t)bits;
    }
    return RG_OK;
}

int rg_gguf_array_float(const rg_gguf_kv *kv, uint64_t index, double *out) {
    if (kv->type != RG_GGUF_ARRAY || (kv->array_type != RG_GGUF_FLOAT32 && kv->array_type != RG_GGUF_FLOAT64))
        return rg_error("metadata %s is not a float array", kv->key);
    if (index >= kv->array_len)
        return rg_error("metadata %s: index %llu past %llu elements", kv->key, (unsigned long long)index,
                        (unsigned long long)kv->array_len);
    if (kv->array_type == RG_GGUF_FLOAT32) {
        uint32_t bits = (uint32_t)load_le(kv->array_raw + 4 * index, 4);
        float f;
        memcpy(&f, &bits, 4);
        *out = f;
    } else {
        uint64_t bits = load_le(kv->array_raw + 8 * index, 8);
        memcpy(out, &bits, 8);
    }
    return RG_OK;
}

rg_gguf_str rg_gguf_array_string(const rg_gguf_kv *kv, uint64_t index) {
    rg_gguf_str none = {NULL, 0};
    if (kv->type != RG_GGUF_ARRAY || kv->array_type != RG_GGUF_STRING || index >= kv->array_len) {
        rg_error("metadata %s: no string element %llu", kv->key, (unsigned long long)index);
        return none;
    }
    return kv->array_strings[index];
}

const rg_tensor *rg_gguf_find_tensor(const rg_gguf_file *g, const char *name) {
    rg_tensor key = {.name = name};
    const rg_tensor *key_ptr = &key;
    const rg_tensor **hit = bsearch(&key_ptr, g->by_name, (size_t)g->n_tensors, sizeof *g->by_name, by_name_ptr);
    return hit ? *hit : NULL;
}
