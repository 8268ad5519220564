/* cmd_logprobs.c — `rgsd logprobs`: per-token log-probabilities of given
 * responses under the chat-templated prompt.
 *
 * For each line {"messages": [...], "response": "..."} the prompt is the
 * rendered conversation with the generation prompt, the response is encoded
 * on its own (no special tokens) and appended; the output line holds the
 * response token ids, log p(token | everything before it) for each, and
 * their sum. The end-of-turn token is not scored (--end adds it). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "base/progress.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "io/file.h"
#include "io/records.h"
#include "lm/lm.h"
#include "model/infer.h"
#include "nn/nn.h"

#define CHUNK 64

/* log softmax(row)[token], in double for the long sum. */
static double row_logprob(const float *row, int V, int token) {
    float max = row[0];
    for (int i = 1; i < V; i++)
        if (row[i] > max) max = row[i];
    double sum = 0;
    for (int i = 0; i < V; i++) sum += exp((double)row[i] - max);
    return (double)row[token] - max - log(sum);
}

/* Scores response[0..n) after prompt[0..P): logprobs[n]. */
static int score(const rg_model *model, rg_infer_state *st, const int32_t *prompt, int P, const int32_t *response,
                 int n, float *logits, double *logprobs) {
    const int V = model->cfg.vocab_size;
    rg_infer_reset(st, 0);
    if (P + n > st->max_seq)
        return rg_error("prompt and response are %d tokens, longer than the context (%d tokens)", P + n, st->max_seq);
    if (rg_infer_prefill(st, model, 0, prompt, P, logits, 0)) return RG_ERR;
    if (response[0] >= V) return rg_error("token id %d is outside the vocabulary (%d)", response[0], V);
    logprobs[0] = row_logprob(logits, V, response[0]);
    /* Rows of response[0..n-2] give the log-probs of response[1..n-1]. */
    for (int start = 0; start < n - 1; start += CHUNK) {
        int count = n - 1 - start < CHUNK ? n - 1 - start : CHUNK;
        const int32_t *chunk = response + start;
        int slot = 0;
        if (rg_infer_step(st, model, 1, &slot, &chunk, &count, logits, 1)) return RG_ERR;
        for (int j = 0; j < count; j++)
            logprobs[start + j + 1] = row_logprob(logits + (size_t)j * V, V, response[start + j + 1]);
    }
    return RG_OK;
}

typedef struct {
    const char *model_path, *data, *out_path, *system, *tokenizer, *chat_family;
    long context;
    int bf16, with_ids, with_end;
} logprobs_options;

/* The flag table: 0 to go on, 1 after --help, -1 on a usage error. */
static int parse_flags(int argc, char **argv, logprobs_options *o) {
    *o = (logprobs_options){0};
    rg_arg args[] = {
        {"model", RG_ARG_STRING, &o->model_path, "DIR", "model folder (HF safetensors) or .gguf file", 1},
        {"data", RG_ARG_STRING, &o->data, "FILE.jsonl", "lines {\"messages\": [...], \"response\": \"...\"}", 1},
        {"out", RG_ARG_STRING, &o->out_path, "FILE.jsonl", "write here (atomically) instead of stdout", 0},
        {"system", RG_ARG_STRING, &o->system, "TEXT", "system message for conversations without one", 0},
        {"tokenizer", RG_ARG_STRING, &o->tokenizer, "DIR", "tokenizer folder (default: the model's)", 0},
        {"chat-template", RG_ARG_STRING, &o->chat_family, "FAMILY", "override the chat template family", 0},
        {"context", RG_ARG_INT, &o->context, "N", "context length (default: max_position_embeddings, capped at 8192)",
         0},
        {"bf16", RG_ARG_FLAG, &o->bf16, NULL, "hold the weights in bf16 (half the memory)", 0},
        {"ids", RG_ARG_FLAG, &o->with_ids, NULL, "also write the prompt's token ids", 0},
        {"end", RG_ARG_FLAG, &o->with_end, NULL, "also score the end-of-turn token after the response", 0},
    };
    rg_command_spec spec = {
        "logprobs", "--model DIR --data FILE.jsonl [options]",
        "Writes, for each line {\"messages\": [...], \"response\": \"...\"}, the log-probability of every response "
        "token under the chat-templated prompt and their sum, one JSON line each: "
        "{\"id\", \"prompt_tokens\", \"tokens\": [ids], \"logprobs\": [...], \"sum\"}.",
        "  rgsd logprobs --model Qwen2.5-0.5B-Instruct --data answers.jsonl --out scores.jsonl\n", args,
        (int)(sizeof args / sizeof args[0]), 0};
    int parsed = rg_args_parse(&spec, argc, argv, NULL, NULL);
    return parsed == 1 ? 1 : parsed < 0 ? -1 : 0;
}

/* The rendered prompt's ids and the response's, encoded on its own (with_end: the end-of-turn token
 * appended); 1 when both are there (the caller frees *prompt and *response either way). */
static int encode_pair(const rg_lm *lm, const rg_conversation *conv, const char *response_text, int with_end,
                       int32_t **prompt, int *P, int32_t **response, int *n) {
    int ok = rg_lm_encode_prompt(lm, conv->messages, conv->n_messages, prompt, P) == RG_OK &&
             rg_tokenizer_encode(lm->tok, response_text, strlen(response_text), 0, response, n) == RG_OK;
    if (ok && with_end) {
        if (lm->end_of_turn < 0) {
            rg_error("the chat template's end-of-turn token is not in the tokenizer");
            ok = 0;
        } else {
            int32_t *grown = rg_realloc(*response, sizeof(int32_t) * (size_t)(*n + 1));
            if (grown) *response = grown, (*response)[(*n)++] = lm->end_of_turn;
            ok = grown != NULL;
        }
    }
    return ok;
}

