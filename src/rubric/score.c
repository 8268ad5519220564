/* score.c — HealthBench and balanced scores, clipped means with bootstrap
 * standard errors, per-tag breakdown (see score.h for the formulas). */
#include "rubric/score.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/rng.h"
#include "rubric/tag_table.h"

double rg_score_healthbench(const rg_criterion *rubric, size_t ncriteria, const unsigned char *met) {
    double achieved = 0, possible = 0;
    for (size_t i = 0; i < ncriteria; i++) {
        if (rubric[i].weight > 0) possible += rubric[i].weight;
        if (rg_criterion_applies(&rubric[i], met[i])) achieved += rubric[i].weight;
    }
    return possible > 0 ? achieved / possible : NAN;
}

double rg_score_balanced(const rg_criterion *rubric, size_t ncriteria, const unsigned char *met) {
    double earned = 0, total = 0;
    for (size_t i = 0; i < ncriteria; i++) {
        double w = rubric[i].weight;
        int applies = rg_criterion_applies(&rubric[i], met[i]);
        total += fabs(w);
        if (w > 0 && applies) earned += w;
        if (w < 0 && !applies) earned += -w; /* a penalty avoided */
    }
    return total > 0 ? earned / total : NAN;
}

static double clip01(double x) { return x < 0 ? 0 : (x > 1 ? 1 : x); }

int rg_score_summarize(const double *values, size_t n, int resamples, uint64_t seed, rg_score_stats *out) {
    memset(out, 0, sizeof *out);
    /* Without a defined value there is no mean, and so no error of it. */
    out->mean = NAN;
    out->std_error = NAN;
    double *defined = rg_malloc((n ? n : 1) * sizeof *defined);
    if (!defined) return RG_ERR;
    size_t m = 0;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(values[i])) {
            out->n_undefined++;
            continue;
        }
        defined[m++] = values[i];
        sum += values[i];
    }
    out->n = m;
    if (m > 0) {
        out->mean = clip01(sum / (double)m);
        out->std_error = 0;
    }
    if (m >= 2 && resamples > 0) {
        /* Welford's running mean and variance of the resampled clipped means. */
        rg_rng rng;
        rg_rng_seed(&rng, seed);
        double mean_of_means = 0, m2 = 0;
        for (int b = 0; b < resamples; b++) {
            double s = 0;
            for (size_t k = 0; k < m; k++) s += defined[rg_rng_below(&rng, m)];
            double x = clip01(s / (double)m);
            double delta = x - mean_of_means;
            mean_of_means += delta / (b + 1);
            m2 += delta * (x - mean_of_means);
        }
        out->std_error = sqrt(m2 / resamples); /* population std, like np.std */
    }
    free(defined);
    return RG_OK;
}

/* Values gathered per tag: one per example that has the tag. */
typedef struct {
    double *values;
    size_t count, capacity;
    size_t last_example; /* example index + 1 of the last value, to overwrite rather than repeat */
    double achieved, possible; /* criterion-level sums within the current example */
} tag_values;

static int tag_put(tag_values *t, size_t example, double value) {
    if (t->last_example == example + 1) {
        t->values[t->count - 1] = value; /* criterion-level tag overrides an example-level one */
        return RG_OK;
    }
    if (t->count == t->capacity) {
        size_t capacity = t->capacity ? 2 * t->capacity : 16;
        double *grown = rg_realloc(t->values, capacity * sizeof *grown);
        if (!grown) return RG_ERR;
        t->values = grown;
        t->capacity = capacity;
    }
    t->values[t->count++] = value;
    t->last_example = example + 1;
    return RG_OK;
}

static int tag_slot(rg_tag_table *map, tag_values **tags, size_t *capacity, const char *tag, long *index) {
    *index = rg_tag_table_intern(map, tag, NULL);
    if (*index < 0) return RG_ERR;
    if ((size_t)*index >= *capacity) {
        size_t grown_capacity = *capacity ? 2 * *capacity : 32;
        tag_values *grown = rg_realloc(*tags, grown_capacity * sizeof *grown);
        if (!grown) return RG_ERR;
        memset(grown + *capacity, 0, (grown_capacity - *capacity) * sizeof *grown);
        *tags = grown;
        *capacity = grown_capacity;
    }
    return RG_OK;
}

