/* http_judge.c — the http back end: an OpenAI-compatible chat-completions
 * endpoint driven through libcurl's multi interface, so up to `concurrency`
 * requests are in flight at once from one thread.
 *
 * Each request decides one criterion (per-criterion mode) or every uncached
 * criterion of one item (batched mode). A request is retried, after an
 * exponential backoff with jitter (and no sooner than a Retry-After header
 * asks), on 408/429/5xx, on a timeout or connection failure, and on an answer
 * that is not the JSON the grader prompt asked for; after `retries` retries
 * its criteria are recorded as failures with the last raw answer. 401, 403
 * and 404 stop the run: every other request would fail the same way.
 * A request's body is built per attempt (http_request.c): a retry after an
 * unreadable answer carries a reminder and a nonzero temperature, and a 400
 * refusing response_format or max_tokens is answered by re-sending without
 * it (or with max_completion_tokens), remembered for the judge's life.
 * The API key travels only in the Authorization header and is never printed;
 * any text an endpoint sends back is scrubbed of it before it is shown. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/error.h"
#include "base/stop.h"
#include "base/log.h"
#include "base/rng.h"
#include "base/text.h"
#include "base/timer.h"
#include "judge/grader.h"
#include "judge/http_request.h"
#include "judge/judge_internal.h"

#define MAX_RESPONSE_BYTES (16u << 20) /* a chat completion is kilobytes; refuse runaway bodies */
#define MAX_BACKOFF_S 60.0

typedef enum { REQUEST_WAITING, REQUEST_RUNNING, REQUEST_DONE } request_state;

typedef struct {
    int first_slot, n_slots; /* the slots this request decides */
    char *prompt;            /* the grader prompt; the body is built from it per attempt */
    char *body;              /* the JSON of the attempt in flight */
    unsigned sent;           /* HTTP_SENT_* bits of that attempt */
    request_state state;
    int attempts;            /* sent so far, refused-feature re-sends not counted */
    int bad_answers;         /* unreadable answers so far: the next attempt is varied */
    double ready_at;         /* earliest (re)send time, rg_now() seconds */
    CURL *easy;
    char *response;
    size_t response_len, response_cap;
    int response_too_large;
    double retry_after_s;    /* from a Retry-After header, 0 if none */
} http_request;

typedef struct {
    rg_judge *judge;
    rg_judge_item *items;
    const judge_slot *slots;
    http_request *requests;
    int n_requests;
    CURLM *multi;
    struct curl_slist *headers;
    rg_rng jitter;
    char *stop_reason; /* set by 401/403/404: no further request is sent */
} http_run;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

static size_t on_body(char *data, size_t size, size_t count, void *user) {
    http_request *req = user;
    size_t n = size * count;
    if (req->response_len + n + 1 > MAX_RESPONSE_BYTES) {
        req->response_too_large = 1;
        return 0; /* aborts the transfer */
    }
    if (req->response_len + n + 1 > req->response_cap) {
        size_t cap = req->response_cap ? req->response_cap : 4096;
        while (cap < req->response_len + n + 1) cap *= 2;
        char *grown = realloc(req->response, cap);
        if (!grown) return 0;
        req->response = grown;
        req->response_cap = cap;
    }
    memcpy(req->response + req->response_len, data, n);
    req->response_len += n;
    req->response[req->response_len] = '\0';
    return n;
}

static size_t on_header(char *data, size_t size, size_t count, void *user) {
    http_request *req = user;
    size_t n = size * count;
    const char *name = "retry-after:";
    size_t name_len = strlen(name);
    if (n > name_len && strncasecmp(data, name, name_len) == 0) {
        char value[32] = {0};
        size_t value_len = n - name_len < sizeof value - 1 ? n - name_len : sizeof value - 1;
        memcpy(value, data + name_len, value_len);
        double seconds = strtod(value, NULL); /* an HTTP-date is ignored (0): backoff applies */
        if (seconds > 0 && isfinite(seconds)) req->retry_after_s = seconds;
    }
    return n;
}

