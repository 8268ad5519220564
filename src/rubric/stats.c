/* stats.c — rubric data statistics (see stats.h). */
#include "rubric/stats.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"

void rg_data_stats_init(rg_data_stats *s) { memset(s, 0, sizeof *s); }

static int count_weight(rg_data_stats *s, double weight, size_t count) {
    size_t lo = 0, hi = s->nweights;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->weights[mid].weight < weight) lo = mid + 1;
        else hi = mid;
    }
    if (lo < s->nweights && s->weights[lo].weight == weight) {
        s->weights[lo].count += count;
        return RG_OK;
    }
    rg_weight_count *grown = rg_realloc(s->weights, (s->nweights + 1) * sizeof *grown);
    if (!grown) return RG_ERR;
    s->weights = grown;
    memmove(&s->weights[lo + 1], &s->weights[lo], (s->nweights - lo) * sizeof *grown);
    s->weights[lo] = (rg_weight_count){weight, count};
    s->nweights++;
    return RG_OK;
}

static int count_tag(rg_tag_table *map, size_t **counts, const char *tag, size_t count) {
    int added = 0;
    long k = rg_tag_table_intern(map, tag, &added);
    if (k < 0) return RG_ERR;
    if (added) {
        size_t *grown = rg_realloc(*counts, map->count * sizeof *grown);
        if (!grown) return RG_ERR;
        *counts = grown;
        grown[k] = 0;
    }
    (*counts)[k] += count;
    return RG_OK;
}

static void add_range(size_t value, size_t *min, size_t *max, size_t *sum, int first) {
    if (first || value < *min) *min = value;
    if (first || value > *max) *max = value;
    *sum += value;
}

/* Counts an id seen before as a duplicate: two examples with one id make
 * responses matched by id ambiguous and per-example outputs collide. */
static int note_id(rg_data_stats *s, const char *id) {
    int added = 0;
    if (rg_tag_table_intern(&s->ids, id, &added) < 0) return rg_error("out of memory counting ids");
    if (added) return RG_OK;
    s->duplicate_ids++;
    if (!s->first_duplicate_id && !(s->first_duplicate_id = rg_strdup(id))) return RG_ERR;
    return RG_OK;
}

int rg_data_stats_add(rg_data_stats *s, const rg_example *ex) {
    int first = s->examples == 0;
    s->examples++;
    s->per_format[ex->format]++;
    add_range(ex->nmessages, &s->messages_min, &s->messages_max, &s->messages_sum, first);
    add_range(ex->ncriteria, &s->criteria_min, &s->criteria_max, &s->criteria_sum, first);
    int any_positive = 0;
    for (size_t i = 0; i < ex->ncriteria; i++) {
        const rg_criterion *c = &ex->rubric[i];
        if (c->weight > 0) any_positive = 1;
        if (c->weight < 0) s->negative_weights++;
        if (c->weight == 0) s->zero_weights++;
        if (c->weight != 0 && rg_criterion_is_desirable(c) != (c->weight > 0)) s->inverted++;
        if (c->nmatch) s->with_match++;
        if (c->code_check) s->code_checks++;
        if (count_weight(s, c->weight, 1)) return RG_ERR;
        for (size_t t = 0; t < c->ntags; t++)
            if (count_tag(&s->criterion_tags, &s->criterion_tag_counts, c->tags[t], 1)) return RG_ERR;
    }
    s->code_checks_skipped += ex->code_checks_skipped;
    if (ex->id && note_id(s, ex->id)) return RG_ERR;
    if (!any_positive) s->no_positive_weight++;
    if (ex->reference) s->with_reference++;
    for (size_t t = 0; t < ex->ntags; t++)
        if (count_tag(&s->example_tags, &s->example_tag_counts, ex->tags[t], 1)) return RG_ERR;
    return RG_OK;
}

static void merge_range(size_t from_min, size_t from_max, size_t from_sum, size_t *min, size_t *max, size_t *sum,
                        int first) {
    if (first || from_min < *min) *min = from_min;
    if (first || from_max > *max) *max = from_max;
    *sum += from_sum;
}

int rg_data_stats_merge(rg_data_stats *into, const rg_data_stats *from) {
    into->skipped += from->skipped;
    into->code_checks += from->code_checks;
    into->code_checks_skipped += from->code_checks_skipped;
    /* Duplicates within each file, then ids shared between files. */
    into->duplicate_ids += from->duplicate_ids;
    if (!into->first_duplicate_id && from->first_duplicate_id &&
        !(into->first_duplicate_id = rg_strdup(from->first_duplicate_id)))
        return RG_ERR;
    for (size_t k = 0; k < from->ids.count; k++)
        if (note_id(into, from->ids.keys[k])) return RG_ERR;
    if (from->examples == 0) return RG_OK;
    int first = into->examples == 0;
    into->examples += from->examples;
    for (int f = 0; f < RG_FORMAT_COUNT; f++) into->per_format[f] += from->per_format[f];
    merge_range(from->messages_min, from->messages_max, from->messages_sum, &into->messages_min, &into->messages_max,
                &into->messages_sum, first);
    merge_range(from->criteria_min, from->criteria_max, from->criteria_sum, &into->criteria_min, &into->criteria_max,
                &into->criteria_sum, first);
    into->negative_weights += from->negative_weights;
    into->zero_weights += from->zero_weights;
    into->inverted += from->inverted;
    into->with_match += from->with_match;
    into->no_positive_weight += from->no_positive_weight;
    into->with_reference += from->with_reference;
    for (size_t i = 0; i < from->nweights; i++)
        if (count_weight(into, from->weights[i].weight, from->weights[i].count)) return RG_ERR;
    for (size_t k = 0; k < from->criterion_tags.count; k++)
        if (count_tag(&into->criterion_tags, &into->criterion_tag_counts, from->criterion_tags.keys[k],
                      from->criterion_tag_counts[k]))
            return RG_ERR;
    for (size_t k = 0; k < from->example_tags.count; k++)
        if (count_tag(&into->example_tags, &into->example_tag_counts, from->example_tags.keys[k],
                      from->example_tag_counts[k]))
            return RG_ERR;
    return RG_OK;
}

