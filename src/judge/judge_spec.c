/* judge_spec.c — the judge spec string: "http:URL#k=v&...", "local:DIR", "rule". */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "judge/judge.h"

/* Bumped whenever the grader prompts or answer parsing change, so cached
 * verdicts made with other prompts are not reused. */
#define RG_GRADER_PROMPT_VERSION "grader-v1"

static int parse_positive_double(const char *spec, const char *key, const char *value, int allow_zero,
                                 double *out) {
    char *end;
    errno = 0;
    double v = strtod(value, &end);
    if (errno || end == value || *end || !isfinite(v) || v < 0 || (!allow_zero && v == 0))
        return rg_error("judge spec '%s': %s='%s' is not a %s number", spec, key, value,
                        allow_zero ? "non-negative" : "positive");
    *out = v;
    return RG_OK;
}

static int parse_int_in(const char *spec, const char *key, const char *value, long lo, long hi, int *out) {
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (errno || end == value || *end || v < lo || v > hi)
        return rg_error("judge spec '%s': %s='%s' is not an integer in [%ld, %ld]", spec, key, value, lo, hi);
    *out = (int)v;
    return RG_OK;
}

/* Applies one "key=value" option. */
static int apply_option(rg_judge_spec *spec, char *option) {
    const char *s = spec->text;
    char *eq = strchr(option, '=');
    if (!eq || eq == option) return rg_error("judge spec '%s': option '%s' is not key=value", s, option);
    *eq = '\0';
    const char *key = option, *value = eq + 1;
    int is_http = spec->kind == RG_JUDGE_HTTP;
    if (strcmp(key, "mode") == 0) {
        if (strcmp(value, "per-criterion") == 0)
            spec->mode = RG_GRADE_PER_CRITERION;
        else if (strcmp(value, "batched") == 0)
            spec->mode = RG_GRADE_BATCHED;
        else
            return rg_error("judge spec '%s': mode='%s' (expected per-criterion or batched)", s, value);
        return RG_OK;
    }
    if (is_http) {
        if (strcmp(key, "model") == 0 || strcmp(key, "key_env") == 0) {
            if (!*value) return rg_error("judge spec '%s': %s is empty", s, key);
            char **field = strcmp(key, "model") == 0 ? &spec->model : &spec->key_env;
            free(*field);
            *field = rg_strdup(value);
            if (field == &spec->key_env) spec->key_env_explicit = 1;
            return *field ? RG_OK : RG_ERR;
        }
        if (strcmp(key, "concurrency") == 0) return parse_int_in(s, key, value, 1, 256, &spec->concurrency);
        if (strcmp(key, "retries") == 0) return parse_int_in(s, key, value, 0, 100, &spec->retries);
        if (strcmp(key, "max_tokens") == 0) return parse_int_in(s, key, value, 0, 1 << 20, &spec->max_tokens);
        if (strcmp(key, "structured") == 0) return parse_int_in(s, key, value, 0, 1, &spec->structured);
        if (strcmp(key, "timeout") == 0) return parse_positive_double(s, key, value, 0, &spec->timeout_s);
        if (strcmp(key, "backoff") == 0) return parse_positive_double(s, key, value, 1, &spec->backoff_s);
        if (strcmp(key, "temperature") == 0) return parse_positive_double(s, key, value, 1, &spec->temperature);
        return rg_error("judge spec '%s': unknown option '%s' (http options: model, key_env, mode, concurrency, "
                        "timeout, retries, backoff, temperature, max_tokens, structured)",
                        s, key);
    }
    if (strcmp(key, "bf16") == 0) return parse_int_in(s, key, value, 0, 1, &spec->local_bf16);
    if (strcmp(key, "batch") == 0) return parse_int_in(s, key, value, 1, 64, &spec->local_batch);
    if (strcmp(key, "context") == 0) return parse_int_in(s, key, value, 16, 1 << 20, &spec->local_context);
    if (strcmp(key, "chat_template") == 0) {
        if (!*value) return rg_error("judge spec '%s': chat_template is empty", s);
        free(spec->local_chat_template);
        spec->local_chat_template = rg_strdup(value);
        return spec->local_chat_template ? RG_OK : RG_ERR;
    }
    return rg_error("judge spec '%s': unknown option '%s' (local options: bf16, batch, context, chat_template)", s,
                    key);
}

static int parse_options(rg_judge_spec *spec, const char *options) {
    char *copy = rg_strdup(options);
    if (!copy) return RG_ERR;
    int rc = RG_OK;
    char *save = NULL;
    for (char *option = strtok_r(copy, "&", &save); option && rc == RG_OK; option = strtok_r(NULL, "&", &save))
        rc = apply_option(spec, option);
    free(copy);
    return rc;
}

/* ".../v1" -> ".../v1/chat/completions"; a full endpoint URL is kept. */
static char *chat_completions_url(const char *base) {
    size_t len = strlen(base);
    while (len > 0 && base[len - 1] == '/') len--;
    const char *suffix = "/chat/completions";
    size_t suffix_len = strlen(suffix);
    if (len >= suffix_len && strncmp(base + len - suffix_len, suffix, suffix_len) == 0)
        return rg_sprintf("%.*s", (int)len, base);
    return rg_sprintf("%.*s%s", (int)len, base, suffix);
}