static char *build_prompt(const http_run *run, const http_request *req) {
    const judge_slot *first = &run->slots[req->first_slot];
    const rg_judge_item *item = &run->items[first->item];
    if (run->judge->options.pairwise) return rg_grader_prompt_pairwise(item);
    if (run->judge->spec.mode == RG_GRADE_PER_CRITERION) return rg_grader_prompt_criterion(item, first->criterion);
    int *criteria = rg_malloc((size_t)req->n_slots * sizeof *criteria);
    if (!criteria) return NULL;
    for (int s = 0; s < req->n_slots; s++) criteria[s] = run->slots[req->first_slot + s].criterion;
    char *prompt = rg_grader_prompt_batched(item, criteria, req->n_slots);
    free(criteria);
    return prompt;
}

/* Splits the slots into requests: one per slot, or one per item when batched
 * (collect_uncached emits an item's slots consecutively). */
static int plan_requests(http_run *run, int n_slots) {
    run->requests = rg_calloc((size_t)n_slots, sizeof *run->requests);
    if (!run->requests) return RG_ERR;
    int batched = run->judge->spec.mode == RG_GRADE_BATCHED && !run->judge->options.pairwise;
    for (int s = 0; s < n_slots;) {
        int end = s + 1;
        if (batched)
            while (end < n_slots && run->slots[end].item == run->slots[s].item) end++;
        http_request *req = &run->requests[run->n_requests++];
        req->first_slot = s;
        req->n_slots = end - s;
        req->prompt = build_prompt(run, req);
        if (!req->prompt) return RG_ERR;
        s = end;
    }
    return RG_OK;
}

static int start_request(http_run *run, http_request *req) {
    const rg_judge_spec *spec = &run->judge->spec;
    req->response_len = 0;
    req->response_too_large = 0;
    req->retry_after_s = 0;
    if (req->response) req->response[0] = '\0';
    free(req->body);
    int n_batched = run->judge->options.pairwise     ? HTTP_PAIRWISE
                    : spec->mode == RG_GRADE_BATCHED ? req->n_slots
                                                     : 0;
    req->body = http_request_body(spec, &run->judge->http_quirks, req->prompt, n_batched, req->bad_answers, &req->sent);
    if (!req->body) return RG_ERR;
    CURL *easy = curl_easy_init();
    if (!easy) return rg_error("judge: curl_easy_init failed");
    curl_easy_setopt(easy, CURLOPT_URL, spec->url);
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, req->body);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long)strlen(req->body));
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, run->headers);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, req);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, req);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)(spec->timeout_s * 1000.0 + 0.5));
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "rgsd-judge");
    curl_easy_setopt(easy, CURLOPT_PRIVATE, req);
    if (curl_multi_add_handle(run->multi, easy) != CURLM_OK) {
        curl_easy_cleanup(easy);
        return rg_error("judge: curl_multi_add_handle failed");
    }
    req->easy = easy;
    req->state = REQUEST_RUNNING;
    req->attempts++;
    run->judge->stats.requests++;
    return RG_OK;
}

static void fail_request(http_run *run, http_request *req, const char *why, const char *raw) {
    for (int s = 0; s < req->n_slots; s++)
        judge_record_failure(run->judge, run->items, &run->slots[req->first_slot + s], why, raw);
    req->state = REQUEST_DONE;
}

/* Reads choices[0].message.content and the usage counts of a completion;
 * *cut is 1 when the completion stopped at max_tokens (finish_reason
 * "length"). Returns the content (malloc'd) or NULL with an error. */
