/* chat.c — chat template objects: from a template string, a
 * tokenizer_config.json, a model folder or a family name; the end-of-turn
 * strings. Detection is in chat_detect.c, rendering in chat_render.c. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/error.h"
#include "io/file.h"
#include "tok/chat_internal.h"

#define LLAMA3_BOS "<|begin_of_text|>"
#define LLAMA31_DEFAULT_DATE "26 Jul 2024"

void rg_chat_template_free(rg_chat_template *t) {
    if (!t) return;
    free(t->default_system);
    free(t->default_date);
    free(t->bos_token);
    free(t);
}

/* bos_token NULL: the family default (Llama 3's "<|begin_of_text|>"). */
static int template_new(const char *jinja_source, const char *bos_token, rg_chat_template **out) {
    *out = NULL;
    rg_chat_template *t = rg_calloc(1, sizeof *t);
    if (!t) return RG_ERR;
    if (rg_chat_detect(jinja_source, t) != RG_OK) {
        rg_chat_template_free(t);
        return RG_ERR;
    }
    t->bos_token = rg_strdup(bos_token ? bos_token : LLAMA3_BOS);
    if (!t->bos_token) {
        rg_chat_template_free(t);
        return RG_ERR;
    }
    *out = t;
    return RG_OK;
}

int rg_chat_template_from_string(const char *jinja_source, rg_chat_template **out) {
    return template_new(jinja_source, NULL, out);
}

/* bos_token is a string, an AddedToken object {"content": ...}, or null. */
static const char *token_text(const cJSON *token) {
    if (cJSON_IsString(token)) return token->valuestring;
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(token, "content");
    return cJSON_IsString(content) ? content->valuestring : NULL;
}

/* chat_template is a string, or a list of {name, template} (take "default"). */
static const char *template_text(const cJSON *field) {
    if (cJSON_IsString(field)) return field->valuestring;
    const cJSON *item;
    cJSON_ArrayForEach(item, field) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(item, "name");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(item, "template");
        if (cJSON_IsString(name) && strcmp(name->valuestring, "default") == 0 && cJSON_IsString(text))
            return text->valuestring;
    }
    return NULL;
}

/* Template from config_json, or (when it has none) from fallback_source. */
static int from_config(const char *config_json, const char *origin, const char *fallback_source,
                       rg_chat_template **out) {
    *out = NULL;
    cJSON *root = cJSON_Parse(config_json);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return rg_error("%s: not a JSON object", origin);
    }
    const cJSON *field = cJSON_GetObjectItemCaseSensitive(root, "chat_template");
    const char *source = field ? template_text(field) : fallback_source;
    int rc;
    if (field && !source)
        rc = rg_error("%s: field 'chat_template' is neither a string nor a list holding a "
                      "\"default\" template",
                      origin);
    else if (!source)
        rc = rg_error("%s: no 'chat_template' field (and no chat_template.jinja beside it); pass "
                      "--chat-template FAMILY (%s)",
                      origin, rg_chat_template_names());
    else if ((rc = template_new(source, token_text(cJSON_GetObjectItemCaseSensitive(root, "bos_token")), out)) != RG_OK)
        rg_error_prefix("%s: field 'chat_template'", origin);
    cJSON_Delete(root);
    return rc;
}

int rg_chat_template_from_config(const char *config_json, const char *origin, rg_chat_template **out) {
    return from_config(config_json, origin, NULL, out);
}

int rg_chat_template_load(const char *model_dir, rg_chat_template **out) {
    *out = NULL;
    char *config_path = rg_path_join(model_dir, "tokenizer_config.json");
    char *jinja_path = rg_path_join(model_dir, "chat_template.jinja");
    char *config = NULL, *jinja = NULL;
    size_t len;
    int rc = RG_ERR;
    if (config_path && jinja_path && rg_read_file(config_path, &config, &len) == RG_OK) {
        /* Newer transformers save the template beside the config. */
        if (rg_file_exists(jinja_path) && rg_read_file(jinja_path, &jinja, &len) != RG_OK) goto done;
        rc = from_config(config, config_path, jinja, out);
    }
done:
    free(config);
    free(jinja);
    free(config_path);
    free(jinja_path);
    return rc;
}

/* The variants --chat-template accepts. */
static const struct {
    const char *name;
    rg_chat_family family;
    const char *default_system;
} known_variants[] = {
    {"chatml", RG_CHAT_CHATML, NULL},
    {"qwen2", RG_CHAT_CHATML, "You are a helpful assistant."},
    {"qwen2.5", RG_CHAT_CHATML, "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."},
    {"qwen3", RG_CHAT_QWEN3, NULL},
    {"llama3", RG_CHAT_LLAMA3, NULL},
    {"llama3.1", RG_CHAT_LLAMA31, NULL},
    {"llama3.2", RG_CHAT_LLAMA31, NULL},
    {"llama3.3", RG_CHAT_LLAMA31, NULL},
};

const char *rg_chat_template_names(void) { return "chatml, qwen2, qwen2.5, qwen3, llama3, llama3.1 (= llama3.2, llama3.3)"; }

int rg_chat_template_from_name(const char *name, rg_chat_template **out) {
    *out = NULL;
    for (size_t i = 0; i < sizeof known_variants / sizeof known_variants[0]; i++) {
        if (strcmp(name, known_variants[i].name) != 0) continue;
        rg_chat_template *t = rg_calloc(1, sizeof *t);
        if (!t) return RG_ERR;
        t->family = known_variants[i].family;
        t->name = t->family == RG_CHAT_LLAMA31 ? "llama3.1" : known_variants[i].name;
        t->bos_token = rg_strdup(LLAMA3_BOS);
        int ok = t->bos_token != NULL;
        if (ok && known_variants[i].default_system)
            ok = (t->default_system = rg_strdup(known_variants[i].default_system)) != NULL;
        if (ok && t->family == RG_CHAT_LLAMA31) ok = (t->default_date = rg_strdup(LLAMA31_DEFAULT_DATE)) != NULL;
        if (!ok) {
            rg_chat_template_free(t);
            return RG_ERR;
        }
        *out = t;
        return RG_OK;
    }
    return rg_error("--chat-template: unknown family '%s' (known: %s)", name, rg_chat_template_names());
}

int rg_chat_template_open(const char *model_dir, const char *family_name, rg_chat_template **out) {
    return family_name ? rg_chat_template_from_name(family_name, out) : rg_chat_template_load(model_dir, out);
}

rg_chat_family rg_chat_template_family(const rg_chat_template *t) { return t->family; }
const char *rg_chat_template_name(const rg_chat_template *t) { return t->name; }

const char *rg_chat_end_of_turn(const rg_chat_template *t) {
    return t->family == RG_CHAT_LLAMA3 || t->family == RG_CHAT_LLAMA31 ? "<|eot_id|>" : "<|im_end|>";
}

const char *rg_chat_after_end_of_turn(const rg_chat_template *t) {
    return t->family == RG_CHAT_LLAMA3 || t->family == RG_CHAT_LLAMA31 ? "" : "\n";
}