static int parse_spec(const char *text, rg_judge_spec *spec) {
    const char *hash = strchr(text, '#');
    size_t head_len = hash ? (size_t)(hash - text) : strlen(text);
    const char *options = hash ? hash + 1 : NULL;
    if (head_len == 4 && strncmp(text, "rule", 4) == 0) {
        spec->kind = RG_JUDGE_RULE;
        if (options) return rg_error("judge spec '%s': the rule judge takes no options", text);
        return RG_OK;
    }
    if (strncmp(text, "http:", 5) == 0) {
        spec->kind = RG_JUDGE_HTTP;
        const char *base = text + 5;
        size_t base_len = head_len - 5;
        if (!(base_len > 7 && strncmp(base, "http://", 7) == 0) && !(base_len > 8 && strncmp(base, "https://", 8) == 0))
            return rg_error("judge spec '%s': the http judge needs a URL starting with http:// or https:// "
                            "(e.g. http:https://api.openai.com/v1#model=gpt-4.1)",
                            text);
        char *base_copy = rg_sprintf("%.*s", (int)base_len, base);
        if (!base_copy) return RG_ERR;
        spec->url = chat_completions_url(base_copy);
        free(base_copy);
        if (!spec->url) return RG_ERR;
        if (options && parse_options(spec, options) != RG_OK) return RG_ERR;
        if (!spec->model) return rg_error("judge spec '%s': the http judge needs #model=NAME", text);
        return RG_OK;
    }
    if (strncmp(text, "local:", 6) == 0) {
        spec->kind = RG_JUDGE_LOCAL;
        if (head_len == 6) return rg_error("judge spec '%s': the local judge needs a model folder (local:DIR)", text);
        spec->model_dir = rg_sprintf("%.*s", (int)(head_len - 6), text + 6);
        if (!spec->model_dir) return RG_ERR;
        if (options && parse_options(spec, options) != RG_OK) return RG_ERR;
        if (spec->mode == RG_GRADE_BATCHED)
            return rg_error("judge spec '%s': the local judge decides one criterion per prompt (mode=batched is "
                            "for the http judge)",
                            text);
        return RG_OK;
    }
    return rg_error("judge spec '%s': unknown judge (expected http:URL#model=NAME, local:MODEL_DIR or rule)", text);
}

int rg_judge_spec_parse(const char *text, rg_judge_spec *spec) {
    memset(spec, 0, sizeof *spec);
    if (!text || !*text) return rg_error("judge spec is empty (expected http:URL#model=NAME, local:MODEL_DIR or rule)");
    spec->text = rg_strdup(text);
    spec->key_env = rg_strdup("OPENAI_API_KEY");
    if (!spec->text || !spec->key_env) {
        rg_judge_spec_free(spec);
        return RG_ERR;
    }
    spec->mode = RG_GRADE_PER_CRITERION;
    spec->concurrency = 8;
    spec->timeout_s = 60;
    spec->retries = 4;
    spec->backoff_s = 1;
    spec->temperature = 0;
    /* A completion limit by default: a weak model that never closes its JSON
     * would otherwise run until the timeout (or the server's context) ends
     * it. 1024 tokens hold any verdict and, at the ~18 tokens/s of a small
     * model on a CPU, end within the default 60 s timeout. */
    spec->max_tokens = 1024;
    spec->structured = 1;
    spec->local_bf16 = 1;
    spec->local_batch = 4;
    if (parse_spec(text, spec) != RG_OK) {
        rg_judge_spec_free(spec);
        return RG_ERR;
    }
    return RG_OK;
}

void rg_judge_spec_free(rg_judge_spec *spec) {
    if (!spec) return;
    free(spec->text);
    free(spec->url);
    free(spec->model);
    free(spec->key_env);
    free(spec->model_dir);
    free(spec->local_chat_template);
    memset(spec, 0, sizeof *spec);
}

char *rg_judge_spec_identity(const rg_judge_spec *spec) {
    const char *mode = spec->mode == RG_GRADE_BATCHED ? "batched" : "per-criterion";
    switch (spec->kind) {
    case RG_JUDGE_HTTP:
        return rg_sprintf("http|%s|%s|t=%.17g|%s", spec->model, mode, spec->temperature,
                          RG_GRADER_PROMPT_VERSION);
    case RG_JUDGE_LOCAL:
        /* The yes/no prompt and the precision decide the verdict; batch and context do not. */
        return rg_sprintf("local|%s|yes-no|bf16=%d|chat=%s|%s", spec->model_dir, spec->local_bf16,
                          spec->local_chat_template ? spec->local_chat_template : "model", RG_GRADER_PROMPT_VERSION);
    case RG_JUDGE_RULE:
        return rg_strdup("rule");
    }
    return rg_strdup("unknown");
}
