/* cmd_data.c — `rgsd data check FILE...`: validate rubric data and print
 * statistics per file and in total (text, or JSON with --json).
 *
 * Every file is read to the end before anything is printed, so a bad line
 * gives one error line on stderr and no half-written report on stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/data_flags.h"
#include "rubric/rubric.h"
#include "rubric/stats.h"

static void print_data_help(FILE *out) {
    fprintf(out,
            "usage: rgsd data <subcommand> [options]\n\n"
            "Rubric data: one example per JSONL line, in any of the formats rgsd reads\n"
            "(HealthBench, RubricHub/verl, RaR, ResearchRubrics, rgsd native), detected per line.\n\n"
            "subcommands:\n"
            "  check FILE...   validate every line and print statistics per file and in total\n\n"
            "rgsd data check --help shows its options. Formats and scores: docs/rubric-data.md\n");
}

static void print_range(const char *label, size_t min, size_t max, size_t sum, size_t n) {
    printf("  %-26s min %zu, mean %.2f, max %zu\n", label, min, n ? (double)sum / (double)n : 0.0, max);
}

/* One bar per distinct weight, scaled to the most frequent. */
static void print_weights(const rg_data_stats *s) {
    size_t most = 0;
    for (size_t i = 0; i < s->nweights; i++)
        if (s->weights[i].count > most) most = s->weights[i].count;
    const size_t shown = 40;
    printf("  weight histogram:\n");
    for (size_t i = 0; i < s->nweights && i < shown; i++) {
        int bar = most ? (int)((30 * s->weights[i].count + most - 1) / most) : 0;
        printf("    %8g %7zu  ", s->weights[i].weight, s->weights[i].count);
        for (int b = 0; b < bar; b++) fputc('#', stdout);
        fputc('\n', stdout);
    }
    if (s->nweights > shown) printf("    ... %zu more distinct weights\n", s->nweights - shown);
}

static int print_tags(const rg_data_stats *s, int example_level, size_t top) {
    rg_tag_count *list;
    size_t n;
    if (rg_data_stats_top_tags(s, example_level, top, &list, &n)) return RG_ERR;
    const rg_tag_table *map = example_level ? &s->example_tags : &s->criterion_tags;
    if (map->count > 0) {
        printf("  %s tags (%zu distinct, top %zu):\n", example_level ? "example" : "criterion", map->count, n);
        for (size_t i = 0; i < n; i++) printf("    %7zu  %s\n", list[i].count, list[i].tag);
    }
    free(list);
    return RG_OK;
}

static int print_stats(const char *title, const rg_data_stats *s, size_t top) {
    printf("== %s\n", title);
    printf("  %-26s %zu", "examples", s->examples);
    if (s->skipped) printf(" (%zu bad lines skipped)", s->skipped);
    printf("\n  %-26s", "formats");
    for (int f = 0; f < RG_FORMAT_COUNT; f++)
        if (s->per_format[f]) printf(" %s %zu", rg_format_name((rg_format)f), s->per_format[f]);
    printf("\n");
    if (s->examples == 0) return RG_OK;
    print_range("messages per example", s->messages_min, s->messages_max, s->messages_sum, s->examples);
    print_range("criteria per example", s->criteria_min, s->criteria_max, s->criteria_sum, s->examples);
    size_t criteria = s->criteria_sum;
    printf("  %-26s %zu, negative weight %zu (%.1f%%), zero weight %zu\n", "criteria", criteria, s->negative_weights,
           criteria ? 100.0 * (double)s->negative_weights / (double)criteria : 0.0, s->zero_weights);
    printf("  %-26s %zu\n", "pitfalls written as good", s->inverted);
    if (s->with_match) printf("  %-26s %zu\n", "criteria with match rules", s->with_match);
    if (s->code_checks_skipped)
        printf("  %-26s %zu, left out of judging and teacher prompts (--verifier-criteria skip)\n",
               "code-verifier criteria", s->code_checks_skipped);
    if (s->code_checks)
        printf("  %-26s %zu, kept as ordinary criteria (--verifier-criteria keep)\n", "code-verifier criteria",
               s->code_checks);
    if (s->duplicate_ids)
        printf("  %-26s %zu (first: %s)\n", "duplicate ids", s->duplicate_ids, s->first_duplicate_id);
    printf("  %-26s %zu\n", "no positive weight", s->no_positive_weight);
    printf("  %-26s %zu\n", "with reference answer", s->with_reference);
    print_weights(s);
    if (print_tags(s, 0, top) || print_tags(s, 1, top)) return RG_ERR;
    return RG_OK;
}

static int check_file(const char *path, int skip_bad, rg_verifier_criteria verifier, rg_data_stats *stats) {
    rg_rubric_options options = {.skip_bad = skip_bad, .verifier_criteria = verifier};
    rg_rubric_reader *reader;
    if (rg_rubric_open(&reader, path, &options)) return RG_ERR;
    rg_example ex;
    int got;
    while ((got = rg_rubric_next(reader, &ex)) == 1) {
        int rc = rg_data_stats_add(stats, &ex);
        rg_example_free(&ex);
        if (rc) {
            got = RG_ERR;
            break;
        }
    }
    stats->skipped = rg_rubric_skipped(reader);
    if (got >= 0 && stats->examples == 0) got = rg_rubric_nothing_usable(reader);
    rg_rubric_close(reader);
    return got < 0 ? RG_ERR : RG_OK;
}

