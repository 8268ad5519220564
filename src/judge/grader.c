/* grader.c — grader prompts and answer parsing, see grader.h. */
#include "judge/grader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/error.h"
#include "base/text.h"
#include "judge/json_extract.h"

/* Prompts are built in a memory stream (open_memstream): fprintf of any
 * length, one allocation check at the end. */
static char *finish_prompt(FILE *out, char **text_at) {
    int failed = ferror(out);
    /* The stream writes the final pointer into *text_at only on fclose. */
    int closed = fclose(out) == 0;
    char *text = *text_at;
    if (!closed || failed || !text) {
        free(text);
        rg_error("out of memory building a grader prompt");
        return NULL;
    }
    return text;
}

static void append_conversation(FILE *out, const rg_judge_item *item) {
    fputs("<conversation>\n", out);
    const rg_example *ex = item->example;
    for (size_t m = 0; m < ex->nmessages; m++)
        fprintf(out, "%s: %s\n\n", rg_role_name(ex->messages[m].role),
                ex->messages[m].content ? ex->messages[m].content : "");
    fprintf(out, "assistant: %s\n</conversation>\n\n", item->response ? item->response : "");
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
    "- A criterion with negative points (marked \"undesirable\") describes something the reply should not "
    "do: it is met when the reply DOES show that behaviour (true = the problem is present), and not met when "
    "the reply avoids it.\n"
    "- A criterion with positive points describes something the reply should do: it is met when the reply "
    "does it.\n"
    "- Do not give credit for what the reply merely implies, or for effort; judge what is written.\n\n";

/* "[5 points] text" or "[undesirable, -3 points] text". The points shown
 * are the rubric layer's grader points: negative exactly when the text
 * describes an undesirable behaviour, so an RaR pitfall written as the good
 * behaviour ("Avoids X", weight -2) reads "[2 points] Avoids X" and is
 * judged as written. */
static void append_criterion_line(FILE *out, const rg_criterion *c) {
    double points = rg_criterion_grader_points(c);
    if (points < 0)
        fprintf(out, "[undesirable, %g points] ", points);
    else
        fprintf(out, "[%g points] ", points);
    fprintf(out, "%s\n", c->text ? c->text : "");
}

char *rg_grader_prompt_criterion(const rg_judge_item *item, int criterion) {
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (!out) return rg_error("out of memory building a grader prompt"), NULL;
    fprintf(out, prompt_intro, "a rubric criterion");
    append_conversation(out, item);
    fputs("<criterion>\n", out);
    append_criterion_line(out, &item->example->rubric[criterion]);
    fputs("</criterion>\n\n", out);
    fputs(decision_rules, out);
    fputs("Answer with one JSON object and nothing else, in exactly this form:\n"
          "{\"explanation\": \"<one or two sentences on why>\", \"criteria_met\": <true or false>}\n",
          out);
    return finish_prompt(out, &text);
}

char *rg_grader_prompt_criterion_yes_no(const rg_judge_item *item, int criterion) {
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (!out) return rg_error("out of memory building a grader prompt"), NULL;
    fprintf(out, prompt_intro, "a rubric criterion");
    append_conversation(out, item);
    fputs("<criterion>\n", out);
    append_criterion_line(out, &item->example->rubric[criterion]);
    fputs("</criterion>\n\n", out);
    fputs(decision_rules, out);
    fputs("Is the criterion met? Answer with one word: yes or no.\n", out);
    return finish_prompt(out, &text);
}

char *rg_grader_prompt_batched(const rg_judge_item *item, const int *criteria, int n) {
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (!out) return rg_error("out of memory building a grader prompt"), NULL;
    fprintf(out, prompt_intro, "each of several rubric criteria");
    append_conversation(out, item);
    fputs("<criteria>\n", out);
    for (int i = 0; i < n; i++) {
        fprintf(out, "%d. ", i + 1);
        append_criterion_line(out, &item->example->rubric[criteria[i]]);
    }
    fputs("</criteria>\n\n", out);
    fputs(decision_rules, out);
    fprintf(out,
            "Decide each of the %d criteria on its own. Answer with one JSON object and nothing else, mapping "
            "every criterion number to true (met) or false (not met), for example:\n{",
            n);
    for (int i = 0; i < n && i < 3; i++) fprintf(out, "%s\"%d\": %s", i ? ", " : "", i + 1, i % 2 ? "false" : "true");
    fputs(n > 3 ? ", ...}\n" : "}\n", out);
    return finish_prompt(out, &text);
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
    char begins[128]; /* one line, cut at a character; "..." when cut */
    rg_text_escape(begins, sizeof begins, answer, 80);
    return rg_error("grader answer %s (answer begins: \"%s\")", what, begins);
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
