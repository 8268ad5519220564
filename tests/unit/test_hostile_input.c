/* test_hostile_input.c — input from outside (an endpoint's answer, a data
 * file, a config) must cost time linear in its size, memory in proportion to
 * what the data holds rather than what a header claims, and give one clear
 * error line when it is out of range.
 *
 * Timing tests assert a bound ~10x above the measured time (printed) so they
 * never flake on a slow core, and arm alarm() as a backstop: the quadratic
 * code they guard against would run for hours. */
#include "test_util.h"

#include <signal.h>
#include <time.h>

#include "base/error.h"
#include "cli/judge_responses.h"
#include "judge/json_extract.h"
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

static void json_extraction_is_linear(void **state) {
    (void)state;
    /* Every '{' unclosed: the old scan ran to the end from each one. */
    extract_timed("unclosed braces", repeat("{", BIG, " {\"score\": 1}"), "{\"score\":1}", 5);
    extract_timed("unclosed braces, answer before", repeat("{", BIG, ""), NULL, 5);
    char *t = repeat("x", 16, "{\"score\": 2} ");
    char *u = repeat("{", BIG, "");
    char *both = malloc(strlen(t) + strlen(u) + 1);
    strcpy(both, t);
    strcat(both, u);
    free(t);
    free(u);
    extract_timed("answer, then unclosed braces", both, "{\"score\":2}", 5);
    /* Deep nesting that fails at the innermost point: every level used to be
     * parsed again down to the same error. */
    size_t depth = BIG / 12;
    char *deep = malloc(depth * 6 + 64 + depth + 8);
    size_t k = 0;
    for (size_t i = 0; i < depth; i++) k += (size_t)sprintf(deep + k, "{\"a\": ");
    k += (size_t)sprintf(deep + k, "1,");
    for (size_t i = 0; i < depth; i++) deep[k++] = '}';
    deep[k] = 0;
    extract_timed("deep nesting failing inside", deep, NULL, 5);
    /* Many small spans that fail, then the answer last. */
    extract_timed("many failing spans", repeat("{x} {\"a\" 1} ", BIG, "{\"score\": 3}"), "{\"score\":3}", 5);
    /* Quotes that flip the string parity after an unclosed '{'. */
    extract_timed("quoted braces", repeat("{\"", BIG, " then {\"score\": 4}"), "*", 5);
    extract_timed("one quoted brace", repeat("a", BIG, " use \"{\" here. {\"score\": 5}"), "{\"score\":5}", 5);
    /* The usual shape, large: a long reasoning with objects, answer last. */
    extract_timed("long reasoning", repeat("{\"score\": 0, \"why\": \"{no}\"} text ", BIG, "{\"score\": 6}"),
                  "{\"score\":6}", 5);
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
    fprintf(stderr, "  judge matching, %zu responses by id: %.3f s (bound 3 s)\n", n, dt);
    for (size_t k = 0; k < n; k++) assert_int_equal(set.lines[k].example, n - 1 - k);
    assert_true(dt < 3);

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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_extraction_is_linear),
        cmocka_unit_test(judge_matching_is_linear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
