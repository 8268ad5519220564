/* text.h — text from outside (an endpoint's answer, a data file, a config,
 * a tensor name) made safe to print and to store.
 *
 * Printing: one terminal line. Control characters (C0, DEL, C1) and the
 * Unicode line/paragraph separators and bidi overrides are escaped (\n, \r,
 * \t, \xHH, \uXXXX), so an answer holding ESC[2J cannot clear the terminal
 * and a config value cannot set its title; invalid UTF-8 bytes show as \xHH;
 * a text too long is cut at a character boundary and ends with "...".
 * Backslashes are left alone, so escaping twice changes nothing (messages
 * are re-wrapped as they travel up).
 *
 * Storing: JSONL written by cJSON is only valid if its strings are UTF-8;
 * rg_utf8_repair replaces each invalid sequence with U+FFFD. */
#ifndef RG_TEXT_H
#define RG_TEXT_H

#include <stddef.h>

/* Escapes at most `max` bytes of src (stopping at NUL) into dst (capacity
 * cap >= 4, always NUL-terminated). Returns dst. */
char *rg_text_escape(char *dst, size_t cap, const char *src, size_t max);

/* Byte offset of the first invalid UTF-8 sequence in s[0..n), or -1. */
long rg_utf8_invalid_at(const char *s, size_t n);

/* A malloc'd copy of s[0..n) with every invalid UTF-8 sequence replaced by
 * U+FFFD (and NUL bytes dropped); NULL with an error when out of memory. */
char *rg_utf8_repair(const char *s, size_t n);

#endif
