/* fuzz_model_gguf.c — rg_model_load on an arbitrary .gguf file: the GGUF
 * reader, the config taken from its metadata (architecture, sizes, token
 * ids), the llama.cpp -> HF tensor mapping, the Q/K row permutation and the
 * dequantisation into the model's buffers. */
#include "fuzz_util.h"
#include "model/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    rg_model model;
    /* The loader picks the format by the ".gguf" suffix. */
    if (rg_model_load(&model, fuzz_put("in.gguf", data, size), RG_WEIGHTS_F32) == 0) rg_model_free(&model);
    return 0;
}
