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

const char *rg_teacher_default_template(rg_teacher_context context) {
    return context == RG_TEACHER_CONTEXT_REFERENCE ? default_reference_template : default_rubric_template;
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
};

void rg_teacher_template_free(rg_teacher_template *t) {
    if (!t) return;
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

int rg_teacher_prompt_render(const rg_teacher_template *t, rg_teacher_context context, const rg_example *ex,
                             char **out) {
    *out = NULL;
    rg_teacher_template *owned = NULL;
    if (!t) {
        if (rg_teacher_template_from_string(rg_teacher_default_template(context), "default", &owned)) return RG_ERR;
        t = owned;
    }
    int rc = RG_ERR;
    buffer b = {0};
    part_kind needed = context == RG_TEACHER_CONTEXT_REFERENCE ? PART_REFERENCE : PART_CRITERIA;
    int has_needed = 0;
    for (size_t p = 0; p < t->nparts; p++) has_needed |= t->parts[p].kind == needed;
    long user = last_user_index(ex);
    if (!has_needed) {
        rg_error("%s: no {{%s}} placeholder, so the teacher would not see the %s", t->name,
                 needed == PART_REFERENCE ? "reference" : "criteria",
                 needed == PART_REFERENCE ? "reference answer" : "rubric");
        goto done;
    }
    if (user < 0) {
        rg_error("example %s: no user message to answer", ex->id ? ex->id : "?");
        goto done;
    }
    for (size_t p = 0; p < t->nparts; p++) {
        const part *part = &t->parts[p];
        int failed = 0;
        switch (part->kind) {
        case PART_TEXT: failed = append(&b, part->text, part->len); break;
        case PART_QUESTION: failed = append_str(&b, ex->messages[user].content); break;
        case PART_CRITERIA: failed = append_criteria(&b, ex); break;
        case PART_REFERENCE:
            if (!ex->reference) {
                rg_error("example %s: no reference answer (the reference teacher context needs one)",
                         ex->id ? ex->id : "?");
                goto done;
            }
            failed = append_str(&b, ex->reference);
            break;
        }
        if (failed) goto done;
    }
    if (!b.data && append(&b, "", 0)) goto done;
    *out = b.data;
    b.data = NULL;
    rc = RG_OK;
done:
    free(b.data);
    rg_teacher_template_free(owned);
    return rc;
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
