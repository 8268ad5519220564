/* nucleus.c — top-p's cut in expected O(n) (see nucleus.h).
 *
 * Three-way partitions around a pivot narrow the range the cut can fall in,
 * then only that range and what precedes it are sorted. The final walk sums
 * in sorted order, like a full sort would. The pivots come from a fixed
 * seed, so the same candidates always give the same cut and order. */
#include "gen/nucleus.h"

#include <stdlib.h>

#include "base/rng.h"

/* Most probable first. On equal weight the higher token id goes first: HF's
 * top-p sorts ascending with a stable sort and keeps from the top end, so of
 * two tied tokens at the nucleus edge it keeps the later one. */
static int by_weight(const void *a, const void *b) {
    const rg_candidate *x = a, *y = b;
    if (x->weight != y->weight) return x->weight > y->weight ? -1 : 1;
    return y->token - x->token;
}

static void swap(rg_candidate *a, rg_candidate *b) {
    rg_candidate t = *a;
    *a = *b;
    *b = t;
}

double rg_nucleus_floor(double total, int n, double top_p) { return 0.5 * total * (1.0 - top_p) / n; }

int rg_nucleus(rg_candidate *c, int m, double total, double top_p) {
    double target = top_p * total, fixed_mass = 0.0;
    int lo = 0, hi = m; /* c[0..lo) is surely kept; the cut lies in [lo, hi) */
    rg_rng pivots;
    rg_rng_seed(&pivots, 0x5eed);
    while (hi - lo > 64) {
        double pivot = c[lo + (int)rg_rng_below(&pivots, (uint64_t)(hi - lo))].weight;
        /* [lo, gt): > pivot, [gt, eq): == pivot, [eq, hi): < pivot */
        int gt = lo, eq = lo;
        double mass_gt = 0.0, mass_eq = 0.0;
        for (int i = lo; i < hi; i++) {
            double w = c[i].weight;
            if (w > pivot) {
                mass_gt += w;
                swap(&c[i], &c[eq]);
                swap(&c[eq], &c[gt]);
                gt++, eq++;
            } else if (w == pivot) {
                mass_eq += w;
                swap(&c[i], &c[eq]);
                eq++;
            }
        }
        /* margins keep a decision that rounding could flip out of this loop */
        if (fixed_mass + mass_gt > target * (1.0 + 1e-9)) {
            hi = gt;
        } else if (fixed_mass + mass_gt + mass_eq < target * (1.0 - 1e-9)) {
            fixed_mass += mass_gt + mass_eq;
            lo = eq;
        } else {
            hi = eq; /* the cut is at the pivot value: sort it all out below */
            break;
        }
    }
    qsort(c, (size_t)hi, sizeof *c, by_weight);
    double mass = 0.0;
    int kept = 0;
    while (kept < hi && mass < target) mass += c[kept++].weight;
    return kept;
}
