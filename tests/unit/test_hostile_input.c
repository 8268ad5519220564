/* test_hostile_input.c — input from outside (an endpoint's answer, a data
 * file, a config) must cost time linear in its size, memory in proportion to
 * what the data holds rather than what a header claims, and give one clear
 * error line when it is out of range.
 *
 * Timing tests assert a bound >= 10x above the time measured under ASan on a
 * loaded 2-core machine (printed: 5 MB answers 0.1-1.5 s, 200k ids 0.3 s;
 * unloaded -O2: under 0.2 s and 0.05 s), so they never flake, and arm
 * alarm() as a backstop: the quadratic code they guard against took hours
 * (5 MB) and minutes (200k ids). */
#include "test_util.h"

#include "fake_openai.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include "base/error.h"
#include "base/log.h"
#include "base/text.h"
#include "cli/judge_responses.h"
#include "io/file.h"
#include "judge/json_extract.h"
#include "judge/judge.h"
#include "model/config.h"
#include "model/model.h"
#include "rubric/rubric.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int has_score(const cJSON *object, void *ctx) {
    (void)ctx;
    return cJSON_GetObjectItemCaseSensitive(object, "score") != NULL;
}

/* n bytes of `unit` repeated, then `tail`. */
static char *repeat(const char *unit, size_t n, const char *tail) {
    size_t u = strlen(unit), t = strlen(tail);
    char *s = malloc(n + t + 1);
    for (size_t i = 0; i < n; i++) s[i] = unit[i % u];
    memcpy(s + n, tail, t + 1);
    return s;
}

#define BIG (5u << 20) /* 5 MB */

/* Extracts from `text`; checks the answer and that it took < bound_s. */
static void extract_timed(const char *name, char *text, const char *expect, double bound_s) {
    alarm((unsigned)bound_s + 5);
    double t0 = now_s();
    cJSON *object = rg_json_extract_object(text, has_score, NULL);
    double dt = now_s() - t0;
    alarm(0);
    fprintf(stderr, "  json extract, %s (%zu bytes): %.3f s (bound %.0f s)\n", name, strlen(text), dt, bound_s);
    if (expect && !strcmp(expect, "*")) {
        /* any outcome, only the time counts */
    } else if (expect) {
        assert_non_null(object);
        char *printed = cJSON_PrintUnformatted(object);
        assert_string_equal(printed, expect);
        free(printed);
    } else {
        assert_null(object);
    }
    cJSON_Delete(object);
    free(text);
    assert_true(dt < bound_s);
}

/* The results of the old (quadratic) scan are kept on ordinary answers:
 * cases a random comparison of the two found (1 in 200,000 still differs,
 * a span running past the end of the one that failed around it). */
static void json_extraction_keeps_its_answers(void **state) {
    (void)state;
    /* a failure reported one past a '{' in key position */
    extract_timed("key position", strdup("{{\"score\":1}a,}a,[,[\"a"), "{\"score\":1}", 20);
    /* a brace inside a string of a failed span is still a candidate */
    extract_timed("in a string", strdup("{\"score\":1}\"{\"{\"score\":2,\"t\":{\"u\":3}}\"] :}"),
                  "{\"score\":2,\"t\":{\"u\":3}}", 20);
    extract_timed("after a stray quote", strdup("\"{\"\\ \\ ,a{\"score\":1} {a\"}"), "{\"score\":1}", 20);
    /* the reasoning's drafts lose to the final answer */
    extract_timed("drafts", strdup("{\"score\": 1 (draft)} then {\"score\": 2}. Final: {\"score\": 3}"),
                  "{\"score\":3}", 20);
}

