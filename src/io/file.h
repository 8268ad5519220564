/* file.h — whole-file reads and crash-safe writes.
 *
 * Every output rgsd produces goes through rg_atomic_*: the bytes are written
 * to a temporary file beside the target, flushed, fsync'd, then renamed over
 * the target (and the directory fsync'd), so a crash or a bad input never
 * leaves a half-written file behind under the real name. */
#ifndef RG_FILE_H
#define RG_FILE_H

#include <stddef.h>
#include <stdio.h>

/* Reads a whole file; *data is NUL-terminated (not counted in *len). */
int rg_read_file(const char *path, char **data, size_t *len);

typedef struct {
    FILE *fp;          /* write here */
    char *final_path;  /* where the file lands on commit */
    char *temp_path;   /* where it is written meanwhile */
} rg_atomic_file;

int rg_atomic_open(rg_atomic_file *f, const char *path);
/* Flush, fsync, close, rename, fsync the directory. On failure the temp file
 * is removed and the target is left as it was. Always releases f. */
int rg_atomic_commit(rg_atomic_file *f);
/* Discard: close and remove the temp file. Safe on a zeroed or released f. */
void rg_atomic_abort(rg_atomic_file *f);
int rg_write_file_atomic(const char *path, const void *data, size_t len);

/* mkdir -p; succeeds when the directory already exists. */
int rg_mkdir_p(const char *path);
int rg_file_exists(const char *path);
/* "dir/name" (malloc'd). */
char *rg_path_join(const char *dir, const char *name);

#endif
