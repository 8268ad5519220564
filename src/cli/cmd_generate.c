/* cmd_generate.c — `rgsd generate`: chat-templated sampling from a model.
 *
 * --prompt TEXT prints the response on stdout; --data FILE.jsonl (any rubric
 * format, or plain {"messages": [...]} / {"prompt": ...} lines) writes one
 * JSON line per example, in input order:
 *   {"id", "response", "prompt_tokens", "response_tokens", "finish_reason":
 *    "stop" | "length", "seconds", "tokens_per_second"}
 * with a progress bar on stderr. Up to --batch sequences are decoded together
 * (each weight read once per step for all of them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "base/progress.h"
#include "base/timer.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/sample_flags.h"
#include "io/file.h"
#include "io/records.h"
#include "lm/lm.h"
#include "model/generate.h"
#include "nn/nn.h"

static void on_progress(void *ctx, int finished, int total) {
    (void)total;
    rg_progress_update((rg_progress *)ctx, finished, NULL);
}

/* Reads every conversation of a JSONL file and encodes its prompt. */
static int read_prompts(const rg_lm *lm, const char *path, const char *system, rg_conversation **convs_out,
                        int32_t ***prompts_out, int **lens_out, int *n_out) {
    rg_records *in;
    if (rg_records_open(&in, path)) return RG_ERR;
    int cap = 0, n = 0, got, rc = RG_ERR;
    rg_conversation *convs = NULL;
    int32_t **prompts = NULL;
    int *lens = NULL;
    cJSON *line;
    while ((got = rg_records_next(in, &line)) == 1) {
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            rg_conversation *c = rg_realloc(convs, sizeof *c * (size_t)cap);
            if (c) convs = c;
            int32_t **p = rg_realloc(prompts, sizeof *p * (size_t)cap);
            if (p) prompts = p;
            int *l = rg_realloc(lens, sizeof *l * (size_t)cap);
            if (l) lens = l;
            if (!c || !p || !l) {
                cJSON_Delete(line);
                goto done;
            }
        }
        long line_no = rg_records_line(in);
        if (rg_conversation_from_json(line, path, line_no, system, &convs[n])) goto done;
        if (rg_lm_encode_prompt(lm, convs[n].messages, convs[n].n_messages, &prompts[n], &lens[n])) {
            rg_conversation_free(&convs[n]);
            rg_error_prefix("%s:%ld", path, line_no);
            goto done;
        }
        n++;
    }
    if (got < 0) goto done;
    if (n == 0) {
        rg_error("%s: no examples", path);
        goto done;
    }
    rc = RG_OK;
done:
    rg_records_close(in);
    if (rc) {
        for (int i = 0; i < n; i++) {
            rg_conversation_free(&convs[i]);
            free(prompts[i]);
        }
        free(convs), free(prompts), free(lens);
        return rc;
    }
    *convs_out = convs, *prompts_out = prompts, *lens_out = lens, *n_out = n;
    return RG_OK;
}

static void write_json_string(FILE *fp, const char *s) {
    cJSON *str = cJSON_CreateString(s);
    char *text = str ? cJSON_PrintUnformatted(str) : NULL;
    fputs(text ? text : "null", fp);
    free(text);
    cJSON_Delete(str);
}

/* --prompt TEXT as a conversation of one user message, encoded; the same outputs as read_prompts (n = 1),
 * and nothing to free on failure. */
static int one_prompt(const rg_lm *lm, const char *prompt_text, const char *system, rg_conversation **convs_out,
                      int32_t ***prompts_out, int **lens_out, int *n_out) {
    rg_conversation *convs = rg_calloc(1, sizeof *convs);
    int32_t **prompts = rg_calloc(1, sizeof *prompts);
    int *lens = rg_calloc(1, sizeof *lens);
    int rc = RG_ERR;
    if (!convs || !prompts || !lens) goto done;
    cJSON *line = cJSON_CreateObject();
    if (!line || !cJSON_AddStringToObject(line, "prompt", prompt_text)) {
        cJSON_Delete(line);
        rg_error("out of memory");
        goto done;
    }
    if (rg_conversation_from_json(line, "--prompt", 1, system, &convs[0])) {
        rg_conversation_free(&convs[0]);
        goto done;
    }
    if (rg_lm_encode_prompt(lm, convs[0].messages, convs[0].n_messages, &prompts[0], &lens[0])) {
        rg_conversation_free(&convs[0]);
        free(prompts[0]);
        goto done;
    }
    rc = RG_OK;
done:
    if (rc) {
        free(convs), free(prompts), free(lens);
        return rc;
    }
    *convs_out = convs, *prompts_out = prompts, *lens_out = lens, *n_out = 1;
    return RG_OK;
}

