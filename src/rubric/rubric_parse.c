/* rubric_parse.c — format detection and normalisation of one JSON line into
 * an rg_example (see rubric.h and docs/rubric-data.md).
 *
 * Every error names the source, the line and the JSON path of the field,
 * with 0-based array indices as jq writes them:
 *     data.jsonl:12: rubrics[3].points: expected a number, got string
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "base/error.h"
#include "io/chat_json.h"
#include "rubric/rubric.h"
#include "rubric/rule_judge.h"

/* Where the line came from, for messages. */
typedef struct {
    const char *source;
    long line;
    long index;             /* element of a JSON array, -1, or RG_RECORD_ROW (line is a table row) */
    int allow_empty_rubric; /* see rg_rubric_options */
    rg_verifier_criteria verifier_criteria;
} origin;

static int field_error(const origin *o, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "data.jsonl:12" for a line, "data.parquet: row 12" for a table row. */
static const char *where(const origin *o, char *buf, size_t size) {
    snprintf(buf, size, o->index == RG_RECORD_ROW ? "%s: row %ld" : "%s:%ld", o->source, o->line);
    return buf;
}

static int field_error(const origin *o, const char *path, const char *fmt, ...) {
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    /* In a JSON array the path starts at the file's root, as jq writes it. */
    char root_path[320] = "";
    if (o->index >= 0) snprintf(root_path, sizeof root_path, "[%ld]%s%s", o->index, path[0] == '[' ? "" : ".", path);
    if (o->index >= 0) path = root_path;
    char at[300];
    if (o->line > 0) return rg_error("%s: %s: %s", where(o, at, sizeof at), path, detail);
    return rg_error("%s: %s: %s", o->source, path, detail);
}

static const char *json_type(const cJSON *v) { return rg_json_type_name(v); }

/* "prefix.key", "prefix[i]" or "key" into buf. */
/* Paths are short (a few keys and indices); a longer one is cut, never overrun. */
static const char *path_key(char *buf, size_t size, const char *prefix, const char *key) {
    int n = (prefix && *prefix) ? snprintf(buf, size, "%s.%s", prefix, key) : snprintf(buf, size, "%s", key);
    if (n < 0) buf[0] = '\0';
    return buf;
}

static const char *path_index(char *buf, size_t size, const char *prefix, size_t index) {
    if (snprintf(buf, size, "%s[%zu]", prefix, index) < 0) buf[0] = '\0';
    return buf;
}

/* Byte offset of the first invalid UTF-8 sequence, or -1 when valid. */
static long invalid_utf8_at(const char *s) {
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    size_t len = strlen(s), i = 0;
    while (i < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &cp);
        if (n <= 0) return (long)i;
        i += (size_t)n;
    }
    return -1;
}

/* Data quoted in an error message: at most `max` bytes of whole characters,
 * control characters and invalid UTF-8 shown as '?', so the message stays
 * one printable line whatever the data hold. */
static const char *printable(const char *s, size_t max, char *buf, size_t size) {
    size_t in = 0, out = 0, len = strlen(s);
    if (max > size - 4) max = size - 4;
    while (in < len && out < max) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)s + in, (utf8proc_ssize_t)(len - in), &cp);
        if (n <= 0 || cp < 0x20 || cp == 0x7f) {
            buf[out++] = '?';
            in += n > 0 ? (size_t)n : 1;
            continue;
        }
        if (out + (size_t)n > max) break;
        memcpy(buf + out, s + in, (size_t)n);
        out += (size_t)n;
        in += (size_t)n;
    }
    if (in < len) {
        memcpy(buf + out, "...", 3);
        out += 3;
    }
    buf[out] = '\0';
    return buf;
}

static int is_blank_text(const char *s) {
    for (; *s; s++)
        if (!isspace((unsigned char)*s)) return 0;
    return 1;
}

/* Copies a JSON string value, checked for UTF-8 and (when nonempty) for
 * containing more than white space. */
static int take_string(const origin *o, const char *path, const cJSON *v, int nonempty, char **out) {
    if (!cJSON_IsString(v) || !v->valuestring)
        return field_error(o, path, "expected a string, got %s", json_type(v));
    long bad = invalid_utf8_at(v->valuestring);
    if (bad >= 0) return field_error(o, path, "invalid UTF-8 at byte %ld", bad);
    if (nonempty && is_blank_text(v->valuestring)) return field_error(o, path, "empty");
    *out = rg_strdup(v->valuestring);
    return *out ? RG_OK : RG_ERR;
}

static int take_number(const origin *o, const char *path, const cJSON *v, double *out) {
    if (!cJSON_IsNumber(v)) return field_error(o, path, "expected a number, got %s", json_type(v));
    if (!isfinite(v->valuedouble)) return field_error(o, path, "not a finite number");
    *out = v->valuedouble;
    return RG_OK;
}

