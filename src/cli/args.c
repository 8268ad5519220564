#include "cli/args.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

static const rg_arg *find_arg(const rg_command_spec *spec, const char *name, size_t len) {
    for (int i = 0; i < spec->nargs; i++)
        if (strlen(spec->args[i].name) == len && strncmp(spec->args[i].name, name, len) == 0)
            return &spec->args[i];
    return NULL;
}

static int set_value(const rg_command_spec *spec, const rg_arg *arg, const char *value) {
    char *end = NULL;
    errno = 0;
    switch (arg->type) {
    case RG_ARG_STRING:
        *(const char **)arg->target = value;
        return RG_OK;
    case RG_ARG_INT: {
        long v = strtol(value, &end, 10);
        if (errno || end == value || *end)
            return rg_usage_error("rgsd %s: --%s wants an integer, got '%s' (see rgsd %s --help)", spec->name,
                                  arg->name, value, spec->name);
        *(long *)arg->target = v;
        return RG_OK;
    }
    case RG_ARG_FLOAT: {
        double v = strtod(value, &end);
        if (errno || end == value || *end || !isfinite(v))
            return rg_usage_error("rgsd %s: --%s wants a number, got '%s' (see rgsd %s --help)", spec->name, arg->name,
                                  value, spec->name);
        *(double *)arg->target = v;
        return RG_OK;
    }
    case RG_ARG_FLAG:
        *(int *)arg->target = 1;
        return RG_OK;
    }
    return rg_error("rgsd %s: --%s: unknown flag type", spec->name, arg->name);
}

int rg_args_parse(const rg_command_spec *spec, int argc, char **argv, char **positional, int *npositional) {
    char seen[256] = {0};
    int npos = 0;
    if (spec->nargs > (int)sizeof seen) return rg_error("rgsd %s: too many flags declared", spec->name);
    for (int i = 0; i < argc; i++) {
        const char *word = argv[i];
        if (strcmp(word, "--help") == 0 || strcmp(word, "-h") == 0) {
            rg_args_print_help(spec, stdout);
            return 1;
        }
        if (strncmp(word, "--", 2) != 0 || word[2] == '\0') {
            if (npos >= spec->max_positional)
                return rg_usage_error("rgsd %s: unexpected argument '%s' (see rgsd %s --help)", spec->name, word,
                                      spec->name);
            positional[npos++] = argv[i];
            continue;
        }
        const char *name = word + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const rg_arg *arg = find_arg(spec, name, len);
        if (!arg)
            return rg_usage_error("rgsd %s: unknown flag '--%.*s' (see rgsd %s --help)", spec->name, (int)len, name,
                                  spec->name);
        seen[arg - spec->args] = 1;
        if (arg->type == RG_ARG_FLAG) {
            if (eq)
                return rg_usage_error("rgsd %s: --%s takes no value (see rgsd %s --help)", spec->name, arg->name,
                                      spec->name);
            *(int *)arg->target = 1;
            continue;
        }
        const char *value;
        if (eq)
            value = eq + 1;
        else if (i + 1 < argc)
            value = argv[++i];
        else
            return rg_usage_error("rgsd %s: --%s needs a value %s (see rgsd %s --help)", spec->name, arg->name,
                                  arg->metavar ? arg->metavar : "VALUE", spec->name);
        if (set_value(spec, arg, value) != RG_OK) return RG_ERR;
    }
    for (int i = 0; i < spec->nargs; i++)
        if (spec->args[i].required && !seen[i])
            return rg_usage_error("rgsd %s: --%s %s is required (see rgsd %s --help)", spec->name, spec->args[i].name,
                                  spec->args[i].metavar ? spec->args[i].metavar : "", spec->name);
    if (npositional) *npositional = npos;
    return RG_OK;
}

void rg_args_print_help(const rg_command_spec *spec, FILE *out) {
    fprintf(out, "usage: rgsd %s %s\n\n%s\n\n", spec->name, spec->synopsis ? spec->synopsis : "",
            spec->summary ? spec->summary : "");
    fprintf(out, "options:\n");
    for (int i = 0; i < spec->nargs; i++) {
        const rg_arg *a = &spec->args[i];
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", a->name, a->metavar ? " " : "", a->metavar ? a->metavar : "");
        fprintf(out, "  %-24s %s", left, a->help ? a->help : "");
        if (a->required) fprintf(out, " (required)");
        else if (a->help && strstr(a->help, "default")) { /* the text states its default itself */
        } else if (a->type == RG_ARG_INT && *(long *)a->target) fprintf(out, " (default %ld)", *(long *)a->target);
        else if (a->type == RG_ARG_FLOAT) fprintf(out, " (default %g)", *(double *)a->target);
        else if (a->type == RG_ARG_STRING && *(const char **)a->target)
            fprintf(out, " (default %s)", *(const char **)a->target);
        fputc('\n', out);
    }
    fprintf(out, "  %-24s %s\n", "--help", "show this help");
    if (spec->examples) fprintf(out, "\nexamples:\n%s", spec->examples);
}
