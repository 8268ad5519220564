/* grader.c — grader prompts and answer parsing, see grader.h. */
#include "judge/grader.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/error.h"
#include "judge/json_extract.h"

/* A growing string; every append checks for allocation failure once, at the end. */
typedef struct {
    char *data;
    size_t len, cap;
    int oom;
} text_buf;

static void buf_append(text_buf *b, const char *s) {
    if (b->oom) return;
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1) cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown) {
            b->oom = 1;
            return;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n + 1);
    b->len += n;
}

static void buf_printf(text_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(text_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *text = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!text) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(text, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf_append(b, text);
    free(text);
}

static char *buf_finish(text_buf *b) {
    if (b->oom || !b->data) {
        free(b->data);
        rg_error("out of memory building a grader prompt");
        return NULL;
    }
    return b->data;
}

static void append_conversation(text_buf *b, const rg_judge_item *item) {
    buf_append(b, "<conversation>\n");
    const rg_example *ex = item->example;
    for (size_t m = 0; m < ex->nmessages; m++) {
        buf_append(b, rg_role_name(ex->messages[m].role));
        buf_append(b, ": ");
        buf_append(b, ex->messages[m].content ? ex->messages[m].content : "");
        buf_append(b, "\n\n");
    }
    buf_append(b, "assistant: ");
    buf_append(b, item->response ? item->response : "");
    buf_append(b, "\n</conversation>\n\n");
}

static const char *prompt_intro =
    "You are grading a reply written by an AI assistant. Below is a conversation between a user and the "
    "assistant; the last assistant turn is the reply under review. Decide whether that reply meets %s "
    "written by an expert.\n\n";

static const char *decision_rules =
    "How to decide:\n"
    "- Judge only the last assistant turn, read in the context of the conversation before it.\n"
    "- A criterion is met only when the reply satisfies every part of it. The one exception: when the "
    "criterion gives a list introduced by \"such as\", \"for example\", \"e.g.\" or \"including\", the reply "
    "needs only one item of that list, not all of them.\n"
    "- A criterion marked \"undesirable\" describes something the reply should not do: it is met when the "
    "reply DOES show that behaviour (true = the problem is present), and not met when the reply avoids it.\n"
    "- Every other criterion describes something the reply should do: it is met when the reply does it.\n"
    "- Do not give credit for what the reply merely implies, or for effort; judge what is written.\n\n";

/* "[5 points] text", "[undesirable, -3 points] text", or for a penalty on a
 * desirable behaviour not shown (RaR's "Avoids X" pitfalls)
 * "[-2 points if not met] text". */
static void append_criterion_line(text_buf *b, const rg_criterion *c) {
    if (!rg_criterion_is_desirable(c))
        buf_printf(b, "[undesirable, %g points] ", c->weight);
    else if (c->weight < 0)
        buf_printf(b, "[%g points if not met] ", c->weight);
    else
        buf_printf(b, "[%g points] ", c->weight);
    buf_append(b, c->text ? c->text : "");
    buf_append(b, "\n");
}

char *rg_grader_prompt_criterion(const rg_judge_item *item, int criterion) {
    text_buf b = {0};
    buf_printf(&b, prompt_intro, "a rubric criterion");
    append_conversation(&b, item);
    buf_append(&b, "<criterion>\n");
    append_criterion_line(&b, &item->example->rubric[criterion]);
    buf_append(&b, "</criterion>\n\n");
    buf_append(&b, decision_rules);
    buf_append(&b,
               "Answer with one JSON object and nothing else, in exactly this form:\n"
               "{\"explanation\": \"<one or two sentences on why>\", \"criteria_met\": <true or false>}\n");
    return buf_finish(&b);
}

char *rg_grader_prompt_batched(const rg_judge_item *item, const int *criteria, int n) {
    text_buf b = {0};
    buf_printf(&b, prompt_intro, "each of several rubric criteria");
    append_conversation(&b, item);
    buf_append(&b, "<criteria>\n");
    for (int i = 0; i < n; i++) {
        buf_printf(&b, "%d. ", i + 1);
        append_criterion_line(&b, &item->example->rubric[criteria[i]]);
    }
    buf_append(&b, "</criteria>\n\n");
    buf_append(&b, decision_rules);
    buf_printf(&b,
               "Decide each of the %d criteria on its own. Answer with one JSON object and nothing else, mapping "
               "every criterion number to true (met) or false (not met), for example:\n",
               n);
    buf_append(&b, "{");
    for (int i = 0; i < n && i < 3; i++) buf_printf(&b, "%s\"%d\": %s", i ? ", " : "", i + 1, i % 2 ? "false" : "true");
    buf_append(&b, n > 3 ? ", ...}\n" : "}\n");
    return buf_finish(&b);
}

/* true/false, or the strings "true"/"false"/"yes"/"no" some models write. */
static int json_truth(const cJSON *value, int *out) {
    if (cJSON_IsBool(value)) {
        *out = cJSON_IsTrue(value);
        return 1;
    }
    if (cJSON_IsString(value)) {
        const char *s = value->valuestring;
        if (!strcasecmp(s, "true") || !strcasecmp(s, "yes")) return (*out = 1), 1;
        if (!strcasecmp(s, "false") || !strcasecmp(s, "no")) return (*out = 0), 1;
    }
    return 0;
}

static int accepts_criterion_answer(const cJSON *object, void *ctx) {
    (void)ctx;
    int met;
    return json_truth(cJSON_GetObjectItemCaseSensitive(object, "criteria_met"), &met);
}

/* Keeps an excerpt of the answer for the error message. */
static int unparseable(const char *answer, const char *what) {
    size_t len = strlen(answer);
    return rg_error("grader answer %s (answer begins: \"%.80s%s\")", what, answer, len > 80 ? "..." : "");
}

int rg_grader_parse_criterion(const char *answer, int *met, char **explanation) {
    *explanation = NULL;
    cJSON *object = rg_json_extract_object(answer, accepts_criterion_answer, NULL);
    if (!object) return unparseable(answer, "has no JSON object with a boolean \"criteria_met\"");
    json_truth(cJSON_GetObjectItemCaseSensitive(object, "criteria_met"), met);
    const cJSON *why = cJSON_GetObjectItemCaseSensitive(object, "explanation");
    if (cJSON_IsString(why)) *explanation = rg_strdup(why->valuestring);
    cJSON_Delete(object);
    return RG_OK;
}

/* Verdict number k (1-based) of a batched answer: true/false, or an object
 * with "criteria_met". */
static int batched_verdict(const cJSON *object, int k, int *met) {
    char key[16];
    snprintf(key, sizeof key, "%d", k);
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(object, key);
    if (cJSON_IsObject(value)) value = cJSON_GetObjectItemCaseSensitive(value, "criteria_met");
    return json_truth(value, met);
}

static int accepts_batched_answer(const cJSON *object, void *ctx) {
    int n = *(const int *)ctx, met;
    for (int k = 1; k <= n; k++)
        if (!batched_verdict(object, k, &met)) return 0;
    return 1;
}

int rg_grader_parse_batched(const char *answer, int n, int *met) {
    cJSON *object = rg_json_extract_object(answer, accepts_batched_answer, &n);
    if (!object) {
        char what[96];
        snprintf(what, sizeof what, "has no JSON object with true/false for every criterion \"1\"..\"%d\"", n);
        return unparseable(answer, what);
    }
    for (int k = 1; k <= n; k++) batched_verdict(object, k, &met[k - 1]);
    cJSON_Delete(object);
    return RG_OK;
}
