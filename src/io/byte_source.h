/* byte_source.h — a file's bytes, decompressed when it is gzip, read through
 * one buffer.
 *
 * The first two bytes decide: 1f 8b is gzip (zlib inflates it as it is read,
 * concatenated members included, so `cat a.gz b.gz` works); anything else is
 * passed through. Memory is the buffer, whatever the file's size. The reader
 * can look ahead (rg_bytes_peek) without consuming, which the record reader
 * uses to tell JSON Lines from a JSON array or pretty-printed JSON.
 */
#ifndef RG_BYTE_SOURCE_H
#define RG_BYTE_SOURCE_H

#include <stddef.h>
#include <stdio.h>

typedef struct rg_bytes rg_bytes;

/* Reads `stream` (closed by rg_bytes_close when `owns`), named `name` in
 * messages. `magic`/`nmagic` are bytes already read from the stream's start
 * (up to 8); they are read again first. */
int rg_bytes_open(rg_bytes **out, FILE *stream, int owns, const char *name, const unsigned char *magic,
                  size_t nmagic);
/* 1 when the stream is gzip-compressed. */
int rg_bytes_gzip(const rg_bytes *b);

/* Makes at least `want` bytes available (fewer at the end of the data) and
 * points *data at them without consuming them. -1 on a read or gzip error. */
int rg_bytes_peek(rg_bytes *b, size_t want, const unsigned char **data, size_t *available);
/* The next byte (0..255), -1 at the end, -2 on an error (message recorded). */
int rg_bytes_getc(rg_bytes *b);
/* One line without its '\n' into *line (grown as needed, NUL-terminated; the
 * line may itself hold NUL bytes, *len counts them): 1, 0 at the end, -1 on
 * an error. */
int rg_bytes_getline(rg_bytes *b, char **line, size_t *capacity, size_t *len);

void rg_bytes_close(rg_bytes *b);

#endif