static char *completion_content(http_run *run, const char *body, int *cut) {
    *cut = 0;
    cJSON *completion = cJSON_Parse(body);
    if (!completion) {
        rg_error("the endpoint answered 200 with a body that is not JSON");
        return NULL;
    }
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(completion, "usage");
    const cJSON *prompt_tokens = cJSON_GetObjectItemCaseSensitive(usage, "prompt_tokens");
    const cJSON *completion_tokens = cJSON_GetObjectItemCaseSensitive(usage, "completion_tokens");
    if (cJSON_IsNumber(prompt_tokens)) run->judge->stats.prompt_tokens += (int64_t)prompt_tokens->valuedouble;
    if (cJSON_IsNumber(completion_tokens)) run->judge->stats.completion_tokens += (int64_t)completion_tokens->valuedouble;
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(completion, "choices");
    const cJSON *choice = cJSON_GetArrayItem(choices, 0);
    const cJSON *message = cJSON_GetObjectItemCaseSensitive(choice, "message");
    const cJSON *finish = cJSON_GetObjectItemCaseSensitive(choice, "finish_reason");
    *cut = cJSON_IsString(finish) && strcmp(finish->valuestring, "length") == 0;
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(message, "content");
    char *text = cJSON_IsString(content) ? rg_strdup(content->valuestring) : NULL;
    if (!cJSON_IsString(content)) rg_error("the completion has no choices[0].message.content string");
    cJSON_Delete(completion);
    return text;
}

/* Turns the grader's answer into verdicts; RG_ERR when it is unparseable. */
static int decide(http_run *run, http_request *req, const char *answer) {
    if (run->judge->spec.mode == RG_GRADE_PER_CRITERION || run->judge->options.pairwise) {
        int met;
        char *explanation;
        int parsed = run->judge->options.pairwise ? rg_grader_parse_pairwise(answer, &met, &explanation)
                                                  : rg_grader_parse_criterion(answer, &met, &explanation);
        if (parsed != RG_OK) return RG_ERR;
        judge_record_verdict(run->judge, run->items, &run->slots[req->first_slot], met, explanation);
        free(explanation);
        return RG_OK;
    }
    int *met = rg_malloc((size_t)req->n_slots * sizeof *met);
    if (!met) return RG_ERR;
    int rc = rg_grader_parse_batched(answer, req->n_slots, met);
    for (int s = 0; rc == RG_OK && s < req->n_slots; s++)
        judge_record_verdict(run->judge, run->items, &run->slots[req->first_slot + s], met[s], NULL);
    free(met);
    return rc;
}

static double backoff_seconds(http_run *run, const http_request *req) {
    const rg_judge_spec *spec = &run->judge->spec;
    double delay = spec->backoff_s * pow(2.0, req->attempts - 1) * (0.5 + rg_rng_uniform(&run->jitter));
    if (req->retry_after_s > delay) delay = req->retry_after_s;
    return delay < MAX_BACKOFF_S ? delay : MAX_BACKOFF_S;
}

/* The endpoint refused a feature the attempt sent (a 400 naming it): stop
 * sending it for the rest of the judge's life, and say so once. */
static void learn_refusal(http_run *run, unsigned refused) {
    http_endpoint_quirks *quirks = &run->judge->http_quirks;
    const char *url = run->judge->spec.url;
    if (refused == HTTP_SENT_RESPONSE_FORMAT && !quirks->no_response_format) {
        quirks->no_response_format = 1;
        rg_warn("judge: %s refuses response_format (structured output); asking without it from now on "
                "(#structured=0 skips the try)",
                url);
    } else if (refused == HTTP_SENT_MAX_TOKENS && !quirks->max_completion_tokens) {
        quirks->max_completion_tokens = 1;
        rg_warn("judge: %s refuses max_tokens; sending max_completion_tokens from now on", url);
    }
}

/* One attempt of req has ended with `result`: record verdicts, schedule a
 * retry, or record failures. */
