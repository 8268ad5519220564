/* expf_exact.h — expf over a row, 8 at a time, bit for bit what the C
 * library's scalar expf returns.
 *
 * The sampler's draws depend on every bit of every weight (the double sum
 * of ~150k expf values in token order decides which token a random number
 * lands on), so a faster but differently rounded exp (libmvec, a
 * polynomial of our own) would change the tokens a seed draws. glibc
 * (>= 2.27) and musl compute expf with one published algorithm (Szabolcs
 * Nagy's, ARM optimized-routines: a 32-entry 2^(i/32) table and a cubic in
 * double precision, the range reduction fused on FMA machines); this file
 * runs that algorithm in AVX2 lanes. It matched glibc 2.36's expf on every
 * float in [-104, 0] (1,120,927,745 inputs, tests/unit/test_expf_exact.c
 * with RGSD_EXHAUSTIVE=1). Before first use a probe compares it with the
 * linked expf on inputs that tell the variants apart; if the C library
 * computes anything else, the scalar expf loop is used instead, so results
 * always equal the linked expf.
 *
 * Inputs above 0 (never met by the sampler: logits minus their maximum)
 * and NaN go to the scalar expf. */
#ifndef RG_EXPF_EXACT_H
#define RG_EXPF_EXACT_H

/* out[i] = expf((float)((double)x[i] * scale - shift)), i < n. The affine
 * step is done in double and rounded to float first, exactly as the scalar
 * expression is (no fused multiply-add). out must not alias x. */
void rg_expf_affine(float *out, const float *x, double scale, double shift, int n);

/* 1 when the vector path is in use, 0 when every call goes to the scalar
 * expf: the probe failed (a C library with another expf), the CPU lacks
 * AVX2/FMA, or RGSD_KERNELS=ref (src/nn/cpu.h). */
int rg_expf_exact_vectorised(void);

#endif
