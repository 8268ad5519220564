/* model_gguf.c — placeholder until the GGUF reader lands (see model_source.c). */
#include "model/model_source.h"
#include "base/error.h"
int rg_model_gguf_open(rg_model_source *src, const char *path, rg_model_config *cfg) {
    (void)src; (void)cfg;
    return rg_error("%s: GGUF not built yet", path);
}
void rg_model_gguf_close(rg_model_source *src) { (void)src; }
const rg_tensor *rg_model_gguf_get(rg_model_source *src, const char *hf_name) { (void)src; (void)hf_name; return NULL; }
int rg_model_gguf_fixup(rg_model_source *src, const char *hf_name, const rg_param_entry *entry, rg_model *model) {
    (void)src; (void)hf_name; (void)entry; (void)model; return RG_OK;
}
