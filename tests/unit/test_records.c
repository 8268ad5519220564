/* test_records.c — data files as people have them: JSON Lines, .jsonl.gz, a
 * JSON array (pretty or on one line), one or more pretty-printed objects, and
 * the files that are refused with what they are (UTF-16, zip, xz; Parquet
 * too short to be one).
 * Every record's line and index, every error's exact line. */
#include "test_util.h"

#include <zlib.h>

#include "base/error.h"
#include "io/records.h"

static char *dir;

static const char *write_file(const char *name, const void *data, size_t n) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
    return path;
}

static const char *write_text(const char *name, const char *text) { return write_file(name, text, strlen(text)); }

static const char *write_gzip(const char *name, const char *text) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    gzFile g = gzopen(path, "wb");
    assert_non_null(g);
    assert_int_equal(gzwrite(g, text, (unsigned)strlen(text)), (int)strlen(text));
    gzclose(g);
    return path;
}

/* Reads every record; "a" values are checked in order 1, 2, 3... and their
 * lines and indices recorded. Returns the count, or -1 on an error. */
static int read_all(const char *path, long *lines, long *indices, int max) {
    rg_records *in;
    if (rg_records_open(&in, path)) return -1;
    cJSON *v;
    int got, n = 0;
    while ((got = rg_records_next(in, &v)) == 1) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(v, "a");
        if (!cJSON_IsNumber(a) || a->valueint != n + 1) fail_msg("record %d: wrong value", n);
        if (n < max) {
            lines[n] = rg_records_line(in);
            indices[n] = rg_records_index(in);
        }
        n++;
        cJSON_Delete(v);
    }
    rg_records_close(in);
    return got < 0 ? -1 : n;
}

static void layouts_read_the_same_records(void **state) {
    (void)state;
    long lines[8], idx[8];
    /* JSON Lines: blank lines counted, CRLF, a UTF-8 BOM. */
    assert_int_equal(read_all(write_text("a.jsonl", "\xEF\xBB\xBF{\"a\": 1}\r\n\n{\"a\": 2}\n{\"a\": 3}"), lines, idx, 8), 3);
    assert_int_equal(lines[0], 1);
    assert_int_equal(lines[1], 3);
    assert_int_equal(lines[2], 4);
    assert_int_equal(idx[2], -1);
    /* The same, gzip-compressed, whatever the name. */
    assert_int_equal(read_all(write_gzip("a.data", "{\"a\": 1}\n\n{\"a\": 2}\n{\"a\": 3}\n"), lines, idx, 8), 3);
    assert_int_equal(lines[2], 4);
    /* A pretty-printed JSON array: elements with the line they start on. */
    const char *array = "[\n  {\n    \"a\": 1,\n    \"s\": \"]} [{ \\\" \"\n  },\n  {\"a\": 2}, {\"a\": 3}\n]\n";
    assert_int_equal(read_all(write_text("a.json", array), lines, idx, 8), 3);
    assert_int_equal(lines[0], 2);
    assert_int_equal(lines[1], 6);
    assert_int_equal(lines[2], 6);
    assert_int_equal(idx[0], 0);
    assert_int_equal(idx[2], 2);
    assert_int_equal(read_all(write_gzip("a.json.gz", array), lines, idx, 8), 3);
    /* An array on one line, and an empty one. */
    assert_int_equal(read_all(write_text("b.json", "[{\"a\":1},{\"a\":2}]"), lines, idx, 8), 2);
    assert_int_equal(read_all(write_text("c.json", "  [ ]  \n"), lines, idx, 8), 0);
    /* One pretty-printed object, and two after each other. */
    assert_int_equal(read_all(write_text("d.json", "{\n  \"a\": 1,\n  \"b\": [1, 2]\n}\n"), lines, idx, 8), 1);
    assert_int_equal(lines[0], 1);
    assert_int_equal(read_all(write_text("e.json", "{\n \"a\": 1\n}\n\n{\n \"a\": 2\n}"), lines, idx, 8), 2);
    assert_int_equal(lines[1], 5);
    /* Empty files. */
    assert_int_equal(read_all(write_text("empty.jsonl", ""), lines, idx, 8), 0);
    assert_int_equal(read_all(write_gzip("empty.gz", ""), lines, idx, 8), 0);
}

static void expect_open_error(const char *path, const char *message) {
    rg_records *in;
    assert_int_equal(rg_records_open(&in, path), RG_ERR);
    assert_null(in);
    if (!strstr(rg_errmsg(), message)) fail_msg("got '%s', expected '%s'", rg_errmsg(), message);
}

static void files_that_are_not_json_say_what_they_are(void **state) {
    (void)state;
    char path[512];
    const char utf16[] = "\xFF\xFE{\0\"\0a\0\"\0:\0 \0001\0}\0\n\0";
    snprintf(path, sizeof path, "%s", write_file("u16.jsonl", utf16, sizeof utf16 - 1));
    expect_open_error(path, "u16.jsonl: this is UTF-16LE text; rgsd reads UTF-8: convert it with iconv -f UTF-16LE");
    const char utf16_no_bom[] = "{\0\"\0a\0\"\0";
    expect_open_error(write_file("u16b.jsonl", utf16_no_bom, sizeof utf16_no_bom - 1), "this is UTF-16LE text");
    expect_open_error(write_text("t.parquet", "PAR1\x15\x04"), "t.parquet: not a Parquet file (6 bytes, too short)");
    expect_open_error(write_text("t.zip", "PK\x03\x04zz"), "t.zip: this is a zip archive; unpack it");
    expect_open_error(write_file("t.xz", "\xFD" "7zXZ\x00\x00", 7), "t.xz: this is xz-compressed");
    expect_open_error(write_text("t.bz2", "BZh91AY"), "t.bz2: this is bzip2-compressed");
    expect_open_error(write_file("t.zst", "\x28\xB5\x2F\xFD\x00", 5), "t.zst: this is zstd-compressed");
}

