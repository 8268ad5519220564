/* fuzz_train_state.c — train_state.safetensors, what `--resume` reads
 * (rg_trainer_resume): the safetensors container, then the metadata (format,
 * mode, step, cursor, sizes, LoRA shape, seed, RNG state) and the three f32
 * vectors, checked against a tiny model's full and LoRA trainers (a file fits
 * at most one of them).
 * Seeds: the train states rg_trainer_save writes for the same trainers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "fuzz_tiny_model.h"
#include "fuzz_util.h"
#include "io/file.h"

#define LORA_RANK 2

static rg_model model;
static rg_trainer full, lora;
static char folder[4096];

static int setup(void) {
    if (fuzz_tiny_model(&model) != 0 || fuzz_tiny_trainer(&full, &model, 0) != 0 ||
        fuzz_tiny_trainer(&lora, &model, LORA_RANK) != 0)
        return -1;
    return 0;
}

int fuzz_init(void) {
    snprintf(folder, sizeof folder, "%s/checkpoint", fuzz_dir());
    if (mkdir(folder, 0700) != 0) return rg_error("mkdir %s failed", folder);
    return setup();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_put_at(folder, "train_state.safetensors", data, size);
    int resumed = (rg_trainer_resume(&full, folder) == 0) + (rg_trainer_resume(&lora, folder) == 0);
    fuzz_check(resumed <= 1, "a train state fits full fine-tuning or LoRA, not both");
    return 0;
}

/* One seed: the train_state.safetensors of a checkpoint rg_trainer_save wrote. */
static int write_seed(const char *out_dir, const char *name, const rg_trainer *t, const char *model_dir) {
    char ckpt[4200];
    snprintf(ckpt, sizeof ckpt, "%s/%s", fuzz_dir(), name);
    if (rg_trainer_save(t, model_dir, ckpt, RG_F32, NULL, NULL) != 0) return -1;
    char *path = rg_path_join(ckpt, "train_state.safetensors"), *bytes = NULL;
    size_t len = 0;
    int rc = path && rg_read_file(path, &bytes, &len) == 0 ? 0 : -1;
    if (rc == 0) fuzz_put_at(out_dir, name, bytes, len);
    free(path), free(bytes);
    return rc;
}

int fuzz_write_seeds(const char *dir) {
    if (setup() != 0) return -1;
    /* A full checkpoint copies config.json from the model folder. */
    char model_dir[4200];
    snprintf(model_dir, sizeof model_dir, "%s/model", fuzz_dir());
    if (mkdir(model_dir, 0700) != 0) return rg_error("mkdir %s failed", model_dir);
    fuzz_put_at(model_dir, "config.json", fuzz_tiny_config_json, strlen(fuzz_tiny_config_json));
    full.step = lora.step = 3, full.cursor = lora.cursor = 5;
    return write_seed(dir, "rgsd_full", &full, model_dir) == 0 && write_seed(dir, "rgsd_lora", &lora, "tiny") == 0
               ? 0
               : -1;
}