static int by_count_then_name(const void *a, const void *b) {
    const rg_tag_count *x = a, *y = b;
    if (x->count != y->count) return x->count < y->count ? 1 : -1;
    return strcmp(x->tag, y->tag);
}

int rg_data_stats_top_tags(const rg_data_stats *s, int example_level, size_t top, rg_tag_count **out, size_t *n) {
    const rg_tag_table *map = example_level ? &s->example_tags : &s->criterion_tags;
    const size_t *counts = example_level ? s->example_tag_counts : s->criterion_tag_counts;
    *out = rg_malloc((map->count ? map->count : 1) * sizeof **out);
    if (!*out) return RG_ERR;
    for (size_t k = 0; k < map->count; k++) (*out)[k] = (rg_tag_count){map->keys[k], counts[k]};
    qsort(*out, map->count, sizeof **out, by_count_then_name);
    *n = map->count < top ? map->count : top;
    return RG_OK;
}

static cJSON *range_json(size_t min, size_t max, size_t sum, size_t n) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddNumberToObject(o, "min", (double)min);
    cJSON_AddNumberToObject(o, "mean", n ? (double)sum / (double)n : 0);
    cJSON_AddNumberToObject(o, "max", (double)max);
    return o;
}

static cJSON *tags_json(const rg_data_stats *s, int example_level, size_t top) {
    rg_tag_count *list;
    size_t n;
    if (rg_data_stats_top_tags(s, example_level, top, &list, &n)) return NULL;
    cJSON *array = cJSON_CreateArray();
    for (size_t i = 0; array && i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToArray(array, o);
        cJSON_AddStringToObject(o, "tag", list[i].tag);
        cJSON_AddNumberToObject(o, "count", (double)list[i].count);
    }
    free(list);
    return array;
}

cJSON *rg_data_stats_to_json(const rg_data_stats *s, size_t top) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    size_t criteria = s->criteria_sum;
    cJSON_AddNumberToObject(o, "examples", (double)s->examples);
    cJSON_AddNumberToObject(o, "skipped", (double)s->skipped);
    cJSON *formats = cJSON_AddObjectToObject(o, "formats");
    for (int f = 0; f < RG_FORMAT_COUNT; f++)
        if (s->per_format[f]) cJSON_AddNumberToObject(formats, rg_format_name((rg_format)f), (double)s->per_format[f]);
    cJSON_AddItemToObject(o, "messages_per_example",
                          range_json(s->messages_min, s->messages_max, s->messages_sum, s->examples));
    cJSON_AddItemToObject(o, "criteria_per_example",
                          range_json(s->criteria_min, s->criteria_max, s->criteria_sum, s->examples));
    cJSON_AddNumberToObject(o, "criteria", (double)criteria);
    cJSON_AddNumberToObject(o, "negative_weights", (double)s->negative_weights);
    cJSON_AddNumberToObject(o, "negative_share", criteria ? (double)s->negative_weights / (double)criteria : 0);
    cJSON_AddNumberToObject(o, "zero_weights", (double)s->zero_weights);
    cJSON_AddNumberToObject(o, "inverted_polarity", (double)s->inverted);
    cJSON_AddNumberToObject(o, "with_match_patterns", (double)s->with_match);
    cJSON_AddNumberToObject(o, "code_verifier_criteria", (double)s->code_checks);
    cJSON_AddNumberToObject(o, "code_verifier_criteria_skipped", (double)s->code_checks_skipped);
    cJSON_AddNumberToObject(o, "duplicate_ids", (double)s->duplicate_ids);
    if (s->first_duplicate_id) cJSON_AddStringToObject(o, "first_duplicate_id", s->first_duplicate_id);
    cJSON_AddNumberToObject(o, "examples_without_positive_weight", (double)s->no_positive_weight);
    cJSON_AddNumberToObject(o, "examples_with_reference", (double)s->with_reference);
    cJSON *weights = cJSON_AddArrayToObject(o, "weights");
    for (size_t i = 0; weights && i < s->nweights; i++) {
        cJSON *w = cJSON_CreateObject();
        cJSON_AddItemToArray(weights, w);
        cJSON_AddNumberToObject(w, "weight", s->weights[i].weight);
        cJSON_AddNumberToObject(w, "count", (double)s->weights[i].count);
    }
    cJSON_AddItemToObject(o, "criterion_tags", tags_json(s, 0, top));
    cJSON_AddItemToObject(o, "example_tags", tags_json(s, 1, top));
    /* Any failed allocation above leaves a NULL somewhere: check once. */
    if (!formats || !weights || !cJSON_GetObjectItem(o, "criterion_tags") || !cJSON_GetObjectItem(o, "example_tags") ||
        !cJSON_GetObjectItem(o, "examples_with_reference")) {
        cJSON_Delete(o);
        rg_error("out of memory writing statistics");
        return NULL;
    }
    return o;
}

void rg_data_stats_free(rg_data_stats *s) {
    free(s->weights);
    rg_tag_table_free(&s->criterion_tags);
    rg_tag_table_free(&s->example_tags);
    free(s->criterion_tag_counts);
    free(s->example_tag_counts);
    rg_tag_table_free(&s->ids);
    free(s->first_duplicate_id);
    memset(s, 0, sizeof *s);
}