static int compare_tag_scores(const void *a, const void *b) {
    return strcmp(((const rg_tag_score *)a)->tag, ((const rg_tag_score *)b)->tag);
}

int rg_score_dataset(const rg_example *examples, size_t nexamples, const unsigned char *const *verdicts,
                     int resamples, uint64_t seed, rg_dataset_score *out) {
    memset(out, 0, sizeof *out);
    double *overall = rg_malloc((nexamples ? nexamples : 1) * sizeof *overall);
    rg_tag_table map = {0};
    tag_values *tags = NULL;
    size_t capacity = 0;
    long *touched = NULL;
    int rc = RG_ERR;
    if (!overall) goto done;
    for (size_t e = 0; e < nexamples; e++) {
        const rg_example *ex = &examples[e];
        double score = rg_score_healthbench(ex->rubric, ex->ncriteria, verdicts[e]);
        overall[e] = score;
        if (!isnan(score))
            for (size_t t = 0; t < ex->ntags; t++) {
                long k;
                if (tag_slot(&map, &tags, &capacity, ex->tags[t], &k) || tag_put(&tags[k], e, score)) goto done;
            }
        /* Criterion-level tags: sums over the criteria carrying each tag. */
        size_t ntouched = 0, max_touched = 0;
        for (size_t i = 0; i < ex->ncriteria; i++) max_touched += ex->rubric[i].ntags;
        free(touched);
        touched = rg_malloc((max_touched ? max_touched : 1) * sizeof *touched);
        if (!touched) goto done;
        for (size_t i = 0; i < ex->ncriteria; i++) {
            const rg_criterion *c = &ex->rubric[i];
            for (size_t t = 0; t < c->ntags; t++) {
                long k;
                if (tag_slot(&map, &tags, &capacity, c->tags[t], &k)) goto done;
                size_t seen = 0;
                while (seen < ntouched && touched[seen] != k) seen++;
                if (seen == ntouched) {
                    touched[ntouched++] = k;
                    tags[k].achieved = tags[k].possible = 0;
                }
                if (c->weight > 0) tags[k].possible += c->weight;
                if (rg_criterion_applies(c, verdicts[e][i])) tags[k].achieved += c->weight;
            }
        }
        for (size_t s = 0; s < ntouched; s++) {
            tag_values *t = &tags[touched[s]];
            if (t->possible > 0 && tag_put(t, e, t->achieved / t->possible)) goto done;
        }
    }
    if (rg_score_summarize(overall, nexamples, resamples, seed, &out->overall)) goto done;
    out->tags = rg_calloc(map.count ? map.count : 1, sizeof *out->tags);
    if (!out->tags) goto done;
    for (size_t k = 0; k < map.count; k++) {
        if (tags[k].count == 0) continue; /* a tag only on criteria without positive weight */
        rg_tag_score *ts = &out->tags[out->ntags];
        ts->tag = rg_strdup(map.keys[k]);
        if (!ts->tag) goto done;
        out->ntags++;
        if (rg_score_summarize(tags[k].values, tags[k].count, resamples, seed, &ts->stats)) goto done;
    }
    qsort(out->tags, out->ntags, sizeof *out->tags, compare_tag_scores);
    rc = RG_OK;
done:
    if (rc) rg_dataset_score_free(out);
    for (size_t k = 0; k < map.count; k++) free(tags[k].values);
    free(tags);
    free(touched);
    free(overall);
    rg_tag_table_free(&map);
    return rc;
}

void rg_dataset_score_free(rg_dataset_score *score) {
    if (!score) return;
    for (size_t i = 0; i < score->ntags; i++) free(score->tags[i].tag);
    free(score->tags);
    memset(score, 0, sizeof *score);
}
