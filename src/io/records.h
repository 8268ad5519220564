/* records.h — the one way data files are opened: JSON objects, one at a
 * time, from whatever file a user has.
 *
 * What the file is comes from its bytes, not its name:
 *   - Parquet ("PAR1") is read row by row (io/parquet.h), each row the object
 *     a JSON line would be; its 1-based row number stands for the line;
 *   - gzip (1f 8b) is decompressed as it is read (zlib), then looked at again;
 *   - text starting with '[' is a JSON array: its elements are the records;
 *   - text whose first line opens an object it does not close ("{" alone, or
 *     a line ending in '{', '[', ',' or ':') is pretty-printed JSON: one or
 *     more objects written over several lines, each one record;
 *   - anything else is JSON Lines: one value per line, blank lines skipped,
 *     CRLF accepted.
 * A UTF-8 byte-order mark is skipped. UTF-16/32 text, zip, bzip2, xz and zstd
 * files are refused with one line saying what the file is and how to convert
 * it (and Parquet on standard input: its footer is at the end).
 *
 * Every layout streams: memory is bounded by the largest record (for Parquet,
 * the largest row group), never the file (a JSON array is cut into its elements by a scanner that tracks
 * strings and nesting; each element is parsed on its own).
 *
 *   rg_records *in;
 *   if (rg_records_open(&in, "data.json.gz")) return RG_ERR;
 *   cJSON *value;
 *   int got;
 *   while ((got = rg_records_next(in, &value)) == 1) { ...; cJSON_Delete(value); }
 *   rg_records_close(in);
 *   if (got < 0) return RG_ERR;
 *
 * Where a record is: rg_records_line() is the physical line it starts on
 * (decompressed text, counted from 1), rg_records_index() its 0-based position
 * among the elements of a JSON array (-1 in the other layouts). Errors name
 * them and the layout the file was read as:
 *   data.jsonl:11: invalid JSON near column 40 (read as JSON Lines)
 *   data.json:17: invalid JSON near column 9 in element [3] (read as a JSON array)
 * After an invalid record rg_records_next may be called again and goes on
 * with the next one, unless rg_records_failed() says the file cannot be read
 * further (an I/O or gzip error, or a JSON array whose structure is broken).
 */
#ifndef RG_RECORDS_H
#define RG_RECORDS_H

#include <cjson/cJSON.h>

typedef enum { RG_RECORDS_JSONL = 0, RG_RECORDS_JSON_ARRAY, RG_RECORDS_JSON_PRETTY, RG_RECORDS_PARQUET } rg_records_layout;

typedef struct rg_records rg_records;

/* Opens a file ("-" reads standard input). */
int rg_records_open(rg_records **out, const char *path);

/* Next record: 1 and *value (free with cJSON_Delete), 0 at the end, -1 on an
 * error (message recorded). */
int rg_records_next(rg_records *in, cJSON **value);

long rg_records_line(const rg_records *in);
long rg_records_index(const rg_records *in);
const char *rg_records_name(const rg_records *in);
rg_records_layout rg_records_layout_of(const rg_records *in);
/* "JSON Lines", "gzip-compressed JSON Lines", "a JSON array", ... */
const char *rg_records_layout_name(const rg_records *in);
/* 1 after an error that stops the file (see above), else 0. */
int rg_records_failed(const rg_records *in);

void rg_records_close(rg_records *in);

#endif
