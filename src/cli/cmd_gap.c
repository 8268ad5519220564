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

int cmd_gap(int argc, char **argv) {
    const char *model_dir = NULL, *adapter_dir = NULL, *data_path = NULL, *teacher_template_path = NULL;
    const char *teacher_context = "rubric", *system = NULL, *chat_family = NULL;
    long max_new = 256, seed = 0, gen_batch = 8, context = 0;
    double temperature = 1.0;
    const char *verifier_text = "skip";
    int strict = 0, skip_bad = 0, no_thinking = 0, keep_think = 0;
    rg_arg specs[] = {
        {"model", RG_ARG_STRING, &model_dir, "DIR", "Hugging Face model folder", 1},
        {"adapter", RG_ARG_STRING, &adapter_dir, "DIR", "PEFT LoRA adapter merged into the model", 0},
        {"data", RG_ARG_STRING, &data_path, "FILE", "rubric data, JSONL, any format", 1},
        {"teacher-context", RG_ARG_STRING, &teacher_context, "WHAT", "rubric | reference", 0},
        {"teacher-template", RG_ARG_STRING, &teacher_template_path, "FILE", "teacher prompt template", 0},
        {"max-new", RG_ARG_INT, &max_new, "N", "response tokens at most", 0},
        {"temperature", RG_ARG_FLOAT, &temperature, "T", "sampling temperature", 0},
        {"seed", RG_ARG_INT, &seed, "N", "sampling seed", 0},
        {"gen-batch", RG_ARG_INT, &gen_batch, "N", "sequences decoded together", 0},
        {"context", RG_ARG_INT, &context, "N", "tokens a sequence may span",
         0},
        {"system", RG_ARG_STRING, &system, "TEXT", "system message for conversations without one", 0},
        {"no-thinking", RG_ARG_FLAG, &no_thinking, NULL, "Qwen3: enable_thinking = false", 0},
        {"keep-think", RG_ARG_FLAG, &keep_think, NULL, "count the <think> span too", 0},
        {"strict", RG_ARG_FLAG, &strict, NULL, "an example the teacher cannot take is an error (default: skip)", 0},
        {"skip-bad", RG_ARG_FLAG, &skip_bad, NULL, "skip (and count) invalid data lines", 0},
        RG_VERIFIER_CRITERIA_ROW(verifier_text),
        {"chat-template", RG_ARG_STRING, &chat_family, "FAMILY", "override the model's chat template", 0},
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
    if (parsed == 1) return 0;
    if (parsed < 0) return rg_cli_fail();
    rg_verifier_criteria verifier;
    if (rg_cli_verifier_criteria("gap", verifier_text, &verifier)) return rg_cli_fail();
    nn_blas_init();
    rg_teacher_context tcontext;
    if (rg_teacher_context_parse(teacher_context, &tcontext) != RG_OK)
        return rg_error("rgsd gap: --teacher-context must be rubric or reference"), rg_cli_fail();
    if (max_new < 1 || gen_batch < 1 || gen_batch > RG_GEN_MAX_BATCH || context < 0 || !(temperature >= 0))
        return rg_usage_error("rgsd gap: a numeric flag is out of range (see rgsd gap --help)"), rg_cli_fail();

    rg_lm lm = {0};
    int lm_open = 0, acts_ready = 0, generated = 0;
    rg_dataset data = {0};
    rg_rgsd_data prompts = {0};
    rg_teacher_template *tmpl = NULL;
    rg_train_acts acts = {0};
    rg_gen_result *results = NULL;
    const int32_t **prompt_ids = NULL;
    int *prompt_lens = NULL;
    double *with = NULL, *without = NULL;
    uint8_t *mask = NULL;
    int rc = 1;
    rg_rubric_options load_options = {.skip_bad = skip_bad, .allow_empty_rubric = 1, .verifier_criteria = verifier}; /* skipped and counted below */
    if (rg_rubric_load_all(data_path, &load_options, &data) != RG_OK) goto done;
    if (teacher_template_path && rg_teacher_template_load(teacher_template_path, &tmpl) != RG_OK) goto done;
    if (rg_lm_open(&lm, model_dir, NULL, chat_family, 0) != RG_OK) goto done;
    lm_open = 1;
    if (adapter_dir) {
        rg_lora lora;
        if (rg_peft_load(&lora, &lm.model.cfg, adapter_dir) != RG_OK) goto done;
        int merged = rg_lora_merge(&lora, &lm.model);
        rg_lora_free(&lora);
        if (merged != RG_OK) goto done;
    }
    int context_len = rg_context_len(&lm.model.cfg, context);
    rg_rgsd_data_options data_options = {.teacher_template = tmpl, .context = tcontext, .system = system,
                                         .enable_thinking = !no_thinking, .max_new = (int)max_new,
                                         .context_len = context_len, .strict = strict};
    if (rg_rgsd_data_build(&prompts, &lm, data.examples, data.count, &data_options) != RG_OK) goto done;
    if (prompts.skipped_empty || prompts.skipped_long)
        rg_warn("%zu examples skipped (%zu with nothing to condition on, %zu too long for the context)",
                prompts.skipped_empty + prompts.skipped_long, prompts.skipped_empty, prompts.skipped_long);
    if (prompts.n == 0) {
        rg_error("%s: no example to measure", data_path);
        goto done;
    }
    int n = prompts.n;
    prompt_ids = rg_calloc((size_t)n, sizeof *prompt_ids);
    prompt_lens = rg_calloc((size_t)n, sizeof *prompt_lens);
    results = rg_calloc((size_t)n, sizeof *results);
    with = rg_malloc(sizeof(double) * (size_t)(max_new + 1));
    without = rg_malloc(sizeof(double) * (size_t)(max_new + 1));
    mask = rg_malloc((size_t)(max_new + 1));
    if (!prompt_ids || !prompt_lens || !results || !with || !without || !mask) goto done;
    for (int i = 0; i < n; i++) {
        prompt_ids[i] = prompts.prompts[i].teacher_prompt;
        prompt_lens[i] = prompts.prompts[i].teacher_prompt_len;
    }
    int32_t stop[1] = {lm.end_of_turn};
    rg_gen_options gen = {.max_new = (int)max_new, .sample = {.temperature = (float)temperature, .top_p = 1.0f},
                          .seed = (uint64_t)seed, .batch = (int)gen_batch, .context = context_len,
                          .stop_ids = stop, .n_stop_ids = lm.end_of_turn >= 0};
    if (rg_generate(&lm.model, n, prompt_ids, prompt_lens, &gen, results, NULL, NULL) != RG_OK) goto done;
    generated = 1;
    if (rg_train_acts_alloc(&acts, &lm.model.cfg, NULL, prompts.max_prompt_len + (int)max_new, 64) != RG_OK) goto done;
    acts_ready = 1;
    int32_t think_open, think_close;
    rg_think_tokens(&lm, keep_think, &think_open, &think_close);
    double total = 0;
    long tokens = 0;
    for (int i = 0; i < n; i++) {
        const rg_rgsd_prompt *p = &prompts.prompts[i];
        const rg_gen_result *g = &results[i];
        if (rg_rgsd_response_logprobs(&lm.model, &acts, p->teacher_prompt, p->teacher_prompt_len, g->tokens,
                                      g->n_tokens, with) != RG_OK ||
            rg_rgsd_response_logprobs(&lm.model, &acts, p->student_prompt, p->student_prompt_len, g->tokens,
                                      g->n_tokens, without) != RG_OK)
            goto done;
        rg_rgsd_think_mask(g->tokens, g->n_tokens, think_open, think_close, p->starts_in_think, mask);
        double sum = 0;
        int count = 0;
        for (int t = 0; t < g->n_tokens; t++)
            if (mask[t]) sum += with[t] - without[t], count++;
        total += sum;
        tokens += count;
        const rg_example *ex = &data.examples[p->example];
        cJSON *line = cJSON_CreateObject();
        if (!line) goto done;
        cJSON_AddStringToObject(line, "id", ex->id ? ex->id : "");
        cJSON_AddNumberToObject(line, "gap", count ? sum / count : 0.0);
        cJSON_AddNumberToObject(line, "tokens", count);
        double lw = 0, lo = 0;
        for (int t = 0; t < g->n_tokens; t++)
            if (mask[t]) lw += with[t], lo += without[t];
        cJSON_AddNumberToObject(line, "logp_with_rubric", lw);
        cJSON_AddNumberToObject(line, "logp_without_rubric", lo);
        char *text = cJSON_PrintUnformatted(line);
        cJSON_Delete(line);
        if (!text) goto done;
        printf("%s\n", text);
        free(text);
    }
    printf("{\"summary\": true, \"gap\": %.6f, \"examples\": %d, \"tokens\": %ld, \"skipped\": %zu}\n",
           tokens ? total / (double)tokens : 0.0, n, tokens, prompts.skipped_empty + prompts.skipped_long);
    rg_info("gap %.4f nats per token over %d examples (%ld tokens); judge calls: 0", tokens ? total / (double)tokens : 0.0,
            n, tokens);
    rc = 0;
done:
    if (rc == 1) rg_cli_fail();
    if (generated) rg_gen_results_free(results, prompts.n);
    free(results);
    free(prompt_ids);
    free(prompt_lens);
    free(with);
    free(without);
    free(mask);
    if (acts_ready) rg_train_acts_free(&acts);
    rg_rgsd_data_free(&prompts);
    if (tmpl) rg_teacher_template_free(tmpl);
    if (lm_open) rg_lm_close(&lm);
    rg_dataset_free(&data);
    return rc;
}
