/* parquet.h — reads Parquet files row by row, each row as the JSON object a
 * JSONL line would be.
 *
 * Rubric data on the Hugging Face hub and verl's training input are Parquet;
 * this reader lets every command that takes --data read them directly.
 * Nested columns (lists, structs, lists of structs) are assembled from their
 * repetition and definition levels; a null is JSON null, an empty list [].
 * Row groups are read one at a time, so memory is bounded by the largest row
 * group, not the file.
 *
 *   rg_parquet *pq;
 *   if (rg_parquet_open(&pq, "data.parquet")) return RG_ERR;
 *   cJSON *row; long index; int got;
 *   while ((got = rg_parquet_next_row(pq, &row, &index)) == 1) { ...; cJSON_Delete(row); }
 *   rg_parquet_close(pq);
 *   if (got < 0) return RG_ERR;  // "data.parquet: row group 0: column prompt[].content: ..."
 *
 * Supported: data pages v1 and v2; PLAIN, RLE/bit-packed, PLAIN_DICTIONARY,
 * RLE_DICTIONARY, DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY,
 * DELTA_BYTE_ARRAY, BYTE_STREAM_SPLIT; uncompressed, SNAPPY, GZIP, ZSTD,
 * LZ4_RAW, LZ4 (Hadoop framing) and BROTLI; BOOLEAN, INT32, INT64 (signed and
 * unsigned), FLOAT, DOUBLE and UTF-8 BYTE_ARRAY leaves. Not supported (a clear
 * error naming the column): MAP, DECIMAL, DATE/TIME/TIMESTAMP, INT96,
 * FIXED_LEN_BYTE_ARRAY, BSON, encryption, LZO, column chunks in other files.
 * Integers are JSON numbers (doubles, like every JSON reader of rgsd): exact
 * up to 2^53.
 */
#ifndef RG_PARQUET_H
#define RG_PARQUET_H

#include <stddef.h>

#include <cjson/cJSON.h>

typedef struct rg_parquet rg_parquet;

/* 1 when the file starts with Parquet's magic "PAR1", else 0 (also when it
 * cannot be read: opening it then reports why). */
int rg_parquet_sniff(const char *path);

/* Opens a file and reads its footer (schema, row groups). */
int rg_parquet_open(rg_parquet **out, const char *path);
/* The same over bytes in memory (not copied: they must outlive the reader),
 * named `name` in messages; for tests and the fuzzer. */
int rg_parquet_open_mem(rg_parquet **out, const void *data, size_t len, const char *name);

/* Next row: 1 with *row (the caller frees it with cJSON_Delete) and *row_index
 * (0-based over the file), 0 at the end, -1 on an error naming the file, row
 * group and column. After an error the reader is done. */
int rg_parquet_next_row(rg_parquet *pq, cJSON **row, long *row_index);

/* Rows in the file, as the footer says. */
long rg_parquet_num_rows(const rg_parquet *pq);
/* The name used in messages. */
const char *rg_parquet_name(const rg_parquet *pq);

void rg_parquet_close(rg_parquet *pq);

#endif
