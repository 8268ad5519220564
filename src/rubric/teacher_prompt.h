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
 *
 * Built-in templates by name (rg_teacher_template_open): "default" (the
 * above) and "paper", the RGSD paper's Figure 10 wording as reported:
 *
 *     {{question}}
 *
 *     Hidden evaluation criteria that a good response should satisfy:
 *     {{criteria}}
 *
 *     After understanding these evaluation criteria, provide your own thorough response to the problem.
 *     Address the criteria naturally without explicitly referencing them.
 *
 * Where the rubric goes (--rubric-in): "user" (the above: the last user
 * message rewritten) or "system": the user messages stay as they are and the
 * rubric block goes into the system message. The block is the template
 * rendered with {{question}} empty and the surrounding blank lines trimmed;
 * the built-ins have their own system wording ("paper": its text without the
 * question; "default": "A strong answer to the user's request meets ...",
 * "Write your own complete answer to the user's request ..."). An existing
 * system message (the example's first message, or else --system) comes
 * first, then a blank line, then the block; with neither, the block is the
 * whole system message.
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
const char *rg_teacher_paper_template(void);

typedef enum {
    RG_RUBRIC_IN_USER = 0, /* the last user message carries the rubric (default) */
    RG_RUBRIC_IN_SYSTEM,   /* the system message carries it; the user messages stay plain */
} rg_rubric_in;

/* "user" | "system"; RG_ERR with a one-line message otherwise. */
int rg_rubric_in_parse(const char *s, rg_rubric_in *out);

typedef struct rg_teacher_template rg_teacher_template;

/* From text; `name` names it in messages (a file path, "default"). */
int rg_teacher_template_from_string(const char *text, const char *name, rg_teacher_template **out);
int rg_teacher_template_load(const char *path, rg_teacher_template **out);
void rg_teacher_template_free(rg_teacher_template *t);
/* --teacher-template NAME: "default" (*out = NULL: the default for the
 * context), "paper" (built in), else a file path (./paper for a file so named). */
int rg_teacher_template_open(const char *name, rg_teacher_template **out);

/* The rewritten last user message (malloc'd). template NULL = the default
 * for the context. Fails when the template lacks the placeholder the context
 * needs, or the reference context meets an example without a reference. */
int rg_teacher_prompt_render(const rg_teacher_template *t, rg_teacher_context context, const rg_example *ex,
                             char **out);

/* The rubric block of --rubric-in system (malloc'd): t's system form, or t with
 * {{question}} empty, trimmed; t NULL = the default's system wording. */
int rg_teacher_block_render(const rg_teacher_template *t, rg_teacher_context context, const rg_example *ex,
                            char **out);

/* The whole teacher conversation: a copy of ex->messages with the last user
 * message replaced. Free with rg_teacher_messages_free. */
int rg_teacher_messages(const rg_teacher_template *t, rg_teacher_context context, const rg_example *ex,
                        rg_message **messages, size_t *nmessages);
void rg_teacher_messages_free(rg_message *messages, size_t nmessages);
/* The same with the rubric placed by `where`: USER is rg_teacher_messages;
 * SYSTEM leaves every user message as it is and puts the block into the
 * system message (the first message when it is one, else `system` when not
 * NULL, joined by a blank line; else a new system message of the block alone). */
int rg_teacher_messages_in(const rg_teacher_template *t, rg_teacher_context context, rg_rubric_in where,
                           const char *system, const rg_example *ex, rg_message **messages, size_t *nmessages);

#endif
