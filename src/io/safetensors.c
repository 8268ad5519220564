/* safetensors.c — validated mmap reader for one safetensors file, and the
 * sharded set (model.safetensors.index.json) built on it. */
#include "io/safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "io/file.h"

/* Largest integer a JSON number (a double in cJSON) holds exactly. */
#define JSON_MAX_EXACT 9007199254740992.0

static int by_name(const void *a, const void *b) {
    return strcmp(((const rg_tensor *)a)->name, ((const rg_tensor *)b)->name);
}

static int by_offset(const void *a, const void *b) {
    const rg_tensor *x = *(const rg_tensor *const *)a, *y = *(const rg_tensor *const *)b;
    if (x->data != y->data) return (const uint8_t *)x->data < (const uint8_t *)y->data ? -1 : 1;
    if (x->nbytes != y->nbytes) return x->nbytes < y->nbytes ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* A non-negative integer JSON number that a double holds exactly. */
static int json_uint(const cJSON *item, uint64_t *out) {
    if (!cJSON_IsNumber(item)) return 0;
    double v = item->valuedouble;
    if (!(v >= 0.0) || v > JSON_MAX_EXACT || v != (double)(uint64_t)v) return 0;
    *out = (uint64_t)v;
    return 1;
}

static int parse_metadata(rg_st_file *f, const cJSON *meta) {
    if (!cJSON_IsObject(meta)) return rg_error("%s: __metadata__ is not an object", f->path);
    int n = cJSON_GetArraySize(meta);
    f->metadata = rg_calloc((size_t)n * 2 + 1, sizeof(char *));
    if (!f->metadata) return RG_ERR;
    for (const cJSON *kv = meta->child; kv; kv = kv->next) {
        if (!cJSON_IsString(kv))
            return rg_error("%s: __metadata__ value of \"%s\" is not a string", f->path, kv->string);
        char *key = rg_strdup(kv->string), *value = rg_strdup(kv->valuestring);
        f->metadata[2 * f->n_metadata] = key;
        f->metadata[2 * f->n_metadata + 1] = value;
        f->n_metadata++;
        if (!key || !value) return RG_ERR;
    }
    return RG_OK;
}

static int parse_tensor(rg_st_file *f, const cJSON *entry, rg_tensor *t) {
    const char *name = entry->string;
    if (!cJSON_IsObject(entry)) return rg_error("%s: tensor %s: entry is not an object", f->path, name);
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(entry, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(entry, "shape");
    const cJSON *offsets = cJSON_GetObjectItemCaseSensitive(entry, "data_offsets");
    if (!cJSON_IsString(dtype)) return rg_error("%s: tensor %s: missing \"dtype\" string", f->path, name);
    t->dtype = rg_dtype_from_name(dtype->valuestring);
    if (t->dtype == RG_DTYPE_INVALID || t->dtype == RG_Q8_0)
        return rg_error("%s: tensor %s: unknown dtype \"%s\"", f->path, name, dtype->valuestring);
    if (!cJSON_IsArray(shape)) return rg_error("%s: tensor %s: missing \"shape\" array", f->path, name);
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > RG_MAX_DIMS)
        return rg_error("%s: tensor %s: %d dimensions (at most %d supported)", f->path, name, ndim,
                        RG_MAX_DIMS);
    t->ndim = ndim;
    uint64_t numel = 1;
    int d = 0;
    for (const cJSON *dim = shape->child; dim; dim = dim->next, d++) {
        uint64_t extent;
        if (!json_uint(dim, &extent) || extent > INT64_MAX)
            return rg_error("%s: tensor %s: shape[%d] is not a non-negative integer", f->path, name, d);
        if (__builtin_mul_overflow(numel, extent, &numel) || numel > INT64_MAX)
            return rg_error("%s: tensor %s: shape overflows", f->path, name);
        t->shape[d] = (int64_t)extent;
    }
    t->numel = (int64_t)numel;
    uint64_t begin, end;
    if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 ||
        !json_uint(cJSON_GetArrayItem(offsets, 0), &begin) ||
        !json_uint(cJSON_GetArrayItem(offsets, 1), &end))
        return rg_error("%s: tensor %s: \"data_offsets\" must be [begin, end] integers", f->path, name);
    if (begin > end || end > f->buffer_size)
        return rg_error("%s: tensor %s: data_offsets [%llu, %llu] outside the %zu-byte data buffer",
                        f->path, name, (unsigned long long)begin, (unsigned long long)end,
                        f->buffer_size);
    int ok;
    size_t expected = rg_dtype_bytes(t->dtype, numel, &ok);
    if (!ok) return rg_error_prefix("%s: tensor %s", f->path, name);
    if (end - begin != expected) {
        char dims[160];
        return rg_error("%s: tensor %s: %llu bytes in data_offsets, but %s %s needs %zu", f->path,
                        name, (unsigned long long)(end - begin), rg_dtype_name(t->dtype),
                        rg_shape_str(dims, sizeof dims, t->ndim, t->shape), expected);
    }
    t->data = f->buffer + begin;
    t->nbytes = (size_t)(end - begin);
    t->path = f->path;
    return RG_OK;
}

