/* http_request.h — the JSON body of one http judge request, and what an
 * endpoint's 400 says it does not accept.
 *
 * Kept apart from http_judge.c (transfers, retries, accounting) because this
 * is the part that meets each server's dialect: a default max_tokens, so a
 * rambling model is cut before the timeout; response_format with a JSON
 * schema of the verdict, so a server that constrains decoding (llama.cpp,
 * vLLM, OpenAI) can only write a parseable answer; and, after an unreadable
 * answer, a retry that differs from the request that produced it (a greedy
 * model asked the same thing answers the same thing). */
#ifndef RG_HTTP_REQUEST_H
#define RG_HTTP_REQUEST_H

#include <cjson/cJSON.h>

#include "judge/judge.h"

/* Temperature of a retry after an unreadable answer when the spec's is 0:
 * enough to leave the greedy path that produced it. */
#define HTTP_RETRY_TEMPERATURE 0.7

/* What an endpoint has refused with a 400, learnt once and kept for the
 * judge's life, so each later request goes out in the form it accepts. */
typedef struct {
    int no_response_format;    /* it rejected response_format: the prompt alone asks for JSON */
    int max_completion_tokens; /* it wants max_completion_tokens, not max_tokens (OpenAI's reasoning models) */
} http_endpoint_quirks;

/* n_batched of a pairwise request: the schema {"explanation", "better": 1|2}. */
#define HTTP_PAIRWISE (-1)

/* Bits saying what one attempt sent, so its 400 can be matched to a feature. */
enum { HTTP_SENT_RESPONSE_FORMAT = 1, HTTP_SENT_MAX_TOKENS = 2 };

/* {"model", "messages": [{"role": "user", "content": prompt[+ reminder]}],
 *  "temperature"[, "max_tokens" | "max_completion_tokens"][, "response_format"]}.
 * n_batched: 0 for a per-criterion request, HTTP_PAIRWISE for a pairwise
 * one, else the number of criteria numbered in the batched prompt. bad_answers: unreadable answers this
 * request got so far; > 0 adds a reminder and a nonzero temperature.
 * *sent receives HTTP_SENT_* bits. malloc'd, NULL with an error. */
char *http_request_body(const rg_judge_spec *spec, const http_endpoint_quirks *quirks, const char *prompt,
                        int n_batched, int bad_answers, unsigned *sent);

/* The JSON schema of a verdict: per criterion {"explanation": string,
 * "criteria_met": boolean}; batched {"1": boolean, ..., "n": boolean};
 * pairwise {"explanation": string, "better": 1 or 2}. Every
 * property required, no others (what OpenAI's strict mode demands). */
cJSON *http_verdict_schema(int n_batched);

/* Which HTTP_SENT_* feature an error answer (status, body) rejects, among
 * those in `sent`; 0 when it is not such a refusal. */
unsigned http_rejected_feature(long status, const char *body, unsigned sent);

#endif
