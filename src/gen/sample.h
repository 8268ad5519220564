/* sample.h — pick the next token from a logits vector.
 *
 * The order is Hugging Face transformers' logits warpers: temperature, then
 * top-k, then top-p (nucleus), then a draw from what is left.
 *   temperature <= 0   greedy: argmax, lowest index on ties
 *   top_k > 0          keep the tokens whose logit is >= the k-th largest
 *                      (ties at the k-th value are all kept, as HF does)
 *   top_p < 1          keep the smallest most-probable prefix whose mass is
 *                      >= top_p (at least one token), over what top-k kept;
 *                      of tied tokens the higher id ranks first (HF's stable
 *                      ascending sort). Rarely a few tokens short: see
 *                      "Known and kept" in docs/models.md
 * -inf logits are impossible tokens; NaN or +inf logits are an error, as is
 * a row with no finite logit.
 *
 * For trainers, each draw also reports log p(token) under the untruncated
 * temperature-1 softmax (the model's own log-prob) and under the
 * distribution it was actually drawn from.
 *
 *   rg_sampler sampler;
 *   rg_sampler_init(&sampler, vocab_size);
 *   rg_sample_params params = {.temperature = 0.7f, .top_k = 50, .top_p = 0.9f};
 *   rg_sample_result r;
 *   if (rg_sample(&sampler, logits, &params, &rng, &r) != RG_OK) ...;
 *   rg_sampler_free(&sampler);
 */
#ifndef RG_SAMPLE_H
#define RG_SAMPLE_H

#include "base/rng.h"

typedef struct {
    float temperature; /* <= 0: greedy */
    int top_k;         /* 0: off */
    float top_p;       /* 1: off; must be in (0, 1] */
} rg_sample_params;

/* Scratch for one vocabulary size, allocated once; reuse it across steps
 * (not thread-safe: one sampler per thread). After a call, probs[] holds
 * the sampling distribution and order[0..n_kept) the tokens it allows: most
 * probable first when top_p < 1 (the nucleus is found that way), in
 * token-id order otherwise (no sort is needed, so none is paid for). */
typedef struct {
    int vocab_size;
    float *probs; /* [vocab_size] */
    int *order;   /* [vocab_size] */
    int n_kept;
    /* internal: the last distribution, for the draw */
    double log_norm;    /* log-normaliser of the kept set */
    double max_scaled;  /* largest logit / temperature */
    double inv_temperature;
    float threshold;    /* top-k's cut on the logit (-inf: none) */
    int nucleus;        /* kept set is nucleus_keys (top_p < 1) */
    int best;           /* first index of the largest logit */
    int last_kept;      /* highest kept token id */
    double log_sum1;    /* log sum exp(logit - max logit): the temperature-1 normaliser */
    double *block_mass; /* running kept mass at the end of each block of tokens */
    uint64_t *sort_keys; /* [2 * vocab_size]: top-p candidates as keys, and the sort's scratch */
    const uint64_t *nucleus_keys; /* the nucleus, sorted, inside sort_keys */
} rg_sampler;

typedef struct {
    int token;
    float logprob;        /* log softmax(logits)[token], temperature 1, untruncated */
    float sample_logprob; /* log of the probability the token was drawn with (0 when greedy) */
} rg_sample_result;

int rg_sampler_init(rg_sampler *s, int vocab_size);
void rg_sampler_free(rg_sampler *s);

/* Computes the sampling distribution into s->probs (and s->order/n_kept). */
int rg_sample_distribution(rg_sampler *s, const float *logits, const rg_sample_params *params);
/* Distribution, then one draw from rng. */
int rg_sample(rg_sampler *s, const float *logits, const rg_sample_params *params, rg_rng *rng,
              rg_sample_result *out);

/* Index of the largest logit, lowest index on ties (-1 if n <= 0). NaN
 * logits are skipped. */
int rg_argmax(const float *logits, int n);
/* log softmax(logits)[token] at temperature 1; finite logits required
 * (-inf allowed: gives -inf for that token). */
float rg_token_logprob(const float *logits, int n, int token);

#endif