/* A JSON array of strings (tags, patterns). NULL or null = none. */
static int take_string_list(const origin *o, const char *path, const cJSON *v, char ***items, size_t *count) {
    *items = NULL;
    *count = 0;
    if (!v || cJSON_IsNull(v)) return RG_OK;
    if (!cJSON_IsArray(v)) return field_error(o, path, "expected an array of strings, got %s", json_type(v));
    size_t n = (size_t)cJSON_GetArraySize(v);
    if (n == 0) return RG_OK;
    char **list = rg_calloc(n, sizeof *list);
    if (!list) return RG_ERR;
    *items = list;
    size_t i = 0;
    char item_path[256];
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        if (take_string(o, path_index(item_path, sizeof item_path, path, i), e, 1, &list[i])) return RG_ERR;
        *count = i + 1;
    }
    return RG_OK;
}

/* One value of a tag object as text: strings as they are, numbers and
 * booleans as JSON writes them, nested objects and arrays as compact JSON
 * without their null members (RubricHub's tags.parameters holds ~40 keys, all
 * null but the one or two the verifier uses). NULL in *out: nothing to say
 * (null, "", an object or array of nulls). */
static int tag_value_text(const cJSON *v, char **out) {
    *out = NULL;
    if (!v || cJSON_IsNull(v)) return RG_OK;
    if (cJSON_IsString(v)) {
        if (is_blank_text(v->valuestring)) return RG_OK;
        *out = rg_strdup(v->valuestring);
        return *out ? RG_OK : RG_ERR;
    }
    cJSON *copy = cJSON_Duplicate(v, 1);
    if (!copy) return rg_error("out of memory");
    /* Drop null members one level down: what remains is what the data say. */
    if (cJSON_IsObject(copy) || cJSON_IsArray(copy)) {
        cJSON *e = copy->child;
        while (e) {
            cJSON *next = e->next;
            if (cJSON_IsNull(e)) cJSON_Delete(cJSON_DetachItemViaPointer(copy, e));
            e = next;
        }
        if (!copy->child) {
            cJSON_Delete(copy);
            return RG_OK;
        }
    }
    *out = cJSON_PrintUnformatted(copy);
    cJSON_Delete(copy);
    return *out ? RG_OK : rg_error("out of memory");
}

/* Criterion tags: an array of strings ("axis:accuracy"), or an object as the
 * verl exports write them ({"axis": "accuracy", "cluster": null, "level":
 * "example"}), taken as "key:value" strings in the object's order; null and
 * empty values say nothing and are skipped. */
static int take_tags(const origin *o, const char *path, const cJSON *v, char ***items, size_t *count) {
    if (!cJSON_IsObject(v)) return take_string_list(o, path, v, items, count);
    *items = NULL;
    *count = 0;
    size_t n = (size_t)cJSON_GetArraySize(v);
    if (n == 0) return RG_OK;
    char **list = rg_calloc(n, sizeof *list);
    if (!list) return RG_ERR;
    *items = list;
    char key_path[300];
    for (const cJSON *e = v->child; e; e = e->next) {
        path_key(key_path, sizeof key_path, path, e->string ? e->string : "");
        if (!e->string || is_blank_text(e->string)) return field_error(o, key_path, "empty tag name");
        long bad = invalid_utf8_at(e->string);
        if (bad >= 0) return field_error(o, key_path, "invalid UTF-8 at byte %ld of the name", bad);
        char *value = NULL;
        if (tag_value_text(e, &value)) return RG_ERR;
        if (!value) continue;
        bad = invalid_utf8_at(value);
        if (bad >= 0) {
            free(value);
            return field_error(o, key_path, "invalid UTF-8 at byte %ld", bad);
        }
        list[*count] = rg_sprintf("%s:%s", e->string, value);
        free(value);
        if (!list[*count]) return RG_ERR;
        (*count)++;
    }
    return RG_OK;
}

/* Appends "prefix:value" to a tag list (value lower-cased when asked). */
static int add_tag(char ***tags, size_t *ntags, const char *prefix, const char *value, int lower) {
    char **grown = rg_realloc(*tags, (*ntags + 1) * sizeof *grown);
    if (!grown) return RG_ERR;
    *tags = grown;
    char *tag = rg_sprintf("%s:%s", prefix, value);
    if (!tag) return RG_ERR;
    if (lower)
        for (char *c = tag; *c; c++) *c = (char)tolower((unsigned char)*c);
    grown[(*ntags)++] = tag;
    return RG_OK;
}

