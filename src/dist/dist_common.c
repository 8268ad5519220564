/* dist_common.c — the parts of dist.h that are the same whatever joins the
 * processes: how a global batch is shared out. */
#include "dist/dist.h"

#include "base/error.h"

void rg_dist_shard(int n, int *first, int *count) {
    int size = rg_dist_size();
    *count = n / size;
    *first = rg_dist_rank() * *count;
}

int rg_dist_check_divides(int n, const char *what) {
    int size = rg_dist_size();
    if (n % size != 0)
        return rg_error("%s (%d) is not divisible by the %d ranks: each rank takes an equal share of every step", what,
                        n, size);
    return RG_OK;
}

void rg_dist_range_of(int r, size_t n, size_t *lo, size_t *hi) {
    size_t size = (size_t)rg_dist_size(), base = n / size, extra = n % size, ur = (size_t)r;
    *lo = ur * base + (ur < extra ? ur : extra);
    *hi = *lo + base + (ur < extra);
}

void rg_dist_range(size_t n, size_t *lo, size_t *hi) { rg_dist_range_of(rg_dist_rank(), n, lo, hi); }
