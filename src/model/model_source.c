/* model_source.c — safetensors folders and GGUF files behind one lookup. */
#include "model/model_source.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "io/file.h"
#include "io/gguf.h"

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int rg_model_gguf_open(rg_model_source *src, const char *path, rg_model_config *cfg);
void rg_model_gguf_close(rg_model_source *src);
const rg_tensor *rg_model_gguf_get(rg_model_source *src, const char *hf_name);
int rg_model_gguf_fixup(rg_model_source *src, const char *hf_name, const rg_param_entry *entry, rg_model *model);

int rg_model_source_open(rg_model_source *src, const char *path, rg_model_config *cfg) {
    memset(src, 0, sizeof *src);
    if (!is_dir(path)) {
        if (ends_with(path, ".gguf")) return rg_model_gguf_open(src, path, cfg);
        if (!rg_file_exists(path)) return rg_error("%s: no such model folder or .gguf file", path);
        return rg_error("%s: not a model folder (config.json + model.safetensors) or a .gguf file", path);
    }
    if (rg_config_load(path, cfg)) return RG_ERR;
    if (rg_st_set_open(&src->st, path)) return RG_ERR;
    src->path = rg_strdup(path);
    if (!src->path) {
        rg_st_set_close(&src->st);
        return RG_ERR;
    }
    return RG_OK;
}

void rg_model_source_close(rg_model_source *src) {
    if (src->is_gguf)
        rg_model_gguf_close(src);
    else if (src->path)
        rg_st_set_close(&src->st);
    free(src->path);
    memset(src, 0, sizeof *src);
}

const rg_tensor *rg_model_source_get(rg_model_source *src, const char *hf_name) {
    if (src->is_gguf) return rg_model_gguf_get(src, hf_name);
    return rg_st_set_get(&src->st, hf_name);
}

int rg_model_source_n_tensors(const rg_model_source *src) {
    if (src->is_gguf) return ((const rg_gguf_file *)src->gguf)->n_tensors;
    return src->st.n_tensors;
}

void rg_model_source_release(rg_model_source *src, const rg_tensor *t) {
    if (src->is_gguf || !t->data || t->nbytes == 0) return; /* GGUF: one small map, left as it is */
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = (uintptr_t)t->data & ~(page - 1), end = (uintptr_t)t->data + t->nbytes;
    /* advisory: a failure only means the pages stay resident until the file is closed */
    (void)madvise((void *)start, end - start, MADV_DONTNEED);
}

int rg_model_source_fixup(rg_model_source *src, const char *hf_name, const rg_param_entry *entry, rg_model *model) {
    if (src->is_gguf) return rg_model_gguf_fixup(src, hf_name, entry, model);
    return RG_OK;
}
