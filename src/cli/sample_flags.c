/* sample_flags.c — see sample_flags.h. */
#include "cli/sample_flags.h"

#include "base/error.h"

int rg_cli_check_sampling(long max_new, long batch, double temperature, double top_p, long top_k) {
    if (max_new <= 0 || max_new > 1000000) return rg_usage_error("--max-new must be in 1..1000000 (see --help)");
    if (batch <= 0 || batch > 64) return rg_usage_error("--batch must be in 1..64 (see --help)");
    if (temperature < 0) return rg_usage_error("--temperature must be >= 0 (see --help)");
    if (!(top_p > 0 && top_p <= 1)) return rg_usage_error("--top-p must be in (0, 1] (see --help)");
    if (top_k < 0) return rg_usage_error("--top-k must be >= 0 (see --help)");
    return RG_OK;
}