static int check_unique_tags(const origin *o, const char *path, char **tags, size_t ntags) {
    for (size_t i = 1; i < ntags; i++)
        for (size_t k = 0; k < i; k++)
            if (strcmp(tags[i], tags[k]) == 0) {
                char p[300], shown[64];
                return field_error(o, path_index(p, sizeof p, path, i), "duplicate tag \"%s\"",
                                   printable(tags[i], 48, shown, sizeof shown));
            }
    return RG_OK;
}

/* ---- messages ---------------------------------------------------------- */

static int parse_role(const origin *o, const char *path, const cJSON *v, rg_role *role) {
    if (!cJSON_IsString(v)) return field_error(o, path, "expected a string, got %s", json_type(v));
    const char *s = v->valuestring;
    char shown[64];
    /* "developer" is OpenAI's newer name for the system message. */
    if (strcmp(s, "system") == 0 || strcmp(s, "developer") == 0)
        *role = RG_ROLE_SYSTEM;
    else if (strcmp(s, "user") == 0)
        *role = RG_ROLE_USER;
    else if (strcmp(s, "assistant") == 0)
        *role = RG_ROLE_ASSISTANT;
    else
        return field_error(o, path, "unknown role \"%s\" (known: system, user, assistant)",
                           printable(s, 40, shown, sizeof shown));
    return RG_OK;
}

/* A message's content: a string, or OpenAI's array of text parts joined
 * (io/chat_json.h); checked for UTF-8 like every string. */
static int take_content(const origin *o, const char *path, const cJSON *v, char **out) {
    if (cJSON_IsString(v) || !cJSON_IsArray(v)) return take_string(o, path, v, 0, out);
    char below[64], why[160], full[400];
    if (rg_chat_json_content(v, out, below, sizeof below, why, sizeof why)) {
        snprintf(full, sizeof full, "%s%s", path, below);
        return field_error(o, full, "%s", why);
    }
    long bad = invalid_utf8_at(*out);
    if (bad >= 0) {
        free(*out);
        *out = NULL;
        return field_error(o, path, "invalid UTF-8 at byte %ld", bad);
    }
    return RG_OK;
}

/* A [{role, content}] array; the conversation must end with the user. */
static int parse_messages(const origin *o, const char *path, const cJSON *v, rg_example *ex) {
    if (!cJSON_IsArray(v)) return field_error(o, path, "expected an array of messages, got %s", json_type(v));
    size_t n = (size_t)cJSON_GetArraySize(v);
    if (n == 0) return field_error(o, path, "no messages");
    ex->messages = rg_calloc(n, sizeof *ex->messages);
    if (!ex->messages) return RG_ERR;
    size_t i = 0;
    char item[256], field[300];
    for (const cJSON *m = v->child; m; m = m->next, i++) {
        path_index(item, sizeof item, path, i);
        if (!cJSON_IsObject(m)) return field_error(o, item, "expected an object {role, content}, got %s", json_type(m));
        if (parse_role(o, path_key(field, sizeof field, item, "role"), cJSON_GetObjectItemCaseSensitive(m, "role"),
                       &ex->messages[i].role))
            return RG_ERR;
        if (take_content(o, path_key(field, sizeof field, item, "content"),
                         cJSON_GetObjectItemCaseSensitive(m, "content"), &ex->messages[i].content))
            return RG_ERR;
        ex->nmessages = i + 1;
    }
    if (ex->messages[n - 1].role != RG_ROLE_USER)
        return field_error(o, path_index(item, sizeof item, path, n - 1),
                           "the conversation must end with a user message (got %s)",
                           rg_role_name(ex->messages[n - 1].role));
    return RG_OK;
}

/* A prompt given as one string: a single user message. */
static int single_user_message(const origin *o, const char *path, const cJSON *v, rg_example *ex) {
    ex->messages = rg_calloc(1, sizeof *ex->messages);
    if (!ex->messages) return RG_ERR;
    ex->messages[0].role = RG_ROLE_USER;
    if (take_string(o, path, v, 1, &ex->messages[0].content)) return RG_ERR;
    ex->nmessages = 1;
    return RG_OK;
}

/* ---- criteria ---------------------------------------------------------- */

static void free_criterion(rg_criterion *c) {
    free(c->text);
    for (size_t k = 0; k < c->ntags; k++) free(c->tags[k]);
    free(c->tags);
    for (size_t k = 0; k < c->nmatch; k++) free(c->match[k]);
    free(c->match);
    memset(c, 0, sizeof *c);
}

