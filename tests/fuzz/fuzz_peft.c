/* fuzz_peft.c — a PEFT LoRA adapter folder (rg_peft_load) checked against a
 * tiny model: adapter_config.json (peft_type, r, lora_alpha, target_modules,
 * the refused options) and adapter_model.safetensors (every lora_A/lora_B
 * present with the right shape, nothing unexpected).
 * Input: "adapter_config.json\0adapter_model.safetensors" (see fuzz_split).
 * Seeds: adapters rg_peft_save writes for the same model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "fuzz_tiny_model.h"
#include "fuzz_util.h"
#include "io/file.h"
#include "train/checkpoint.h"

static rg_model model;
static char folder[4096];

int fuzz_init(void) {
    snprintf(folder, sizeof folder, "%s/adapter", fuzz_dir());
    if (mkdir(folder, 0700) != 0) return rg_error("mkdir %s failed", folder);
    return fuzz_tiny_model(&model);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *st;
    size_t st_size;
    char *config = fuzz_split(data, size, &st, &st_size);
    fuzz_put_at(folder, "adapter_config.json", config, strlen(config));
    fuzz_put_at(folder, "adapter_model.safetensors", st ? st : (const uint8_t *)"", st_size);
    free(config);
    rg_lora lora;
    if (rg_peft_load(&lora, &model.cfg, folder) == 0) {
        fuzz_check(lora.rank >= 1, "a loaded adapter has a rank");
        rg_lora_free(&lora);
    }
    return 0;
}

/* One seed: the two files rg_peft_save wrote, joined as the harness reads them. */
static int write_seed(const char *out_dir, const char *name, int rank, unsigned targets) {
    rg_lora lora;
    if (rg_lora_init(&lora, &model.cfg, rank, 2.0f * (float)rank, targets) != 0) return -1;
    rg_lora_init_weights(&lora, 5);
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/%s", fuzz_dir(), name);
    char *config = NULL, *st = NULL;
    size_t config_len = 0, st_len = 0;
    char *config_path = rg_path_join(dir, "adapter_config.json"), *st_path = rg_path_join(dir, "adapter_model.safetensors");
    int rc = mkdir(dir, 0700) == 0 && rg_peft_save(&lora, dir, "tiny") == 0 &&
                     rg_read_file(config_path, &config, &config_len) == 0 && rg_read_file(st_path, &st, &st_len) == 0
                 ? 0
                 : -1;
    if (rc == 0) {
        char *joined = malloc(config_len + 1 + st_len);
        fuzz_check(joined != NULL, "malloc");
        memcpy(joined, config, config_len);
        joined[config_len] = 0;
        memcpy(joined + config_len + 1, st, st_len);
        fuzz_put_at(out_dir, name, joined, config_len + 1 + st_len);
        free(joined);
    }
    free(config), free(st), free(config_path), free(st_path);
    rg_lora_free(&lora);
    return rc;
}

int fuzz_write_seeds(const char *dir) {
    if (fuzz_tiny_model(&model) != 0) return -1;
    int rc = write_seed(dir, "rgsd_all_r2", 2, RG_LORA_ALL_MODULES);
    if (rc == 0) rc = write_seed(dir, "rgsd_qv_r1", 1, (1u << RG_LORA_Q) | (1u << RG_LORA_V));
    rg_model_free(&model);
    return rc;
}
