/* lora_merge.h — a LoRA adapter merged into its base: W += scaling * B A.
 * What every trainer and command that evaluates, gaps or saves a merged model
 * shares (rgsd eval / gap / merge, --adapter, the rollouts under LoRA). */
#ifndef RG_LORA_MERGE_H
#define RG_LORA_MERGE_H

#include "model/lora.h"
#include "model/model.h"

/* W += scaling * B A for every adapted projection (f32 model only). */
int rg_lora_merge(const rg_lora *lora, rg_model *model);

#endif
