/* pow3r.c — POW3R's reward and alpha_j updates (the formulas are in pow3r.h). */
#include "grpo/pow3r.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "rubric/score.h"

const char *rg_pow3r_category(const rg_criterion *c) {
    static const char *const prefixes[] = {"category:", "axis:"};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < c->ntags; i++)
            if (strncmp(c->tags[i], prefixes[k], strlen(prefixes[k])) == 0) return c->tags[i] + strlen(prefixes[k]);
    return "";
}

/* Category indices within one example: criteria with the same name share one. */
static void categories_of(const rg_example *ex, int *category) {
    for (size_t j = 0; j < ex->ncriteria; j++) {
        category[j] = (int)j;
        for (size_t i = 0; i < j; i++)
            if (strcmp(rg_pow3r_category(&ex->rubric[i]), rg_pow3r_category(&ex->rubric[j])) == 0) {
                category[j] = category[i];
                break;
            }
    }
}

int rg_pow3r_init(rg_pow3r *p, const rg_example *examples, size_t n_examples, const rg_pow3r_config *cfg) {
    memset(p, 0, sizeof *p);
    if (!(cfg->lambda >= 0 && cfg->lambda <= 1) || !(cfg->clip_lo > 0 && cfg->clip_lo <= cfg->clip_hi) ||
        !isfinite(cfg->clip_hi) || !(cfg->ema > 0 && cfg->ema <= 1))
        return rg_error("pow3r: lambda must be in [0, 1], the clip range 0 < lo <= hi, the EMA rate in (0, 1]");
    p->cfg = *cfg;
    p->examples = examples;
    p->n_examples = n_examples;
    if (!(p->offset = rg_malloc(sizeof(size_t) * (n_examples + 1)))) return RG_ERR;
    p->offset[0] = 0;
    for (size_t e = 0; e < n_examples; e++) p->offset[e + 1] = p->offset[e] + examples[e].ncriteria;
    p->n_criteria = p->offset[n_examples];
    p->state_n = 2 * p->n_criteria + 1;
    p->category = rg_malloc(sizeof(int) * (p->n_criteria + 1));
    p->state = rg_malloc(sizeof(double) * p->state_n);
    if (!p->category || !p->state) {
        rg_pow3r_free(p);
        return RG_ERR;
    }
    p->alpha = p->state;
    p->pending = p->state + p->n_criteria;
    for (size_t j = 0; j < p->n_criteria; j++) p->alpha[j] = 1.0, p->pending[j] = NAN;
    p->state[p->state_n - 1] = 0.0; /* the epoch the pending verdicts belong to */
    for (size_t e = 0; e < n_examples; e++) categories_of(&examples[e], p->category + p->offset[e]);
    return RG_OK;
}

void rg_pow3r_free(rg_pow3r *p) {
    free(p->offset);
    free(p->category);
    free(p->state);
    memset(p, 0, sizeof *p);
}

/* 1 when criterion j (weight w, verdict met) earns its |w|: a behaviour met, or a penalty avoided. */
static int credited(const rg_criterion *c, unsigned char met) {
    int applies = rg_criterion_applies(c, met);
    return c->weight > 0 ? applies : !applies;
}

double rg_pow3r_reward(const rg_pow3r *p, size_t e, const rg_example *ex, const unsigned char *met) {
    const double *alpha = p->alpha + p->offset[e];
    const int *cat = p->category + p->offset[e];
    double total = 0, reward = 0;
    for (size_t j = 0; j < ex->ncriteria; j++) total += fabs(ex->rubric[j].weight);
    if (!(total > 0)) return NAN;
    for (size_t c = 0; c < ex->ncriteria; c++) {
        if (cat[c] != (int)c) continue; /* each category once, at its first criterion */
        double human = 0, earned = 0, effective = 0;
        for (size_t j = c; j < ex->ncriteria; j++) {
            if (cat[j] != (int)c) continue;
            double w = fabs(ex->rubric[j].weight);
            human += w;
            effective += w * alpha[j];
            if (credited(&ex->rubric[j], met[j])) earned += w * alpha[j];
        }
        if (effective > 0) reward += human / total * (earned / effective);
    }
    return reward;
}

void rg_pow3r_observe(rg_pow3r *p, size_t e, const rg_example *ex, const unsigned char *met, int G) {
    const size_t nc = ex->ncriteria;
    for (size_t j = 0; j < nc; j++) {
        int k = 0;
        for (int g = 0; g < G; g++) k += met[(size_t)g * nc + j] != 0;
        double ph = (k + 1.0) / (G + 2.0);
        p->pending[p->offset[e] + j] = ph * (1.0 - ph);
    }
}

/* alpha of one example's criteria from their pending v (all set: a prompt's criteria are observed together). */
static void update_example(rg_pow3r *p, size_t e, const rg_criterion *rubric) {
    const size_t o = p->offset[e], nc = p->offset[e + 1] - o;
    const int *cat = p->category + o;
    const double *v = p->pending + o;
    for (size_t j = 0; j < nc; j++) {
        double wsum = 0, wv = 0;
        for (size_t i = 0; i < nc; i++)
            if (cat[i] == cat[j]) wsum += fabs(rubric[i].weight), wv += fabs(rubric[i].weight) * v[i];
        double u = wsum > 0 && wv > 0 ? v[j] / (wv / wsum) : 1.0; /* a weightless category: no contrast to use */
        double b = fmin(fmax((1.0 - p->cfg.lambda) + p->cfg.lambda * u, p->cfg.clip_lo), p->cfg.clip_hi);
        p->alpha[o + j] = (1.0 - p->cfg.ema) * p->alpha[o + j] + p->cfg.ema * b;
    }
}

int rg_pow3r_begin_epoch(rg_pow3r *p, int64_t epoch) {
    double *current = &p->state[p->state_n - 1];
    if ((double)epoch <= *current) return 0;
    for (size_t e = 0; e < p->n_examples; e++)
        if (p->offset[e + 1] > p->offset[e] && !isnan(p->pending[p->offset[e]])) /* seen in that epoch */
            update_example(p, e, p->examples[e].rubric);
    for (size_t j = 0; j < p->n_criteria; j++) p->pending[j] = NAN;
    *current = (double)epoch;
    return 1;
}