/* "family:check" in lower-case letters, digits and '_' on both sides. */
static int is_identifier_pair(const char *s) {
    size_t left = 0, right = 0;
    while (islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_') s++, left++;
    if (*s++ != ':' || left == 0) return 0;
    while (islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_') s++, right++;
    return *s == '\0' && right > 0;
}

int rg_is_code_check(const char *text, char *const *tags, size_t ntags) {
    for (size_t i = 0; i < ntags; i++)
        if (strncmp(tags[i], "verifier:", 9) == 0 && strcmp(tags[i] + 9, "llm") != 0) return 1;
    return text && is_identifier_pair(text);
}

int rg_verifier_criteria_parse(const char *name, rg_verifier_criteria *out) {
    if (strcmp(name, "skip") == 0) *out = RG_VERIFIER_CRITERIA_SKIP;
    else if (strcmp(name, "keep") == 0) *out = RG_VERIFIER_CRITERIA_KEEP;
    else if (strcmp(name, "error") == 0) *out = RG_VERIFIER_CRITERIA_ERROR;
    else return RG_ERR;
    return RG_OK;
}

const char *rg_verifier_criteria_name(rg_verifier_criteria policy) {
    switch (policy) {
    case RG_VERIFIER_CRITERIA_KEEP: return "keep";
    case RG_VERIFIER_CRITERIA_ERROR: return "error";
    default: return "skip";
    }
}

/* Field names of one rubric item, per format. */
typedef struct {
    const char *text;   /* "criterion", "text", "description" */
    const char *weight; /* "points", "weight" */
} item_fields;

static int parse_polarity(const origin *o, const char *path, const cJSON *v, rg_criterion *c) {
    if (!v || cJSON_IsNull(v)) {
        c->polarity = c->weight < 0 ? RG_POLARITY_NEGATIVE : RG_POLARITY_POSITIVE;
        return RG_OK;
    }
    if (cJSON_IsString(v) && strcmp(v->valuestring, "positive") == 0)
        c->polarity = RG_POLARITY_POSITIVE;
    else if (cJSON_IsString(v) && strcmp(v->valuestring, "negative") == 0)
        c->polarity = RG_POLARITY_NEGATIVE;
    else if (cJSON_IsString(v)) {
        char shown[64];
        return field_error(o, path, "expected \"positive\" or \"negative\", got \"%s\"",
                           printable(v->valuestring, 40, shown, sizeof shown));
    }
    else
        return field_error(o, path, "expected \"positive\" or \"negative\", got %s", json_type(v));
    return RG_OK;
}

/* RaR descriptions in the original release start with "Essential Criteria: ",
 * "Pitfall Criteria: " and so on — a label, not part of what is judged.
 * Returns the length of such a prefix (0 when none) and its category. */
static size_t rar_label_length(const char *text, const char **category) {
    static const char *const labels[] = {"Essential", "Important", "Optional", "Pitfall"};
    for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++) {
        size_t n = strlen(labels[i]);
        if (strncmp(text, labels[i], n) != 0) continue;
        const char *rest = text + n;
        if (strncmp(rest, " Criteria: ", 11) == 0 || strncmp(rest, " Criterion: ", 12) == 0) {
            *category = labels[i];
            return (size_t)(strchr(rest, ':') - text) + 2;
        }
    }
    return 0;
}

static int parse_rar_item(const origin *o, const char *item, const cJSON *it, rg_criterion *c) {
    char field[300];
    const cJSON *description = cJSON_GetObjectItemCaseSensitive(it, "description");
    const cJSON *title = cJSON_GetObjectItemCaseSensitive(it, "title");
    /* The description is the full criterion; the title a 2-4 word label,
     * used only when there is no description. */
    if (description && !cJSON_IsNull(description)) {
        if (take_string(o, path_key(field, sizeof field, item, "description"), description, 1, &c->text))
            return RG_ERR;
    } else if (title && !cJSON_IsNull(title)) {
        if (take_string(o, path_key(field, sizeof field, item, "title"), title, 1, &c->text)) return RG_ERR;
    } else {
        return field_error(o, path_key(field, sizeof field, item, "description"), "missing (and no title)");
    }
    if (take_number(o, path_key(field, sizeof field, item, "weight"), cJSON_GetObjectItemCaseSensitive(it, "weight"),
                    &c->weight))
        return RG_ERR;
    if (parse_polarity(o, path_key(field, sizeof field, item, "polarity"),
                       cJSON_GetObjectItemCaseSensitive(it, "polarity"), c))
        return RG_ERR;
    const char *label_category = NULL;
    size_t label = rar_label_length(c->text, &label_category);
    if (label > 0) {
        if (is_blank_text(c->text + label))
            return field_error(o, path_key(field, sizeof field, item, "description"), "empty after its label");
        memmove(c->text, c->text + label, strlen(c->text + label) + 1);
    }
    const cJSON *category = cJSON_GetObjectItemCaseSensitive(it, "category");
    if (category && !cJSON_IsNull(category)) {
        path_key(field, sizeof field, item, "category");
        if (!cJSON_IsString(category)) return field_error(o, field, "expected a string, got %s", json_type(category));
        /* checked like every other string: it becomes a tag, printed and written out */
        long bad = invalid_utf8_at(category->valuestring);
        if (bad >= 0) return field_error(o, field, "invalid UTF-8 at byte %ld", bad);
        if (is_blank_text(category->valuestring)) return field_error(o, field, "empty");
        return add_tag(&c->tags, &c->ntags, "category", category->valuestring, 1);
    }
    if (label_category) return add_tag(&c->tags, &c->ntags, "category", label_category, 1);
    return RG_OK;
}

static int parse_item(const origin *o, rg_format format, const char *item, const cJSON *it, rg_criterion *c) {
    char field[300];
    if (!cJSON_IsObject(it)) return field_error(o, item, "expected an object, got %s", json_type(it));
    if (format == RG_FORMAT_RAR) return parse_rar_item(o, item, it, c);

    item_fields names = {"criterion", "points"};
    if (format == RG_FORMAT_NATIVE) names = (item_fields){"text", "weight"};
    if (format == RG_FORMAT_RESEARCHRUBRICS) names = (item_fields){"criterion", "weight"};
    if (take_string(o, path_key(field, sizeof field, item, names.text),
                    cJSON_GetObjectItemCaseSensitive(it, names.text), 1, &c->text))
        return RG_ERR;
    if (take_number(o, path_key(field, sizeof field, item, names.weight),
                    cJSON_GetObjectItemCaseSensitive(it, names.weight), &c->weight))
        return RG_ERR;
    /* Only the native format states a polarity; elsewhere the sign says it. */
    const cJSON *polarity = format == RG_FORMAT_NATIVE ? cJSON_GetObjectItemCaseSensitive(it, "polarity") : NULL;
    if (parse_polarity(o, path_key(field, sizeof field, item, "polarity"), polarity, c)) return RG_ERR;
    if (format != RG_FORMAT_RESEARCHRUBRICS) {
        path_key(field, sizeof field, item, "tags");
        if (take_tags(o, field, cJSON_GetObjectItemCaseSensitive(it, "tags"), &c->tags, &c->ntags)) return RG_ERR;
        if (check_unique_tags(o, field, c->tags, c->ntags)) return RG_ERR;
    } else {
        const cJSON *axis = cJSON_GetObjectItemCaseSensitive(it, "axis");
        if (axis && !cJSON_IsNull(axis)) {
            char *value = NULL;
            if (take_string(o, path_key(field, sizeof field, item, "axis"), axis, 1, &value)) return RG_ERR;
            int rc = add_tag(&c->tags, &c->ntags, "axis", value, 0);
            free(value);
            if (rc) return RG_ERR;
        }
    }
    if (format == RG_FORMAT_NATIVE) {
        path_key(field, sizeof field, item, "match");
        if (take_string_list(o, field, cJSON_GetObjectItemCaseSensitive(it, "match"), &c->match, &c->nmatch))
            return RG_ERR;
        for (size_t k = 0; k < c->nmatch; k++) {
            char reason[300], p[320];
            if (rg_rule_pattern_check(c->match[k], reason, sizeof reason))
                return field_error(o, path_index(p, sizeof p, field, k), "invalid PCRE2 pattern: %s", reason);
        }
    }
    return RG_OK;
}

static int parse_rubric(const origin *o, rg_format format, const char *path, const cJSON *v, rg_example *ex) {
    if (!v) return field_error(o, path, "missing");
    if (!cJSON_IsArray(v)) return field_error(o, path, "expected an array of criteria, got %s", json_type(v));
    size_t n = (size_t)cJSON_GetArraySize(v);
    if (n == 0) {
        if (o->allow_empty_rubric) return RG_OK;
        return field_error(o, path, "empty rubric (at least one criterion is needed)");
    }
    ex->rubric = rg_calloc(n, sizeof *ex->rubric);
    if (!ex->rubric) return RG_ERR;
    size_t i = 0;
    char item[256];
    for (const cJSON *it = v->child; it; it = it->next, i++) {
        rg_criterion *c = &ex->rubric[ex->ncriteria++]; /* counted first, so an error frees it */
        if (parse_item(o, format, path_index(item, sizeof item, path, i), it, c)) return RG_ERR;
        c->code_check = rg_is_code_check(c->text, c->tags, c->ntags);
        if (!c->code_check || o->verifier_criteria == RG_VERIFIER_CRITERIA_KEEP) continue;
        if (o->verifier_criteria == RG_VERIFIER_CRITERIA_ERROR) {
            char shown[64];
            return field_error(o, item,
                               "\"%s\" is a check for a code verifier, not a criterion an LLM judge can grade "
                               "(--verifier-criteria skip leaves such criteria out, keep keeps them)",
                               printable(c->text, 40, shown, sizeof shown));
        }
        /* Skipped: never judged, never shown to the teacher; counted. */
        ex->ncriteria--;
        free_criterion(c);
        ex->code_checks_skipped++;
    }
    if (ex->ncriteria == 0 && !o->allow_empty_rubric)
        return field_error(o, path,
                           "all %zu criteria are checks for a code verifier, left out by --verifier-criteria skip: "
                           "nothing is left for a judge",
                           ex->code_checks_skipped);
    return RG_OK;
}

/* ---- example-level fields ---------------------------------------------- */

static int optional_string(const origin *o, const cJSON *root, const char *key, char **out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v || cJSON_IsNull(v)) return RG_OK;
    return take_string(o, key, v, 0, out);
}

