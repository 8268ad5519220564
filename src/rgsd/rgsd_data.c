/* rgsd_data.c — the prompts of an RGSD run: chat(q) for the student and
 * chat(teacher_prompt(q, R)) for the teacher, encoded once (see rgsd_run.h). */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "rgsd/rgsd_run.h"
#include "rubric/chat_prompt.h"

/* messages (plus a system message in front when asked and absent) -> chat ids. */
static int encode_conversation(const rg_lm *lm, const rg_message *messages, size_t n_messages,
                               const rg_rgsd_data_options *o, int32_t **ids, int *n_ids) {
    return rg_chat_prompt_encode(lm->chat, lm->tok, messages, n_messages, o->system, o->enable_thinking, ids, n_ids);
}

/* 1 when the prompt ends inside an open <think> span. */
static int ends_in_think(const rg_lm *lm, const int32_t *ids, int n) {
    int32_t open = rg_tokenizer_token_id(lm->tok, "<think>"), close = rg_tokenizer_token_id(lm->tok, "</think>");
    if (open < 0 || close < 0) return 0;
    int inside = 0;
    for (int i = 0; i < n; i++) {
        if (ids[i] == open) inside = 1;
        if (ids[i] == close) inside = 0;
    }
    return inside;
}

int rg_rgsd_data_build(rg_rgsd_data *d, const rg_lm *lm, const rg_example *examples, size_t n_examples,
                       const rg_rgsd_data_options *o) {
    memset(d, 0, sizeof *d);
    d->prompts = rg_calloc(n_examples ? n_examples : 1, sizeof *d->prompts);
    if (!d->prompts) return RG_ERR;
    for (size_t e = 0; e < n_examples; e++) {
        const rg_example *ex = &examples[e];
        const char *name = ex->id ? ex->id : "?";
        int no_context = o->context == RG_TEACHER_CONTEXT_RUBRIC ? ex->ncriteria == 0 : !ex->reference;
        if (no_context) {
            if (o->strict) {
                rg_rgsd_data_free(d);
                return rg_error("example '%s' (line %ld): %s, so the teacher has nothing to condition on (drop "
                                "--strict to skip such examples)",
                                name, ex->line, o->context == RG_TEACHER_CONTEXT_RUBRIC ? "empty rubric" : "no reference answer");
            }
            d->skipped_empty++;
            continue;
        }
        rg_rgsd_prompt p = {.example = e};
        rg_message *teacher = NULL;
        size_t n_teacher = 0;
        if (encode_conversation(lm, ex->messages, ex->nmessages, o, &p.student_prompt, &p.student_prompt_len) ||
            rg_teacher_messages_in(o->teacher_template, o->context, o->rubric_in, o->system, ex, &teacher, &n_teacher) ||
            encode_conversation(lm, teacher, n_teacher, o, &p.teacher_prompt, &p.teacher_prompt_len)) {
            if (teacher) rg_teacher_messages_free(teacher, n_teacher);
            free(p.student_prompt);
            free(p.teacher_prompt);
            rg_rgsd_data_free(d);
            return rg_error_prefix("example '%s' (line %ld)", name, ex->line), RG_ERR;
        }
        rg_teacher_messages_free(teacher, n_teacher);
        int longest = p.teacher_prompt_len > p.student_prompt_len ? p.teacher_prompt_len : p.student_prompt_len;
        if (longest + o->max_new > o->context_len) {
            free(p.student_prompt);
            free(p.teacher_prompt);
            if (o->strict) {
                rg_rgsd_data_free(d);
                return rg_error("example '%s' (line %ld): the teacher prompt is %d tokens (student %d); with "
                                "--max-new %d that passes the context of %d tokens (never truncated; drop --strict "
                                "to skip such examples, or lower --max-new)",
                                name, ex->line, p.teacher_prompt_len, p.student_prompt_len, o->max_new, o->context_len);
            }
            d->skipped_long++;
            continue;
        }
        p.starts_in_think = ends_in_think(lm, p.student_prompt, p.student_prompt_len);
        if (longest > d->max_prompt_len) d->max_prompt_len = longest;
        if (p.student_prompt_len > d->max_student_len) d->max_student_len = p.student_prompt_len;
        d->student_tokens += p.student_prompt_len;
        d->teacher_tokens += p.teacher_prompt_len;
        d->prompts[d->n++] = p;
    }
    return RG_OK;
}

void rg_rgsd_data_free(rg_rgsd_data *d) {
    for (int i = 0; i < d->n; i++) {
        free(d->prompts[i].student_prompt);
        free(d->prompts[i].teacher_prompt);
    }
    free(d->prompts);
    memset(d, 0, sizeof *d);
}