/* One output line {"id", "prompt_tokens", "response_tokens", "tokens", "logprobs", "sum"[, "prompt_ids"]}. */
static void write_line(FILE *fp, const char *id, const int32_t *prompt, int P, const int32_t *response, int n,
                       const double *lp, int with_ids) {
    double sum = 0;
    fprintf(fp, "{\"id\":");
    cJSON *idj = cJSON_CreateString(id);
    char *ids = cJSON_PrintUnformatted(idj);
    fprintf(fp, "%s,\"prompt_tokens\":%d,\"response_tokens\":%d,\"tokens\":[", ids, P, n);
    free(ids);
    cJSON_Delete(idj);
    for (int i = 0; i < n; i++) fprintf(fp, "%s%d", i ? "," : "", response[i]);
    fprintf(fp, "],\"logprobs\":[");
    for (int i = 0; i < n; i++) {
        fprintf(fp, "%s%.9g", i ? "," : "", lp[i]);
        sum += lp[i];
    }
    fprintf(fp, "],\"sum\":%.9g", sum);
    if (with_ids) {
        fprintf(fp, ",\"prompt_ids\":[");
        for (int i = 0; i < P; i++) fprintf(fp, "%s%d", i ? "," : "", prompt[i]);
        fprintf(fp, "]");
    }
    fprintf(fp, "}\n");
}

/* One input line (taken over and freed here): its response scored under its prompt and its output line
 * written. An error names the line. */
static int score_line(const rg_lm *lm, rg_infer_state *st, const logprobs_options *o, cJSON *line, long line_no,
                      float *logits, FILE *fp) {
    const cJSON *resp = cJSON_GetObjectItemCaseSensitive(line, "response");
    if (!cJSON_IsString(resp)) {
        rg_error("%s:%ld: field 'response' must be a string", o->data, line_no);
        cJSON_Delete(line);
        return RG_ERR;
    }
    char *response_text = rg_strdup(resp->valuestring);
    rg_conversation conv;
    if (!response_text || rg_conversation_from_json(line, o->data, line_no, o->system, &conv)) {
        free(response_text);
        return RG_ERR;
    }
    int32_t *prompt = NULL, *response = NULL;
    int P = 0, n = 0;
    double *lp = NULL;
    int ok = encode_pair(lm, &conv, response_text, o->with_end, &prompt, &P, &response, &n);
    if (ok && n == 0) ok = rg_error("%s:%ld: the response is empty", o->data, line_no) == RG_OK;
    if (ok) ok = (lp = rg_malloc(sizeof(double) * (size_t)n)) != NULL;
    if (ok) ok = score(&lm->model, st, prompt, P, response, n, logits, lp) == RG_OK;
    if (!ok) rg_error_prefix("%s:%ld", o->data, line_no);
    if (ok) write_line(fp, conv.id, prompt, P, response, n, lp, o->with_ids);
    free(prompt);
    free(response);
    free(lp);
    free(response_text);
    rg_conversation_free(&conv);
    return ok ? RG_OK : RG_ERR;
}

/* The model and its inference state, then every line of --data scored, on stdout or atomically into --out
 * (nothing left behind on failure). */
static int score_file(const logprobs_options *o) {
    rg_lm lm;
    if (rg_lm_open(&lm, o->model_path, o->tokenizer, o->chat_family, o->bf16)) return RG_ERR;
    int max_ctx = lm.model.cfg.max_position < 8192 ? lm.model.cfg.max_position : 8192;
    if (o->context > 0)
        max_ctx = o->context < lm.model.cfg.max_position ? (int)o->context : lm.model.cfg.max_position;
    rg_infer_state st;
    rg_records *in = NULL;
    rg_atomic_file out = {0};
    FILE *fp = stdout;
    float *logits = NULL;
    int rc = RG_ERR, got = 0;
    if (rg_infer_init(&st, &lm.model, 1, max_ctx, CHUNK)) {
        rg_lm_close(&lm);
        return RG_ERR;
    }
    logits = rg_malloc_aligned(sizeof(float) * CHUNK * (size_t)lm.model.cfg.vocab_size);
    if (!logits || rg_records_open(&in, o->data)) goto done;
    if (o->out_path) {
        if (rg_atomic_open(&out, o->out_path)) goto done;
        fp = out.fp;
    }
    cJSON *line;
    long n_lines = 0;
    while ((got = rg_records_next(in, &line)) == 1) {
        if (score_line(&lm, &st, o, line, rg_records_line(in), logits, fp)) goto done;
        n_lines++;
    }
    if (got < 0) goto done;
    if (o->out_path) {
        if (rg_atomic_commit(&out)) goto done;
        rg_info("logprobs: %ld lines written to %s", n_lines, o->out_path);
    }
    rc = RG_OK;
done:
    if (rc && o->out_path) rg_atomic_abort(&out);
    if (in) rg_records_close(in);
    rg_free_aligned(logits);
    rg_infer_free(&st);
    rg_lm_close(&lm);
    return rc;
}

int cmd_logprobs(int argc, char **argv) {
    logprobs_options o;
    int parsed = parse_flags(argc, argv, &o);
    if (parsed != 0) return parsed == 1 ? 0 : rg_cli_fail();
    nn_blas_init(); /* OpenBLAS's AVX2/AVX-512 kernels where it fell back to SSE3 */
    return score_file(&o) ? rg_cli_fail() : 0;
}
