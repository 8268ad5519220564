/* fuzz_gguf.c — rg_gguf_open on arbitrary bytes: counts, strings, nested
 * arrays, tensor infos, alignment, offsets; then every key/value is read
 * through the typed accessors and every tensor is read. */
#include "fuzz_tensor_read.h"
#include "fuzz_util.h"
#include "io/gguf.h"

static void read_kv(const rg_gguf_kv *kv) {
    int64_t i;
    double f;
    if (kv->type != RG_GGUF_ARRAY) return;
    /* Every element of small arrays, through the accessor of each type (a
     * mismatch is an error, not a crash). */
    for (uint64_t k = 0; k < kv->array_len && k < 4096; k++) {
        rg_gguf_array_int(kv, k, &i);
        rg_gguf_array_float(kv, k, &f);
        if (kv->array_type == RG_GGUF_STRING) {
            rg_gguf_str s = rg_gguf_array_string(kv, k);
            volatile char sink = 0;
            for (uint64_t c = 0; c < s.len; c++) sink ^= s.ptr[c];
            (void)sink;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    rg_gguf_file g;
    if (rg_gguf_open(&g, fuzz_put("in.gguf", data, size)) != 0) return 0;
    for (int k = 0; k < g.n_kvs; k++) {
        const rg_gguf_kv *kv = &g.kvs[k];
        int64_t i;
        double f;
        rg_gguf_get_int(&g, kv->key, &i);
        rg_gguf_get_float(&g, kv->key, &f);
        rg_gguf_get_string(&g, kv->key);
        read_kv(kv);
    }
    for (int t = 0; t < g.n_tensors; t++) {
        fuzz_read_tensor(&g.tensors[t]);
        fuzz_check(rg_gguf_find_tensor(&g, g.tensors[t].name) != NULL, "every listed tensor is found by name");
    }
    rg_gguf_close(&g);
    return 0;
}
