/* cmd_gap.c — `rgsd gap`: the self-internalisation gap of a model on rubric
 * data, judge-free, as the rubric reward-hacking study defines it
 * (rgsd/gap_measure.h): K responses per example sampled with the rubric in
 * the prompt (the teacher's view), each scored with and without it;
 *     gap = per-token mean log p(y | plain prompt) - per-token mean log p(y | rubric prompt),
 * averaged over an example's samples, then over examples (with a standard
 * error over examples). The think span of thinking models is left out, as in
 * training. A model that has internalised the rubric assigns its
 * rubric-guided answers the same probability without being shown the rubric:
 * gap -> 0 from below. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/data_flags.h"
#include "cli/train_setup.h"
#include "lm/lm.h"
#include "model/train.h"
#include "nn/nn.h"
#include "rgsd/gap_measure.h"
#include "rgsd/rgsd_run.h"
#include "session/setup.h"
#include "train/checkpoint.h"
#include "train/lora_merge.h"

typedef struct {
    const char *model_dir, *adapter_dir, *data_path, *teacher_template_path, *teacher_context, *system, *chat_family;
    const char *verifier_text, *rubric_in_text;
    long max_new, seed, gen_batch, context, samples;
    double temperature;
    int strict, skip_bad, no_thinking, keep_think;
    /* parsed from the above by cmd_gap and check_flags */
    rg_verifier_criteria verifier;
    rg_teacher_context tcontext;
    rg_rubric_in rubric_in;
} gap_options;

/* What the model is measured on: the rubric data and --teacher-template. */
typedef struct {
    rg_dataset data;
    rg_teacher_template *tmpl;
} gap_inputs;

/* The flag table: 0 to go on, 1 after --help, -1 on a usage error. */
static int parse_flags(int argc, char **argv, gap_options *o) {
    *o = (gap_options){.teacher_context = "rubric", .verifier_text = "skip", .rubric_in_text = "user", .max_new = 256,
                       .gen_batch = 8, .samples = 1, .temperature = 1.0};
    rg_arg specs[] = {
        {"model", RG_ARG_STRING, &o->model_dir, "DIR", "Hugging Face model folder", 1},
        {"adapter", RG_ARG_STRING, &o->adapter_dir, "DIR", "PEFT LoRA adapter merged into the model", 0},
        {"data", RG_ARG_STRING, &o->data_path, "FILE", "rubric data, JSONL, any format", 1},
        {"teacher-context", RG_ARG_STRING, &o->teacher_context, "WHAT", "rubric | reference", 0},
        {"teacher-template", RG_ARG_STRING, &o->teacher_template_path, "NAME|FILE",
         "teacher prompt: default | paper | a template file", 0},
        {"rubric-in", RG_ARG_STRING, &o->rubric_in_text, "WHERE",
         "the rubric in the last user message (user) or in the system message (system)", 0},
        {"samples", RG_ARG_INT, &o->samples, "K", "responses sampled per example (the study used 10)", 0},
        {"max-new", RG_ARG_INT, &o->max_new, "N", "response tokens at most", 0},
        {"temperature", RG_ARG_FLOAT, &o->temperature, "T", "sampling temperature", 0},
        {"seed", RG_ARG_INT, &o->seed, "N", "sampling seed", 0},
        {"gen-batch", RG_ARG_INT, &o->gen_batch, "N", "sequences decoded together", 0},
        {"context", RG_ARG_INT, &o->context, "N", "tokens a sequence may span", 0},
        {"system", RG_ARG_STRING, &o->system, "TEXT", "system message for conversations without one", 0},
        {"no-thinking", RG_ARG_FLAG, &o->no_thinking, NULL, "Qwen3: enable_thinking = false", 0},
        {"keep-think", RG_ARG_FLAG, &o->keep_think, NULL, "count the <think> span too", 0},
        {"strict", RG_ARG_FLAG, &o->strict, NULL, "an example the teacher cannot take is an error (default: skip)",
         0},
        {"skip-bad", RG_ARG_FLAG, &o->skip_bad, NULL, "skip (and count) invalid data lines", 0},
        RG_VERIFIER_CRITERIA_ROW(o->verifier_text),
        {"chat-template", RG_ARG_STRING, &o->chat_family, "FAMILY", "override the model's chat template", 0},
    };
    rg_command_spec spec = {
        .name = "gap",
        .synopsis = "--model DIR [--adapter DIR] --data FILE.jsonl [options]",
        .summary = "The self-internalisation gap, judge-free (arXiv 2605.12474): K responses per example sampled with "
                   "the rubric in the prompt, each scored with and without it; gap = per-token mean log p(y|without "
                   "rubric) - per-token mean log p(y|with rubric), averaged over an example's samples, then over "
                   "examples with a standard error. <= 0; rises towards 0 as the rubric is internalised. Prints one "
                   "JSON line per example, then a summary line {\"summary\": true, \"gap\": ..., \"gap_se\": ...}.",
        .examples = "rgsd gap --model qwen --adapter run1 --data heldout.jsonl --samples 10 > gap.jsonl\n"
                    "rgsd gap --model qwen --data heldout.jsonl --samples 10 --rubric-in system\n",
        .args = specs,
        .nargs = (int)(sizeof specs / sizeof *specs),
    };
    int parsed = rg_args_parse(&spec, argc, argv, NULL, NULL);
    return parsed == 1 ? 1 : parsed < 0 ? -1 : 0;
}

