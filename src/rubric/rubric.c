/* rubric.c — the normalised example: names, verdict semantics, freeing,
 * the native JSON form, and the streaming reader (see rubric.h). Format
 * detection and normalisation live in rubric_parse.c. */
#include "rubric/rubric.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "io/records.h"

const char *rg_format_name(rg_format format) {
    switch (format) {
    case RG_FORMAT_NATIVE: return "native";
    case RG_FORMAT_HEALTHBENCH: return "healthbench";
    case RG_FORMAT_RUBRICHUB: return "rubrichub";
    case RG_FORMAT_RAR: return "rar";
    case RG_FORMAT_RESEARCHRUBRICS: return "researchrubrics";
    default: return "unknown";
    }
}

const char *rg_role_name(rg_role role) {
    switch (role) {
    case RG_ROLE_SYSTEM: return "system";
    case RG_ROLE_USER: return "user";
    case RG_ROLE_ASSISTANT: return "assistant";
    }
    return "unknown";
}

int rg_criterion_is_desirable(const rg_criterion *c) { return c->polarity == RG_POLARITY_POSITIVE; }

double rg_criterion_grader_points(const rg_criterion *c) {
    double magnitude = c->weight < 0 ? -c->weight : c->weight;
    return rg_criterion_is_desirable(c) ? magnitude : -magnitude;
}

int rg_criterion_applies(const rg_criterion *c, int met) {
    /* A reward is earned by showing a desirable behaviour; a penalty is paid
     * for showing an undesirable one. When text and weight agree (positive
     * text, positive weight; negative text, negative weight) "showing it" is
     * "met"; when they disagree, it is "not met". */
    int weight_rewards = c->weight >= 0;
    int text_desirable = rg_criterion_is_desirable(c);
    int agree = weight_rewards == text_desirable;
    return agree ? (met != 0) : (met == 0);
}

static void free_strings(char **list, size_t n) {
    for (size_t i = 0; i < n; i++) free(list[i]);
    free(list);
}

void rg_example_free(rg_example *ex) {
    if (!ex) return;
    free(ex->id);
    for (size_t i = 0; i < ex->nmessages; i++) free(ex->messages[i].content);
    free(ex->messages);
    for (size_t i = 0; i < ex->ncriteria; i++) {
        free(ex->rubric[i].text);
        free_strings(ex->rubric[i].tags, ex->rubric[i].ntags);
        free_strings(ex->rubric[i].match, ex->rubric[i].nmatch);
    }
    free(ex->rubric);
    free_strings(ex->tags, ex->ntags);
    free(ex->reference);
    memset(ex, 0, sizeof *ex);
}

static cJSON *string_array(char **items, size_t n) {
    cJSON *array = cJSON_CreateArray();
    for (size_t i = 0; array && i < n; i++) {
        cJSON *s = cJSON_CreateString(items[i]);
        if (!s || !cJSON_AddItemToArray(array, s)) {
            cJSON_Delete(s);
            cJSON_Delete(array);
            return NULL;
        }
    }
    return array;
}

/* Builds the native object; any allocation failure leaves ok = 0. */
cJSON *rg_example_to_json(const rg_example *ex) {
    cJSON *root = cJSON_CreateObject();
    int ok = root != NULL;
    if (ok && ex->id && *ex->id) ok = cJSON_AddStringToObject(root, "id", ex->id) != NULL;
    cJSON *messages = ok ? cJSON_AddArrayToObject(root, "messages") : NULL;
    ok = ok && messages;
    for (size_t i = 0; ok && i < ex->nmessages; i++) {
        cJSON *m = cJSON_CreateObject();
        ok = m && cJSON_AddItemToArray(messages, m) && cJSON_AddStringToObject(m, "role", rg_role_name(ex->messages[i].role)) &&
             cJSON_AddStringToObject(m, "content", ex->messages[i].content);
    }
    cJSON *rubric = ok ? cJSON_AddArrayToObject(root, "rubric") : NULL;
    ok = ok && rubric;
    for (size_t i = 0; ok && i < ex->ncriteria; i++) {
        const rg_criterion *c = &ex->rubric[i];
        cJSON *item = cJSON_CreateObject();
        ok = item && cJSON_AddItemToArray(rubric, item) && cJSON_AddStringToObject(item, "text", c->text) &&
             cJSON_AddNumberToObject(item, "weight", c->weight);
        /* The polarity is written only where it differs from the sign's default. */
        int default_polarity = (c->weight < 0) ? RG_POLARITY_NEGATIVE : RG_POLARITY_POSITIVE;
        if (ok && (int)c->polarity != default_polarity)
            ok = cJSON_AddStringToObject(item, "polarity", c->polarity == RG_POLARITY_POSITIVE ? "positive" : "negative") != NULL;
        if (ok && c->ntags) {
            cJSON *tags = string_array(c->tags, c->ntags);
            ok = tags && cJSON_AddItemToObject(item, "tags", tags);
        }
        if (ok && c->nmatch) {
            cJSON *match = string_array(c->match, c->nmatch);
            ok = match && cJSON_AddItemToObject(item, "match", match);
        }
    }
    if (ok && ex->ntags) {
        cJSON *tags = string_array(ex->tags, ex->ntags);
        ok = tags && cJSON_AddItemToObject(root, "tags", tags);
    }
    if (ok && ex->reference) ok = cJSON_AddStringToObject(root, "reference", ex->reference) != NULL;
    if (!ok) {
        cJSON_Delete(root);
        rg_error("out of memory writing example %s as JSON", ex->id ? ex->id : "?");
        return NULL;
    }
    return root;
}