/* The tensors must tile the buffer: sorted by offset, each begins where the
 * previous ended, the last ends at the end of the file. */
static int check_coverage(rg_st_file *f) {
    const rg_tensor **order = rg_malloc(((size_t)f->n_tensors + 1) * sizeof *order);
    if (!order) return RG_ERR;
    for (int i = 0; i < f->n_tensors; i++) order[i] = &f->tensors[i];
    qsort(order, (size_t)f->n_tensors, sizeof *order, by_offset);
    size_t expected = 0;
    const char *previous = NULL;
    int status = RG_OK;
    for (int i = 0; i < f->n_tensors && status == RG_OK; i++) {
        size_t begin = (size_t)((const uint8_t *)order[i]->data - f->buffer);
        if (begin < expected)
            status = rg_error("%s: tensor %s: data [%zu, %zu) overlaps tensor %s", f->path,
                              order[i]->name, begin, begin + order[i]->nbytes, previous);
        else if (begin > expected)
            status = rg_error("%s: tensor %s: hole of %zu bytes before its data at %zu "
                              "(the data buffer must be fully covered)",
                              f->path, order[i]->name, begin - expected, begin);
        expected = begin + order[i]->nbytes;
        previous = order[i]->name;
    }
    if (status == RG_OK && expected != f->buffer_size)
        status = rg_error("%s: %zu bytes after the last tensor's data (the data buffer must be "
                          "fully covered)",
                          f->path, f->buffer_size - expected);
    free(order);
    return status;
}

static int parse_header(rg_st_file *f, const char *json, size_t len) {
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!root) {
        size_t at = end ? (size_t)(end - json) : 0;
        const char *where = cJSON_GetErrorPtr();
        if (where && where >= json && where <= json + len) at = (size_t)(where - json);
        return rg_error("%s: header is not valid JSON (near byte %zu of %zu)", f->path, at, len);
    }
    int status = RG_OK;
    for (const char *p = end; p && p < json + len; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            status = rg_error("%s: header has trailing bytes after the JSON object", f->path);
            break;
        }
    if (status == RG_OK && !cJSON_IsObject(root))
        status = rg_error("%s: header is not a JSON object", f->path);
    int n = status == RG_OK ? cJSON_GetArraySize(root) : 0;
    if (status == RG_OK && !(f->tensors = rg_calloc((size_t)n + 1, sizeof(rg_tensor)))) status = RG_ERR;
    for (const cJSON *entry = status == RG_OK ? root->child : NULL; entry && status == RG_OK;
         entry = entry->next) {
        if (strcmp(entry->string, "__metadata__") == 0) {
            if (f->metadata) status = rg_error("%s: duplicate __metadata__", f->path);
            else status = parse_metadata(f, entry);
            continue;
        }
        rg_tensor *t = &f->tensors[f->n_tensors];
        if (!(t->name = rg_strdup(entry->string))) status = RG_ERR;
        else {
            f->n_tensors++;
            status = parse_tensor(f, entry, t);
        }
    }
    cJSON_Delete(root);
    if (status != RG_OK) return status;
    qsort(f->tensors, (size_t)f->n_tensors, sizeof(rg_tensor), by_name);
    for (int i = 1; i < f->n_tensors; i++)
        if (strcmp(f->tensors[i - 1].name, f->tensors[i].name) == 0)
            return rg_error("%s: tensor %s appears twice in the header", f->path, f->tensors[i].name);
    return check_coverage(f);
}