/* --teacher-context and the numeric flags (after --verifier-criteria); RG_ERR with the message. */
static int check_flags(gap_options *o) {
    if (rg_teacher_context_parse(o->teacher_context, &o->tcontext) != RG_OK)
        return rg_error("rgsd gap: --teacher-context must be rubric or reference");
    if (rg_rubric_in_parse(o->rubric_in_text, &o->rubric_in) != RG_OK) return RG_ERR;
    if (o->samples < 1 || o->samples > 1024) return rg_usage_error("rgsd gap: --samples must be in 1..1024");
    if (o->max_new < 1 || o->gen_batch < 1 || o->gen_batch > RG_GEN_MAX_BATCH || o->context < 0 ||
        !(o->temperature >= 0))
        return rg_usage_error("rgsd gap: a numeric flag is out of range (see rgsd gap --help)");
    return RG_OK;
}

/* The data (empty rubrics kept: skipped and counted by build_prompts) and the teacher template. */
static int load_inputs(gap_inputs *in, const gap_options *o) {
    rg_rubric_options load_options = {.skip_bad = o->skip_bad, .allow_empty_rubric = 1, .verifier_criteria = o->verifier};
    if (rg_rubric_load_all(o->data_path, &load_options, &in->data) != RG_OK) return RG_ERR;
    if (o->teacher_template_path && rg_teacher_template_open(o->teacher_template_path, &in->tmpl) != RG_OK)
        return RG_ERR;
    return RG_OK;
}

/* Each example's teacher (rubric) and student (plain) prompt; the skipped ones counted in a warning. */
static int build_prompts(rg_rgsd_data *prompts, const rg_lm *lm, const gap_options *o, const gap_inputs *in,
                         int context_len) {
    rg_rgsd_data_options data_options = {.teacher_template = in->tmpl, .context = o->tcontext,
                                         .rubric_in = o->rubric_in, .system = o->system,
                                         .enable_thinking = !o->no_thinking, .max_new = (int)o->max_new,
                                         .context_len = context_len, .strict = o->strict};
    if (rg_rgsd_data_build(prompts, lm, in->data.examples, in->data.count, &data_options) != RG_OK) return RG_ERR;
    if (prompts->skipped_empty || prompts->skipped_long)
        rg_warn("%zu examples skipped (%zu with nothing to condition on, %zu too long for the context)",
                prompts->skipped_empty + prompts->skipped_long, prompts->skipped_empty, prompts->skipped_long);
    if (prompts->n == 0) return rg_error("%s: no example to measure", o->data_path);
    return RG_OK;
}

/* A number for a JSON line; NAN (a standard error of one example) is null. */
static void json_number(char *buf, size_t size, double v) {
    if (isfinite(v)) snprintf(buf, size, "%.6f", v);
    else snprintf(buf, size, "null");
}

