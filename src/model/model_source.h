/* model_source.h — where a model's tensors come from, looked up by their
 * Hugging Face names: a safetensors checkpoint (one file or shards) or a GGUF
 * file (llama.cpp names mapped to HF names). Internal to src/model/. */
#ifndef RG_MODEL_SOURCE_H
#define RG_MODEL_SOURCE_H

#include "io/safetensors.h"
#include "model/config.h"
#include "model/model.h"

typedef struct {
    int is_gguf;
    rg_st_set st;
    void *gguf; /* rg_gguf_file * when is_gguf */
    char *path;
} rg_model_source;

/* path: a model folder (config.json + model.safetensors[.index.json]) or a .gguf file. */
int rg_model_source_open(rg_model_source *src, const char *path, rg_model_config *cfg);
void rg_model_source_close(rg_model_source *src);
/* The tensor with this HF name; error naming file and tensor when absent. */
const rg_tensor *rg_model_source_get(rg_model_source *src, const char *hf_name);
/* How many tensors the checkpoint holds (bounds what a config may claim). */
int rg_model_source_n_tensors(const rg_model_source *src);
/* After a tensor was converted into the model: undo a format's layout change
 * (GGUF llama Q/K row permutation). */
int rg_model_source_fixup(rg_model_source *src, const char *hf_name, const rg_param_entry *entry, rg_model *model);
/* After a tensor was converted: its file pages leave this process's resident
 * memory (a safetensors file is mapped read-only and private, so a later read
 * faults them in again from the file). Without it, loading a model holds the
 * file and the model in RSS together at the end: 2x the model's bytes for a
 * bf16 checkpoint loaded as bf16 (12 GB for a 3B model). */
void rg_model_source_release(rg_model_source *src, const rg_tensor *t);

#endif
