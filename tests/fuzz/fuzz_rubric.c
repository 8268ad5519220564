/* fuzz_rubric.c — rubric data as rgsd reads it: JSONL split into values by
 * the streaming reader (io/jsonl.h: long lines, CRLF, blank lines, bad
 * JSON), each value through the per-line parser of all five formats
 * (rg_example_from_json_opts: format detection, messages, criteria, weights,
 * polarity, tags, PCRE2 match patterns).
 *
 * Property: an accepted example written back as native JSON
 * (rg_example_to_json) reads back to the same example (docs/rubric-data.md
 * promises it; `rgsd data convert` relies on it). Compared as the printed
 * native JSON of both. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "fuzz_util.h"
#include "io/jsonl.h"
#include "rubric/rubric.h"

static char *native_text(const rg_example *ex) {
    cJSON *json = rg_example_to_json(ex);
    fuzz_check(json != NULL, "an accepted example can be written as native JSON");
    char *text = cJSON_PrintUnformatted(json);
    cJSON_Delete(json);
    fuzz_check(text != NULL, "cJSON_PrintUnformatted");
    return text;
}

static void round_trip(const rg_example *ex, int allow_empty) {
    char *first = native_text(ex);
    cJSON *back = cJSON_Parse(first);
    fuzz_check(back != NULL, "the native JSON of an example parses");
    rg_example again;
    int rc = rg_example_from_json_opts(back, "fuzz.jsonl", ex->line, allow_empty, &again);
    cJSON_Delete(back);
    if (rc != 0) fprintf(stderr, "fuzz: native JSON %s\nrefused: %s\n", first, rg_errmsg());
    fuzz_check(rc == 0, "an example written as native JSON reads back");
    char *second = native_text(&again);
    if (strcmp(first, second) != 0) fprintf(stderr, "fuzz: written %s\nread back %s\n", first, second);
    fuzz_check(strcmp(first, second) == 0, "an example reads back identically");
    free(first);
    free(second);
    rg_example_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    /* The first byte's low bit: accept empty rubrics (the trainer's reading)
     * or not (evaluation's). */
    int allow_empty = data[0] & 1;
    FILE *stream = fmemopen((void *)(data + 1), size - 1, "r");
    if (!stream) return 0; /* size 1: nothing to read */
    rg_jsonl *in;
    if (rg_jsonl_open_stream(&in, stream, "fuzz.jsonl") == 0) {
        cJSON *value;
        int got;
        /* Bad lines are skipped (what skip_bad does), up to the end or an
         * unrecoverable read error. */
        while ((got = rg_jsonl_next(in, &value)) != 0) {
            if (got < 0) {
                if (rg_jsonl_failed(in)) break;
                continue;
            }
            rg_example ex;
            if (rg_example_from_json_opts(value, "fuzz.jsonl", rg_jsonl_line(in), allow_empty, &ex) == 0) {
                round_trip(&ex, allow_empty);
                rg_example_free(&ex);
            }
            cJSON_Delete(value);
        }
        rg_jsonl_close(in);
    }
    fclose(stream);
    return 0;
}
