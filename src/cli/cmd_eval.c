/* cmd_eval.c — `rgsd eval`: generate K responses per example, judge them
 * against the rubric, score, and write a report (docs/evaluation.md). The
 * pair of runs without and with --with-rubric measures the conditioning gap:
 * how much better the model answers when it sees the rubric. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "base/progress.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/data_flags.h"
#include "cli/sample_flags.h"
#include "eval/diagnostics.h"
#include "eval/eval.h"
#include "lm/lm.h"
#include "model/lora.h"
#include "nn/nn.h"
#include "train/checkpoint.h"
#include "train/lora_merge.h"

typedef struct {
    rg_progress bar;
    int started;
    int enabled;
} lazy_progress;

/* The judge's total is known only when it runs: start the bar then. */
static void on_judge_progress(void *ctx, int64_t done, int64_t total) {
    lazy_progress *p = ctx;
    if (!p->started) {
        rg_progress_start(&p->bar, "judge", total);
        p->bar.enabled = p->enabled;
        p->started = 1;
    }
    rg_progress_update(&p->bar, done, NULL);
    if (done == total) rg_progress_finish(&p->bar, NULL);
}

static void on_generate_progress(void *ctx, int done, int total) {
    lazy_progress *p = ctx;
    if (!p->started) {
        rg_progress_start(&p->bar, "generate", total);
        p->bar.enabled = p->enabled;
        p->started = 1;
    }
    rg_progress_update(&p->bar, done, NULL);
    if (done == total) rg_progress_finish(&p->bar, NULL);
}

/* The rule judge grades only criteria with `match` patterns: refuse before
 * spending time on generation. */
static int check_rule_patterns(const rg_dataset *data, const char *path) {
    size_t total = 0, without = 0;
    const rg_example *first = NULL;
    size_t first_criterion = 0;
    for (size_t e = 0; e < data->count; e++)
        for (size_t c = 0; c < data->examples[e].ncriteria; c++) {
            total++;
            if (data->examples[e].rubric[c].nmatch > 0) continue;
            if (!without++) first = &data->examples[e], first_criterion = c;
        }
    if (without == 0) return RG_OK;
    return rg_error("rule judge: %zu of %zu criteria in %s have no `match` patterns (first: example '%s' criterion %zu), "
                    "so the rule judge cannot grade them; use an http or local judge for this data",
                    without, total, path, first->id ? first->id : "?", first_criterion + 1);
}

typedef struct {
    const char *model_path, *data_path, *judge_text, *out_dir, *cache_path, *failures_path, *system, *tokenizer;
    const char *chat_family, *teacher_template_path, *adapter_dir, *verifier_text, *rubric_in_text;
    const char *baseline_dir, *audit_judge_text; /* the reward-hacking diagnostics (eval/diagnostics.h) */
    long samples, max_new, top_k, seed, batch, context, resamples;
    double temperature, top_p;
    int with_rubric, bf16, skip_long, skip_bad, no_thinking;
    rg_verifier_criteria verifier; /* parsed by check_flags */
    rg_rubric_in rubric_in;        /* parsed by check_flags */
} eval_flags; /* the flags as given (rg_eval_options is what rg_eval_run takes) */

/* What the model is evaluated on: the rubric data and --teacher-template. */
typedef struct {
    rg_dataset data;
    rg_teacher_template *teacher_template;
    rg_report baseline;          /* --baseline: the report this run is measured against */
    rg_judge_spec audit_spec;    /* --audit-judge */
    int has_audit_spec;
} eval_inputs;

