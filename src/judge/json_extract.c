/* json_extract.c — balanced-brace scan plus cJSON, see json_extract.h. */
#include "judge/json_extract.h"

#include <string.h>

/* Length of the balanced {...} span starting at text[0] == '{', or 0 when the
 * text ends before the braces balance. */
static size_t balanced_span(const char *text) {
    int depth = 0, in_string = 0;
    for (size_t i = 0; text[i]; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\' && text[i + 1])
                i++;
            else if (c == '"')
                in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '{') {
            depth++;
        } else if (c == '}') {
            if (--depth == 0) return i + 1;
        }
    }
    return 0;
}

cJSON *rg_json_extract_object(const char *text, rg_json_accept_fn accept, void *ctx) {
    if (!text) return NULL;
    cJSON *best = NULL;
    const char *cursor = strchr(text, '{');
    while (cursor) {
        size_t span = balanced_span(cursor);
        cJSON *object = span ? cJSON_ParseWithLength(cursor, span) : NULL;
        if (object && cJSON_IsObject(object)) {
            if (!accept || accept(object, ctx)) {
                cJSON_Delete(best);
                best = object;
            } else {
                cJSON_Delete(object);
            }
            cursor = strchr(cursor + span, '{');
        } else {
            cJSON_Delete(object);
            cursor = strchr(cursor + 1, '{');
        }
    }
    return best;
}