/* ---- streaming reader -------------------------------------------------- */

struct rg_rubric_reader {
    rg_records *in;
    rg_rubric_options options;
    size_t skipped;
    size_t code_checks_skipped; /* over the examples returned so far */
    char *first_skip_reason;
};

int rg_rubric_open(rg_rubric_reader **out, const char *path, const rg_rubric_options *options) {
    *out = NULL;
    rg_rubric_reader *r = rg_calloc(1, sizeof *r);
    if (!r) return RG_ERR;
    if (options) r->options = *options;
    if (rg_records_open(&r->in, path)) {
        free(r);
        return RG_ERR;
    }
    *out = r;
    return RG_OK;
}

/* With skip_bad, a bad line is counted, the first few are reported on
 * stderr, and reading goes on. */
static void note_skip(rg_rubric_reader *r) {
    r->skipped++;
    if (!r->first_skip_reason) r->first_skip_reason = rg_strdup(rg_errmsg());
    if (r->skipped <= 5)
        rg_warn("skipped: %s", rg_errmsg());
    else if (r->skipped == 6)
        rg_warn("%s: more bad lines skipped (counted, not shown)", rg_records_name(r->in));
    rg_error_clear();
}

int rg_rubric_next(rg_rubric_reader *r, rg_example *ex) {
    memset(ex, 0, sizeof *ex);
    for (;;) {
        cJSON *value = NULL;
        int got = rg_records_next(r->in, &value);
        if (got == 0) return 0;
        if (got < 0) {
            if (r->options.skip_bad && !rg_records_failed(r->in)) {
                note_skip(r);
                continue;
            }
            return RG_ERR;
        }
        long index = rg_records_layout_of(r->in) == RG_RECORDS_PARQUET ? RG_RECORD_ROW : rg_records_index(r->in);
        int rc = rg_example_from_record(value, rg_records_name(r->in), rg_records_line(r->in), index, &r->options, ex);
        cJSON_Delete(value);
        if (rc == RG_OK) {
            r->code_checks_skipped += ex->code_checks_skipped;
            return 1;
        }
        if (!r->options.skip_bad) return RG_ERR;
        note_skip(r);
    }
}

size_t rg_rubric_skipped(const rg_rubric_reader *r) { return r->skipped; }
size_t rg_rubric_code_checks_skipped(const rg_rubric_reader *r) { return r->code_checks_skipped; }

int rg_rubric_nothing_usable(const rg_rubric_reader *r) {
    const char *name = rg_records_name(r->in);
    if (r->skipped == 0) return rg_error("%s: no examples: the file holds no records", name);
    return rg_error("%s: no usable example: all %zu records were skipped (--skip-bad); the first: %s", name,
                    r->skipped, r->first_skip_reason ? r->first_skip_reason : "?");
}
const char *rg_rubric_first_skip_reason(const rg_rubric_reader *r) { return r->first_skip_reason; }

void rg_rubric_close(rg_rubric_reader *r) {
    if (!r) return;
    rg_records_close(r->in);
    free(r->first_skip_reason);
    free(r);
}

void rg_dataset_free(rg_dataset *ds) {
    if (!ds) return;
    for (size_t i = 0; i < ds->count; i++) rg_example_free(&ds->examples[i]);
    free(ds->examples);
    memset(ds, 0, sizeof *ds);
}

int rg_rubric_load_all(const char *path, const rg_rubric_options *options, rg_dataset *out) {
    memset(out, 0, sizeof *out);
    rg_rubric_reader *r;
    if (rg_rubric_open(&r, path, options)) return RG_ERR;
    rg_dataset ds = {0};
    size_t capacity = 0;
    int got;
    rg_example ex;
    while ((got = rg_rubric_next(r, &ex)) == 1) {
        if (ds.count == capacity) {
            size_t grown_capacity = capacity ? 2 * capacity : 64;
            rg_example *grown = rg_realloc(ds.examples, grown_capacity * sizeof *grown);
            if (!grown) {
                rg_example_free(&ex);
                got = RG_ERR;
                break;
            }
            ds.examples = grown;
            capacity = grown_capacity;
        }
        ds.examples[ds.count++] = ex;
    }
    ds.skipped = rg_rubric_skipped(r);
    ds.code_checks_skipped = r->code_checks_skipped;
    if (got >= 0 && ds.count == 0) got = rg_rubric_nothing_usable(r);
    /* Said once per file, so a user sees why criteria are missing from judging. */
    if (got >= 0 && ds.code_checks_skipped)
        rg_info("%s: %zu criteria for a code verifier left out of judging and teacher prompts "
                "(--verifier-criteria skip; keep or error to change)",
                rg_records_name(r->in), ds.code_checks_skipped);
    rg_rubric_close(r);
    if (got < 0) {
        rg_dataset_free(&ds);
        return RG_ERR;
    }
    *out = ds;
    return RG_OK;
}