int rg_st_open(rg_st_file *f, const char *path) {
    memset(f, 0, sizeof *f);
    if (!(f->path = rg_strdup(path))) return RG_ERR;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int saved = errno;
        rg_st_close(f);
        return rg_error("%s: cannot open: %s", path, strerror(saved));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        rg_st_close(f);
        return rg_error("%s: not a regular file", path);
    }
    size_t size = (size_t)st.st_size;
    if (size < 8) {
        close(fd);
        rg_st_close(f);
        return rg_error("%s: truncated: %zu bytes, shorter than the 8-byte header size", path, size);
    }
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int saved = errno;
    close(fd);
    if (map == MAP_FAILED) {
        rg_st_close(f);
        return rg_error("%s: cannot mmap: %s", path, strerror(saved));
    }
    f->map = map;
    f->map_size = size;
    const uint8_t *bytes = map;
    uint64_t header_size = 0;
    for (int i = 7; i >= 0; i--) header_size = (header_size << 8) | bytes[i];
    if (header_size > RG_ST_MAX_HEADER) {
        rg_st_close(f);
        return rg_error("%s: header size %llu exceeds the %u-byte limit (corrupt or not safetensors)",
                        path, (unsigned long long)header_size, RG_ST_MAX_HEADER);
    }
    if (header_size > size - 8) {
        rg_st_close(f);
        return rg_error("%s: truncated: header size %llu but only %zu bytes follow", path,
                        (unsigned long long)header_size, size - 8);
    }
    f->buffer = bytes + 8 + header_size;
    f->buffer_size = size - 8 - (size_t)header_size;
    if (parse_header(f, (const char *)bytes + 8, (size_t)header_size) != RG_OK) {
        rg_st_close(f); /* keeps the recorded message */
        return RG_ERR;
    }
    return RG_OK;
}

void rg_st_close(rg_st_file *f) {
    if (f->map) munmap(f->map, f->map_size);
    for (int i = 0; i < f->n_tensors; i++) free((char *)f->tensors[i].name);
    free(f->tensors);
    for (int i = 0; i < 2 * f->n_metadata; i++) free(f->metadata[i]);
    free(f->metadata);
    free(f->path);
    memset(f, 0, sizeof *f);
}

const rg_tensor *rg_st_find(const rg_st_file *f, const char *name) {
    rg_tensor key = {.name = name};
    return bsearch(&key, f->tensors, (size_t)f->n_tensors, sizeof(rg_tensor), by_name);
}

const char *rg_st_metadata(const rg_st_file *f, const char *key) {
    for (int i = 0; i < f->n_metadata; i++)
        if (strcmp(f->metadata[2 * i], key) == 0) return f->metadata[2 * i + 1];
    return NULL;
}

/* ---- sets: one file or the shards of an index */

