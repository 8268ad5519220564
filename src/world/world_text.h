/* world_text.h — the rubric world's language: prompts, answers, criterion
 * texts, match patterns, the teacher prompt and the ChatML rendering. */
#ifndef RG_WORLD_TEXT_H
#define RG_WORLD_TEXT_H

#include <stddef.h>

#include "base/rng.h"
#include "world/world_rules.h"

/* A growable NUL-terminated string; errors are sticky (checked once at the end). */
typedef struct {
    char *data;
    size_t len, cap;
    int failed;
} world_str;

void world_str_add(world_str *s, const char *text);
void world_str_addf(world_str *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the string over (caller frees); NULL with the error set on failure. */
char *world_str_take(world_str *s);
void world_str_free(world_str *s);

/* A care request for the composition, from one of the prompt templates. */
char *world_prompt(const world_combo *c, rg_rng *rng);

/* An answer that says each phrase once, in the given order, each with a
 * random lead-in and wording, between an optional opening and closing. */
char *world_answer(const int *phrases, int n, rg_rng *rng);

/* Every opening, lead-in, wording and closing an answer can start with or
 * contain, one answer per line: the tokenizer learns from it so that every
 * answer word is one token wherever it stands. */
char *world_answer_vocabulary(void);

/* "Says to feed it moss." */
char *world_criterion_text(int phrase);
/* "\\b(?:feed|give) it moss\\b" — PCRE2 and Python re read it the same. */
char *world_match_pattern(int phrase);

/* DESIGN.md section 5's default teacher prompt: the request, the header, the
 * criteria numbered without weights (pitfalls as "Avoid: ..."), the closing
 * instruction. texts[i] are criterion texts, weights[i] their weights. */
char *world_teacher_prompt(const char *request, const char *const *texts, const int *weights, int n);

/* Plain ChatML, the text the chat_template renders (add_generation_prompt off). */
typedef struct {
    const char *role, *content;
} world_message;
char *world_chatml(const world_message *messages, int n);
extern const char WORLD_CHAT_TEMPLATE[];

#endif