static void json_extraction_is_linear(void **state) {
    (void)state;
    /* Every '{' unclosed: the old scan ran to the end from each one. */
    extract_timed("unclosed braces", repeat("{", BIG, " {\"score\": 1}"), "{\"score\":1}", 20);
    extract_timed("unclosed braces, answer before", repeat("{", BIG, ""), NULL, 20);
    char *t = repeat("x", 16, "{\"score\": 2} ");
    char *u = repeat("{", BIG, "");
    char *both = malloc(strlen(t) + strlen(u) + 1);
    strcpy(both, t);
    strcat(both, u);
    free(t);
    free(u);
    extract_timed("answer, then unclosed braces", both, "{\"score\":2}", 20);
    /* Deep nesting that fails at the innermost point: every level used to be
     * parsed again down to the same error. */
    size_t depth = BIG / 12;
    char *deep = malloc(depth * 6 + 64 + depth + 8);
    size_t k = 0;
    for (size_t i = 0; i < depth; i++) k += (size_t)sprintf(deep + k, "{\"a\": ");
    k += (size_t)sprintf(deep + k, "1,");
    for (size_t i = 0; i < depth; i++) deep[k++] = '}';
    deep[k] = 0;
    extract_timed("deep nesting failing inside", deep, NULL, 20);
    /* Many small spans that fail, then the answer last. */
    extract_timed("many failing spans", repeat("{x} {\"a\" 1} ", BIG, "{\"score\": 3}"), "{\"score\":3}", 20);
    /* Quotes that flip the string parity after an unclosed '{'. */
    extract_timed("quoted braces", repeat("{\"", BIG, " then {\"score\": 4}"), "*", 20);
    extract_timed("one quoted brace", repeat("a", BIG, " use \"{\" here. {\"score\": 5}"), "{\"score\":5}", 20);
    /* The usual shape, large: a long reasoning with objects, answer last. */
    extract_timed("long reasoning", repeat("{\"score\": 0, \"why\": \"{no}\"} text ", BIG, "{\"score\": 6}"),
                  "{\"score\":6}", 20);
}

/* `rgsd judge` matched each response to its example by scanning every
 * example: 100k lines took 134 s. 200k lines, responses in reverse order. */
static void judge_matching_is_linear(void **state) {
    (void)state;
    const size_t n = 200000;
    rg_dataset data = {.examples = calloc(n, sizeof(rg_example)), .count = n};
    rg_response_set set = {.lines = calloc(n, sizeof(rg_response_line)), .count = n};
    for (size_t e = 0; e < n; e++) {
        data.examples[e].id = rg_sprintf("example-%zu", e);
        data.examples[e].line = (long)e + 1;
        set.lines[e].id = rg_sprintf("example-%zu", n - 1 - e);
        set.lines[e].line = (long)e + 1;
    }
    alarm(30);
    double t0 = now_s();
    assert_int_equal(rg_match_responses("r.jsonl", "d.jsonl", &data, &set), RG_OK);
    double dt = now_s() - t0;
    alarm(0);
    fprintf(stderr, "  judge matching, %zu responses by id: %.3f s (bound 5 s)\n", n, dt);
    for (size_t k = 0; k < n; k++) assert_int_equal(set.lines[k].example, n - 1 - k);
    assert_true(dt < 5);

    /* A shared id is an error only when a response asks for it; it names both lines. */
    free(data.examples[7].id);
    data.examples[7].id = rg_strdup("example-3");
    free(set.lines[0].id);
    set.lines[0].id = rg_strdup("example-5");
    set.count = 1;
    assert_int_equal(rg_match_responses("r.jsonl", "d.jsonl", &data, &set), RG_OK);
    free(set.lines[0].id);
    set.lines[0].id = rg_strdup("example-3");
    assert_int_equal(rg_match_responses("r.jsonl", "d.jsonl", &data, &set), RG_ERR);
    assert_non_null(strstr(rg_errmsg(), "d.jsonl: examples on lines 4 and 8 share the id 'example-3'"));
    set.count = n;
    rg_response_set_free(&set);
    rg_dataset_free(&data);
}

