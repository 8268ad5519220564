/* nucleus.h — top-p's cut: the smallest most-probable prefix of a candidate
 * list holding >= top_p of the mass (internal to src/gen). */
#ifndef RG_NUCLEUS_H
#define RG_NUCLEUS_H

#include <stdint.h>
#include <string.h>

/* A candidate token as one word: its weight's float bits above its id.
 * Weights (exp(scaled logit - max)) are positive floats, so keys order
 * like (weight, token). */
static inline uint64_t rg_nucleus_key(float weight, int token) {
    uint32_t bits;
    memcpy(&bits, &weight, sizeof bits);
    return (uint64_t)bits << 32 | (uint32_t)token;
}

static inline float rg_key_weight(uint64_t key) {
    uint32_t bits = (uint32_t)(key >> 32);
    float w;
    memcpy(&w, &bits, sizeof w);
    return w;
}

static inline int rg_key_token(uint64_t key) { return (int)(uint32_t)key; }

/* A token whose weight is at or below this can never be in the nucleus of
 * n candidates with mass total: the tokens at or below it hold at most
 * n * floor = (1 - top_p) / 2 of the mass, so the most-probable walk reaches
 * top_p before them. Halved for safety against rounding. Only candidates
 * with weight > floor (or weight 1, the maximum) go to rg_nucleus. */
double rg_nucleus_floor(double total, int n, double top_p);

/* The nucleus of keys[0..m) (the candidates above the floor, in token
 * order): sorted most probable first, higher token first on equal weight,
 * at *nucleus (inside keys[] or scratch[], which the call reorders);
 * returns its size. target = top_p * total over all candidates,
 * floor-dropped ones included. scratch: m words. If sorted is not NULL it
 * receives how many candidates were sorted (for tests: the partitions' end
 * point, which depends on their arrangement). */
int rg_nucleus(uint64_t *keys, int m, double total, double top_p, uint64_t *scratch, const uint64_t **nucleus,
               int *sorted);

#endif
