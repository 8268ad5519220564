/* peft.c — LoRA adapters as PEFT folders (adapter_config.json +
 * adapter_model.safetensors), written and read (see checkpoint.h). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "io/file.h"
#include "io/safetensors.h"
#include "train/checkpoint.h"

/* The largest lora_alpha accepted: far above any real one (alpha is usually
 * r or 2r, r <= 65536), far below where f32 scaling overflows. */
#define RG_PEFT_MAX_ALPHA 1e6

void rg_peft_tensor_name(char *buf, size_t size, int layer, rg_lora_module m, char ab) {
    snprintf(buf, size, "base_model.model.model.layers.%d.%s.lora_%c.weight", layer, rg_lora_module_path(m), ab);
}

int rg_peft_save(const rg_lora *lora, const char *dir, const char *base_name) {
    cJSON *root = cJSON_CreateObject();
    if (!root) return rg_error("out of memory");
    cJSON_AddStringToObject(root, "peft_type", "LORA");
    cJSON_AddStringToObject(root, "task_type", "CAUSAL_LM");
    cJSON_AddNumberToObject(root, "r", lora->rank);
    cJSON_AddNumberToObject(root, "lora_alpha", lora->alpha);
    cJSON_AddNumberToObject(root, "lora_dropout", 0.0);
    cJSON *targets = cJSON_AddArrayToObject(root, "target_modules");
    for (int m = 0; m < RG_LORA_N_MODULES; m++)
        if (lora->targets & (1u << m)) cJSON_AddItemToArray(targets, cJSON_CreateString(rg_lora_module_name(m)));
    cJSON_AddStringToObject(root, "base_model_name_or_path", base_name ? base_name : "");
    cJSON_AddStringToObject(root, "bias", "none");
    cJSON_AddBoolToObject(root, "fan_in_fan_out", 0);
    cJSON_AddBoolToObject(root, "inference_mode", 1);
    cJSON_AddBoolToObject(root, "init_lora_weights", 1);
    cJSON_AddNullToObject(root, "layers_to_transform");
    cJSON_AddNullToObject(root, "layers_pattern");
    cJSON_AddNullToObject(root, "modules_to_save");
    cJSON_AddObjectToObject(root, "rank_pattern");
    cJSON_AddObjectToObject(root, "alpha_pattern");
    cJSON_AddBoolToObject(root, "use_rslora", 0);
    cJSON_AddBoolToObject(root, "use_dora", 0);
    cJSON_AddNullToObject(root, "revision");
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) return rg_error("out of memory");
    char *path = rg_path_join(dir, "adapter_config.json");
    int rc = path ? rg_write_file_atomic(path, text, strlen(text)) : RG_ERR;
    free(text);
    free(path);
    if (rc != RG_OK) return RG_ERR;

    int n = 0;
    for (int l = 0; l < lora->n_layers; l++)
        for (int m = 0; m < RG_LORA_N_MODULES; m++) n += rg_lora_slot_at(lora, l, m)->active ? 2 : 0;
    rg_st_entry *entries = rg_calloc((size_t)n, sizeof *entries);
    char *names = rg_calloc((size_t)n, 128);
    if (!entries || !names) {
        free(entries);
        free(names);
        return RG_ERR;
    }
    int k = 0;
    for (int l = 0; l < lora->n_layers; l++)
        for (int m = 0; m < RG_LORA_N_MODULES; m++) {
            const rg_lora_slot *s = rg_lora_slot_at(lora, l, m);
            if (!s->active) continue;
            for (int b = 0; b < 2; b++, k++) {
                rg_peft_tensor_name(names + (size_t)k * 128, 128, l, m, b ? 'B' : 'A');
                entries[k].name = names + (size_t)k * 128;
                entries[k].dtype = RG_F32;
                entries[k].ndim = 2;
                entries[k].shape[0] = b ? s->out : lora->rank;
                entries[k].shape[1] = b ? lora->rank : s->in;
                entries[k].data = lora->params + (b ? s->b_offset : s->a_offset);
            }
        }
    path = rg_path_join(dir, "adapter_model.safetensors");
    const char *metadata[] = {"format", "pt", NULL};
    rc = path ? rg_st_write(path, entries, n, metadata) : RG_ERR;
    free(path);
    free(entries);
    free(names);
    return rc;
}

/* Fails when a boolean field is present and true, or is not a boolean at
 * all ("use_dora": "true" is a string: PEFT would read it as true). */
static int refuse_true(const cJSON *root, const char *path, const char *field, const char *why) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, field);
    if (item && !cJSON_IsNull(item) && !cJSON_IsBool(item))
        return rg_error("%s: \"%s\" must be true or false", path, field);
    if (cJSON_IsTrue(item)) return rg_error("%s: \"%s\": true is not supported (%s)", path, field, why);
    return RG_OK;
}

