/* error.h — the one error convention of rgsd.
 *
 * Every fallible function returns int: 0 on success, -1 on failure, after
 * recording a one-line message with rg_error(). The message is thread-local,
 * like errno, so a caller can add context (rg_error_prefix) while the error
 * travels up, and the CLI prints it once: "rgsd: <message>".
 * Messages name the file, line or field that is wrong, never just "failed".
 */
#ifndef RG_ERROR_H
#define RG_ERROR_H

#include <stddef.h>

#define RG_OK 0
#define RG_ERR (-1)

/* Records a formatted message and returns RG_ERR, so `return rg_error(...)`. */
int rg_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Like rg_error, and marks the error as bad usage (an unknown flag, a value
 * out of range, a missing argument): the CLI exits 2 for it and 1 for any
 * other error. The kind travels with the message, so an ordinary error
 * whose text happens to say "--help" (a file name) is not taken for one. */
int rg_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* 1 when the current message was recorded by rg_usage_error (a prefix added
 * since keeps the kind; any later rg_error clears it). */
int rg_error_is_usage(void);
/* Prepends "context: " to the current message and returns RG_ERR. */
int rg_error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The last recorded message ("" when none). */
const char *rg_errmsg(void);
void rg_error_clear(void);

/* Allocation that records "out of memory (N bytes)" on failure. */
void *rg_malloc(size_t bytes);
void *rg_calloc(size_t count, size_t size);
void *rg_realloc(void *ptr, size_t bytes);
/* 64-byte aligned, for SIMD kernels and BLAS; free with rg_free_aligned. */
void *rg_malloc_aligned(size_t bytes);
void rg_free_aligned(void *ptr);
char *rg_strdup(const char *s);
/* malloc'd printf. NULL (with error) on failure. */
char *rg_sprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