/* The id: a format's own key, then "id", then "source:line". Numbers are
 * accepted as ids (some exports number their rows). */
static int take_id(const origin *o, const cJSON *root, const char *format_key, rg_example *ex) {
    const char *keys[2] = {format_key, "id"};
    for (int k = 0; k < 2; k++) {
        if (!keys[k]) continue;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, keys[k]);
        if (!v || cJSON_IsNull(v)) continue;
        if (cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble == floor(v->valuedouble)) {
            ex->id = rg_sprintf("%.0f", v->valuedouble);
            return ex->id ? RG_OK : RG_ERR;
        }
        return take_string(o, keys[k], v, 1, &ex->id);
    }
    const char *base = strrchr(o->source, '/');
    /* Elements of a JSON array may share a line: their index names them. */
    if (o->index >= 0) ex->id = rg_sprintf("%s[%ld]", base ? base + 1 : o->source, o->index);
    else ex->id = rg_sprintf("%s:%ld", base ? base + 1 : o->source, o->line);
    return ex->id ? RG_OK : RG_ERR;
}

/* An optional string field that becomes the example tag "prefix:value". */
static int tag_from_field(const origin *o, const cJSON *root, const char *key, const char *prefix, rg_example *ex) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v || cJSON_IsNull(v)) return RG_OK;
    char *value = NULL;
    if (take_string(o, key, v, 1, &value)) return RG_ERR;
    int rc = add_tag(&ex->tags, &ex->ntags, prefix, value, 0);
    free(value);
    return rc;
}

