/* cmd_compare.c — `rgsd compare`: a rubric-free pairwise comparison of two
 * evaluation reports' responses to the same prompts (docs/evaluation.md,
 * "Pairwise comparison"); the work is in eval/compare.c. */
#include <stdio.h>
#include <stdlib.h>

#include "base/error.h"
#include "base/log.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "eval/diagnostics.h"

typedef struct {
    const char *a, *b, *judge, *cache, *failures, *out;
    long seed, resamples;
} compare_flags;

static int parse_flags(int argc, char **argv, compare_flags *o) {
    *o = (compare_flags){.resamples = RG_BOOTSTRAP_RESAMPLES};
    rg_arg args[] = {
        {"a", RG_ARG_STRING, &o->a, "DIR", "an rgsd eval report (--out DIR of rgsd eval)", 1},
        {"b", RG_ARG_STRING, &o->b, "DIR", "the report to compare it with: the same prompts (example ids)", 1},
        {"judge", RG_ARG_STRING, &o->judge, "SPEC", "http:URL#model=NAME[&...] (docs/judges.md)", 1},
        {"cache", RG_ARG_STRING, &o->cache, "FILE", "SQLite verdict cache: a rerun sends no request", 0},
        {"failures", RG_ARG_STRING, &o->failures, "FILE", "append unreadable judge answers here", 0},
        {"out", RG_ARG_STRING, &o->out, "DIR", "write compare.json and pairs.jsonl here (one unit)", 0},
        {"seed", RG_ARG_INT, &o->seed, "S", "bootstrap seed (default 0)", 0},
        {"resamples", RG_ARG_INT, &o->resamples, "N", "bootstrap resamples for the interval", 0},
    };
    rg_command_spec spec = {
        "compare", "--a DIR --b DIR --judge SPEC [--cache FILE] [--out DIR]",
        "Asks a judge which of two responses to the same prompt is better overall, with no rubric, for every "
        "prompt of two rgsd eval reports (matched by example id; response k with response k). Each pair is judged "
        "twice, A first and B first: a side wins only when both orders prefer it, otherwise the pair is a tie, "
        "which cancels the judge's position bias. Prints A's wins, ties and losses and its win rate (ties count "
        "one half) with a 95% bootstrap interval over prompts.",
        "  rgsd compare --a eval-rgsd --b eval-base --cache pairs.sqlite \\\n"
        "      --judge 'http:https://api.openai.com/v1#model=gpt-4.1&concurrency=16' --out compare-rgsd-base\n",
        args, (int)(sizeof args / sizeof args[0]), 0};
    int parsed = rg_args_parse(&spec, argc, argv, NULL, NULL);
    return parsed == 1 ? 1 : parsed < 0 ? -1 : 0;
}

/* The judge (pairwise), the comparison, its summary and files. */
static int compare(const compare_flags *o, const rg_report *a, const rg_report *b) {
    rg_judge_spec spec;
    if (rg_judge_spec_parse(o->judge, &spec)) return RG_ERR;
    rg_judge *judge = NULL;
    rg_judge_options options = {.cache_path = o->cache, .failures_path = o->failures, .pairwise = 1};
    rg_compare_result result = {0};
    rg_compare_info info = {o->a, o->b, o->judge};
    int rc = rg_judge_open(&judge, &spec, &options);
    if (rc == RG_OK) rc = rg_compare_run(a, b, judge, (int)o->resamples, (uint64_t)o->seed, &result);
    if (rc == RG_OK && o->out) rc = rg_compare_write(&result, &info, o->out);
    char *summary = rc == RG_OK ? rg_compare_summary_text(&result, &info) : NULL;
    if (summary) fputs(summary, stdout);
    else if (rc == RG_OK) rc = RG_ERR;
    if (rc == RG_OK && o->out) rg_info("compare: wrote %s/compare.json and pairs.jsonl", o->out);
    free(summary);
    rg_compare_result_free(&result);
    rg_judge_close(judge);
    rg_judge_spec_free(&spec);
    return rc;
}

int cmd_compare(int argc, char **argv) {
    compare_flags o;
    int parsed = parse_flags(argc, argv, &o);
    if (parsed != 0) return parsed == 1 ? 0 : rg_cli_fail();
    if (o.resamples < 1 || o.resamples > 1000000) {
        rg_usage_error("--resamples must be in 1..1000000 (see --help)");
        return rg_cli_fail();
    }
    rg_report a = {0}, b = {0};
    int rc = rg_report_load(o.a, &a) || rg_report_load(o.b, &b) || compare(&o, &a, &b) ? RG_ERR : RG_OK;
    rg_report_free(&a);
    rg_report_free(&b);
    return rc ? rg_cli_fail() : 0;
}