/* Every example's line, then the summary line and the closing log line. */
static int print_gaps(const gap_options *o, const gap_inputs *in, const rg_rgsd_data *prompts,
                      const rg_gap_result *r) {
    for (int i = 0; i < r->n_rows; i++) {
        const rg_gap_row *row = &r->rows[i];
        const rg_example *ex = &in->data.examples[prompts->prompts[row->prompt].example];
        cJSON *line = cJSON_CreateObject();
        if (!line) return RG_ERR;
        cJSON_AddStringToObject(line, "id", ex->id ? ex->id : "");
        cJSON_AddNumberToObject(line, "gap", row->gap);
        cJSON_AddNumberToObject(line, "logp_plain", row->logp_plain);
        cJSON_AddNumberToObject(line, "logp_rubric", row->logp_rubric);
        cJSON_AddNumberToObject(line, "samples", row->samples);
        cJSON_AddNumberToObject(line, "tokens", (double)row->tokens);
        char *text = cJSON_PrintUnformatted(line);
        cJSON_Delete(line);
        if (!text) return RG_ERR;
        printf("%s\n", text);
        free(text);
    }
    if (r->n_rows == 0) return rg_error("%s: no sampled response had a token to measure", o->data_path);
    char se[32];
    json_number(se, sizeof se, r->se);
    printf("{\"summary\": true, \"gap\": %.6f, \"gap_se\": %s, \"examples\": %d, \"samples\": %d, "
           "\"tokens\": %ld, \"empty\": %d, \"skipped\": %zu, \"rubric_in\": \"%s\"}\n",
           r->gap, se, r->n_rows, r->samples, r->tokens, r->empty, prompts->skipped_empty + prompts->skipped_long,
           o->rubric_in_text);
    rg_info("gap %.4f +- %.4f nats per token over %d examples x %ld samples (%ld tokens); judge calls: 0", r->gap,
            isfinite(r->se) ? r->se : 0.0, r->n_rows, o->samples, r->tokens);
    return RG_OK;
}

/* The model (with --adapter merged in), K responses per example sampled from its teacher prompt and
 * scored (rg_gap_measure), then print_gaps. */
static int measure(const gap_options *o, const gap_inputs *in) {
    rg_lm lm = {0};
    rg_rgsd_data prompts = {0};
    rg_gap_result result = {0};
    int rc = RG_ERR;
    if (rg_lm_open(&lm, o->model_dir, NULL, o->chat_family, 0) != RG_OK) return RG_ERR;
    if (o->adapter_dir) {
        rg_lora lora;
        if (rg_peft_load(&lora, &lm.model.cfg, o->adapter_dir) != RG_OK) goto done;
        int merged = rg_lora_merge(&lora, &lm.model);
        rg_lora_free(&lora);
        if (merged != RG_OK) goto done;
    }
    int context_len = rg_context_len(&lm.model.cfg, o->context);
    if (build_prompts(&prompts, &lm, o, in, context_len) != RG_OK) goto done;
    int32_t stop[1] = {lm.end_of_turn};
    rg_gap_config cfg = {.samples = (int)o->samples,
                         .gen = {.max_new = (int)o->max_new,
                                 .sample = {.temperature = (float)o->temperature, .top_p = 1.0f},
                                 .seed = (uint64_t)o->seed, .batch = (int)o->gen_batch, .context = context_len,
                                 .stop_ids = stop, .n_stop_ids = lm.end_of_turn >= 0}};
    rg_think_tokens(&lm, o->keep_think, &cfg.think_open, &cfg.think_close);
    if (rg_gap_measure(&lm.model, NULL, &prompts, &cfg, &result, NULL) != RG_OK) goto done;
    rc = print_gaps(o, in, &prompts, &result);
done:
    rg_gap_result_free(&result);
    rg_rgsd_data_free(&prompts);
    rg_lm_close(&lm);
    return rc;
}

int cmd_gap(int argc, char **argv) {
    gap_options o;
    int parsed = parse_flags(argc, argv, &o);
    if (parsed) return parsed == 1 ? 0 : rg_cli_fail();
    if (rg_cli_verifier_criteria("gap", o.verifier_text, &o.verifier)) return rg_cli_fail();
    nn_blas_init(); /* OpenBLAS's AVX2/AVX-512 kernels, not its SSE3 fallback */
    if (check_flags(&o) != RG_OK) return rg_cli_fail();

    gap_inputs in = {0};
    int rc = load_inputs(&in, &o) == RG_OK && measure(&o, &in) == RG_OK ? 0 : 1;
    if (rc == 1) rg_cli_fail();
    if (in.tmpl) rg_teacher_template_free(in.tmpl);
    rg_dataset_free(&in.data);
    return rc;
}
