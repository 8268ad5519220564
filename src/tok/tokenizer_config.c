/* tokenizer_config.c — the model folder's tokenizer_config.json (bos, eos,
 * pad tokens, chat template) and generation_config.json (eos ids). Both are
 * optional; when present they must be well formed. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "io/file.h"
#include "tok/tok_internal.h"


/* "<|im_end|>", {"content": "<|im_end|>", ...} or null. */
static int special_token(const rg_tokenizer *tok, const cJSON *config, const char *field, const char *path,
                         int32_t *id) {
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(config, field);
    if (!f || cJSON_IsNull(f)) return RG_OK;
    if (cJSON_IsObject(f)) f = cJSON_GetObjectItemCaseSensitive(f, "content");
    if (!cJSON_IsString(f)) return rg_error("%s: %s must be a string, an object with \"content\", or null", path, field);
    int32_t found = rg_tokenizer_token_id(tok, f->valuestring);
    if (found < 0) return rg_error("%s: %s \"%s\" is not a token of tokenizer.json", path, field, f->valuestring);
    *id = found;
    return RG_OK;
}

static int read_tokenizer_config(rg_tokenizer *tok, const char *path) {
    cJSON *config;
    if (rg_json_read_file(path, &config) != RG_OK) return RG_ERR;
    int rc = RG_ERR;
    if (!cJSON_IsObject(config)) {
        rg_error("%s: the top level is not a JSON object", path);
    } else if (special_token(tok, config, "bos_token", path, &tok->bos_id) == RG_OK &&
               special_token(tok, config, "eos_token", path, &tok->eos_id) == RG_OK &&
               special_token(tok, config, "pad_token", path, &tok->pad_id) == RG_OK) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(config, "chat_template");
        if (cJSON_IsArray(t)) { /* [{"name": "default", "template": ...}, ...]: the default one */
            const cJSON *item, *chosen = NULL;
            cJSON_ArrayForEach(item, t) {
                const cJSON *name = cJSON_GetObjectItemCaseSensitive(item, "name");
                if (!chosen || (cJSON_IsString(name) && strcmp(name->valuestring, "default") == 0)) chosen = item;
            }
            t = cJSON_GetObjectItemCaseSensitive(chosen, "template");
        }
        if (cJSON_IsString(t)) {
            tok->chat_template = rg_strdup(t->valuestring);
            if (tok->chat_template) rc = RG_OK;
        } else if (!t || cJSON_IsNull(t)) {
            rc = RG_OK;
        } else {
            rg_error("%s: chat_template must be a string or a list of {name, template}", path);
        }
    }
    cJSON_Delete(config);
    return rc;
}

static int add_eos(rg_tokenizer *tok, int32_t id) {
    for (int i = 0; i < tok->n_eos_ids; i++)
        if (tok->eos_ids[i] == id) return RG_OK;
    int32_t *ids = rg_realloc(tok->eos_ids, (size_t)(tok->n_eos_ids + 1) * sizeof *ids);
    if (!ids) return RG_ERR;
    tok->eos_ids = ids;
    tok->eos_ids[tok->n_eos_ids++] = id;
    return RG_OK;
}

static int generation_id(const rg_tokenizer *tok, const cJSON *f, const char *field, const char *path, int32_t *id) {
    if (!cJSON_IsNumber(f) || f->valuedouble < 0 || f->valuedouble >= tok->vocab_size ||
        f->valuedouble != (int32_t)f->valuedouble)
        return rg_error("%s: %s must be a token id below %d", path, field, tok->vocab_size);
    *id = (int32_t)f->valuedouble;
    return RG_OK;
}

static int read_generation_config(rg_tokenizer *tok, const char *path) {
    cJSON *config;
    if (rg_json_read_file(path, &config) != RG_OK) return RG_ERR;
    int rc = RG_OK;
    const char *fields[] = {"bos_token_id", "pad_token_id"};
    int32_t *targets[] = {&tok->bos_id, &tok->pad_id};
    for (int i = 0; i < 2 && rc == RG_OK; i++) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(config, fields[i]);
        int32_t id;
        if (!f || cJSON_IsNull(f)) continue;
        rc = generation_id(tok, f, fields[i], path, &id);
        if (rc == RG_OK && *targets[i] < 0) *targets[i] = id;
    }
    const cJSON *eos = cJSON_GetObjectItemCaseSensitive(config, "eos_token_id");
    if (rc == RG_OK && eos && !cJSON_IsNull(eos)) {
        if (cJSON_IsArray(eos)) {
            const cJSON *item;
            int k = 0;
            cJSON_ArrayForEach(item, eos) {
                char field[64];
                snprintf(field, sizeof field, "eos_token_id[%d]", k++);
                int32_t id;
                if ((rc = generation_id(tok, item, field, path, &id)) != RG_OK || (rc = add_eos(tok, id)) != RG_OK)
                    break;
            }
        } else {
            int32_t id;
            rc = generation_id(tok, eos, "eos_token_id", path, &id);
            if (rc == RG_OK) rc = add_eos(tok, id);
        }
    }
    cJSON_Delete(config);
    return rc;
}

int rg_tokenizer_read_configs(rg_tokenizer *tok, const char *dir) {
    char *config_path = rg_path_join(dir, "tokenizer_config.json");
    char *generation_path = rg_path_join(dir, "generation_config.json");
    int rc = config_path && generation_path ? RG_OK : RG_ERR;
    if (rc == RG_OK && access(config_path, F_OK) == 0) rc = read_tokenizer_config(tok, config_path);
    /* eos_ids: tokenizer_config's eos first, then generation_config's list. */
    if (rc == RG_OK && tok->eos_id >= 0) rc = add_eos(tok, tok->eos_id);
    if (rc == RG_OK && access(generation_path, F_OK) == 0) rc = read_generation_config(tok, generation_path);
    if (rc == RG_OK && tok->eos_id < 0 && tok->n_eos_ids > 0) tok->eos_id = tok->eos_ids[0];
    free(config_path);
    free(generation_path);
    return rc;
}
