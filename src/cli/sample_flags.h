/* sample_flags.h — the range check of the sampling flags `rgsd generate` and
 * `rgsd eval` share, worded alike (a usage error, exit status 2). */
#ifndef RG_SAMPLE_FLAGS_H
#define RG_SAMPLE_FLAGS_H

/* --max-new 1..1000000, --batch 1..64, --temperature >= 0, --top-p in (0, 1], --top-k >= 0:
 * RG_OK, or RG_ERR with a usage error naming the flag. */
int rg_cli_check_sampling(long max_new, long batch, double temperature, double top_p, long top_k);

#endif