typedef struct {
    const char *model_path, *prompt_text, *data, *system, *out_path, *tokenizer, *chat_family;
    long max_new, top_k, seed, batch, context;
    double temperature, top_p;
    int bf16;
} generate_options;

/* The flag table: 0 to go on, 1 after --help, -1 on a usage error. */
static int parse_flags(int argc, char **argv, generate_options *o) {
    *o = (generate_options){.max_new = 256, .batch = 8, .temperature = 1.0, .top_p = 1.0};
    rg_arg args[] = {
        {"model", RG_ARG_STRING, &o->model_path, "DIR", "model folder (HF safetensors) or .gguf file", 1},
        {"prompt", RG_ARG_STRING, &o->prompt_text, "TEXT", "one user message", 0},
        {"data", RG_ARG_STRING, &o->data, "FILE.jsonl", "conversations: any rubric format, or {\"messages\": [...]}",
         0},
        {"system", RG_ARG_STRING, &o->system, "TEXT", "system message for conversations without one", 0},
        {"max-new", RG_ARG_INT, &o->max_new, "N", "new tokens at most (default 256)", 0},
        {"temperature", RG_ARG_FLOAT, &o->temperature, "T", "sampling temperature; 0 = greedy (default 1)", 0},
        {"top-p", RG_ARG_FLOAT, &o->top_p, "P", "nucleus sampling mass in (0, 1] (default 1 = off)", 0},
        {"top-k", RG_ARG_INT, &o->top_k, "K", "keep the K most likely tokens (default 0 = off)", 0},
        {"seed", RG_ARG_INT, &o->seed, "S", "random seed (default 0); same seed, same output", 0},
        {"batch", RG_ARG_INT, &o->batch, "B", "sequences decoded together (default 8)", 0},
        {"context", RG_ARG_INT, &o->context, "N", "context length (default: max_position_embeddings, capped at 4096)",
         0},
        {"out", RG_ARG_STRING, &o->out_path, "FILE.jsonl", "write JSON lines here (atomically) instead of stdout", 0},
        {"tokenizer", RG_ARG_STRING, &o->tokenizer, "DIR", "tokenizer folder (default: the model's)", 0},
        {"chat-template", RG_ARG_STRING, &o->chat_family, "FAMILY", "override the chat template family", 0},
        {"bf16", RG_ARG_FLAG, &o->bf16, NULL, "hold the weights in bf16 (half the memory and bandwidth)", 0},
    };
    rg_command_spec spec = {
        "generate", "--model DIR (--prompt TEXT | --data FILE.jsonl) [options]",
        "Chat-templated generation with a KV cache. --prompt prints the response; --data writes one JSON line per "
        "example {\"id\", \"response\", \"prompt_tokens\", \"response_tokens\", \"finish_reason\", \"seconds\", "
        "\"tokens_per_second\"} in input order, with a progress bar on stderr. Generation stops at the model's end "
        "tokens or after --max-new tokens.",
        "  rgsd generate --model Qwen2.5-0.5B-Instruct --prompt \"Why is the sky blue?\" --temperature 0\n"
        "  rgsd generate --model Qwen3-0.6B --data healthbench.jsonl --max-new 512 --top-p 0.95 --out answers.jsonl\n",
        args, (int)(sizeof args / sizeof args[0]), 0};
    int parsed = rg_args_parse(&spec, argc, argv, NULL, NULL);
    return parsed == 1 ? 1 : parsed < 0 ? -1 : 0;
}

/* One of --prompt and --data, and the sampling flags' ranges: RG_ERR with a usage error. */
static int check_flags(const generate_options *o) {
    if ((o->prompt_text == NULL) == (o->data == NULL))
        return rg_usage_error("give exactly one of --prompt and --data (see rgsd generate --help)");
    return rg_cli_check_sampling(o->max_new, o->batch, o->temperature, o->top_p, o->top_k);
}

/* Response i as a JSON line {"id", "response", "prompt_tokens", "response_tokens", "finish_reason",
 * "seconds", "tokens_per_second"}. */
