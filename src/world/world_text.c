/* world_text.c — the rubric world's language. All text is lowercase ASCII
 * words and ". ? ," punctuation, so the tokenizer stays small and the match
 * patterns stay exact. */
#include "world/world_text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

void world_str_add(world_str *s, const char *text) {
    if (s->failed) return;
    size_t n = strlen(text);
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 64;
        while (cap < s->len + n + 1) cap *= 2;
        char *grown = rg_realloc(s->data, cap);
        if (!grown) {
            s->failed = 1;
            return;
        }
        s->data = grown;
        s->cap = cap;
    }
    memcpy(s->data + s->len, text, n + 1);
    s->len += n;
}

void world_str_addf(world_str *s, const char *fmt, ...) {
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof small) { /* the world's pieces are short; longer is a bug */
        rg_error("world: text piece too long (%d bytes)", n);
        s->failed = 1;
        return;
    }
    world_str_add(s, small);
}

char *world_str_take(world_str *s) {
    if (s->failed) {
        world_str_free(s);
        return NULL;
    }
    if (!s->data) world_str_add(s, "");
    char *out = s->data;
    memset(s, 0, sizeof *s);
    return out;
}

void world_str_free(world_str *s) {
    free(s->data);
    memset(s, 0, sizeof *s);
}

static const char *pick(const char *const *options, int n, rg_rng *rng) {
    return options[rg_rng_below(rng, (uint64_t)n)];
}
#define PICK(arr, rng) pick((arr), (int)(sizeof(arr) / sizeof((arr)[0])), (rng))

/* ---- prompts ---- */

char *world_prompt(const world_combo *c, rg_rng *rng) {
    static const char *const owners[] = {"my", "our"};
    static const char *const is_verbs[] = {"is", "seems", "looks"};
    static const char *const season_forms[] = {" in %s", " now that it is %s", " and it is %s"};
    const char *species = world_value_name(WORLD_SPECIES, c->species);
    const char *cond = world_value_name(WORLD_CONDITION, c->condition);
    char creature[64], season[64] = "";
    if (c->age >= 0)
        snprintf(creature, sizeof creature, "%s %s %s", PICK(owners, rng), world_value_name(WORLD_AGE, c->age),
                 species);
    else
        snprintf(creature, sizeof creature, "%s %s", PICK(owners, rng), species);
    if (c->season >= 0) snprintf(season, sizeof season, PICK(season_forms, rng), world_value_name(WORLD_SEASON, c->season));
    const char *verb = PICK(is_verbs, rng);
    world_str s = {0};
    switch (rg_rng_below(rng, 8)) {
    case 0: world_str_addf(&s, "how should i care for %s? it %s %s%s.", creature, verb, cond, season); break;
    case 1: world_str_addf(&s, "%s %s %s%s. what should i do?", creature, verb, cond, season); break;
    case 2: world_str_addf(&s, "any advice for %s that %s %s%s?", creature, verb, cond, season); break;
    case 3: world_str_addf(&s, "i need help with %s. it %s %s%s.", creature, verb, cond, season); break;
    case 4: world_str_addf(&s, "what is the best care for %s that %s %s%s?", creature, verb, cond, season); break;
    case 5: world_str_addf(&s, "%s %s %s%s. how do i look after it?", creature, verb, cond, season); break;
    case 6: world_str_addf(&s, "please help, %s %s %s%s.", creature, verb, cond, season); break;
    default: world_str_addf(&s, "what do you suggest for %s? it %s %s%s.", creature, verb, cond, season); break;
    }
    return world_str_take(&s);
}

/* ---- answers ---- */

static const char *const openings[] = {"", "", "sure. ", "good question. ", "here is what i would do. "};
static const char *const leads[] = {"", "", "you should ", "try to ", "be sure to ", "it helps to "};
static const char *const closings[] = {"", "", " good luck.", " take care."};

char *world_answer(const int *phrases, int n, rg_rng *rng) {
    world_str s = {0};
    world_str_add(&s, PICK(openings, rng));
    for (int i = 0; i < n; i++) {
        const world_phrase *p = world_phrase_at(phrases[i]);
        const char *words = p->alt_words && rg_rng_below(rng, 2) ? p->alt_words : p->words;
        world_str_addf(&s, "%s%s%s.", i ? " " : "", PICK(leads, rng), words);
    }
    world_str_add(&s, PICK(closings, rng));
    return world_str_take(&s);
}

char *world_answer_vocabulary(void) {
    world_str s = {0};
    for (int p = 0; p < world_phrase_count(); p++)
        for (int wording = 0; wording < 2; wording++) {
            const world_phrase *ph = world_phrase_at(p);
            const char *words = wording ? ph->alt_words : ph->words;
            if (!words) continue;
            for (size_t i = 0; i < sizeof leads / sizeof leads[0]; i++)
                for (size_t o = 0; o < sizeof openings / sizeof openings[0]; o++)
                    world_str_addf(&s, "%s%s%s. %s%s.%s\n", openings[o], leads[i], words, leads[i], words,
                                   closings[(i + o) % (sizeof closings / sizeof closings[0])]);
        }
    return world_str_take(&s);
}

/* ---- criteria ---- */

char *world_criterion_text(int phrase) { return rg_sprintf("Says to %s.", world_phrase_at(phrase)->words); }

/* Two wordings that differ only in their first word become "(?:a|b) rest". */
char *world_match_pattern(int phrase) {
    const world_phrase *p = world_phrase_at(phrase);
    if (!p->alt_words) return rg_sprintf("\\b%s\\b", p->words);
    const char *rest = strchr(p->words, ' ');
    const char *alt_rest = strchr(p->alt_words, ' ');
    if (!rest || !alt_rest || strcmp(rest, alt_rest) != 0) {
        rg_error("world: phrase %d's wordings differ past the first word", phrase);
        return NULL;
    }
    return rg_sprintf("\\b(?:%.*s|%.*s)%s\\b", (int)(rest - p->words), p->words, (int)(alt_rest - p->alt_words),
                      p->alt_words, rest);
}

char *world_teacher_prompt(const char *request, const char *const *texts, const int *weights, int n) {
    world_str s = {0};
    world_str_add(&s, request);
    world_str_add(&s, "\n\nA strong answer to this request meets the evaluation criteria below. They are private "
                      "to you.\n");
    for (int i = 0; i < n; i++) world_str_addf(&s, "%d. %s%s\n", i + 1, weights[i] < 0 ? "Avoid: " : "", texts[i]);
    world_str_add(&s, "Now write your own complete answer to the request above. Satisfy the criteria naturally, as "
                      "an expert would, without mentioning or quoting them.");
    return world_str_take(&s);
}

/* ---- chat ---- */

/* The classic ChatML template (no default system prompt), which rgsd's chat
 * renderer reads as the ChatML / Qwen2.5 family. */
const char WORLD_CHAT_TEMPLATE[] =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + "
    "'\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

char *world_chatml(const world_message *messages, int n) {
    world_str s = {0};
    for (int i = 0; i < n; i++) {
        world_str_add(&s, "<|im_start|>");
        world_str_add(&s, messages[i].role);
        world_str_add(&s, "\n");
        world_str_add(&s, messages[i].content);
        world_str_add(&s, "<|im_end|>\n");
    }
    return world_str_take(&s);
}