/* ---- formats ----------------------------------------------------------- */

static int parse_native(const origin *o, const cJSON *root, rg_example *ex) {
    if (parse_messages(o, "messages", cJSON_GetObjectItemCaseSensitive(root, "messages"), ex)) return RG_ERR;
    if (parse_rubric(o, RG_FORMAT_NATIVE, "rubric", cJSON_GetObjectItemCaseSensitive(root, "rubric"), ex))
        return RG_ERR;
    if (take_string_list(o, "tags", cJSON_GetObjectItemCaseSensitive(root, "tags"), &ex->tags, &ex->ntags))
        return RG_ERR;
    if (check_unique_tags(o, "tags", ex->tags, ex->ntags)) return RG_ERR;
    if (optional_string(o, root, "reference", &ex->reference)) return RG_ERR;
    return take_id(o, root, NULL, ex);
}

static int parse_healthbench(const origin *o, const cJSON *root, rg_example *ex) {
    if (parse_messages(o, "prompt", cJSON_GetObjectItemCaseSensitive(root, "prompt"), ex)) return RG_ERR;
    if (parse_rubric(o, RG_FORMAT_HEALTHBENCH, "rubrics", cJSON_GetObjectItemCaseSensitive(root, "rubrics"), ex))
        return RG_ERR;
    if (take_string_list(o, "example_tags", cJSON_GetObjectItemCaseSensitive(root, "example_tags"), &ex->tags,
                         &ex->ntags))
        return RG_ERR;
    if (check_unique_tags(o, "example_tags", ex->tags, ex->ntags)) return RG_ERR;
    /* The physicians' ideal completion, where the release has one. */
    const cJSON *ideal = cJSON_GetObjectItemCaseSensitive(root, "ideal_completions_data");
    if (ideal && !cJSON_IsNull(ideal)) {
        if (!cJSON_IsObject(ideal))
            return field_error(o, "ideal_completions_data", "expected an object, got %s", json_type(ideal));
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(ideal, "ideal_completion");
        if (text && !cJSON_IsNull(text) &&
            take_string(o, "ideal_completions_data.ideal_completion", text, 0, &ex->reference))
            return RG_ERR;
    }
    return take_id(o, root, "prompt_id", ex);
}