static void write_json_line(FILE *fp, const char *id, const char *text, int prompt_tokens, const rg_gen_result *r) {
    fprintf(fp, "{\"id\":");
    write_json_string(fp, id);
    fprintf(fp, ",\"response\":");
    write_json_string(fp, text);
    fprintf(fp,
            ",\"prompt_tokens\":%d,\"response_tokens\":%d,\"finish_reason\":\"%s\",\"seconds\":%.4f,"
            "\"tokens_per_second\":%.2f}\n",
            prompt_tokens, r->n_tokens, r->stopped ? "stop" : "length", r->seconds,
            r->seconds > 0 ? r->n_tokens / r->seconds : 0.0);
}

/* The decoded responses: --prompt's as plain text on stdout, otherwise JSON lines on stdout or
 * atomically into --out (nothing left behind on failure). */
static int write_results(const rg_lm *lm, const generate_options *o, const rg_conversation *convs, const int *lens,
                         const rg_gen_result *results, int n) {
    rg_atomic_file out = {0};
    FILE *fp = stdout;
    if (o->out_path) {
        if (rg_atomic_open(&out, o->out_path)) goto fail;
        fp = out.fp;
    }
    for (int i = 0; i < n; i++) {
        char *text = NULL;
        size_t len = 0;
        if (rg_tokenizer_decode(lm->tok, results[i].tokens, results[i].n_tokens, &text, &len)) goto fail;
        if (o->prompt_text && !o->out_path) {
            fwrite(text, 1, len, fp);
            fputc('\n', fp);
        } else
            write_json_line(fp, convs[i].id, text, lens[i], &results[i]);
        free(text);
    }
    if (o->out_path && rg_atomic_commit(&out)) goto fail;
    return RG_OK;
fail:
    if (o->out_path) rg_atomic_abort(&out);
    return RG_ERR;
}

/* The model, the prompts, one batched generation over all of them, and the results written out. */
static int generate(const generate_options *o) {
    rg_lm lm;
    if (rg_lm_open(&lm, o->model_path, o->tokenizer, o->chat_family, o->bf16)) return RG_ERR;
    rg_conversation *convs = NULL;
    int32_t **prompts = NULL;
    int *lens = NULL, n = 0, rc = RG_ERR;
    rg_gen_result *results = NULL;
    if (o->prompt_text ? one_prompt(&lm, o->prompt_text, o->system, &convs, &prompts, &lens, &n)
                       : read_prompts(&lm, o->data, o->system, &convs, &prompts, &lens, &n))
        goto done;

    int32_t stop[1] = {lm.end_of_turn};
    rg_gen_options opt = {.max_new = (int)o->max_new,
                          .sample = {.temperature = (float)o->temperature, .top_k = (int)o->top_k,
                                     .top_p = (float)o->top_p},
                          .seed = (uint64_t)o->seed,
                          .batch = (int)o->batch,
                          .context = (int)o->context,
                          .stop_ids = stop,
                          .n_stop_ids = lm.end_of_turn >= 0};
    results = rg_calloc((size_t)n, sizeof *results);
    if (!results) goto done;
    rg_progress bar;
    rg_progress_start(&bar, "generate", n);
    bar.enabled = o->data != NULL && rg_log_get_level() != RG_LOG_QUIET;
    double t0 = rg_now();
    if (rg_generate(&lm.model, n, (const int32_t *const *)prompts, lens, &opt, results, on_progress, &bar)) goto done;
    double seconds = rg_now() - t0;
    long total_new = 0;
    for (int i = 0; i < n; i++) total_new += results[i].n_tokens;
    rg_progress_finish(&bar, NULL);

    if (write_results(&lm, o, convs, lens, results, n)) goto done;
    rg_info("generate: %d sequences, %ld new tokens in %.2f s (%.1f tokens/s, batch %ld)", n, total_new, seconds,
            seconds > 0 ? total_new / seconds : 0.0, o->batch);
    rc = RG_OK;
done:
    if (results) rg_gen_results_free(results, n);
    free(results);
    for (int i = 0; i < n; i++) {
        rg_conversation_free(&convs[i]);
        free(prompts[i]);
    }
    free(convs), free(prompts), free(lens);
    rg_lm_close(&lm);
    return rc;
}

int cmd_generate(int argc, char **argv) {
    generate_options o;
    int parsed = parse_flags(argc, argv, &o);
    if (parsed != 0) return parsed == 1 ? 0 : rg_cli_fail();
    nn_blas_init(); /* OpenBLAS's AVX2/AVX-512 kernels where it fell back to SSE3 */
    if (check_flags(&o)) return rg_cli_fail();
    return generate(&o) ? rg_cli_fail() : 0;
}
