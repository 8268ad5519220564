/* data_flags.h — the flag every command that loads rubric data shares:
 * --verifier-criteria skip|keep|error (rubric/rubric.h, rg_verifier_criteria).
 * One row and one parser, so data check, train, grpo, eval, judge and gap
 * word and check it alike. */
#ifndef RG_DATA_FLAGS_H
#define RG_DATA_FLAGS_H

#include "cli/args.h"
#include "rubric/rubric.h"

#define RG_VERIFIER_CRITERIA_ROW(text)                                                                    \
    {"verifier-criteria", RG_ARG_STRING, &(text), "skip|keep|error",                                     \
     "criteria meant for a code verifier (RubricHub verifier:rule): left out and counted (default skip), " \
     "kept as ordinary criteria, or an error",                                                            \
     0}

/* Parses the flag's value; a bad one is a usage error naming `command`
 * (exit status 2 through rg_cli_fail). */
int rg_cli_verifier_criteria(const char *command, const char *text, rg_verifier_criteria *out);

#endif
