/* pow3r.h — POW3R's policy-aware rubric reward (arXiv 2605.20164) for
 * `rgsd grpo --reward pow3r`: a category-normalised balanced reward with a
 * factor alpha_j per criterion, updated once per epoch from how much the
 * criterion's verdicts varied across the G rollouts of its prompt.
 *
 * The paper's exact formulas are not public; this is rgsd's reading of its
 * description (docs/grpo.md states it as such). For a prompt whose criteria j
 * have weights w_j, credit e_j in {0,1} (w > 0 and met, or w < 0 and not met)
 * and category c(j) (the criterion's first "category:" tag, else its first
 * "axis:" tag, else one shared category):
 *   reward = sum_c pi_c sum_{j in c} |w_j| alpha_j e_j / sum_{j in c} |w_j| alpha_j
 *   pi_c   = sum_{j in c} |w_j| / sum_j |w_j|         (the human weights' category balance)
 * With every alpha_j = 1 this is the balanced reward. At the end of an
 * epoch, for every prompt seen in it (k_j of its G rollouts met j):
 *   p_j = (k_j + 1) / (G + 2)                       add-one smoothing: saturated criteria keep some weight
 *   v_j = p_j (1 - p_j)                             the verdicts' (smoothed) Bernoulli variance
 *   u_j = v_j / (sum_{i in c(j)} |w_i| v_i / sum_{i in c(j)} |w_i|)   over the prompt's category
 *   b_j = clip((1 - lambda) + lambda u_j, lo, hi)
 *   alpha_j <- (1 - eta) alpha_j + eta b_j          alpha_j = 1 at the start
 * The effective weight is w_j alpha_j. */
#ifndef RG_POW3R_H
#define RG_POW3R_H

#include <stddef.h>
#include <stdint.h>

#include "rubric/rubric.h"

typedef struct {
    double lambda;         /* blend toward 1 (0: alpha stays 1) */
    double clip_lo, clip_hi; /* the target's range */
    double ema;            /* eta: the EMA rate of alpha (1: alpha = the target) */
} rg_pow3r_config;

#define RG_POW3R_DEFAULTS ((rg_pow3r_config){.lambda = 0.5, .clip_lo = 0.5, .clip_hi = 2.0, .ema = 0.5})

typedef struct {
    rg_pow3r_config cfg;
    const rg_example *examples; /* not owned */
    size_t n_examples, n_criteria;
    size_t *offset;  /* [n_examples + 1]: example e's criteria are [offset[e], offset[e + 1]) */
    int *category;   /* [n_criteria]: the category's index within its example */
    /* the resumable state, one vector so the train state saves it whole: [n_criteria] alpha,
     * [n_criteria] the current epoch's v_j (NaN: its prompt not seen yet), [1] that epoch */
    double *state;
    size_t state_n;
    double *alpha, *pending;
} rg_pow3r;

/* RG_ERR on a config out of range (lambda in [0,1], 0 < lo <= hi, eta in (0,1]) or no memory. */
int rg_pow3r_init(rg_pow3r *p, const rg_example *examples, size_t n_examples, const rg_pow3r_config *cfg);
void rg_pow3r_free(rg_pow3r *p);
/* The category name of a criterion ("" when it has none). */
const char *rg_pow3r_category(const rg_criterion *c);
/* The reward of one response of example e from its verdicts met[ncriteria], with the current alpha. */
double rg_pow3r_reward(const rg_pow3r *p, size_t e, const rg_example *ex, const unsigned char *met);
/* Before rewarding a prompt of `epoch`: when it is past the epoch the pending verdicts belong to, alpha
 * takes them (the update above) and a new epoch begins. Returns 1 when alpha was updated, 0 otherwise. */
int rg_pow3r_begin_epoch(rg_pow3r *p, int64_t epoch);
/* Records example e's verdicts over its G rollouts: met[g * ncriteria + j]. */
void rg_pow3r_observe(rg_pow3r *p, size_t e, const rg_example *ex, const unsigned char *met, int G);

#endif