static void finish_attempt(http_run *run, http_request *req, CURLcode result) {
    const rg_judge_spec *spec = &run->judge->spec;
    long status = 0;
    curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
    char *why = NULL, *raw = NULL;
    int retryable = 1, cut = 0;
    unsigned refused = 0;
    if (result == CURLE_OPERATION_TIMEDOUT) {
        why = rg_sprintf("no answer from %s within %g s (timeout)", spec->url, spec->timeout_s);
    } else if (req->response_too_large) {
        why = rg_sprintf("the answer from %s exceeds %u bytes", spec->url, MAX_RESPONSE_BYTES);
    } else if (result != CURLE_OK) {
        why = rg_sprintf("request to %s failed: %s", spec->url, curl_easy_strerror(result));
    } else if (status == 200) {
        const char *body = req->response ? req->response : "";
        char *content = completion_content(run, body, &cut);
        if (!content) {
            why = rg_sprintf("%s", rg_errmsg());
            raw = rg_strdup(body);
            req->bad_answers++;
        } else if (decide(run, req, content) != RG_OK) {
            /* Say when max_tokens cut the answer: then the fix is a larger limit. */
            if (!cut)
                why = rg_sprintf("%s", rg_errmsg());
            else if (spec->max_tokens > 0)
                why = rg_sprintf("%s; the answer was cut at max_tokens=%d", rg_errmsg(), spec->max_tokens);
            else
                why = rg_sprintf("%s; the endpoint cut the answer at its own length limit", rg_errmsg());
            raw = content;
            content = NULL;
            req->bad_answers++;
        } else {
            req->state = REQUEST_DONE;
        }
        free(content);
        if (req->state == REQUEST_DONE) return;
    } else if ((refused = http_rejected_feature(status, req->response, req->sent))) {
        /* Not the request's fault: re-send at once in the form the endpoint
         * takes, without spending the retry budget. */
        learn_refusal(run, refused);
        req->attempts--;
        req->ready_at = rg_now();
        req->state = REQUEST_WAITING;
        return;
    } else {
        char body[256]; /* the body quoted: one line, cut at a character */
        rg_text_escape(body, sizeof body, req->response ? req->response : "", 200);
        why = rg_sprintf("HTTP %ld from %s: %s", status, spec->url, body);
        retryable = status == 408 || status == 429 || status >= 500;
        if (status == 401 || status == 403 || status == 404) {
            if (!run->stop_reason) run->stop_reason = why ? rg_strdup(why) : NULL;
            if (run->stop_reason) judge_redact_secret(run->judge, run->stop_reason);
        }
    }
    if (!why) why = rg_strdup("out of memory");
    if (why) judge_redact_secret(run->judge, why);
    if (retryable && req->attempts <= spec->retries) {
        double delay = backoff_seconds(run, req);
        rg_debug("judge: %s; retry %d of %d in %.2f s", why ? why : "?", req->attempts, spec->retries, delay);
        run->judge->stats.retries++;
        req->ready_at = rg_now() + delay;
        req->state = REQUEST_WAITING;
    } else {
        char *final = rg_sprintf("%s (%d attempt%s)", why ? why : "?", req->attempts, req->attempts == 1 ? "" : "s");
        fail_request(run, req, final ? final : why, raw);
        free(final);
    }
    free(why);
    free(raw);
}

/* Reaps finished transfers. */
static void reap(http_run *run, int *running) {
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(run->multi, &left))) {
        if (msg->msg != CURLMSG_DONE) continue;
        http_request *req = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&req);
        CURLcode result = msg->data.result;
        curl_multi_remove_handle(run->multi, msg->easy_handle);
        finish_attempt(run, req, result);
        curl_easy_cleanup(req->easy);
        req->easy = NULL;
        (*running)--;
    }
}

static int build_headers(http_run *run) {
    run->headers = curl_slist_append(NULL, "Content-Type: application/json");
    /* No "Expect: 100-continue" round trip (curl adds it to large POSTs and
     * then waits up to a second for servers that never answer it). */
    if (run->headers) run->headers = curl_slist_append(run->headers, "Expect:");
    if (run->headers && run->judge->api_key) {
        char *auth = rg_sprintf("Authorization: Bearer %s", run->judge->api_key);
        struct curl_slist *with_auth = auth ? curl_slist_append(run->headers, auth) : NULL;
        if (auth) {
            memset(auth, 0, strlen(auth));
            free(auth);
        }
        if (!with_auth) return rg_error("out of memory building request headers");
        run->headers = with_auth;
    }
    return run->headers ? RG_OK : rg_error("out of memory building request headers");
}