static int parse_rubrichub(const origin *o, const cJSON *root, rg_example *ex) {
    if (parse_messages(o, "prompt", cJSON_GetObjectItemCaseSensitive(root, "prompt"), ex)) return RG_ERR;
    /* verl exports put the rubric under different names. reward_model.rubrics
     * comes first: RubricHub's instruction-following rows carry the same
     * criteria twice, and only that copy has the tags saying which criteria
     * are checks for a code verifier. */
    const cJSON *reward_model = cJSON_GetObjectItemCaseSensitive(root, "reward_model");
    if (reward_model && !cJSON_IsNull(reward_model) && !cJSON_IsObject(reward_model))
        return field_error(o, "reward_model", "expected an object, got %s", json_type(reward_model));
    const cJSON *rubric = cJSON_GetObjectItemCaseSensitive(reward_model, "rubrics");
    const char *path = "reward_model.rubrics";
    if (!rubric) {
        rubric = cJSON_GetObjectItemCaseSensitive(root, "rubrics");
        path = "rubrics";
    }
    if (!rubric) {
        rubric = cJSON_GetObjectItemCaseSensitive(root, "Rubrics");
        path = "Rubrics";
    }
    if (!rubric) return field_error(o, "rubrics", "missing (RubricHub wants rubrics, Rubrics or reward_model.rubrics)");
    if (parse_rubric(o, RG_FORMAT_RUBRICHUB, path, rubric, ex)) return RG_ERR;
    if (tag_from_field(o, root, "data_source", "data_source", ex)) return RG_ERR;
    return take_id(o, root, NULL, ex);
}

static int parse_rar(const origin *o, const cJSON *root, rg_example *ex) {
    if (single_user_message(o, "question", cJSON_GetObjectItemCaseSensitive(root, "question"), ex)) return RG_ERR;
    if (parse_rubric(o, RG_FORMAT_RAR, "rubric", cJSON_GetObjectItemCaseSensitive(root, "rubric"), ex))
        return RG_ERR;
    if (optional_string(o, root, "reference_answer", &ex->reference)) return RG_ERR;
    if (tag_from_field(o, root, "domain", "domain", ex)) return RG_ERR;
    return take_id(o, root, "uid", ex);
}

static int parse_researchrubrics(const origin *o, const cJSON *root, rg_example *ex) {
    if (single_user_message(o, "prompt", cJSON_GetObjectItemCaseSensitive(root, "prompt"), ex)) return RG_ERR;
    if (parse_rubric(o, RG_FORMAT_RESEARCHRUBRICS, "rubrics", cJSON_GetObjectItemCaseSensitive(root, "rubrics"), ex))
        return RG_ERR;
    if (tag_from_field(o, root, "domain", "domain", ex)) return RG_ERR;
    return take_id(o, root, "sample_id", ex);
}

/* HealthBench and RubricHub share {prompt[], rubrics[]}; HealthBench is the
 * one with its own keys or tagged criteria. */
static int looks_like_healthbench(const cJSON *root) {
    if (cJSON_GetObjectItemCaseSensitive(root, "prompt_id") || cJSON_GetObjectItemCaseSensitive(root, "example_tags") ||
        cJSON_GetObjectItemCaseSensitive(root, "ideal_completions_data"))
        return 1;
    const cJSON *rubrics = cJSON_GetObjectItemCaseSensitive(root, "rubrics");
    if (!cJSON_IsArray(rubrics)) return 0;
    for (const cJSON *it = rubrics->child; it; it = it->next)
        if (cJSON_IsObject(it) && cJSON_GetObjectItemCaseSensitive(it, "tags")) return 1;
    return 0;
}

static int unknown_format(const origin *o, const cJSON *root) {
    char keys[200] = "";
    size_t used = 0;
    int shown = 0;
    for (const cJSON *k = root->child; k && shown < 8; k = k->next, shown++) {
        char key[48];
        int n = snprintf(keys + used, sizeof keys - used, "%s%s", shown ? ", " : "",
                         printable(k->string, 30, key, sizeof key));
        if (n < 0 || (size_t)n >= sizeof keys - used) break;
        used += (size_t)n;
    }
    const char *known =
        "known: rgsd native {messages, rubric}, HealthBench {prompt: [messages], rubrics: [{criterion, points, "
        "tags}]}, RubricHub/verl {prompt: [messages], rubrics | Rubrics | reward_model.rubrics}, RaR {question, "
        "rubric: [{description, weight}]}, ResearchRubrics {prompt: string, rubrics: [{criterion, weight, axis}]}";
    char at[300];
    if (o->line > 0) return rg_error("%s: unknown format (keys: %s); %s", where(o, at, sizeof at), shown ? keys : "none", known);
    return rg_error("%s: unknown format (keys: %s); %s", o->source, shown ? keys : "none", known);
}