static int print_json(char **files, int nfiles, const rg_data_stats *per_file, const rg_data_stats *total,
                      size_t top) {
    cJSON *root = cJSON_CreateObject();
    cJSON *list = root ? cJSON_AddArrayToObject(root, "files") : NULL;
    int ok = list != NULL;
    for (int i = 0; ok && i < nfiles; i++) {
        cJSON *o = rg_data_stats_to_json(&per_file[i], top);
        ok = o && cJSON_AddItemToArray(list, o) && cJSON_AddStringToObject(o, "path", files[i]);
    }
    cJSON *t = ok ? rg_data_stats_to_json(total, top) : NULL;
    ok = ok && t && cJSON_AddItemToObject(root, "total", t);
    char *text = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text) return rg_error("out of memory writing the JSON report");
    puts(text);
    free(text);
    return RG_OK;
}

/* Every file checked (stats per file and in total), then printed as text or JSON. */
static int check_files(char **files, int nfiles, int skip_bad, rg_verifier_criteria verifier, int json, size_t top) {
    rg_data_stats *per_file = calloc((size_t)nfiles, sizeof *per_file);
    rg_data_stats total;
    rg_data_stats_init(&total);
    int rc = per_file ? RG_OK : rg_error("out of memory");
    for (int i = 0; rc == RG_OK && i < nfiles; i++) {
        rg_data_stats_init(&per_file[i]);
        rc = check_file(files[i], skip_bad, verifier, &per_file[i]);
        if (rc == RG_OK) rc = rg_data_stats_merge(&total, &per_file[i]);
    }
    if (rc == RG_OK) {
        if (json) {
            rc = print_json(files, nfiles, per_file, &total, top);
        } else {
            for (int i = 0; rc == RG_OK && i < nfiles; i++)
                rc = print_stats(strcmp(files[i], "-") == 0 ? "<stdin>" : files[i], &per_file[i], top);
            if (rc == RG_OK && nfiles > 1) {
                char title[64];
                snprintf(title, sizeof title, "total (%d files)", nfiles);
                rc = print_stats(title, &total, top);
            }
        }
    }
    for (int i = 0; per_file && i < nfiles; i++) rg_data_stats_free(&per_file[i]);
    free(per_file);
    rg_data_stats_free(&total);
    return rc;
}

static int data_check(int argc, char **argv) {
    int skip_bad = 0, json = 0;
    long top = 10;
    const char *verifier_text = "skip";
    const rg_arg args[] = {
        {"skip-bad", RG_ARG_FLAG, &skip_bad, NULL, "skip invalid lines and count them instead of failing", 0},
        RG_VERIFIER_CRITERIA_ROW(verifier_text),
        {"json", RG_ARG_FLAG, &json, NULL, "print the statistics as JSON", 0},
        {"top", RG_ARG_INT, &top, "N", "tags to list per file, most frequent first", 0},
    };
    const rg_command_spec spec = {
        "data check",
        "FILE... [--skip-bad] [--verifier-criteria skip|keep|error] [--json] [--top N]",
        "Validates rubric data files (JSONL, one example per line, format detected per line) and prints,\n"
        "per file and in total: examples, formats, messages and criteria per example, the weight\n"
        "histogram, the share of negative weights, tag counts and examples with a reference answer.\n"
        "The first bad line stops with one error naming file:line: field (exit 1) unless --skip-bad.",
        "  rgsd data check ../shared/data/*/*.jsonl\n  rgsd data check --json --skip-bad train.jsonl\n  cat a.jsonl | rgsd data check -\n",
        args,
        (int)(sizeof args / sizeof args[0]),
        4096,
    };
    char **files = malloc((size_t)(argc > 0 ? argc : 1) * sizeof *files);
    if (!files) return rg_error("out of memory"), rg_cli_fail();
    int nfiles = 0;
    int parsed = rg_args_parse(&spec, argc, argv, files, &nfiles);
    if (parsed != 0) {
        free(files);
        return parsed == 1 ? 0 : rg_cli_fail();
    }
    if (nfiles == 0) {
        free(files);
        rg_usage_error("rgsd data check: no FILE given (see rgsd data check --help)");
        return rg_cli_fail();
    }
    rg_verifier_criteria verifier;
    if (rg_cli_verifier_criteria("data check", verifier_text, &verifier)) {
        free(files);
        return rg_cli_fail();
    }
    if (top < 0) {
        free(files);
        rg_usage_error("rgsd data check: --top must be 0 or more, got %ld (see rgsd data check --help)", top);
        return rg_cli_fail();
    }
    int rc = check_files(files, nfiles, skip_bad, verifier, json, (size_t)top);
    free(files);
    return rc == RG_OK ? 0 : rg_cli_fail();
}

int cmd_data(int argc, char **argv) {
    if (argc < 1) {
        print_data_help(stderr);
        return 2;
    }
    if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "help") == 0) {
        print_data_help(stdout);
        return 0;
    }
    if (strcmp(argv[0], "check") == 0) return data_check(argc - 1, argv + 1);
    fprintf(stderr, "rgsd: data: unknown subcommand '%s' (see rgsd data --help)\n", argv[0]);
    return 2;
}