/* The flag table: 0 to go on, 1 after --help, -1 on a usage error. */
static int parse_flags(int argc, char **argv, eval_flags *o) {
    *o = (eval_flags){.verifier_text = "skip", .samples = 1, .max_new = 256, .batch = 8,
                      .resamples = RG_BOOTSTRAP_RESAMPLES, .temperature = 1.0, .top_p = 1.0};
    rg_arg args[] = {
        {"model", RG_ARG_STRING, &o->model_path, "DIR", "model folder (HF safetensors) or .gguf file", 1},
        {"adapter", RG_ARG_STRING, &o->adapter_dir, "DIR",
         "a PEFT LoRA folder (adapter_config.json + adapter_model.safetensors), merged into the f32 weights", 0},
        {"data", RG_ARG_STRING, &o->data_path, "FILE.jsonl",
         "rubric data in any format rgsd reads (docs/rubric-data.md)", 1},
        {"judge", RG_ARG_STRING, &o->judge_text, "SPEC",
         "rule | local:MODEL_DIR[#bf16=0&batch=N] | http:URL#model=NAME[&...] (docs/judges.md)", 1},
        {"with-rubric", RG_ARG_FLAG, &o->with_rubric, NULL,
         "put the rubric in the prompt (the RGSD teacher's view); run with and without for the conditioning gap", 0},
        {"teacher-template", RG_ARG_STRING, &o->teacher_template_path, "NAME|FILE",
         "with --with-rubric: default | paper | a template file with {{question}} and {{criteria}}", 0},
        {"rubric-in", RG_ARG_STRING, &o->rubric_in_text, "WHERE",
         "with --with-rubric: user (the last user message, default) | system (the system message)", 0},
        {"samples", RG_ARG_INT, &o->samples, "K", "responses per example", 0},
        {"out", RG_ARG_STRING, &o->out_dir, "DIR", "write report.json, report.md and responses.jsonl here", 0},
        {"max-new", RG_ARG_INT, &o->max_new, "N", "new tokens at most per response", 0},
        {"temperature", RG_ARG_FLOAT, &o->temperature, "T", "sampling temperature; 0 = greedy", 0},
        {"top-p", RG_ARG_FLOAT, &o->top_p, "P", "nucleus sampling mass in (0, 1]; 1 = off", 0},
        {"top-k", RG_ARG_INT, &o->top_k, "K", "keep the K most likely tokens (default 0 = off)", 0},
        {"seed", RG_ARG_INT, &o->seed, "S", "seed for sampling and the bootstrap (default 0); same seed, same report",
         0},
        {"batch", RG_ARG_INT, &o->batch, "B", "sequences decoded together", 0},
        {"context", RG_ARG_INT, &o->context, "N", "context length (default: max_position_embeddings, capped at 4096)",
         0},
        {"skip-long", RG_ARG_FLAG, &o->skip_long, NULL,
         "leave out (and count) examples whose prompt does not fit the context, instead of failing", 0},
        {"system", RG_ARG_STRING, &o->system, "TEXT", "system message for conversations without one", 0},
        {"no-thinking", RG_ARG_FLAG, &o->no_thinking, NULL, "Qwen3: render with enable_thinking=false", 0},
        {"cache", RG_ARG_STRING, &o->cache_path, "FILE", "SQLite verdict cache (http and local judges)", 0},
        {"failures", RG_ARG_STRING, &o->failures_path, "FILE", "append unjudgeable criteria with the raw answer here",
         0},
        {"resamples", RG_ARG_INT, &o->resamples, "N", "bootstrap resamples for the standard errors", 0},
        {"baseline", RG_ARG_STRING, &o->baseline_dir, "DIR",
         "an earlier rgsd eval report on the same data: report the response-length drift against it", 0},
        {"audit-judge", RG_ARG_STRING, &o->audit_judge_text, "SPEC",
         "with --baseline: re-grade the criteria credited here but not to the baseline with this second judge and "
         "report the weighted share it rejects (the exploitation rate)",
         0},
        {"skip-bad", RG_ARG_FLAG, &o->skip_bad, NULL, "skip (and count) invalid data lines instead of failing", 0},
        RG_VERIFIER_CRITERIA_ROW(o->verifier_text),
        {"tokenizer", RG_ARG_STRING, &o->tokenizer, "DIR", "tokenizer folder (default: the model's)", 0},
        {"chat-template", RG_ARG_STRING, &o->chat_family, "FAMILY", "override the chat template family", 0},
        {"bf16", RG_ARG_FLAG, &o->bf16, NULL, "hold the weights in bf16 (half the memory and bandwidth)", 0},
    };
    rg_command_spec spec = {
        "eval", "--model DIR --data FILE.jsonl --judge SPEC [--with-rubric] [--samples K] [--out DIR] [options]",
        "Evaluates a model on rubric data: generates K responses per example (batched, seeded: the same seed gives "
        "the same responses and scores), has the judge decide every criterion, and reports the HealthBench score "
        "(mean clipped to [0, 1] with a bootstrap standard error), the balanced reward, per-tag scores, response "
        "lengths (tokens and characters: mean, median, p90) and the judge's cost. --with-rubric shows the model the "
        "rubric in its prompt, as the RGSD teacher sees it; the difference between the two runs is the conditioning "
        "gap that RGSD distils. --baseline DIR (an earlier report on the same data) adds the response-length drift "
        "against it, and --audit-judge SPEC the exploitation rate: the share of newly credited criteria a second "
        "judge rejects. The summary goes to stdout; --out DIR also writes report.json, report.md and "
        "responses.jsonl (every prompt, response and verdict). --adapter evaluates a LoRA adapter (from rgsd sft or "
        "rgsd train) on its base model, merged in memory as rgsd merge would.",
        "  rgsd eval --model Qwen3-0.6B --data heldout.jsonl --judge rule --samples 4 --out eval-base\n"
        "  rgsd eval --model Qwen3-0.6B --data heldout.jsonl --judge rule --samples 4 --with-rubric --out eval-teacher\n"
        "  rgsd eval --model Qwen3-0.6B --adapter runs/rgsd/adapter --data heldout.jsonl --judge rule --out eval-rgsd\n"
        "  rgsd eval --model my-model --data healthbench.jsonl --cache verdicts.sqlite \\\n"
        "      --judge 'http:https://api.openai.com/v1#model=gpt-4.1&concurrency=16' --out eval-hb\n"
        "  rgsd eval --model my-model --data healthbench.jsonl --judge local:Qwen3-8B#batch=8 --cache v.sqlite\n"
        "  rgsd eval --model Qwen3-0.6B --adapter runs/grpo/adapter --data heldout.jsonl --judge rule \\\n"
        "      --out eval-grpo --baseline eval-base --audit-judge 'http:https://api.openai.com/v1#model=gpt-4.1' --cache v.sqlite\n",
        args, (int)(sizeof args / sizeof args[0]), 0};
    int parsed = rg_args_parse(&spec, argc, argv, NULL, NULL);
    return parsed == 1 ? 1 : parsed < 0 ? -1 : 0;
}

