/* checkpoint.h — what training writes and reads back:
 *
 *   a full model   a Hugging Face folder: config.json (copied byte for byte
 *                  from the source model), model.safetensors (HF tensor names,
 *                  F32 or BF16; lm_head omitted when tied, as transformers
 *                  saves it), and the tokenizer files copied.
 *   a LoRA adapter a PEFT folder: adapter_config.json (peft_type LORA,
 *                  task_type CAUSAL_LM, r, lora_alpha, target_modules,
 *                  base_model_name_or_path, ...) and adapter_model.safetensors
 *                  with PEFT's names, e.g.
 *                  base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight
 *                  (lora_A [r, in], lora_B [out, r], scaling = lora_alpha / r).
 *
 * Folders are written as one unit (io/atomic_dir.h): everything goes into
 * "<dir>.tmp-<pid>", then a switch of renames that leaves a complete copy
 * reachable at every instant (and rg_dir_recover repairs a killed switch). */
#ifndef RG_CHECKPOINT_H
#define RG_CHECKPOINT_H

#include "io/atomic_dir.h"
#include "io/dtype.h"
#include "model/lora.h"
#include "model/model.h"


/* Writes model's tensors into dir/model.safetensors in dtype (RG_F32 or
 * RG_BF16) and copies config.json and the tokenizer files from src_dir
 * (src_dir may be NULL: then config.json must be given as config_json). */
int rg_hf_save(const rg_model *model, const char *src_dir, const char *dir, rg_dtype dtype);

/* The PEFT folder. base_name is written as base_model_name_or_path. */
int rg_peft_save(const rg_lora *lora, const char *dir, const char *base_name);
/* Reads a PEFT folder into a fresh lora (rg_lora_init inside) for a model of
 * config cfg. Refuses what it cannot reproduce exactly (use_rslora, DoRA,
 * fan_in_fan_out, layer subsets, targets other than the seven projections)
 * and any tensor that is missing, unexpected or of the wrong shape (a wrong
 * base or a wrong rank), naming the file and tensor. */
int rg_peft_load(rg_lora *lora, const rg_model_config *cfg, const char *dir);
/* PEFT's tensor name for layer l, module m, "A" or "B". */
void rg_peft_tensor_name(char *buf, size_t size, int layer, rg_lora_module m, char ab);

/* What `--adapter DIR` means for any command that loads a model: the base
 * loaded in f32 with the adapter merged in (adapter_dir NULL: just the base). */
int rg_model_load_adapted(rg_model *model, const char *model_dir, const char *adapter_dir);

#endif
