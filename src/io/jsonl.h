/* jsonl.h — streaming JSON Lines reader.
 *
 * Reads one line at a time with getline(), so lines of any length work and
 * memory stays bounded by the longest line, not the file. Blank lines (only
 * whitespace) are skipped, a CR before the LF is dropped (CRLF files), a UTF-8
 * byte-order mark at the start of the file is ignored, and line numbers are
 * counted from 1 over every physical line, so messages point at the line an
 * editor shows.
 *
 *   rg_jsonl *in;
 *   if (rg_jsonl_open(&in, "data.jsonl")) return RG_ERR;
 *   cJSON *value;
 *   int got;
 *   while ((got = rg_jsonl_next(in, &value)) == 1) { ...; cJSON_Delete(value); }
 *   rg_jsonl_close(in);
 *   if (got < 0) return RG_ERR;   // "data.jsonl:12: invalid JSON near column 40"
 *
 * After an invalid line, rg_jsonl_next may be called again: it carries on
 * with the next line (so a caller can skip and count bad lines). I/O errors
 * are not recoverable: rg_jsonl_failed() tells the two apart.
 */
#ifndef RG_JSONL_H
#define RG_JSONL_H

#include <stdio.h>

#include <cjson/cJSON.h>

typedef struct rg_jsonl rg_jsonl;

/* Opens a file ("-" reads standard input). */
int rg_jsonl_open(rg_jsonl **out, const char *path);
/* Reads from an open stream, named `name` in messages; the stream is not
 * closed by rg_jsonl_close. */
int rg_jsonl_open_stream(rg_jsonl **out, FILE *stream, const char *name);

/* Next JSON value: 1 and *value (the caller frees it with cJSON_Delete),
 * 0 at end of file, -1 on an error ("name:LINE: invalid JSON near column N",
 * or an I/O error). */
int rg_jsonl_next(rg_jsonl *in, cJSON **value);

/* The physical line number of the value last returned (or of the error). */
long rg_jsonl_line(const rg_jsonl *in);
/* The name used in messages. */
const char *rg_jsonl_name(const rg_jsonl *in);
/* 1 after a read error that cannot be skipped (I/O), else 0. */
int rg_jsonl_failed(const rg_jsonl *in);

void rg_jsonl_close(rg_jsonl *in);

#endif
