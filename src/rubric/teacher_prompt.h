/* teacher_prompt.h — what the RGSD teacher sees: the conversation with its
 * last user message rewritten to carry the rubric (or the reference answer).
 *
 * The default template (DESIGN.md section 5; our wording):
 *
 *     {{question}}
 *
 *     A strong answer to this request meets the evaluation criteria below. They are private to you.
 *     {{criteria}}
 *
 *     Now write your own complete answer to the request above. Satisfy the criteria naturally, as an
 *     expert would, without mentioning or quoting them.
 *
 * {{question}} is the last user message; {{criteria}} the numbered criteria
 * without weights, one per line ("1. text"), those describing an undesirable
 * behaviour as "N. Avoid: text" (rg_criterion_is_desirable() == 0: a
 * HealthBench negative-points criterion; an RaR pitfall written as the good
 * behaviour, "Avoids X", is listed as written); {{reference}} the data set's
 * reference answer. Earlier turns of a multi-turn conversation are kept as
 * they are; only the last user message changes.
 *
 * A template file replaces the default: plain text with those placeholders
 * ({{question}} and, for the rubric context, {{criteria}}; for the reference
 * context, {{reference}}). An unknown placeholder is an error.
 */
#ifndef RG_TEACHER_PROMPT_H
#define RG_TEACHER_PROMPT_H

#include <stddef.h>

#include "rubric/rubric.h"

typedef enum {
    RG_TEACHER_CONTEXT_RUBRIC = 0, /* condition on the rubric (RGSD) */
    RG_TEACHER_CONTEXT_REFERENCE,  /* condition on the reference answer (the paper's ablation) */
} rg_teacher_context;

/* The built-in templates. */
const char *rg_teacher_default_template(rg_teacher_context context);

typedef struct rg_teacher_template rg_teacher_template;

/* From text; `name` names it in messages (a file path, "default"). */
int rg_teacher_template_from_string(const char *text, const char *name, rg_teacher_template **out);
int rg_teacher_template_load(const char *path, rg_teacher_template **out);
void rg_teacher_template_free(rg_teacher_template *t);

/* The rewritten last user message (malloc'd). template NULL = the default
 * for the context. Fails when the template lacks the placeholder the context
 * needs, or the reference context meets an example without a reference. */
int rg_teacher_prompt_render(const rg_teacher_template *t, rg_teacher_context context, const rg_example *ex,
                             char **out);

/* The whole teacher conversation: a copy of ex->messages with the last user
 * message replaced. Free with rg_teacher_messages_free. */
int rg_teacher_messages(const rg_teacher_template *t, rg_teacher_context context, const rg_example *ex,
                        rg_message **messages, size_t *nmessages);
void rg_teacher_messages_free(rg_message *messages, size_t nmessages);

#endif
