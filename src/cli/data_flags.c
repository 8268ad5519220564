/* data_flags.c — see data_flags.h. */
#include "cli/data_flags.h"

#include "base/error.h"

int rg_cli_verifier_criteria(const char *command, const char *text, rg_verifier_criteria *out) {
    if (rg_verifier_criteria_parse(text, out) == RG_OK) return RG_OK;
    return rg_usage_error("rgsd %s: --verifier-criteria must be skip, keep or error, got '%s' (see rgsd %s --help)", command,
                    text, command);
}
