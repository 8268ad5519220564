/* args.h — the flag parser every rgsd subcommand shares.
 *
 * A command declares its flags as a table; the parser fills the targets,
 * checks numbers and required flags, and prints --help from the same table,
 * so the help text can never drift from what is accepted.
 *
 *   const char *model = NULL; long max_new = 256;
 *   rg_arg specs[] = {
 *       {"model", RG_ARG_STRING, &model, "DIR", "Hugging Face model folder", 1},
 *       {"max-new", RG_ARG_INT, &max_new, "N", "new tokens at most", 0},
 *   };
 */
#ifndef RG_ARGS_H
#define RG_ARGS_H

#include <stdio.h>

typedef enum {
    RG_ARG_STRING, /* const char ** (points into argv) */
    RG_ARG_INT,    /* long * */
    RG_ARG_FLOAT,  /* double * */
    RG_ARG_FLAG,   /* int *, set to 1 when present; takes no value */
} rg_arg_type;

typedef struct {
    const char *name;    /* without the leading "--" */
    rg_arg_type type;
    void *target;
    const char *metavar; /* "DIR", "N"; NULL for flags */
    const char *help;
    int required;
} rg_arg;

typedef struct {
    const char *name;     /* "tokenize" */
    const char *synopsis; /* one line after "usage: rgsd tokenize " */
    const char *summary;  /* a paragraph: what it does, when to use it */
    const char *examples; /* may be NULL */
    const rg_arg *args;
    int nargs;
    int max_positional; /* extra non-flag words allowed (0 = none) */
} rg_command_spec;

/* Returns 0 when parsed, 1 when --help was printed (exit 0), -1 on a bad
 * command line (message in rg_errmsg(), naming the flag). Positional words
 * are returned in *positional (pointers into argv, count in *npositional). */
int rg_args_parse(const rg_command_spec *spec, int argc, char **argv, char **positional, int *npositional);
void rg_args_print_help(const rg_command_spec *spec, FILE *out);

#endif