static int drive(http_run *run) {
    const int concurrency = run->judge->spec.concurrency;
    int running = 0;
    for (;;) {
        /* A stop request (training's Ctrl-C): give up now, in-flight requests included (http_judge_run fails them). */
        if (rg_stop_check() != RG_OK) return RG_ERR;
        double now = rg_now();
        double next_ready = INFINITY;
        int unfinished = 0;
        for (int r = 0; r < run->n_requests; r++) {
            http_request *req = &run->requests[r];
            if (req->state == REQUEST_DONE) continue;
            if (run->judge->cache_error && !run->stop_reason)
                run->stop_reason = rg_strdup("not sent: the verdict cache cannot be written");
            if (req->state == REQUEST_WAITING && run->stop_reason) {
                fail_request(run, req, run->stop_reason, NULL);
                continue;
            }
            unfinished++;
            if (req->state != REQUEST_WAITING) continue;
            if (req->ready_at <= now && running < concurrency) {
                if (start_request(run, req) != RG_OK) return RG_ERR;
                running++;
            } else if (req->ready_at < next_ready) {
                next_ready = req->ready_at;
            }
        }
        if (unfinished == 0) return RG_OK;
        int still_running;
        if (curl_multi_perform(run->multi, &still_running) != CURLM_OK) return rg_error("judge: curl_multi_perform failed");
        reap(run, &running);
        /* Sleep until a transfer has news or a backoff ends (at most 1 s). */
        int wait_ms = 1000;
        if (running < concurrency && next_ready < INFINITY) {
            double until = (next_ready - rg_now()) * 1000.0;
            wait_ms = until < 0 ? 0 : until > 1000 ? 1000 : (int)until + 1;
        }
        if (running > 0) {
            if (curl_multi_poll(run->multi, NULL, 0, wait_ms, NULL) != CURLM_OK) return rg_error("judge: curl_multi_poll failed");
        } else if (next_ready < INFINITY && wait_ms > 0) {
            usleep((useconds_t)wait_ms * 1000); /* only backoffs pending */
        }
    }
}

int http_judge_run(rg_judge *judge, rg_judge_item *items, const judge_slot *slots, int n_slots) {
    pthread_once(&curl_once, curl_init_once);
    http_run run = {.judge = judge, .items = items, .slots = slots};
    rg_rng_seed(&run.jitter, (uint64_t)(rg_now() * 1e6) ^ ((uint64_t)getpid() << 32));
    int rc = plan_requests(&run, n_slots);
    if (rc == RG_OK) rc = build_headers(&run);
    if (rc == RG_OK && !(run.multi = curl_multi_init())) rc = rg_error("judge: curl_multi_init failed");
    if (rc == RG_OK) rc = drive(&run);
    if (rc != RG_OK && !rg_stop_requested) {
        /* A broken run (out of memory, curl failure): still account for every slot
         * (not after a stop request: those criteria were not tried, nothing to record). */
        char *why = rg_strdup(rg_errmsg());
        for (int r = 0; r < run.n_requests; r++)
            if (run.requests[r].state != REQUEST_DONE) fail_request(&run, &run.requests[r], why ? why : "?", NULL);
        rg_error("%s", why ? why : "judge: run failed");
        free(why);
    }
    for (int r = 0; r < run.n_requests; r++) {
        http_request *req = &run.requests[r];
        if (req->easy) {
            curl_multi_remove_handle(run.multi, req->easy);
            curl_easy_cleanup(req->easy);
        }
        free(req->prompt);
        free(req->body);
        free(req->response);
    }
    free(run.requests);
    if (run.multi) curl_multi_cleanup(run.multi);
    curl_slist_free_all(run.headers);
    free(run.stop_reason);
    return rc;
}
