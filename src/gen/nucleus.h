/* nucleus.h — top-p's cut: the smallest most-probable prefix of a candidate
 * list holding >= top_p of the mass (internal to src/gen). */
#ifndef RG_NUCLEUS_H
#define RG_NUCLEUS_H

typedef struct {
    double weight; /* exp(scaled logit - max), a float widened */
    int token;
} rg_candidate;

/* A token whose weight is at or below this can never be in the nucleus of
 * n candidates with mass total: the tokens at or below it hold at most
 * n * floor = (1 - top_p) / 2 of the mass, so the most-probable walk reaches
 * top_p before them. Halved for safety against rounding. Only candidates
 * with weight > floor (or weight 1, the maximum) go to rg_nucleus. */
double rg_nucleus_floor(double total, int n, double top_p);

/* Moves the nucleus of c[0..m) (the candidates above the floor, in token
 * order) to the front, sorted most probable first, higher token first on
 * equal weight, and returns its size. target = top_p * total over all
 * candidates, floor-dropped ones included. */
int rg_nucleus(rg_candidate *c, int m, double total, double top_p);

#endif
