/* nucleus.c — top-p's cut in expected O(n) (see nucleus.h).
 *
 * Three-way partitions around a pivot narrow the range the cut can fall in,
 * then only that range and what precedes it are sorted (a radix sort: the
 * nucleus can hold tens of thousands of tokens at top_p 0.95). The final
 * walk sums in sorted order, like a full sort would. The pivots come from a
 * fixed seed and index the list as the partitions left it, so the cut
 * depends on that arrangement: partition() leaves the list as the original
 * swapping loop (tests/unit/sample_ref.h) left it, wherever a later pivot
 * can look, without its two dependent swaps per element. */
#include "gen/nucleus.h"

#include "base/rng.h"

double rg_nucleus_floor(double total, int n, double top_p) { return 0.5 * total * (1.0 - top_p) / n; }

/* Sorts k[0..n) descending: a least-significant-digit radix sort on the
 * complemented keys, a byte per pass, skipping bytes every key shares (the
 * high bytes of small token ids, exponents of similar weights). Keys are
 * distinct (tokens differ), so this is the order any correct sort gives. */
static uint64_t *sort_descending(uint64_t *k, uint64_t *scratch, int n) {
    uint64_t *a = k, *b = scratch;
    uint32_t count[8][256] = {{0}};
    for (int i = 0; i < n; i++) {
        a[i] = ~a[i];
        for (int d = 0; d < 8; d++) count[d][a[i] >> (8 * d) & 255]++;
    }
    for (int d = 0; d < 8; d++) {
        if (n == 0 || count[d][a[0] >> (8 * d) & 255] == (uint32_t)n) continue; /* one bucket: order kept */
        uint32_t at = 0;
        for (int v = 0; v < 256; v++) {
            uint32_t c = count[d][v];
            count[d][v] = at;
            at += c;
        }
        for (int i = 0; i < n; i++) b[count[d][a[i] >> (8 * d) & 255]++] = a[i];
        uint64_t *t = a;
        a = b, b = t;
    }
    for (int i = 0; i < n; i++) a[i] = ~a[i];
    return a;
}

/* One three-way partition of k[lo..hi) around the pivot's weight bits,
 * arranged as the original in-place loop arranged it where that matters:
 * that loop moved each element >= the pivot to the front (a swap with the
 * first element < the pivot, then a swap of the equal run's first element
 * if it was >), so
 *   - the > run [lo, gt) holds the > elements in list order;
 *   - the < run [eq, hi) is a queue: a < element joins at the back, and
 *     each >= element moves the front element to the back. In place: the
 *     element at i is overwritten by the one at eq (the front) whenever
 *     k[i] is >= (when the queue is empty that is k[i] itself);
 *   - the equal run [gt, eq) holds the equal elements in some order (only
 *     sorted afterwards, never indexed by a pivot).
 * Returns gt and eq; the masses of the > and == runs are summed in list
 * order, as the original summed them. buffer: hi - lo words. */
static void partition(uint64_t *k, int lo, int hi, uint32_t pivot, uint64_t *buffer, int *gt_out, int *eq_out,
                      double *mass_gt, double *mass_eq) {
    /* > elements from the front of buffer, == ones from its back (written
     * every time, kept by advancing the count; a slot the other list holds
     * is only ever rewritten with the value it holds) */
    const int cap = hi - lo;
    uint64_t *greater = buffer;
    int n_gt = 0, n_eq = 0, n_moved = 0;
    for (int i = lo; i < hi; i++) {
        uint64_t x = k[i];
        uint32_t bits = (uint32_t)(x >> 32);
        int is_gt = bits > pivot, is_eq = bits == pivot; /* positive floats compare like their bits */
        greater[n_gt] = x;
        n_gt += is_gt;
        buffer[cap - 1 - n_eq] = x;
        n_eq += is_eq;
        uint64_t front = k[lo + n_moved];
        k[i] = is_gt | is_eq ? front : x;
        n_moved += is_gt | is_eq;
    }
    double sum_gt = 0.0, sum_eq = 0.0;
    for (int i = 0; i < n_gt; i++) sum_gt += rg_key_weight(greater[i]);
    const uint64_t *equal = buffer + (cap - n_eq);
    for (int i = n_eq - 1; i >= 0; i--) sum_eq += rg_key_weight(equal[i]); /* list order: stored backwards */
    memcpy(k + lo, greater, (size_t)n_gt * sizeof *k);
    memcpy(k + lo + n_gt, equal, (size_t)n_eq * sizeof *k);
    *gt_out = lo + n_gt, *eq_out = lo + n_moved;
    *mass_gt = sum_gt, *mass_eq = sum_eq;
}

int rg_nucleus(uint64_t *k, int m, double total, double top_p, uint64_t *scratch, const uint64_t **nucleus,
               int *sorted_out) {
    double target = top_p * total, fixed_mass = 0.0;
    int lo = 0, hi = m; /* k[0..lo) is surely kept; the cut lies in [lo, hi) */
    rg_rng pivots;
    rg_rng_seed(&pivots, 0x5eed);
    while (hi - lo > 64) {
        uint32_t pivot = (uint32_t)(k[lo + (int)rg_rng_below(&pivots, (uint64_t)(hi - lo))] >> 32);
        /* [lo, gt): > pivot, [gt, eq): == pivot, [eq, hi): < pivot */
        int gt, eq;
        double mass_gt, mass_eq;
        partition(k, lo, hi, pivot, scratch, &gt, &eq, &mass_gt, &mass_eq);
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
    if (sorted_out) *sorted_out = hi;
    const uint64_t *sorted = sort_descending(k, scratch, hi);
    double mass = 0.0;
    int kept = 0;
    while (kept < hi && mass < target) mass += rg_key_weight(sorted[kept++]);
    *nucleus = sorted;
    return kept;
}