static int by_name_ptr(const void *a, const void *b) {
    return strcmp((*(const rg_tensor *const *)a)->name, (*(const rg_tensor *const *)b)->name);
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int is_directory(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Gathers every tensor of every file into one sorted table; a name in two
 * shards is an error. */
static int build_table(rg_st_set *set) {
    int total = 0;
    for (int i = 0; i < set->n_files; i++) total += set->files[i].n_tensors;
    set->tensors = rg_malloc(((size_t)total + 1) * sizeof *set->tensors);
    if (!set->tensors) return RG_ERR;
    for (int i = 0; i < set->n_files; i++)
        for (int j = 0; j < set->files[i].n_tensors; j++)
            set->tensors[set->n_tensors++] = &set->files[i].tensors[j];
    qsort(set->tensors, (size_t)set->n_tensors, sizeof *set->tensors, by_name_ptr);
    for (int i = 1; i < set->n_tensors; i++)
        if (strcmp(set->tensors[i - 1]->name, set->tensors[i]->name) == 0)
            return rg_error("%s: tensor %s is in both %s and %s", set->path, set->tensors[i]->name,
                            set->tensors[i - 1]->path, set->tensors[i]->path);
    return RG_OK;
}

static int open_index(rg_st_set *set, const char *index_path) {
    char *text = NULL;
    size_t len = 0;
    if (rg_read_file(index_path, &text, &len) != RG_OK) return RG_ERR;
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    if (!root) return rg_error("%s: not valid JSON", index_path);
    int status = RG_OK;
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    if (!cJSON_IsObject(map)) status = rg_error("%s: missing \"weight_map\" object", index_path);
    /* the directory the shard names are relative to */
    char *dir = rg_strdup(index_path);
    if (!dir) status = RG_ERR;
    else {
        char *slash = strrchr(dir, '/');
        if (slash) *slash = '\0';
        else strcpy(dir, ".");
    }
    int capacity = status == RG_OK ? cJSON_GetArraySize(map) : 0;
    if (status == RG_OK && !(set->files = rg_calloc((size_t)capacity + 1, sizeof(rg_st_file))))
        status = RG_ERR;
    /* open each distinct shard once, in first-mention order */
    for (const cJSON *kv = status == RG_OK ? map->child : NULL; kv && status == RG_OK; kv = kv->next) {
        if (!cJSON_IsString(kv))
            status = rg_error("%s: weight_map entry %s is not a file name", index_path, kv->string);
        else if (kv->valuestring[0] == '/' || strstr(kv->valuestring, "..") || !kv->valuestring[0])
            status = rg_error("%s: weight_map entry %s: shard name \"%s\" must be a plain file name "
                              "in the index's directory",
                              index_path, kv->string, kv->valuestring);
        if (status != RG_OK) break;
        char *shard = rg_path_join(dir, kv->valuestring);
        if (!shard) {
            status = RG_ERR;
            break;
        }
        int seen = 0;
        for (int i = 0; i < set->n_files && !seen; i++) seen = strcmp(set->files[i].path, shard) == 0;
        if (!seen) {
            if (!rg_file_exists(shard))
                status = rg_error("%s: shard %s (holding tensor %s) is missing", index_path, shard,
                                  kv->string);
            else if (rg_st_open(&set->files[set->n_files], shard) == RG_OK) set->n_files++;
            else status = RG_ERR;
        }
        free(shard);
    }
    if (status == RG_OK) status = build_table(set);
    /* every name in the index must be in the shard it names */
    for (const cJSON *kv = status == RG_OK ? map->child : NULL; kv && status == RG_OK; kv = kv->next) {
        const rg_tensor *t = rg_st_set_find(set, kv->string);
        if (!t) {
            status = rg_error("%s: tensor %s is listed in the index but missing from shard %s",
                              index_path, kv->string, kv->valuestring);
        } else {
            const char *base = strrchr(t->path, '/');
            base = base ? base + 1 : t->path;
            const char *want = strrchr(kv->valuestring, '/');
            want = want ? want + 1 : kv->valuestring;
            if (strcmp(base, want) != 0)
                status = rg_error("%s: tensor %s is listed in shard %s but found in %s", index_path,
                                  kv->string, kv->valuestring, t->path);
        }
    }
    /* and every tensor of the shards must be in the index */
    if (status == RG_OK && set->n_tensors != cJSON_GetArraySize(map)) {
        for (int i = 0; i < set->n_tensors; i++)
            if (!cJSON_GetObjectItemCaseSensitive(map, set->tensors[i]->name)) {
                status = rg_error("%s: tensor %s in %s is not listed in the index", index_path,
                                  set->tensors[i]->name, set->tensors[i]->path);
                break;
            }
    }
    free(dir);
    cJSON_Delete(root);
    return status;
}

int rg_st_set_open(rg_st_set *set, const char *path) {
    memset(set, 0, sizeof *set);
    if (!(set->path = rg_strdup(path))) return RG_ERR;
    int status;
    if (is_directory(path)) {
        char *index = rg_path_join(path, "model.safetensors.index.json");
        char *single = rg_path_join(path, "model.safetensors");
        if (!index || !single) status = RG_ERR;
        else if (rg_file_exists(index)) status = open_index(set, index);
        else if (rg_file_exists(single)) {
            set->files = rg_calloc(1, sizeof(rg_st_file));
            status = set->files ? rg_st_open(&set->files[0], single) : RG_ERR;
            if (status == RG_OK) set->n_files = 1;
            if (status == RG_OK) status = build_table(set);
        } else
            status = rg_error("%s: no model.safetensors or model.safetensors.index.json", path);
        free(index);
        free(single);
    } else if (ends_with(path, ".json")) {
        status = open_index(set, path);
    } else {
        set->files = rg_calloc(1, sizeof(rg_st_file));
        status = set->files ? rg_st_open(&set->files[0], path) : RG_ERR;
        if (status == RG_OK) set->n_files = 1;
        if (status == RG_OK) status = build_table(set);
    }
    if (status != RG_OK) rg_st_set_close(set); /* keeps the recorded message */
    return status;
}

void rg_st_set_close(rg_st_set *set) {
    for (int i = 0; i < set->n_files; i++) rg_st_close(&set->files[i]);
    free(set->files);
    free(set->tensors);
    free(set->path);
    memset(set, 0, sizeof *set);
}

const rg_tensor *rg_st_set_find(const rg_st_set *set, const char *name) {
    rg_tensor key = {.name = name};
    const rg_tensor *key_ptr = &key;
    const rg_tensor **hit =
        bsearch(&key_ptr, set->tensors, (size_t)set->n_tensors, sizeof *set->tensors, by_name_ptr);
    return hit ? *hit : NULL;
}

const rg_tensor *rg_st_set_get(const rg_st_set *set, const char *name) {
    const rg_tensor *t = rg_st_set_find(set, name);
    if (!t) rg_error("%s: tensor %s not found", set->path, name);
    return t;
}