/* Each bad flag a one-line error (most of them usage errors); RG_ERR when one is bad. */
static int check_flags(eval_flags *o) {
    if (rg_cli_verifier_criteria("eval", o->verifier_text, &o->verifier)) return RG_ERR;
    if (o->samples < 1 || o->samples > 4096) return rg_usage_error("--samples must be in 1..4096 (see --help)");
    if (rg_cli_check_sampling(o->max_new, o->batch, o->temperature, o->top_p, o->top_k)) return RG_ERR;
    if (o->context < 0) return rg_usage_error("--context must be >= 0 (see --help)");
    if (o->resamples < 1 || o->resamples > 1000000) return rg_error("--resamples must be in 1..1000000");
    if (o->adapter_dir && o->bf16)
        return rg_usage_error("--adapter is merged into f32 weights; drop --bf16 (see --help)");
    if (o->teacher_template_path && !o->with_rubric)
        return rg_usage_error("--teacher-template needs --with-rubric (see --help)");
    if (o->rubric_in_text && !o->with_rubric) return rg_usage_error("--rubric-in needs --with-rubric (see --help)");
    if (o->rubric_in_text && rg_rubric_in_parse(o->rubric_in_text, &o->rubric_in)) return RG_ERR;
    if (o->audit_judge_text && !o->baseline_dir)
        return rg_usage_error("--audit-judge needs --baseline DIR: the criteria it re-grades are those new since the "
                              "baseline (see --help)");
    return RG_OK;
}

