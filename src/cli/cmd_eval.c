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

int cmd_eval(int argc, char **argv) {
    const char *model_path = NULL, *data_path = NULL, *judge_text = NULL, *out_dir = NULL, *cache_path = NULL,
               *failures_path = NULL, *system = NULL, *tokenizer = NULL, *chat_family = NULL,
               *teacher_template_path = NULL, *adapter_dir = NULL;
    long samples = 1, max_new = 256, top_k = 0, seed = 0, batch = 8, context = 0, resamples = RG_BOOTSTRAP_RESAMPLES;
    double temperature = 1.0, top_p = 1.0;
    const char *verifier_text = "skip";
    int with_rubric = 0, bf16 = 0, skip_long = 0, skip_bad = 0, no_thinking = 0;
    rg_arg args[] = {
        {"model", RG_ARG_STRING, &model_path, "DIR", "model folder (HF safetensors) or .gguf file", 1},
        {"adapter", RG_ARG_STRING, &adapter_dir, "DIR",
         "a PEFT LoRA folder (adapter_config.json + adapter_model.safetensors), merged into the f32 weights", 0},
        {"data", RG_ARG_STRING, &data_path, "FILE.jsonl", "rubric data in any format rgsd reads (docs/rubric-data.md)",
         1},
        {"judge", RG_ARG_STRING, &judge_text, "SPEC",
         "rule | local:MODEL_DIR[#bf16=0&batch=N] | http:URL#model=NAME[&...] (docs/judges.md)", 1},
        {"with-rubric", RG_ARG_FLAG, &with_rubric, NULL,
         "put the rubric in the prompt (the RGSD teacher's view); run with and without for the conditioning gap", 0},
        {"teacher-template", RG_ARG_STRING, &teacher_template_path, "FILE",
         "with --with-rubric: a template file with {{question}} and {{criteria}} (default: the built-in one)", 0},
        {"samples", RG_ARG_INT, &samples, "K", "responses per example", 0},
        {"out", RG_ARG_STRING, &out_dir, "DIR", "write report.json, report.md and responses.jsonl here", 0},
        {"max-new", RG_ARG_INT, &max_new, "N", "new tokens at most per response", 0},
        {"temperature", RG_ARG_FLOAT, &temperature, "T", "sampling temperature; 0 = greedy", 0},
        {"top-p", RG_ARG_FLOAT, &top_p, "P", "nucleus sampling mass in (0, 1]; 1 = off", 0},
        {"top-k", RG_ARG_INT, &top_k, "K", "keep the K most likely tokens (default 0 = off)", 0},
        {"seed", RG_ARG_INT, &seed, "S", "seed for sampling and the bootstrap (default 0); same seed, same report", 0},
        {"batch", RG_ARG_INT, &batch, "B", "sequences decoded together", 0},
        {"context", RG_ARG_INT, &context, "N", "context length (default: max_position_embeddings, capped at 4096)", 0},
        {"skip-long", RG_ARG_FLAG, &skip_long, NULL,
         "leave out (and count) examples whose prompt does not fit the context, instead of failing", 0},
        {"system", RG_ARG_STRING, &system, "TEXT", "system message for conversations without one", 0},
        {"no-thinking", RG_ARG_FLAG, &no_thinking, NULL, "Qwen3: render with enable_thinking=false", 0},
        {"cache", RG_ARG_STRING, &cache_path, "FILE", "SQLite verdict cache (http and local judges)", 0},
        {"failures", RG_ARG_STRING, &failures_path, "FILE", "append unjudgeable criteria with the raw answer here", 0},
        {"resamples", RG_ARG_INT, &resamples, "N", "bootstrap resamples for the standard errors", 0},
        {"skip-bad", RG_ARG_FLAG, &skip_bad, NULL, "skip (and count) invalid data lines instead of failing", 0},
        RG_VERIFIER_CRITERIA_ROW(verifier_text),
        {"tokenizer", RG_ARG_STRING, &tokenizer, "DIR", "tokenizer folder (default: the model's)", 0},
        {"chat-template", RG_ARG_STRING, &chat_family, "FAMILY", "override the chat template family", 0},
        {"bf16", RG_ARG_FLAG, &bf16, NULL, "hold the weights in bf16 (half the memory and bandwidth)", 0},
    };
    rg_command_spec spec = {
        "eval", "--model DIR --data FILE.jsonl --judge SPEC [--with-rubric] [--samples K] [--out DIR] [options]",
        "Evaluates a model on rubric data: generates K responses per example (batched, seeded: the same seed gives "
        "the same responses and scores), has the judge decide every criterion, and reports the HealthBench score "
        "(mean clipped to [0, 1] with a bootstrap standard error), the balanced reward, per-tag scores, response "
        "lengths (tokens and characters: mean, median, p90) and the judge's cost. --with-rubric shows the model the "
        "rubric in its prompt, as the RGSD teacher sees it; the difference between the two runs is the conditioning "
        "gap that RGSD distils. The summary goes to stdout; --out DIR also writes report.json, report.md and "
        "responses.jsonl (every prompt, response and verdict). --adapter evaluates a LoRA adapter (from rgsd sft or "
        "rgsd train) on its base model, merged in memory as rgsd merge would.",
        "  rgsd eval --model Qwen3-0.6B --data heldout.jsonl --judge rule --samples 4 --out eval-base\n"
        "  rgsd eval --model Qwen3-0.6B --data heldout.jsonl --judge rule --samples 4 --with-rubric --out eval-teacher\n"
        "  rgsd eval --model Qwen3-0.6B --adapter runs/rgsd/adapter --data heldout.jsonl --judge rule --out eval-rgsd\n"
        "  rgsd eval --model my-model --data healthbench.jsonl --cache verdicts.sqlite \\\n"
        "      --judge 'http:https://api.openai.com/v1#model=gpt-4.1&concurrency=16' --out eval-hb\n"
        "  rgsd eval --model my-model --data healthbench.jsonl --judge local:Qwen3-8B#batch=8 --cache v.sqlite\n",
        args, (int)(sizeof args / sizeof args[0]), 0};
    int parsed = rg_args_parse(&spec, argc, argv, NULL, NULL);
    if (parsed != 0) return parsed == 1 ? 0 : rg_cli_fail();
    rg_verifier_criteria verifier;
    if (rg_cli_verifier_criteria("eval", verifier_text, &verifier)) return rg_cli_fail();
    if (samples < 1 || samples > 4096)
        return rg_usage_error("--samples must be in 1..4096 (see --help)"), rg_cli_fail();
    if (rg_cli_check_sampling(max_new, batch, temperature, top_p, top_k)) return rg_cli_fail();
    if (context < 0) return rg_usage_error("--context must be >= 0 (see --help)"), rg_cli_fail();
    if (resamples < 1 || resamples > 1000000) return rg_error("--resamples must be in 1..1000000"), rg_cli_fail();
    if (adapter_dir && bf16)
        return rg_usage_error("--adapter is merged into f32 weights; drop --bf16 (see --help)"), rg_cli_fail();
    if (teacher_template_path && !with_rubric)
        return rg_usage_error("--teacher-template needs --with-rubric (see --help)"), rg_cli_fail();

    nn_blas_init(); /* OpenBLAS's AVX2/AVX-512 kernels where it fell back to SSE3 (before any thread uses it) */
    rg_judge_spec judge_spec;
    if (rg_judge_spec_parse(judge_text, &judge_spec)) return rg_cli_fail();
    rg_dataset data = {0};
    rg_lm lm = {0};
    int lm_open = 0;
    rg_judge *judge = NULL;
    rg_teacher_template *teacher_template = NULL;
    rg_eval_result result = {0};
    char *summary = NULL;
    int rc = RG_ERR;
    rg_rubric_options load_options = {.skip_bad = skip_bad, .verifier_criteria = verifier};
    if (rg_rubric_load_all(data_path, &load_options, &data)) goto done;
    if (data.count == 0) {
        rg_error("%s: no examples", data_path);
        goto done;
    }
    if (judge_spec.kind == RG_JUDGE_RULE && check_rule_patterns(&data, data_path)) goto done;
    if (teacher_template_path && rg_teacher_template_load(teacher_template_path, &teacher_template)) goto done;
    if (rg_lm_open(&lm, model_path, tokenizer, chat_family, bf16)) goto done;
    lm_open = 1;
    if (adapter_dir) {
        /* W += (alpha / r) B A for every adapted projection: the same model rgsd merge writes. */
        rg_lora lora;
        if (rg_peft_load(&lora, &lm.model.cfg, adapter_dir)) goto done;
        int merged = rg_lora_merge(&lora, &lm.model);
        rg_lora_free(&lora);
        if (merged) goto done;
    }
    int show_progress = rg_log_get_level() != RG_LOG_QUIET;
    lazy_progress judge_bar = {.enabled = show_progress}, generate_bar = {.enabled = show_progress};
    rg_judge_options judge_options = {.cache_path = cache_path,
                                      .failures_path = failures_path,
                                      .on_progress = on_judge_progress,
                                      .progress_ctx = &judge_bar};
    if (rg_judge_open(&judge, &judge_spec, &judge_options)) goto done;

    rg_eval_options options = rg_eval_defaults();
    options.samples = (int)samples;
    options.with_rubric = with_rubric;
    options.teacher_template = teacher_template;
    options.system = system;
    options.enable_thinking = !no_thinking;
    options.max_new = (int)max_new;
    options.sample = (rg_sample_params){.temperature = (float)temperature, .top_k = (int)top_k, .top_p = (float)top_p};
    options.seed = (uint64_t)seed;
    options.batch = (int)batch;
    options.context = (int)context;
    options.skip_long = skip_long;
    options.resamples = (int)resamples;
    options.on_generate = on_generate_progress;
    options.progress_ctx = &generate_bar;
    if (rg_eval_run(&lm, data.examples, data.count, judge, &options, &result)) goto done;
    rg_eval_report_info info = {.model = model_path, .adapter = adapter_dir, .data = data_path, .judge = judge_text, .options = &options};
    if (out_dir && rg_eval_write_report(&result, data.examples, &info, out_dir)) goto done;
    if (!(summary = rg_eval_summary_text(&result, &info))) goto done;
    fputs(summary, stdout);
    if (out_dir) rg_info("eval: wrote %s/report.json, report.md and responses.jsonl", out_dir);
    rc = RG_OK;
done:
    free(summary);
    rg_eval_result_free(&result);
    rg_judge_close(judge);
    if (lm_open) rg_lm_close(&lm);
    rg_teacher_template_free(teacher_template);
    rg_dataset_free(&data);
    rg_judge_spec_free(&judge_spec);
    return rc ? rg_cli_fail() : 0;
}