/* The format as users know it, for messages. */
static const char *format_title(rg_format format) {
    switch (format) {
    case RG_FORMAT_NATIVE: return "rgsd native";
    case RG_FORMAT_HEALTHBENCH: return "HealthBench";
    case RG_FORMAT_RUBRICHUB: return "RubricHub/verl";
    case RG_FORMAT_RAR: return "RaR";
    case RG_FORMAT_RESEARCHRUBRICS: return "ResearchRubrics";
    default: return "unknown";
    }
}

static int detect_format(const origin *o, const cJSON *root, rg_format *format) {
    if (cJSON_GetObjectItemCaseSensitive(root, "messages")) {
        *format = RG_FORMAT_NATIVE;
    } else if (cJSON_GetObjectItemCaseSensitive(root, "question")) {
        *format = RG_FORMAT_RAR;
    } else {
        const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(root, "prompt");
        if (!prompt) return unknown_format(o, root);
        if (cJSON_IsString(prompt))
            *format = RG_FORMAT_RESEARCHRUBRICS;
        else if (cJSON_IsArray(prompt))
            *format = looks_like_healthbench(root) ? RG_FORMAT_HEALTHBENCH : RG_FORMAT_RUBRICHUB;
        else
            return field_error(o, "prompt",
                               "expected an array of messages (HealthBench, RubricHub) or a string "
                               "(ResearchRubrics), got %s",
                               json_type(prompt));
    }
    return RG_OK;
}

int rg_example_from_json(const cJSON *root, const char *source, long line, rg_example *out) {
    return rg_example_from_json_opts(root, source, line, 0, out);
}

int rg_example_from_json_opts(const cJSON *root, const char *source, long line, int allow_empty_rubric,
                              rg_example *out) {
    rg_rubric_options options = {.allow_empty_rubric = allow_empty_rubric};
    return rg_example_from_record(root, source, line, -1, &options, out);
}

int rg_example_from_record(const cJSON *root, const char *source, long line, long index,
                           const rg_rubric_options *options, rg_example *out) {
    memset(out, 0, sizeof *out);
    rg_rubric_options defaults = {0};
    if (!options) options = &defaults;
    origin o = {source ? source : "<memory>", line, index, options->allow_empty_rubric, options->verifier_criteria};
    if (!cJSON_IsObject(root)) {
        char element[48] = "";
        if (index >= 0) snprintf(element, sizeof element, " [%ld]:", index);
        char at[300];
        if (line > 0)
            return rg_error("%s:%s expected a JSON object, got %s", where(&o, at, sizeof at), element, json_type(root));
        return rg_error("%s:%s expected a JSON object, got %s", o.source, element, json_type(root));
    }
    rg_example ex = {0};
    if (detect_format(&o, root, &ex.format)) return RG_ERR;
    ex.line = line;
    int rc;
    switch (ex.format) {
    case RG_FORMAT_NATIVE: rc = parse_native(&o, root, &ex); break;
    case RG_FORMAT_HEALTHBENCH: rc = parse_healthbench(&o, root, &ex); break;
    case RG_FORMAT_RUBRICHUB: rc = parse_rubrichub(&o, root, &ex); break;
    case RG_FORMAT_RAR: rc = parse_rar(&o, root, &ex); break;
    case RG_FORMAT_RESEARCHRUBRICS: rc = parse_researchrubrics(&o, root, &ex); break;
    default: rc = rg_error("%s: internal error: format %d", o.source, (int)ex.format);
    }
    if (rc) {
        rg_format format = ex.format;
        rg_example_free(&ex);
        /* The format is detected per record from its keys, and a surprise is
         * possible (a HealthBench line without tags reads as RubricHub): the
         * message says which format the record was read as. */
        if (!strstr(rg_errmsg(), "out of memory")) {
            char *message = rg_strdup(rg_errmsg());
            if (message) rg_error("%s (read as %s)", message, format_title(format));
            free(message);
        }
        return RG_ERR;
    }
    *out = ex;
    return RG_OK;
}

int rg_example_parse(const char *json_text, const char *source, long line, rg_example *out) {
    memset(out, 0, sizeof *out);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(json_text, &end, 1);
    if (!root) {
        size_t column = end ? (size_t)(end - json_text) + 1 : 1;
        if (line > 0)
            return rg_error("%s:%ld: invalid JSON near column %zu", source ? source : "<memory>", line, column);
        return rg_error("%s: invalid JSON near column %zu", source ? source : "<memory>", column);
    }
    int rc = rg_example_from_json(root, source, line, out);
    cJSON_Delete(root);
    return rc;
}
