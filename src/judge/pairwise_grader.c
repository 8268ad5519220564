/* pairwise_grader.c — the rubric-free pairwise prompt and its answer, see
 * grader.h. Kept apart from grader.c (rubric criteria): this judge reads no
 * rubric, only the conversation and two replies, and says which is better. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/text.h"
#include "judge/grader.h"
#include "judge/json_extract.h"

static const char *pairwise_intro =
    "You are comparing two replies written by AI assistants to the same conversation. Decide which reply is "
    "better overall, as a careful expert reading the conversation would: correctness, helpfulness, "
    "completeness, clarity and safety, weighed together. There is no rubric; use your own judgement. Do not "
    "prefer a reply for its length or for its position.\n\n";

char *rg_grader_prompt_pairwise(const rg_judge_item *item) {
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (!out) return rg_error("out of memory building a pairwise prompt"), NULL;
    fputs(pairwise_intro, out);
    fputs("<conversation>\n", out);
    const rg_example *ex = item->example;
    for (size_t m = 0; m < ex->nmessages; m++)
        fprintf(out, "%s: %s\n\n", rg_role_name(ex->messages[m].role),
                ex->messages[m].content ? ex->messages[m].content : "");
    fprintf(out, "</conversation>\n\n<reply_1>\n%s\n</reply_1>\n\n<reply_2>\n%s\n</reply_2>\n\n",
            item->response ? item->response : "", item->response_b ? item->response_b : "");
    fputs("Which reply is better overall? Answer with one JSON object and nothing else, in exactly this form:\n"
          "{\"explanation\": \"<one or two sentences on why>\", \"better\": <1 or 2>}\n",
          out);
    int failed = ferror(out);
    if (fclose(out) != 0 || failed || !text) {
        free(text);
        return rg_error("out of memory building a pairwise prompt"), NULL;
    }
    return text;
}

/* 1 or 2, as a number or a string ("1", "2"). */
static int pairwise_choice(const cJSON *value) {
    if (cJSON_IsNumber(value) && (value->valuedouble == 1 || value->valuedouble == 2)) return (int)value->valuedouble;
    if (cJSON_IsString(value) && (!strcmp(value->valuestring, "1") || !strcmp(value->valuestring, "2")))
        return value->valuestring[0] - '0';
    return 0;
}

static int accepts_pairwise_answer(const cJSON *object, void *ctx) {
    (void)ctx;
    return pairwise_choice(cJSON_GetObjectItemCaseSensitive(object, "better")) != 0;
}

int rg_grader_parse_pairwise(const char *answer, int *first_better, char **explanation) {
    *explanation = NULL;
    cJSON *object = rg_json_extract_object(answer, accepts_pairwise_answer, NULL);
    if (!object) {
        char begins[128];
        rg_text_escape(begins, sizeof begins, answer, 80);
        return rg_error("pairwise judge answer has no JSON object with \"better\": 1 or 2 (answer begins: \"%s\")",
                        begins);
    }
    *first_better = pairwise_choice(cJSON_GetObjectItemCaseSensitive(object, "better")) == 1;
    const cJSON *why = cJSON_GetObjectItemCaseSensitive(object, "explanation");
    if (cJSON_IsString(why)) *explanation = rg_strdup(why->valuestring);
    cJSON_Delete(object);
    return RG_OK;
}
