/* stats.h — statistics of rubric data, as `rgsd data check` prints them:
 * examples per format, messages and criteria per example, the weight
 * histogram, negative weights, tags, references. Feed examples one at a time
 * (streaming); merge per-file statistics into a total. */
#ifndef RG_STATS_H
#define RG_STATS_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "rubric/rubric.h"
#include "rubric/tag_table.h"

typedef struct {
    double weight;
    size_t count;
} rg_weight_count;

typedef struct {
    const char *tag; /* points into the stats' map */
    size_t count;
} rg_tag_count;

typedef struct {
    size_t examples;
    size_t skipped;                      /* bad lines skipped (--skip-bad) */
    size_t per_format[RG_FORMAT_COUNT];
    size_t messages_min, messages_max, messages_sum;
    size_t criteria_min, criteria_max, criteria_sum;
    size_t negative_weights;             /* criteria with weight < 0 */
    size_t zero_weights;
    size_t inverted;                     /* criteria whose text's polarity disagrees with the weight sign */
    size_t with_match;                   /* criteria with rule-judge patterns */
    size_t no_positive_weight;           /* examples whose HealthBench score is undefined */
    size_t with_reference;
    rg_weight_count *weights;            /* sorted by weight */
    size_t nweights;
    rg_tag_table criterion_tags, example_tags;
    size_t *criterion_tag_counts, *example_tag_counts;
    size_t code_checks;                  /* criteria for a code verifier kept (--verifier-criteria keep) */
    size_t code_checks_skipped;          /* ... and left out (skip, the default) */
    rg_tag_table ids;                    /* every example id seen */
    size_t duplicate_ids;                /* examples whose id was seen before */
    char *first_duplicate_id;            /* the first such id, or NULL */
} rg_data_stats;

void rg_data_stats_init(rg_data_stats *s);
int rg_data_stats_add(rg_data_stats *s, const rg_example *ex);
int rg_data_stats_merge(rg_data_stats *into, const rg_data_stats *from);
/* The `top` most frequent tags (ties by name), criterion- or example-level.
 * *out is malloc'd; *n ≤ top. */
int rg_data_stats_top_tags(const rg_data_stats *s, int example_level, size_t top, rg_tag_count **out, size_t *n);
/* The statistics as a JSON object (top tags only). */
cJSON *rg_data_stats_to_json(const rg_data_stats *s, size_t top);
void rg_data_stats_free(rg_data_stats *s);

#endif
