/* test_jsonl.c — the streaming JSONL reader: line numbers over blank lines,
 * CRLF, a BOM, long lines, and errors with line and column. */
#include "test_util.h"

#include "base/error.h"
#include "io/jsonl.h"

/* Writes `text` to a fresh file and opens a reader on it. */
static rg_jsonl *open_text(const char *text, char **path_out) {
    char *dir = test_tmpdir();
    assert_non_null(dir);
    char path[256];
    snprintf(path, sizeof path, "%s/data.jsonl", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    rg_jsonl *in;
    assert_int_equal(rg_jsonl_open(&in, path), RG_OK);
    *path_out = strdup(path);
    free(dir);
    return in;
}

static void cleanup(rg_jsonl *in, char *path) {
    rg_jsonl_close(in);
    unlink(path);
    *strrchr(path, '/') = '\0';
    rmdir(path);
    free(path);
}

static void reads_values_with_physical_line_numbers(void **state) {
    (void)state;
    char *path;
    /* BOM, CRLF, blank and white-space-only lines. */
    rg_jsonl *in = open_text("\xEF\xBB\xBF{\"a\": 1}\r\n\n   \t\r\n{\"a\": 2}\n\n{\"a\": 3}", &path);
    const long expected_lines[3] = {1, 4, 6};
    cJSON *v;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(rg_jsonl_next(in, &v), 1);
        assert_int_equal(rg_jsonl_line(in), expected_lines[i]);
        assert_int_equal(cJSON_GetObjectItem(v, "a")->valueint, i + 1);
        cJSON_Delete(v);
    }
    assert_int_equal(rg_jsonl_next(in, &v), 0);
    assert_null(v);
    cleanup(in, path);
}

static void reads_a_line_longer_than_any_buffer(void **state) {
    (void)state;
    size_t n = 3 * 1000 * 1000;
    char *text = malloc(n + 32);
    strcpy(text, "{\"s\": \"");
    memset(text + 7, 'x', n);
    strcpy(text + 7 + n, "\"}\n");
    char *path;
    rg_jsonl *in = open_text(text, &path);
    cJSON *v;
    assert_int_equal(rg_jsonl_next(in, &v), 1);
    assert_int_equal(strlen(cJSON_GetObjectItem(v, "s")->valuestring), n);
    cJSON_Delete(v);
    free(text);
    cleanup(in, path);
}

static void invalid_json_names_line_and_column_then_continues(void **state) {
    (void)state;
    char *path;
    /* Line 2: a key is missing where the '}' stands (column 10); cJSON
     * reports the byte after a bad string start, column 11 — hence "near".
     * Line 3: trailing garbage 'x' at column 10. Line 4: "tru" at column 7. */
    rg_jsonl *in = open_text("{\"ok\": 1}\n{\"a\": 1, }\n{\"b\": 2} x\n{\"a\": tru}\n{\"ok\": 2}\n", &path);
    cJSON *v;
    assert_int_equal(rg_jsonl_next(in, &v), 1);
    cJSON_Delete(v);
    assert_int_equal(rg_jsonl_next(in, &v), -1);
    char expected[512];
    snprintf(expected, sizeof expected, "%s:2: invalid JSON near column 11", path);
    assert_string_equal(rg_errmsg(), expected);
    assert_false(rg_jsonl_failed(in));
    assert_int_equal(rg_jsonl_next(in, &v), -1);
    snprintf(expected, sizeof expected, "%s:3: invalid JSON near column 10", path);
    assert_string_equal(rg_errmsg(), expected);
    assert_int_equal(rg_jsonl_next(in, &v), -1);
    snprintf(expected, sizeof expected, "%s:4: invalid JSON near column 7", path);
    assert_string_equal(rg_errmsg(), expected);
    assert_int_equal(rg_jsonl_next(in, &v), 1); /* carries on after bad lines */
    assert_int_equal(cJSON_GetObjectItem(v, "ok")->valueint, 2);
    cJSON_Delete(v);
    cleanup(in, path);
}

static void missing_file_is_a_clear_error(void **state) {
    (void)state;
    rg_jsonl *in;
    assert_int_equal(rg_jsonl_open(&in, "/nonexistent/data.jsonl"), RG_ERR);
    assert_string_equal(rg_errmsg(), "/nonexistent/data.jsonl: cannot open: No such file or directory");
}

static void reads_from_a_stream(void **state) {
    (void)state;
    char text[] = "[1, 2]\n\"s\"\n";
    FILE *f = fmemopen(text, strlen(text), "r");
    rg_jsonl *in;
    assert_int_equal(rg_jsonl_open_stream(&in, f, "mem"), RG_OK);
    cJSON *v;
    assert_int_equal(rg_jsonl_next(in, &v), 1);
    assert_true(cJSON_IsArray(v));
    cJSON_Delete(v);
    assert_int_equal(rg_jsonl_next(in, &v), 1);
    assert_string_equal(v->valuestring, "s");
    cJSON_Delete(v);
    assert_int_equal(rg_jsonl_next(in, &v), 0);
    rg_jsonl_close(in);
    fclose(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_values_with_physical_line_numbers),
        cmocka_unit_test(reads_a_line_longer_than_any_buffer),
        cmocka_unit_test(invalid_json_names_line_and_column_then_continues),
        cmocka_unit_test(missing_file_is_a_clear_error),
        cmocka_unit_test(reads_from_a_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
