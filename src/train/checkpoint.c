/* checkpoint.c — Hugging Face model folders and merging (see checkpoint.h). */
#include "train/checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "io/file.h"
#include "io/safetensors.h"
#include "nn/nn.h"
#include "train/lora_merge.h"

/* Copies src_dir/name to dir/name when it exists (atomic write). */
static int copy_if_present(const char *src_dir, const char *dir, const char *name, int required) {
    char *src = rg_path_join(src_dir, name), *dst = rg_path_join(dir, name);
    int rc = RG_OK;
    if (!src || !dst) {
        rc = RG_ERR;
    } else if (rg_file_exists(src)) {
        char *data;
        size_t len;
        rc = rg_read_file(src, &data, &len);
        if (rc == RG_OK) {
            rc = rg_write_file_atomic(dst, data, len);
            free(data);
        }
    } else if (required) {
        rc = rg_error("%s: not found (needed to write the checkpoint)", src);
    }
    free(src);
    free(dst);
    return rc;
}

static const char *const tokenizer_files[] = {"tokenizer.json",     "tokenizer_config.json", "generation_config.json",
                                              "special_tokens_map.json", "vocab.json",       "merges.txt",
                                              "chat_template.jinja", "added_tokens.json"};

int rg_hf_save(const rg_model *model, const char *src_dir, const char *dir, rg_dtype dtype) {
    if (dtype != RG_F32 && dtype != RG_BF16) return rg_error("checkpoint dtype must be f32 or bf16");
    if (copy_if_present(src_dir, dir, "config.json", 1) != RG_OK) return RG_ERR;
    for (size_t i = 0; i < sizeof tokenizer_files / sizeof *tokenizer_files; i++)
        if (copy_if_present(src_dir, dir, tokenizer_files[i], 0) != RG_OK) return RG_ERR;
    /* Tensors already in the wanted dtype are written straight from the model's
     * buffers; only the others are converted, into one buffer (saving a 3B
     * bf16 model as bf16 takes no second copy of it). */
    const size_t elem = dtype == RG_F32 ? 4 : 2;
    size_t to_convert = 0;
    for (int i = 0; i < model->n_entries; i++)
        if (model->entries[i].in_bf16 != (dtype == RG_BF16)) to_convert += model->entries[i].numel;
    void *converted = to_convert ? rg_malloc_aligned(to_convert * elem) : NULL;
    rg_st_entry *entries = rg_calloc((size_t)model->n_entries, sizeof *entries);
    if ((to_convert && !converted) || !entries) {
        rg_free_aligned(converted);
        free(entries);
        return RG_ERR;
    }
    size_t at = 0;
    for (int i = 0; i < model->n_entries; i++) {
        const rg_param_entry *e = &model->entries[i];
        const void *data;
        if (e->in_bf16 == (dtype == RG_BF16)) {
            data = e->in_bf16 ? (const void *)(model->params_bf16 + e->offset)
                              : (const void *)(model->params + e->offset);
        } else {
            uint8_t *dst = (uint8_t *)converted + at * elem;
            if (dtype == RG_F32) nn_bf16_to_f32_array((float *)dst, model->params_bf16 + e->offset, e->numel);
            else nn_f32_to_bf16_array((uint16_t *)dst, model->params + e->offset, e->numel);
            at += e->numel;
            data = dst;
        }
        entries[i].name = e->name;
        entries[i].dtype = dtype;
        entries[i].ndim = e->ndim;
        entries[i].shape[0] = e->shape[0];
        entries[i].shape[1] = e->shape[1];
        entries[i].data = data;
    }
    char *path = rg_path_join(dir, "model.safetensors");
    const char *metadata[] = {"format", "pt", NULL};
    int rc = path ? rg_st_write(path, entries, model->n_entries, metadata) : RG_ERR;
    free(path);
    free(entries);
    rg_free_aligned(converted);
    return rc;
}

int rg_model_load_adapted(rg_model *model, const char *model_dir, const char *adapter_dir) {
    if (rg_model_load(model, model_dir, RG_WEIGHTS_F32) != RG_OK) return RG_ERR;
    if (!adapter_dir) return RG_OK;
    rg_lora lora;
    if (rg_peft_load(&lora, &model->cfg, adapter_dir) != RG_OK) {
        rg_model_free(model);
        return RG_ERR;
    }
    int rc = rg_lora_merge(&lora, model);
    rg_lora_free(&lora);
    if (rc != RG_OK) rg_model_free(model);
    return rc;
}
