/* fuzz_records.c — io/records, the one reader of data files: whatever the
 * bytes are (JSON Lines, gzip, a JSON array, pretty-printed objects, UTF-16,
 * a damaged gzip stream, Parquet), open and read every record.
 *
 * Properties (records.h's contract): a record is a JSON value; its line never
 * goes backwards; the element index is -1 outside a JSON array and counts up
 * inside it; after a failure that stops the file, no record follows. */
#include <zlib.h>

#include "fuzz_util.h"
#include "io/records.h"

/* Enough records for any input the fuzzer makes (each needs a byte). */
enum { MAX_RECORDS = 1 << 20 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    rg_records *in;
    if (rg_records_open(&in, fuzz_put("data", data, size)) != 0) return 0;
    int array = rg_records_layout_of(in) == RG_RECORDS_JSON_ARRAY;
    long last_line = 0, last_index = -1;
    for (int n = 0; n < MAX_RECORDS; n++) {
        cJSON *value = NULL;
        int got = rg_records_next(in, &value);
        if (got == 0) break;
        if (got < 0) {
            fuzz_check(value == NULL, "no value with an error");
            if (rg_records_failed(in)) {
                fuzz_check(rg_records_next(in, &value) < 0, "nothing after a failure that stops the file");
                break;
            }
            continue;
        }
        fuzz_check(value != NULL, "a record is a value");
        long line = rg_records_line(in), index = rg_records_index(in);
        fuzz_check(line >= 1 && line >= last_line, "lines never go backwards");
        /* (an invalid element between two records is skipped: its index is used) */
        fuzz_check(array ? index > last_index : index == -1, "array indexes count up; -1 elsewhere");
        last_line = line;
        last_index = index;
        cJSON_Delete(value);
    }
    rg_records_close(in);
    return 0;
}

/* The layouts the reader tells apart, and a gzip'd JSON Lines file. */
int fuzz_write_seeds(const char *dir) {
    static const char jsonl[] = "{\"id\": 1, \"a\": [1, 2]}\n\n{\"id\": 2}\r\n";
    static const char array[] = "[\n  {\"id\": 1, \"s\": \"x]y\\\"\"},\n  {\"id\": 2}\n]\n";
    static const char pretty[] = "{\n  \"id\": 1,\n  \"b\": {\"c\": [\n 1]}\n}\n{\n \"id\": 2\n}\n";
    static const char bom[] = "\xEF\xBB\xBF{\"id\": 3}\n";
    fuzz_put_at(dir, "jsonl", jsonl, sizeof jsonl - 1);
    fuzz_put_at(dir, "array", array, sizeof array - 1);
    fuzz_put_at(dir, "pretty", pretty, sizeof pretty - 1);
    fuzz_put_at(dir, "bom", bom, sizeof bom - 1);
    unsigned char gz[256];
    z_stream z = {0};
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return -1;
    z.next_in = (unsigned char *)array;
    z.avail_in = sizeof array - 1;
    z.next_out = gz;
    z.avail_out = sizeof gz;
    int rc = deflate(&z, Z_FINISH);
    size_t n = sizeof gz - z.avail_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) return -1;
    fuzz_put_at(dir, "array.gz", gz, n);
    return 0;
}
