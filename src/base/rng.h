/* rng.h — seeded, reproducible random numbers (xoshiro256**, seeded by
 * splitmix64). The whole state is four words so it can be saved in a
 * checkpoint and restored for an exact --resume. */
#ifndef RG_RNG_H
#define RG_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} rg_rng;

void rg_rng_seed(rg_rng *rng, uint64_t seed);
uint64_t rg_rng_u64(rg_rng *rng);
/* Uniform in [0, 1) with 24 random bits (exactly representable as float). */
float rg_rng_uniform(rg_rng *rng);
/* Uniform integer in [0, n), unbiased (n > 0). */
uint64_t rg_rng_below(rg_rng *rng, uint64_t n);
/* Standard normal (Box–Muller). */
float rg_rng_normal(rg_rng *rng);

#endif
