/* report_read.c — evaluation reports read back and matched by prompt id, see
 * report_read.h. */
#include "eval/report_read.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/rng.h"
#include "base/strmap.h"
#include "io/file.h"
#include "io/jsonl.h"

static void free_response(rg_report_response *r) {
    free(r->id);
    free(r->prompt);
    free(r->response);
    for (size_t m = 0; m < r->nmessages; m++) free(r->messages[m].content);
    free(r->messages);
    for (int v = 0; v < r->n_verdicts; v++) free(r->verdicts[v].text);
    free(r->verdicts);
}

void rg_report_free(rg_report *report) {
    for (size_t i = 0; i < report->n; i++) free_response(&report->responses[i]);
    free(report->responses);
    free(report->dir);
    *report = (rg_report){0};
}

static int grow(rg_report *report, size_t *cap) {
    if (report->n < *cap) return RG_OK;
    size_t want = *cap ? *cap * 2 : 64;
    rg_report_response *more = realloc(report->responses, want * sizeof *more);
    if (!more) return rg_error("out of memory reading a report");
    report->responses = more;
    *cap = want;
    return RG_OK;
}

static int parse_role(const char *s, rg_role *role) {
    if (!strcmp(s, "system")) *role = RG_ROLE_SYSTEM;
    else if (!strcmp(s, "user")) *role = RG_ROLE_USER;
    else if (!strcmp(s, "assistant")) *role = RG_ROLE_ASSISTANT;
    else return RG_ERR;
    return RG_OK;
}

/* "messages": [{"role", "content"}] when the report has them. */
static int read_messages(const cJSON *line, rg_report_response *r) {
    const cJSON *messages = cJSON_GetObjectItemCaseSensitive(line, "messages");
    if (!cJSON_IsArray(messages)) return RG_OK;
    int n = cJSON_GetArraySize(messages);
    if (n == 0) return RG_ERR;
    r->messages = calloc((size_t)n, sizeof *r->messages);
    if (!r->messages) return RG_ERR;
    const cJSON *m;
    cJSON_ArrayForEach(m, messages) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        rg_message *out = &r->messages[r->nmessages];
        if (!cJSON_IsString(role) || !cJSON_IsString(content) || parse_role(role->valuestring, &out->role))
            return RG_ERR;
        if (!(out->content = strdup(content->valuestring))) return RG_ERR;
        r->nmessages++;
    }
    return RG_OK;
}

static int read_verdicts(const cJSON *line, rg_report_response *r) {
    const cJSON *verdicts = cJSON_GetObjectItemCaseSensitive(line, "verdicts");
    if (!cJSON_IsArray(verdicts)) return RG_ERR;
    int n = cJSON_GetArraySize(verdicts);
    r->verdicts = calloc((size_t)(n ? n : 1), sizeof *r->verdicts);
    if (!r->verdicts) return RG_ERR;
    const cJSON *v;
    cJSON_ArrayForEach(v, verdicts) {
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(v, "text");
        const cJSON *weight = cJSON_GetObjectItemCaseSensitive(v, "weight");
        const cJSON *met = cJSON_GetObjectItemCaseSensitive(v, "met");
        if (!cJSON_IsString(text) || !cJSON_IsNumber(weight) || !cJSON_IsBool(met)) return RG_ERR;
        rg_report_verdict *out = &r->verdicts[r->n_verdicts];
        if (!(out->text = strdup(text->valuestring))) return RG_ERR;
        out->weight = weight->valuedouble;
        out->met = cJSON_IsTrue(met);
        r->n_verdicts++;
    }
    return RG_OK;
}

/* One line of responses.jsonl; RG_ERR when a field is missing or of the wrong type. */
static int read_response(const cJSON *line, rg_report_response *r) {
    *r = (rg_report_response){0};
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(line, "id");
    const cJSON *sample = cJSON_GetObjectItemCaseSensitive(line, "sample");
    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(line, "prompt");
    const cJSON *response = cJSON_GetObjectItemCaseSensitive(line, "response");
    const cJSON *tokens = cJSON_GetObjectItemCaseSensitive(line, "response_tokens");
    const cJSON *chars = cJSON_GetObjectItemCaseSensitive(line, "response_chars");
    if (!cJSON_IsString(id) || !cJSON_IsNumber(sample) || !cJSON_IsString(response) || !cJSON_IsNumber(tokens) ||
        !cJSON_IsNumber(chars))
        return RG_ERR;
    r->sample = sample->valueint;
    r->response_tokens = tokens->valueint;
    r->response_chars = chars->valueint;
    if (!(r->id = strdup(id->valuestring)) || !(r->response = strdup(response->valuestring))) return RG_ERR;
    if (cJSON_IsString(prompt) && !(r->prompt = strdup(prompt->valuestring))) return RG_ERR;
    if (read_messages(line, r) || read_verdicts(line, r)) return RG_ERR;
    return RG_OK;
}

static int read_responses(const char *path, rg_report *out) {
    rg_jsonl *in;
    if (rg_jsonl_open(&in, path)) return RG_ERR;
    size_t cap = 0;
    cJSON *line;
    int got, rc = RG_OK;
    while (rc == RG_OK && (got = rg_jsonl_next(in, &line)) == 1) {
        if ((rc = grow(out, &cap)) == RG_OK && read_response(line, &out->responses[out->n])) {
            free_response(&out->responses[out->n]);
            rc = rg_error("%s:%ld: not a response line of rgsd eval (needs id, sample, response, response_tokens, "
                          "response_chars, verdicts[{text, weight, met}])",
                          path, rg_jsonl_line(in));
        } else if (rc == RG_OK) {
            out->n++;
        }
        cJSON_Delete(line);
    }
    rg_jsonl_close(in);
    if (rc == RG_OK && got < 0) rc = RG_ERR;
    if (rc == RG_OK && out->n == 0) rc = rg_error("%s: no responses", path);
    return rc;
}

int rg_report_load(const char *dir, rg_report *out) {
    *out = (rg_report){0};
    char *json_path = rg_path_join(dir, "report.json"), *responses_path = rg_path_join(dir, "responses.jsonl");
    char *text = NULL;
    size_t len;
    int rc = RG_ERR;
    if (!json_path || !responses_path) goto done;
    if (!rg_file_exists(json_path)) {
        rg_error("%s: no report.json: not an rgsd eval report (rgsd eval --out DIR writes one)", dir);
        goto done;
    }
    if (rg_read_file(json_path, &text, &len)) goto done;
    cJSON *root = cJSON_Parse(text);
    int is_object = cJSON_IsObject(root);
    cJSON_Delete(root);
    if (!is_object) {
        rg_error("%s: not a JSON object", json_path);
        goto done;
    }
    if (!(out->dir = strdup(dir))) goto done;
    rc = read_responses(responses_path, out);
done:
    free(text);
    free(json_path);
    free(responses_path);
    if (rc) rg_report_free(out);
    return rc;
}
