/* forward.h — the plain forward pass over one whole sequence, no cache:
 * ids[T] -> logits[T, V]. A straight sequence of nn kernel calls over the
 * model's arrays (llm.c style); the training forward (issue 4) mirrors it and
 * keeps the activations this one throws away. Inference with a KV cache and
 * batches lives in infer.h. */
#ifndef RG_FORWARD_H
#define RG_FORWARD_H

#include <stdint.h>

#include "model/model.h"

/* ids[T] (each < vocab_size; T <= max_position) -> logits[T, V]. */
int rg_model_forward(const rg_model *model, const int32_t *ids, int T, float *logits);

#endif