static void assert_one_safe_line(const char *s, size_t cap);

/* ---- model configs ---------------------------------------------------- */

static const char *TINY_CONFIG =
    "{\"architectures\": [\"LlamaForCausalLM\"], \"hidden_size\": 8, \"intermediate_size\": 16,"
    " \"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"num_key_value_heads\": 1, \"vocab_size\": 10,"
    " \"max_position_embeddings\": 6, \"tie_word_embeddings\": true, \"eos_token_id\": 2}";

/* TINY_CONFIG with `from` replaced by `to`, into a static buffer. */
static const char *edited(const char *from, const char *to) {
    static char text[2048];
    const char *at = strstr(TINY_CONFIG, from);
    assert_non_null(at);
    snprintf(text, sizeof text, "%.*s%s%s", (int)(at - TINY_CONFIG), TINY_CONFIG, to, at + strlen(from));
    return text;
}

static void expect_config_error(const char *from, const char *to, const char *needle) {
    rg_model_config cfg;
    assert_int_equal(rg_config_parse(edited(from, to), "m/config.json", &cfg), RG_ERR);
    fprintf(stderr, "  %s -> %s\n", to, rg_errmsg());
    if (!strstr(rg_errmsg(), needle) || !strstr(rg_errmsg(), "m/config.json")) fail_msg("lacks '%s'", needle);
}

static void config_numbers_in_range(void **state) {
    (void)state;
    rg_model_config cfg;
    assert_int_equal(rg_config_parse(edited("\"eos_token_id\": 2", "\"eos_token_id\": 2, \"bos_token_id\": null"),
                                     "c", &cfg), RG_OK);
    assert_int_equal(cfg.bos_id, -1);
    assert_int_equal(rg_config_parse(edited("\"eos_token_id\": 2", "\"eos_token_id\": 2, \"bos_token_id\": 9"),
                                     "c", &cfg), RG_OK);
    assert_int_equal(cfg.bos_id, 9);
    expect_config_error("\"eos_token_id\": 2", "\"eos_token_id\": 1e20", "eos_token_id");
    expect_config_error("\"eos_token_id\": 2", "\"eos_token_id\": [2, 1e20]", "eos_token_id");
    expect_config_error("\"eos_token_id\": 2", "\"eos_token_id\": 2, \"bos_token_id\": 1e20", "bos_token_id");
    expect_config_error("\"eos_token_id\": 2", "\"eos_token_id\": 2, \"bos_token_id\": -3", "bos_token_id");
    expect_config_error("\"eos_token_id\": 2", "\"eos_token_id\": 2, \"bos_token_id\": 10", "bos_token_id");
    expect_config_error("\"eos_token_id\": 2", "\"eos_token_id\": 2, \"bos_token_id\": \"1\"", "bos_token_id");
    /* 100000 heads of 100000: 1e10 overflows the int that holds the width. */
    expect_config_error("\"num_attention_heads\": 2", "\"num_attention_heads\": 100000, \"head_dim\": 100000",
                        "num_attention_heads");
}

/* A config string quoted in a message: escaped and cut, so the message
 * keeps what was expected and cannot retitle the terminal. */
static void config_strings_quoted_safely(void **state) {
    (void)state;
    char *value = repeat("A", 1500, "");
    memcpy(value, "\x1b]0;pwned\x07", 10);
    rg_model_config cfg;
    assert_int_equal(rg_config_parse(edited("LlamaForCausalLM", value), "m/config.json", &cfg), RG_ERR);
    free(value);
    fprintf(stderr, "  %s\n", rg_errmsg());
    assert_one_safe_line(rg_errmsg(), 1024);
    assert_non_null(strstr(rg_errmsg(), "'\\x1b]0;pwned\\x07AAA"));
    assert_non_null(strstr(rg_errmsg(), "...'; supported: LlamaForCausalLM"));
}