/* The data (refused early when the rule judge cannot grade it) and the teacher template. */
static int load_inputs(eval_inputs *in, const eval_flags *o, const rg_judge_spec *judge_spec) {
    rg_rubric_options load_options = {.skip_bad = o->skip_bad, .verifier_criteria = o->verifier};
    if (rg_rubric_load_all(o->data_path, &load_options, &in->data)) return RG_ERR;
    if (in->data.count == 0) return rg_error("%s: no examples", o->data_path);
    if (judge_spec->kind == RG_JUDGE_RULE && check_rule_patterns(&in->data, o->data_path)) return RG_ERR;
    if (o->teacher_template_path && rg_teacher_template_open(o->teacher_template_path, &in->teacher_template))
        return RG_ERR;
    /* A wrong baseline or audit judge fails here, before generation. */
    if (o->baseline_dir && (rg_report_load(o->baseline_dir, &in->baseline) ||
                            rg_report_check_ids(&in->baseline, in->data.examples, in->data.count)))
        return RG_ERR;
    if (o->audit_judge_text && rg_judge_spec_parse(o->audit_judge_text, &in->audit_spec)) return RG_ERR;
    in->has_audit_spec = o->audit_judge_text != NULL;
    if (in->has_audit_spec && in->audit_spec.kind == RG_JUDGE_RULE && check_rule_patterns(&in->data, o->data_path))
        return RG_ERR;
    return RG_OK;
}

/* rg_eval_run's options from the flags, with the generation progress bar. */
static rg_eval_options run_options(const eval_flags *o, const rg_teacher_template *teacher_template,
                                   lazy_progress *generate_bar) {
    rg_eval_options options = rg_eval_defaults();
    options.samples = (int)o->samples;
    options.with_rubric = o->with_rubric;
    options.teacher_template = teacher_template;
    options.rubric_in = o->rubric_in;
    options.system = o->system;
    options.enable_thinking = !o->no_thinking;
    options.max_new = (int)o->max_new;
    options.sample =
        (rg_sample_params){.temperature = (float)o->temperature, .top_k = (int)o->top_k, .top_p = (float)o->top_p};
    options.seed = (uint64_t)o->seed;
    options.batch = (int)o->batch;
    options.context = (int)o->context;
    options.skip_long = o->skip_long;
    options.resamples = (int)o->resamples;
    options.on_generate = on_generate_progress;
    options.progress_ctx = generate_bar;
    return options;
}

/* The summary on stdout; with --out also report.json, report.md and responses.jsonl. */
static int report(const rg_eval_result *result, const eval_flags *o, const eval_inputs *in,
                  const rg_eval_options *options, const rg_eval_diagnostics *diagnostics) {
    rg_eval_report_info info = {.model = o->model_path, .adapter = o->adapter_dir, .data = o->data_path,
                                .judge = o->judge_text, .options = options, .diagnostics = diagnostics};
    if (o->out_dir && rg_eval_write_report(result, in->data.examples, &info, o->out_dir)) return RG_ERR;
    char *summary = rg_eval_summary_text(result, &info);
    if (!summary) return RG_ERR;
    fputs(summary, stdout);
    free(summary);
    if (o->out_dir) rg_info("eval: wrote %s/report.json, report.md and responses.jsonl", o->out_dir);
    return RG_OK;
}

/* With --baseline: the length drift and (--audit-judge, sharing --cache) the
 * audit, then the report; without, the report alone. */
