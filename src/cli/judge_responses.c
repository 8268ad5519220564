/* judge_responses.c — read the responses of `rgsd judge` and match them to
 * examples; see judge_responses.h. */
#include "cli/judge_responses.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/strmap.h"
#include "io/records.h"

/* Marks an id that several examples share (indices stay far below 2^63). */
#define SHARED_ID (UINT64_C(1) << 63)

void rg_response_set_free(rg_response_set *set) {
    for (size_t i = 0; i < set->count; i++) {
        free(set->lines[i].id);
        free(set->lines[i].response);
    }
    free(set->lines);
    memset(set, 0, sizeof *set);
}

/* An id as a string: the data's ids may be numbers in the responses file. */
static char *id_text(const cJSON *id) {
    if (cJSON_IsString(id)) return rg_strdup(id->valuestring);
    if (cJSON_IsNumber(id)) return rg_sprintf("%.17g", id->valuedouble);
    return NULL;
}

int rg_read_responses(const char *path, rg_response_set *set) {
    rg_records *in;
    if (rg_records_open(&in, path) != RG_OK) return RG_ERR;
    size_t cap = 0;
    cJSON *value;
    int got, rc = RG_OK;
    while (rc == RG_OK && (got = rg_records_next(in, &value)) == 1) {
        long line = rg_records_line(in);
        const cJSON *response = cJSON_GetObjectItemCaseSensitive(value, "response");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(value, "id");
        if (!cJSON_IsObject(value))
            rc = rg_error("%s:%ld: expected an object {\"id\": ..., \"response\": \"...\"}", path, line);
        else if (!cJSON_IsString(response))
            rc = rg_error("%s:%ld: response: %s", path, line, response ? "expected a string" : "missing");
        else if (id && !cJSON_IsString(id) && !cJSON_IsNumber(id))
            rc = rg_error("%s:%ld: id: expected a string or a number", path, line);
        if (rc == RG_OK && set->count == cap) {
            cap = cap ? 2 * cap : 64;
            rg_response_line *grown = rg_realloc(set->lines, cap * sizeof *grown);
            if (!grown) rc = RG_ERR;
            else set->lines = grown;
        }
        if (rc == RG_OK) {
            rg_response_line *r = &set->lines[set->count++];
            *r = (rg_response_line){.id = id ? id_text(id) : NULL, .response = rg_strdup(response->valuestring), .line = line};
            if (!r->response || (id && !r->id)) rc = RG_ERR;
        }
        cJSON_Delete(value);
    }
    rg_records_close(in);
    if (rc == RG_OK && got < 0) rc = RG_ERR;
    if (rc == RG_OK && set->count == 0) rc = rg_error("%s: no responses", path);
    return rc;
}

/* The two first examples sharing the id of example `first`; only on the
 * error path, so a linear scan is fine. */
static int shared_id_error(const char *data_path, const rg_dataset *data, size_t first) {
    size_t second = first + 1;
    while (second < data->count && strcmp(data->examples[second].id, data->examples[first].id) != 0) second++;
    return rg_error("%s: examples on lines %ld and %ld share the id '%s', so responses cannot be matched by id",
                    data_path, data->examples[first].line, second < data->count ? data->examples[second].line : 0L,
                    data->examples[first].id);
}

/* Sets lines[k].example: by id when the lines carry ids, else by position. */
int rg_match_responses(const char *responses_path, const char *data_path, const rg_dataset *data,
                       rg_response_set *set) {
    size_t with_id = 0;
    for (size_t k = 0; k < set->count; k++) with_id += set->lines[k].id != NULL;
    if (with_id == 0) {
        if (set->count != data->count)
            return rg_error("%s has %zu responses without ids but %s has %zu examples: without ids, line k answers "
                            "example k, so the counts must match (or give every response an \"id\")",
                            responses_path, set->count, data_path, data->count);
        for (size_t k = 0; k < set->count; k++) set->lines[k].example = k;
        return RG_OK;
    }
    /* id -> index of its first example; a repeated id is flagged, and is an
     * error only when a response asks for it. */
    rg_strmap ids;
    if (rg_strmap_init(&ids, data->count) != RG_OK) return RG_ERR;
    int rc = RG_OK;
    for (size_t e = 0; e < data->count && rc == RG_OK; e++) {
        const char *id = data->examples[e].id;
        uint64_t first;
        if (rg_strmap_get(&ids, id, strlen(id), &first))
            rc = (first & SHARED_ID) ? RG_OK : rg_strmap_put(&ids, id, strlen(id), first | SHARED_ID);
        else
            rc = rg_strmap_put(&ids, id, strlen(id), e);
    }
    for (size_t k = 0; k < set->count && rc == RG_OK; k++) {
        rg_response_line *r = &set->lines[k];
        uint64_t found;
        if (!r->id)
            rc = rg_error("%s:%ld: id: missing, while other lines have one (give every line an id, or none)",
                          responses_path, r->line);
        else if (!rg_strmap_get(&ids, r->id, strlen(r->id), &found))
            rc = rg_error("%s:%ld: id '%s' matches no example in %s", responses_path, r->line, r->id, data_path);
        else if (found & SHARED_ID)
            rc = shared_id_error(data_path, data, (size_t)(found & ~SHARED_ID));
        else
            r->example = (size_t)found;
    }
    rg_strmap_free(&ids);
    return rc;
}