/* A folder with `config` and a safetensors file holding the tensors of
 * TINY_CONFIG (F32 zeros). */
static char *tiny_folder(const char *config) {
    struct { const char *name; int rows, cols; } t[] = {
        {"model.embed_tokens.weight", 10, 8}, {"model.layers.0.input_layernorm.weight", 8, 0},
        {"model.layers.0.self_attn.q_proj.weight", 8, 8}, {"model.layers.0.self_attn.k_proj.weight", 4, 8},
        {"model.layers.0.self_attn.v_proj.weight", 4, 8}, {"model.layers.0.self_attn.o_proj.weight", 8, 8},
        {"model.layers.0.post_attention_layernorm.weight", 8, 0}, {"model.layers.0.mlp.gate_proj.weight", 16, 8},
        {"model.layers.0.mlp.up_proj.weight", 16, 8}, {"model.layers.0.mlp.down_proj.weight", 8, 16},
        {"model.norm.weight", 8, 0},
    };
    char header[4096];
    size_t off = 0, len = (size_t)snprintf(header, sizeof header, "{");
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        size_t bytes = (size_t)t[i].rows * (size_t)(t[i].cols ? t[i].cols : 1) * 4;
        char shape[32];
        if (t[i].cols) snprintf(shape, sizeof shape, "[%d,%d]", t[i].rows, t[i].cols);
        else snprintf(shape, sizeof shape, "[%d]", t[i].rows);
        len += (size_t)snprintf(header + len, sizeof header - len,
                                "%s\"%s\":{\"dtype\":\"F32\",\"shape\":%s,\"data_offsets\":[%zu,%zu]}", i ? "," : "",
                                t[i].name, shape, off, off + bytes);
        off += bytes;
    }
    snprintf(header + len, sizeof header - len, "}");
    char *dir = test_tmpdir();
    char *p = rg_path_join(dir, "config.json");
    assert_int_equal(rg_write_file_atomic(p, config, strlen(config)), RG_OK);
    free(p);
    p = rg_path_join(dir, "model.safetensors");
    FILE *f = fopen(p, "wb");
    uint64_t n = strlen(header);
    fwrite(&n, 8, 1, f);
    fwrite(header, 1, n, f);
    for (size_t i = 0; i < off; i++) fputc(0, f);
    fclose(f);
    free(p);
    return dir;
}

static void remove_folder(char *dir) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

/* Loads `dir` in a child process; returns the growth of its peak resident
 * memory in MB, and the error message in `why`. */
static long load_peak_mb(const char *dir, char *why, size_t why_size) {
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        struct rusage before, after;
        getrusage(RUSAGE_SELF, &before);
        rg_model model;
        int rc = rg_model_load(&model, dir, RG_WEIGHTS_F32);
        getrusage(RUSAGE_SELF, &after);
        if (rc == RG_OK) rg_model_free(&model);
        char msg[1024];
        int n = snprintf(msg, sizeof msg, "%ld %s", (after.ru_maxrss - before.ru_maxrss) / 1024,
                         rc == RG_OK ? "loaded" : rg_errmsg());
        if (write(fds[1], msg, (size_t)n) < 0) _exit(2);
        _exit(0);
    }
    close(fds[1]);
    char msg[1024] = {0};
    ssize_t got = read(fds[0], msg, sizeof msg - 1);
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    assert_true(got > 0);
    long mb = strtol(msg, NULL, 10);
    snprintf(why, why_size, "%s", strchr(msg, ' ') + 1);
    return mb;
}

/* config.json claims a 1,000,000 x 256 embedding (1 GB of f32) that the file
 * does not hold: the shape error must come before the memory is taken. */
