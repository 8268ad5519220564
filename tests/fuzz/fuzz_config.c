/* fuzz_config.c — rg_config_parse on an arbitrary config.json text: the
 * architecture, sizes, RoPE scaling, token ids; an accepted config must be
 * self-consistent (what the model allocation relies on). */
#include <stdlib.h>

#include "fuzz_util.h"
#include "model/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_cstr(data, size);
    rg_model_config cfg;
    if (rg_config_parse(text, "config.json", &cfg) == 0) {
        fuzz_check(cfg.hidden_size > 0 && cfg.n_layers > 0 && cfg.n_heads > 0 && cfg.n_kv_heads > 0 &&
                       cfg.head_dim > 0 && cfg.vocab_size > 0 && cfg.intermediate_size > 0,
                   "an accepted config has positive sizes");
        fuzz_check(cfg.n_heads % cfg.n_kv_heads == 0, "an accepted config has whole query groups");
        fuzz_check(cfg.n_eos >= 0 && cfg.n_eos <= RG_MAX_EOS_IDS, "eos list within its array");
        for (int i = 0; i < cfg.n_eos; i++) rg_config_is_eos(&cfg, cfg.eos_ids[i]);
    }
    free(text);
    return 0;
}
