/* teacher_prompt.c — renders the teacher's view of an example (see
 * teacher_prompt.h). */
#include "rubric/teacher_prompt.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "io/file.h"

static const char default_rubric_template[] =
    "{{question}}\n"
    "\n"
    "A strong answer to this request meets the evaluation criteria below. They are private to you.\n"
    "{{criteria}}\n"
    "\n"
    "Now write your own complete answer to the request above. Satisfy the criteria naturally, as an expert "
    "would, without mentioning or quoting them.";

static const char default_reference_template[] =
    "{{question}}\n"
    "\n"
    "Here is a reference answer to this request. It is private to you.\n"
    "<reference>\n"
    "{{reference}}\n"
    "</reference>\n"
    "\n"
    "Now write your own complete answer to the request above, as an expert would, without mentioning or "
    "quoting the reference.";

/* The same for --rubric-in system: the block the system message gets, worded
 * for a request that follows it rather than one above it. */
static const char default_rubric_system[] =
    "A strong answer to the user's request meets the evaluation criteria below. They are private to you.\n"
    "{{criteria}}\n"
    "\n"
    "Write your own complete answer to the user's request. Satisfy the criteria naturally, as an expert would, "
    "without mentioning or quoting them.";

static const char default_reference_system[] =
    "Here is a reference answer to the user's request. It is private to you.\n"
    "<reference>\n"
    "{{reference}}\n"
    "</reference>\n"
    "\n"
    "Write your own complete answer to the user's request, as an expert would, without mentioning or quoting the "
    "reference.";

/* The RGSD paper's Figure 10 wording (as reported; issue 14), and its system
 * form: the same text without the question. */
static const char paper_template[] =
    "{{question}}\n"
    "\n"
    "Hidden evaluation criteria that a good response should satisfy:\n"
    "{{criteria}}\n"
    "\n"
    "After understanding these evaluation criteria, provide your own thorough response to the problem. Address the "
    "criteria naturally without explicitly referencing them.";

const char *rg_teacher_default_template(rg_teacher_context context) {
    return context == RG_TEACHER_CONTEXT_REFERENCE ? default_reference_template : default_rubric_template;
}

const char *rg_teacher_paper_template(void) { return paper_template; }

int rg_rubric_in_parse(const char *s, rg_rubric_in *out) {
    if (strcmp(s, "user") == 0) *out = RG_RUBRIC_IN_USER;
    else if (strcmp(s, "system") == 0) *out = RG_RUBRIC_IN_SYSTEM;
    else return rg_error("--rubric-in must be user or system (got '%s')", s);
    return RG_OK;
}

typedef enum { PART_TEXT, PART_QUESTION, PART_CRITERIA, PART_REFERENCE } part_kind;

typedef struct {
    part_kind kind;
    const char *text; /* PART_TEXT: points into the template's copy */
    size_t len;
} part;

struct rg_teacher_template {
    char *name;
    char *source;
    part *parts;
    size_t nparts;
    rg_teacher_template *system_form; /* a built-in's own --rubric-in system wording, or NULL */
};

void rg_teacher_template_free(rg_teacher_template *t) {
    if (!t) return;
    rg_teacher_template_free(t->system_form);
    free(t->name);
    free(t->source);
    free(t->parts);
    free(t);
}

static int add_part(rg_teacher_template *t, part_kind kind, const char *text, size_t len) {
    if (kind == PART_TEXT && len == 0) return RG_OK;
    part *grown = rg_realloc(t->parts, (t->nparts + 1) * sizeof *grown);
    if (!grown) return RG_ERR;
    t->parts = grown;
    t->parts[t->nparts++] = (part){kind, text, len};
    return RG_OK;
}

/* Line number of a position, for messages about template files. */
static int line_of(const char *start, const char *at) {
    int line = 1;
    for (const char *c = start; c < at; c++) line += *c == '\n';
    return line;
}

int rg_teacher_template_from_string(const char *text, const char *name, rg_teacher_template **out) {
    *out = NULL;
    rg_teacher_template *t = rg_calloc(1, sizeof *t);
    if (!t) return RG_ERR;
    t->name = rg_strdup(name ? name : "template");
    t->source = rg_strdup(text);
    if (!t->name || !t->source) goto fail;
    const char *c = t->source, *literal = c;
    while ((c = strstr(c, "{{")) != NULL) {
        const char *close = strstr(c, "}}");
        if (!close) {
            rg_error("%s:%d: \"{{\" without a closing \"}}\"", t->name, line_of(t->source, c));
            goto fail;
        }
        size_t n = (size_t)(close - c - 2);
        part_kind kind;
        if (n == 8 && strncmp(c + 2, "question", 8) == 0)
            kind = PART_QUESTION;
        else if (n == 8 && strncmp(c + 2, "criteria", 8) == 0)
            kind = PART_CRITERIA;
        else if (n == 9 && strncmp(c + 2, "reference", 9) == 0)
            kind = PART_REFERENCE;
        else {
            /* Shown on one printable line whatever is between the braces. */
            char shown[44];
            size_t k = 0;
            for (; k < n && k < 40; k++) shown[k] = (c[2 + k] >= 0x20 && c[2 + k] < 0x7f) ? c[2 + k] : '?';
            shown[k] = '\0';
            rg_error("%s:%d: unknown placeholder {{%s}} (known: {{question}}, {{criteria}}, {{reference}})", t->name,
                     line_of(t->source, c), shown);
            goto fail;
        }
        if (add_part(t, PART_TEXT, literal, (size_t)(c - literal)) || add_part(t, kind, NULL, 0)) goto fail;
        c = literal = close + 2;
    }
    if (add_part(t, PART_TEXT, literal, strlen(literal))) goto fail;
    *out = t;
    return RG_OK;
fail:
    rg_teacher_template_free(t);
    return RG_ERR;
}