static int first_error(const char *path, char *message, size_t size, int *records_before) {
    rg_records *in;
    *records_before = 0;
    if (rg_records_open(&in, path)) { /* the first bytes are read at once */
        snprintf(message, size, "%s", rg_errmsg());
        return -1;
    }
    cJSON *v;
    int got;
    while ((got = rg_records_next(in, &v)) == 1) {
        cJSON_Delete(v);
        (*records_before)++;
    }
    snprintf(message, size, "%s", got < 0 ? rg_errmsg() : "");
    int failed = rg_records_failed(in);
    /* After a recoverable error reading goes on. */
    int more = 0;
    if (got < 0 && !failed)
        while ((got = rg_records_next(in, &v)) == 1) {
            cJSON_Delete(v);
            more++;
        }
    rg_records_close(in);
    return failed ? -1 : more;
}

static void errors_name_line_column_and_layout(void **state) {
    (void)state;
    char msg[512], path[512];
    int before;
    snprintf(path, sizeof path, "%s", write_text("bad.jsonl", "{\"a\": 1}\n{\"a\": 2,}\n{\"a\": 3}\n"));
    assert_int_equal(first_error(path, msg, sizeof msg, &before), 1);
    assert_int_equal(before, 1);
    char expected[600];
    snprintf(expected, sizeof expected, "%s:2: invalid JSON near column 10 (read as JSON Lines)", path);
    assert_string_equal(msg, expected);

    snprintf(path, sizeof path, "%s", write_gzip("bad.jsonl.gz", "{\"a\": 1}\n{\"a\" 2}\n"));
    assert_int_equal(first_error(path, msg, sizeof msg, &before), 0);
    snprintf(expected, sizeof expected, "%s:2: invalid JSON near column 6 (read as gzip-compressed JSON Lines)", path);
    assert_string_equal(msg, expected);

    /* An invalid element: its line and column, then the next element. */
    snprintf(path, sizeof path, "%s", write_text("bad.json", "[\n {\"a\": 1},\n {\n  \"a\": tru\n },\n {\"a\": 3}\n]"));
    assert_int_equal(first_error(path, msg, sizeof msg, &before), 1);
    snprintf(expected, sizeof expected, "%s:4: invalid JSON near column 8 in element [1] (read as a JSON array)", path);
    assert_string_equal(msg, expected);

    /* A broken structure stops the file. */
    snprintf(path, sizeof path, "%s", write_text("open.json", "[\n {\"a\": 1},\n {\"a\": 2"));
    assert_int_equal(first_error(path, msg, sizeof msg, &before), -1);
    snprintf(expected, sizeof expected,
             "%s:3: the file ends inside the value that starts on line 3 (read as a JSON array)", path);
    assert_string_equal(msg, expected);
    snprintf(path, sizeof path, "%s", write_text("comma.json", "[{\"a\": 1} {\"a\": 2}]"));
    assert_int_equal(first_error(path, msg, sizeof msg, &before), -1);
    assert_non_null(strstr(msg, "comma.json:1: expected , or ] after element [0] (read as a JSON array)"));
    snprintf(path, sizeof path, "%s", write_text("after.json", "[{\"a\": 1}]\n{\"a\": 2}\n"));
    assert_int_equal(first_error(path, msg, sizeof msg, &before), -1);
    assert_non_null(strstr(msg, "after.json:2: more data after the closing ] of the array"));
    snprintf(path, sizeof path, "%s", write_text("trail.json", "[{\"a\": 1},]"));
    assert_int_equal(first_error(path, msg, sizeof msg, &before), -1);
    assert_non_null(strstr(msg, "trail.json:1: element [1] is missing"));

    /* Pretty-printed: the line the error is on. */
    snprintf(path, sizeof path, "%s", write_text("bad_pretty.json", "{\n  \"a\": 1,\n  \"b\": x\n}\n"));
    first_error(path, msg, sizeof msg, &before);
    snprintf(expected, sizeof expected, "%s:3: invalid JSON near column 8 (read as pretty-printed JSON)", path);
    assert_string_equal(msg, expected);

    /* A truncated gzip file is an I/O error, not a JSON one. */
    unsigned char packed[256];
    uLongf packed_len = sizeof packed;
    z_stream z = {0};
    const char *text = "{\"a\": 1}\n{\"a\": 2}\n";
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (unsigned char *)text;
    z.avail_in = (uInt)strlen(text);
    z.next_out = packed;
    z.avail_out = (uInt)packed_len;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    packed_len = z.total_out;
    deflateEnd(&z);
    snprintf(path, sizeof path, "%s", write_file("cut.gz", packed, packed_len - 6));
    assert_int_equal(first_error(path, msg, sizeof msg, &before), -1);
    assert_non_null(strstr(msg, "cut.gz: gzip data ends early"));
}

static int setup(void **state) {
    (void)state;
    dir = test_tmpdir();
    return dir ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) return -1;
    free(dir);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(layouts_read_the_same_records),
        cmocka_unit_test(files_that_are_not_json_say_what_they_are),
        cmocka_unit_test(errors_name_line_column_and_layout),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
