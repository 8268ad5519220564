/* cmd_gap.c — `rgsd gap`: the self-internalisation gap of a model on rubric
 * data, judge-free. For each example one response is sampled from the
 * rubric-conditioned policy (the teacher's view), then scored with and
 * without the rubric in the prompt:
 *     gap = mean over response tokens of log p(y_t | rubric prompt) - log p(y_t | plain prompt)
 * (the think span of thinking models left out, as in training). A model that
 * has internalised the rubric assigns its rubric-guided answers the same
 * probability without being shown the rubric: gap -> 0. */
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
#include "rgsd/rgsd_run.h"
#include "session/setup.h"
#include "train/checkpoint.h"
#include "train/lora_merge.h"

typedef struct {
    const char *model_dir, *adapter_dir, *data_path, *teacher_template_path, *teacher_context, *system, *chat_family;
    const char *verifier_text;
    long max_new, seed, gen_batch, context;
    double temperature;
    int strict, skip_bad, no_thinking, keep_think;
    /* parsed from the above by cmd_gap and check_flags */
    rg_verifier_criteria verifier;
    rg_teacher_context tcontext;
} gap_options;

/* What the model is measured on: the rubric data and --teacher-template. */
typedef struct {
    rg_dataset data;
    rg_teacher_template *tmpl;
} gap_inputs;

/* The scorer's buffers: activations for one prompt + response, and per response token the log-probs with
 * and without the rubric and the mask of the tokens that count. */
typedef struct {
    rg_train_acts acts;
    int acts_ready;
    double *with, *without;
    uint8_t *mask;
    int32_t think_open, think_close;
} gap_scorer;