int rg_teacher_template_load(const char *path, rg_teacher_template **out) {
    char *text;
    size_t len;
    *out = NULL;
    if (rg_read_file(path, &text, &len)) return RG_ERR;
    if (strlen(text) != len) {
        free(text);
        return rg_error("%s: the template contains a NUL byte", path);
    }
    /* A trailing newline from an editor is not part of the prompt. */
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r')) text[--len] = '\0';
    int rc = rg_teacher_template_from_string(text, path, out);
    free(text);
    return rc;
}

int rg_teacher_template_open(const char *name, rg_teacher_template **out) {
    *out = NULL;
    if (strcmp(name, "default") == 0) return RG_OK;
    if (strcmp(name, "paper") != 0) return rg_teacher_template_load(name, out);
    rg_teacher_template *t;
    if (rg_teacher_template_from_string(paper_template, "paper", &t)) return RG_ERR;
    /* the system form: the template after its "{{question}}\n\n" */
    if (rg_teacher_template_from_string(paper_template + strlen("{{question}}\n\n"), "paper", &t->system_form)) {
        rg_teacher_template_free(t);
        return RG_ERR;
    }
    *out = t;
    return RG_OK;
}

/* ---- rendering --------------------------------------------------------- */

typedef struct {
    char *data;
    size_t len, cap;
} buffer;

static int append(buffer *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *grown = rg_realloc(b->data, cap);
        if (!grown) return RG_ERR;
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return RG_OK;
}

static int append_str(buffer *b, const char *s) { return append(b, s, strlen(s)); }

static int append_criteria(buffer *b, const rg_example *ex) {
    for (size_t i = 0; i < ex->ncriteria; i++) {
        char number[32];
        snprintf(number, sizeof number, "%s%zu. ", i ? "\n" : "", i + 1);
        if (append_str(b, number)) return RG_ERR;
        if (!rg_criterion_is_desirable(&ex->rubric[i]) && append_str(b, "Avoid: ")) return RG_ERR;
        if (append_str(b, ex->rubric[i].text)) return RG_ERR;
    }
    return RG_OK;
}

static long last_user_index(const rg_example *ex) {
    for (size_t i = ex->nmessages; i-- > 0;)
        if (ex->messages[i].role == RG_ROLE_USER) return (long)i;
    return -1;
}

/* t's parts with {{question}} = question (the other placeholders from ex) -> *out (malloc'd). */
static int render_parts(const rg_teacher_template *t, rg_teacher_context context, const rg_example *ex,
                        const char *question, char **out) {
    *out = NULL;
    buffer b = {0};
    part_kind needed = context == RG_TEACHER_CONTEXT_REFERENCE ? PART_REFERENCE : PART_CRITERIA;
    int has_needed = 0;
    for (size_t p = 0; p < t->nparts; p++) has_needed |= t->parts[p].kind == needed;
    if (!has_needed)
        return rg_error("%s: no {{%s}} placeholder, so the teacher would not see the %s", t->name,
                        needed == PART_REFERENCE ? "reference" : "criteria",
                        needed == PART_REFERENCE ? "reference answer" : "rubric");
    for (size_t p = 0; p < t->nparts; p++) {
        const part *part = &t->parts[p];
        int failed = 0;
        switch (part->kind) {
        case PART_TEXT: failed = append(&b, part->text, part->len); break;
        case PART_QUESTION: failed = append_str(&b, question); break;
        case PART_CRITERIA: failed = append_criteria(&b, ex); break;
        case PART_REFERENCE:
            if (!ex->reference) {
                free(b.data);
                return rg_error("example %s: no reference answer (the reference teacher context needs one)",
                                ex->id ? ex->id : "?");
            }
            failed = append_str(&b, ex->reference);
            break;
        }
        if (failed) {
            free(b.data);
            return RG_ERR;
        }
    }
    if (!b.data && append(&b, "", 0)) return RG_ERR;
    *out = b.data;
    return RG_OK;
}

