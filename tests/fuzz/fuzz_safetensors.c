/* fuzz_safetensors.c — rg_st_open on arbitrary bytes: header length, JSON
 * header, dtypes, shapes, offsets, metadata; then every tensor is read. */
#include <string.h>

#include "fuzz_tensor_read.h"
#include "fuzz_util.h"
#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    rg_st_file f;
    if (rg_st_open(&f, fuzz_put("in.safetensors", data, size)) != 0) return 0;
    for (int i = 0; i < f.n_tensors; i++) {
        fuzz_read_tensor(&f.tensors[i]);
        fuzz_check(rg_st_find(&f, f.tensors[i].name) != NULL, "every listed tensor is found by name");
    }
    for (int i = 0; i < f.n_metadata; i++)
        fuzz_check(rg_st_metadata(&f, f.metadata[2 * i]) != NULL, "every metadata key is found");
    rg_st_close(&f);
    return 0;
}