static void model_shapes_checked_before_memory(void **state) {
    (void)state;
    char why[1024];
    char *dir = tiny_folder(edited("\"vocab_size\": 10", "\"vocab_size\": 1000000"));
    char *p = rg_path_join(dir, "config.json");
    char *text = NULL;
    size_t len;
    assert_int_equal(rg_read_file(p, &text, &len), RG_OK);
    free(p);
    char *big = malloc(len + 64);
    /* hidden 256 (heads 2 of 128): the embedding alone is 1e6 * 256 floats */
    const char *at = strstr(text, "\"hidden_size\": 8");
    snprintf(big, len + 64, "%.*s\"hidden_size\": 256%s", (int)(at - text), text, at + strlen("\"hidden_size\": 8"));
    p = rg_path_join(dir, "config.json");
    assert_int_equal(rg_write_file_atomic(p, big, strlen(big)), RG_OK);
    free(p);
    free(big);
    free(text);
    long mb = load_peak_mb(dir, why, sizeof why);
    fprintf(stderr, "  claimed 1 GB of parameters: peak memory +%ld MB, error: %s\n", mb, why);
    assert_non_null(strstr(why, "model.embed_tokens.weight"));
    assert_true(mb < 100);
    remove_folder(dir);

    /* A billion layers claimed by a file of 11 tensors: refused before the table. */
    dir = tiny_folder(edited("\"num_hidden_layers\": 1", "\"num_hidden_layers\": 1000000000"));
    mb = load_peak_mb(dir, why, sizeof why);
    fprintf(stderr, "  claimed 1e9 layers: peak memory +%ld MB, error: %s\n", mb, why);
    assert_non_null(strstr(why, "1000000000 layers"));
    assert_true(mb < 100);
    remove_folder(dir);

    /* And the real thing still loads. */
    dir = tiny_folder(TINY_CONFIG);
    load_peak_mb(dir, why, sizeof why);
    assert_string_equal(why, "loaded");
    remove_folder(dir);
}

/* ---- untrusted text in messages and outputs ---------------------------- */

/* One printable line: no byte below 0x20, no DEL, valid UTF-8, no C1. */
static void assert_one_safe_line(const char *s, size_t cap) {
    assert_true(strlen(s) < cap);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) fail_msg("control byte 0x%02x in '%s'", *p, s);
        if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) fail_msg("C1 control in '%s'", s);
    }
    assert_int_equal(rg_utf8_invalid_at(s, strlen(s)), -1);
}