static int diagnose_and_report(const rg_eval_result *result, const eval_flags *o, const eval_inputs *in,
                               const rg_eval_options *options) {
    if (!o->baseline_dir) return report(result, o, in, options, NULL);
    rg_judge *audit_judge = NULL;
    rg_judge_options judge_options = {.cache_path = o->cache_path, .failures_path = o->failures_path};
    if (in->has_audit_spec && rg_judge_open(&audit_judge, &in->audit_spec, &judge_options)) return RG_ERR;
    rg_length_drift drift;
    rg_audit_result audit;
    int rc = rg_eval_diagnose(result, in->data.examples, &in->baseline, audit_judge, options->resamples,
                              options->seed, &drift, &audit);
    rg_eval_diagnostics diagnostics = {.baseline = o->baseline_dir, .drift = &drift,
                                       .audit_judge = o->audit_judge_text, .audit = audit_judge ? &audit : NULL};
    if (rc == RG_OK) rc = report(result, o, in, options, &diagnostics);
    rg_audit_result_free(&audit);
    rg_judge_close(audit_judge);
    return rc;
}

/* The model (with --adapter merged in) and the judge, then the evaluation and its report. */
static int evaluate(const eval_flags *o, const eval_inputs *in, const rg_judge_spec *judge_spec) {
    rg_lm lm = {0};
    rg_judge *judge = NULL;
    rg_eval_result result = {0};
    int rc = RG_ERR;
    if (rg_lm_open(&lm, o->model_path, o->tokenizer, o->chat_family, o->bf16)) return RG_ERR;
    if (o->adapter_dir) {
        /* W += (alpha / r) B A for every adapted projection: the same model rgsd merge writes. */
        rg_lora lora;
        if (rg_peft_load(&lora, &lm.model.cfg, o->adapter_dir)) goto done;
        int merged = rg_lora_merge(&lora, &lm.model);
        rg_lora_free(&lora);
        if (merged) goto done;
    }
    int show_progress = rg_log_get_level() != RG_LOG_QUIET;
    lazy_progress judge_bar = {.enabled = show_progress}, generate_bar = {.enabled = show_progress};
    rg_judge_options judge_options = {.cache_path = o->cache_path,
                                      .failures_path = o->failures_path,
                                      .on_progress = on_judge_progress,
                                      .progress_ctx = &judge_bar};
    if (rg_judge_open(&judge, judge_spec, &judge_options)) goto done;
    rg_eval_options options = run_options(o, in->teacher_template, &generate_bar);
    if (rg_eval_run(&lm, in->data.examples, in->data.count, judge, &options, &result)) goto done;
    rc = diagnose_and_report(&result, o, in, &options);
done:
    rg_eval_result_free(&result);
    rg_judge_close(judge);
    rg_lm_close(&lm);
    return rc;
}

int cmd_eval(int argc, char **argv) {
    eval_flags o;
    int parsed = parse_flags(argc, argv, &o);
    if (parsed != 0) return parsed == 1 ? 0 : rg_cli_fail();
    if (check_flags(&o)) return rg_cli_fail();

    nn_blas_init(); /* OpenBLAS's AVX2/AVX-512 kernels where it fell back to SSE3 (before any thread uses it) */
    rg_judge_spec judge_spec;
    if (rg_judge_spec_parse(o.judge_text, &judge_spec)) return rg_cli_fail();
    eval_inputs in = {0};
    int rc = load_inputs(&in, &o, &judge_spec) || evaluate(&o, &in, &judge_spec) ? RG_ERR : RG_OK;
    rg_teacher_template_free(in.teacher_template);
    rg_report_free(&in.baseline);
    if (in.has_audit_spec) rg_judge_spec_free(&in.audit_spec);
    rg_dataset_free(&in.data);
    rg_judge_spec_free(&judge_spec);
    return rc ? rg_cli_fail() : 0;
}