static int parse_config(const char *path, int *rank, float *alpha, unsigned *targets) {
    char *text;
    size_t len;
    if (rg_read_file(path, &text, &len) != RG_OK) return RG_ERR;
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return rg_error("%s: not a JSON object", path);
    }
    int rc = RG_ERR;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "peft_type");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(root, "r");
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, "lora_alpha");
    const cJSON *tm = cJSON_GetObjectItemCaseSensitive(root, "target_modules");
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(root, "layers_to_transform");
    const cJSON *rank_pattern = cJSON_GetObjectItemCaseSensitive(root, "rank_pattern");
    const cJSON *alpha_pattern = cJSON_GetObjectItemCaseSensitive(root, "alpha_pattern");
    const cJSON *modules_to_save = cJSON_GetObjectItemCaseSensitive(root, "modules_to_save");
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "LORA") != 0) {
        rg_error("%s: \"peft_type\" must be \"LORA\"", path);
    } else if (!cJSON_IsNumber(r) || r->valuedouble < 1 || r->valuedouble != floor(r->valuedouble) ||
               r->valuedouble > 65536) {
        rg_error("%s: \"r\" must be a positive integer", path);
    } else if (!cJSON_IsNumber(a) || !(a->valuedouble > 0) || !(a->valuedouble <= RG_PEFT_MAX_ALPHA)) {
        /* the upper bound keeps alpha / r * B A finite in f32 (1e39 became inf) */
        rg_error("%s: \"lora_alpha\" must be a number in (0, %g]", path, RG_PEFT_MAX_ALPHA);
    } else if (refuse_true(root, path, "use_rslora", "scaling alpha/sqrt(r)") != RG_OK ||
               refuse_true(root, path, "use_dora", "DoRA") != RG_OK ||
               refuse_true(root, path, "fan_in_fan_out", "transposed weights") != RG_OK) {
        /* error set */
    } else if (layers && !cJSON_IsNull(layers)) {
        rg_error("%s: \"layers_to_transform\" is not supported (adapters on every layer only)", path);
    } else if ((cJSON_IsObject(rank_pattern) && rank_pattern->child) ||
               (cJSON_IsObject(alpha_pattern) && alpha_pattern->child)) {
        rg_error("%s: \"rank_pattern\"/\"alpha_pattern\" are not supported (one rank and alpha for all)", path);
    } else if (modules_to_save && !cJSON_IsNull(modules_to_save) &&
               !(cJSON_IsArray(modules_to_save) && cJSON_GetArraySize(modules_to_save) == 0)) {
        rg_error("%s: \"modules_to_save\" is not supported", path);
    } else if (!cJSON_IsArray(tm) || cJSON_GetArraySize(tm) == 0) {
        rg_error("%s: \"target_modules\" must be a non-empty list of module names", path);
    } else {
        *rank = (int)r->valuedouble;
        *alpha = (float)a->valuedouble;
        *targets = 0;
        rc = RG_OK;
        const cJSON *item;
        cJSON_ArrayForEach(item, tm) {
            unsigned bit = 0;
            if (!cJSON_IsString(item) || rg_lora_parse_targets(item->valuestring, &bit) != RG_OK ||
                strcmp(item->valuestring, "all") == 0) {
                rg_error("%s: target_modules entry %s is not one of q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,"
                         "down_proj", path, cJSON_IsString(item) ? item->valuestring : "(not a string)");
                rc = RG_ERR;
                break;
            }
            *targets |= bit;
        }
    }
    cJSON_Delete(root);
    return rc;
}

int rg_peft_load(rg_lora *lora, const rg_model_config *cfg, const char *dir) {
    memset(lora, 0, sizeof *lora);
    char *cfg_path = rg_path_join(dir, "adapter_config.json");
    char *st_path = rg_path_join(dir, "adapter_model.safetensors");
    int rank = 0, rc = RG_ERR;
    float alpha = 0;
    unsigned targets = 0;
    rg_st_file file = {0};
    int opened = 0;
    if (!cfg_path || !st_path) goto done;
    if (!rg_file_exists(cfg_path)) {
        rg_error("%s: not found (is %s a PEFT adapter folder?)", cfg_path, dir);
        goto done;
    }
    if (parse_config(cfg_path, &rank, &alpha, &targets) != RG_OK) goto done;
    if (rg_st_open(&file, st_path) != RG_OK) goto done;
    opened = 1;
    if (rg_lora_init(lora, cfg, rank, alpha, targets) != RG_OK) goto done;
    int expected = 0;
    char name[128];
    for (int l = 0; l < cfg->n_layers; l++)
        for (int m = 0; m < RG_LORA_N_MODULES; m++) {
            const rg_lora_slot *s = rg_lora_slot_at(lora, l, m);
            if (!s->active) continue;
            for (int b = 0; b < 2; b++) {
                rg_peft_tensor_name(name, sizeof name, l, m, b ? 'B' : 'A');
                const rg_tensor *t = rg_st_find(&file, name);
                if (!t) {
                    rg_error("%s: tensor %s is missing (adapter for another model, or damaged)", st_path, name);
                    goto fail;
                }
                int64_t shape[2] = {b ? s->out : rank, b ? rank : s->in};
                if (rg_tensor_expect_shape(t, 2, shape) != RG_OK) {
                    char why[512];
                    snprintf(why, sizeof why, "%s", rg_errmsg());
                    rg_error("%s (adapter r=%d: a wrong rank or a different base model)", why, rank);
                    goto fail;
                }
                float *dst = lora->params + (b ? s->b_offset : s->a_offset);
                if (rg_tensor_to_f32(t, dst, (size_t)shape[0] * shape[1]) != RG_OK) goto fail;
                expected++;
            }
        }
    if (file.n_tensors != expected) {
        for (int i = 0; i < file.n_tensors; i++) {
            int l = -1;
            char path[64] = "", ab = 0;
            int ok = sscanf(file.tensors[i].name, "base_model.model.model.layers.%d.%63[a-z_.].lora_%c.weight", &l,
                            path, &ab) == 3;
            if (!ok || l < 0 || l >= cfg->n_layers) {
                rg_error("%s: unexpected tensor %s (the adapter does not fit this %d-layer model)", st_path,
                         file.tensors[i].name, cfg->n_layers);
                goto fail;
            }
        }
        rg_error("%s: holds %d tensors, adapter_config.json describes %d", st_path, file.n_tensors, expected);
        goto fail;
    }
    rc = RG_OK;
    goto done;
fail:
    rg_lora_free(lora);
done:
    if (opened) rg_st_close(&file);
    free(cfg_path);
    free(st_path);
    return rc;
}