/* The flag table: 0 to go on, 1 after --help, -1 on a usage error. */
static int parse_flags(int argc, char **argv, gap_options *o) {
    *o = (gap_options){.teacher_context = "rubric", .verifier_text = "skip", .max_new = 256, .gen_batch = 8,
                       .temperature = 1.0};
    rg_arg specs[] = {
        {"model", RG_ARG_STRING, &o->model_dir, "DIR", "Hugging Face model folder", 1},
        {"adapter", RG_ARG_STRING, &o->adapter_dir, "DIR", "PEFT LoRA adapter merged into the model", 0},
        {"data", RG_ARG_STRING, &o->data_path, "FILE", "rubric data, JSONL, any format", 1},
        {"teacher-context", RG_ARG_STRING, &o->teacher_context, "WHAT", "rubric | reference", 0},
        {"teacher-template", RG_ARG_STRING, &o->teacher_template_path, "FILE", "teacher prompt template", 0},
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
        .summary = "The self-internalisation gap, judge-free: one response per example sampled with the rubric in the "
                   "prompt, scored with and without it; gap = mean over response tokens of log p(y|with rubric) - "
                   "log p(y|without). Prints one JSON line per example, then a summary line {\"gap\": ...}.",
        .examples = "rgsd gap --model qwen --adapter run1 --data heldout.jsonl > gap.jsonl\n",
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
    if (o->max_new < 1 || o->gen_batch < 1 || o->gen_batch > RG_GEN_MAX_BATCH || o->context < 0 ||
        !(o->temperature >= 0))
        return rg_usage_error("rgsd gap: a numeric flag is out of range (see rgsd gap --help)");
    return RG_OK;
}

/* The data (empty rubrics kept: skipped and counted by build_prompts) and the teacher template. */
static int load_inputs(gap_inputs *in, const gap_options *o) {
    rg_rubric_options load_options = {.skip_bad = o->skip_bad, .allow_empty_rubric = 1, .verifier_criteria = o->verifier};
    if (rg_rubric_load_all(o->data_path, &load_options, &in->data) != RG_OK) return RG_ERR;
    if (o->teacher_template_path && rg_teacher_template_load(o->teacher_template_path, &in->tmpl) != RG_OK)
        return RG_ERR;
    return RG_OK;
}

/* Each example's teacher (rubric) and student (plain) prompt; the skipped ones counted in a warning. */
static int build_prompts(rg_rgsd_data *prompts, const rg_lm *lm, const gap_options *o, const gap_inputs *in,
                         int context_len) {
    rg_rgsd_data_options data_options = {.teacher_template = in->tmpl, .context = o->tcontext, .system = o->system,
                                         .enable_thinking = !o->no_thinking, .max_new = (int)o->max_new,
                                         .context_len = context_len, .strict = o->strict};
    if (rg_rgsd_data_build(prompts, lm, in->data.examples, in->data.count, &data_options) != RG_OK) return RG_ERR;
    if (prompts->skipped_empty || prompts->skipped_long)
        rg_warn("%zu examples skipped (%zu with nothing to condition on, %zu too long for the context)",
                prompts->skipped_empty + prompts->skipped_long, prompts->skipped_empty, prompts->skipped_long);
    if (prompts->n == 0) return rg_error("%s: no example to measure", o->data_path);
    return RG_OK;
}

static int scorer_init(gap_scorer *sc, const rg_lm *lm, const gap_options *o, int max_prompt_len) {
    sc->with = rg_malloc(sizeof(double) * (size_t)(o->max_new + 1));
    sc->without = rg_malloc(sizeof(double) * (size_t)(o->max_new + 1));
    sc->mask = rg_malloc((size_t)(o->max_new + 1));
    if (!sc->with || !sc->without || !sc->mask) return RG_ERR;
    if (rg_train_acts_alloc(&sc->acts, &lm->model.cfg, NULL, max_prompt_len + (int)o->max_new, 64) != RG_OK)
        return RG_ERR;
    sc->acts_ready = 1;
    rg_think_tokens(lm, o->keep_think, &sc->think_open, &sc->think_close);
    return RG_OK;
}

static void scorer_free(gap_scorer *sc) {
    free(sc->with);
    free(sc->without);
    free(sc->mask);
    if (sc->acts_ready) rg_train_acts_free(&sc->acts);
}

/* One example: its response g scored under the teacher's and the student's prompt, the think span masked
 * out, its JSON line printed; its sum of log-prob differences and token count added to *total, *tokens. */
static int example_gap(gap_scorer *sc, const rg_lm *lm, const rg_rgsd_prompt *p, const rg_gen_result *g,
                       const rg_example *ex, double *total, long *tokens) {
    if (rg_rgsd_response_logprobs(&lm->model, &sc->acts, p->teacher_prompt, p->teacher_prompt_len, g->tokens,
                                  g->n_tokens, sc->with) != RG_OK ||
        rg_rgsd_response_logprobs(&lm->model, &sc->acts, p->student_prompt, p->student_prompt_len, g->tokens,
                                  g->n_tokens, sc->without) != RG_OK)
        return RG_ERR;
    rg_rgsd_think_mask(g->tokens, g->n_tokens, sc->think_open, sc->think_close, p->starts_in_think, sc->mask);
    double sum = 0, lw = 0, lo = 0;
    int count = 0;
    for (int t = 0; t < g->n_tokens; t++)
        if (sc->mask[t]) sum += sc->with[t] - sc->without[t], count++;
    for (int t = 0; t < g->n_tokens; t++)
        if (sc->mask[t]) lw += sc->with[t], lo += sc->without[t];
    *total += sum;
    *tokens += count;
    cJSON *line = cJSON_CreateObject();
    if (!line) return RG_ERR;
    cJSON_AddStringToObject(line, "id", ex->id ? ex->id : "");
    cJSON_AddNumberToObject(line, "gap", count ? sum / count : 0.0);
    cJSON_AddNumberToObject(line, "tokens", count);
    cJSON_AddNumberToObject(line, "logp_with_rubric", lw);
    cJSON_AddNumberToObject(line, "logp_without_rubric", lo);
    char *text = cJSON_PrintUnformatted(line);
    cJSON_Delete(line);
    if (!text) return RG_ERR;
    printf("%s\n", text);
    free(text);
    return RG_OK;
}

/* Every example's line, then the summary line and the closing log line. */
static int print_gaps(const rg_lm *lm, const gap_options *o, const gap_inputs *in, const rg_rgsd_data *prompts,
                      const rg_gen_result *results) {
    gap_scorer sc = {0};
    int n = prompts->n, rc = RG_ERR;
    double total = 0;
    long tokens = 0;
    if (scorer_init(&sc, lm, o, prompts->max_prompt_len) != RG_OK) goto done;
    for (int i = 0; i < n; i++) {
        const rg_rgsd_prompt *p = &prompts->prompts[i];
        if (example_gap(&sc, lm, p, &results[i], &in->data.examples[p->example], &total, &tokens) != RG_OK)
            goto done;
    }
    printf("{\"summary\": true, \"gap\": %.6f, \"examples\": %d, \"tokens\": %ld, \"skipped\": %zu}\n",
           tokens ? total / (double)tokens : 0.0, n, tokens, prompts->skipped_empty + prompts->skipped_long);
    rg_info("gap %.4f nats per token over %d examples (%ld tokens); judge calls: 0", tokens ? total / (double)tokens : 0.0,
            n, tokens);
    rc = RG_OK;
done:
    scorer_free(&sc);
    return rc;
}

/* The model (with --adapter merged in), one response per example sampled from its teacher prompt, then
 * print_gaps. */
static int measure(const gap_options *o, const gap_inputs *in) {
    rg_lm lm = {0};
    rg_rgsd_data prompts = {0};
    rg_gen_result *results = NULL;
    const int32_t **prompt_ids = NULL;
    int *prompt_lens = NULL;
    int generated = 0, rc = RG_ERR;
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
    int n = prompts.n;
    prompt_ids = rg_calloc((size_t)n, sizeof *prompt_ids);
    prompt_lens = rg_calloc((size_t)n, sizeof *prompt_lens);
    results = rg_calloc((size_t)n, sizeof *results);
    if (!prompt_ids || !prompt_lens || !results) goto done;
    for (int i = 0; i < n; i++) {
        prompt_ids[i] = prompts.prompts[i].teacher_prompt;
        prompt_lens[i] = prompts.prompts[i].teacher_prompt_len;
    }
    int32_t stop[1] = {lm.end_of_turn};
    rg_gen_options gen = {.max_new = (int)o->max_new, .sample = {.temperature = (float)o->temperature, .top_p = 1.0f},
                          .seed = (uint64_t)o->seed, .batch = (int)o->gen_batch, .context = context_len,
                          .stop_ids = stop, .n_stop_ids = lm.end_of_turn >= 0};
    if (rg_generate(&lm.model, n, prompt_ids, prompt_lens, &gen, results, NULL, NULL) != RG_OK) goto done;
    generated = 1;
    rc = print_gaps(&lm, o, in, &prompts, results);
done:
    if (generated) rg_gen_results_free(results, prompts.n);
    free(results);
    free(prompt_ids);
    free(prompt_lens);
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
