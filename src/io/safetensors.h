/* safetensors.h — read (mmap, validated) and write (atomic) safetensors files.
 *
 * Format (huggingface/safetensors README): 8 bytes little-endian header size
 * N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, ...,
 * "__metadata__": {string: string}}, then the byte buffer. Offsets are
 * relative to the buffer. Everything is validated before a pointer is handed
 * out: header size (<= 100 MB and inside the file), JSON, known dtypes,
 * shapes (non-negative, no overflow), end - begin == numel * element size,
 * and the tensors tile the buffer exactly (no overlaps, no holes, nothing
 * after the last tensor — "the byte buffer needs to be entirely indexed, and
 * cannot contain holes"). Duplicate names are refused.
 *
 * A checkpoint may be one file or shards listed in
 * model.safetensors.index.json ({"weight_map": {name: file}}); rg_st_set
 * opens either and gives one lookup over all of them.
 *
 *   rg_st_set weights;
 *   if (rg_st_set_open(&weights, "path/to/model_dir") != RG_OK) return RG_ERR;
 *   const rg_tensor *w = rg_st_set_get(&weights, "model.norm.weight");
 *   if (!w || rg_tensor_to_f32(w, dst, n) != RG_OK) ...;
 *   rg_st_set_close(&weights);
 */
#ifndef RG_SAFETENSORS_H
#define RG_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "io/tensor.h"

#define RG_ST_MAX_HEADER (100u << 20)

/* One open file. Tensors are sorted by name. */
typedef struct {
    char *path;
    void *map;         /* the whole file, read-only */
    size_t map_size;
    const uint8_t *buffer; /* the byte buffer after the header */
    size_t buffer_size;
    rg_tensor *tensors;
    int n_tensors;
    char **metadata; /* key0, value0, key1, value1, ... (n_metadata pairs) */
    int n_metadata;
} rg_st_file;

int rg_st_open(rg_st_file *file, const char *path);
void rg_st_close(rg_st_file *file);
/* NULL when absent (no error recorded). */
const rg_tensor *rg_st_find(const rg_st_file *file, const char *name);
/* Value of a __metadata__ key, NULL when absent. */
const char *rg_st_metadata(const rg_st_file *file, const char *key);

/* A checkpoint: one file or all the shards of an index. */
typedef struct {
    char *path;           /* what was opened */
    rg_st_file *files;    /* each shard once */
    int n_files;
    const rg_tensor **tensors; /* all tensors of all shards, sorted by name */
    int n_tensors;
} rg_st_set;

/* path: a directory (model.safetensors.index.json preferred, else
 * model.safetensors), an index .json, or a single .safetensors file. */
int rg_st_set_open(rg_st_set *set, const char *path);
void rg_st_set_close(rg_st_set *set);
/* NULL when absent (no error recorded). */
const rg_tensor *rg_st_set_find(const rg_st_set *set, const char *name);
/* Like find, but records "PATH: tensor NAME not found" when absent. */
const rg_tensor *rg_st_set_get(const rg_st_set *set, const char *name);

/* ---- writing */

typedef struct {
    const char *name;
    rg_dtype dtype; /* a safetensors dtype (not Q8_0) */
    int ndim;
    int64_t shape[RG_MAX_DIMS];
    const void *data; /* numel * element size bytes, little-endian */
    /* Instead of data: f32 values converted on the fly (chunk by chunk, no
     * full copy) to dtype F32, F16 or BF16 (round to nearest even). */
    const float *from_f32;
} rg_st_entry;

/* Writes entries atomically (temp + fsync + rename). Tensors are laid out by
 * descending element size, then name, so every tensor is aligned to its
 * element size (the header is space-padded to a multiple of 8, as the
 * reference writer does). metadata: NULL or a NULL-terminated list
 * {"key", "value", ..., NULL} stored as __metadata__. */
int rg_st_write(const char *path, const rg_st_entry *entries, int n_entries,
                const char *const *metadata);

#endif
