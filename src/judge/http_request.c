/* http_request.c — request bodies for the http judge, see http_request.h. */
#include "judge/http_request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/error.h"

/* Appended to the prompt of a retry after an unreadable answer. Part of the
 * one user message, not a second user turn: some chat templates refuse two
 * user turns in a row. */
static const char *reminder =
    "\n\nYour previous answer to this could not be read. Reply with the JSON object only, in exactly the form "
    "asked for above: no other text, and keep any explanation to one sentence.";

cJSON *http_verdict_schema(int n_batched) {
    cJSON *schema = cJSON_CreateObject();
    cJSON_AddStringToObject(schema, "type", "object");
    cJSON *properties = cJSON_AddObjectToObject(schema, "properties");
    cJSON *required = cJSON_AddArrayToObject(schema, "required");
    if (n_batched == HTTP_PAIRWISE) {
        cJSON_AddStringToObject(cJSON_AddObjectToObject(properties, "explanation"), "type", "string");
        cJSON *better = cJSON_AddObjectToObject(properties, "better");
        cJSON_AddStringToObject(better, "type", "integer");
        int choices[2] = {1, 2};
        cJSON_AddItemToObject(better, "enum", cJSON_CreateIntArray(choices, 2));
        cJSON_AddItemToArray(required, cJSON_CreateString("explanation"));
        cJSON_AddItemToArray(required, cJSON_CreateString("better"));
    } else if (n_batched == 0) {
        /* The explanation comes first: a server that decodes the schema's
         * properties in order lets the model reason before it decides. */
        cJSON_AddStringToObject(cJSON_AddObjectToObject(properties, "explanation"), "type", "string");
        cJSON_AddStringToObject(cJSON_AddObjectToObject(properties, "criteria_met"), "type", "boolean");
        cJSON_AddItemToArray(required, cJSON_CreateString("explanation"));
        cJSON_AddItemToArray(required, cJSON_CreateString("criteria_met"));
    } else {
        for (int k = 1; k <= n_batched; k++) {
            char key[16];
            snprintf(key, sizeof key, "%d", k);
            cJSON_AddStringToObject(cJSON_AddObjectToObject(properties, key), "type", "boolean");
            cJSON_AddItemToArray(required, cJSON_CreateString(key));
        }
    }
    cJSON_AddFalseToObject(schema, "additionalProperties");
    return schema;
}

/* {"type": "json_schema", "json_schema": {"name", "strict": true, "schema"}}:
 * OpenAI's structured-output form, which llama.cpp's server and vLLM read too. */
static cJSON *response_format(int n_batched) {
    cJSON *format = cJSON_CreateObject();
    cJSON_AddStringToObject(format, "type", "json_schema");
    cJSON *json_schema = cJSON_AddObjectToObject(format, "json_schema");
    cJSON_AddStringToObject(json_schema, "name",
                            n_batched == HTTP_PAIRWISE ? "pairwise_preference"
                            : n_batched                ? "rubric_verdicts"
                                                       : "rubric_verdict");
    cJSON_AddTrueToObject(json_schema, "strict");
    cJSON_AddItemToObject(json_schema, "schema", http_verdict_schema(n_batched));
    return format;
}

char *http_request_body(const rg_judge_spec *spec, const http_endpoint_quirks *quirks, const char *prompt,
                        int n_batched, int bad_answers, unsigned *sent) {
    *sent = 0;
    char *content = bad_answers > 0 ? rg_sprintf("%s%s", prompt, reminder) : rg_strdup(prompt);
    if (!content) return NULL;
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "model", spec->model);
    cJSON *message = cJSON_CreateObject();
    cJSON_AddStringToObject(message, "role", "user");
    cJSON_AddStringToObject(message, "content", content);
    free(content);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(body, "messages"), message);
    double temperature = spec->temperature;
    if (bad_answers > 0 && temperature == 0) temperature = HTTP_RETRY_TEMPERATURE;
    cJSON_AddNumberToObject(body, "temperature", temperature);
    if (spec->max_tokens > 0) {
        cJSON_AddNumberToObject(body, quirks->max_completion_tokens ? "max_completion_tokens" : "max_tokens",
                                spec->max_tokens);
        if (!quirks->max_completion_tokens) *sent |= HTTP_SENT_MAX_TOKENS;
    }
    if (spec->structured && !quirks->no_response_format) {
        cJSON_AddItemToObject(body, "response_format", response_format(n_batched));
        *sent |= HTTP_SENT_RESPONSE_FORMAT;
    }
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    if (!text) rg_error("out of memory building a judge request");
    return text;
}

static int mentions(const char *body, const char *word) { return strcasestr(body, word) != NULL; }

unsigned http_rejected_feature(long status, const char *body, unsigned sent) {
    /* 400 is what OpenAI, llama.cpp and vLLM answer to a field they refuse;
     * 422 what FastAPI-based proxies answer. */
    if ((status != 400 && status != 422) || !body) return 0;
    if ((sent & HTTP_SENT_RESPONSE_FORMAT) && (mentions(body, "response_format") || mentions(body, "json_schema")))
        return HTTP_SENT_RESPONSE_FORMAT;
    /* "Unsupported parameter: 'max_tokens' ... Use 'max_completion_tokens' instead." */
    if ((sent & HTTP_SENT_MAX_TOKENS) && mentions(body, "max_tokens") && mentions(body, "max_completion_tokens"))
        return HTTP_SENT_MAX_TOKENS;
    return 0;
}
