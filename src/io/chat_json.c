/* chat_json.c — roles and content as data files write them (see chat_json.h). */
#include "io/chat_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

const char *rg_chat_json_role(const char *role) {
    if (!role) return NULL;
    if (strcmp(role, "system") == 0 || strcmp(role, "developer") == 0) return "system";
    if (strcmp(role, "user") == 0) return "user";
    if (strcmp(role, "assistant") == 0) return "assistant";
    return NULL;
}

const char *rg_json_type_name(const cJSON *v) {
    if (!v) return "nothing";
    if (cJSON_IsString(v)) return "string";
    if (cJSON_IsNumber(v)) return "number";
    if (cJSON_IsArray(v)) return "array";
    if (cJSON_IsObject(v)) return "object";
    if (cJSON_IsBool(v)) return "boolean";
    if (cJSON_IsNull(v)) return "null";
    return "invalid value";
}

int rg_chat_json_content(const cJSON *content, char **out, char *where, size_t where_size, char *why,
                         size_t why_size) {
    *out = NULL;
    snprintf(where, where_size, "%s", "");
    if (cJSON_IsString(content)) {
        *out = rg_strdup(content->valuestring);
        return *out ? RG_OK : RG_ERR;
    }
    if (!cJSON_IsArray(content)) {
        snprintf(why, why_size, "expected a string or an array of text parts, got %s", rg_json_type_name(content));
        return RG_ERR;
    }
    size_t total = 0, i = 0;
    /* Two passes: check and measure, then copy. */
    for (const cJSON *part = content->child; part; part = part->next, i++) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(part, "type");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (!cJSON_IsObject(part)) {
            snprintf(where, where_size, "[%zu]", i);
            snprintf(why, why_size, "expected a part {\"type\": \"text\", \"text\": ...}, got %s", rg_json_type_name(part));
            return RG_ERR;
        }
        if (type && !(cJSON_IsString(type) && strcmp(type->valuestring, "text") == 0)) {
            snprintf(where, where_size, "[%zu].type", i);
            if (cJSON_IsString(type))
                snprintf(why, why_size, "a \"%.40s\" part, not text (rgsd reads text only)", type->valuestring);
            else
                snprintf(why, why_size, "expected \"text\", got %s", rg_json_type_name(type));
            return RG_ERR;
        }
        if (!cJSON_IsString(text)) {
            snprintf(where, where_size, "[%zu].text", i);
            snprintf(why, why_size, "expected a string, got %s", rg_json_type_name(text));
            return RG_ERR;
        }
        total += strlen(text->valuestring);
    }
    char *joined = rg_malloc(total + 1);
    if (!joined) return RG_ERR;
    size_t used = 0;
    for (const cJSON *part = content->child; part; part = part->next) {
        const char *text = cJSON_GetObjectItemCaseSensitive(part, "text")->valuestring;
        size_t n = strlen(text);
        memcpy(joined + used, text, n);
        used += n;
    }
    joined[used] = '\0';
    *out = joined;
    return RG_OK;
}