/* t, or the built-in text `fallback` when t is NULL, rendered with {{question}} = question. */
static int render_or_builtin(const rg_teacher_template *t, const char *fallback, rg_teacher_context context,
                             const rg_example *ex, const char *question, char **out) {
    *out = NULL;
    rg_teacher_template *owned = NULL;
    if (!t) {
        if (rg_teacher_template_from_string(fallback, "default", &owned)) return RG_ERR;
        t = owned;
    }
    int rc = render_parts(t, context, ex, question, out);
    rg_teacher_template_free(owned);
    return rc;
}

int rg_teacher_prompt_render(const rg_teacher_template *t, rg_teacher_context context, const rg_example *ex,
                             char **out) {
    *out = NULL;
    long user = last_user_index(ex);
    if (user < 0) return rg_error("example %s: no user message to answer", ex->id ? ex->id : "?");
    return render_or_builtin(t, rg_teacher_default_template(context), context, ex, ex->messages[user].content, out);
}

int rg_teacher_block_render(const rg_teacher_template *t, rg_teacher_context context, const rg_example *ex,
                            char **out) {
    *out = NULL;
    if (last_user_index(ex) < 0) return rg_error("example %s: no user message to answer", ex->id ? ex->id : "?");
    if (t && t->system_form) t = t->system_form;
    const char *fallback = context == RG_TEACHER_CONTEXT_REFERENCE ? default_reference_system : default_rubric_system;
    if (render_or_builtin(t, fallback, context, ex, "", out)) return RG_ERR;
    /* a file template's {{question}} left blank lines around it */
    char *text = *out;
    size_t start = strspn(text, " \t\r\n"), len = strlen(text);
    while (len > start && strchr(" \t\r\n", text[len - 1])) len--;
    memmove(text, text + start, len - start);
    text[len - start] = '\0';
    return RG_OK;
}

void rg_teacher_messages_free(rg_message *messages, size_t nmessages) {
    for (size_t i = 0; messages && i < nmessages; i++) free(messages[i].content);
    free(messages);
}

int rg_teacher_messages(const rg_teacher_template *t, rg_teacher_context context, const rg_example *ex,
                        rg_message **messages, size_t *nmessages) {
    *messages = NULL;
    *nmessages = 0;
    char *prompt;
    if (rg_teacher_prompt_render(t, context, ex, &prompt)) return RG_ERR;
    long user = last_user_index(ex);
    rg_message *copy = rg_calloc(ex->nmessages, sizeof *copy);
    if (!copy) {
        free(prompt);
        return RG_ERR;
    }
    for (size_t i = 0; i < ex->nmessages; i++) {
        copy[i].role = ex->messages[i].role;
        copy[i].content = (long)i == user ? prompt : rg_strdup(ex->messages[i].content);
        if (!copy[i].content) {
            if ((long)i < user) free(prompt);
            rg_teacher_messages_free(copy, ex->nmessages);
            return RG_ERR;
        }
    }
    *messages = copy;
    *nmessages = ex->nmessages;
    return RG_OK;
}

/* "first\n\nsecond", or second alone when first is NULL or empty (malloc'd). */
static char *join_blocks(const char *first, const char *second) {
    if (!first || !*first) return rg_strdup(second);
    size_t a = strlen(first), b = strlen(second);
    char *out = rg_malloc(a + b + 3);
    if (!out) return NULL;
    memcpy(out, first, a);
    memcpy(out + a, "\n\n", 2);
    memcpy(out + a + 2, second, b + 1);
    return out;
}

/* --rubric-in system: the conversation unchanged but for its system message, which becomes the
 * existing one (or `system`) + a blank line + the rubric block; inserted in front when there is none. */
static int messages_with_system_block(const rg_teacher_template *t, rg_teacher_context context, const char *system,
                                      const rg_example *ex, rg_message **messages, size_t *nmessages) {
    char *block;
    if (rg_teacher_block_render(t, context, ex, &block)) return RG_ERR;
    int has_system = ex->nmessages > 0 && ex->messages[0].role == RG_ROLE_SYSTEM;
    size_t n = ex->nmessages + !has_system;
    rg_message *copy = rg_calloc(n, sizeof *copy);
    char *first = copy ? join_blocks(has_system ? ex->messages[0].content : system, block) : NULL;
    free(block);
    if (!first) {
        free(copy);
        return RG_ERR;
    }
    copy[0] = (rg_message){.role = RG_ROLE_SYSTEM, .content = first};
    for (size_t i = has_system, o = 1; i < ex->nmessages; i++, o++) {
        copy[o].role = ex->messages[i].role;
        copy[o].content = rg_strdup(ex->messages[i].content);
        if (!copy[o].content) {
            rg_teacher_messages_free(copy, n);
            return RG_ERR;
        }
    }
    *messages = copy;
    *nmessages = n;
    return RG_OK;
}

int rg_teacher_messages_in(const rg_teacher_template *t, rg_teacher_context context, rg_rubric_in where,
                           const char *system, const rg_example *ex, rg_message **messages, size_t *nmessages) {
    *messages = NULL;
    *nmessages = 0;
    if (where == RG_RUBRIC_IN_USER) return rg_teacher_messages(t, context, ex, messages, nmessages);
    return messages_with_system_block(t, context, system, ex, messages, nmessages);
}