static void messages_are_one_safe_line(void **state) {
    (void)state;
    char out[64];
    assert_string_equal(rg_text_escape(out, sizeof out, "a\nb\tc\x1b[2J\x7f\xff \xc2\x9b \xe2\x80\xae z", SIZE_MAX),
                        "a\\nb\\tc\\x1b[2J\\x7f\\xff \\u009b \\u202e z");
    /* escaping twice changes nothing: messages are re-wrapped as they travel */
    char twice[64];
    assert_string_equal(rg_text_escape(twice, sizeof twice, out, SIZE_MAX), out);
    /* cut at a character boundary, marked */
    assert_string_equal(rg_text_escape(out, 10, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", SIZE_MAX), "\xc3\xa9\xc3\xa9\xc3\xa9...");
    assert_string_equal(rg_text_escape(out, sizeof out, "abcdef", 3), "abc...");
    assert_string_equal(rg_text_escape(out, sizeof out, "abc", 3), "abc");

    /* rg_error: an answer that clears the screen, a config value that sets
     * the terminal title, several lines, a megabyte */
    rg_error("grader said: %s", "ok\x1b[2J\x1b]0;pwned\x07\nline 2\r\nline 3");
    fprintf(stderr, "  message: %s\n", rg_errmsg());
    assert_one_safe_line(rg_errmsg(), 1024);
    assert_non_null(strstr(rg_errmsg(), "ok\\x1b[2J\\x1b]0;pwned\\x07\\nline 2\\r\\nline 3"));
    char *big = repeat("\n\xff", 1 << 20, "");
    rg_error("config.json: field 'architectures' is '%s'", big);
    assert_one_safe_line(rg_errmsg(), 1024);
    assert_non_null(strstr(rg_errmsg(), "..."));
    rg_error_prefix("loading %s", "m\x1b[31m");
    assert_one_safe_line(rg_errmsg(), 1024);
    const char *expect_start = "loading m\\x1b[31m: config.json";
    assert_int_equal(strncmp(rg_errmsg(), expect_start, strlen(expect_start)), 0);

    /* warnings and info lines too */
    char path[] = "/tmp/rgsd-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    rg_warn("bad tensor name '%s'", "w\x1b[2J\nx");
    rg_warn("%s", big);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fd);
    free(big);
    char *text;
    size_t len;
    assert_int_equal(rg_read_file(path, &text, &len), RG_OK);
    unlink(path);
    char *second = strchr(text, '\n');
    assert_non_null(second);
    *second++ = '\0';
    assert_string_equal(text, "warning: bad tensor name 'w\\x1b[2J\\nx'");
    assert_non_null(strchr(second, '\n'));
    *strchr(second, '\n') = '\0';
    assert_one_safe_line(second, 4200);
    free(text);

    /* repair for outputs: invalid sequences become U+FFFD */
    char *fixed = rg_utf8_repair("a\xff" "b\xc3\xa9\xed\xa0\x80" "c\xc3", 10);
    assert_string_equal(fixed, "a\xef\xbf\xbd" "b\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "c\xef\xbf\xbd");
    free(fixed);
}

/* RaR's category becomes a tag that is printed and written: UTF-8 only. */
static void rar_category_is_utf8(void **state) {
    (void)state;
    rg_example ex;
    const char *good = "{\"question\": \"q\", \"rubric\": [{\"title\": \"t\", \"description\": \"d\", \"weight\": 2,"
                       " \"category\": \"Essential\"}]}";
    assert_int_equal(rg_example_parse(good, "rar.jsonl", 3, &ex), RG_OK);
    rg_example_free(&ex);
    const char *bad = "{\"question\": \"q\", \"rubric\": [{\"title\": \"t\", \"description\": \"d\", \"weight\": 2,"
                      " \"category\": \"Ess\xff" "ential\"}]}";
    assert_int_equal(rg_example_parse(bad, "rar.jsonl", 3, &ex), RG_ERR);
    fprintf(stderr, "  %s\n", rg_errmsg());
    assert_non_null(strstr(rg_errmsg(), "rar.jsonl:3"));
    assert_non_null(strstr(rg_errmsg(), "category"));
    assert_non_null(strstr(rg_errmsg(), "invalid UTF-8 at byte 3"));
}

/* An endpoint answering invalid UTF-8 and terminal escapes: the verdict, the
 * failures file and the message stay valid, one line, parseable. */
static void endpoint_text_is_made_safe(void **state) {
    (void)state;
    if (!fake_openai_available()) {
        fprintf(stderr, "skipped: needs %s and %s\n", FAKE_PYTHON, fake_openai_script_path());
        skip();
    }
    char *dir = test_tmpdir();
    /* \udcff is sent as the raw byte 0xff (see fake_openai_server.py) */
    const char *script =
        "{\"rules\": ["
        "{\"if_contains\": \"[GOOD]\", \"body\": \"{\\\"choices\\\": [{\\\"message\\\": {\\\"content\\\": "
        "\\\"{\\\\\\\"criteria_met\\\\\\\": true, \\\\\\\"explanation\\\\\\\": \\\\\\\"ok \\udcff\\udcfe\\\\\\\"}\\\"}}]}\"},"
        "{\"if_contains\": \"[BAD]\", \"body\": \"{\\\"choices\\\": [{\\\"message\\\": {\\\"content\\\": "
        "\\\"no verdict \\udcff \\\\u001b[2J\\\"}}]}\"}],"
        " \"default\": {\"status\": 500, \"body\": \"oops\\n\\u001b]0;pwned\\u0007 \\udcff\"}}";
    fake_openai server = {0};
    if (fake_openai_start(&server, dir, script) != 0) fail_msg("fake server did not start with %s", script);
    setenv("NO_PROXY", "127.0.0.1", 1);
    setenv("RGSD_TEST_HOSTILE_KEY", "test-key", 1);
    char spec_text[256], failures[600];
    snprintf(spec_text, sizeof spec_text, "http:%s#model=g&key_env=RGSD_TEST_HOSTILE_KEY&backoff=0.01&retries=0",
             server.url);
    snprintf(failures, sizeof failures, "%s/failures.jsonl", dir);
    rg_judge_spec spec;
    assert_int_equal(rg_judge_spec_parse(spec_text, &spec), RG_OK);
    rg_judge_options options = {.failures_path = failures};
    rg_judge *judge;
    assert_int_equal(rg_judge_open(&judge, &spec, &options), RG_OK);
    rg_judge_spec_free(&spec);

    rg_example ex;
    assert_int_equal(rg_example_parse("{\"id\": \"e\", \"messages\": [{\"role\": \"user\", \"content\": \"q\"}],"
                                      " \"rubric\": [{\"text\": \"[GOOD] a\", \"weight\": 1}]}", "t", 1, &ex),
                     RG_OK);
    rg_verdict verdicts[1] = {0};
    rg_judge_item item = {.example = &ex, .response = "r", .verdicts = verdicts};
    assert_int_equal(rg_judge_run(judge, &item, 1), RG_OK);
    assert_int_equal(verdicts[0].met, 1);
    assert_string_equal(verdicts[0].explanation, "ok \xef\xbf\xbd\xef\xbf\xbd");
    rg_verdicts_clear(verdicts, 1);
    rg_example_free(&ex);

    for (int k = 0; k < 2; k++) {
        assert_int_equal(rg_example_parse(k == 0 ? "{\"id\": \"e\", \"messages\": [{\"role\": \"user\", \"content\": \"q\"}],"
                                                   " \"rubric\": [{\"text\": \"[BAD] a\", \"weight\": 1}]}"
                                                 : "{\"id\": \"e\", \"messages\": [{\"role\": \"user\", \"content\": \"q\"}],"
                                                   " \"rubric\": [{\"text\": \"[OTHER] a\", \"weight\": 1}]}",
                                          "t", 1, &ex),
                         RG_OK);
        item = (rg_judge_item){.example = &ex, .response = "r", .verdicts = verdicts};
        assert_int_equal(rg_judge_run(judge, &item, 1), RG_ERR);
        fprintf(stderr, "  message: %s\n", rg_errmsg());
        assert_one_safe_line(rg_errmsg(), 1024);
        rg_verdicts_clear(verdicts, 1);
        rg_example_free(&ex);
    }
    rg_judge_close(judge);
    fake_openai_stop(&server);

    /* every failure line parses, in valid UTF-8 */
    char *text;
    size_t len;
    assert_int_equal(rg_read_file(failures, &text, &len), RG_OK);
    assert_int_equal(rg_utf8_invalid_at(text, len), -1);
    int lines = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"), lines++) {
        cJSON *record = cJSON_Parse(line);
        if (!record) fail_msg("failures line does not parse: %s", line);
        cJSON_Delete(record);
    }
    assert_int_equal(lines, 2);
    free(text);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_extraction_keeps_its_answers),
        cmocka_unit_test(json_extraction_is_linear),
        cmocka_unit_test(judge_matching_is_linear),
        cmocka_unit_test(config_numbers_in_range),
        cmocka_unit_test(config_strings_quoted_safely),
        cmocka_unit_test(model_shapes_checked_before_memory),
        cmocka_unit_test(messages_are_one_safe_line),
        cmocka_unit_test(rar_category_is_utf8),
        cmocka_unit_test(endpoint_text_is_made_safe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
